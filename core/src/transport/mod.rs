//! HTTPS with mutual TLS to a CityFibre-compatible endpoint (the partner hub, the simulator,
//! or CityFibre's gateways), and the mapping of everything that can go wrong to typed errors.
//!
//! TLS is rustls with the ring provider (no OpenSSL anywhere in the core). The client
//! certificate and key arrive as PEM at run time — on a phone they come out of the platform
//! keystore — and are only ever held in memory; trust anchors are given explicitly, because
//! the partner's private CA is not in any system store and the public roots should not be
//! trusted for this link. The photo uploads (`photos::s3`) use the same configuration
//! ([`rustls_config`]), the same `Retry-After` reading and the same bounded body reads: there is
//! one HTTP/TLS set-up in the core.
//!
//! What the sync engine needs from a failure is its *class*: transient (retry with backoff,
//! maybe on the other gateway), permanent (park the message with the server's reason), and
//! whether the request may already have been processed ("maybe delivered": resend with the
//! same key). [`TransportError`] carries exactly that.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::Value;

use crate::clock::TrustedClock;
use crate::protocol::{Acknowledgement, Timestamp, parse_acknowledgement};

/// Certificates for the link, as PEM text.
#[derive(Clone, Default)]
pub struct TlsMaterial {
    /// The device's client certificate (chain), PEM. `None` only for tests of refusal.
    pub client_cert_pem: Option<String>,
    /// The device's private key, PEM. Held in memory only.
    pub client_key_pem: Option<String>,
    /// CA certificates that may sign the server's certificate, PEM.
    pub trust_anchors_pem: String,
    /// QA only: accept `http://` endpoints on a loopback address (a local stand-in without
    /// TLS). Every other endpoint must be `https://` whatever this says.
    pub allow_plain_http_loopback: bool,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("client_cert", &self.client_cert_pem.is_some())
            .field(
                "client_key",
                &self.client_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_plain_http_loopback", &self.allow_plain_http_loopback)
            .finish_non_exhaustive()
    }
}

/// Time limits of one request.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(30),
        }
    }
}

/// Everything that can go wrong talking to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("transport configuration: {0}")]
    Config(String),
    #[error("cannot reach {endpoint}: {reason}")]
    Connect { endpoint: String, reason: String },
    #[error("TLS with {endpoint} failed: {reason}")]
    Tls { endpoint: String, reason: String },
    #[error("{endpoint} did not answer in time{}", if *.after_sending { " (the request may have arrived)" } else { "" })]
    Timeout {
        endpoint: String,
        after_sending: bool,
    },
    #[error("connection to {endpoint} was lost: {reason}")]
    ConnectionLost { endpoint: String, reason: String },
    #[error("{endpoint} answered HTTP {status}")]
    Server { endpoint: String, status: u16 },
    #[error("{endpoint} asks to slow down (HTTP 429){}", .retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        endpoint: String,
        retry_after: Option<Duration>,
    },
    #[error("{endpoint} answered with something that is not an acknowledgement: {reason}")]
    BadResponse { endpoint: String, reason: String },
    #[error("refused by {endpoint} (HTTP {status}{}): {message}", .code.map(|c| format!(", code {c}")).unwrap_or_default())]
    Rejected {
        endpoint: String,
        status: u16,
        code: Option<i64>,
        message: String,
    },
    /// The item itself can never be sent as it is (an upload whose local file is damaged or
    /// gone): retrying cannot help, so it is parked like a refusal.
    #[error("cannot be sent: {0}")]
    Unsendable(String),
}

/// How the sync engine should treat a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Try again later, possibly elsewhere.
    Transient,
    /// The message itself is refused: park it.
    Permanent,
    /// Nothing will work until the configuration changes (certificates): keep the queue,
    /// retry slowly, and tell the UI.
    Configuration,
}

impl TransportError {
    pub fn class(&self) -> FailureClass {
        match self {
            Self::Rejected { .. } | Self::Unsendable(_) => FailureClass::Permanent,
            Self::Config(_) | Self::Tls { .. } => FailureClass::Configuration,
            _ => FailureClass::Transient,
        }
    }

