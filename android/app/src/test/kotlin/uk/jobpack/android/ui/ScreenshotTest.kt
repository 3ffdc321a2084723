// Renders each screen to a PNG with Robolectric's native graphics (target/android-build/
// screenshots/), so a reader can see the app: `bash android/screenshots.sh` copies them into
// docs/android/. The states are real: the core and the simulator behind them.
package uk.jobpack.android.ui

import android.Manifest
import android.app.Activity
import android.content.Context
import android.content.Intent
import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Color
import android.location.LocationManager
import android.view.View
import android.view.ViewGroup
import android.widget.ScrollView
import java.io.File
import java.nio.ByteBuffer
import java.nio.file.Files
import java.nio.file.Path
import org.junit.After
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.annotation.GraphicsMode
import uk.jobpack.android.AppGraph
import uk.jobpack.android.JobpackApplication
import uk.jobpack.android.presenter.Aim
import uk.jobpack.android.testing.Fixtures
import uk.jobpack.android.testing.JOB
import uk.jobpack.android.testing.Simulator
import uk.jobpack.android.testing.XmlTexts
import uk.jobpack.android.testing.awaitUi
import uk.jobpack.android.testing.tap
import uk.jobpack.core.Jobpack
import uk.jobpack.core.JobState

@RunWith(RobolectricTestRunner::class)
@GraphicsMode(GraphicsMode.Mode.NATIVE)
@Config(sdk = [35], application = JobpackApplication::class, qualifiers = "w400dp-h800dp-mdpi")
class ScreenshotTest {
    private lateinit var dir: Path
    private val app get() = RuntimeEnvironment.getApplication() as JobpackApplication
    private val out = File(System.getProperty("jobpack.screenshots") ?: error("jobpack.screenshots is not set")).apply { mkdirs() }

    @Before
    fun setUp() {
        dir = Files.createTempDirectory("jobpack-android-shots")
        AppGraph.texts = XmlTexts.app()
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.CAMERA)
    }

    @After
    fun tearDown() {
        AppGraph.reset()
        dir.toFile().deleteRecursively()
    }

    /** The whole scrolled content of [activity], on white, as a PNG named [name]. */
    private fun shoot(activity: Activity, name: String) {
        shadowOf(android.os.Looper.getMainLooper()).idle()
        val scroll = activity.findViewById<ViewGroup>(android.R.id.content)!!.getChildAt(0) as ScrollView
        val content = scroll.getChildAt(0)
        val width = 400
        content.measure(View.MeasureSpec.makeMeasureSpec(width, View.MeasureSpec.EXACTLY), View.MeasureSpec.makeMeasureSpec(0, View.MeasureSpec.UNSPECIFIED))
        content.layout(0, 0, content.measuredWidth, content.measuredHeight)
        val bitmap = Bitmap.createBitmap(width, content.measuredHeight.coerceAtLeast(1), Bitmap.Config.ARGB_8888)
        val canvas = Canvas(bitmap)
        canvas.drawColor(Color.WHITE)
        content.draw(canvas)
        File(out, "$name.png").outputStream().use { bitmap.compress(Bitmap.CompressFormat.PNG, 100, it) }
    }

    private inline fun <reified A : Activity> next(from: Activity): A {
        val intent: Intent = shadowOf(from).nextStartedActivity ?: error("nothing started")
        return Robolectric.buildActivity(A::class.java, intent).setup().get()
    }

    @Test
    fun everyScreen() {
        Simulator.start("--jobs", "3").use { sim ->
            Jobpack.open(sim.config(dir.resolve("e.sqlite"))).use { core ->
                app.attach(core)
                val today = Robolectric.buildActivity(TodayActivity::class.java).setup().get()
                today.tap("pull")
                awaitUi("jobs") { today.drawn?.jobs?.size == 3 && today.drawn?.pulling == false }
                today.tap("job_$JOB")
                val job = next<JobActivity>(today)
                job.tap("accept")
                val manager = app.getSystemService(Context.LOCATION_SERVICE) as LocationManager
                shadowOf(manager).setProviderEnabled(LocationManager.GPS_PROVIDER, true)
                shadowOf(manager).simulateLocation(android.location.Location(LocationManager.GPS_PROVIDER).apply {
                    latitude = 53.7997; longitude = -1.5492; accuracy = 9f; time = System.currentTimeMillis()
                })
                job.tap("start_travel")
                job.tap("arrive")
                awaitUi("on site") { job.drawn?.job?.state == JobState.OnSite }
                shoot(job, "job")

                job.tap("scan_ont")
                val scan = next<ScanActivity>(job)
                val plane = Fixtures.rotatedLuma()
                repeat(3) { scan.onLumaPlane(ByteBuffer.wrap(plane.bytes), plane.width, plane.height, plane.rowStride) }
                awaitUi("confirmed") { scan.drawn?.aim is Aim.Confirmed }
                shoot(scan, "scan")
                scan.tap("scan_accept")

                // Offline for the outbox's picture: what was just done waits.
                core.setOnline(false)
                job.tap("answer_visit")
                val visit = next<QuestionsActivity>(job)
                visit.tap("answer_yes")
                visit.tap("send_visit")
                awaitUi("sent") { visit.drawn?.visitSent == true }

                job.tap("close")
                val closing = next<QuestionsActivity>(job)
                // Before provisioning SP is listed but greyed out; the codes usable now are not.
                awaitUi("the closure codes") { closing.drawn?.choices?.isNotEmpty() == true }
                shoot(closing, "questions")

                today.tap("open_outbox")
                val outbox = next<OutboxActivity>(today)
                awaitUi("queued") { (outbox.drawn?.waiting ?: 0) > 0 }
                shoot(outbox, "outbox")
                awaitUi("banner offline") { today.drawn?.banner?.online == false && (today.drawn?.banner?.waiting ?: 0) > 0 }
                shoot(today, "today")
            }
        }
        assertTrue(listOf("today", "job", "scan", "questions", "outbox").all { File(out, "$it.png").length() > 1000 })
    }
}
