//! The back-office board's rules, over real HTTPS against a running hub (issue #15, item 6):
//! no session → login; a wrong token → refused, no cookie; a change without its CSRF token →
//! refused and not done; hostile values from CityFibre or phones are rendered inert; parked
//! messages resent or discarded (with the confirmation) from the board.

mod common;

use std::time::Duration;

use common::{BoardClient, Kind, World, board_token, eventually};
use jobpack_core::outbox::ItemState;
use jobpack_hub::Role;
use jobpack_sim::{FaultConfig, sample_job_pack};

const IDLE: Duration = Duration::from_secs(20);

async fn world_with_job(kind: Kind, job: &str) -> World {
    let world = World::start(kind, 1).await;
    world
        .cityfibre
        .create_job(job, sample_job_pack(job).expect("pack"))
        .await
        .expect("createJob");
    world
}

on_both! {
async fn without_a_session_pages_redirect_to_login_and_changes_are_refused(kind) {
    let world = world_with_job(kind, "S1").await;
    let board = BoardClient::new(&world);
    for path in ["/", "/jobs", "/parked", "/devices", "/nowhere"] {
        let answer = board.get(path).await;
        assert_eq!(answer.status, 303, "GET {path}");
        assert_eq!(answer.location.as_deref(), Some("/login"), "GET {path}");
        assert!(!answer.body.contains("S1"), "GET {path} shows nothing");
    }
    for path in [
        "/jobs/assign",
        "/parked/resend",
        "/parked/discard",
        "/devices/revoke",
        "/logout",
        "/nowhere",
    ] {
        let answer = board
            .post(
                path,
                &[
                    ("job", "S1"),
                    ("engineer", "E001"),
                    ("csrf", "x"),
                    ("device", "d"),
                ],
            )
            .await;
        assert_eq!(answer.status, 401, "POST {path}");
    }
    // A forged or stale cookie is no session either.
    let mut forged = BoardClient::new(&world);
    forged.cookie = Some(format!("jobpack_board={}", "0".repeat(64)));
    assert_eq!(forged.get("/jobs").await.status, 303);
    let job = world.hub.store().job("S1").expect("job").expect("known");
    assert_eq!(job.engineer_id, None, "nothing was assigned");
    // The login page itself is served.
    let login = board.get("/login").await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains("name=\"token\""));
}
}

on_both! {
async fn a_wrong_token_is_refused_and_the_right_one_gives_a_strict_session_cookie(kind) {
    let world = world_with_job(kind, "S1").await;
    let mut board = BoardClient::new(&world);
    let refused = board.login("not-the-token").await;
    assert_eq!(refused.status, 401);
    assert!(refused.set_cookie.is_none());
    assert!(refused.body.contains("not the board token"));
    assert_eq!(board.login("").await.status, 401);
    // A token with the right length and one character off.
    let token = board_token(&world);
    let mut near = token.clone();
    near.replace_range(0..1, if token.starts_with('0') { "1" } else { "0" });
    assert_eq!(board.login(&near).await.status, 401);
    assert!(board.cookie.is_none());

    let granted = board.login(&token).await;
    assert_eq!(granted.status, 303);
    assert_eq!(granted.location.as_deref(), Some("/jobs"));
    let cookie = granted.set_cookie.expect("a session cookie");
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Max-Age=",
        "Path=/",
    ] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let jobs = board.get("/jobs").await;
    assert_eq!(jobs.status, 200);
    assert!(jobs.body.contains("data-job=\"S1\""));

    // Logging out ends the session on the server, not only in the browser.
    let csrf = board.csrf().await;
    let out = board.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(out.set_cookie.expect("cleared").contains("Max-Age=0"));
    assert_eq!(board.get("/jobs").await.status, 303);
}
}

