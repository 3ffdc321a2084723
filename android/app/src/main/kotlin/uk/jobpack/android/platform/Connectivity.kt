// ConnectivityManager's default-network callbacks told to the core: a network means online
// (the core drains its outbox at once), losing it means offline (actions queue, nothing waits).
package uk.jobpack.android.platform

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import uk.jobpack.core.Jobpack

class ConnectivityMonitor(context: Context, private val core: Jobpack) {
    private val manager = context.getSystemService(Context.CONNECTIVITY_SERVICE) as ConnectivityManager

    private val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onAvailable(network: Network) = core.setOnline(true)

        // The default network is gone; if another takes over, onAvailable follows.
        override fun onLost(network: Network) = core.setOnline(false)
    }

    /** Tells the core the current state, then every change. */
    fun start() {
        core.setOnline(manager.activeNetwork != null)
        manager.registerDefaultNetworkCallback(callback)
    }

    fun stop() = manager.unregisterNetworkCallback(callback)
}
