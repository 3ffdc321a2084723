// Today: the engineer's jobs with their warnings, the connectivity and how much is still
// waiting to be sent.

import Foundation
import Jobpack
import Observation

@MainActor
@Observable
public final class TodayViewModel {
    /// Every job on the device, in the core's order.
    public private(set) var jobs: [JobView] = []
    /// Items still to deliver (queued, sending, retrying): the "waiting" badge.
    public private(set) var waiting: UInt64 = 0
    /// Items refused for good that wait for the engineer on the outbox screen.
    public private(set) var parked: UInt64 = 0
    public private(set) var online = false
    /// The last delivery failure, while there is one.
    public private(set) var lastSyncError: String?
    public private(set) var failure: ScreenFailure?

    private let core: Jobpack

    public init(core: Jobpack) {
        self.core = core
        showStatus(core.status)
    }

    /// Jobs that are not closed or cancelled.
    public var openJobs: [JobView] {
        jobs.filter { job in
            switch job.state {
            case .closed, .cancelled: false
            default: true
            }
        }
    }

    public func load() async {
        do {
            jobs = try await core.jobs()
            // The counts from the outbox itself: the sync status is refreshed by sync cycles,
            // which do not run offline, and an action taken offline must show at once.
            let items = try await core.outbox()
            waiting = UInt64(items.filter { [.queued, .sending, .retrying].contains($0.state) }.count)
            parked = UInt64(items.filter { $0.state == .parked }.count)
            failure = nil
        } catch {
            failure = ScreenFailure(error)
        }
        let status = core.status
        online = status.online
        lastSyncError = status.lastError
    }

    /// Pull to refresh: a sync cycle now; the screen updates from the core's events.
    public func refresh() {
        core.syncNow()
    }

    /// The platform's connectivity changed (NWPathMonitor on iOS).
    public func connectivityChanged(online: Bool) {
        core.setOnline(online)
        self.online = online
    }

    /// Re-reads on every change the core reports, until the calling task is cancelled
    /// (SwiftUI: `.task { await model.observe() }`).
    public func observe() async {
        await load()
        for await event in core.events() {
            switch event {
            case let .syncStateChanged(status): showStatus(status)
            case .jobChanged, .outboxItemChanged, .lagged: await load()
            case .scanProgress: break
            }
        }
    }

    private func showStatus(_ status: SyncStatus) {
        waiting = status.pending
        parked = status.parked
        online = status.online
        lastSyncError = status.lastError
    }
}
