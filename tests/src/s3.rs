//! A real S3-compatible server for the photo upload tests: moto's S3 server, started per test
//! on a free loopback port, with presigned-URL authentication added in front of it (moto
//! alone accepts any signature; see `tests/python/moto_s3_sigv4.py`, which checks each
//! request with botocore's SigV4 against one key pair).
//!
//! Python comes from `JOBPACK_PYTHON` (exported by `scripts/test.sh`, which makes the
//! virtualenv `target/venv` with moto) or, failing that, `<workspace>/target/venv`. Without
//! either the test fails and says how to make it: it never skips silently.
//!
//! moto keeps everything in memory: [`MotoServer::restart`] brings the server back on the
//! same port (an outage, for the tests) with its buckets created again but empty.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use jobpack_core::photos::{PhotoStore, S3Config};
use jobpack_core::transport::Timeouts;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use tokio::process::{Child, Command};

/// The key pair the server accepts.
pub const ACCESS_KEY_ID: &str = "AKIAJOBPACKTEST00001";
pub const SECRET_ACCESS_KEY: &str = "jobpack/test/secret/key/not/a/real/one00";
pub const REGION: &str = "us-east-1";

/// One object as stored in the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    /// The `x-amz-checksum-sha256` the object was uploaded with, if any.
    pub checksum_sha256: Option<String>,
}

/// A running (or stopped) moto S3 server; killed on drop.
pub struct MotoServer {
    python: PathBuf,
    port: u16,
    buckets: Vec<String>,
    child: Option<Child>,
    http: reqwest::Client,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate lives in the workspace")
        .to_path_buf()
}

/// The Python with moto installed.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("JOBPACK_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join("target/venv/bin/python");
    if venv.is_file() {
        return venv;
    }
    panic!(
        "no Python with moto for the S3 tests: JOBPACK_PYTHON is not set and {} does not exist. \
         Run `bash scripts/test.sh` once (or `python3 -m venv target/venv && \
         target/venv/bin/pip install -r scripts/python-requirements.txt`).",
        venv.display()
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl MotoServer {
    /// Starts a server with `buckets` created.
    pub async fn start(buckets: &[&str]) -> Self {
        let mut server = Self {
            python: python(),
            port: free_port(),
            buckets: buckets.iter().map(|b| b.to_string()).collect(),
            child: None,
            http: reqwest::Client::builder()
                .no_proxy()
                // Fresh connections only: a kept-alive one may belong to a stopped server.
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
        };
        server.launch().await;
        server
    }

    async fn launch(&mut self) {
        let script = workspace_root().join("tests/python/moto_s3_sigv4.py");
        let mut child = Command::new(&self.python)
            .arg(&script)
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .env("JOBPACK_S3_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("JOBPACK_S3_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} {}: {e}; run `bash scripts/test.sh` to make the venv",
                    self.python.display(),
                    script.display()
                )
            });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let health = format!("{}/moto-api/data.json", self.endpoint());
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut err) = child.stderr.take() {
                    use tokio::io::AsyncReadExt;
                    let _ = err.read_to_string(&mut stderr).await;
                }
                panic!("moto exited at start ({status}): {stderr}");
            }
            if let Ok(r) = self.http.get(&health).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "moto did not answer on port {} within 60 s",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Its log is not read any more; a full pipe must not block it.
        drop(child.stderr.take());
        self.child = Some(child);
        for bucket in self.buckets.clone() {
            self.create_bucket(&bucket).await;
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// An uploader configuration for this server with the right keys, short timeouts.
    pub fn config(&self, bucket: &str) -> S3Config {
        let mut config = S3Config::new(
            self.endpoint(),
            REGION,
            bucket,
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
        );
        config.timeouts = Timeouts {
            connect: Duration::from_millis(500),
            request: Duration::from_secs(10),
        };
        config
    }

    /// Kills the server (an outage); the port stays reserved for [`MotoServer::restart`].
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts the server again on the same port, with its buckets created again (empty).
    pub async fn restart(&mut self) {
        self.stop().await;
        self.launch().await;
    }

    fn bucket(&self, name: &str) -> Bucket {
        Bucket::new(
            self.endpoint().parse().expect("endpoint URL"),
            UrlStyle::Path,
            name.to_owned(),
            REGION,
        )
        .expect("bucket")
    }

    fn credentials() -> Credentials {
        Credentials::new(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    }

    async fn create_bucket(&self, name: &str) {
        let bucket = self.bucket(name);
        let credentials = Self::credentials();
        let url = bucket
            .create_bucket(&credentials)
            .sign(Duration::from_secs(60));
        let response = self
            .http
            .put(url)
            .header("content-length", 0)
            .send()
            .await
            .expect("create bucket");
        assert!(
            response.status().is_success(),
            "create bucket {name}: {}",
            response.status()
        );
    }

    /// The object at `key` in `bucket`, or `None` if there is none.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Option<StoredObject> {
        let bucket = self.bucket(bucket);
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
            .expect("get object");
        if response.status().as_u16() == 404 {
            return None;
        }
        assert!(
            response.status().is_success(),
            "get {key}: {}",
            response.status()
        );
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header("content-type");
        let checksum_sha256 = header("x-amz-checksum-sha256");
        let bytes = response.bytes().await.expect("object body").to_vec();
        Some(StoredObject {
            bytes,
            content_type,
            checksum_sha256,
        })
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// A photo store in `dir` (a convenience for tests).
pub fn photo_store(dir: &Path) -> PhotoStore {
    PhotoStore::open(dir).expect("photo store")
}
