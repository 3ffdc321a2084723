//! CityFibre's calling side: `createJob`, `cancelJob` and `notifyJob` (ONT provisioning) sent
//! to a partner hub, with CityFibre's own client certificate, retried as a webhook sender
//! does.
//!
//! In production CityFibre calls the partner; the inbox the simulator keeps for `pull` is a
//! shortcut for testing phones alone. With a `PartnerCaller`, tests and the demo exercise the
//! real direction: the hub must answer each call only once it has stored it, and must absorb
//! the retries. A retry resends the *same* envelope (same id), alternating between the hub's
//! addresses, after a growing pause; a timeout, a dropped connection, a 5xx or a 429 is
//! retried, any other answer is final.

use std::time::Duration;

use jobpack_core::protocol::{
    CancelJob, InboundEnvelope, InboundMessage, JobPack, JobRef, OntProvisioning,
    ProvisioningNotice, RpcId, Timestamp,
};
use jobpack_core::transport::{TlsMaterial, client_config};
use serde_json::{Map, Value};

use crate::ClientIdentity;

/// How the caller reaches the hub.
#[derive(Debug, Clone)]
pub struct CallerConfig {
    /// The hub's CityFibre-side URLs (POSTed to `url + /createJob`, ...).
    pub urls: Vec<String>,
    /// CA certificates that sign the hub's server certificate.
    pub hub_anchors_pem: String,
    /// CityFibre's client identity (`Pki::cityfibre`).
    pub identity: ClientIdentity,
    /// Attempts per call, the first included.
    pub attempts: u32,
    /// The pause after the first failure; doubled each time.
    pub backoff: Duration,
    pub timeout: Duration,
}

/// Why a call did not get a 2xx answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("the partner refused the call (HTTP {status}): {body}")]
    Refused { status: u16, body: String },
    #[error("no answer after {attempts} attempts; last: {last}")]
    GaveUp { attempts: u32, last: String },
    #[error("caller configuration: {0}")]
    Config(String),
}

/// Sends CityFibre's calls to a partner.
pub struct PartnerCaller {
    client: reqwest::Client,
    config: CallerConfig,
    next_id: std::sync::atomic::AtomicU64,
}

impl PartnerCaller {
    pub fn new(config: CallerConfig) -> Result<Self, CallError> {
        let tls = client_config(&TlsMaterial {
            client_cert_pem: Some(config.identity.cert_pem.clone()),
            client_key_pem: Some(config.identity.key_pem.clone()),
            trust_anchors_pem: config.hub_anchors_pem.clone(),
            allow_plain_http_loopback: false,
        })
        .map_err(|e| CallError::Config(e.to_string()))?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(config.timeout)
            .no_proxy()
            .build()
            .map_err(|e| CallError::Config(e.to_string()))?;
        if config.urls.is_empty() {
            return Err(CallError::Config("no partner URL".into()));
        }
        Ok(Self {
            client,
            config,
            next_id: std::sync::atomic::AtomicU64::new(1),
        })
    }

    fn envelope(
        &self,
        job_ref: &str,
        message: InboundMessage,
    ) -> Result<InboundEnvelope, CallError> {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(InboundEnvelope {
            id: RpcId::new(id).map_err(|e| CallError::Config(e.to_string()))?,
            sent: Timestamp::now(),
            job_ref: JobRef::new(job_ref).map_err(|e| CallError::Config(e.to_string()))?,
            message,
            response: Value::Object(Map::new()),
            extra: Map::new(),
        })
    }

    /// Sends a job pack; returns the partner's answer (`{id, ref, providerJobId}`).
    pub async fn create_job(&self, job_ref: &str, pack: JobPack) -> Result<Value, CallError> {
        let envelope = self.envelope(job_ref, InboundMessage::CreateJob(Box::new(pack)))?;
        self.send(&envelope).await
    }

    pub async fn cancel_job(&self, job_ref: &str, reason: &str) -> Result<Value, CallError> {
        let cancel = CancelJob {
            reason: reason.to_owned(),
            cancelled_at: Some(Timestamp::now()),
            extra: Map::new(),
        };
        let envelope = self.envelope(job_ref, InboundMessage::CancelJob(cancel))?;
        self.send(&envelope).await
    }

    /// An ONT provisioning notice with the seed table's success flag for `status`.
    pub async fn provision(&self, job_ref: &str, status: u8) -> Result<Value, CallError> {
        self.provision_ont(job_ref, status, None).await
    }

    /// [`PartnerCaller::provision`] naming the ONT (FSAN, serial number) it is about.
    pub async fn provision_ont(
        &self,
        job_ref: &str,
        status: u8,
        ont: Option<(String, String)>,
    ) -> Result<Value, CallError> {
        let (fsan, serial_number) = ont.unzip();
        let notice = ProvisioningNotice {
            ont_provisioning: OntProvisioning {
                status_id: status,
                success: matches!(status, 1 | 2),
                details: None,
                fsan,
                serial_number,
                extra: Map::new(),
            },
            extra: Map::new(),
        };
        let envelope = self.envelope(job_ref, InboundMessage::Provisioning(notice))?;
        self.send(&envelope).await
    }

    /// Posts `envelope` to `/<method>`, retrying the same bytes until a final answer.
    pub async fn send(&self, envelope: &InboundEnvelope) -> Result<Value, CallError> {
        let body = serde_json::to_vec(envelope).map_err(|e| CallError::Config(e.to_string()))?;
        self.send_raw(envelope.message.method(), body).await
    }

    /// Posts raw bytes to `/<method>` with the same retry rules (for tests of refusals).
    pub async fn send_raw(&self, method: &str, body: Vec<u8>) -> Result<Value, CallError> {
        let attempts = self.config.attempts.max(1);
        let mut pause = self.config.backoff;
        let mut last = String::new();
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(pause).await;
                pause = pause.saturating_mul(2);
            }
            let url = &self.config.urls[attempt as usize % self.config.urls.len()];
            let sent = self
                .client
                .post(format!("{}/{method}", url.trim_end_matches('/')))
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let status = response.status().as_u16();
            let text = match response.text().await {
                Ok(text) => text,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            match status {
                200..=299 => {
                    return serde_json::from_str(&text).map_err(|e| CallError::Refused {
                        status,
                        body: format!("unreadable answer ({e}): {text}"),
                    });
                }
                408 | 429 | 500..=599 => last = format!("HTTP {status}: {text}"),
                _ => return Err(CallError::Refused { status, body: text }),
            }
        }
        Err(CallError::GaveUp { attempts, last })
    }
}