    /// The request may have been processed although no acknowledgement came back.
    pub fn maybe_delivered(&self) -> bool {
        matches!(
            self,
            Self::Timeout {
                after_sending: true,
                ..
            } | Self::ConnectionLost { .. }
                | Self::BadResponse { .. }
        )
    }

    /// The server asked for a pause.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The failure in words fit for a log record: the class of failure, the endpoint and the
    /// status, never the server's own words or a body, which may quote a customer's details
    /// (those stay in the outbox row, on the device).
    pub fn log_summary(&self) -> String {
        match self {
            Self::BadResponse { endpoint, .. } => {
                format!("{endpoint} answered with something that is not an acknowledgement")
            }
            Self::Rejected {
                endpoint,
                status,
                code,
                ..
            } => format!(
                "refused by {endpoint} (HTTP {status}{})",
                code.map(|c| format!(", code {c}")).unwrap_or_default()
            ),
            Self::Unsendable(_) => "cannot be sent as it is (its local file)".into(),
            other => other.to_string(),
        }
    }

    /// The endpoint itself looks unhealthy: worth trying the other gateway.
    pub fn suggests_failover(&self) -> bool {
        matches!(
            self,
            Self::Connect { .. }
                | Self::Timeout { .. }
                | Self::ConnectionLost { .. }
                | Self::Server { .. }
                | Self::BadResponse { .. }
        )
    }
}

/// Uploads a file before the messages that reference it (closure photos). An upload item's
/// body says what to upload; the uploader knows where to. Its errors use the transport's
/// classes, so uploads retry, fail over and park like messages. The sync loop calls it;
/// `photos::s3::S3Uploader` implements it: both sit above this module.
pub trait Uploader: Send + Sync {
    fn upload<'a>(
        &'a self,
        item_body: &'a [u8],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), TransportError>> + Send + 'a>>;
}

/// Most bytes of an answer read from an endpoint: an acknowledgement is tiny and a pull page
/// of 100 job packs is well under a megabyte; a broken or hostile server cannot make the phone
/// buffer more than this.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Most bytes of a server's own words (an error message, a body) quoted in an error.
pub const MAX_QUOTED: usize = 500;

/// Checks that `url` may carry the engineer's data: `https://` always; `http://` only when
/// `allow_plain_http_loopback` is set (QA) and the host is a loopback address, so no message
/// and no credential ever crosses a network in plaintext.
pub fn check_endpoint(url: &str, allow_plain_http_loopback: bool) -> Result<(), TransportError> {
    let quoted = crate::text::prefix(url, 200);
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| TransportError::Config(format!("endpoint {quoted:?}: {e}")))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if allow_plain_http_loopback && is_loopback(&parsed) => Ok(()),
        "http" if allow_plain_http_loopback => Err(TransportError::Config(format!(
            "endpoint {quoted:?}: plain http is allowed for loopback addresses only"
        ))),
        "http" => Err(TransportError::Config(format!(
            "endpoint {quoted:?}: must be https:// (plain http only for a loopback test server, with the QA flag)"
        ))),
        other => Err(TransportError::Config(format!(
            "endpoint {quoted:?}: scheme {:?} is not https",
            crate::text::prefix(other, 20)
        ))),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// Reads a response body, refusing (without buffering it) one larger than `max` bytes.
