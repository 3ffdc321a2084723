// Questions: the closure flow drawn from the core's flow view — answered questions, the next
// one with its help and answer type, photos from the camera, the gaps before close, and the
// closure / secondary code pickers from the catalogue. Visit questions use the same screen.
package uk.jobpack.android.ui

import android.content.Intent
import android.graphics.Color
import android.os.Bundle
import android.provider.MediaStore
import android.text.InputType
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import uk.jobpack.android.platform.PhotoFiles
import uk.jobpack.android.presenter.QuestionsPresenter
import uk.jobpack.android.presenter.QuestionsScreen
import uk.jobpack.core.AnswerType
import uk.jobpack.core.Journey
import uk.jobpack.core.Question

class QuestionsActivity : ScreenActivity<QuestionsScreen>() {
    companion object {
        const val JOURNEY = "uk.jobpack.android.JOURNEY"
        const val TAKE_PHOTO = 7
    }

    lateinit var presenter: QuestionsPresenter
        private set

    /** The question and file of the photo the camera app is taking now. */
    var pendingPhoto: Pair<String, File>? = null
        private set

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val ref = intent.getStringExtra(JobActivity.JOB_REF) ?: return finish()
        val journey = intent.getStringExtra(JOURNEY)?.let { Journey.valueOf(it) } ?: Journey.VISIT
        presenter = QuestionsPresenter(core, ref, journey)
        show(presenter, presenter::matters)
    }

    override fun render(state: QuestionsScreen) {
        val closure = state.journey == Journey.CLOSURE
        title(texts[if (closure) "questions_closure_title" else "questions_visit_title"])
        if (state.closed) {
            label(texts["questions_closed"], tag = "questions_closed", bold = true)
            return
        }
        problem(state.problem)
        if (closure) pickers(state)
        val flow = state.flow ?: return
        for (q in flow.answered) {
            label(texts["questions_answered", q.text, q.answer ?: ""], tag = "answered_${q.code}")
            photos(q)
        }
        flow.next?.let { next(it) }
        if (flow.gaps.isNotEmpty()) {
            divider()
            label(texts["questions_gaps"], bold = true)
            flow.gaps.forEachIndexed { i, g -> label(texts.gap(g), tag = "gap_$i", color = Color.rgb(0xb0, 0x40, 0)) }
        }
        divider()
        if (closure) {
            val description = input("description", texts["questions_description"])
            button(texts["questions_close"], "close_job") { presenter.close(description.text.toString()) }
        } else if (state.visitSent) {
            label(texts["questions_visit_sent"], tag = "visit_sent")
        } else {
            button(texts["questions_send_visit"], "send_visit") { presenter.sendVisitAnswers() }
        }
    }

    private fun pickers(state: QuestionsScreen) {
        label(texts["questions_closure_code"], bold = true)
        for (c in state.choices) {
            val text = texts[if (c.ready) "questions_code_choice" else "questions_code_not_ready", c.code, c.description]
            button(if (c.code == state.closureCode) "✔ $text" else text, "closure_${c.code}", enabled = c.ready) { presenter.pickClosure(c.code) }
        }
        val picked = state.choices.firstOrNull { it.code == state.closureCode } ?: return
        if (picked.secondary.isEmpty()) return
        label(texts["questions_secondary_code"], bold = true)
        for (s in picked.secondary) {
            val text = texts["questions_code_choice", s.code, s.description]
            button(if (s.code == state.secondaryCode) "✔ $text" else text, "secondary_${s.code}") { presenter.pickSecondary(s.code) }
        }
    }

    private fun next(q: Question) {
        divider()
        label(q.text, tag = "next_question", bold = true)
        q.help?.let { label(it, tag = "next_help", size = 13f) }
        label(texts["questions_expects", q.expects], size = 13f)
        when (val type = q.answerType) {
            AnswerType.YesNo -> {
                button(texts["questions_yes"], "answer_yes") { presenter.answer(q.code, "yes") }
                button(texts["questions_no"], "answer_no") { presenter.answer(q.code, "no") }
            }
            is AnswerType.SingleChoice -> type.choices.forEachIndexed { i, choice ->
                button(choice, "choice_$i") { presenter.answer(q.code, choice) }
            }
            else -> {
                val kind = when (type) {
                    is AnswerType.Number -> InputType.TYPE_CLASS_NUMBER or InputType.TYPE_NUMBER_FLAG_DECIMAL or InputType.TYPE_NUMBER_FLAG_SIGNED
                    AnswerType.Time -> InputType.TYPE_CLASS_DATETIME or InputType.TYPE_DATETIME_VARIATION_TIME
                    AnswerType.Date -> InputType.TYPE_CLASS_DATETIME or InputType.TYPE_DATETIME_VARIATION_DATE
                    else -> InputType.TYPE_CLASS_TEXT
                }
                val field = input("answer_${q.code}", q.expects, kind)
                button(texts["questions_save"], "answer_save") { presenter.answer(q.code, field.text.toString()) }
            }
        }
        photos(q)
    }

    private fun photos(q: Question) {
        if (q.minPhotos == 0u && q.photos.isEmpty()) return
        label(texts["questions_photos", q.photos.size, q.minPhotos.toInt()], tag = "photos_${q.code}", size = 13f)
        q.photoHint?.let { label(texts["questions_photo_hint", it], size = 13f) }
        button(texts["questions_take_photo"], "photo_${q.code}") { takePhoto(q.code) }
    }

    /** The camera app writes the photo into a file this app serves (PhotoFiles). */
    private fun takePhoto(questionCode: String) {
        val file = PhotoFiles.newFile(this)
        pendingPhoto = questionCode to file
        val intent = Intent(MediaStore.ACTION_IMAGE_CAPTURE)
            .putExtra(MediaStore.EXTRA_OUTPUT, PhotoFiles.uri(this, file))
            .addFlags(Intent.FLAG_GRANT_WRITE_URI_PERMISSION)
        startActivityForResult(intent, TAKE_PHOTO)
    }

    @Deprecated("Activity result API of the platform (no androidx.activity here)")
    override fun onActivityResult(requestCode: Int, resultCode: Int, data: Intent?) {
        val (code, file) = pendingPhoto ?: return
        pendingPhoto = null
        if (requestCode != TAKE_PHOTO || resultCode != RESULT_OK) return
        scope.launch {
            // Reading the file is I/O: off the main thread. The core copies the bytes it keeps.
            val bytes = withContext(Dispatchers.IO) { file.readBytes().also { file.delete() } }
            presenter.attachPhoto(code, bytes)
        }
    }
}
