// Driving the screens in Robolectric: find views by tag, tap them, and wait (bounded) until a
// screen has drawn what the core answered. The core works on its own threads; its answers
// reach the views through the main looper, which the waits run.
package uk.jobpack.android.testing

import android.app.Activity
import android.os.Looper
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.TextView
import org.robolectric.Shadows.shadowOf

const val UI_WAIT_MS = 60_000L

/** Runs the main looper until [condition] holds; fails after [UI_WAIT_MS] with [what]. */
fun awaitUi(what: String, condition: () -> Boolean) {
    val deadline = System.nanoTime() + UI_WAIT_MS * 1_000_000
    while (true) {
        shadowOf(Looper.getMainLooper()).idle()
        if (condition()) return
        check(System.nanoTime() < deadline) { "timed out waiting for: $what" }
        Thread.sleep(20)
    }
}

fun Activity.viewOrNull(tag: String): View? = window.decorView.findViewWithTag(tag)

fun Activity.textOf(tag: String): String? = (viewOrNull(tag) as? TextView)?.text?.toString()

/** Waits for the button [tag] to be drawn and enabled, then taps it. */
fun Activity.tap(tag: String) {
    awaitUi("button $tag on ${this::class.simpleName}") { (viewOrNull(tag) as? Button)?.isEnabled == true }
    (viewOrNull(tag) as Button).performClick()
    shadowOf(Looper.getMainLooper()).idle()
}

fun Activity.type(tag: String, text: String) {
    awaitUi("field $tag") { viewOrNull(tag) is EditText }
    (viewOrNull(tag) as EditText).setText(text)
}
