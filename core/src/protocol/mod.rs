//! The wire model of CityFibre's Partner Installation API.
//!
//! `spec/partner-installation.openapi.yaml` is the contract; this module is its Rust
//! counterpart and the tests hold the two together (every example and every payload we emit
//! is validated against the document). Two rules shape it:
//!
//! * **Outbound is strict.** What we send is built from typed values, serialised with RFC 3339
//!   timestamps, and parsed back (by the simulator, or by `jobpack validate`) with unknown
//!   fields refused, so a mistake shows up in our tests rather than at CityFibre.
//! * **Inbound is tolerant.** CityFibre's payloads vary; unknown fields are kept (and written
//!   back out unchanged on a round trip), every timestamp form seen in the wild parses. What
//!   cannot be understood at all (no `ref`, a status outside 1–7) is a typed error naming the
//!   message and the field, so the caller can quarantine that one message and go on.
//!
//! Parsing goes through small `Raw*` serde structs and then a checked conversion, so that
//! errors stay typed ([`ProtocolError`]) instead of becoming serde's strings.

mod answers;
mod inbound;
mod kind;
mod outbound;
mod rpc;
mod time;
mod values;

pub use answers::{FileReference, QuestionAnswer, Source};
pub use inbound::{
    Address, Appointment, CancelJob, Customer, InboundEnvelope, InboundMessage, JobPack,
    OntProvisioning, ProvisioningNotice, ServiceOrder, parse_inbound, parse_inbound_value,
};
pub use kind::{Message, MessageKind, parse_message};
pub use outbound::{
    CloseJob, EngineerDetails, JobEvent, JobHeader, Location, NotifyJob, OntDevice, OutboundCall,
    OutboundRequest, parse_outbound, parse_outbound_value,
};
pub use rpc::{
    Acknowledgement, CreateJobAnswer, MAX_PULL_LIMIT, PullParams, PullRequest, PullResponse,
    PullResult, Refusal, RpcErrorObject, parse_acknowledgement,
};
pub use time::{StrictTimestamp, Timestamp};
pub use values::{JobRef, ProviderJobId, RpcId, is_fsan, is_s3_object_path};

/// Most bytes of a payload's own text quoted in an error: messages stay short whatever the
/// payload holds (serde quotes offending strings whole).
const QUOTE: usize = 200;

/// Why a payload could not be understood. Each variant names what was wrong so that a
/// quarantined message can be shown to a person with its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("not valid JSON: {}", crate::text::prefix(.0, QUOTE))]
    NotJson(String),
    #[error("{message}: {}", crate::text::prefix(.reason, QUOTE))]
    Malformed {
        /// Which message was being read (`createJob`, `closeJob`, ...).
        message: &'static str,
        reason: String,
    },
    #[error("jsonrpc must be \"2.0\", got {:?}", crate::text::prefix(.0, QUOTE))]
    WrongJsonRpcVersion(String),
    #[error("unknown method {:?}", crate::text::prefix(.0, QUOTE))]
    UnknownMethod(String),
    #[error("unknown notificationType {:?}", crate::text::prefix(.0, QUOTE))]
    UnknownNotificationType(String),
    #[error("notificationType {notification_type} needs field {field}")]
    MissingEventField {
        notification_type: &'static str,
        field: &'static str,
    },
    #[error("notificationType {notification_type} must not carry field {field}")]
    UnexpectedEventField {
        notification_type: &'static str,
        field: &'static str,
    },
    #[error("timestamp {:?} is not in a recognised form", crate::text::prefix(.value, QUOTE))]
    BadTimestamp { value: String },
    #[error("{field}: {}", crate::text::prefix(.reason, QUOTE))]
    InvalidField { field: &'static str, reason: String },
    #[error("ONT provisioning status {0} is not one of 1-7")]
    UnknownProvisioningStatus(i64),
    #[error(
        "ONT provisioning status {status} says success={success}, but status {status} is a {expected}"
    )]
    InconsistentProvisioning {
        status: u8,
        success: bool,
        expected: &'static str,
    },
    #[error("the payload is not a message this API knows")]
    UnrecognisedMessage,
}

impl ProtocolError {
    pub(crate) fn malformed(message: &'static str, err: impl std::fmt::Display) -> Self {
        Self::Malformed {
            message,
            reason: err.to_string(),
        }
    }
}
