// A camera's luma plane as the core's CameraFrame.
//
// camera2's ImageReader (YUV_420_888) hands over plane 0 as a ByteBuffer whose rows are
// `rowStride` bytes apart; the last row may stop at the image width. The core wants whole
// rows, so the plane is copied into `rowStride * height` bytes (the copy also frees the
// Image for the camera at once). `rotationDegrees` is how far the frame must turn clockwise
// to be upright (sensor orientation against the display), which the core undoes.
package uk.jobpack.android.presenter

import java.nio.ByteBuffer
import uk.jobpack.core.CameraFrame
import uk.jobpack.core.PixelFormat

fun lumaFrame(plane: ByteBuffer, width: Int, height: Int, rowStride: Int, rotationDegrees: Int): CameraFrame {
    val data = ByteArray(rowStride * height)
    val source = plane.duplicate()
    source.get(data, 0, minOf(source.remaining(), data.size))
    return CameraFrame(data, width.toUInt(), height.toUInt(), rowStride.toUInt(), PixelFormat.LUMA8, rotationDegrees.toUInt())
}
