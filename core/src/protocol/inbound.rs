//! Messages CityFibre sends to the partner: the `createJob`, `cancelJob` and `notifyJob`
//! (ONT provisioning) envelopes `{id, sent, method, ref, content, response}`.
//!
//! Every struct keeps the fields it does not know in `extra` and writes them back out, so a
//! job pack stored on the phone and relayed again loses nothing CityFibre added after this
//! model was written. Fields the core acts on are typed and checked.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ProtocolError;
use super::time::Timestamp;
use super::values::{JobRef, RpcId};

/// Unknown fields, kept verbatim.
pub type Extra = Map<String, Value>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOrder {
    pub service_order_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isp_name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub date: NaiveDate,
    /// AM, PM or AD (all day); other values are kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end: Option<Timestamp>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uprn: Option<String>,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub town: String,
    pub postcode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `createJob` content: the job pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobPack {
    pub service_order: ServiceOrder,
    pub appointment: Appointment,
    pub customer: Customer,
    pub address: Address,
    /// Property flag codes as sent; unknown codes are kept and shown as warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub property_flags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `cancelJob` content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelJob {
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<Timestamp>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The ONT provisioning result inside a CityFibre `notifyJob`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OntProvisioning {
    /// 1–7, see the provisioning table in the code catalogue.
    pub status_id: u8,
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fsan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// CityFibre `notifyJob` content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningNotice {
    pub ont_provisioning: OntProvisioning,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The content of an envelope, by method.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundMessage {
    CreateJob(Box<JobPack>),
    CancelJob(CancelJob),
    Provisioning(ProvisioningNotice),
}

impl InboundMessage {
    pub fn method(&self) -> &'static str {
        match self {
            Self::CreateJob(_) => "createJob",
            Self::CancelJob(_) => "cancelJob",
            Self::Provisioning(_) => "notifyJob",
        }
    }
}

/// An envelope from CityFibre.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEnvelope {
    pub id: RpcId,
    /// When CityFibre sent it, in the form it was sent (re-emitted as RFC 3339).
    pub sent: Timestamp,
    pub job_ref: JobRef,
    pub message: InboundMessage,
    /// CityFibre's `response` block, kept as it comes.
    pub response: Value,
    pub extra: Extra,
}

#[derive(Serialize, Deserialize)]
struct RawEnvelope {
    id: RpcId,
    sent: Timestamp,
    method: String,
    #[serde(rename = "ref")]
    job_ref: JobRef,
    content: Value,
    response: Value,
    #[serde(flatten)]
    extra: Extra,
}

impl Serialize for InboundEnvelope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let content = match &self.message {
            InboundMessage::CreateJob(c) => serde_json::to_value(c),
            InboundMessage::CancelJob(c) => serde_json::to_value(c),
            InboundMessage::Provisioning(c) => serde_json::to_value(c),
        }
        .map_err(serde::ser::Error::custom)?;
        RawEnvelope {
            id: self.id,
            sent: self.sent,
            method: self.message.method().to_owned(),
            job_ref: self.job_ref.clone(),
            content,
            response: self.response.clone(),
            extra: self.extra.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for InboundEnvelope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_inbound_value(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Reads an envelope from bytes, tolerantly.
pub fn parse_inbound(bytes: &[u8]) -> Result<InboundEnvelope, ProtocolError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ProtocolError::NotJson(e.to_string()))?;
    parse_inbound_value(value)
}

/// Reads an envelope from parsed JSON, tolerantly.
pub fn parse_inbound_value(value: Value) -> Result<InboundEnvelope, ProtocolError> {
    let raw: RawEnvelope =
        serde_json::from_value(value).map_err(|e| ProtocolError::malformed("envelope", e))?;
    if !raw.response.is_object() {
        return Err(ProtocolError::InvalidField {
            field: "response",
            reason: "must be an object".into(),
        });
    }
    let message = match raw.method.as_str() {
        "createJob" => InboundMessage::CreateJob(Box::new(
            serde_json::from_value(raw.content)
                .map_err(|e| ProtocolError::malformed("createJob", e))?,
        )),
        "cancelJob" => InboundMessage::CancelJob(
            serde_json::from_value(raw.content)
                .map_err(|e| ProtocolError::malformed("cancelJob", e))?,
        ),
        "notifyJob" => {
            let notice: ProvisioningNotice = serde_json::from_value(raw.content)
                .map_err(|e| ProtocolError::malformed("notifyJob", e))?;
            check_provisioning(&notice.ont_provisioning)?;
            InboundMessage::Provisioning(notice)
        }
        _ => return Err(ProtocolError::UnknownMethod(raw.method)),
    };
    Ok(InboundEnvelope {
        id: raw.id,
        sent: raw.sent,
        job_ref: raw.job_ref,
        message,
        response: raw.response,
        extra: raw.extra,
    })
}

/// The status ID must be one of the table's seven, and `success` must agree with it: a
/// notice that says "failed, wrong device" and `success: true` is not something to act on.
fn check_provisioning(p: &OntProvisioning) -> Result<(), ProtocolError> {
    let expected = match p.status_id {
        1 | 2 => true,
        3..=7 => false,
        other => return Err(ProtocolError::UnknownProvisioningStatus(other.into())),
    };
    if p.success != expected {
        return Err(ProtocolError::InconsistentProvisioning {
            status: p.status_id,
            success: p.success,
            expected: if expected { "success" } else { "failure" },
        });
    }
    Ok(())
}
