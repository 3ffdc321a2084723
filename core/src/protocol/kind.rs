//! Telling messages apart by their shape.
//!
//! Tools (`jobpack validate`, the simulator's logs, tests over `spec/examples`) receive JSON
//! without being told what it is. Each message of the API has a distinctive shape —
//! JSON-RPC requests have `jsonrpc` and `method`, CityFibre's envelopes have `sent` and
//! `method`, a `pull` answer has `result.messages` — so [`MessageKind::classify`] recognises
//! it, and [`MessageKind::schema_name`] names the schema in the OpenAPI document that judges it.

use serde_json::Value;

use super::ProtocolError;
use super::inbound::{InboundEnvelope, parse_inbound_value};
use super::outbound::{OutboundCall, OutboundRequest, parse_outbound_value};
use super::rpc::{
    Acknowledgement, CreateJobAnswer, PullRequest, PullResponse, parse_acknowledgement,
};

/// Every message of the API, outbound variants of notifyJob told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageKind {
    NotifyEngineerAssigned,
    NotifyEnRoute,
    NotifyOnSite,
    NotifyOntScanned,
    NotifyAnswers,
    /// A notifyJob whose `notificationType` is missing or unknown.
    NotifyJob,
    CloseJob,
    CreateJob,
    CancelJob,
    Provisioning,
    CreateJobAnswer,
    PullRequest,
    PullResponse,
    Acknowledgement,
    JsonRpcError,
}

impl MessageKind {
    pub const ALL: [MessageKind; 15] = [
        Self::NotifyEngineerAssigned,
        Self::NotifyEnRoute,
        Self::NotifyOnSite,
        Self::NotifyOntScanned,
        Self::NotifyAnswers,
        Self::NotifyJob,
        Self::CloseJob,
        Self::CreateJob,
        Self::CancelJob,
        Self::Provisioning,
        Self::CreateJobAnswer,
        Self::PullRequest,
        Self::PullResponse,
        Self::Acknowledgement,
        Self::JsonRpcError,
    ];

    /// The component schema in `spec/partner-installation.openapi.yaml` for this message.
    pub fn schema_name(self) -> &'static str {
        match self {
            Self::NotifyEngineerAssigned => "NotifyEngineerAssignedRequest",
            Self::NotifyEnRoute => "NotifyEnRouteRequest",
            Self::NotifyOnSite => "NotifyOnSiteRequest",
            Self::NotifyOntScanned => "NotifyOntScannedRequest",
            Self::NotifyAnswers => "NotifyAnswersRequest",
            Self::NotifyJob => "NotifyJobRequest",
            Self::CloseJob => "CloseJobRequest",
            Self::CreateJob => "CreateJobEnvelope",
            Self::CancelJob => "CancelJobEnvelope",
            Self::Provisioning => "ProvisioningEnvelope",
            Self::CreateJobAnswer => "CreateJobAnswer",
            Self::PullRequest => "PullRequest",
            Self::PullResponse => "PullResponse",
            Self::Acknowledgement => "Acknowledgement",
            Self::JsonRpcError => "JsonRpcErrorResponse",
        }
    }

    /// What a person calls it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::NotifyEngineerAssigned => "notifyJob (engineer assigned), partner -> CityFibre",
            Self::NotifyEnRoute => "notifyJob (en route), partner -> CityFibre",
            Self::NotifyOnSite => "notifyJob (on site), partner -> CityFibre",
            Self::NotifyOntScanned => "notifyJob (ONT scanned), partner -> CityFibre",
            Self::NotifyAnswers => "notifyJob (answers during the visit), partner -> CityFibre",
            Self::NotifyJob => "notifyJob (unknown notificationType), partner -> CityFibre",
            Self::CloseJob => "closeJob, partner -> CityFibre",
            Self::CreateJob => "createJob envelope, CityFibre -> partner",
            Self::CancelJob => "cancelJob envelope, CityFibre -> partner",
            Self::Provisioning => "notifyJob envelope (ONT provisioning), CityFibre -> partner",
            Self::CreateJobAnswer => "createJob answer (providerJobId), partner -> CityFibre",
            Self::PullRequest => "pull request, device -> hub",
            Self::PullResponse => "pull response, hub -> device",
            Self::Acknowledgement => "acknowledgement",
            Self::JsonRpcError => "JSON-RPC error response",
        }
    }

    /// Recognises a message by its shape; `None` when it looks like nothing in the API.
    pub fn classify(value: &Value) -> Option<Self> {
        let obj = value.as_object()?;
        let method = obj.get("method").and_then(Value::as_str);
        if obj.is_empty() {
            return Some(Self::Acknowledgement);
        }
        if obj.contains_key("sent") {
            return match method? {
                "createJob" => Some(Self::CreateJob),
                "cancelJob" => Some(Self::CancelJob),
                "notifyJob" => Some(Self::Provisioning),
                _ => None,
            };
        }
        if obj.contains_key("jsonrpc") || obj.contains_key("params") {
            match method {
                Some("notifyJob") => {
                    let t = value
                        .pointer("/params/notificationType")
                        .and_then(Value::as_str);
                    return Some(match t {
                        Some("engineerAssigned") => Self::NotifyEngineerAssigned,
                        Some("enRoute") => Self::NotifyEnRoute,
                        Some("onSite") => Self::NotifyOnSite,
                        Some("ontScanned") => Self::NotifyOntScanned,
                        Some("questionsAnswered") => Self::NotifyAnswers,
                        _ => Self::NotifyJob,
                    });
                }
                Some("closeJob") => return Some(Self::CloseJob),
                Some("pull") => return Some(Self::PullRequest),
                Some(_) => return None,
                None => {}
            }
            if obj.contains_key("error") {
                return Some(Self::JsonRpcError);
            }
            if value.pointer("/result/messages").is_some() {
                return Some(Self::PullResponse);
            }
            if obj.contains_key("result") {
                return Some(Self::Acknowledgement);
            }
            return None;
        }
        if obj.contains_key("providerJobId") {
            return Some(Self::CreateJobAnswer);
        }
        None
    }
}

