// The presenters against the real core (host library) and the real simulator: what each
// screen would show after each tap, with no Android framework at all.
package uk.jobpack.android.presenter

import java.nio.ByteBuffer
import java.nio.file.Files
import java.nio.file.Path
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import uk.jobpack.android.testing.Fixtures
import uk.jobpack.android.testing.JOB
import uk.jobpack.android.testing.OTHER_JOB
import uk.jobpack.android.testing.S3
import uk.jobpack.android.testing.Simulator
import uk.jobpack.android.testing.WAIT_MS
import uk.jobpack.core.Gap
import uk.jobpack.core.ItemState
import uk.jobpack.core.JobState
import uk.jobpack.core.Jobpack
import uk.jobpack.core.Journey
import uk.jobpack.core.Location
import uk.jobpack.core.NextAction

class PresenterTest {
    private lateinit var dir: Path
    private val leeds = Location(latitude = 53.80, longitude = -1.55, accuracy = 12.0)

    @Before
    fun setUp() {
        dir = Files.createTempDirectory("jobpack-android")
    }

    @After
    fun tearDown() {
        dir.toFile().deleteRecursively()
    }

    private fun labelFrame() = Fixtures.rotatedLuma().let {
        lumaFrame(ByteBuffer.wrap(it.bytes), it.width, it.height, it.rowStride, 90)
    }

    /** Syncs until CityFibre's provisioning answer has arrived (status 4, then 1). */
    private suspend fun awaitProvisioned(core: Jobpack): JobState {
        repeat(100) {
            core.syncUntilIdle(WAIT_MS.toULong())
            val state = core.job(JOB).state
            if (state !is JobState.OntScanned && state !is JobState.ProvisioningRetrying) return state
            delay(100)
        }
        return core.job(JOB).state
    }

    @Test
    fun todayListsPulledJobsAndTheBannerCountsWhatWaits(): Unit = runBlocking {
        Simulator.start("--jobs", "2").use { sim ->
            Jobpack.open(sim.config(dir.resolve("e.sqlite"))).use { core ->
                // The core's own loop may pull first; the engineer's pull waits until it is idle.
                val today = TodayPresenter(core)
                today.pull()
                val s = today.state.value
                assertEquals(listOf(JOB, OTHER_JOB), s.jobs.map { it.jobRef })
                assertTrue(s.jobs.all { it.state is JobState.Received && it.address.isNotEmpty() && it.appointmentDate.isNotEmpty() })
                assertTrue(s.banner.online)
                assertEquals(0L, s.banner.waiting)
                assertNull(s.problem)

                // Offline: an accepted job waits, and the banner says so.
                core.setOnline(false)
                core.accept(JOB)
                today.refresh()
                assertEquals(1L, today.state.value.banner.waiting)
                // The core publishes the switch from its sync loop: a moment later.
                withTimeout(WAIT_MS) {
                    while (today.state.value.banner.online) {
                        delay(20)
                        today.refresh()
                    }
                }
                today.pull(1_000)
                assertEquals("Offline", today.state.value.problem?.kind)
            }
        }
    }

    @Test
    fun theJobScreenOffersOnlyWhatTheCoreAllowsAndWaitsForALocation(): Unit = runBlocking {
        Simulator.start("--jobs", "1").use { sim ->
            Jobpack.open(sim.config(dir.resolve("e.sqlite"))).use { core ->
                core.syncUntilIdle(WAIT_MS.toULong())
                val job = JobPresenter(core, JOB)
                job.refresh()
                assertEquals(listOf(NextAction.ACCEPT), job.state.value.actions)
                assertTrue(job.state.value.job!!.pack.customer.name.isNotEmpty())

                // Arriving before travelling is refused by the core, and the screen says why.
                job.onLocation(leeds)
                job.arrive()
                assertEquals("NotAllowed", job.state.value.problem?.kind)

                job.accept()
                assertNull(job.state.value.problem)
                assertEquals(JobState.Assigned, job.state.value.job!!.state)
                assertEquals(NextAction.START_TRAVEL, job.state.value.actions.first())

                // Travel without a fix waits for one, then goes ahead with it.
                val fresh = JobPresenter(core, JOB).also { it.refresh() }
                fresh.startTravel()
                assertEquals(NextAction.START_TRAVEL, fresh.state.value.waitingForLocation)
                assertEquals(JobState.Assigned, fresh.state.value.job!!.state)
                fresh.onLocation(leeds)
                assertNull(fresh.state.value.waitingForLocation)
                assertEquals(JobState.EnRoute, fresh.state.value.job!!.state)
                fresh.arrive()
                assertEquals(JobState.OnSite, fresh.state.value.job!!.state)
                assertTrue(NextAction.SCAN_ONT in fresh.state.value.actions)
            }
        }
    }

