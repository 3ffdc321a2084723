// Outbox: what is waiting, what was refused and why, and the engineer's ways out of a parked
// item: resend unchanged, fix a refused closeJob's codes, or discard after confirming.

import Foundation
import Jobpack
import Observation

@MainActor
@Observable
public final class OutboxViewModel {
    /// Every item (or one job's), in the order the actions were taken.
    public private(set) var items: [OutboxItem] = []
    public private(set) var status: SyncStatus
    public private(set) var failure: ScreenFailure?

    private let core: Jobpack
    private let jobRef: String?

    public init(core: Jobpack, jobRef: String? = nil) {
        self.core = core
        self.jobRef = jobRef
        status = core.status
    }

    /// Items refused for good, with the server's reason, waiting for the engineer.
    public var parked: [OutboxItem] { items.filter { $0.state == .parked } }
    /// Items still on their way.
    public var waiting: [OutboxItem] {
        items.filter { [.queued, .sending, .retrying].contains($0.state) }
    }

    /// Whether the fix screen (new closure codes) applies: only a refused closeJob.
    public func canFix(_ item: OutboxItem) -> Bool {
        item.state == .parked && item.method == "closeJob"
    }

    public func load() async {
        do {
            items = try await core.outbox(job: jobRef)
            failure = nil
        } catch {
            failure = ScreenFailure(error)
        }
        status = core.status
    }

    /// Queues a parked item again, unchanged (the cause was fixed upstream).
    public func resend(_ item: OutboxItem) async {
        await run { try await self.core.resend(item.seq) }
    }

    /// Corrects a refused closeJob's codes; the corrected message is queued at once.
    public func fix(_ item: OutboxItem, code: String, secondaryCode: String? = nil) async {
        await run { try await self.core.correctParkedClose(item.seq, code: code, secondaryCode: secondaryCode) }
    }

    /// Discards the item shown, after the engineer confirmed losing it: the confirmation is
    /// that item's own key, so a list that changed meanwhile cannot discard another one.
    public func discard(_ item: OutboxItem) async {
        await run { try await self.core.discard(item.seq, confirmationKey: item.idempotencyKey) }
    }

    /// "Send now".
    public func sendNow() {
        core.syncNow()
    }

    /// Runs an action, re-reads the list, and shows the action's refusal (not hidden by the
    /// successful re-read).
    private func run(_ call: () async throws -> Void) async {
        var refusal: ScreenFailure?
        do {
            try await call()
        } catch {
            refusal = ScreenFailure(error)
        }
        await load()
        if let refusal { failure = refusal }
    }
}
