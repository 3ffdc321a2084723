// Scan: camera frames into the core's scan session until it confirms a reading, the engineer's
// confirmation, and manual double entry for a damaged label.

import Foundation
import Jobpack
import Observation

@MainActor
@Observable
public final class ScanViewModel {
    public enum Phase: Equatable, Sendable {
        /// Looking for a label; `seen` agreeing frames so far.
        case scanning(seen: UInt32)
        /// A QR code that is not an ONT label (shown, scanning goes on).
        case notALabel(reason: String)
        /// Enough agreeing frames: show it and ask the engineer to confirm.
        case confirmed(OntIdentity)
        /// Enough agreeing frames, but the label does not say which value is the maker's
        /// serial: the engineer picks one of `candidates` (`chooseSerial`).
        case chooseSerial(OntIdentity, candidates: [String])
        /// Already on another job on this device: must not be sent.
        case duplicate(OntIdentity, otherJob: String)
        /// Sent to CityFibre (queued in the outbox); the job is now in `state`.
        case sent(OntIdentity, state: JobState)
    }

    public let jobRef: String
    public private(set) var phase: Phase = .scanning(seen: 0)
    /// Manual entry: the core's objection to each field as typed, `nil` when it reads.
    public private(set) var firstEntryProblem: String?
    public private(set) var secondEntryProblem: String?
    public private(set) var failure: ScreenFailure?

    private let core: Jobpack
    private let session: ScanSession
    private var feeding = false

    public init(core: Jobpack, jobRef: String) {
        self.core = core
        self.jobRef = jobRef
        session = core.scanSession(for: jobRef)
    }

    /// Whether the camera should hand over another frame (one is decoded at a time, and none
    /// once a reading is confirmed).
    public var wantsFrames: Bool {
        guard !feeding else { return false }
        switch phase {
        case .scanning, .notALabel: return true
        default: return false
        }
    }

    /// Decodes one camera frame off the main thread and shows the progress.
    public func feed(_ frame: CameraFrame) async {
        guard wantsFrames else { return }
        feeding = true
        defer { feeding = false }
        let session = self.session
        do {
            let progress = try await Task.detached(priority: .userInitiated) {
                try session.feed(frame)
            }.value
            show(progress)
        } catch {
            failure = ScreenFailure(error)
        }
    }

    /// The engineer confirms the reading shown (or a manual entry): the ONT is sent.
    public func confirm() async {
        guard case let .confirmed(identity) = phase else { return }
        guard let serial = identity.serialNumber else {
            failure = ScreenFailure(JobpackError.manualEntry(reason: "the label has no serial number: enter it by hand"))
            return
        }
        do {
            let receipt = try await core.confirmOnt(job: jobRef, fsan: identity.fsan, serialNumber: serial)
            phase = .sent(identity, state: receipt.state)
            failure = nil
        } catch {
            failure = ScreenFailure(error)
        }
    }

    /// The engineer's pick after `.chooseSerial`: the core confirms it (or finds a duplicate).
    public func chooseSerial(_ serial: String) {
        do {
            show(try session.chooseSerial(serial))
            failure = nil
        } catch {
            failure = ScreenFailure(error)
        }
    }

    /// Starts over: after a duplicate, or to scan another label.
    public func rescan() {
        session.reset()
        phase = .scanning(seen: 0)
        failure = nil
    }

    /// Checks the first manual field as it is typed.
    public func firstEntryChanged(_ text: String) {
        firstEntryProblem = problem(with: text)
    }

    public func secondEntryChanged(_ text: String) {
        secondEntryProblem = problem(with: text)
    }

    /// Both manual entries: the core checks they read, agree and are not on another job;
    /// the identity is then shown for confirmation like a scanned one.
    public func submitManualEntry(first: String, second: String) {
        do {
            let identity = try core.enterOntManually(job: jobRef, first: first, second: second)
            phase = .confirmed(identity)
            failure = nil
        } catch {
            failure = ScreenFailure(error)
        }
    }

    private func problem(with text: String) -> String? {
        guard !text.isEmpty else { return nil }
        do {
            _ = try core.checkOntEntry(text)
            return nil
        } catch {
            return ScreenFailure(error).message
        }
    }

    private func show(_ progress: ScanProgress) {
        switch progress {
        case .nothing:
            if case .notALabel = phase { return }
        case let .notOntLabel(_, reason):
            phase = .notALabel(reason: reason)
        case let .seenOnce(_, count):
            phase = .scanning(seen: count)
        case let .confirmed(identity):
            phase = .confirmed(identity)
        case let .duplicate(identity, otherJob):
            phase = .duplicate(identity, otherJob: otherJob)
        case let .chooseSerial(identity, candidates):
            phase = .chooseSerial(identity, candidates: candidates)
        }
    }
}
