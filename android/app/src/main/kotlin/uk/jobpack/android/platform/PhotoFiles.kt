// Where the camera app writes a photo: a file in the app's cache, served to the camera app
// through this app's own ContentProvider (a file:// URI is refused since Android 7).
package uk.jobpack.android.platform

import android.content.ContentProvider
import android.content.ContentValues
import android.content.Context
import android.database.Cursor
import android.net.Uri
import android.os.ParcelFileDescriptor
import java.io.File
import java.io.FileNotFoundException
import java.util.UUID

object PhotoFiles {
    fun authority(context: Context) = "${context.packageName}.photos"

    fun directory(context: Context) = File(context.cacheDir, "photos").apply { mkdirs() }

    fun newFile(context: Context) = File(directory(context), "${UUID.randomUUID()}.jpg")

    fun uri(context: Context, file: File): Uri = Uri.Builder()
        .scheme("content").authority(authority(context)).appendPath(file.name).build()
}

/** Serves photo files for writing by the camera app; nothing else is reachable through it. */
class PhotoProvider : ContentProvider() {
    override fun onCreate() = true

    override fun openFile(uri: Uri, mode: String): ParcelFileDescriptor {
        val context = context ?: throw FileNotFoundException("no context")
        val name = uri.lastPathSegment ?: throw FileNotFoundException("no file in $uri")
        if (!Regex("[0-9a-f-]{36}\\.jpg").matches(name)) throw FileNotFoundException("not a photo: $name")
        val file = File(PhotoFiles.directory(context), name)
        return ParcelFileDescriptor.open(file, ParcelFileDescriptor.parseMode(mode))
    }

    override fun getType(uri: Uri) = "image/jpeg"
    override fun query(uri: Uri, p: Array<out String>?, s: String?, a: Array<out String>?, o: String?): Cursor? = null
    override fun insert(uri: Uri, values: ContentValues?): Uri? = null
    override fun delete(uri: Uri, selection: String?, selectionArgs: Array<out String>?) = 0
    override fun update(uri: Uri, values: ContentValues?, selection: String?, selectionArgs: Array<out String>?) = 0
}
