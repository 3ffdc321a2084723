// Scan: camera frames into the core's scan session, the confirmed FSAN and serial to accept,
// the duplicate-device warning, and manual entry typed twice.
//
// Frames arrive on the camera's thread, faster than a phone can decode them: one frame is
// decoded at a time and the others are dropped (the next one is as good), so the camera never
// queues up and the main thread never decodes.
package uk.jobpack.android.presenter

import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import uk.jobpack.core.CameraFrame
import uk.jobpack.core.Jobpack
import uk.jobpack.core.JobpackException
import uk.jobpack.core.OntIdentity
import uk.jobpack.core.ScanProgress

sealed interface Aim {
    /** No code in view yet. */
    data object Searching : Aim

    /** A code that is not an ONT label (a box barcode, a URL). */
    data class NotALabel(val reason: String) : Aim

    /** The label was read; the core waits for agreeing frames. */
    data class Steadying(val count: Int) : Aim

    /** Read and agreed: the engineer accepts it (or rescans). */
    data class Confirmed(val identity: OntIdentity) : Aim

    /** Read and agreed, but the label does not say which value is the maker's serial: the
     *  engineer picks one of [candidates] (the core decides what counts as a candidate). */
    data class ChooseSerial(val identity: OntIdentity, val candidates: List<String>) : Aim

    /** This ONT is already on another job of the device: CityFibre would refuse it (status 7). */
    data class Duplicate(val identity: OntIdentity, val otherJob: String) : Aim
}

data class ScanScreen(
    val aim: Aim = Aim.Searching,
    val frames: Int = 0,
    val manual: Boolean = false,
    /** Accepted and recorded: the screen can close. */
    val accepted: OntIdentity? = null,
    val problem: Problem? = null,
)

class ScanPresenter(private val core: Jobpack, val jobRef: String) : Presenter<ScanScreen>(ScanScreen()) {
    private val session = core.scanSession(jobRef)
    private val busy = AtomicBoolean(false)

    override suspend fun refresh() {}

    /**
     * One camera frame (call from the camera thread). Returns false when the frame was dropped
     * because the previous one is still being decoded or a reading is already confirmed (or refused as a duplicate).
     */
    fun onFrame(frame: CameraFrame): Boolean {
        val aim = state.value.aim
        if (aim is Aim.Confirmed || aim is Aim.ChooseSerial || aim is Aim.Duplicate || state.value.accepted != null) return false
        if (!busy.compareAndSet(false, true)) return false
        try {
            val progress = session.feed(frame)
            set { it.copy(aim = aim(progress, it.aim), frames = it.frames + 1) }
        } catch (e: JobpackException) {
            set { it.copy(problem = Problem.of(e)) }
        } finally {
            busy.set(false)
        }
        return true
    }

    private fun aim(progress: ScanProgress, previous: Aim): Aim = when (progress) {
        is ScanProgress.Nothing -> if (previous is Aim.Steadying) previous else Aim.Searching
        is ScanProgress.NotOntLabel -> Aim.NotALabel(progress.reason)
        is ScanProgress.SeenOnce -> Aim.Steadying(progress.count.toInt())
        is ScanProgress.Confirmed -> Aim.Confirmed(progress.identity)
        is ScanProgress.Duplicate -> Aim.Duplicate(progress.identity, progress.otherJob)
        is ScanProgress.ChooseSerial -> Aim.ChooseSerial(progress.identity, progress.candidates)
    }

    /** The engineer's pick after [Aim.ChooseSerial]; the core confirms it (or reports a duplicate). */
    fun chooseSerial(serial: String) {
        try {
            val progress = session.chooseSerial(serial)
            set { it.copy(aim = aim(progress, it.aim), problem = null) }
        } catch (e: JobpackException) {
            set { it.copy(problem = Problem.of(e)) }
        }
    }

    /** Starts over (a wrong label, or after a duplicate warning). */
    fun rescan() {
        session.reset()
        set { ScanScreen(manual = it.manual) }
    }

    fun showManualEntry(show: Boolean) = set { it.copy(manual = show, problem = null) }

    /**
     * The label typed twice; the core checks both agree and parse as an ONT label, and looks
     * for the ONT on other jobs (a database read: off the caller's thread).
     */
    suspend fun enterManually(first: String, second: String) {
        try {
            val identity = withContext(Dispatchers.Default) { core.enterOntManually(jobRef, first, second) }
            set { it.copy(aim = Aim.Confirmed(identity), problem = null) }
        } catch (e: JobpackException) {
            set { it.copy(problem = Problem.of(e)) }
        }
    }

    /** Records the confirmed ONT on the job (queued for CityFibre). */
    suspend fun accept() {
        val identity = (state.value.aim as? Aim.Confirmed)?.identity ?: return
        set { it.copy(problem = null) }
        val serial = identity.serialNumber ?: ""
        attempt({ p -> set { it.copy(problem = p) } }) {
            core.confirmOnt(jobRef, identity.fsan, serial, null)
            set { it.copy(accepted = identity) }
        }
    }
}
