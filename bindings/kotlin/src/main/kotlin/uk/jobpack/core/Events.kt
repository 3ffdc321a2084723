// Kotlin-side helper over the generated bindings: the core's event subscription as a Flow.
//
// The core calls the listener on one of its own threads; trySend hands the event to the
// collector's dispatcher without blocking that thread. A collector slower than the core gets
// Event.Lagged from the core and re-reads, so the buffer here can stay small and drop nothing
// that matters. Cancelling the collection cancels the subscription.
package uk.jobpack.core

import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.channels.BufferOverflow

/** Every change from the moment of collection; cancel the collecting coroutine to stop. */
fun Jobpack.events(): Flow<Event> = callbackFlow {
    val subscription = subscribe(object : EventListener {
        override fun onEvent(event: Event) {
            trySend(event)
        }
    })
    awaitClose {
        subscription.cancel()
        subscription.close()
    }
}.buffer(capacity = 256, onBufferOverflow = BufferOverflow.DROP_OLDEST)
