// Job: the job pack, its warnings, and the actions the core says are possible now.

import Foundation
import Jobpack
import Observation

/// Where a tap on an action leads when it is not done on the job screen itself.
public enum JobRoute: Equatable, Sendable {
    case scan
    case questions(Journey)
    case close(choices: [ClosureChoice])
}

@MainActor
@Observable
public final class JobViewModel {
    public let jobRef: String
    public private(set) var job: JobView?
    /// The buttons to show, in the order of a visit (the core's `nextActions`).
    public private(set) var actions: [NextAction] = []
    /// The closure codes usable now, for the close picker.
    public private(set) var closureChoices: [ClosureChoice] = []
    /// Warnings to show now: those the last action returned (DAN before travelling, the
    /// on-job flags on arrival), else those standing for the job.
    public private(set) var warnings: [Warning] = []
    public private(set) var failure: ScreenFailure?

    private let core: Jobpack

    public init(core: Jobpack, jobRef: String) {
        self.core = core
        self.jobRef = jobRef
    }

    public func load() async {
        do {
            let job = try await core.job(jobRef)
            let next = try await core.nextActions(job: jobRef)
            self.job = job
            actions = next.actions
            closureChoices = next.closureChoices
            warnings = job.warnings
            failure = nil
        } catch {
            failure = ScreenFailure(error)
        }
    }

    /// Performs an action the screen offered. Accept, travel and arrival are done here (the
    /// location comes from the platform); the others open their screen.
    @discardableResult
    public func perform(_ action: NextAction, location: Location? = nil) async -> JobRoute? {
        switch action {
        case .scanOnt: return .scan
        case .answerVisit: return .questions(.visit)
        case .close: return .close(choices: closureChoices)
        case .accept, .startTravel, .arrive:
            do {
                let receipt: ActionReceipt
                switch (action, location) {
                case (.accept, _):
                    receipt = try await core.accept(job: jobRef)
                case let (.startTravel, location?):
                    receipt = try await core.startTravel(job: jobRef, location: location)
                case let (.arrive, location?):
                    receipt = try await core.arrive(job: jobRef, location: location)
                default:
                    failure = ScreenFailure(JobpackError.invalidInput(reason: "no location yet"))
                    return nil
                }
                await load()
                if !receipt.warnings.isEmpty {
                    warnings = receipt.warnings
                }
            } catch {
                failure = ScreenFailure(error)
            }
            return nil
        }
    }
}
