// Scan: camera2 preview frames (the luma plane of YUV_420_888, its row stride, the sensor's
// rotation) fed to the core's scan session on a camera thread; progress while aiming, the
// confirmed FSAN and serial to accept, the duplicate warning, and manual entry typed twice.
package uk.jobpack.android.ui

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.graphics.Color
import android.graphics.ImageFormat
import android.hardware.camera2.CameraCaptureSession
import android.hardware.camera2.CameraCharacteristics
import android.hardware.camera2.CameraDevice
import android.hardware.camera2.CameraManager
import android.media.ImageReader
import android.os.Bundle
import android.os.Handler
import android.os.HandlerThread
import android.view.Surface
import java.nio.ByteBuffer
import uk.jobpack.android.presenter.Aim
import uk.jobpack.android.presenter.ScanPresenter
import uk.jobpack.android.presenter.ScanScreen
import uk.jobpack.android.presenter.lumaFrame

class ScanActivity : ScreenActivity<ScanScreen>() {
    lateinit var presenter: ScanPresenter
        private set

    private val cameraThread = HandlerThread("jobpack-camera").apply { start() }
    private val cameraHandler = Handler(cameraThread.looper)
    private var device: CameraDevice? = null
    private var reader: ImageReader? = null

    /** Degrees the sensor's image turns clockwise to be upright (from the camera's characteristics). */
    @Volatile
    var rotation = 0
        private set

    @Volatile
    var cameraId: String? = null
        private set

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        presenter = ScanPresenter(core, intent.getStringExtra(JobActivity.JOB_REF) ?: return finish())
        show(presenter) { false }
    }

    override fun onResume() {
        super.onResume()
        if (checkSelfPermission(Manifest.permission.CAMERA) != PackageManager.PERMISSION_GRANTED) {
            requestPermissions(arrayOf(Manifest.permission.CAMERA), 1)
            return
        }
        openCamera()
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<out String>, grantResults: IntArray) {
        if (grantResults.firstOrNull() == PackageManager.PERMISSION_GRANTED) openCamera()
    }

    override fun onPause() {
        device?.close()
        device = null
        reader?.close()
        reader = null
        super.onPause()
    }

    override fun onDestroy() {
        cameraThread.quitSafely()
        super.onDestroy()
    }

    /** The back camera, its orientation, and a YUV reader whose frames go to [onLumaPlane]. */
    @SuppressLint("MissingPermission")
    private fun openCamera() {
        val manager = getSystemService(Context.CAMERA_SERVICE) as CameraManager
        val id = manager.cameraIdList.firstOrNull {
            manager.getCameraCharacteristics(it).get(CameraCharacteristics.LENS_FACING) == CameraCharacteristics.LENS_FACING_BACK
        } ?: manager.cameraIdList.firstOrNull() ?: return presenter.showManualEntry(true)
        val characteristics = manager.getCameraCharacteristics(id)
        val sensor = characteristics.get(CameraCharacteristics.SENSOR_ORIENTATION) ?: 0
        @Suppress("DEPRECATION") // Activity.getDisplay() needs a visual context Robolectric lacks
        val display = when (windowManager.defaultDisplay.rotation) {
            Surface.ROTATION_90 -> 90
            Surface.ROTATION_180 -> 180
            Surface.ROTATION_270 -> 270
            else -> 0
        }
        rotation = (sensor - display + 360) % 360
        cameraId = id
        val images = ImageReader.newInstance(1280, 720, ImageFormat.YUV_420_888, 2).also { reader = it }
        images.setOnImageAvailableListener({ r ->
            val image = r.acquireLatestImage() ?: return@setOnImageAvailableListener
            image.use {
                val luma = it.planes[0]
                onLumaPlane(luma.buffer, it.width, it.height, luma.rowStride)
            }
        }, cameraHandler)
        manager.openCamera(id, object : CameraDevice.StateCallback() {
            override fun onOpened(camera: CameraDevice) {
                device = camera
                startPreview(camera, images)
            }

            override fun onDisconnected(camera: CameraDevice) = camera.close()

            override fun onError(camera: CameraDevice, error: Int) {
                camera.close()
                runOnUiThread { presenter.showManualEntry(true) }
            }
        }, cameraHandler)
    }

    @Suppress("DEPRECATION")
    private fun startPreview(camera: CameraDevice, images: ImageReader) {
        camera.createCaptureSession(listOf(images.surface), object : CameraCaptureSession.StateCallback() {
            override fun onConfigured(session: CameraCaptureSession) {
                val request = camera.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW).apply { addTarget(images.surface) }
                session.setRepeatingRequest(request.build(), null, cameraHandler)
            }

            override fun onConfigureFailed(session: CameraCaptureSession) = presenter.showManualEntry(true)
        }, cameraHandler)
    }

    /**
     * One preview frame's luma plane (called on the camera thread by the ImageReader). The
     * decode runs here, never on the main thread; the presenter drops frames while busy.
     */
    fun onLumaPlane(plane: ByteBuffer, width: Int, height: Int, rowStride: Int) {
        presenter.onFrame(lumaFrame(plane, width, height, rowStride, rotation))
    }

    /** Runs [block] on the camera thread (the ImageReader's handler). */
    fun onCameraThread(block: () -> Unit) = cameraHandler.post(block)

    override fun render(state: ScanScreen) {
        if (state.accepted != null) return finish()
        title(texts["scan_title"])
        when (val aim = state.aim) {
            Aim.Searching -> label(texts["scan_searching"], tag = "scan_aim")
            is Aim.NotALabel -> label(texts["scan_not_label", aim.reason], tag = "scan_aim")
            is Aim.Steadying -> label(texts["scan_steadying", aim.count], tag = "scan_aim")
            is Aim.Confirmed -> {
                label(texts["scan_confirmed", aim.identity.fsan, aim.identity.serialNumber ?: "", aim.identity.vendor], tag = "scan_aim", bold = true)
                button(texts["scan_accept"], "scan_accept") { presenter.accept() }
                button(texts["scan_rescan"], "scan_rescan") { presenter.rescan() }
            }
            is Aim.ChooseSerial -> {
                label(texts["scan_choose_serial", aim.identity.fsan], tag = "scan_aim", bold = true)
                aim.candidates.forEachIndexed { i, serial ->
                    button(serial, "scan_serial_$i") { presenter.chooseSerial(serial) }
                }
                button(texts["scan_rescan"], "scan_rescan") { presenter.rescan() }
            }
            is Aim.Duplicate -> {
                label(texts["scan_duplicate", aim.identity.fsan, aim.otherJob], tag = "scan_aim", bold = true, color = Color.RED)
                button(texts["scan_rescan"], "scan_rescan") { presenter.rescan() }
            }
        }
        label(texts["scan_frames", state.frames], size = 12f)
        problem(state.problem)
        if (!state.manual) {
            button(texts["scan_manual"], "scan_manual") { presenter.showManualEntry(true) }
        } else {
            val first = input("scan_first", texts["scan_manual_first"])
            val second = input("scan_second", texts["scan_manual_second"])
            button(texts["scan_manual_check"], "scan_manual_check") {
                presenter.enterManually(first.text.toString(), second.text.toString())
            }
        }
    }
}