    @Test
    fun scanFramesConfirmTheLabelAndAcceptingRecordsIt(): Unit = runBlocking {
        Simulator.start("--jobs", "2").use { sim ->
            Jobpack.open(sim.config(dir.resolve("e.sqlite"))).use { core ->
                core.syncUntilIdle(WAIT_MS.toULong())
                for (ref in listOf(JOB, OTHER_JOB)) {
                    core.accept(ref)
                    core.startTravel(ref, leeds, null)
                    core.arrive(ref, leeds, null)
                }
                val scan = ScanPresenter(core, JOB)
                assertTrue(scan.onFrame(labelFrame()))
                assertTrue("${scan.state.value.aim}", scan.state.value.aim is Aim.Steadying)
                scan.onFrame(labelFrame())
                val confirmed = scan.state.value.aim as Aim.Confirmed
                assertEquals(Fixtures.FSAN, confirmed.identity.fsan)
                assertEquals(Fixtures.SERIAL, confirmed.identity.serialNumber)
                assertFalse("a confirmed reading takes no more frames", scan.onFrame(labelFrame()))
                scan.accept()
                assertEquals(Fixtures.FSAN, scan.state.value.accepted?.fsan)
                // Recorded and queued; the core's own sync may already have CityFibre's answer.
                val recorded = core.job(JOB)
                assertEquals(Fixtures.FSAN, recorded.ont?.fsan)
                assertTrue("${recorded.state}", recorded.state !is JobState.OnSite)

                // The same ONT on the other job: the core warns before anything is sent.
                val other = ScanPresenter(core, OTHER_JOB)
                repeat(3) { other.onFrame(labelFrame()) }
                val duplicate = other.state.value.aim as Aim.Duplicate
                assertEquals(JOB, duplicate.otherJob)

                // Manual entry: two different typings are refused; a blank frame finds nothing.
                other.rescan()
                other.showManualEntry(true)
                other.enterManually("ALCLB443689D", "ALCLB443688D")
                assertEquals("ManualEntry", other.state.value.problem?.kind)
                other.rescan()
                val blank = lumaFrame(ByteBuffer.wrap(ByteArray(64 * 48) { 200.toByte() }), 64, 48, 64, 0)
                other.onFrame(blank)
                assertEquals(Aim.Searching, other.state.value.aim)
            }
        }
    }

    @Test
    fun questionsFollowTheFlowAndCloseOnlyWhenNothingIsMissing(): Unit = runBlocking {
        S3.start().use { s3 ->
            Simulator.start("--jobs", "1").use { sim ->
                Jobpack.open(sim.config(dir.resolve("e.sqlite"), photos = s3.storage())).use { core ->
                    core.syncUntilIdle(WAIT_MS.toULong())
                    core.accept(JOB)
                    core.startTravel(JOB, leeds, null)
                    core.arrive(JOB, leeds, null)

                    val visit = QuestionsPresenter(core, JOB, Journey.VISIT)
                    visit.refresh()
                    assertEquals("1100", visit.state.value.flow?.next?.code)
                    visit.answer("1100", "y")
                    assertEquals("Yes", visit.state.value.flow!!.answered.single().answer)
                    visit.sendVisitAnswers()
                    assertTrue(visit.state.value.visitSent)

                    val scan = ScanPresenter(core, JOB)
                    scan.onFrame(labelFrame())
                    scan.onFrame(labelFrame())
                    scan.accept()
                    assertTrue(awaitProvisioned(core) is JobState.Provisioned)

                    val closing = QuestionsPresenter(core, JOB, Journey.CLOSURE)
                    closing.refresh()
                    val sp = closing.state.value.choices.single { it.code == "SP" }
                    assertTrue(sp.ready)
                    assertTrue(closing.state.value.choices.any { it.code == "CON" && it.secondaryRequired })
                    closing.close("Installed")
                    assertEquals("Incomplete", closing.state.value.problem?.kind)
                    closing.pickClosure("SP")
                    assertTrue(closing.state.value.flow!!.gaps.any { it is Gap.UnansweredQuestion && it.questionCode == "2000" })

                    closing.answer("2000", "-99")
                    assertEquals("InvalidAnswer", closing.state.value.problem?.kind)
                    closing.answer("2000", "-19.25")
                    assertNull(closing.state.value.problem)
                    val photoQuestion = closing.state.value.flow!!.next!!
                    assertEquals("2100", photoQuestion.code)
                    assertEquals("Photograph the ONT on the wall", photoQuestion.help)
                    assertEquals(1u, photoQuestion.minPhotos)
                    closing.answer("2100", "yes")
                    assertTrue(closing.state.value.flow!!.gaps.any { it is Gap.MissingPhotos })
                    closing.attachPhoto("2100", Fixtures.photoJpeg())
                    assertFalse(closing.state.value.flow!!.gaps.any { it is Gap.MissingPhotos })
                    closing.answer("2400", "Pat Customer")
                    assertTrue("${closing.state.value.flow!!.gaps}", closing.state.value.flow!!.gaps.isEmpty())
                    closing.close("Installed and tested")
                    assertNull(closing.state.value.problem)
                    assertTrue(closing.state.value.closed)

                    core.syncUntilIdle(WAIT_MS.toULong())
                    val outbox = OutboxPresenter(core).also { it.refresh() }
                    assertEquals(0, outbox.state.value.waiting)
                    assertTrue(outbox.state.value.items.any { it.method == "closeJob" && it.state == ItemState.SENT })
                    assertEquals(1, s3.keys().size)
                }
            }
        }
    }

