//! Messages the partner sends to CityFibre: `notifyJob` and `closeJob` as JSON-RPC 2.0.
//!
//! A `notifyJob` carries one event of the visit; which one is told by `notificationType` and
//! each type has exactly one payload field. In Rust that is the [`JobEvent`] enum, so a
//! notification with the wrong payload cannot be built; on the wire it is checked when read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ProtocolError;
use super::answers::QuestionAnswer;
use super::time::{StrictTimestamp, Timestamp};
use super::values::{JobRef, ProviderJobId, RpcId, is_fsan};

/// Identifies the job in every outbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobHeader {
    #[serde(rename = "ref")]
    pub job_ref: JobRef,
    pub provider_job_id: ProviderJobId,
}

/// The engineer a job is assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EngineerDetails {
    pub engineer_id: String,
    pub name: String,
    pub phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
}

impl EngineerDetails {
    /// Checks what CityFibre's order desk relies on: an id, a name and a phone number.
    pub fn validate(&self) -> Result<(), ProtocolError> {
        let bad = |field, reason: &str| {
            Err(ProtocolError::InvalidField {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.engineer_id.trim().is_empty() || self.engineer_id.len() > 64 {
            return bad("engineerId", "must be 1-64 characters");
        }
        if self.name.trim().is_empty() || self.name.len() > 128 {
            return bad("name", "must be 1-128 characters");
        }
        let digits = self.phone.bytes().filter(u8::is_ascii_digit).count();
        let phone_ok = (6..=20).contains(&self.phone.len())
            && digits >= 6
            && self
                .phone
                .bytes()
                .enumerate()
                .all(|(i, b)| b.is_ascii_digit() || b == b' ' || (i == 0 && b == b'+'));
        if !phone_ok {
            return bad(
                "phone",
                "must be 6-20 digits and spaces, optionally after +",
            );
        }
        if self
            .company
            .as_ref()
            .is_some_and(|c| c.trim().is_empty() || c.len() > 128)
        {
            return bad("company", "must be 1-128 characters when given");
        }
        Ok(())
    }
}

/// A position fix with its horizontal accuracy in metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy: f64,
}

impl Location {
    /// Checks the ranges a GPS fix can have; the shell may hand us anything.
    pub fn new(latitude: f64, longitude: f64, accuracy: f64) -> Result<Self, ProtocolError> {
        let bad = |field, reason: String| Err(ProtocolError::InvalidField { field, reason });
        if !(-90.0..=90.0).contains(&latitude) {
            return bad("latitude", format!("{latitude} is outside -90..=90"));
        }
        if !(-180.0..=180.0).contains(&longitude) {
            return bad("longitude", format!("{longitude} is outside -180..=180"));
        }
        if !(0.0..=100_000.0).contains(&accuracy) {
            return bad("accuracy", format!("{accuracy} m is outside 0..=100000"));
        }
        Ok(Self {
            latitude,
            longitude,
            accuracy,
        })
    }
}

/// The ONT as scanned from its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OntDevice {
    pub fsan: String,
    pub serial_number: String,
}

impl OntDevice {
    pub fn new(fsan: impl Into<String>, serial: impl Into<String>) -> Result<Self, ProtocolError> {
        let (fsan, serial_number) = (fsan.into(), serial.into());
        if !is_fsan(&fsan) {
            return Err(ProtocolError::InvalidField {
                field: "fsan",
                reason: format!("{fsan:?} is not 4 vendor letters and 8 hex digits"),
            });
        }
        let serial_ok = (1..=64).contains(&serial_number.len())
            && serial_number
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !serial_ok {
            return Err(ProtocolError::InvalidField {
                field: "serialNumber",
                reason: format!("{serial_number:?} is not 1-64 letters, digits or -"),
            });
        }
        Ok(Self {
            fsan,
            serial_number,
        })
    }
}

/// What happened, one variant per `notificationType`.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEvent {
    EngineerAssigned(EngineerDetails),
    EnRoute(Location),
    OnSite(Location),
    OntScanned(OntDevice),
    QuestionsAnswered(Vec<QuestionAnswer>),
}

