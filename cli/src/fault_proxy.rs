//! Faults between the phones and the hub, for `jobpack demo` through the hub.
//!
//! The simulator injects faults into what reaches CityFibre, but in hub mode the phones talk
//! to the hub, which has (rightly) no fault injection of its own. So the demo puts this TCP
//! proxy in front of the hub's device side: the phones' only endpoint is the proxy, and it
//! passes the TLS bytes through untouched (the phones still verify the hub's certificate and
//! the hub still sees each device's certificate). A share of connections meet a fault that a
//! mobile network produces: refused at once, stalled past the phone's timeout, or cut a random
//! moment after it opened, which sometimes falls after the hub committed a push and before
//! its answer reached the phone (the case the `Idempotency-Key` dedup exists for). Faults are
//! decided per connection from a seeded random source. Loopback only.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running proxy; dropping it stops accepting.
pub struct FaultProxy {
    addr: SocketAddr,
    faults: Arc<Mutex<BTreeMap<&'static str, u64>>>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards each connection to `target`, a share
    /// `rate` (0 to 1) of them with a fault.
    pub async fn start(target: SocketAddr, rate: f64, seed: u64) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let faults = Arc::new(Mutex::new(BTreeMap::new()));
        let rng = Arc::new(Mutex::new(fastrand::Rng::with_seed(seed)));
        let counted = Arc::clone(&faults);
        let task = tokio::spawn(async move {
            loop {
                let client = match listener.accept().await {
                    Ok((client, _)) => client,
                    // Out of file descriptors, say: wait instead of spinning.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (fault, cut_after) = {
                    let mut rng = rng.lock().unwrap_or_else(PoisonError::into_inner);
                    let fault = if rng.f64() < rate {
                        Some(match rng.u8(0..3) {
                            0 => "refused",
                            1 => "stalled",
                            _ => "cut",
                        })
                    } else {
                        None
                    };
                    (fault, Duration::from_millis(rng.u64(20..400)))
                };
                if let Some(name) = fault {
                    *counted
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .entry(name)
                        .or_default() += 1;
                }
                tokio::spawn(serve(client, target, fault, cut_after));
            }
        });
        Ok(FaultProxy { addr, faults, task })
    }

    /// The URL the phones use instead of the hub's.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The faults injected so far, by kind.
    pub fn faults(&self) -> BTreeMap<String, u64> {
        self.faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut client: TcpStream,
    target: SocketAddr,
    fault: Option<&'static str>,
    cut_after: Duration,
) {
    match fault {
        Some("refused") => return,
        Some("stalled") => {
            // Longer than the phone's request timeout; then the line goes dead.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            return;
        }
        _ => {}
    }
    // The hub being down (its restart) looks to the phone like a refused connection.
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    let relay = tokio::io::copy_bidirectional(&mut client, &mut upstream);
    if fault == Some("cut") {
        let _ = tokio::time::timeout(cut_after, relay).await;
    } else {
        let _ = relay.await;
    }
}