/// Any message of the API, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Outbound(OutboundRequest),
    Inbound(Box<InboundEnvelope>),
    CreateJobAnswer(CreateJobAnswer),
    PullRequest(PullRequest),
    PullResponse(PullResponse),
    Acknowledgement(Acknowledgement),
}

impl Message {
    /// The JSON this message is written as.
    pub fn to_value(&self) -> Result<Value, ProtocolError> {
        let v = match self {
            Self::Outbound(m) => serde_json::to_value(m),
            Self::Inbound(m) => serde_json::to_value(m),
            Self::CreateJobAnswer(m) => serde_json::to_value(m),
            Self::PullRequest(m) => serde_json::to_value(m),
            Self::PullResponse(m) => serde_json::to_value(m),
            Self::Acknowledgement(Acknowledgement::Accepted { result: None, .. }) => {
                Ok(Value::Object(Default::default()))
            }
            Self::Acknowledgement(Acknowledgement::Accepted {
                id,
                result: Some(r),
            }) => Ok(serde_json::json!({"jsonrpc": "2.0", "id": id, "result": r})),
            Self::Acknowledgement(Acknowledgement::Refused { id, error }) => {
                Ok(serde_json::json!({"jsonrpc": "2.0", "id": id, "error": error}))
            }
        };
        v.map_err(|e| ProtocolError::malformed("serialise", e))
    }
}

/// Parses `value` as the message `kind` with the model's rules (strict for what the partner
/// sends, tolerant for what CityFibre sends).
pub fn parse_message(kind: MessageKind, value: &Value) -> Result<Message, ProtocolError> {
    let json_err = |m: &'static str| move |e: serde_json::Error| ProtocolError::malformed(m, e);
    match kind {
        MessageKind::NotifyEngineerAssigned
        | MessageKind::NotifyEnRoute
        | MessageKind::NotifyOnSite
        | MessageKind::NotifyOntScanned
        | MessageKind::NotifyAnswers
        | MessageKind::NotifyJob
        | MessageKind::CloseJob => {
            let request = parse_outbound_value(value.clone())?;
            let expected_notify = match kind {
                MessageKind::NotifyEngineerAssigned => Some("engineerAssigned"),
                MessageKind::NotifyEnRoute => Some("enRoute"),
                MessageKind::NotifyOnSite => Some("onSite"),
                MessageKind::NotifyOntScanned => Some("ontScanned"),
                MessageKind::NotifyAnswers => Some("questionsAnswered"),
                _ => None,
            };
            match (&request.call, expected_notify) {
                (OutboundCall::NotifyJob(n), Some(t)) if n.event.notification_type() != t => Err(
                    ProtocolError::UnknownNotificationType(n.event.notification_type().to_owned()),
                ),
                (OutboundCall::CloseJob(_), Some(_)) => {
                    Err(ProtocolError::UnknownMethod("closeJob".into()))
                }
                (OutboundCall::NotifyJob(_), None) if kind == MessageKind::CloseJob => {
                    Err(ProtocolError::UnknownMethod("notifyJob".into()))
                }
                _ => Ok(Message::Outbound(request)),
            }
        }
        MessageKind::CreateJob | MessageKind::CancelJob | MessageKind::Provisioning => {
            let envelope = parse_inbound_value(value.clone())?;
            let expected = match kind {
                MessageKind::CreateJob => "createJob",
                MessageKind::CancelJob => "cancelJob",
                _ => "notifyJob",
            };
            if envelope.message.method() != expected {
                return Err(ProtocolError::UnknownMethod(
                    envelope.message.method().to_owned(),
                ));
            }
            Ok(Message::Inbound(Box::new(envelope)))
        }
        MessageKind::CreateJobAnswer => serde_json::from_value(value.clone())
            .map(Message::CreateJobAnswer)
            .map_err(json_err("createJob answer")),
        MessageKind::PullRequest => serde_json::from_value(value.clone())
            .map(Message::PullRequest)
            .map_err(json_err("pull request")),
        MessageKind::PullResponse => serde_json::from_value(value.clone())
            .map(Message::PullResponse)
            .map_err(json_err("pull response")),
        MessageKind::Acknowledgement | MessageKind::JsonRpcError => {
            let bytes = serde_json::to_vec(value).map_err(json_err("acknowledgement"))?;
            parse_acknowledgement(&bytes).map(Message::Acknowledgement)
        }
    }
}
