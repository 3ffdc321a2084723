// The periodic background sync: JobScheduler starts this service (with a network, at most
// every 15 minutes, also after a reboot) so that what the engineer did reaches CityFibre and
// new jobs arrive while the app is closed. The work runs on the core's runtime, not the main
// thread; the service reports back when the core is idle or the time is up.
package uk.jobpack.android.platform

import android.app.job.JobInfo
import android.app.job.JobParameters
import android.app.job.JobScheduler
import android.app.job.JobService
import android.content.ComponentName
import android.content.Context
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeoutOrNull
import uk.jobpack.android.AppGraph
import uk.jobpack.core.JobpackException

class SyncJobService : JobService() {
    companion object {
        const val JOB_ID = 1001
        const val PERIOD_MS = 15 * 60 * 1000L
        const val BUDGET_MS = 60_000L

        /** Schedules the periodic sync (idempotent: the same id replaces the old schedule). */
        fun schedule(context: Context): Boolean {
            val info = JobInfo.Builder(JOB_ID, ComponentName(context, SyncJobService::class.java))
                .setPeriodic(PERIOD_MS)
                .setRequiredNetworkType(JobInfo.NETWORK_TYPE_ANY)
                .setPersisted(true)
                .build()
            val scheduler = context.getSystemService(Context.JOB_SCHEDULER_SERVICE) as JobScheduler
            return scheduler.schedule(info) == JobScheduler.RESULT_SUCCESS
        }
    }

    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private var running: Job? = null

    /** The outcome of the last run (tests; a real phone just logs). */
    @Volatile
    var lastOutcome: String? = null
        private set

    override fun onStartJob(params: JobParameters?): Boolean {
        running = scope.launch {
            // Started with the app closed, the process is new: the core is still opening.
            val opened = withTimeoutOrNull(BUDGET_MS) { AppGraph.state.first { it != AppGraph.Opening.InProgress } }
            val core = (opened as? AppGraph.Opening.Open)?.core
            lastOutcome = if (core == null) {
                "not open: $opened"
            } else {
                try {
                    val status = core.syncUntilIdle(BUDGET_MS.toULong())
                    "idle: ${status.pending} pending"
                } catch (e: JobpackException) {
                    e::class.simpleName
                }
            }
            // Whatever is left is retried by the next period (or the core's own loop).
            params?.let { jobFinished(it, false) }
        }
        return true
    }

    override fun onStopJob(params: JobParameters?): Boolean {
        running?.cancel()
        return true
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }
}
