// The Jobpack core as Swift code calls it.
//
// The generated bindings (Generated/JobpackGenerated.swift) mirror the Rust façade one to one:
// `JobpackBridge.startTravel(jobRef:location:at:)` with an RFC 3339 string for the time and a
// `JobpackBridgeError` with UpperCamelCase cases. This layer only renames and converts: Swift
// argument labels, `Date` in, `Duration` for timeouts, `JobpackError` out, events as an
// `AsyncStream`. It decides nothing; every rule (which action is legal, what is missing before
// closing, whether an ONT is a duplicate) is the core's, and the records it returns are the
// generated ones (`JobView`, `FlowView`, `OutboxItem`...), which are `Sendable` value types.

import Foundation

/// One engineer's core, open on its SQLite file and syncing in the background. Calls that
/// touch the database or the network are `async` and run on the core's own threads; the
/// handle can be shared between tasks and actors.
public final class Jobpack: @unchecked Sendable {
    // The generated object is thread-safe (the Rust side is `Send + Sync`); it is immutable here.
    let bridge: JobpackBridge

    init(bridge: JobpackBridge) {
        self.bridge = bridge
    }

    /// Opens (or creates) the engineer's database and starts syncing.
    /// - Throws: `JobpackError.config` for unusable certificates, catalogue or matrix,
    ///   `.newerDatabase` for a database written by a newer app.
    public static func open(_ config: Config) throws -> Jobpack {
        try bridged { Jobpack(bridge: try JobpackBridge.open(config: config)) }
    }

    /// Set when the database was unreadable at open and was moved aside: tell the engineer.
    public var recovery: Recovery? { bridge.recovery() }

    // MARK: Jobs and actions

    /// Every job on the device.
    public func jobs() async throws -> [JobView] {
        try await bridged { try await bridge.jobs() }
    }

    /// One job with the warnings that stand for it now.
    public func job(_ jobRef: String) async throws -> JobView {
        try await bridged { try await bridge.job(jobRef: jobRef) }
    }

    /// What the engineer can do next on the job, and with which closure codes, as the core's
    /// lifecycle decides it: the job screen shows exactly these.
    public func nextActions(job jobRef: String) async throws -> NextSteps {
        try await bridged {
            let actions = try await bridge.nextActions(jobRef: jobRef)
            let choices = try await bridge.closureChoices(jobRef: jobRef)
            return NextSteps(jobRef: jobRef, actions: actions, closureChoices: choices)
        }
    }

    /// The engineer accepts the job; CityFibre is told who is coming.
    @discardableResult
    public func accept(job jobRef: String) async throws -> ActionReceipt {
        try await bridged { try await bridge.accept(jobRef: jobRef) }
    }

    /// En route, from `location`, at `time` (now when `nil`).
    @discardableResult
    public func startTravel(job jobRef: String, location: Location, at time: Date? = nil) async throws -> ActionReceipt {
        try await bridged { try await bridge.startTravel(jobRef: jobRef, location: location, at: rfc3339(time)) }
    }

    /// On site, at `location`.
    @discardableResult
    public func arrive(job jobRef: String, location: Location, at time: Date? = nil) async throws -> ActionReceipt {
        try await bridged { try await bridge.arrive(jobRef: jobRef, location: location, at: rfc3339(time)) }
    }

    /// Sends the ONT that a scan session confirmed or that was entered twice by hand.
    @discardableResult
    public func confirmOnt(job jobRef: String, fsan: String, serialNumber: String, at time: Date? = nil) async throws -> ActionReceipt {
        try await bridged {
            try await bridge.confirmOnt(jobRef: jobRef, fsan: fsan, serialNumber: serialNumber, at: rfc3339(time))
        }
    }

    // MARK: Scanning

    /// A scanning session for the job's ONT label.
    public func scanSession(for jobRef: String) -> ScanSession {
        ScanSession(job: jobRef, bridge: bridge.scanSession(jobRef: jobRef))
    }

    /// Checks one typed FSAN or label text at once, so a field can be flagged while typing.
    public func checkOntEntry(_ value: String) throws -> OntIdentity {
        try bridged { try bridge.checkOntEntry(value: value) }
    }

    /// Manual entry for a damaged label: both entries must parse, agree, and not be on
    /// another job here.
    public func enterOntManually(job jobRef: String, first: String, second: String) throws -> OntIdentity {
        try bridged { try bridge.enterOntManually(jobRef: jobRef, first: first, second: second) }
    }

    // MARK: Question based closure

    /// The flow of `journey` for the job; at closure, for the closure code picked.
    public func flow(job jobRef: String, journey: Journey, closureCode: String? = nil, secondaryCode: String? = nil) async throws -> FlowView {
        try await bridged {
            try await bridge.flow(jobRef: jobRef, journey: journey, closureCode: closureCode, secondaryCode: secondaryCode)
        }
    }

    /// Records an answer as typed and returns the core's canonical form of it.
    @discardableResult
    public func answerQuestion(_ questionCode: String, with answer: String, job jobRef: String, journey: Journey, at time: Date? = nil) async throws -> String {
        try await bridged {
            try await bridge.answerQuestion(jobRef: jobRef, journey: journey, questionCode: questionCode, answer: answer, at: rfc3339(time))
        }
    }

    /// Clears an answer (the core keeps it in the job's history).
    public func clearAnswer(to questionCode: String, job jobRef: String, journey: Journey) async throws {
        try await bridged { try await bridge.clearAnswer(jobRef: jobRef, journey: journey, questionCode: questionCode) }
    }

