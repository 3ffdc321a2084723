// Kotlin-side helper over the generated bindings: the core's event subscription as a Flow.
//
// The core calls the listener on one of its own threads; trySend hands the event to the
// collector's dispatcher without blocking that thread. Nothing is dropped silently: when the
// collector is so slow that the buffer is full, the events that do not fit are counted, and the
// collector gets Event.Lagged with that count (re-read everything shown), exactly as when the
// core's own channel overflows. The notice is sent by a coroutine of the flow's own that waits
// for room, not by the next event: the event that overflowed may be the last one for a long
// time (going offline in a loft), and a screen must still learn that it missed it.
// Cancelling the collection cancels the subscription.
package uk.jobpack.core

import java.util.concurrent.atomic.AtomicLong
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.launch

/**
 * Every change from the moment of collection; cancel the collecting coroutine to stop.
 * [capacity] events wait for a slow collector; beyond that it is told how many it missed.
 */
fun Jobpack.events(capacity: Int = 256): Flow<Event> = callbackFlow {
    val missed = AtomicLong(0)
    // Conflated: one wake-up stands for any number of overflows.
    val overflowed = Channel<Unit>(Channel.CONFLATED)
    launch {
        for (signal in overflowed) {
            val count = missed.getAndSet(0)
            // Suspends until the collector makes room: the notice itself is never dropped.
            if (count > 0) send(Event.Lagged(count.toULong()))
        }
    }
    val subscription = subscribe(object : EventListener {
        override fun onEvent(event: Event) {
            // While a notice is owed, later events are counted too, so that the collector
            // re-reads after all of them rather than seeing some out of order.
            if (missed.get() > 0 || !trySend(event).isSuccess) {
                missed.incrementAndGet()
                overflowed.trySend(Unit)
            }
        }
    })
    awaitClose {
        subscription.cancel()
        subscription.close()
        overflowed.close()
    }
}.buffer(capacity)
