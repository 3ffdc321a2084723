//! Transport rules against real sockets: only https leaves the machine, a response body has a
//! size limit, and an explicit sync retries every waiting item at once.
//!
//! The servers here are plain-HTTP loopback stand-ins (the QA exception the rules allow), so
//! the tests need no certificates; the mutual-TLS paths are covered by the end-to-end suite.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jobpack_core::engine::{Config, Engine, Error};
use jobpack_core::protocol::EngineerDetails;
use jobpack_core::sync::{RetryPolicy, SyncPolicy};
use jobpack_core::transport::{
    MAX_RESPONSE_BYTES, Timeouts, TlsMaterial, Transport, TransportError, check_endpoint,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn only_https_leaves_the_machine() {
    assert!(check_endpoint("https://hub.example", false).is_ok());
    assert!(check_endpoint("http://hub.example", false).is_err());
    assert!(
        check_endpoint("http://hub.example", true).is_err(),
        "the QA flag never allows a remote host"
    );
    assert!(check_endpoint("http://127.0.0.1:8080", false).is_err());
    assert!(check_endpoint("http://127.0.0.1:8080", true).is_ok());
    assert!(check_endpoint("http://[::1]:8080", true).is_ok());
    assert!(check_endpoint("http://localhost:8080", true).is_ok());
    assert!(check_endpoint("ftp://127.0.0.1", true).is_err());
    let err = check_endpoint(&format!("http://{}", "x".repeat(100_000)), false).unwrap_err();
    assert!(
        err.to_string().len() < 600,
        "the refusal quotes a prefix of the URL"
    );
    let tls = TlsMaterial::default();
    let refused = Transport::new(vec!["http://127.0.0.1:9".into()], &tls, Timeouts::default());
    assert!(matches!(refused, Err(TransportError::Config(_))));
}

/// A loopback HTTP server answering every connection with `response(n)` (n counts from 1).
async fn serve(
    response: impl Fn(usize) -> Vec<u8> + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let response = Arc::new(response);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let response = response.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(&response(n)).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, count)
}

fn qa_tls() -> TlsMaterial {
    TlsMaterial {
        allow_plain_http_loopback: true,
        ..TlsMaterial::default()
    }
}

#[tokio::test]
async fn a_huge_response_body_is_refused_without_being_read_whole() {
    // Declared too large: refused from the header.
    let (declared, _) = serve(|_| {
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 3000000000\r\nconnection: close\r\n\r\n{".to_vec()
    })
    .await;
    // Streamed without a length: refused once the limit is passed.
    let (streamed, _) = serve(|_| {
        let mut r =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
                .to_vec();
        r.extend(std::iter::repeat_n(b' ', MAX_RESPONSE_BYTES + 1024));
        r
    })
    .await;
    let transport =
        Transport::new(vec![declared, streamed], &qa_tls(), Timeouts::default()).unwrap();
    for index in 0..2 {
        let err = transport
            .call(index, "/notifyJob", b"{}".to_vec(), None)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, TransportError::BadResponse { reason, .. } if reason.contains("more than")),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_server_message_is_quoted_by_a_prefix() {
    let (url, _) = serve(|_| {
        let body = json!({"jsonrpc": "2.0", "id": 1,
                          "error": {"code": -32602, "message": "m".repeat(1_000_000)}})
        .to_string();
        format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    })
    .await;
    let transport = Transport::new(vec![url], &qa_tls(), Timeouts::default()).unwrap();
    let err = transport
        .call(0, "/notifyJob", b"{}".to_vec(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Rejected { .. }), "{err}");
    assert!(
        err.to_string().len() < 1_000,
        "{} bytes",
        err.to_string().len()
    );
}

fn engine_config(db: &std::path::Path, url: String) -> Config {
    Config {
        database: db.to_owned(),
        database_key: None,
        endpoints: vec![url],
        tls: qa_tls(),
        timeouts: Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(5),
        },
        engineer: EngineerDetails {
            engineer_id: "E042".into(),
            name: "Sam Splicer".into(),
            phone: "+44 7700 900123".into(),
            company: None,
        },
        partner_catalogue: None,
        sync: SyncPolicy {
            // An automatic retry would wait an hour: any retry seen below is an explicit one.
            retry: RetryPolicy {
                base: Duration::from_secs(3_600),
                max: Duration::from_secs(3_600),
            },
            pull_interval: Duration::from_secs(3_600),
            ..SyncPolicy::default()
        },
        start_online: false,
        closure_matrix: None,
        photos: Default::default(),
    }
}

fn create_job() -> serde_json::Value {
    json!({
        "id": 1, "sent": "2022-03-18T17:39:21+0000", "method": "createJob", "ref": "S1",
        "content": {
            "serviceOrder": {"serviceOrderId": "SO-1"},
            "appointment": {"date": "2026-12-01", "slot": "AM"},
            "customer": {"name": "A Customer"},
            "address": {"line1": "1 High Street", "town": "Leeds", "postcode": "LS1 1AA"}
        },
        "response": {"providerJobId": "JP-1"}
    })
}

fn attempts(engine: &Engine) -> u32 {
    engine.outbox(Some("S1")).unwrap()[0].attempts
}

#[test]
fn sync_now_and_connectivity_back_retry_every_waiting_item_at_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, _) = rt.block_on(serve(|_| {
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            .to_vec()
    }));
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(engine_config(&dir.path().join("e.sqlite"), url)).unwrap();
    engine.apply_inbound(&[create_job()]).unwrap();
    engine.accept("S1").unwrap();
    engine.set_online(true);

    // A failing explicit cycle is reported as failed, at once.
    let err = engine
        .sync_once_blocking(Duration::from_secs(30))
        .unwrap_err();
    assert!(matches!(err, Error::SyncFailed { pending: 1, .. }), "{err}");
    let first = attempts(&engine);
    assert!(first >= 1);
    let waiting = engine.outbox(Some("S1")).unwrap()[0].clone();
    assert!(waiting.next_attempt_at.is_some(), "backing off for an hour");

    // "Sync now": the item does not wait out its hour.
    let err = engine
        .sync_once_blocking(Duration::from_secs(30))
        .unwrap_err();
    assert!(matches!(err, Error::SyncFailed { .. }), "{err}");
    let second = attempts(&engine);
    assert!(second > first, "{second} > {first}");

    // Connectivity lost and back: retried at once too.
    engine.set_online(false);
    engine.set_online(true);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while attempts(&engine) == second {
        assert!(
            std::time::Instant::now() < deadline,
            "no retry when back online"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn pull_against_a_dead_endpoint_fails_when_the_cycle_fails() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let mut config = engine_config(
        &dir.path().join("e.sqlite"),
        format!("http://127.0.0.1:{port}"),
    );
    config.start_online = true;
    let engine = Engine::open(config).unwrap();
    // The wait bound is an upper bound; the failed cycle returns long before it.
    let err = engine
        .sync_once_blocking(Duration::from_secs(600))
        .unwrap_err();
    assert!(matches!(err, Error::SyncFailed { .. }), "{err}");
}