pub(crate) async fn read_body(
    endpoint: &str,
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, TransportError> {
    let too_large = |n: String| TransportError::BadResponse {
        endpoint: endpoint.to_owned(),
        reason: format!("the answer is {n} bytes, more than the {max} this client reads"),
    };
    if let Some(length) = response.content_length() {
        if length > max as u64 {
            return Err(too_large(length.to_string()));
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| classify_send_error(endpoint, &e))?
    {
        if body.len() + chunk.len() > max {
            return Err(too_large(format!("over {}", body.len() + chunk.len())));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads at most `max` bytes of a body whose rest does not matter (an error document quoted
/// in a refusal); a failure part-way keeps what was read.
pub(crate) async fn read_prefix(mut response: reqwest::Response, max: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = max.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= max {
            break;
        }
    }
    body
}

/// An HTTPS client for a list of equivalent endpoints.
#[derive(Debug, Clone)]
pub struct Transport {
    client: reqwest::Client,
    endpoints: Vec<String>,
    /// Learns the servers' time from every response's `Date` header, when set.
    clock: Option<Arc<TrustedClock>>,
}

impl Transport {
    pub fn new(
        endpoints: Vec<String>,
        tls: &TlsMaterial,
        timeouts: Timeouts,
    ) -> Result<Self, TransportError> {
        for endpoint in &endpoints {
            check_endpoint(endpoint, tls.allow_plain_http_loopback)?;
        }
        let mut builder = reqwest::Client::builder();
        // A QA set-up of plain-http loopback stand-ins only needs no certificates at all.
        let all_plain = !endpoints.is_empty() && endpoints.iter().all(|e| e.starts_with("http:"));
        if !(all_plain && tls.trust_anchors_pem.trim().is_empty()) {
            builder = builder.use_preconfigured_tls(client_config(tls)?);
        }
        let client = builder
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .pool_max_idle_per_host(8)
            .no_proxy()
            .build()
            .map_err(|e| TransportError::Config(e.to_string()))?;
        let endpoints = endpoints
            .into_iter()
            .map(|e| e.trim_end_matches('/').to_owned())
            .collect();
        Ok(Self {
            client,
            endpoints,
            clock: None,
        })
    }

    /// Every response's `Date` header (errors and refusals included: the server's clock is
    /// right either way) teaches `clock` the offset between the device's time and the server's.
    pub fn with_clock(mut self, clock: Arc<TrustedClock>) -> Self {
        self.clock = Some(clock);
        self
    }

    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// POSTs `body` to `path` on endpoint `index` and reads the acknowledgement. Returns the
    /// JSON-RPC result (`None` for CityFibre's bare `{}`).
    pub async fn call(
        &self,
        index: usize,
        path: &str,
        body: Vec<u8>,
        idempotency_key: Option<&str>,
    ) -> Result<Option<Value>, TransportError> {
        let endpoint = self
            .endpoints
            .get(index)
            .ok_or_else(|| TransportError::Config(format!("no endpoint {index}")))?;
        let mut request = self
            .client
            .post(format!("{endpoint}{path}"))
            .header("content-type", "application/json")
            .body(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| classify_send_error(endpoint, &e))?;
        if let Some(clock) = &self.clock
            && let Some(date) = response.headers().get("date")
            && let Ok(date) = date.to_str()
        {
            clock.observe_date_header(date, Timestamp::now());
        }
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let bytes = read_body(endpoint, response, MAX_RESPONSE_BYTES).await?;
        let endpoint = endpoint.clone();
        match status {
            200..=299 => match parse_acknowledgement(&bytes) {
                Ok(Acknowledgement::Accepted { result, .. }) => Ok(result),
                Ok(Acknowledgement::Refused { error, .. }) => Err(TransportError::Rejected {
                    endpoint,
                    status,
                    code: Some(error.code),
                    message: crate::text::prefix(&error.message, MAX_QUOTED),
                }),
                Err(e) => Err(TransportError::BadResponse {
                    endpoint,
                    reason: e.to_string(),
                }),
            },
            429 => Err(TransportError::RateLimited {
                endpoint,
                retry_after,
            }),
            408 | 500..=599 => Err(TransportError::Server { endpoint, status }),
            _ => {
                let (code, message) = match parse_acknowledgement(&bytes) {
                    Ok(Acknowledgement::Refused { error, .. }) => (
                        Some(error.code),
                        crate::text::prefix(&error.message, MAX_QUOTED),
                    ),
                    _ => (
                        None,
                        crate::text::prefix(&String::from_utf8_lossy(&bytes), MAX_QUOTED),
                    ),
                };
                Err(TransportError::Rejected {
                    endpoint,
                    status,
                    code,
                    message,
                })
            }
        }
    }
}

/// The rustls client configuration the transport uses (ring provider, the given anchors and
/// client identity, HTTP/1.1). Public so benchmarks can compare against a bare client.
pub fn client_config(tls: &TlsMaterial) -> Result<rustls::ClientConfig, TransportError> {
    let identity = match (&tls.client_cert_pem, &tls.client_key_pem) {
        (Some(cert), Some(key)) => Some((cert.as_str(), key.as_str())),
        (None, None) => None,
        _ => {
            return Err(TransportError::Config(
                "a client certificate needs its key, and a key its certificate".into(),
            ));
        }
    };
    rustls_config("", &tls.trust_anchors_pem, identity)
}

/// The one rustls client configuration of the core, for the JSON-RPC link and for S3: the ring
/// provider, rustls' safe protocol versions, only the given trust anchors (no public roots),
/// an optional client identity (certificate chain and key, PEM) and HTTP/1.1. `what` prefixes
/// every refusal ("S3 " for the photo store), so the user knows which settings are wrong.
pub(crate) fn rustls_config(
    what: &str,
    trust_anchors_pem: &str,
    identity: Option<(&str, &str)>,
) -> Result<rustls::ClientConfig, TransportError> {
    let config_err = |part: &str, e: &dyn std::fmt::Display| {
        TransportError::Config(format!("{what}{part}: {e}"))
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(trust_anchors_pem.as_bytes()) {
        let cert = cert.map_err(|e| config_err("trust anchors", &e))?;
        roots
            .add(cert)
            .map_err(|e| config_err("trust anchor", &e))?;
    }
    if roots.is_empty() {
        return Err(TransportError::Config(format!(
            "{what}trust anchors: no trust anchors given (the PEM holds no certificate)"
        )));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_err("TLS versions", &e))?
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| config_err("client certificate", &e))?;
            if chain.is_empty() {
                return Err(TransportError::Config(format!(
                    "{what}client certificate PEM holds no certificate"
                )));
            }
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                .map_err(|e| config_err("client key", &e))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| config_err("client identity", &e))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The pause a `Retry-After` header asks for, in its delay-seconds form (the form CityFibre,
/// the hub and S3 send). An HTTP date or anything unreadable gives `None`: the backoff's own
/// delay then applies.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Finds a TLS error anywhere in the chain. `io::Error` hides its payload from `source()`,
/// so it is unwrapped by hand.
fn tls_cause(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
                    return Some(tls.to_string());
                }
                if let Some(found) = tls_cause(inner) {
                    return Some(found);
                }
            }
        }
        current = e.source();
    }
    None
}

fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut current = error.source();
    while let Some(e) = current {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// What a failed reqwest call means for delivery (shared with the S3 uploader, whose
/// requests fail the same ways).
pub(crate) fn classify_send_error(endpoint: &str, error: &reqwest::Error) -> TransportError {
    let endpoint = endpoint.to_owned();
    if let Some(reason) = tls_cause(error) {
        return TransportError::Tls { endpoint, reason };
    }
    if error.is_timeout() {
        return TransportError::Timeout {
            endpoint,
            after_sending: !error.is_connect(),
        };
    }
    if error.is_connect() {
        return TransportError::Connect {
            endpoint,
            reason: describe(error),
        };
    }
    TransportError::ConnectionLost {
        endpoint,
        reason: describe(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_delay_seconds_only() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", " 7 ".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            retry_after(&headers),
            None,
            "an HTTP date: the backoff decides"
        );
        headers.insert("retry-after", "-3".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn one_rustls_setup_names_the_settings_it_refuses() {
        let refused = |what: &str, anchors: &str| match rustls_config(what, anchors, None) {
            Err(TransportError::Config(reason)) => reason,
            other => panic!("{other:?}"),
        };
        assert!(refused("", "").starts_with("trust anchors: no trust anchors"));
        assert!(refused("S3 ", "not pem").starts_with("S3 trust anchors"));
        let tls = TlsMaterial {
            client_cert_pem: Some(String::new()),
            ..TlsMaterial::default()
        };
        assert!(matches!(
            client_config(&tls),
            Err(TransportError::Config(reason)) if reason.contains("needs its key")
        ));
    }
}
