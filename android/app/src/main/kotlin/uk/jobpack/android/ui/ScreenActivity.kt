// What every screen shares: one Activity per screen, views built in code (the JVM build has
// no aapt2 to compile layouts), redrawn from the presenter's state on the main thread.
//
// Taps launch coroutines on the main dispatcher; the presenter's calls suspend on the core's
// runtime, so nothing here blocks the main thread. Inputs survive redraws (they are kept by
// tag), so an event from the core while the engineer types loses nothing.
package uk.jobpack.android.ui

import android.app.Activity
import android.graphics.Color
import android.graphics.Typeface
import android.os.Bundle
import android.text.InputType
import android.view.View
import android.view.ViewGroup
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import uk.jobpack.android.AppGraph
import uk.jobpack.android.presenter.Presenter
import uk.jobpack.android.presenter.Problem
import uk.jobpack.core.Event
import uk.jobpack.core.Jobpack

abstract class ScreenActivity<S> : Activity() {
    protected val scope = CoroutineScope(SupervisorJob() + Dispatchers.Main.immediate)
    protected lateinit var column: LinearLayout
    protected val core: Jobpack get() = AppGraph.core()
    protected val texts: Texts get() = AppGraph.texts(this)
    private val inputs = mutableMapOf<String, EditText>()

    /** The state last drawn (tests and screenshots read it). */
    @Volatile
    var drawn: S? = null
        private set

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        column = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(32, 32, 32, 32)
        }
        setContentView(ScrollView(this).apply { addView(column) })
    }

    /** Draws every state of [presenter] and keeps it fresh from the core's events. */
    protected fun <P : Presenter<S>> show(presenter: P, matters: (Event) -> Boolean) {
        presenter.start(core, scope, matters)
        scope.launch {
            presenter.state.collect {
                column.removeAllViews()
                render(it)
                drawn = it
            }
        }
    }

    abstract fun render(state: S)

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    protected fun title(text: String) = label(text, size = 22f, bold = true)

    protected fun label(text: String, tag: String? = null, size: Float = 16f, bold: Boolean = false, color: Int? = null): TextView =
        TextView(this).apply {
            this.text = text
            textSize = size
            if (bold) setTypeface(typeface, Typeface.BOLD)
            color?.let { setTextColor(it) }
            setPadding(0, 8, 0, 8)
            this.tag = tag
            column.addView(this)
        }

    protected fun problem(problem: Problem?) {
        problem?.let { label(texts["problem", it.message], tag = "problem", color = Color.rgb(0xb0, 0, 0)) }
    }

    protected fun button(text: String, tag: String, enabled: Boolean = true, onTap: suspend () -> Unit): Button =
        Button(this).apply {
            this.text = text
            this.tag = tag
            isEnabled = enabled
            setOnClickListener { scope.launch { onTap() } }
            column.addView(this)
        }

    /** A text field kept across redraws, so what the engineer typed stays. */
    protected fun input(tag: String, hint: String, type: Int = InputType.TYPE_CLASS_TEXT): EditText {
        val field = inputs.getOrPut(tag) {
            EditText(this).apply {
                this.tag = tag
                this.hint = hint
                inputType = type
            }
        }
        (field.parent as? ViewGroup)?.removeView(field)
        column.addView(field)
        return field
    }

    protected fun divider() = column.addView(View(this).apply {
        setBackgroundColor(Color.LTGRAY)
        layoutParams = LinearLayout.LayoutParams(ViewGroup.LayoutParams.MATCH_PARENT, 2)
    })
}
