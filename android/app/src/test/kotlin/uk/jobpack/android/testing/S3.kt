// CityFibre's photo bucket stand-in: moto's S3 server (the project's virtualenv, named by
// JOBPACK_PYTHON) on a loopback port, with the bucket created.
package uk.jobpack.android.testing

import java.net.HttpURLConnection
import java.net.ServerSocket
import java.net.Socket
import java.net.URI
import java.util.concurrent.TimeUnit
import uk.jobpack.core.DirectS3
import uk.jobpack.core.PhotoStorage

class S3 private constructor(private val process: Process, val endpoint: String) : AutoCloseable {
    companion object {
        const val BUCKET = "jobpack-photos"

        fun start(): S3 {
            val python = System.getenv("JOBPACK_PYTHON")
                ?: error("JOBPACK_PYTHON must name the virtualenv's python with moto (scripts/test.sh sets it)")
            val port = ServerSocket(0).use { it.localPort }
            val process = ProcessBuilder(python, "-m", "moto.server", "-H", "127.0.0.1", "-p", port.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start()
            val endpoint = "http://127.0.0.1:$port"
            // Bounded wait for the port, then the bucket (moto takes unsigned path-style calls).
            var up = false
            for (i in 0 until 300) {
                if (!process.isAlive) error("moto exited with ${process.exitValue()}")
                up = runCatching { Socket("127.0.0.1", port).close() }.isSuccess
                if (up) break
                Thread.sleep(100)
            }
            check(up) { "moto did not listen on $port" }
            val put = URI("$endpoint/$BUCKET").toURL().openConnection() as HttpURLConnection
            put.requestMethod = "PUT"
            check(put.responseCode == 200) { "creating the bucket answered ${put.responseCode}" }
            return S3(process, endpoint)
        }
    }

    /** QA's direct mode: the keys on the device, against moto with no hub. */
    fun storage() = PhotoStorage(
        bucket = BUCKET, trustAnchorsPem = null, maxEdge = 1024u,
        directS3 = DirectS3(
            endpoint = endpoint, region = "us-east-1",
            accessKeyId = "AKIAANDROIDTEST", secretAccessKey = "android-test-secret",
        ),
    )

    /** The keys stored in the bucket (a plain listing; moto answers unsigned calls). */
    fun keys(): List<String> {
        val get = URI("$endpoint/$BUCKET?list-type=2").toURL().openConnection() as HttpURLConnection
        val body = get.inputStream.bufferedReader().readText()
        return Regex("<Key>([^<]+)</Key>").findAll(body).map { it.groupValues[1] }.toList()
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly()
    }
}