    /// Attaches a photo (the camera's JPEG, HEIC converted to JPEG, or PNG bytes) to a question.
    @discardableResult
    public func attachPhoto(_ image: Data, to questionCode: String, job jobRef: String, journey: Journey) async throws -> Photo {
        try await bridged {
            try await bridge.attachPhoto(jobRef: jobRef, journey: journey, questionCode: questionCode, image: image)
        }
    }

    /// Detaches a photo; its upload still completes.
    public func removePhoto(_ photoId: Int64, job jobRef: String) async throws {
        try await bridged { try await bridge.removePhoto(jobRef: jobRef, photoId: photoId) }
    }

    /// Sends the visit's answers; refused with `.incomplete` while the visit flow has gaps.
    @discardableResult
    public func sendVisitAnswers(job jobRef: String) async throws -> ActionReceipt {
        try await bridged { try await bridge.sendVisitAnswers(jobRef: jobRef) }
    }

    /// Closes the job; refused with `.incomplete` and every gap while anything is missing.
    @discardableResult
    public func closeJob(_ jobRef: String, code: String, secondaryCode: String? = nil, description: String, at time: Date? = nil) async throws -> ActionReceipt {
        try await bridged {
            try await bridge.closeJob(jobRef: jobRef, closureCode: code, secondaryCode: secondaryCode, description: description, at: rfc3339(time))
        }
    }

    // MARK: Outbox

    /// The outbox, or one job's part of it, in the order the actions were taken.
    public func outbox(job jobRef: String? = nil) async throws -> [OutboxItem] {
        try await bridged { try await bridge.outbox(jobRef: jobRef) }
    }

    /// Queues a parked item again, unchanged.
    public func resend(_ seq: Int64) async throws {
        try await bridged { try await bridge.resend(seq: seq) }
    }

    /// Discards a parked item; `confirmationKey` is the idempotency key of the item shown.
    public func discard(_ seq: Int64, confirmationKey: String) async throws {
        try await bridged { try await bridge.discard(seq: seq, confirmationKey: confirmationKey) }
    }

    /// Corrects the codes of a parked closeJob and queues it again.
    public func correctParkedClose(_ seq: Int64, code: String, secondaryCode: String? = nil) async throws {
        try await bridged { try await bridge.correctParkedClose(seq: seq, closureCode: code, secondaryCode: secondaryCode) }
    }

    // MARK: Sync

    /// Forwards the platform's connectivity; coming online starts a sync at once.
    public func setOnline(_ online: Bool) {
        bridge.setOnline(online: online)
    }

    /// Starts a sync cycle now (pull to refresh, background refresh).
    public func syncNow() {
        bridge.syncNow()
    }

    /// What the sync indicator shows.
    public var status: SyncStatus { bridge.status() }

    /// Syncs until nothing is left to deliver.
    /// - Throws: `.offline`, `.noEndpoints`, or `.syncTimeout` with what is still pending.
    @discardableResult
    public func syncUntilIdle(timeout: Duration) async throws -> SyncStatus {
        let (seconds, attoseconds) = timeout.components
        let millis = UInt64(max(0, seconds)) * 1000 + UInt64(max(0, attoseconds) / 1_000_000_000_000_000)
        return try await bridged { try await bridge.syncUntilIdle(timeoutMs: millis) }
    }

    // MARK: Events

    /// Every change from now on, until the consuming task ends or is cancelled. Events are
    /// hints to re-read, not data; a consumer that falls behind gets `.lagged` (re-read all).
    public func events(bufferingNewest limit: Int = 256) -> AsyncStream<Event> {
        AsyncStream(bufferingPolicy: .bufferingNewest(limit)) { continuation in
            let subscription = bridge.subscribe(listener: StreamListener(continuation))
            continuation.onTermination = { _ in subscription.cancel() }
        }
    }
}

/// A scanning session for one job: feed it every analysed camera frame and show what it
/// returns; the core decides when a reading is confirmed and whether it is a duplicate.
/// Feeding is synchronous (the camera's queue is already off the main thread).
public final class ScanSession: @unchecked Sendable {
    public let job: String
    let bridge: ScanSessionBridge

    init(job: String, bridge: ScanSessionBridge) {
        self.job = job
        self.bridge = bridge
    }

    /// Decodes one frame. Throws `.invalidInput` only for a frame whose geometry does not
    /// match its buffer; a frame without a readable code is `.nothing`.
    public func feed(_ frame: CameraFrame) throws -> ScanProgress {
        try bridged { try bridge.feed(frame: frame) }
    }

    /// The engineer's pick after `.chooseSerial`: one of its candidates. Anything else is
    /// `.invalidInput` and the session keeps waiting for a pick.
    public func chooseSerial(_ serial: String) throws -> ScanProgress {
        try bridged { try bridge.chooseSerial(serial: serial) }
    }

    /// Starts over (after a dismissed duplicate, or to scan another label).
    public func reset() {
        bridge.reset()
    }
}

final class StreamListener: EventListener {
    private let continuation: AsyncStream<Event>.Continuation

    init(_ continuation: AsyncStream<Event>.Continuation) {
        self.continuation = continuation
    }

    func onEvent(event: Event) {
        continuation.yield(event)
    }
}

/// An action time as the core takes it: RFC 3339 in the device's offset.
func rfc3339(_ date: Date?) -> String? {
    guard let date else { return nil }
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone.current
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}

/// The core's answers for one job screen: its next legal actions and the closure codes usable
/// now (each with its secondary codes and whether it is ready, e.g. SP before provisioning).
public struct NextSteps: Sendable, Equatable {
    public let jobRef: String
    public let actions: [NextAction]
    public let closureChoices: [ClosureChoice]
}