    @Test
    fun theOutboxDrainsOnReconnectAndParkedItemsAreResentOrDiscarded(): Unit = runBlocking {
        Simulator.start("--jobs", "2", "--reject-jobs", OTHER_JOB).use { sim ->
            Jobpack.open(sim.config(dir.resolve("e.sqlite"))).use { core ->
                core.syncUntilIdle(WAIT_MS.toULong())
                val outbox = OutboxPresenter(core)
                core.setOnline(false)
                val accepted = core.accept(JOB)
                outbox.refresh()
                assertEquals(1, outbox.state.value.waiting)
                assertEquals(ItemState.QUEUED, outbox.state.value.items.single().state)

                // Back online the core drains by itself: no sync call, the screen just refreshes.
                core.setOnline(true)
                withTimeout(WAIT_MS) {
                    while (outbox.state.value.waiting != 0) {
                        delay(50)
                        outbox.refresh()
                    }
                }
                assertEquals(ItemState.SENT, outbox.state.value.items.single { it.seq == accepted.outboxSeq }.state)

                // CityFibre refuses the other job's messages: parked with the server's reason.
                val rejected = core.accept(OTHER_JOB).outboxSeq!!
                core.syncUntilIdle(WAIT_MS.toULong())
                outbox.refresh()
                val parked = outbox.state.value.parked.single()
                assertEquals(rejected, parked.seq)
                assertNotNull(parked.parkedReason)
                outbox.resend(rejected)
                assertNull(outbox.state.value.problem)
                core.syncUntilIdle(WAIT_MS.toULong())
                outbox.refresh()
                assertEquals(ItemState.PARKED, outbox.state.value.parked.single().state)

                // Discard asks first; cancelling keeps the item.
                outbox.askDiscard(rejected)
                assertEquals(rejected, outbox.state.value.confirmingDiscard?.seq)
                outbox.cancelDiscard()
                assertNull(outbox.state.value.confirmingDiscard)
                outbox.askDiscard(rejected)
                outbox.confirmDiscard()
                assertNull(outbox.state.value.problem)
                assertEquals(ItemState.DISCARDED, outbox.state.value.items.single { it.seq == rejected }.state)
                assertEquals(0, outbox.state.value.waiting)
            }
        }
    }

    @Test
    fun aCancelledJobIsShownAsSuchAndOffersNothing(): Unit = runBlocking {
        Simulator.start("--jobs", "1").use { sim ->
            Jobpack.open(sim.config(dir.resolve("e.sqlite"))).use { core ->
                core.syncUntilIdle(WAIT_MS.toULong())
                val job = JobPresenter(core, JOB)
                job.accept()
                assertTrue(job.state.value.actions.isNotEmpty())
                sim.admin("cancelJob", """{"ref":"$JOB","reason":"Customer cancelled order"}""")
                core.syncUntilIdle(WAIT_MS.toULong())
                job.refresh()
                assertEquals(JobState.Cancelled, job.state.value.job!!.state)
                assertEquals("Customer cancelled order", job.state.value.cancelReason)
                assertTrue(job.state.value.actions.isEmpty())
                job.onLocation(leeds)
                job.startTravel()
                assertEquals("NotAllowed", job.state.value.problem?.kind)
            }
        }
    }

    @Test
    fun aRefusedCloseIsCorrectedFromTheOutboxAndSent(): Unit = runBlocking {
        Simulator.start("--jobs", "1", "--reject-closure-codes", "NA").use { sim ->
            Jobpack.open(sim.config(dir.resolve("e.sqlite"))).use { core ->
                core.syncUntilIdle(WAIT_MS.toULong())
                core.accept(JOB)
                core.startTravel(JOB, leeds, null)
                val closing = QuestionsPresenter(core, JOB, Journey.CLOSURE)
                closing.refresh()
                val na = closing.state.value.choices.single { it.code == "NA" }
                assertTrue(na.ready)
                closing.pickClosure("NA")
                assertTrue("${closing.state.value.flow?.gaps}", closing.state.value.flow!!.gaps.isEmpty())
                closing.close("No answer at the door")
                assertTrue(closing.state.value.closed)
                core.syncUntilIdle(WAIT_MS.toULong())

                val outbox = OutboxPresenter(core).also { it.refresh() }
                val parked = outbox.state.value.parked.single()
                assertEquals("closeJob", parked.method)
                assertTrue(parked.parkedReason!!, parked.parkedReason!!.contains("NA"))
                // A code outside the catalogue is refused with the core's reason.
                outbox.correctClose(parked.seq, "XYZ", null)
                assertEquals("InvalidCode", outbox.state.value.problem?.kind)
                outbox.correctClose(parked.seq, "RNA", null)
                assertNull(outbox.state.value.problem)
                core.syncUntilIdle(WAIT_MS.toULong())
                outbox.refresh()
                assertEquals(0, outbox.state.value.waiting)
                assertTrue(outbox.state.value.parked.isEmpty())
                assertEquals("RNA", core.job(JOB).closure?.code)
            }
        }
    }
}
