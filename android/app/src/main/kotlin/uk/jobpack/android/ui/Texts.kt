// Strings by name from res/values/strings.xml.
//
// The views ask for a string by its resource name (`texts["job_title", ref]`). In the app the
// name resolves through the compiled resources (Resources.getIdentifier, then getString). The
// JVM build has no aapt2 to compile res/ (see docs/QA-ANDROID.md), so its tests install a
// Texts that reads the same strings.xml; either way no sentence is written in Kotlin.
package uk.jobpack.android.ui

import android.content.Context

fun interface Texts {
    fun text(name: String, args: Array<out Any?>): String

    operator fun get(name: String, vararg args: Any?): String = text(name, args)
}

/** The app's compiled string resources. */
class ResourceTexts(private val context: Context) : Texts {
    override fun text(name: String, args: Array<out Any?>): String {
        val id = context.resources.getIdentifier(name, "string", context.packageName)
        require(id != 0) { "no string resource named $name" }
        return if (args.isEmpty()) context.getString(id) else context.getString(id, *args)
    }
}
