// An engineer's day clicked through the screens in Robolectric (SDK 35), with the real core
// (host library through JNA) talking to the real simulator, photos going to moto's S3:
// pull, accept, travel, arrive (LocationManager), visit answers, scan the label from fixture
// frames (camera2 characteristics shadowed, luma planes at the ImageReader boundary), lose
// the network and get it back (ConnectivityManager callbacks) while the outbox screen watches
// the queue drain, wait for provisioning, answer the closure questions with a photo, close.
package uk.jobpack.android.ui

import android.Manifest
import android.app.Activity
import android.content.Context
import android.content.Intent
import android.hardware.camera2.CameraCharacteristics
import android.hardware.camera2.CameraManager
import android.location.LocationManager
import android.net.ConnectivityManager
import java.nio.ByteBuffer
import java.nio.file.Files
import java.nio.file.Path
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowCameraCharacteristics
import org.robolectric.shadows.ShadowNetwork
import uk.jobpack.android.AppGraph
import uk.jobpack.android.JobpackApplication
import uk.jobpack.android.presenter.Aim
import uk.jobpack.android.testing.Fixtures
import uk.jobpack.android.testing.JOB
import uk.jobpack.android.testing.S3
import uk.jobpack.android.testing.Simulator
import uk.jobpack.android.testing.XmlTexts
import uk.jobpack.android.testing.awaitUi
import uk.jobpack.android.testing.tap
import uk.jobpack.android.testing.textOf
import uk.jobpack.android.testing.type
import uk.jobpack.core.ItemState
import uk.jobpack.core.JobState
import uk.jobpack.core.Jobpack

@RunWith(org.robolectric.RobolectricTestRunner::class)
@Config(sdk = [35], application = JobpackApplication::class)
class EngineerDayTest {
    private lateinit var dir: Path
    private val app get() = RuntimeEnvironment.getApplication() as JobpackApplication

