// The core's refusals as one Swift error enum.
//
// The generated `JobpackBridgeError` has the same cases with uniffi's UpperCamelCase names;
// this is the enum Swift code switches over. Each case carries what a screen needs (the job,
// the outbox item, the gaps) and the core's own sentence where it has one, so no shell parses
// messages. The mapping is one to one; nothing is decided here.

import Foundation

public enum JobpackError: Error, Sendable, Equatable {
    /// No job with this reference on the device.
    case unknownJob(job: String)
    /// The action is not legal for the job now (its state, a cancellation, a rescan).
    case notAllowed(job: String, reason: String)
    /// A closure or secondary closure code the catalogue refuses.
    case invalidCode(reason: String)
    /// Malformed input: coordinates, an FSAN, a timestamp, a frame.
    case invalidInput(reason: String)
    /// A manual ONT entry was refused (malformed, the two entries differ, a duplicate).
    case manualEntry(reason: String)
    case unknownOutboxItem(seq: Int64)
    /// Only parked items can be resent, discarded or corrected.
    case notParked(seq: Int64, state: ItemState)
    /// The discard confirmation was not the item's idempotency key.
    case confirmationMismatch(seq: Int64)
    case storage(reason: String)
    /// The database belongs to a newer app version.
    case newerDatabase(found: Int64, supported: Int64)
    /// The database file was refused at open (busy, read-only, not ours); it is untouched.
    case databaseUnavailable(problem: DatabaseProblem, reason: String)
    /// Certificates, catalogue, endpoints or runtime cannot be used.
    case config(reason: String)
    case offline
    case syncTimeout(pending: UInt64, lastError: String?)
    /// An explicit sync cycle failed; `pending` items still wait.
    case syncFailed(pending: UInt64, reason: String)
    case noEndpoints
    /// The call's task did not finish (the core is shutting down, or a contained panic).
    case interrupted(reason: String)
    /// The closure matrix given at open has problems, each naming its place in the file.
    case matrix(problems: [String])
    case unknownQuestion(code: String)
    /// The answer does not fit the question; `reason` says what is expected.
    case invalidAnswer(question: String, reason: String)
    case unknownPhoto(id: Int64)
    /// The question already carries the most photos the closure matrix allows it.
    case tooManyPhotos(question: String, allowed: UInt32)
    /// The picture cannot be used (not an image, too large, corrupt) or kept.
    case photo(reason: String)
    /// Answers or the closure cannot be sent yet: every gap, for the checklist.
    case incomplete(gaps: [Gap])
    /// Wiping would lose work not yet sent; wipe with `force` to lose it anyway.
    case unsentWork(items: UInt64)

    init(_ error: JobpackBridgeError) {
        switch error {
        case let .UnknownJob(jobRef): self = .unknownJob(job: jobRef)
        case let .NotAllowed(jobRef, reason): self = .notAllowed(job: jobRef, reason: reason)
        case let .InvalidCode(reason): self = .invalidCode(reason: reason)
        case let .InvalidInput(reason): self = .invalidInput(reason: reason)
        case let .ManualEntry(reason): self = .manualEntry(reason: reason)
        case let .UnknownOutboxItem(seq): self = .unknownOutboxItem(seq: seq)
        case let .NotParked(seq, state): self = .notParked(seq: seq, state: state)
        case let .ConfirmationMismatch(seq): self = .confirmationMismatch(seq: seq)
        case let .Storage(reason): self = .storage(reason: reason)
        case let .NewerDatabase(found, supported): self = .newerDatabase(found: found, supported: supported)
        case let .DatabaseUnavailable(problem, reason): self = .databaseUnavailable(problem: problem, reason: reason)
        case let .Config(reason): self = .config(reason: reason)
        case .Offline: self = .offline
        case let .SyncTimeout(pending, lastError): self = .syncTimeout(pending: pending, lastError: lastError)
        case let .SyncFailed(pending, reason): self = .syncFailed(pending: pending, reason: reason)
        case .NoEndpoints: self = .noEndpoints
        case let .Interrupted(reason): self = .interrupted(reason: reason)
        case let .Matrix(problems): self = .matrix(problems: problems)
        case let .UnknownQuestion(questionCode): self = .unknownQuestion(code: questionCode)
        case let .InvalidAnswer(questionCode, reason): self = .invalidAnswer(question: questionCode, reason: reason)
        case let .UnknownPhoto(photoId): self = .unknownPhoto(id: photoId)
        case let .TooManyPhotos(questionCode, allowed): self = .tooManyPhotos(question: questionCode, allowed: allowed)
        case let .Photo(reason): self = .photo(reason: reason)
        case let .Incomplete(gaps): self = .incomplete(gaps: gaps)
        case let .UnsentWork(items): self = .unsentWork(items: items)
        }
    }
}

extension JobpackError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case let .unknownJob(job): "No job \(job) on this device."
        case let .notAllowed(_, reason), let .invalidCode(reason), let .invalidInput(reason),
             let .manualEntry(reason), let .photo(reason):
            reason
        case let .unknownOutboxItem(seq): "No outbox item \(seq)."
        case let .notParked(seq, state): "Outbox item \(seq) is \(state); only parked items can be changed."
        case let .confirmationMismatch(seq): "The confirmation does not match outbox item \(seq)."
        case let .storage(reason): "Local storage failed: \(reason)"
        case .newerDatabase: "The data on this phone was written by a newer version of the app: update the app."
        case let .databaseUnavailable(_, reason): "The app's data cannot be opened: \(reason)"
        case let .config(reason): "Configuration: \(reason)"
        case .offline: "The phone is offline."
        case let .syncTimeout(pending, _): "Sync did not finish: \(pending) still to send."
        case let .syncFailed(pending, reason): "Sync failed (\(pending) still to send): \(reason)"
        case .noEndpoints: "No server is configured."
        case let .interrupted(reason): "The call did not complete: \(reason)"
        case let .matrix(problems): "The closure matrix has problems: \(problems.joined(separator: "; "))"
        case let .unknownQuestion(code): "Question \(code) is not in the closure matrix."
        case let .invalidAnswer(question, reason): "Answer to question \(question): \(reason)"
        case let .unknownPhoto(id): "No photo \(id) on this job."
        case let .tooManyPhotos(question, allowed): "Question \(question) accepts at most \(allowed) photo(s)."
        case let .incomplete(gaps): "\(gaps.count) thing(s) missing."
        case let .unsentWork(items): "\(items) item(s) not sent yet would be lost."
        }
    }
}

/// Runs a generated call, turning its error into `JobpackError`.
func bridged<T>(_ call: () throws -> T) throws -> T {
    do {
        return try call()
    } catch let error as JobpackBridgeError {
        throw JobpackError(error)
    }
}

func bridged<T>(_ call: () async throws -> T) async throws -> T {
    do {
        return try await call()
    } catch let error as JobpackBridgeError {
        throw JobpackError(error)
    }
}
