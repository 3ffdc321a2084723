// The ONT label fixture (bindings/tests/fixtures/ont-label.png) as a camera would deliver it:
// the luma plane of a YUV frame, rows padded, the sensor mounted 90 degrees off; and a photo.
package uk.jobpack.android.testing

import java.awt.image.BufferedImage
import java.io.ByteArrayOutputStream
import java.nio.file.Paths
import javax.imageio.ImageIO

object Fixtures {
    const val FSAN = "ALCLB443689D"
    const val SERIAL = "YP2244017834"

    fun label(): BufferedImage {
        val dir = System.getProperty("jobpack.fixtures") ?: error("jobpack.fixtures is not set (see android/pom.xml)")
        return ImageIO.read(Paths.get(dir, "ont-label.png").toFile())
    }

    /** A luma plane as the sensor stores it: the upright label rotated counter-clockwise. */
    class LumaPlane(val bytes: ByteArray, val width: Int, val height: Int, val rowStride: Int)

    fun rotatedLuma(image: BufferedImage = label(), padding: Int = 16): LumaPlane {
        val width = image.height
        val height = image.width
        val stride = width + padding
        val data = ByteArray(stride * height)
        for (y in 0 until height) for (x in 0 until width) {
            val argb = image.getRGB(height - 1 - y, x)
            val luma = (((argb shr 16) and 0xff) * 77 + ((argb shr 8) and 0xff) * 150 + (argb and 0xff) * 29) shr 8
            data[y * stride + x] = luma.toByte()
        }
        return LumaPlane(data, width, height, stride)
    }

    /** A JPEG as a phone camera would hand over (a plain gradient; content does not matter). */
    fun photoJpeg(): ByteArray {
        val image = BufferedImage(320, 240, BufferedImage.TYPE_INT_RGB)
        for (y in 0 until 240) for (x in 0 until 320) image.setRGB(x, y, (x shl 16) or (y shl 8) or 0x40)
        return ByteArrayOutputStream().also { ImageIO.write(image, "jpg", it) }.toByteArray()
    }
}
