// The platform duties in Robolectric: the periodic sync job, connectivity callbacks, the
// key vault, provisioning, and the strings every screen asks for.
package uk.jobpack.android.platform

import android.app.job.JobScheduler
import android.content.Context
import android.net.ConnectivityManager
import java.io.File
import java.nio.file.Files
import java.security.KeyStore
import javax.crypto.AEADBadTagException
import javax.crypto.KeyGenerator
import org.json.JSONArray
import org.json.JSONObject
import org.junit.After
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowNetwork
import uk.jobpack.android.AppGraph
import uk.jobpack.android.testing.Simulator
import uk.jobpack.android.testing.XmlTexts
import uk.jobpack.android.testing.awaitUi
import uk.jobpack.core.Jobpack

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class PlatformTest {
    private lateinit var dir: File
    private val context: Context get() = RuntimeEnvironment.getApplication()
    private val softwareKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

    @Before
    fun setUp() {
        dir = Files.createTempDirectory("jobpack-android-platform").toFile()
    }

    @After
    fun tearDown() {
        AppGraph.reset()
        dir.deleteRecursively()
    }

    @Test
    fun theSyncJobIsPeriodicNeedsANetworkAndSyncsTheCore() {
        assertTrue(SyncJobService.schedule(context))
        val scheduler = context.getSystemService(Context.JOB_SCHEDULER_SERVICE) as JobScheduler
        val job = scheduler.allPendingJobs.single { it.id == SyncJobService.JOB_ID }
        assertTrue(job.isPeriodic)
        assertEquals(SyncJobService.PERIOD_MS, job.intervalMillis)
        assertTrue(job.isPersisted)
        assertTrue(SyncJobService.schedule(context))
        assertEquals(1, scheduler.allPendingJobs.size)

        Simulator.start("--jobs", "1").use { sim ->
            Jobpack.open(sim.config(dir.toPath().resolve("e.sqlite"))).use { core ->
                AppGraph.install(core)
                val service = Robolectric.setupService(SyncJobService::class.java)
                assertTrue("the work goes on in the background", service.onStartJob(null))
                awaitUi("the background sync") { service.lastOutcome != null }
                assertEquals("idle: 0 pending", service.lastOutcome)
                assertEquals(1, kotlinx.coroutines.runBlocking { core.jobs() }.size)
            }
        }
    }

    @Test
    fun connectivityCallbacksTellTheCore() {
        Simulator.start("--jobs", "1").use { sim ->
            Jobpack.open(sim.config(dir.toPath().resolve("e.sqlite"))).use { core ->
                val monitor = ConnectivityMonitor(context, core)
                monitor.start()
                val manager = context.getSystemService(Context.CONNECTIVITY_SERVICE) as ConnectivityManager
                val callbacks = shadowOf(manager).networkCallbacks
                assertEquals(1, callbacks.size)
                val network = ShadowNetwork.newInstance(7)
                callbacks.single().onLost(network)
                awaitUi("the core offline") { !core.status().online }
                callbacks.single().onAvailable(network)
                awaitUi("the core online") { core.status().online }
                monitor.stop()
                assertTrue(shadowOf(manager).networkCallbacks.isEmpty())
            }
        }
    }

    @Test
    fun theVaultSealsSecretsAndRefusesAlteredFiles() {
        val vault = KeyVault(dir) { softwareKey }
        vault.seal("client-key", "-----BEGIN PRIVATE KEY-----\nabc\n".toByteArray())
        assertEquals("-----BEGIN PRIVATE KEY-----\nabc\n", vault.open("client-key")!!.toString(Charsets.UTF_8))
        val sealed = File(dir, "client-key.sealed")
        assertFalse(sealed.readText(Charsets.ISO_8859_1).contains("PRIVATE KEY"))
        val databaseKey = vault.databaseKey()
        assertEquals(32, databaseKey.size)
        assertArrayEquals(databaseKey, vault.databaseKey())
        val bytes = sealed.readBytes()
        bytes[bytes.size - 1] = (bytes.last() + 1).toByte()
        sealed.writeBytes(bytes)
        assertTrue(runCatching { vault.open("client-key") }.exceptionOrNull() is AEADBadTagException)
        // Another key (another phone, a reinstalled app) opens nothing.
        val other = KeyVault(dir) { KeyGenerator.getInstance("AES").apply { init(256) }.generateKey() }
        assertTrue(runCatching { other.databaseKey() }.isFailure)
    }

    @Test
    fun robolectricHasNoAndroidKeystoreSoTheVaultTakesItsKeyAsAParameter() {
        // What this machine can verify: the provider "AndroidKeyStore" only exists on a device.
        assertTrue(runCatching { KeyStore.getInstance("AndroidKeyStore") }.isFailure)
    }

    @Test
    fun provisioningKeepsTheClientKeyOnlyInTheVault() {
        val vault = KeyVault(File(dir, "vault")) { softwareKey }
        val source = File(dir, "provisioning.json")
        source.writeText(
            JSONObject()
                .put("endpoints", JSONArray(listOf("https://10.0.2.2:8443")))
                .put("engineer", JSONObject().put("id", "E001").put("name", "Sam Fielding").put("phone", "07700900123"))
                .put("clientCertificatePem", "CERT")
                .put("clientKeyPem", "SECRET-KEY")
                .put("trustAnchorsPem", "CA")
                .put("photoBucket", "cityfibre-evidence")
                .toString(),
        )
        val config = Provisioning(dir, vault).config(source)
        assertNotNull(config)
        assertEquals(listOf("https://10.0.2.2:8443"), config!!.endpoints)
        assertEquals("SECRET-KEY", config.clientKeyPem)
        assertFalse(source.exists())
        assertFalse(File(dir, "settings.json").readText().contains("SECRET-KEY"))
        // Photos go through the hub: the bucket, and no S3 key on the phone.
        assertEquals("cityfibre-evidence", config.photoStorage?.bucket)
        assertEquals(null, config.photoStorage?.directS3)
        // The next start reads the stored settings and the vault.
        assertEquals("SECRET-KEY", Provisioning(dir, vault).config(null)!!.clientKeyPem)
        // The core gets the vault's storage key, the same on every start.
        assertArrayEquals(vault.databaseKey(), config.storageKey)
        assertArrayEquals(config.storageKey, Provisioning(dir, vault).config(null)!!.storageKey)
        assertEquals(null, Provisioning(File(dir, "empty").apply { mkdirs() }, vault).config(null))
    }

    @Test
    fun everyStringTheScreensUseIsInStringsXml() {
        val texts = XmlTexts.app()
        val sources = File(System.getProperty("jobpack.sources"), "uk/jobpack/android/ui")
        val used = sources.listFiles()!!.flatMap { f ->
            Regex("(?:texts|this)\\[\"([a-z_]+)\"[],]").findAll(f.readText()).map { it.groupValues[1] }.toList()
        }.toSet()
        assertTrue(used.size > 40)
        assertEquals(emptySet<String>(), used - texts.names)
    }
}
