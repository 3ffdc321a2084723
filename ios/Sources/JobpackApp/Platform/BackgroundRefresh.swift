// Background refresh: iOS wakes the app now and then; the core pulls and delivers what it
// can in the time given. Register at launch (before the app finishes launching), schedule
// when the app goes to the background. The identifier must be listed under
// BGTaskSchedulerPermittedIdentifiers in the app's Info.plist.
// Compiled on iOS only (BackgroundTasks).

#if canImport(BackgroundTasks) && os(iOS)
import BackgroundTasks
import Jobpack

public enum BackgroundRefresh {
    public static let identifier = "uk.jobpack.sync"

    public static func register(core: @escaping @Sendable () -> Jobpack?) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            guard let task = task as? BGAppRefreshTask, let core = core() else {
                task.setTaskCompleted(success: false)
                return
            }
            schedule()
            let work = Task {
                do {
                    try await core.syncUntilIdle(timeout: .seconds(25))
                    task.setTaskCompleted(success: true)
                } catch {
                    task.setTaskCompleted(success: false)
                }
            }
            task.expirationHandler = { work.cancel() }
        }
    }

    /// Asks for the next wake-up in about 15 minutes.
    public static func schedule() {
        let request = BGAppRefreshTaskRequest(identifier: identifier)
        request.earliestBeginDate = Date(timeIntervalSinceNow: 15 * 60)
        try? BGTaskScheduler.shared.submit(request)
    }
}
#endif