impl JobEvent {
    /// The wire name of the event (`notificationType`).
    pub fn notification_type(&self) -> &'static str {
        match self {
            Self::EngineerAssigned(_) => "engineerAssigned",
            Self::EnRoute(_) => "enRoute",
            Self::OnSite(_) => "onSite",
            Self::OntScanned(_) => "ontScanned",
            Self::QuestionsAnswered(_) => "questionsAnswered",
        }
    }
}

/// `notifyJob` params: one event of the visit with the time it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyJob {
    pub job_header: JobHeader,
    /// When the engineer acted, not when the message went out.
    pub event_time: Timestamp,
    pub event: JobEvent,
}

/// `closeJob` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloseJob {
    pub job_header: JobHeader,
    pub closure_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_closure_code: Option<String>,
    pub description: String,
    pub closed_at: StrictTimestamp,
    #[serde(rename = "questions_answers")]
    pub questions_answers: Vec<QuestionAnswer>,
}

impl CloseJob {
    /// Field rules the type cannot express: a description of 1-2000 characters and
    /// well-formed answers. Code rules are the catalogue's (`Catalogue::check_request`).
    pub fn validate(&self) -> Result<(), ProtocolError> {
        let len = self.description.chars().count();
        if self.description.trim().is_empty() || len > 2000 {
            return Err(ProtocolError::InvalidField {
                field: "description",
                reason: format!("must be 1-2000 characters, has {len}"),
            });
        }
        self.questions_answers
            .iter()
            .try_for_each(QuestionAnswer::validate)
    }
}

/// The method and its params.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboundCall {
    NotifyJob(NotifyJob),
    CloseJob(CloseJob),
}

impl OutboundCall {
    pub fn method(&self) -> &'static str {
        match self {
            Self::NotifyJob(_) => "notifyJob",
            Self::CloseJob(_) => "closeJob",
        }
    }

    pub fn job_header(&self) -> &JobHeader {
        match self {
            Self::NotifyJob(n) => &n.job_header,
            Self::CloseJob(c) => &c.job_header,
        }
    }
}

/// A JSON-RPC 2.0 request from the partner to CityFibre.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundRequest {
    pub id: RpcId,
    pub call: OutboundCall,
}

// ------------------------------------------------------------------ wire forms

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawNotify {
    job_header: JobHeader,
    notification_type: String,
    event_time: StrictTimestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    engineer_details: Option<EngineerDetails>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ont: Option<OntDevice>,
    #[serde(
        default,
        rename = "questions_answers",
        skip_serializing_if = "Option::is_none"
    )]
    questions_answers: Option<Vec<QuestionAnswer>>,
}

impl From<&NotifyJob> for RawNotify {
    fn from(n: &NotifyJob) -> Self {
        let mut raw = RawNotify {
            job_header: n.job_header.clone(),
            notification_type: n.event.notification_type().to_owned(),
            event_time: StrictTimestamp(n.event_time),
            engineer_details: None,
            location: None,
            ont: None,
            questions_answers: None,
        };
        match &n.event {
            JobEvent::EngineerAssigned(e) => raw.engineer_details = Some(e.clone()),
            JobEvent::EnRoute(l) | JobEvent::OnSite(l) => raw.location = Some(*l),
            JobEvent::OntScanned(o) => raw.ont = Some(o.clone()),
            JobEvent::QuestionsAnswered(a) => raw.questions_answers = Some(a.clone()),
        }
        raw
    }
}

impl TryFrom<RawNotify> for NotifyJob {
    type Error = ProtocolError;

