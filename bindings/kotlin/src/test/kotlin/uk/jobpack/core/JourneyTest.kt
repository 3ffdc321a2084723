// The generated Kotlin bindings driving the core against the simulator, as the Android shell
// will: suspend calls, a Flow of events, camera frames, typed exceptions.
package uk.jobpack.core

import java.awt.image.BufferedImage
import java.nio.file.Files
import java.util.concurrent.ConcurrentLinkedQueue
import java.nio.file.Path
import java.nio.file.Paths
import javax.imageio.ImageIO
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.flow.onEach
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

const val JOB = "S1000001"
const val WAIT_MS = 30_000L

/**
 * A closure matrix without photos (the photo path runs against S3 in the Python suite and the
 * Rust end-to-end tests): one visit question, and at closure a light level that branches.
 */
const val MATRIX = """{
  "name": "kotlin tests", "version": "1", "isDefault": false,
  "questions": [
    {"code": "1100", "text": "Did Sponge Pass?", "answer": {"type": "yesNo"}},
    {"code": "2000", "text": "Optical light level at the ONT",
     "answer": {"type": "number", "unit": "dBm", "min": -40, "max": 5, "decimals": 2}},
    {"code": "2010", "text": "The light level is out of range: what was done?",
     "answer": {"type": "singleChoice", "choices": ["Cleaned the connectors", "Escalated"]}},
    {"code": "2400", "text": "Customer sign-off: name of the person who signed",
     "answer": {"type": "text", "maxLength": 100}}
  ],
  "flows": [
    {"id": "visit", "journey": "visit", "steps": [{"question": "1100"}]},
    {"id": "close", "journey": "closure", "steps": [
      {"question": "2000", "next": [{"when": {"answer": "2000", "atLeast": -27, "atMost": -8}, "goto": "2400"}]},
      {"question": "2010"},
      {"question": "2400"}
    ]}
  ]
}"""

class JourneyTest {
    private lateinit var dir: Path

    @BeforeEach
    fun setUp() {
        dir = Files.createTempDirectory("jobpack-kotlin")
    }

    @AfterEach
    fun tearDown() {
        dir.toFile().deleteRecursively()
    }

    private val leeds = Location(latitude = 53.80, longitude = -1.55, accuracy = 12.0)

    /** Syncs until the job leaves the provisioning wait (status 4 is followed by a 1). */
    private suspend fun awaitProvisioning(core: Jobpack): JobState {
        repeat(100) {
            core.syncUntilIdle(WAIT_MS.toULong())
            val state = core.job(JOB).state
            if (state !is JobState.OntScanned && state !is JobState.ProvisioningRetrying) return state
            delay(100)
        }
        return core.job(JOB).state
    }

