// The presenters stay plain Kotlin: no android.* import, so they run (and are tested) on any JVM.
package uk.jobpack.android.presenter

import java.nio.file.Files
import java.nio.file.Paths
import kotlin.io.path.extension
import kotlin.io.path.readText
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class PresenterPurityTest {
    @Test
    fun presentersImportNoAndroidApi() {
        val dir = Paths.get(System.getProperty("jobpack.sources") ?: error("jobpack.sources is not set"), "uk/jobpack/android/presenter")
        val files = Files.list(dir).use { s -> s.filter { it.extension == "kt" }.toList() }
        assertTrue(files.size >= 6)
        val offending = files.filter { f -> f.readText().lines().any { it.startsWith("import android") || it.startsWith("import androidx") } }
        assertEquals(emptyList<String>(), offending.map { it.fileName.toString() })
    }
}
