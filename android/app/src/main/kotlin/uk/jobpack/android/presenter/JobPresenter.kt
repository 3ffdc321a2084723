// Job: one job's details and the buttons the core says are legal now.
package uk.jobpack.android.presenter

import uk.jobpack.core.Event
import uk.jobpack.core.JobView
import uk.jobpack.core.Jobpack
import uk.jobpack.core.Location
import uk.jobpack.core.NextAction

data class JobScreen(
    val job: JobView? = null,
    val actions: List<NextAction> = emptyList(),
    /** The last fix from the platform (LocationManager), with its accuracy in metres. */
    val location: Location? = null,
    /** CityFibre's cancellation reason, when the job was cancelled. */
    val cancelReason: String? = null,
    /** A travel or arrival tap waiting for a location fix. */
    val waitingForLocation: NextAction? = null,
    val problem: Problem? = null,
)

class JobPresenter(private val core: Jobpack, val jobRef: String) : Presenter<JobScreen>(JobScreen()) {
    fun matters(event: Event) = when (event) {
        is Event.JobChanged -> event.jobRef == jobRef
        else -> false
    }

    override suspend fun refresh() {
        val report = { p: Problem -> set { it.copy(problem = p) } }
        val job = attempt(report) { core.job(jobRef) } ?: return
        val actions = attempt(report) { core.nextActions(jobRef) } ?: return
        set { it.copy(job = job, actions = actions, cancelReason = job.cancelReason) }
    }

    /** A location fix from the platform; a tap that waited for one goes ahead now. */
    suspend fun onLocation(location: Location) {
        set { it.copy(location = location) }
        when (state.value.waitingForLocation) {
            NextAction.START_TRAVEL -> startTravel()
            NextAction.ARRIVE -> arrive()
            else -> {}
        }
    }

    suspend fun accept() = act { core.accept(jobRef) }

    suspend fun startTravel() = located(NextAction.START_TRAVEL) { core.startTravel(jobRef, it, null) }

    suspend fun arrive() = located(NextAction.ARRIVE) { core.arrive(jobRef, it, null) }

    private suspend fun located(action: NextAction, call: suspend (Location) -> Any) {
        val here = state.value.location
        if (here == null) {
            set { it.copy(waitingForLocation = action) }
            return
        }
        set { it.copy(waitingForLocation = null) }
        act { call(here) }
    }

    private suspend fun act(call: suspend () -> Any) {
        set { it.copy(problem = null) }
        attempt({ p -> set { it.copy(problem = p) } }, call)
        refresh()
    }
}
