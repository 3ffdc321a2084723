// Secrets at rest, sealed by a key the Android Keystore holds.
//
// The core's TLS stack (rustls) needs the client key's bytes, so the key cannot live inside
// the Keystore as a non-exportable signing key. Instead the Keystore holds an AES-256 key that
// never leaves it (hardware-backed where the phone has it), and the client key — and the
// database key, once the core encrypts its file — are stored sealed with it (AES-GCM: a copied
// or altered file does not open). Reading them happens once, when the core is opened.
package uk.jobpack.android.platform

import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.io.File
import java.security.KeyStore
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

class KeyVault(private val directory: File, private val key: () -> SecretKey = ::keystoreKey) {
    companion object {
        const val ALIAS = "jobpack-vault"
        private const val TRANSFORMATION = "AES/GCM/NoPadding"

        /** The vault's AES key, created in the Android Keystore on first use. */
        fun keystoreKey(): SecretKey {
            val store = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
            (store.getKey(ALIAS, null) as? SecretKey)?.let { return it }
            val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
            generator.init(
                KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                    .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                    .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                    .setKeySize(256)
                    .build(),
            )
            return generator.generateKey()
        }
    }

    private fun file(name: String) = File(directory, "$name.sealed")

    /** Seals [secret] under [name] (replacing an older one). The IV comes from the cipher. */
    fun seal(name: String, secret: ByteArray) {
        val cipher = Cipher.getInstance(TRANSFORMATION).apply { init(Cipher.ENCRYPT_MODE, key()) }
        val iv = cipher.iv
        val sealed = cipher.doFinal(secret)
        directory.mkdirs()
        val tmp = File(directory, "$name.tmp")
        tmp.writeBytes(byteArrayOf(iv.size.toByte()) + iv + sealed)
        check(tmp.renameTo(file(name))) { "could not store $name" }
    }

    /** The secret under [name], or null when none was sealed. Throws if the file was altered. */
    fun open(name: String): ByteArray? {
        val bytes = file(name).takeIf { it.exists() }?.readBytes() ?: return null
        val ivLength = bytes.firstOrNull()?.toInt() ?: return null
        require(ivLength in 12..16 && bytes.size > 1 + ivLength) { "$name is not a sealed secret" }
        val iv = bytes.copyOfRange(1, 1 + ivLength)
        val cipher = Cipher.getInstance(TRANSFORMATION).apply { init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(128, iv)) }
        return cipher.doFinal(bytes, 1 + ivLength, bytes.size - 1 - ivLength)
    }

    /** The database key: 32 random bytes made once and kept sealed. */
    fun databaseKey(): ByteArray = open("database-key") ?: ByteArray(32).also {
        SecureRandom().nextBytes(it)
        seal("database-key", it)
    }
}