    @Before
    fun setUp() {
        dir = Files.createTempDirectory("jobpack-android-day")
        AppGraph.texts = XmlTexts.app()
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.CAMERA)
    }

    @After
    fun tearDown() {
        AppGraph.reset()
        dir.toFile().deleteRecursively()
    }

    /** The activity the last tap started, created and resumed. */
    private inline fun <reified A : Activity> next(from: Activity): A {
        val intent: Intent = shadowOf(from).nextStartedActivity ?: error("${from::class.simpleName} started nothing")
        assertEquals(A::class.java.name, intent.component?.className)
        return Robolectric.buildActivity(A::class.java, intent).setup().get()
    }

    private fun connectivity(online: Boolean) {
        val manager = app.getSystemService(Context.CONNECTIVITY_SERVICE) as ConnectivityManager
        val network = ShadowNetwork.newInstance(1)
        for (callback in shadowOf(manager).networkCallbacks) {
            if (online) callback.onAvailable(network) else callback.onLost(network)
        }
    }

    private fun locationFix(latitude: Double, longitude: Double, accuracy: Float) {
        val manager = app.getSystemService(Context.LOCATION_SERVICE) as LocationManager
        shadowOf(manager).setProviderEnabled(LocationManager.GPS_PROVIDER, true)
        shadowOf(manager).simulateLocation(
            android.location.Location(LocationManager.GPS_PROVIDER).apply {
                this.latitude = latitude
                this.longitude = longitude
                this.accuracy = accuracy
                time = System.currentTimeMillis()
            },
        )
    }

    /** A back camera whose sensor is mounted 90 degrees off, as on most phones. */
    private fun backCamera() {
        val manager = app.getSystemService(Context.CAMERA_SERVICE) as CameraManager
        val characteristics = ShadowCameraCharacteristics.newCameraCharacteristics()
        shadowOf(characteristics).set(CameraCharacteristics.LENS_FACING, CameraCharacteristics.LENS_FACING_BACK)
        shadowOf(characteristics).set(CameraCharacteristics.SENSOR_ORIENTATION, 90)
        shadowOf(manager).addCamera("0", characteristics)
    }

    private fun state(core: Jobpack): JobState = kotlinx.coroutines.runBlocking { core.job(JOB).state }

    @Test
    fun anEngineersDayThroughTheScreens() {
        S3.start().use { s3 ->
            Simulator.start("--jobs", "1").use { sim ->
                val core = Jobpack.open(sim.config(dir.resolve("e.sqlite"), photos = s3.storage()))
                core.use { runDay(it, s3) }
            }
        }
    }

    private fun runDay(core: Jobpack, s3: S3) {
        app.attach(core)
        backCamera()

        // Today: pull the day's jobs.
        val today = Robolectric.buildActivity(TodayActivity::class.java).setup().get()
        awaitUi("the banner") { today.drawn != null }
        today.tap("pull")
        awaitUi("the job on Today") { today.drawn?.jobs?.any { it.jobRef == JOB } == true }
        assertTrue(today.textOf("banner_connectivity") == XmlTexts.app()["banner_online"])
        today.tap("job_$JOB")

        // Job: accept, travel and arrive with the location LocationManager reports.
        val job = next<JobActivity>(today)
        job.tap("accept")
        awaitUi("accepted") { job.drawn?.job?.state == JobState.Assigned }
        locationFix(53.7997, -1.5492, 9f)
        awaitUi("the location fix") { job.drawn?.location?.accuracy == 9.0 }
        assertTrue(job.textOf("job_location")!!.contains("±9 m"))
        job.tap("start_travel")
        awaitUi("en route") { job.drawn?.job?.state == JobState.EnRoute }
        job.tap("arrive")
        awaitUi("on site") { job.drawn?.job?.state == JobState.OnSite }

        // The loft has no signal: everything from here queues on the phone.
        connectivity(online = false)
        awaitUi("offline banner") { today.drawn?.banner?.online == false }

        job.tap("answer_visit")
        val visit = next<QuestionsActivity>(job)
        visit.tap("answer_yes")
        visit.tap("send_visit")
        awaitUi("visit answers queued") { visit.drawn?.visitSent == true }

        job.tap("scan_ont")
        val scan = next<ScanActivity>(job)
        assertEquals(90, scan.rotation)
        val plane = Fixtures.rotatedLuma()
        repeat(5) {
            if (scan.drawn?.aim !is Aim.Confirmed) {
                scan.onCameraThread { scan.onLumaPlane(ByteBuffer.wrap(plane.bytes), plane.width, plane.height, plane.rowStride) }
                awaitUi("frame ${it + 1} decoded") { (scan.drawn?.frames ?: 0) > it }
            }
        }
        awaitUi("the label confirmed") { scan.drawn?.aim is Aim.Confirmed }
        assertTrue(scan.textOf("scan_aim")!!.contains(Fixtures.FSAN))
        scan.tap("scan_accept")
        awaitUi("the scan screen closed") { scan.isFinishing }
        assertEquals(JobState.OntScanned, state(core))
        awaitUi("Today counts what waits") { (today.drawn?.banner?.waiting ?: 0) >= 2 }

        // The outbox screen shows the queue, then watches it drain when the network is back.
        today.tap("open_outbox")
        val outbox = next<OutboxActivity>(today)
        awaitUi("the visit answers and the ONT queued") { (outbox.drawn?.waiting ?: 0) >= 2 }
        assertTrue(outbox.drawn!!.items.all { it.state == ItemState.QUEUED || it.state == ItemState.SENT })
        connectivity(online = true)
        awaitUi("the queue drained") { outbox.drawn?.waiting == 0 && outbox.drawn?.status?.online == true }

        // CityFibre provisions the ONT (status 4, then 1): pulls bring the answer.
        awaitUi("provisioned") {
            if (today.drawn?.pulling == false && today.drawn?.jobs?.single()?.state !is JobState.Provisioned) today.tap("pull")
            today.drawn?.jobs?.single()?.state is JobState.Provisioned
        }

        // Close: the closure code, the questions (one with a photo), the description.
        awaitUi("close offered") { job.viewOrNullTag("close") }
        job.tap("close")
        val closing = next<QuestionsActivity>(job)
        closing.tap("closure_SP")
        awaitUi("SP picked") { closing.drawn?.closureCode == "SP" && closing.drawn?.flow?.next?.code == "2000" }
        closing.type("answer_2000", "-19.25")
        closing.tap("answer_save")
        awaitUi("the photo question") { closing.drawn?.flow?.next?.code == "2100" }
        assertEquals("Photograph the ONT on the wall", closing.textOf("next_help"))
        closing.tap("answer_yes")
        awaitUi("the photo gap") { closing.drawn?.flow?.gaps?.isNotEmpty() == true && closing.drawn?.flow?.next?.code == "2400" }
        closing.tap("photo_2100")
        val camera = shadowOf(closing).nextStartedActivityForResult
        assertEquals(android.provider.MediaStore.ACTION_IMAGE_CAPTURE, camera.intent.action)
        closing.pendingPhoto!!.second.writeBytes(Fixtures.photoJpeg())
        shadowOf(closing).receiveResult(camera.intent, Activity.RESULT_OK, Intent())
        awaitUi("the photo attached") { closing.drawn?.flow?.answered?.any { it.code == "2100" && it.photos.size == 1 } == true }
        closing.type("answer_2400", "Pat Customer")
        closing.tap("answer_save")
        awaitUi("nothing missing") { closing.drawn?.flow?.gaps?.isEmpty() == true }
        closing.type("description", "Installed and tested")
        closing.tap("close_job")
        awaitUi("closed") { closing.drawn?.closed == true }

        // The close waits for its photo's upload, then goes; the outbox ends empty.
        awaitUi("everything sent") {
            if (today.drawn?.pulling == false && outbox.drawn?.waiting != 0) today.tap("pull")
            outbox.drawn?.waiting == 0 && outbox.drawn?.items?.any { it.method == "closeJob" && it.state == ItemState.SENT } == true
        }
        assertEquals(JobState.Closed, state(core))
        assertEquals(1, s3.keys().size)
        assertEquals(0L, today.drawn?.banner?.waiting)
    }

    private fun Activity.viewOrNullTag(tag: String) = window.decorView.findViewWithTag<android.view.View>(tag) != null
}
