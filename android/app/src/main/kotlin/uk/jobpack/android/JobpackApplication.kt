// The process: opens the core off the main thread from the provisioned settings, then wires
// the platform to it — connectivity callbacks and the periodic background sync.
package uk.jobpack.android

import android.app.Application
import java.io.File
import kotlin.concurrent.thread
import uk.jobpack.android.platform.ConnectivityMonitor
import uk.jobpack.android.platform.KeyVault
import uk.jobpack.android.platform.Provisioning
import uk.jobpack.android.platform.SyncJobService
import uk.jobpack.core.Jobpack
import uk.jobpack.core.JobpackException

class JobpackApplication : Application() {
    override fun onCreate() {
        super.onCreate()
        if (AppGraph.coreOrNull() != null) return
        thread(name = "jobpack-open") {
            val vault = KeyVault(File(filesDir, "vault"))
            val config = Provisioning(filesDir, vault).config(getExternalFilesDir(null)?.let { File(it, "provisioning.json") })
            if (config == null) {
                AppGraph.notConfigured()
                return@thread
            }
            try {
                attach(Jobpack.open(config))
            } catch (e: JobpackException) {
                AppGraph.failed(e.message ?: e.toString())
            }
        }
    }

    /** Installs [core] and starts the platform's duties around it. */
    fun attach(core: Jobpack) {
        AppGraph.install(core)
        ConnectivityMonitor(this, core).start()
        SyncJobService.schedule(this)
    }
}
