//! A world for the hub's tests: the CityFibre simulator (both directions), the hub between it
//! and the phones, and core engines whose upstream is the hub. Loopback only.

#![allow(dead_code)]

pub mod postgres;

use std::path::Path;
use std::time::Duration;

use jobpack_core::engine::{Config, Engine};
use jobpack_core::protocol::{
    EngineerDetails, JobEvent, JobHeader, JobRef, Location, NotifyJob, OutboundCall,
    OutboundRequest, ProviderJobId, RpcId, Timestamp,
};
use jobpack_core::sync::{RetryPolicy, SyncPolicy};
use jobpack_core::transport::{Timeouts, TlsMaterial};
use jobpack_hub::{Backend, Hub, HubConfig, Identity, Role};
use jobpack_sim::{
    CallerConfig, FaultConfig, PartnerCaller, Pki, ProvisioningScript, SimConfig, Simulator,
};

/// Which database a test's hub runs on. Every hub test runs on both (`on_both!`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    /// The backend for a hub, starting a PostgreSQL server for it when needed (kept alive by
    /// the returned guard).
    pub fn backend(self) -> (Backend, Option<postgres::PgServer>) {
        match self {
            Kind::Sqlite => (Backend::Sqlite, None),
            Kind::Postgres => {
                let server = postgres::PgServer::start();
                (Backend::Postgres(server.url()), Some(server))
            }
        }
    }
}

/// Instantiates an async test once per backend: `mod name { fn sqlite; fn postgres }`.
#[macro_export]
macro_rules! on_both {
    ($(#[$meta:meta])* async fn $name:ident($kind:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $kind = $crate::common::Kind::Sqlite;
                $body
            }

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let $kind = $crate::common::Kind::Postgres;
                $body
            }
        }
    };
}

pub struct World {
    pub sim: Simulator,
    pub hub: Hub,
    pub cityfibre: PartnerCaller,
    pub dir: tempfile::TempDir,
    /// What the hub runs on (a restarted hub must use the same).
    pub backend: Backend,
    /// The PostgreSQL server, when there is one; dropped (stopped) after the hub.
    pub pg: Option<postgres::PgServer>,
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(20),
        max: Duration::from_millis(200),
    }
}

pub fn hub_config(dir: &Path, pki: &Pki, upstream: Vec<String>) -> HubConfig {
    let mut config = HubConfig::local(dir.join("hub"), pki.ca_cert_pem.clone());
    config.upstream = upstream;
    config.upstream_tls = TlsMaterial {
        client_cert_pem: Some(pki.partner.cert_pem.clone()),
        client_key_pem: Some(pki.partner.key_pem.clone()),
        trust_anchors_pem: pki.ca_cert_pem.clone(),
        allow_plain_http_loopback: false,
    };
    config.timeouts = Timeouts {
        connect: Duration::from_millis(500),
        request: Duration::from_millis(600),
    };
    config.retry = fast_retry();
    config.configuration_retry = Duration::from_millis(300);
    config
}

pub fn caller(hub: &Hub, pki: &Pki) -> PartnerCaller {
    PartnerCaller::new(CallerConfig {
        urls: vec![hub.cityfibre_url().to_owned()],
        hub_anchors_pem: hub.store().pki.ca_cert_pem.clone(),
        identity: pki.cityfibre.clone(),
        attempts: 5,
        backoff: Duration::from_millis(50),
        timeout: Duration::from_secs(2),
    })
    .expect("caller")
}

impl World {
    /// The simulator as CityFibre (two gateways, provisioning always `status`), the hub
    /// forwarding to it, engineers E001 and E002 known to the hub.
    pub async fn start(kind: Kind, status: u8) -> World {
        Self::start_with(kind, status, None).await
    }

    /// [`World::start`] with the hub presigning uploads to `photos`.
    pub async fn start_with(
        kind: Kind,
        status: u8,
        photos: Option<jobpack_hub::PhotoBucket>,
    ) -> World {
        Self::start_configured(kind, status, move |config| config.photos = photos).await
    }

