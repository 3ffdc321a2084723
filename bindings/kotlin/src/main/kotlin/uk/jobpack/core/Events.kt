// Kotlin-side helper over the generated bindings: the core's event subscription as a Flow.
//
// The core calls the listener on one of its own threads; trySend hands the event to the
// collector's dispatcher without blocking that thread. Nothing is dropped silently: when the
// collector is so slow that the buffer is full, the events that do not fit are counted, and the
// collector gets Event.Lagged with that count (re-read everything shown) before the next event
// that fits, exactly as when the core's own channel overflows. Cancelling the collection
// cancels the subscription.
package uk.jobpack.core

import java.util.concurrent.atomic.AtomicLong
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow

/**
 * Every change from the moment of collection; cancel the collecting coroutine to stop.
 * [capacity] events wait for a slow collector; beyond that it is told how many it missed.
 */
fun Jobpack.events(capacity: Int = 256): Flow<Event> = callbackFlow {
    val missed = AtomicLong(0)
    val subscription = subscribe(object : EventListener {
        override fun onEvent(event: Event) {
            val behind = missed.get()
            if (behind > 0) {
                if (trySend(Event.Lagged(behind.toULong())).isSuccess) {
                    missed.addAndGet(-behind)
                } else {
                    missed.incrementAndGet()
                    return
                }
            }
            if (!trySend(event).isSuccess) {
                missed.incrementAndGet()
            }
        }
    })
    awaitClose {
        subscription.cancel()
        subscription.close()
    }
}.buffer(capacity)