on_both! {
async fn a_change_without_its_csrf_token_is_refused_and_not_done(kind) {
    let world = world_with_job(kind, "S1").await;
    world
        .hub
        .store()
        .issue_device("phone-1", Some("E001"), Role::Device)
        .expect("device");
    let mut board = BoardClient::new(&world);
    board.login(&board_token(&world)).await;
    let csrf = board.csrf().await;

    let missing = board
        .post("/jobs/assign", &[("job", "S1"), ("engineer", "E001")])
        .await;
    assert_eq!(missing.status, 403);
    let wrong = board
        .post(
            "/jobs/assign",
            &[
                ("job", "S1"),
                ("engineer", "E001"),
                ("csrf", "0".repeat(64).as_str()),
            ],
        )
        .await;
    assert_eq!(wrong.status, 403);
    let revoke = board
        .post("/devices/revoke", &[("device", "phone-1")])
        .await;
    assert_eq!(revoke.status, 403);
    let store = world.hub.store();
    assert_eq!(
        store.job("S1").expect("job").expect("known").engineer_id,
        None
    );
    assert!(
        store
            .devices()
            .expect("devices")
            .iter()
            .all(|d| d.revoked_at.is_none())
    );

    // The same changes with the session's token are done.
    let done = board
        .post(
            "/jobs/assign",
            &[("job", "S1"), ("engineer", "E001"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location.as_deref(), Some("/jobs"));
    let job = store.job("S1").expect("job").expect("known");
    assert_eq!(
        (job.engineer_id.as_deref(), job.state.as_str()),
        (Some("E001"), "assigned")
    );
    // Reassigning is the same form with another engineer.
    assert!(board.get("/jobs").await.body.contains(">Reassign<"));
    let moved = board
        .post(
            "/jobs/assign",
            &[("job", "S1"), ("engineer", "E002"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(moved.status, 303);
    let job = store.job("S1").expect("job").expect("known");
    assert_eq!(job.engineer_id.as_deref(), Some("E002"));
    let revoked = board
        .post("/devices/revoke", &[("device", "phone-1"), ("csrf", &csrf)])
        .await;
    assert_eq!(revoked.status, 303);
    assert!(
        store
            .devices()
            .expect("devices")
            .iter()
            .all(|d| d.revoked_at.is_some())
    );
    // A refused change names its reason (escaped) and changes nothing.
    let unknown = board
        .post(
            "/jobs/assign",
            &[("job", "S1"), ("engineer", "<E9>"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("&lt;E9&gt;"), "{}", unknown.body);
    assert!(!unknown.body.contains("<E9>"));
}
}

on_both! {
async fn hostile_values_from_cityfibre_and_phones_are_escaped(kind) {
    let world = world_with_job(kind, "S1").await;
    let store = world.hub.store();
    let hostile = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";
    // What a hostile or broken CityFibre could put in front of the office: a job reference,
    // and a refusal reason on the job's latest message. Written straight into the store so
    // no validation on the way can hide a missing escape.
    store
        .db
        .write(|tx| {
            tx.execute(
                "INSERT INTO jobs (job_ref, provider_job_id, pack, created_at, updated_at)
                 VALUES (?1, 'JP-999999', '{}', 1, 1)",
                &[hostile.into()],
            )?;
            Ok(())
        })
        .expect("hostile job");
    world.hub.assign("S1", "E001").expect("assign");
    // The engineer-details notice is delivered first: a forwarder recording its outcome
    // after the rewrite below would overwrite it.
    let delivered = || {
        store.outbox(Some("S1")).is_ok_and(|items| {
            !items.is_empty() && items.iter().all(|item| item.state == ItemState::Sent)
        })
    };
    assert!(eventually(IDLE, delivered).await, "the notice is delivered");
    store
        .db
        .write(|tx| {
            tx.execute(
                "UPDATE outbox SET state = 'parked', parked_reason = ?1, label = ?1",
                &[hostile.into()],
            )?;
            Ok(())
        })
        .expect("hostile reason");
    // The office types engineers in, but nothing on the board trusts that either.
    let mut evil_engineer = common::engineer(hostile);
    evil_engineer.name = hostile.to_owned();
    store.add_engineer(&evil_engineer).expect("engineer");
    store
        .issue_device("evil-phone", Some(hostile), Role::Device)
        .expect("device of the hostile engineer");

    let mut board = BoardClient::new(&world);
    board.login(&board_token(&world)).await;
    for path in ["/jobs", "/parked", "/devices"] {
        let page = board.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains("<script>"), "{path}: {}", page.body);
        assert!(!page.body.contains("<img"), "{path}: {}", page.body);
        assert!(
            page.body
                .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{path}: {}",
            page.body
        );
    }
}
}

on_both! {
async fn parked_messages_show_cityfibres_reason_and_are_resent_or_discarded_from_the_board(kind) {
    let world = World::start(kind, 1).await;
    world.sim.set_faults(FaultConfig {
        reject_job_refs: vec!["S8".into(), "S9".into()],
        ..FaultConfig::default()
    });
    for job in ["S8", "S9"] {
        world
            .cityfibre
            .create_job(job, sample_job_pack(job).expect("pack"))
            .await
            .expect("createJob");
    }
    let mut board = BoardClient::new(&world);
    board.login(&board_token(&world)).await;
    let csrf = board.csrf().await;
    for job in ["S8", "S9"] {
        let assigned = board
            .post(
                "/jobs/assign",
                &[("job", job), ("engineer", "E001"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(assigned.status, 303);
    }
    let store = world.hub.store();
    let parked = |job: &str| {
        store
            .parked()
            .expect("parked")
            .into_iter()
            .find(|i| i.job_ref == job)
    };
    assert!(eventually(IDLE, || parked("S8").is_some() && parked("S9").is_some()).await);
    let (s8, s9) = (
        parked("S8").expect("S8 parked"),
        parked("S9").expect("S9 parked"),
    );
    let page = board.get("/parked").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("data-seq=\"{}\"", s8.seq)));
    assert!(page.body.contains("HTTP 422"), "{}", page.body);
    let jobs = board.get("/jobs").await;
    assert!(jobs.body.contains("state-parked"), "{}", jobs.body);

    // CityFibre's side is fixed: S8 is resent and delivered.
    world.sim.set_faults(FaultConfig::default());
    let s8_seq = s8.seq.to_string();
    let resent = board
        .post("/parked/resend", &[("seq", &s8_seq), ("csrf", &csrf)])
        .await;
    assert_eq!(resent.status, 303);
    assert_eq!(resent.location.as_deref(), Some("/parked"));
    let sent = || {
        store
            .outbox(Some("S8"))
            .expect("outbox")
            .iter()
            .all(|i| i.state == ItemState::Sent)
    };
    assert!(eventually(IDLE, sent).await);

    // S9 is given up: not without the confirmation tick, not with another key.
    let s9_seq = s9.seq.to_string();
    let unticked = board
        .post(
            "/parked/discard",
            &[
                ("seq", &s9_seq),
                ("key", &s9.idempotency_key),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(unticked.status, 400);
    let wrong_key = board
        .post(
            "/parked/discard",
            &[
                ("seq", &s9_seq),
                ("key", "not-its-key"),
                ("confirm", "yes"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(wrong_key.status, 400);
    assert!(parked("S9").is_some());
    let discarded = board
        .post(
            "/parked/discard",
            &[
                ("seq", &s9_seq),
                ("key", &s9.idempotency_key),
                ("confirm", "yes"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(discarded.status, 303);
    assert!(parked("S9").is_none());
    let item = store.outbox(Some("S9")).expect("outbox");
    assert_eq!(item[0].state, ItemState::Discarded);
    assert!(
        board
            .get("/parked")
            .await
            .body
            .contains("Nothing is parked")
    );
}
}