    /// [`World::start`] with a last say on the hub's configuration (photos, listeners).
    pub async fn start_configured(
        kind: Kind,
        status: u8,
        configure: impl FnOnce(&mut HubConfig),
    ) -> World {
        let (backend, pg) = kind.backend();
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = Pki::generate(&["E001".to_owned()]).expect("pki");
        let sim = Simulator::start(
            SimConfig {
                listen: vec![
                    "127.0.0.1:0".parse().expect("addr"),
                    "127.0.0.1:0".parse().expect("addr"),
                ],
                engineers: vec!["E001".to_owned()],
                faults: FaultConfig {
                    delay: Duration::from_millis(900),
                    ..FaultConfig::default()
                },
                provisioning: ProvisioningScript::always(status),
                retry_delay: Duration::from_millis(100),
                clock_skew_ms: 0,
            },
            pki.clone(),
        )
        .await
        .expect("simulator");
        let mut config = hub_config(dir.path(), &pki, sim.urls());
        config.backend = backend.clone();
        configure(&mut config);
        let hub = Hub::start(config).await.expect("hub");
        for id in ["E001", "E002"] {
            hub.store().add_engineer(&engineer(id)).expect("engineer");
        }
        let cityfibre = caller(&hub, &pki);
        World {
            sim,
            hub,
            cityfibre,
            dir,
            backend,
            pg,
        }
    }

    /// A device certificate for `engineer`, as TLS material for the core.
    pub fn device(&self, device_id: &str, engineer: &str) -> TlsMaterial {
        let identity = self
            .hub
            .store()
            .issue_device(device_id, Some(engineer), Role::Device)
            .expect("device certificate");
        self.tls(identity)
    }

    pub fn tls(&self, identity: Identity) -> TlsMaterial {
        TlsMaterial {
            client_cert_pem: Some(identity.cert_pem),
            client_key_pem: Some(identity.key_pem),
            trust_anchors_pem: self.hub.store().pki.ca_cert_pem.clone(),
            allow_plain_http_loopback: false,
        }
    }

    /// An unmodified core engine whose upstream is the hub.
    pub fn engine(&self, engineer_id: &str, tls: TlsMaterial) -> Engine {
        let config = self.engine_config(engineer_id, tls);
        Engine::open_on(config, &tokio::runtime::Handle::current(), None).expect("engine opens")
    }

    /// The configuration [`World::engine`] uses.
    pub fn engine_config(&self, engineer_id: &str, tls: TlsMaterial) -> Config {
        Config {
            database: self.dir.path().join(format!("{engineer_id}.sqlite")),
            database_key: None,
            endpoints: vec![self.hub.device_url().to_owned()],
            tls,
            timeouts: Timeouts {
                connect: Duration::from_millis(500),
                request: Duration::from_millis(800),
            },
            engineer: engineer(engineer_id),
            partner_catalogue: None,
            sync: SyncPolicy {
                retry: fast_retry(),
                configuration_retry: Duration::from_millis(300),
                pull_interval: Duration::from_secs(30),
                ..SyncPolicy::default()
            },
            start_online: true,
            closure_matrix: None,
            photos: Default::default(),
        }
    }
}

/// A phone's notifyJob "en route" for a job, as the JSON-RPC body it pushes.
pub fn en_route(job_ref: &str, provider_job_id: &str, id: u64) -> Vec<u8> {
    let request = OutboundRequest {
        id: RpcId::new(id).expect("id"),
        call: OutboundCall::NotifyJob(NotifyJob {
            job_header: JobHeader {
                job_ref: JobRef::new(job_ref).expect("ref"),
                provider_job_id: ProviderJobId::new(provider_job_id).expect("id"),
            },
            event_time: Timestamp::now(),
            event: JobEvent::EnRoute(Location::new(53.8, -1.55, 5.0).expect("location")),
        }),
    };
    serde_json::to_vec(&request).expect("json")
}

