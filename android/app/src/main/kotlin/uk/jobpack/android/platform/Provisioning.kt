// How a phone learns its hub and identity: QA (or the partner's device management) drops a
// provisioning.json into the app's files; on the next start the client key goes into the
// KeyVault, the rest into settings.json, and the provisioning file is deleted.
//
// provisioning.json: {"endpoints": ["https://10.0.2.2:8443"], "engineer": {"id", "name",
// "phone", "company"}, "clientCertificatePem", "clientKeyPem", "trustAnchorsPem",
// optional "closureMatrixJson", optional "photoBucket"}. With a photo bucket, closure photos
// upload through URLs the hub presigns for this device's certificate (no S3 key on the
// phone); without one they are kept and their uploads wait.
package uk.jobpack.android.platform

import java.io.File
import org.json.JSONObject
import uk.jobpack.core.Config
import uk.jobpack.core.Engineer
import uk.jobpack.core.PhotoStorage

class Provisioning(private val files: File, private val vault: KeyVault) {
    private val settings = File(files, "settings.json")

    /** Imports [source] if it exists; returns the core's configuration, or null if unprovisioned. */
    fun config(source: File?): Config? {
        if (source != null && source.exists()) {
            val json = JSONObject(source.readText())
            vault.seal("client-key", json.getString("clientKeyPem").toByteArray())
            json.remove("clientKeyPem")
            settings.writeText(json.toString())
            source.delete()
        }
        if (!settings.exists()) return null
        val json = JSONObject(settings.readText())
        val engineer = json.getJSONObject("engineer")
        val endpoints = json.getJSONArray("endpoints")
        return Config(
            databasePath = File(files, "jobpack.sqlite").path,
            endpoints = (0 until endpoints.length()).map { endpoints.getString(it) },
            clientCertificatePem = json.getString("clientCertificatePem"),
            clientKeyPem = vault.open("client-key")?.toString(Charsets.UTF_8),
            trustAnchorsPem = json.getString("trustAnchorsPem"),
            engineer = Engineer(
                id = engineer.getString("id"),
                name = engineer.getString("name"),
                phone = engineer.getString("phone"),
                company = engineer.optString("company").ifEmpty { null },
            ),
            partnerCatalogueJson = null,
            startOnline = false,
            requestTimeoutSecs = 30u,
            closureMatrixJson = json.optString("closureMatrixJson").ifEmpty { null },
            photoStorage = json.optString("photoBucket").ifEmpty { null }?.let { PhotoStorage(bucket = it) },
            // The installation's storage key: the core encrypts its database (SQLCipher) with
            // a key derived from it and seals photo files with it.
            storageKey = vault.databaseKey(),
        )
    }
}
