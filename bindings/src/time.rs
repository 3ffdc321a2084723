//! Times across the boundary.
//!
//! Out, times are instants (`SystemTime`: `java.time.Instant`, `Date`, `datetime`) because
//! screens show them in the phone's zone anyway. In, an action time is RFC 3339 text, because
//! the core reports an action in the offset it was taken in and an instant has none; `None`
//! means now, which is what shells normally pass.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jobpack_core::protocol::Timestamp;

use crate::errors::{JobpackError, Result};

pub(crate) fn instant(t: Timestamp) -> SystemTime {
    let millis = t.unix_millis();
    let offset = Duration::from_millis(millis.unsigned_abs());
    if millis >= 0 {
        UNIX_EPOCH + offset
    } else {
        UNIX_EPOCH.checked_sub(offset).unwrap_or(UNIX_EPOCH)
    }
}

pub(crate) fn action_time(at: Option<String>) -> Result<Option<Timestamp>> {
    at.map(|text| Timestamp::parse_strict(&text).map_err(JobpackError::from))
        .transpose()
}
