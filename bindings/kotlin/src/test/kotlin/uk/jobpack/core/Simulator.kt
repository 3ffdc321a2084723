// The CityFibre simulator for the tests: the real `jobpack sim` process (mutual TLS on
// loopback, a fresh CA per start), plus a client for its /admin endpoint.
package uk.jobpack.core

import java.io.BufferedReader
import java.io.InputStreamReader
import java.net.URI
import java.nio.file.Files
import java.nio.file.Path
import java.security.KeyFactory
import java.security.KeyStore
import java.security.cert.CertificateFactory
import java.security.spec.PKCS8EncodedKeySpec
import java.util.Base64
import java.util.concurrent.TimeUnit
import javax.net.ssl.HttpsURLConnection
import javax.net.ssl.KeyManagerFactory
import javax.net.ssl.SSLContext
import javax.net.ssl.TrustManagerFactory

class Simulator private constructor(
    private val process: Process,
    val url: String,
    val certs: Path,
) : AutoCloseable {
    companion object {
        /** Starts `jobpack sim` with [args] added and waits for its ready line. */
        fun start(vararg args: String): Simulator {
            val bin = System.getenv("JOBPACK_BIN")
                ?: error("JOBPACK_BIN must name the jobpack CLI binary (scripts/test.sh sets it)")
            val certs = Files.createTempDirectory("jobpack-sim-certs")
            val command = listOf(bin, "sim", "--listen", "127.0.0.1:0", "--certs", certs.toString()) + args
            val process = ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start()
            val ready = BufferedReader(InputStreamReader(process.inputStream)).readLine()
                ?: error("the simulator exited before it was ready")
            val url = Regex("\"urls\":\\[\"([^\"]+)\"").find(ready)?.groupValues?.get(1)
                ?: error("no url in the simulator's ready line: $ready")
            return Simulator(process, url, certs)
        }
    }

    fun pem(name: String): String = Files.readString(certs.resolve(name))

    /** A core configuration for engineer E001 of this simulator. */
    fun config(database: Path, startOnline: Boolean = true) = Config(
        databasePath = database.toString(),
        endpoints = listOf(url),
        clientCertificatePem = pem("client-E001.pem"),
        clientKeyPem = pem("client-E001.key"),
        trustAnchorsPem = pem("ca.pem"),
        engineer = Engineer(id = "E001", name = "Sam Fielding", phone = "07700900123", company = "Jobpack Ltd"),
        partnerCatalogueJson = null,
        startOnline = startOnline,
        requestTimeoutSecs = 10u,
        closureMatrixJson = MATRIX,
    )

    /** Calls an /admin method (QA's control of the simulator), returning the response body. */
    fun admin(method: String, paramsJson: String): String {
        val body = """{"jsonrpc":"2.0","id":1,"method":"$method","params":$paramsJson}"""
        val connection = URI("$url/admin").toURL().openConnection() as HttpsURLConnection
        connection.sslSocketFactory = tls().socketFactory
        connection.requestMethod = "POST"
        connection.doOutput = true
        connection.setRequestProperty("Content-Type", "application/json")
        connection.outputStream.use { it.write(body.toByteArray()) }
        val status = connection.responseCode
        val answer = (if (status < 400) connection.inputStream else connection.errorStream)
            .bufferedReader().readText()
        check(status == 200) { "admin $method answered $status: $answer" }
        return answer
    }

    private fun tls(): SSLContext {
        val certificates = CertificateFactory.getInstance("X.509")
        val ca = certificates.generateCertificate(pem("ca.pem").byteInputStream())
        val client = certificates.generateCertificates(pem("client-E001.pem").byteInputStream()).toTypedArray()
        val keyBase64 = pem("client-E001.key").lines().filter { !it.startsWith("-----") }.joinToString("")
        val key = KeyFactory.getInstance("EC").generatePrivate(PKCS8EncodedKeySpec(Base64.getDecoder().decode(keyBase64)))
        val trust = KeyStore.getInstance(KeyStore.getDefaultType()).apply {
            load(null, null)
            setCertificateEntry("ca", ca)
        }
        val identity = KeyStore.getInstance(KeyStore.getDefaultType()).apply {
            load(null, null)
            setKeyEntry("client", key, CharArray(0), client)
        }
        val keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm()).apply { init(identity, CharArray(0)) }
        val trusts = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm()).apply { init(trust) }
        return SSLContext.getInstance("TLS").apply { init(keys.keyManagers, trusts.trustManagers, null) }
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly()
        certs.toFile().deleteRecursively()
    }
}
