// Today: the engineer's jobs and the banner (connectivity, items waiting, parked items).
package uk.jobpack.android.presenter

import uk.jobpack.core.Event
import uk.jobpack.core.JobState
import uk.jobpack.core.JobView
import uk.jobpack.core.Jobpack
import uk.jobpack.core.Warning

data class Banner(val online: Boolean, val waiting: Long, val parked: Long, val lastError: String?)

data class JobRow(
    val jobRef: String,
    val state: JobState,
    val customer: String,
    val address: String,
    val postcode: String,
    val appointmentDate: String,
    val appointmentSlot: String?,
    /** Property-flag warnings the core says stand for the job now (code, description). */
    val warnings: List<Pair<String, String?>>,
    val cancelled: Boolean,
)

data class TodayState(
    val banner: Banner = Banner(online = false, waiting = 0, parked = 0, lastError = null),
    val jobs: List<JobRow> = emptyList(),
    val pulling: Boolean = false,
    val problem: Problem? = null,
)

class TodayPresenter(private val core: Jobpack) : Presenter<TodayState>(TodayState()) {
    /** Jobs, the outbox and connectivity; not the scan progress a camera streams. */
    fun matters(event: Event) = event !is Event.ScanProgress

    override suspend fun refresh() {
        val report = { p: Problem -> set { it.copy(problem = p) } }
        val jobs = attempt(report) { core.jobs() } ?: return
        // Counted now by the core: the sync status only recounts when its loop runs.
        val counts = attempt(report) { core.outboxCounts() } ?: return
        val status = core.status()
        val banner = Banner(
            online = status.online,
            waiting = counts.pending.toLong(),
            parked = counts.parked.toLong(),
            lastError = status.lastError,
        )
        set { it.copy(jobs = jobs.map(::row), banner = banner) }
    }

    /** Pulls new jobs and sends what waits; returns when the core is idle or gives up. */
    suspend fun pull(timeoutMs: Long = 30_000) {
        set { it.copy(pulling = true, problem = null) }
        attempt({ p -> set { it.copy(problem = p) } }) { core.syncUntilIdle(timeoutMs.toULong()) }
        set { it.copy(pulling = false) }
        refresh()
    }


    private fun row(job: JobView) = JobRow(
        jobRef = job.jobRef,
        state = job.state,
        customer = job.pack.customer.name,
        address = listOfNotNull(job.pack.address.line1, job.pack.address.line2, job.pack.address.town).joinToString(", "),
        postcode = job.pack.address.postcode,
        appointmentDate = job.pack.appointment.date,
        appointmentSlot = job.pack.appointment.slot,
        warnings = job.warnings.mapNotNull {
            when (it) {
                is Warning.PropertyFlag -> it.code to it.description
                is Warning.UnknownPropertyFlag -> it.code to null
                // A receipt's warning about the phone's clock, never a job's standing one.
                is Warning.ClockSetBack -> null
            }
        },
        cancelled = job.state is JobState.Cancelled,
    )
}