    @Test
    fun aWholeJobFromAssignmentToClose(): Unit = runBlocking {
        Simulator.start("--jobs", "1").use { sim ->
            val core = Jobpack.open(sim.config(dir.resolve("e.sqlite")))
            core.use {
                // Every event while the journey runs. (Not "until the closeJob is sent": the core
                // may send it before closeJob() has returned its sequence number to the test.)
                val events = ConcurrentLinkedQueue<Event>()
                val collector = launch(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) {
                    core.events().collect { events.add(it) }
                }
                core.syncUntilIdle(WAIT_MS.toULong())
                val job = core.jobs().single()
                assertEquals(JOB, job.jobRef)
                assertEquals(JobState.Received, job.state)
                assertTrue(job.pack.customer.name.isNotEmpty())

                assertEquals(JobState.Assigned, core.accept(JOB).state)
                assertEquals(JobState.EnRoute, core.startTravel(JOB, leeds, null).state)
                assertEquals(JobState.OnSite, core.arrive(JOB, leeds, "2026-12-01T09:30:00+00:00").state)
                assertThrows<JobpackException.Incomplete> { runBlocking { core.sendVisitAnswers(JOB) } }
                assertEquals("Yes", core.answerQuestion(JOB, Journey.VISIT, "1100", "y", null))
                core.sendVisitAnswers(JOB)

                val identity = scanFixture(core.scanSession(JOB))
                val scanned = core.confirmOnt(JOB, identity.fsan, identity.serialNumber!!, null)
                assertEquals(JobState.OntScanned, scanned.state)
                val provisioned = awaitProvisioning(core)
                assertTrue(provisioned is JobState.Provisioned, "$provisioned")

                val refused = assertThrows<JobpackException.Incomplete> {
                    runBlocking { core.closeJob(JOB, "SP", null, "Installed and tested", null) }
                }
                val first = refused.gaps.single()
                assertTrue(first is Gap.UnansweredQuestion && first.questionCode == "2000", "$first")
                val bad = assertThrows<JobpackException.InvalidAnswer> {
                    runBlocking { core.answerQuestion(JOB, Journey.CLOSURE, "2000", "-99", null) }
                }
                assertEquals("2000", bad.questionCode)
                // Out of range asks what was done; a corrected reading takes that question away.
                core.answerQuestion(JOB, Journey.CLOSURE, "2000", "-31.5", null)
                val outOfRange = core.flow(JOB, Journey.CLOSURE, "SP", null)
                assertEquals("2010", outOfRange.next?.code)
                val choices = (outOfRange.next?.answerType as AnswerType.SingleChoice).choices
                core.answerQuestion(JOB, Journey.CLOSURE, "2010", choices.first(), null)
                core.answerQuestion(JOB, Journey.CLOSURE, "2000", "-19.25", null)
                core.answerQuestion(JOB, Journey.CLOSURE, "2400", "Pat Customer", null)
                val ready = core.flow(JOB, Journey.CLOSURE, "SP", null)
                assertTrue(ready.gaps.isEmpty(), "${ready.gaps}")
                assertEquals(listOf("2000", "2400"), ready.answered.map { it.code })
                val closed = core.closeJob(JOB, "SP", null, "Installed and tested", null)
                assertEquals(JobState.Closed, closed.state)
                closeSeq = closed.outboxSeq!!
                core.syncUntilIdle(WAIT_MS.toULong())

                val outbox = core.outbox(JOB)
                assertEquals(
                    listOf("notifyJob", "notifyJob", "notifyJob", "notifyJob", "notifyJob", "closeJob"),
                    outbox.map { it.method },
                )
                assertTrue(outbox.all { it.state == ItemState.SENT }, "$outbox")
                assertEquals(0uL, core.status().pending)

                withTimeout(WAIT_MS) {
                    while (events.none { it is Event.OutboxItemChanged && it.state == ItemState.SENT && it.seq == closeSeq }) {
                        delay(20)
                    }
                }
                collector.cancel()
                val seen = events.toList()
                assertTrue(seen.any { it is Event.JobChanged && it.jobRef == JOB })
                assertTrue(seen.any { it is Event.SyncStateChanged })
                assertTrue(seen.any { it is Event.ScanProgress && it.progress is ScanProgress.Confirmed })
                val closedJob = core.job(JOB)
                assertEquals("SP", closedJob.closure?.code)
                assertEquals(identity.fsan, closedJob.ont?.fsan)
            }
        }
    }

    @Volatile
    private var closeSeq = -1L

    @Test
    fun offlineActionsQueueAndDrainOnReconnect(): Unit = runBlocking {
        Simulator.start("--jobs", "1").use { sim ->
            Jobpack.open(sim.config(dir.resolve("e.sqlite"))).use { core ->
                core.syncUntilIdle(WAIT_MS.toULong())
                core.setOnline(false)
                val accepted = core.accept(JOB)
                val travelled = core.startTravel(JOB, leeds, null)
                val queued = core.outbox(JOB)
                assertEquals(2, queued.size)
                assertTrue(queued.all { it.state == ItemState.QUEUED }, "$queued")
                assertThrows<JobpackException.Offline> { runBlocking { core.syncUntilIdle(1_000uL) } }

                // Coming back online drains by itself, with no explicit sync: watch the outbox.
                // (An event subscription is not used here: callbackFlow subscribes on its own
                // dispatcher, so on a loaded machine the drain could finish before it does.)
                core.setOnline(true)
                withTimeout(WAIT_MS) {
                    while (core.outbox(JOB).any { it.state != ItemState.SENT }) delay(50)
                }
                val drained = core.outbox(JOB)
                assertEquals(listOf(accepted.outboxSeq, travelled.outboxSeq), drained.map { it.seq })
                assertTrue(drained.all { it.state == ItemState.SENT }, "$drained")
            }
        }
    }

