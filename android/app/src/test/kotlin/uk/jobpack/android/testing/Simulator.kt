// The real CityFibre simulator (`jobpack sim`, named by JOBPACK_BIN) for the shell's tests:
// mutual TLS on loopback with a fresh CA per start; the core is configured as engineer E001.
package uk.jobpack.android.testing

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
import uk.jobpack.core.Config
import uk.jobpack.core.Engineer
import uk.jobpack.core.PhotoStorage

class Simulator private constructor(private val process: Process, val url: String, val certs: Path) : AutoCloseable {
    companion object {
        fun start(vararg args: String): Simulator {
            val bin = System.getenv("JOBPACK_BIN")
                ?: error("JOBPACK_BIN must name the jobpack CLI binary (scripts/test.sh sets it)")
            val certs = Files.createTempDirectory("jobpack-android-sim")
            val process = ProcessBuilder(listOf(bin, "sim", "--listen", "127.0.0.1:0", "--certs", certs.toString()) + args)
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

    fun config(database: Path, photos: PhotoStorage? = null, matrix: String = MATRIX) = Config(
        databasePath = database.toString(),
        endpoints = listOf(url),
        clientCertificatePem = pem("client-E001.pem"),
        clientKeyPem = pem("client-E001.key"),
        trustAnchorsPem = pem("ca.pem"),
        engineer = Engineer(id = "E001", name = "Sam Fielding", phone = "07700900123", company = "Jobpack Ltd"),
        partnerCatalogueJson = null,
        startOnline = true,
        requestTimeoutSecs = 10u,
        closureMatrixJson = matrix,
        photoStorage = photos,
        // moto's S3 stand-in listens on plain http on loopback: the QA exception to https only.
        allowPlainHttpLoopback = photos != null,
    )

    /** Calls an /admin method (QA's control of the simulator) over mutual TLS. */
    fun admin(method: String, paramsJson: String): String {
        val body = """{"jsonrpc":"2.0","id":1,"method":"$method","params":$paramsJson}"""
        val connection = URI("$url/admin").toURL().openConnection() as HttpsURLConnection
        connection.sslSocketFactory = tls().socketFactory
        connection.requestMethod = "POST"
        connection.doOutput = true
        connection.setRequestProperty("Content-Type", "application/json")
        connection.outputStream.use { it.write(body.toByteArray()) }
        val status = connection.responseCode
        val answer = (if (status < 400) connection.inputStream else connection.errorStream).bufferedReader().readText()
        check(status == 200) { "admin $method answered $status: $answer" }
        return answer
    }

    private fun tls(): SSLContext {
        val x509 = CertificateFactory.getInstance("X.509")
        val ca = x509.generateCertificate(pem("ca.pem").byteInputStream())
        val chain = x509.generateCertificates(pem("client-E001.pem").byteInputStream()).toTypedArray()
        val der = Base64.getDecoder().decode(pem("client-E001.key").lines().filter { !it.startsWith("-----") }.joinToString(""))
        val key = KeyFactory.getInstance("EC").generatePrivate(PKCS8EncodedKeySpec(der))
        val trust = KeyStore.getInstance(KeyStore.getDefaultType()).apply { load(null, null); setCertificateEntry("ca", ca) }
        val identity = KeyStore.getInstance(KeyStore.getDefaultType()).apply { load(null, null); setKeyEntry("client", key, CharArray(0), chain) }
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

const val JOB = "S1000001"
const val OTHER_JOB = "S1000002"
const val WAIT_MS = 30_000L

/**
 * A small closure matrix for the shell's tests: one visit question, and at closure a light
 * level (number), a yes/no with help text and a mandatory photo, and the customer's name
 * (for SP; other closure codes ask nothing).
 */
const val MATRIX = """{
  "name": "android tests", "version": "1", "isDefault": false,
  "questions": [
    {"code": "1100", "text": "Did Sponge Pass?", "answer": {"type": "yesNo"}},
    {"code": "2000", "text": "Optical light level at the ONT",
     "answer": {"type": "number", "unit": "dBm", "min": -40, "max": 5, "decimals": 2}},
    {"code": "2100", "text": "ONT mounted and labelled?", "help": "Photograph the ONT on the wall",
     "answer": {"type": "yesNo"}, "minPhotos": 1, "photoHint": "the ONT on the wall"},
    {"code": "2400", "text": "Customer sign-off: name of the person who signed",
     "answer": {"type": "text", "maxLength": 100}}
  ],
  "flows": [
    {"id": "visit", "journey": "visit", "steps": [{"question": "1100"}]},
    {"id": "close", "journey": "closure", "closureCodes": ["SP"], "steps": [
      {"question": "2000"}, {"question": "2100"}, {"question": "2400"}
    ]}
  ]
}"""
