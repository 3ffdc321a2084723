// The app's few long-lived objects: the core handle and the strings. One core per process;
// it is opened off the main thread (JobpackApplication) and shared by every screen.
package uk.jobpack.android

import android.content.Context
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import uk.jobpack.android.ui.ResourceTexts
import uk.jobpack.android.ui.Texts
import uk.jobpack.core.Jobpack

object AppGraph {
    sealed interface Opening {
        data object InProgress : Opening
        data object NotConfigured : Opening
        data class Failed(val reason: String) : Opening
        data class Open(val core: Jobpack) : Opening
    }

    private val opening = MutableStateFlow<Opening>(Opening.InProgress)

    /** Where opening the core stands; the first screen waits on it. */
    val state: StateFlow<Opening> = opening

    @Volatile
    private var core: Jobpack? = null

    /** Only while still opening: a core installed meanwhile wins. */
    fun notConfigured() {
        opening.compareAndSet(Opening.InProgress, Opening.NotConfigured)
    }

    fun failed(reason: String) {
        opening.compareAndSet(Opening.InProgress, Opening.Failed(reason))
    }

    @Volatile
    var texts: Texts? = null

    /** Installs the opened core (the application after provisioning; tests directly). */
    fun install(opened: Jobpack) {
        core = opened
        opening.value = Opening.Open(opened)
    }

    fun coreOrNull(): Jobpack? = core

    fun core(): Jobpack = core ?: error("the core is not open yet")

    fun texts(context: Context): Texts = texts ?: ResourceTexts(context.applicationContext).also { texts = it }

    /** Forgets the core (tests; the process ending closes it otherwise). */
    fun reset() {
        core = null
        opening.value = Opening.InProgress
    }
}
