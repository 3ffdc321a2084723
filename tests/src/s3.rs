//! The simulator's S3 stand-in ([`jobpack_sim::s3`]) for tests: the same server, with
//! failures turned into test failures that say what to do (a missing virtualenv fails the
//! test with instructions; it never skips silently).

use std::path::Path;

use jobpack_core::photos::{PhotoStore, S3Config};
use jobpack_sim::s3::S3StandIn;
pub use jobpack_sim::s3::{ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, StoredObject};

/// A running (or stopped) S3 stand-in; killed on drop.
pub struct MotoServer(S3StandIn);

impl MotoServer {
    /// Starts a server with `buckets` created.
    pub async fn start(buckets: &[&str]) -> Self {
        match S3StandIn::start(buckets).await {
            Ok(server) => Self(server),
            Err(e) => panic!("{e}"),
        }
    }

    pub fn endpoint(&self) -> String {
        self.0.endpoint()
    }

    /// An uploader configuration for this server with its keys and short timeouts.
    pub fn config(&self, bucket: &str) -> S3Config {
        self.0.config(bucket)
    }

    /// Kills the server (an outage); the port stays reserved for [`MotoServer::restart`].
    pub async fn stop(&mut self) {
        self.0.stop().await;
    }

    /// Starts the server again on the same port, with its buckets created again (empty).
    pub async fn restart(&mut self) {
        if let Err(e) = self.0.restart().await {
            panic!("{e}");
        }
    }

    /// The object at `key` in `bucket`, or `None` if there is none.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Option<StoredObject> {
        match self.0.get_object(bucket, key).await {
            Ok(object) => object,
            Err(e) => panic!("{e}"),
        }
    }
}

/// A photo store in `dir` (a convenience for tests).
pub fn photo_store(dir: &Path) -> PhotoStore {
    PhotoStore::open(dir).expect("photo store")
}