    @Test
    fun aParkedItemIsResentOnceFixedUpstream(): Unit = runBlocking {
        Simulator.start("--jobs", "1", "--reject-jobs", JOB).use { sim ->
            Jobpack.open(sim.config(dir.resolve("e.sqlite"))).use { core ->
                core.syncUntilIdle(WAIT_MS.toULong())
                val seq = core.accept(JOB).outboxSeq!!
                core.syncUntilIdle(WAIT_MS.toULong())
                val parked = core.outbox(JOB).single()
                assertEquals(ItemState.PARKED, parked.state)
                assertTrue(parked.parkedReason!!.contains("reject"), parked.parkedReason)
                assertEquals(1uL, core.status().parked)

                // A wrong confirmation discards nothing.
                assertThrows<JobpackException.ConfirmationMismatch> {
                    runBlocking { core.discard(seq, "not-the-key") }
                }
                sim.admin("setFaults", "{}")
                core.resend(seq)
                core.syncUntilIdle(WAIT_MS.toULong())
                val sent = core.outbox(JOB).single()
                assertEquals(ItemState.SENT, sent.state)
                assertEquals(parked.idempotencyKey, sent.idempotencyKey)
                assertThrows<JobpackException.NotParked> { runBlocking { core.resend(seq) } }
            }
        }
    }

    @Test
    fun cameraFramesOfALabelConfirmItsFsan() {
        Jobpack.open(offlineConfig(dir.resolve("e.sqlite"))).use { core ->
            val identity = scanFixture(core.scanSession(JOB))
            assertEquals("ALCLB443689D", identity.fsan)
            assertEquals("YP2244017834", identity.serialNumber)
            assertEquals("00:11:22:AA:BB:CC", identity.mac)
            assertEquals("Nokia", identity.vendor)

            // The same label as a camera's luma plane, padded rows, sensor rotated 90 degrees.
            val session = core.scanSession(JOB)
            val image = fixture()
            val rotated = lumaRotatedCounterClockwise(image, stridePadding = 16)
            val first = session.feed(rotated)
            assertTrue(first is ScanProgress.SeenOnce, "$first")
            val second = session.feed(rotated)
            assertTrue(second is ScanProgress.Confirmed, "$second")

            val blank = CameraFrame(ByteArray(64 * 48) { 200.toByte() }, 64u, 48u, 64u, PixelFormat.LUMA8, 0u)
            assertEquals(ScanProgress.Nothing, core.scanSession(JOB).feed(blank))
        }
    }

    @Test
    fun aCollectorThatFallsBehindIsToldHowMuchItMissed(): Unit = runBlocking {
        Jobpack.open(offlineConfig(dir.resolve("e.sqlite"))).use { core ->
            val gate = CompletableDeferred<Unit>()
            val lagged = async(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) {
                core.events(capacity = 1).onEach { gate.await() }.filterIsInstance<Event.Lagged>().first()
            }
            delay(300) // the subscription is running
            val session = core.scanSession(JOB)
            val blank = CameraFrame(ByteArray(64 * 64), 64u, 64u, 64u, PixelFormat.LUMA8, 0u)
            // Each frame is a ScanProgress event; the collector is stuck on the first one.
            repeat(20) { session.feed(blank) }
            delay(300)
            gate.complete(Unit)
            delay(100)
            session.feed(blank)
            val missed = withTimeout(WAIT_MS) { lagged.await() }.missed
            assertTrue(missed > 0uL, "missed $missed")
        }
    }

