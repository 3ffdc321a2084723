// Connectivity for the core: NWPathMonitor's answer forwarded as it changes. Coming back online
// makes the core sync at once, so this is all the shell does about the network.
// Compiled on Apple platforms only (Network); the Linux tests call
// `TodayViewModel.connectivityChanged(online:)` directly, exactly as this does.

#if canImport(Network)
import Jobpack
import Network

public final class Connectivity: @unchecked Sendable {
    private let monitor = NWPathMonitor()
    private let queue = DispatchQueue(label: "uk.jobpack.connectivity")
    private let core: Jobpack

    public init(core: Jobpack) {
        self.core = core
    }

    /// Starts forwarding; `onChange` (optional) runs on the main actor for the UI.
    public func start(onChange: (@MainActor @Sendable (Bool) -> Void)? = nil) {
        monitor.pathUpdateHandler = { [core] path in
            let online = path.status == .satisfied
            core.setOnline(online)
            if let onChange {
                Task { @MainActor in onChange(online) }
            }
        }
        monitor.start(queue: queue)
    }

    public func stop() {
        monitor.cancel()
    }
}
#endif
