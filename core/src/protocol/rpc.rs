//! JSON-RPC plumbing around the business messages: acknowledgements and errors that come back
//! for our requests, the partner's answer to `createJob`, and the device inbox method `pull`.
//!
//! CityFibre acknowledges with `{}`; the hub and the simulator answer with a JSON-RPC success.
//! Both mean "accepted". A JSON-RPC error object is a refusal with a reason a person can read;
//! the sync engine parks the message with that reason.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ProtocolError;
use super::values::{JobRef, ProviderJobId, RpcId};

/// The error member of a JSON-RPC response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcErrorObject {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// What came back for one of our requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Acknowledgement {
    /// `{}` (no id, no result) or a JSON-RPC result.
    Accepted {
        id: Option<u64>,
        result: Option<Value>,
    },
    /// A JSON-RPC error: CityFibre refused the message.
    Refused {
        id: Option<u64>,
        error: RpcErrorObject,
    },
}

/// Reads the body of a response to one of our requests.
pub fn parse_acknowledgement(bytes: &[u8]) -> Result<Acknowledgement, ProtocolError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ProtocolError::NotJson(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(ProtocolError::malformed(
            "acknowledgement",
            "response body is not a JSON object",
        ));
    };
    if map.is_empty() {
        return Ok(Acknowledgement::Accepted {
            id: None,
            result: None,
        });
    }
    let id = map.get("id").and_then(Value::as_u64);
    let version_ok = map.get("jsonrpc").and_then(Value::as_str) == Some("2.0");
    if let Some(error) = map.get("error").filter(|_| version_ok) {
        let error: RpcErrorObject = serde_json::from_value(error.clone())
            .map_err(|e| ProtocolError::malformed("acknowledgement", e))?;
        return Ok(Acknowledgement::Refused { id, error });
    }
    match map.get("result") {
        Some(result) if version_ok => Ok(Acknowledgement::Accepted {
            id,
            result: Some(result.clone()),
        }),
        _ => Err(ProtocolError::malformed(
            "acknowledgement",
            "neither {}, a JSON-RPC result nor a JSON-RPC error",
        )),
    }
}

/// The partner's answer to `createJob`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateJobAnswer {
    pub id: RpcId,
    #[serde(rename = "ref")]
    pub job_ref: JobRef,
    pub provider_job_id: ProviderJobId,
}

/// `pull` params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PullParams {
    /// Opaque; `None` starts from the beginning of the inbox.
    #[serde(default)]
    pub cursor: Option<String>,
    /// 1 to 500; the server's default (100) when absent.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "pull_limit"
    )]
    pub limit: Option<u32>,
}

/// The largest page a `pull` may ask for.
pub const MAX_PULL_LIMIT: u32 = 500;

fn pull_limit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<u32>::deserialize(d)? {
        Some(n) if !(1..=MAX_PULL_LIMIT).contains(&n) => Err(serde::de::Error::custom(format!(
            "limit {n} is outside 1..={MAX_PULL_LIMIT}"
        ))),
        other => Ok(other),
    }
}

/// A `pull` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    pub id: RpcId,
    pub jsonrpc: JsonRpcVersion,
    pub method: PullMethod,
    pub params: PullParams,
}

impl PullRequest {
    pub fn new(id: RpcId, cursor: Option<String>, limit: Option<u32>) -> Self {
        Self {
            id,
            jsonrpc: JsonRpcVersion,
            method: PullMethod,
            params: PullParams { cursor, limit },
        }
    }
}

/// The result of a `pull`: raw envelopes, parsed one by one by the caller so that one bad
/// message is quarantined instead of failing the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullResult {
    pub messages: Vec<Value>,
    pub next_cursor: String,
    /// True when another page is waiting; absent means false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
    /// Messages this device delivered to the hub that CityFibre then refused for good (hub
    /// only): the device parks its copy with the reason, as if it had been refused directly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refusal>,
}

/// A message the hub accepted from this device and CityFibre refused for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    /// The message's `Idempotency-Key`, as the device sent it.
    pub idempotency_key: String,
    /// CityFibre's reason.
    pub reason: String,
}

/// A `pull` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub jsonrpc: JsonRpcVersion,
    pub id: RpcId,
    pub result: PullResult,
}

macro_rules! literal_string {
    ($name:ident, $text:literal) => {
        #[doc = concat!("The literal `", $text, "`.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name;

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str($text)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                if text == $text {
                    Ok(Self)
                } else {
                    Err(serde::de::Error::custom(format!(
                        "expected {:?}, got {text:?}",
                        $text
                    )))
                }
            }
        }
    };
}

literal_string!(JsonRpcVersion, "2.0");
literal_string!(PullMethod, "pull");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_and_result_are_acceptances() {
        assert_eq!(
            parse_acknowledgement(b"{}").unwrap(),
            Acknowledgement::Accepted {
                id: None,
                result: None
            }
        );
        assert!(matches!(
            parse_acknowledgement(br#"{"jsonrpc":"2.0","id":4,"result":{"ok":true}}"#).unwrap(),
            Acknowledgement::Accepted {
                id: Some(4),
                result: Some(_)
            }
        ));
    }

    #[test]
    fn an_error_object_is_a_refusal_with_its_reason() {
        let ack = parse_acknowledgement(
            br#"{"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"unknown closure code XYZ"}}"#,
        )
        .unwrap();
        match ack {
            Acknowledgement::Refused { error: e, .. } => {
                assert_eq!(e.code, -32602);
                assert!(e.message.contains("XYZ"));
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert!(matches!(
            parse_acknowledgement(b"<html>502</html>"),
            Err(ProtocolError::NotJson(_))
        ));
        assert!(matches!(
            parse_acknowledgement(b"[1,2]"),
            Err(ProtocolError::Malformed { .. })
        ));
        assert!(matches!(
            parse_acknowledgement(br#"{"error":{"code":1,"message":"no version"}}"#),
            Err(ProtocolError::Malformed { .. })
        ));
        assert!(matches!(
            parse_acknowledgement(br#"{"status":"maybe"}"#),
            Err(ProtocolError::Malformed { .. })
        ));
    }
}
