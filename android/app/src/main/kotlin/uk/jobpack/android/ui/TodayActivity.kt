// Today: the engineer's jobs, property-flag warnings, and the banner (connectivity, waiting,
// parked). The launcher screen.
package uk.jobpack.android.ui

import android.content.Intent
import android.graphics.Color
import android.os.Bundle
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import uk.jobpack.android.AppGraph
import uk.jobpack.android.presenter.TodayPresenter
import uk.jobpack.android.presenter.TodayState

class TodayActivity : ScreenActivity<TodayState>() {
    lateinit var presenter: TodayPresenter
        private set

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        // The core opens off the main thread at process start: wait for it, never block.
        scope.launch {
            when (val opened = AppGraph.state.first { it != AppGraph.Opening.InProgress }) {
                is AppGraph.Opening.Open -> {
                    presenter = TodayPresenter(opened.core)
                    show(presenter, presenter::matters)
                }
                is AppGraph.Opening.Failed -> label(texts["problem", opened.reason], tag = "problem")
                else -> label(texts["not_configured"], tag = "not_configured")
            }
        }
    }

    override fun render(state: TodayState) {
        title(texts["today_title"])
        val banner = state.banner
        label(
            texts[if (banner.online) "banner_online" else "banner_offline"],
            tag = "banner_connectivity",
            bold = true,
            color = if (banner.online) Color.rgb(0, 0x70, 0) else Color.rgb(0x90, 0x50, 0),
        )
        label(texts["banner_waiting", banner.waiting], tag = "banner_waiting")
        if (banner.parked > 0) label(texts["banner_parked", banner.parked], tag = "banner_parked", bold = true, color = Color.RED)
        banner.lastError?.let { label(texts["banner_error", it], size = 12f) }
        problem(state.problem)
        button(texts[if (state.pulling) "today_pulling" else "today_pull"], "pull", enabled = !state.pulling) { presenter.pull() }
        button(texts["today_outbox"], "open_outbox") { startActivity(Intent(this, OutboxActivity::class.java)) }
        divider()
        if (state.jobs.isEmpty()) label(texts["today_empty"])
        for (job in state.jobs) {
            button(
                texts["job_row", job.jobRef, texts.state(job.state), job.customer, job.address, job.postcode, job.appointmentDate, job.appointmentSlot ?: ""],
                "job_${job.jobRef}",
            ) { startActivity(Intent(this, JobActivity::class.java).putExtra(JobActivity.JOB_REF, job.jobRef)) }
            for ((code, description) in job.warnings) {
                label(
                    if (description != null) texts["warning_flag", code, description] else texts["warning_unknown_flag", code],
                    tag = "warning_${job.jobRef}_$code",
                    color = Color.rgb(0xb0, 0x40, 0),
                )
            }
        }
    }
}
