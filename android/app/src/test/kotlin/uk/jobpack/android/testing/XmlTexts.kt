// The app's strings.xml read directly, for the JVM build (no aapt2 to compile resources).
// Android's escapes (\' \" \n and @string references are not used in the file) are undone.
package uk.jobpack.android.testing

import java.io.File
import javax.xml.parsers.DocumentBuilderFactory
import org.w3c.dom.Element
import uk.jobpack.android.ui.Texts

class XmlTexts(file: File) : Texts {
    private val strings: Map<String, String>

    init {
        val document = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file)
        val nodes = document.getElementsByTagName("string")
        strings = (0 until nodes.length).associate { i ->
            val e = nodes.item(i) as Element
            e.getAttribute("name") to e.textContent.replace("\\'", "'").replace("\\\"", "\"").replace("\\n", "\n")
        }
    }

    val names: Set<String> get() = strings.keys

    override fun text(name: String, args: Array<out Any?>): String {
        val pattern = strings[name] ?: error("no string resource named $name")
        return if (args.isEmpty()) pattern else String.format(pattern, *args)
    }

    companion object {
        fun app(): XmlTexts {
            val res = System.getProperty("jobpack.res") ?: error("jobpack.res is not set (see android/pom.xml)")
            return XmlTexts(File(res, "values/strings.xml"))
        }
    }
}
