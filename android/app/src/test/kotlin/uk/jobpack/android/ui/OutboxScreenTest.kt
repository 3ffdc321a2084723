// The outbox screen's remedies for a refused message, tapped: resend, then discard only after
// the confirmation row.
package uk.jobpack.android.ui

import java.nio.file.Files
import java.nio.file.Path
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.annotation.Config
import uk.jobpack.android.AppGraph
import uk.jobpack.android.testing.OTHER_JOB
import uk.jobpack.android.testing.Simulator
import uk.jobpack.android.testing.WAIT_MS
import uk.jobpack.android.testing.XmlTexts
import uk.jobpack.android.testing.awaitUi
import uk.jobpack.android.testing.tap
import uk.jobpack.android.testing.textOf
import uk.jobpack.android.testing.viewOrNull
import uk.jobpack.core.ItemState
import uk.jobpack.core.Jobpack

@RunWith(RobolectricTestRunner::class)
@Config(sdk = [35])
class OutboxScreenTest {
    private lateinit var dir: Path

    @Before
    fun setUp() {
        dir = Files.createTempDirectory("jobpack-android-outbox")
        AppGraph.texts = XmlTexts.app()
    }

    @After
    fun tearDown() {
        AppGraph.reset()
        dir.toFile().deleteRecursively()
    }

    @Test
    fun aRefusedMessageIsResentOrDiscardedAfterConfirmation() {
        Simulator.start("--jobs", "2", "--reject-jobs", OTHER_JOB).use { sim ->
            Jobpack.open(sim.config(dir.resolve("e.sqlite"))).use { core ->
                AppGraph.install(core)
                val seq = runBlocking {
                    core.syncUntilIdle(WAIT_MS.toULong())
                    core.accept(OTHER_JOB).outboxSeq!!.also { core.syncUntilIdle(WAIT_MS.toULong()) }
                }
                val outbox = Robolectric.buildActivity(OutboxActivity::class.java).setup().get()
                awaitUi("the refused item") { outbox.drawn?.parked?.singleOrNull()?.seq == seq }
                assertTrue(outbox.textOf("parked_$seq")!!.contains("reject"))
                assertEquals(XmlTexts.app()["outbox_summary", 0, 1], outbox.textOf("outbox_summary"))

                outbox.tap("resend_$seq")
                runBlocking { core.syncUntilIdle(WAIT_MS.toULong()) }
                awaitUi("refused again") { outbox.drawn?.parked?.singleOrNull()?.attempts?.let { it >= 2u } == true }

                outbox.tap("discard_$seq")
                awaitUi("the confirmation") { outbox.viewOrNull("discard_yes_$seq") != null }
                outbox.tap("discard_no_$seq")
                awaitUi("kept") { outbox.viewOrNull("discard_$seq") != null }
                assertEquals(ItemState.PARKED, outbox.drawn!!.parked.single().state)

                outbox.tap("discard_$seq")
                outbox.tap("discard_yes_$seq")
                awaitUi("discarded") { outbox.drawn?.items?.single { it.seq == seq }?.state == ItemState.DISCARDED }
                assertNull(outbox.drawn!!.problem)
                assertEquals(XmlTexts.app()["outbox_summary", 0, 0], outbox.textOf("outbox_summary"))
            }
        }
    }
}
