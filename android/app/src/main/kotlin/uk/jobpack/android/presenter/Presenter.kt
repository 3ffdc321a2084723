// The presenters' common ground: screen state as a StateFlow, the core's refusals as state.
//
// Presenters are plain Kotlin (no android.* import; PresenterPurityTest checks it): they call
// the generated bindings and hold what a screen draws. Every rule is the core's: a presenter
// only asks (next actions, flow view, gaps, closure choices) and forwards (taps, frames,
// locations). Calls into the core are suspend functions that run on the core's own runtime,
// so a presenter called from the main thread never blocks it.
package uk.jobpack.android.presenter

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import uk.jobpack.core.Event
import uk.jobpack.core.Jobpack
import uk.jobpack.core.JobpackException
import uk.jobpack.core.events

/** What went wrong on the last tap, as the core said it (shown on the screen, never dropped). */
data class Problem(val kind: String, val message: String) {
    companion object {
        fun of(e: JobpackException): Problem = Problem(e::class.simpleName ?: "Error", e.message ?: e.toString())
    }
}

abstract class Presenter<S>(initial: S) {
    private val mutable = MutableStateFlow(initial)

    /** The screen's state; the view redraws on every value. */
    val state: StateFlow<S> = mutable.asStateFlow()

    protected fun set(transform: (S) -> S) = mutable.update(transform)

    /** Re-reads what the screen shows from the core. */
    abstract suspend fun refresh()

    /**
     * Refreshes whenever the core reports a change that [matters], until [scope] ends. The
     * first refresh runs at once.
     */
    fun start(core: Jobpack, scope: CoroutineScope, matters: (Event) -> Boolean = { true }): Job = scope.launch {
        refresh()
        core.events().collect { if (it is Event.Lagged || matters(it)) refresh() }
    }
}

/** Runs a core call; a refusal becomes a [Problem] for the screen instead of an exception. */
internal suspend fun <T> attempt(report: (Problem) -> Unit, call: suspend () -> T): T? =
    try {
        call()
    } catch (e: JobpackException) {
        report(Problem.of(e))
        null
    }
