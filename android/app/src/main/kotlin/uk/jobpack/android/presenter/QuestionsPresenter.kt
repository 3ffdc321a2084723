// Questions: the closure flow as the core lays it out — the answered questions, the next one
// with its answer type and help, photos, the gaps before close, and the closure pickers.
package uk.jobpack.android.presenter

import uk.jobpack.core.ClosureChoice
import uk.jobpack.core.Event
import uk.jobpack.core.FlowView
import uk.jobpack.core.Jobpack
import uk.jobpack.core.JobState
import uk.jobpack.core.Journey

data class QuestionsScreen(
    val journey: Journey = Journey.VISIT,
    val flow: FlowView? = null,
    /** The closure codes usable now, with their secondary codes (closure journey). */
    val choices: List<ClosureChoice> = emptyList(),
    val closureCode: String? = null,
    val secondaryCode: String? = null,
    val visitSent: Boolean = false,
    val closed: Boolean = false,
    val problem: Problem? = null,
)

class QuestionsPresenter(
    private val core: Jobpack,
    val jobRef: String,
    journey: Journey,
) : Presenter<QuestionsScreen>(QuestionsScreen(journey = journey)) {
    fun matters(event: Event) = when (event) {
        is Event.JobChanged -> event.jobRef == jobRef
        is Event.OutboxItemChanged -> event.jobRef == jobRef
        else -> false
    }

    override suspend fun refresh() {
        val s = state.value
        val report = { p: Problem -> set { it.copy(problem = p) } }
        val flow = attempt(report) { core.flow(jobRef, s.journey, s.closureCode, s.secondaryCode) } ?: return
        val choices = if (s.journey == Journey.CLOSURE) attempt(report) { core.closureChoices(jobRef) } ?: return else emptyList()
        val closed = attempt(report) { core.job(jobRef).state } is JobState.Closed
        set { it.copy(flow = flow, choices = choices, closed = closed) }
    }

    suspend fun pickClosure(code: String?) {
        set { it.copy(closureCode = code, secondaryCode = null) }
        refresh()
    }

    suspend fun pickSecondary(code: String?) {
        set { it.copy(secondaryCode = code) }
        refresh()
    }

    /** An answer as typed or picked; the core normalises it ("y" → "Yes") or refuses it. */
    suspend fun answer(questionCode: String, value: String) = act {
        core.answerQuestion(jobRef, state.value.journey, questionCode, value, null)
    }

    suspend fun clear(questionCode: String) = act { core.clearAnswer(jobRef, state.value.journey, questionCode) }

    /** Camera bytes (JPEG) for a question; the core prepares the photo and queues its upload. */
    suspend fun attachPhoto(questionCode: String, jpeg: ByteArray) = act {
        core.attachPhoto(jobRef, state.value.journey, questionCode, jpeg)
    }

    suspend fun removePhoto(photoId: Long) = act { core.removePhoto(jobRef, photoId) }

    suspend fun sendVisitAnswers() = act {
        core.sendVisitAnswers(jobRef)
        set { it.copy(visitSent = true) }
    }

    /** Closes with the picked codes; the core refuses with every gap when something is missing. */
    suspend fun close(description: String) = act {
        val s = state.value
        core.closeJob(jobRef, s.closureCode ?: "", s.secondaryCode, description, null)
    }

    private suspend fun act(call: suspend () -> Any) {
        set { it.copy(problem = null) }
        attempt({ p -> set { it.copy(problem = p) } }, call)
        refresh()
    }
}
