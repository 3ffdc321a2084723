// Job: customer and property details, warnings, a cancellation shown as such, and the buttons
// the core says are legal now. Travel and arrival carry the location from LocationManager.
package uk.jobpack.android.ui

import android.Manifest
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.graphics.Color
import android.location.LocationListener
import android.location.LocationManager
import android.os.Bundle
import android.os.Looper
import kotlinx.coroutines.launch
import uk.jobpack.android.presenter.JobPresenter
import uk.jobpack.android.presenter.JobScreen
import uk.jobpack.core.Journey
import uk.jobpack.core.Location
import uk.jobpack.core.NextAction

class JobActivity : ScreenActivity<JobScreen>() {
    companion object {
        const val JOB_REF = "uk.jobpack.android.JOB_REF"
    }

    lateinit var presenter: JobPresenter
        private set

    private val locations = LocationListener { fix ->
        val location = Location(fix.latitude, fix.longitude, if (fix.hasAccuracy()) fix.accuracy.toDouble() else 0.0)
        scope.launch { presenter.onLocation(location) }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val ref = intent.getStringExtra(JOB_REF) ?: return finish()
        presenter = JobPresenter(core, ref)
        show(presenter, presenter::matters)
    }

    override fun onResume() {
        super.onResume()
        if (checkSelfPermission(Manifest.permission.ACCESS_FINE_LOCATION) != PackageManager.PERMISSION_GRANTED) {
            requestPermissions(arrayOf(Manifest.permission.ACCESS_FINE_LOCATION), 1)
            return
        }
        val manager = getSystemService(Context.LOCATION_SERVICE) as LocationManager
        manager.requestLocationUpdates(LocationManager.GPS_PROVIDER, 5_000L, 0f, locations, Looper.getMainLooper())
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        if (grantResults.firstOrNull() == PackageManager.PERMISSION_GRANTED) onResume()
    }

    override fun onPause() {
        (getSystemService(Context.LOCATION_SERVICE) as LocationManager).removeUpdates(locations)
        super.onPause()
    }

    override fun render(state: JobScreen) {
        val job = state.job ?: return problem(state.problem)
        title(texts["job_title", job.jobRef])
        label(texts.state(job.state), tag = "job_state", bold = true)
        state.cancelReason?.let { label(texts["job_cancelled", it], tag = "job_cancelled", bold = true, color = Color.RED) }
        val pack = job.pack
        label(texts["job_customer", pack.customer.name])
        pack.customer.phone?.let { label(texts["job_phone", it]) }
        label(texts["job_address", listOfNotNull(pack.address.line1, pack.address.line2).joinToString(", "), pack.address.town, pack.address.postcode])
        label(texts["job_appointment", pack.appointment.date, pack.appointment.slot ?: ""])
        pack.product?.let { label(texts["job_product", it]) }
        pack.notes?.let { label(texts["job_notes", it]) }
        job.ont?.let { label(texts["job_ont", it.fsan, it.serialNumber], tag = "job_ont") }
        for (w in job.warnings) label(texts.warning(w), color = Color.rgb(0xb0, 0x40, 0))
        val here = state.location
        label(
            if (here != null) texts["job_location", here.latitude, here.longitude, here.accuracy] else texts["job_no_location"],
            tag = "job_location",
        )
        if (state.waitingForLocation != null) label(texts["job_waiting_location"], tag = "job_waiting_location")
        problem(state.problem)
        for (action in state.actions) {
            when (action) {
                NextAction.ACCEPT -> button(texts["action_accept"], "accept") { presenter.accept() }
                NextAction.START_TRAVEL -> button(texts["action_start_travel"], "start_travel") { presenter.startTravel() }
                NextAction.ARRIVE -> button(texts["action_arrive"], "arrive") { presenter.arrive() }
                NextAction.SCAN_ONT -> button(texts["action_scan_ont"], "scan_ont") {
                    startActivity(Intent(this, ScanActivity::class.java).putExtra(JOB_REF, job.jobRef))
                }
                NextAction.ANSWER_VISIT -> button(texts["action_answer_visit"], "answer_visit") { questions(Journey.VISIT) }
                NextAction.CLOSE -> button(texts["action_close"], "close") { questions(Journey.CLOSURE) }
            }
        }
    }

    private fun questions(journey: Journey) = startActivity(
        Intent(this, QuestionsActivity::class.java)
            .putExtra(JOB_REF, presenter.jobRef)
            .putExtra(QuestionsActivity.JOURNEY, journey.name),
    )
}
