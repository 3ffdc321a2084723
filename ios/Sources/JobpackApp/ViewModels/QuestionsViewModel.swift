// Questions: the question-based closure flow of one journey point — the answered questions,
// the one to ask now with its answer type, photos, and the checklist of what is missing — and
// sending it (the visit's answers, or closing the job).

import Foundation
import Jobpack
import Observation

/// One line of the checklist, from the core's gaps.
public struct ChecklistItem: Equatable, Sendable {
    /// The question it is about, to jump to; `nil` for the closure code itself.
    public let questionCode: String?
    public let text: String
    public let gap: Gap
}

@MainActor
@Observable
public final class QuestionsViewModel {
    public let jobRef: String
    public let journey: Journey
    /// At closure: the code (and secondary code) picked, which selects the flow.
    public private(set) var closureCode: String?
    public private(set) var secondaryCode: String?
    public private(set) var flow: FlowView?
    /// The core's objection to the last answer typed, shown at the field.
    public private(set) var answerProblem: String?
    public private(set) var checklist: [ChecklistItem] = []
    /// The receipt once sent (visit answers) or closed.
    public private(set) var sent: ActionReceipt?
    public private(set) var failure: ScreenFailure?

    private let core: Jobpack

    public init(core: Jobpack, jobRef: String, journey: Journey, closureCode: String? = nil, secondaryCode: String? = nil) {
        self.core = core
        self.jobRef = jobRef
        self.journey = journey
        self.closureCode = closureCode
        self.secondaryCode = secondaryCode
    }

    /// The question to ask now, with its answer type; `nil` when the path is complete.
    public var current: Question? { flow?.next }
    public var answered: [Question] { flow?.answered ?? [] }
    public var isComplete: Bool { flow != nil && checklist.isEmpty }

    public func load() async {
        do {
            let flow = try await core.flow(job: jobRef, journey: journey, closureCode: closureCode, secondaryCode: secondaryCode)
            self.flow = flow
            checklist = flow.gaps.map(Self.item)
            failure = nil
        } catch {
            failure = ScreenFailure(error)
        }
    }

    /// The code picker's choice at closure.
    public func pickClosure(code: String, secondaryCode: String? = nil) async {
        closureCode = code
        self.secondaryCode = secondaryCode
        await load()
    }

    /// Answers a question (the current one by default) as typed; the core says whether it
    /// fits and gives back its canonical form, which the refreshed flow shows.
    public func answer(_ text: String, to questionCode: String? = nil) async {
        guard let code = questionCode ?? current?.code else { return }
        do {
            try await core.answerQuestion(code, with: text, job: jobRef, journey: journey)
            answerProblem = nil
        } catch let JobpackError.invalidAnswer(_, reason) {
            answerProblem = reason
            return
        } catch {
            failure = ScreenFailure(error)
            return
        }
        await load()
    }

    /// A multiple-choice answer: the choices picked, in the form the core accepts.
    public func answer(choices: [String], to questionCode: String? = nil) async {
        await answer(choices.joined(separator: "; "), to: questionCode)
    }

    public func clearAnswer(to questionCode: String) async {
        await refreshing { try await core.clearAnswer(to: questionCode, job: jobRef, journey: journey) }
    }

    /// A photo from the camera or the library for a question.
    public func attachPhoto(_ image: Data, to questionCode: String) async {
        await refreshing { try await core.attachPhoto(image, to: questionCode, job: jobRef, journey: journey) }
    }

    public func removePhoto(_ photo: Photo) async {
        await refreshing { try await core.removePhoto(photo.id, job: jobRef) }
    }

    /// Sends the visit's answers, or closes the job with the picked code. A refusal for gaps
    /// shows them as the checklist.
    public func send(description: String = "") async {
        do {
            switch journey {
            case .visit:
                sent = try await core.sendVisitAnswers(job: jobRef)
            case .closure:
                guard let closureCode else {
                    checklist = [Self.item(.noClosureCode)]
                    return
                }
                sent = try await core.closeJob(jobRef, code: closureCode, secondaryCode: secondaryCode, description: description)
            }
            failure = nil
        } catch let JobpackError.incomplete(gaps) {
            checklist = gaps.map(Self.item)
        } catch {
            failure = ScreenFailure(error)
        }
    }

    /// Runs a change, re-reads the flow, and shows the change's refusal (not hidden by the
    /// successful re-read).
    private func refreshing(_ call: () async throws -> Void) async {
        var refusal: ScreenFailure?
        do {
            try await call()
        } catch {
            refusal = ScreenFailure(error)
        }
        await load()
        if let refusal { failure = refusal }
    }

    static func item(_ gap: Gap) -> ChecklistItem {
        switch gap {
        case .noClosureCode:
            ChecklistItem(questionCode: nil, text: "Pick a closure code", gap: gap)
        case let .closureCodeRefused(code, reason):
            ChecklistItem(questionCode: nil, text: "Closure code \(code): \(reason)", gap: gap)
        case let .missingSecondaryCode(closure, allowed):
            ChecklistItem(questionCode: nil, text: "Pick a secondary code for \(closure) (\(allowed.joined(separator: ", ")))", gap: gap)
        case let .ontNotProvisioned(closure, _):
            ChecklistItem(questionCode: nil, text: "\(closure) needs the ONT provisioned by CityFibre first", gap: gap)
        case let .unansweredQuestion(code, text, _):
            ChecklistItem(questionCode: code, text: "Answer: \(text)", gap: gap)
        case let .invalidAnswer(code, text, _, reason):
            ChecklistItem(questionCode: code, text: "\(text): \(reason)", gap: gap)
        case let .missingPhotos(code, text, required, have, hint, requiredBy):
            ChecklistItem(
                questionCode: code,
                text: "Photos for \(text): \(have) of \(required)" + (hint.map { " (\($0))" } ?? "")
                    + (requiredBy.map { ", because \($0)" } ?? ""),
                gap: gap
            )
        case let .tooManyPhotos(code, text, allowed, have, _):
            ChecklistItem(
                questionCode: code,
                text: "Photos for \(text): \(have), at most \(allowed) now: remove some",
                gap: gap
            )
        }
    }
}