    @Test
    fun badInputIsATypedException(): Unit = runBlocking {
        Jobpack.open(offlineConfig(dir.resolve("e.sqlite"))).use { core ->
            val unknown = assertThrows<JobpackException.UnknownJob> { runBlocking { core.accept("S404") } }
            assertEquals("S404", unknown.jobRef)
            assertThrows<JobpackException.InvalidInput> {
                runBlocking { core.startTravel("S404", Location(200.0, 0.0, 5.0), null) }
            }
            assertThrows<JobpackException.InvalidInput> {
                runBlocking { core.arrive("S404", leeds, "yesterday at nine") }
            }
            assertThrows<JobpackException.InvalidInput> {
                runBlocking { core.confirmOnt("S404", "NOT-AN-FSAN", "YP1", null) }
            }
            val typo = assertThrows<JobpackException.ManualEntry> {
                core.enterOntManually(JOB, "ALCLB443689D", "ALCLB443688D")
            }
            assertTrue(typo.reason.contains("differ"), typo.reason)
            assertThrows<JobpackException.InvalidInput> {
                core.scanSession(JOB).feed(CameraFrame(ByteArray(10), 640u, 480u, 640u, PixelFormat.LUMA8, 0u))
            }
            assertThrows<JobpackException.InvalidInput> {
                core.scanSession(JOB).feed(CameraFrame(ByteArray(100), 10u, 10u, 10u, PixelFormat.LUMA8, 45u))
            }
            assertThrows<JobpackException.UnknownOutboxItem> { runBlocking { core.resend(99) } }
            assertThrows<JobpackException.NoEndpoints> { runBlocking { core.syncUntilIdle(1_000uL) } }
        }
        val badCertificate = offlineConfig(dir.resolve("other.sqlite")).copy(
            endpoints = listOf("https://127.0.0.1:9"),
            trustAnchorsPem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        )
        assertThrows<JobpackException.Config> { Jobpack.open(badCertificate) }
        Unit
    }

    private fun offlineConfig(database: Path) = Config(
        databasePath = database.toString(),
        endpoints = emptyList(),
        clientCertificatePem = null,
        clientKeyPem = null,
        trustAnchorsPem = "",
        engineer = Engineer(id = "E001", name = "Sam Fielding", phone = "07700900123", company = null),
        partnerCatalogueJson = null,
        startOnline = false,
        requestTimeoutSecs = 10u,
    )
}

fun fixture(): BufferedImage {
    val dir = System.getProperty("jobpack.fixtures") ?: error("jobpack.fixtures is not set (see pom.xml)")
    return ImageIO.read(Paths.get(dir, "ont-label.png").toFile())
}

/** The fixture as an RGBA frame, fed until the session confirms; returns the identity. */
fun scanFixture(session: ScanSession): OntIdentity {
    val image = fixture()
    val rgba = ByteArray(image.width * image.height * 4)
    for (y in 0 until image.height) for (x in 0 until image.width) {
        val argb = image.getRGB(x, y)
        val i = (y * image.width + x) * 4
        rgba[i] = (argb shr 16).toByte()
        rgba[i + 1] = (argb shr 8).toByte()
        rgba[i + 2] = argb.toByte()
        rgba[i + 3] = (argb ushr 24).toByte()
    }
    val frame = CameraFrame(rgba, image.width.toUInt(), image.height.toUInt(), (image.width * 4).toUInt(), PixelFormat.RGBA8, 0u)
    repeat(5) {
        when (val progress = session.feed(frame)) {
            is ScanProgress.Confirmed -> return progress.identity
            is ScanProgress.SeenOnce -> {}
            else -> error("unexpected scan progress $progress")
        }
    }
    error("the label was not confirmed in 5 frames")
}

/**
 * The image as a sensor mounted 90 degrees off would deliver it: stored rotated
 * counter-clockwise, so a clockwise rotation of 90 brings it upright; rows padded.
 */
fun lumaRotatedCounterClockwise(image: BufferedImage, stridePadding: Int): CameraFrame {
    val width = image.height
    val height = image.width
    val stride = width + stridePadding
    val data = ByteArray(stride * height)
    for (y in 0 until height) for (x in 0 until width) {
        // Stored pixel (x, y) shows upright pixel (height-1-y, x).
        val argb = image.getRGB(height - 1 - y, x)
        val luma = (((argb shr 16) and 0xff) * 77 + ((argb shr 8) and 0xff) * 150 + (argb and 0xff) * 29) shr 8
        data[y * stride + x] = luma.toByte()
    }
    return CameraFrame(data, width.toUInt(), height.toUInt(), stride.toUInt(), PixelFormat.LUMA8, 90u)
}
