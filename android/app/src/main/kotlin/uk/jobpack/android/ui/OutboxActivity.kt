// Outbox: every item with its state, attempts, next attempt and last error; refused (parked)
// items with the server's reason, fix (a parked close), resend, and discard with confirmation.
package uk.jobpack.android.ui

import android.graphics.Color
import android.os.Bundle
import uk.jobpack.android.presenter.OutboxPresenter
import uk.jobpack.android.presenter.OutboxScreen
import uk.jobpack.core.ItemState

class OutboxActivity : ScreenActivity<OutboxScreen>() {
    lateinit var presenter: OutboxPresenter
        private set

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        presenter = OutboxPresenter(core)
        show(presenter, presenter::matters)
    }

    override fun render(state: OutboxScreen) {
        title(texts["outbox_title"])
        label(texts["outbox_summary", state.waiting, state.parked.size], tag = "outbox_summary", bold = true)
        state.status?.let { label(texts[if (it.online) "banner_online" else "banner_offline"], tag = "outbox_connectivity") }
        problem(state.problem)
        if (state.items.isEmpty()) label(texts["outbox_empty"])
        for (item in state.items.reversed()) {
            divider()
            val parked = item.state == ItemState.PARKED
            label(
                texts["outbox_item", item.seq, item.method, item.label, texts.item(item.state), item.attempts.toInt()],
                tag = "item_${item.seq}",
                bold = parked,
                color = if (parked) Color.RED else null,
            )
            item.nextAttemptAt?.let { label(texts["outbox_next", time(it)], size = 12f) }
            item.lastError?.let { label(texts["outbox_error", it], size = 12f) }
            if (!parked) continue
            label(texts["outbox_parked", item.parkedReason ?: ""], tag = "parked_${item.seq}", color = Color.RED)
            if (state.confirmingDiscard?.seq == item.seq) {
                label(texts["outbox_discard_confirm", item.seq], bold = true)
                button(texts["outbox_discard_yes"], "discard_yes_${item.seq}") { presenter.confirmDiscard() }
                button(texts["outbox_discard_no"], "discard_no_${item.seq}") { presenter.cancelDiscard() }
                continue
            }
            button(texts["outbox_resend"], "resend_${item.seq}") { presenter.resend(item.seq) }
            button(texts["outbox_discard"], "discard_${item.seq}") { presenter.askDiscard(item.seq) }
            if (item.method == "closeJob") {
                val code = input("fix_code_${item.seq}", texts["outbox_fix_code"])
                val secondary = input("fix_secondary_${item.seq}", texts["outbox_fix_secondary"])
                button(texts["outbox_fix"], "fix_${item.seq}") {
                    presenter.correctClose(item.seq, code.text.toString().trim(), secondary.text.toString().trim().ifEmpty { null })
                }
            }
        }
    }
}