pub fn engineer(id: &str) -> EngineerDetails {
    EngineerDetails {
        engineer_id: id.to_owned(),
        name: format!("Engineer {id}"),
        phone: "+44 7700 900123".to_owned(),
        company: Some("Example Installs".to_owned()),
    }
}

/// Waits until `check` holds; false after `limit`.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = tokio::time::Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

/// An HTTPS client with `tls` (for raw requests to the hub's device side).
pub fn client(tls: &TlsMaterial) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(jobpack_core::transport::client_config(tls).expect("tls"))
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .expect("client")
}

/// POSTs JSON to the device side; (status, body).
pub async fn post(
    world: &World,
    tls: &TlsMaterial,
    path: &str,
    key: Option<&str>,
    body: Vec<u8>,
) -> Result<(u16, serde_json::Value), reqwest::Error> {
    let mut request = client(tls)
        .post(format!("{}{path}", world.hub.device_url()))
        .header("content-type", "application/json")
        .body(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    ))
}

/// One `pull` page as raw JSON.
pub async fn raw_pull(world: &World, tls: &TlsMaterial, cursor: Option<&str>) -> serde_json::Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "pull", "params": {"cursor": cursor}});
    let (status, page) = post(world, tls, "/pull", None, body.to_string().into_bytes())
        .await
        .expect("pull");
    assert_eq!(status, 200, "{page}");
    page
}

/// A browser-like HTTPS client for the back-office board: trusts the hub CA, no client
/// certificate, follows no redirects, keeps the session cookie by hand.
pub struct BoardClient {
    http: reqwest::Client,
    pub base: String,
    pub cookie: Option<String>,
}

/// A board answer: status, `Location`, `Set-Cookie` and body.
pub struct BoardAnswer {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub body: String,
}

/// `application/x-www-form-urlencoded` of `fields`.
pub fn form(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl BoardClient {
    pub fn new(world: &World) -> BoardClient {
        let tls = TlsMaterial {
            client_cert_pem: None,
            client_key_pem: None,
            trust_anchors_pem: world.hub.store().pki.ca_cert_pem.clone(),
            allow_plain_http_loopback: false,
        };
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(jobpack_core::transport::client_config(&tls).expect("tls"))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .expect("client");
        BoardClient {
            http,
            base: world.hub.board_url().expect("the board is on").to_owned(),
            cookie: None,
        }
    }

    async fn answer(&self, request: reqwest::RequestBuilder) -> BoardAnswer {
        let request = match &self.cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        };
        let response = request.send().await.expect("the board answers");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (location, set_cookie) = (header("location"), header("set-cookie"));
        let status = response.status().as_u16();
        BoardAnswer {
            status,
            location,
            set_cookie,
            body: response.text().await.expect("body"),
        }
    }

    pub async fn get(&self, path: &str) -> BoardAnswer {
        self.answer(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> BoardAnswer {
        self.answer(
            self.http
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(fields)),
        )
        .await
    }

    /// Logs in with `token`; keeps the session cookie when granted.
    pub async fn login(&mut self, token: &str) -> BoardAnswer {
        let answer = self.post("/login", &[("token", token)]).await;
        if let Some(set) = &answer.set_cookie {
            self.cookie = set.split(';').next().map(str::to_owned);
        }
        answer
    }

    /// The session's CSRF token, read from the jobs page's forms.
    pub async fn csrf(&self) -> String {
        let page = self.get("/jobs").await;
        let marker = "name=\"csrf\" value=\"";
        let start = page.body.find(marker).expect("a form with a CSRF token") + marker.len();
        let end = page.body[start..].find('"').expect("end of value") + start;
        page.body[start..end].to_owned()
    }
}

/// The board token of a world's hub.
pub fn board_token(world: &World) -> String {
    jobpack_hub::board::load_or_create_token(&world.dir.path().join("hub")).expect("token")
}
