// Outbox: every item with its state, attempts, next attempt and last error; parked items with
// the server's reason, and the engineer's remedies (fix a parked close, resend, discard).
package uk.jobpack.android.presenter

import uk.jobpack.core.Event
import uk.jobpack.core.ItemState
import uk.jobpack.core.Jobpack
import uk.jobpack.core.OutboxCounts
import uk.jobpack.core.OutboxItem
import uk.jobpack.core.SyncStatus

data class OutboxScreen(
    val items: List<OutboxItem> = emptyList(),
    /** The open items as the core counts them now. */
    val counts: OutboxCounts? = null,
    val status: SyncStatus? = null,
    /** The item whose discard waits for the engineer's confirmation. */
    val confirmingDiscard: OutboxItem? = null,
    val problem: Problem? = null,
) {
    /** Open items that are not refused: deliverable now, or held behind a refused one. */
    val waiting: Int get() = counts?.let { (it.pending + it.blocked).toInt() } ?: 0
    val parked: List<OutboxItem> get() = items.filter { it.state == ItemState.PARKED }
}

class OutboxPresenter(private val core: Jobpack) : Presenter<OutboxScreen>(OutboxScreen()) {
    fun matters(event: Event) = event is Event.OutboxItemChanged || event is Event.SyncStateChanged

    override suspend fun refresh() {
        val report = { p: Problem -> set { it.copy(problem = p) } }
        val items = attempt(report) { core.outbox(null) } ?: return
        val counts = attempt(report) { core.outboxCounts() } ?: return
        set { it.copy(items = items, counts = counts, status = core.status()) }
    }

    suspend fun resend(seq: Long) = act { core.resend(seq) }

    /** First tap: ask. The discard itself needs [confirmDiscard]. */
    fun askDiscard(seq: Long) = set { s -> s.copy(confirmingDiscard = s.items.firstOrNull { it.seq == seq }) }

    fun cancelDiscard() = set { it.copy(confirmingDiscard = null) }

    /** The confirmation carries the item's idempotency key, so a stale dialog discards nothing. */
    suspend fun confirmDiscard() {
        val item = state.value.confirmingDiscard ?: return
        set { it.copy(confirmingDiscard = null) }
        act { core.discard(item.seq, item.idempotencyKey) }
    }

    /** A parked closeJob corrected with other codes, then sent again. */
    suspend fun correctClose(seq: Long, closureCode: String, secondaryCode: String?) = act {
        core.correctParkedClose(seq, closureCode, secondaryCode)
    }

    private suspend fun act(call: suspend () -> Any) {
        set { it.copy(problem = null) }
        attempt({ p -> set { it.copy(problem = p) } }, call)
        refresh()
    }
}
