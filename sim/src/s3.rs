//! A stand-in for CityFibre's shared S3 bucket: moto's S3 server, run as a child process on a
//! free loopback port, with presigned SigV4 checked in front of it.
//!
//! Photos are uploaded to a bucket CityFibre owns, so the tests and the demo need a real
//! S3-compatible server, not a fake inside the client. moto is that server, but on its own it
//! accepts any signature; `python/s3_stand_in.py` (embedded here and run with `python -c`, so
//! the demo binary needs no source tree) checks each presigned request with botocore's SigV4
//! against one key pair and answers like S3 (403 InvalidAccessKeyId / SignatureDoesNotMatch).
//!
//! The Python comes from `JOBPACK_PYTHON` (exported by `scripts/test.sh` and
//! `scripts/demo.sh`, which make the virtualenv `target/venv`), else `target/venv` under the
//! current directory or the workspace this crate was built from. moto keeps objects in memory:
//! [`S3StandIn::restart`] brings the server back on the same port with empty buckets (an
//! outage, for the tests).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use jobpack_core::photos::S3Config;
use jobpack_core::transport::Timeouts;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use tokio::process::{Child, Command};

/// The key pair the stand-in accepts.
pub const ACCESS_KEY_ID: &str = "AKIAJOBPACKTEST00001";
pub const SECRET_ACCESS_KEY: &str = "jobpack/test/secret/key/not/a/real/one00";
pub const REGION: &str = "us-east-1";

const SCRIPT: &str = include_str!("../python/s3_stand_in.py");
const START_LIMIT: Duration = Duration::from_secs(60);

/// Why the stand-in could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error(
        "no Python with moto: set JOBPACK_PYTHON, or make the virtualenv with `bash scripts/test.sh` (or `python3 -m venv target/venv && target/venv/bin/pip install -r scripts/python-requirements.txt`); looked for {looked}"
    )]
    NoPython { looked: String },
    #[error("cannot start the S3 stand-in with {python}: {reason}")]
    Start { python: PathBuf, reason: String },
    #[error("S3 stand-in request failed: {0}")]
    Request(String),
}

/// One object as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    /// The `x-amz-checksum-sha256` the object was uploaded with, if any.
    pub checksum_sha256: Option<String>,
}

/// A running (or stopped) S3 stand-in; killed on drop.
pub struct S3StandIn {
    python: PathBuf,
    port: u16,
    buckets: Vec<String>,
    child: Option<Child>,
    http: reqwest::Client,
}

