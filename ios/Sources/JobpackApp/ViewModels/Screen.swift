// What every view model shares: the core's refusal as something a screen can show.
//
// View models here are plain Swift (Foundation and Observation, no UIKit or SwiftUI): they call
// the core, keep the screen's state and expose it read-only; SwiftUI views draw that state and
// forward taps. Every decision comes from the core (which actions are legal, what is missing,
// whether an answer fits), so these classes only sequence calls and keep what came back.

import Foundation
import Jobpack

/// A refusal or failure for the screen to show, with the core's typed error kept for logic
/// that depends on the kind (an `incomplete` close shows the checklist, not an alert).
public struct ScreenFailure: Equatable, Sendable {
    public let error: JobpackError
    public var message: String { error.errorDescription ?? "\(error)" }

    init(_ error: Error) {
        self.error = (error as? JobpackError) ?? .storage(reason: "\(error)")
    }
}