    fn try_from(raw: RawNotify) -> Result<Self, ProtocolError> {
        const TYPES: [&str; 5] = [
            "engineerAssigned",
            "enRoute",
            "onSite",
            "ontScanned",
            "questionsAnswered",
        ];
        let Some(notification_type) = TYPES.iter().find(|t| **t == raw.notification_type) else {
            return Err(ProtocolError::UnknownNotificationType(
                raw.notification_type,
            ));
        };
        let present = [
            ("engineerDetails", raw.engineer_details.is_some()),
            ("location", raw.location.is_some()),
            ("ont", raw.ont.is_some()),
            ("questions_answers", raw.questions_answers.is_some()),
        ];
        let wanted = match *notification_type {
            "engineerAssigned" => "engineerDetails",
            "enRoute" | "onSite" => "location",
            "ontScanned" => "ont",
            _ => "questions_answers",
        };
        for (field, is_present) in present {
            if is_present && field != wanted {
                return Err(ProtocolError::UnexpectedEventField {
                    notification_type,
                    field,
                });
            }
        }
        let missing = ProtocolError::MissingEventField {
            notification_type,
            field: wanted,
        };
        let event = match *notification_type {
            "engineerAssigned" => {
                let engineer = raw.engineer_details.ok_or(missing)?;
                engineer.validate()?;
                JobEvent::EngineerAssigned(engineer)
            }
            "enRoute" | "onSite" => {
                let l = raw.location.ok_or(missing)?;
                let l = Location::new(l.latitude, l.longitude, l.accuracy)?;
                if *notification_type == "enRoute" {
                    JobEvent::EnRoute(l)
                } else {
                    JobEvent::OnSite(l)
                }
            }
            "ontScanned" => {
                let o = raw.ont.ok_or(missing)?;
                JobEvent::OntScanned(OntDevice::new(o.fsan, o.serial_number)?)
            }
            _ => {
                let answers = raw.questions_answers.ok_or(missing)?;
                if answers.is_empty() {
                    return Err(ProtocolError::InvalidField {
                        field: "questions_answers",
                        reason: "a questionsAnswered notification needs at least one answer".into(),
                    });
                }
                for answer in &answers {
                    answer.validate()?;
                }
                JobEvent::QuestionsAnswered(answers)
            }
        };
        Ok(NotifyJob {
            job_header: raw.job_header,
            event_time: raw.event_time.0,
            event,
        })
    }
}

#[derive(Serialize)]
struct RawRequestOut<'a, P> {
    id: RpcId,
    jsonrpc: &'static str,
    method: &'static str,
    params: &'a P,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequestIn {
    id: RpcId,
    jsonrpc: String,
    method: String,
    params: Value,
}

impl Serialize for OutboundRequest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let method = self.call.method();
        match &self.call {
            OutboundCall::NotifyJob(n) => RawRequestOut {
                id: self.id,
                jsonrpc: "2.0",
                method,
                params: &RawNotify::from(n),
            }
            .serialize(s),
            OutboundCall::CloseJob(c) => RawRequestOut {
                id: self.id,
                jsonrpc: "2.0",
                method,
                params: c,
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for OutboundRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        parse_outbound_value(value).map_err(serde::de::Error::custom)
    }
}

/// Reads an outbound request strictly (what the simulator does with what we send).
pub fn parse_outbound(bytes: &[u8]) -> Result<OutboundRequest, ProtocolError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ProtocolError::NotJson(e.to_string()))?;
    parse_outbound_value(value)
}

/// Reads an outbound request from parsed JSON.
pub fn parse_outbound_value(value: Value) -> Result<OutboundRequest, ProtocolError> {
    let raw: RawRequestIn =
        serde_json::from_value(value).map_err(|e| ProtocolError::malformed("request", e))?;
    if raw.jsonrpc != "2.0" {
        return Err(ProtocolError::WrongJsonRpcVersion(raw.jsonrpc));
    }
    let call = match raw.method.as_str() {
        "notifyJob" => {
            let raw_notify: RawNotify = serde_json::from_value(raw.params)
                .map_err(|e| ProtocolError::malformed("notifyJob", e))?;
            OutboundCall::NotifyJob(NotifyJob::try_from(raw_notify)?)
        }
        "closeJob" => {
            let close: CloseJob = serde_json::from_value(raw.params)
                .map_err(|e| ProtocolError::malformed("closeJob", e))?;
            close.validate()?;
            OutboundCall::CloseJob(close)
        }
        _ => return Err(ProtocolError::UnknownMethod(raw.method)),
    };
    Ok(OutboundRequest { id: raw.id, call })
}
