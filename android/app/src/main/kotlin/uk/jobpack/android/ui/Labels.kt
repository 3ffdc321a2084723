// How the core's values read on screen (names of states and outbox states; nothing decided).
package uk.jobpack.android.ui

import java.time.ZoneId
import java.time.format.DateTimeFormatter
import uk.jobpack.core.Gap
import uk.jobpack.core.ItemState
import uk.jobpack.core.JobState
import uk.jobpack.core.Warning

fun Texts.state(state: JobState): String = when (state) {
    JobState.Received -> this["state_received"]
    JobState.Assigned -> this["state_assigned"]
    JobState.EnRoute -> this["state_en_route"]
    JobState.OnSite -> this["state_on_site"]
    JobState.OntScanned -> this["state_ont_scanned"]
    is JobState.Provisioned -> this["state_provisioned", state.status.toInt()]
    is JobState.ProvisioningRetrying -> this["state_provisioning_retrying", state.status.toInt()]
    is JobState.ProvisioningFailed -> this["state_provisioning_failed", state.status.toInt()]
    JobState.Closed -> this["state_closed"]
    JobState.Cancelled -> this["state_cancelled"]
}

fun Texts.item(state: ItemState): String = this["item_" + state.name.lowercase()]

fun Texts.warning(w: Warning): String = when (w) {
    is Warning.PropertyFlag -> this["warning_flag", w.code, w.description]
    is Warning.UnknownPropertyFlag -> this["warning_unknown_flag", w.code]
    is Warning.ClockSetBack -> this["warning_clock_set_back", (w.setBackMs / 1000).toInt()]
}

fun Texts.gap(g: Gap): String = when (g) {
    Gap.NoClosureCode -> this["gap_no_closure"]
    is Gap.ClosureCodeRefused -> this["gap_refused", g.code, g.reason]
    is Gap.MissingSecondaryCode -> this["gap_secondary", g.closure, g.allowed.joinToString(", ")]
    is Gap.OntNotProvisioned -> this["gap_ont", g.closure]
    is Gap.UnansweredQuestion -> this["gap_unanswered", g.text]
    is Gap.InvalidAnswer -> this["gap_invalid", g.text, g.answer, g.reason]
    is Gap.MissingPhotos -> g.requiredBy?.let { this["gap_photos_because", g.text, g.have.toInt(), g.required.toInt(), it] }
        ?: this["gap_photos", g.text, g.have.toInt(), g.required.toInt()]
    is Gap.TooManyPhotos -> this["gap_too_many_photos", g.text, g.have.toInt(), g.allowed.toInt()]
}

private val clock = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneId.systemDefault())

fun time(instant: java.time.Instant): String = clock.format(instant)