/// The Python with moto, per the module's rules.
pub fn find_python() -> Result<PathBuf, S3Error> {
    if let Some(p) = std::env::var_os("JOBPACK_PYTHON").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|root| root.join("target/venv/bin/python"));
    let candidates: Vec<PathBuf> = std::iter::once(PathBuf::from("target/venv/bin/python"))
        .chain(built_in)
        .collect();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| S3Error::NoPython {
            looked: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

fn free_port() -> Result<u16, std::io::Error> {
    std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()
        .map(|a| a.port())
}

impl S3StandIn {
    /// Starts a server with `buckets` created, with the Python [`find_python`] finds.
    pub async fn start(buckets: &[&str]) -> Result<Self, S3Error> {
        Self::start_with(find_python()?, buckets).await
    }

    /// Starts a server with `buckets` created, with this Python.
    pub async fn start_with(python: PathBuf, buckets: &[&str]) -> Result<Self, S3Error> {
        let start_error = |reason: String| S3Error::Start {
            python: python.clone(),
            reason,
        };
        let port = free_port().map_err(|e| start_error(format!("no free port: {e}")))?;
        let http = reqwest::Client::builder()
            .no_proxy()
            // Fresh connections only: a kept-alive one may belong to a stopped server.
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| start_error(format!("HTTP client: {e}")))?;
        let mut server = Self {
            python,
            port,
            buckets: buckets.iter().map(|b| b.to_string()).collect(),
            child: None,
            http,
        };
        server.launch().await?;
        Ok(server)
    }

    async fn launch(&mut self) -> Result<(), S3Error> {
        let start_error = |reason: String| S3Error::Start {
            python: self.python.clone(),
            reason,
        };
        let mut child = Command::new(&self.python)
            .args([
                "-c",
                SCRIPT,
                "-H",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
            ])
            .env("JOBPACK_S3_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("JOBPACK_S3_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| start_error(e.to_string()))?;
        let deadline = tokio::time::Instant::now() + START_LIMIT;
        let health = format!("{}/moto-api/data.json", self.endpoint());
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut err) = child.stderr.take() {
                    use tokio::io::AsyncReadExt;
                    let _ = err.read_to_string(&mut stderr).await;
                }
                return Err(start_error(format!("exited at start ({status}): {stderr}")));
            }
            if let Ok(r) = self.http.get(&health).send().await
                && r.status().is_success()
            {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(start_error(format!(
                    "no answer on port {} within {} s",
                    self.port,
                    START_LIMIT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Its log is not read any more; a full pipe must not block it.
        drop(child.stderr.take());
        self.child = Some(child);
        for bucket in self.buckets.clone() {
            self.create_bucket(&bucket).await?;
        }
        Ok(())
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// An uploader configuration for this server with its keys and short timeouts.
    pub fn config(&self, bucket: &str) -> S3Config {
        let mut config = S3Config::new(
            self.endpoint(),
            REGION,
            bucket,
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
        );
        // The stand-in listens on loopback without TLS: the QA exception, stated here.
        config.allow_plain_http_loopback = true;
        config.timeouts = Timeouts {
            connect: Duration::from_millis(500),
            request: Duration::from_secs(10),
        };
        config
    }

    /// Kills the server (an outage); the port stays reserved for [`S3StandIn::restart`].
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts the server again on the same port, with its buckets created again (empty).
    pub async fn restart(&mut self) -> Result<(), S3Error> {
        self.stop().await;
        self.launch().await
    }

    fn bucket(&self, name: &str) -> Result<Bucket, S3Error> {
        let url = self
            .endpoint()
            .parse()
            .map_err(|e| S3Error::Request(format!("endpoint: {e}")))?;
        Bucket::new(url, UrlStyle::Path, name.to_owned(), REGION)
            .map_err(|e| S3Error::Request(format!("bucket {name}: {e}")))
    }

    fn credentials() -> Credentials {
        Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    }

    async fn create_bucket(&self, name: &str) -> Result<(), S3Error> {
        let url = self
            .bucket(name)?
            .create_bucket(&Self::credentials())
            .sign(Duration::from_secs(60));
        let response = self
            .http
            .put(url)
            .header("content-length", 0)
            .send()
            .await
            .map_err(|e| S3Error::Request(format!("create bucket {name}: {e}")))?;
        if !response.status().is_success() {
            return Err(S3Error::Request(format!(
                "create bucket {name}: {}",
                response.status()
            )));
        }
        Ok(())
    }

    /// The object at `key` in `bucket`, or `None` if there is none.
    pub async fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<StoredObject>, S3Error> {
        let bucket = self.bucket(bucket)?;
        let credentials = Self::credentials();
        let mut action = bucket.get_object(Some(&credentials), key);
        action
            .headers_mut()
            .insert("x-amz-checksum-mode", "ENABLED");
        let url = action.sign(Duration::from_secs(60));
        let response = self
            .http
            .get(url)
            .header("x-amz-checksum-mode", "ENABLED")
            .send()
            .await
            .map_err(|e| S3Error::Request(format!("get {key}: {e}")))?;
        if response.status().as_u16() == 404 {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(S3Error::Request(format!(
                "get {key}: {}",
                response.status()
            )));
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type");
        let checksum_sha256 = header("x-amz-checksum-sha256");
        let bytes = response
            .bytes()
            .await
            .map_err(|e| S3Error::Request(format!("get {key}: {e}")))?
            .to_vec();
        Ok(Some(StoredObject {
            bytes,
            content_type,
            checksum_sha256,
        }))
    }
}

impl Drop for S3StandIn {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}
