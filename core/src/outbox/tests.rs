use super::*;
use crate::store::Store;

fn store_with_jobs(jobs: &[&str]) -> Store {
    let store = Store::open_in_memory().unwrap();
    for job in jobs {
        store
            .conn()
            .execute(
                "INSERT INTO jobs VALUES (?1, 'JP', '{}', '{}', NULL, NULL, NULL, 0, 0)",
                [job],
            )
            .unwrap();
    }
    store
}

fn t(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_800_000_000_000 + ms).unwrap()
}

fn add(store: &Store, job: &str, key: &str, deps: &[i64]) -> i64 {
    add_kind(store, job, key, deps, ItemKind::Rpc)
}

fn add_kind(store: &Store, job: &str, key: &str, deps: &[i64], kind: ItemKind) -> i64 {
    enqueue(
        store.conn(),
        &NewItem {
            job_ref: job,
            kind,
            method: "notifyJob",
            label: key,
            rpc_id: 1,
            idempotency_key: key,
            body: key.as_bytes(),
            acted_at: t(0),
            depends_on: deps,
            time: None,
        },
        t(0),
    )
    .unwrap()
}

fn ready_keys(store: &Store, now: Timestamp) -> Vec<String> {
    ready(store.conn(), now, 100)
        .unwrap()
        .into_iter()
        .map(|i| i.idempotency_key)
        .collect()
}

#[test]
fn only_the_head_of_each_job_is_ready_in_creation_order() {
    let store = store_with_jobs(&["A", "B"]);
    let a1 = add(&store, "A", "a1", &[]);
    add(&store, "A", "a2", &[]);
    add(&store, "B", "b1", &[]);
    assert_eq!(ready_keys(&store, t(1)), ["a1", "b1"]);
    mark_sending(store.conn(), a1).unwrap();
    assert_eq!(
        ready_keys(&store, t(1)),
        ["b1"],
        "a job in flight sends nothing else"
    );
    mark_sent(store.conn(), a1, t(2)).unwrap();
    assert_eq!(ready_keys(&store, t(3)), ["a2", "b1"]);
}

#[test]
fn a_failing_job_does_not_hold_up_the_others() {
    let store = store_with_jobs(&["A", "B"]);
    let a1 = add(&store, "A", "a1", &[]);
    let b1 = add(&store, "B", "b1", &[]);
    add(&store, "B", "b2", &[]);
    mark_sending(store.conn(), a1).unwrap();
    schedule_retry(store.conn(), a1, t(60_000), "HTTP 503", false).unwrap();
    mark_sending(store.conn(), b1).unwrap();
    mark_sent(store.conn(), b1, t(5)).unwrap();
    assert_eq!(ready_keys(&store, t(10)), ["b2"], "A waits, B goes on");
    assert_eq!(next_due(store.conn()).unwrap(), Some(t(60_000)));
    assert_eq!(
        ready_keys(&store, t(60_000)),
        ["a1", "b2"],
        "A is due again"
    );

    let parked = add(&store, "B", "b3", &[]);
    let _ = parked;
    let item = get(store.conn(), a1).unwrap().unwrap();
    assert_eq!(item.state, ItemState::Retrying);
    assert_eq!(item.attempts, 1);
    assert_eq!(item.last_error.as_deref(), Some("HTTP 503"));
}

#[test]
fn a_parked_head_wedges_its_job_until_resent_or_discarded() {
    let store = store_with_jobs(&["A"]);
    let a1 = add(&store, "A", "a1", &[]);
    add(&store, "A", "a2", &[]);
    mark_sending(store.conn(), a1).unwrap();
    park(store.conn(), a1, "closure code XYZ refused").unwrap();
    assert!(
        ready_keys(&store, t(1)).is_empty(),
        "order is kept: a2 waits"
    );
    let item = get(store.conn(), a1).unwrap().unwrap();
    assert_eq!(
        item.parked_reason.as_deref(),
        Some("closure code XYZ refused")
    );

    assert_eq!(
        discard(store.conn(), a1, "wrong"),
        Err(OutboxError::ConfirmationMismatch { seq: a1 })
    );
    resend(store.conn(), a1).unwrap();
    assert_eq!(ready_keys(&store, t(1)), ["a1"], "same key on resend");
    mark_sending(store.conn(), a1).unwrap();
    park(store.conn(), a1, "again").unwrap();
    discard(store.conn(), a1, "a1").unwrap();
    assert_eq!(ready_keys(&store, t(1)), ["a2"]);
    assert_eq!(
        resend(store.conn(), a1),
        Err(OutboxError::NotParked {
            seq: a1,
            state: ItemState::Discarded,
            operation: "resent"
        })
    );
    assert_eq!(
        resend(store.conn(), 999),
        Err(OutboxError::UnknownItem { seq: 999 })
    );
}

#[test]
fn an_item_waits_for_its_dependencies_and_uploads_have_their_own_lane() {
    let store = store_with_jobs(&["A"]);
    let photo = add_kind(&store, "A", "photo", &[], ItemKind::Upload);
    let notify = add(&store, "A", "notify", &[]);
    mark_sending(store.conn(), notify).unwrap();
    mark_sent(store.conn(), notify, t(1)).unwrap();
    let close = add(&store, "A", "close", &[photo]);
    assert_eq!(
        ready_keys(&store, t(2)),
        ["photo"],
        "closeJob waits for its photo"
    );
    mark_sending(store.conn(), photo).unwrap();
    assert!(ready_keys(&store, t(2)).is_empty());
    mark_sent(store.conn(), photo, t(3)).unwrap();
    assert_eq!(ready_keys(&store, t(4)), ["close"]);
    assert_eq!(
        get(store.conn(), close).unwrap().unwrap().depends_on,
        [photo]
    );
}

#[test]
fn an_item_whose_send_was_never_recorded_is_ready_again_with_its_key() {
    // What a crash mid-send leaves behind: the claim was only in memory.
    let store = store_with_jobs(&["A"]);
    add(&store, "A", "a1", &[]);
    add(&store, "A", "a2", &[]);
    assert_eq!(ready_keys(&store, t(1)), ["a1"]);
    let item = list(store.conn(), Some("A")).unwrap().remove(0);
    assert_eq!((item.state, item.attempts), (ItemState::Queued, 0));
    assert_eq!(
        ready_keys(&store, t(2)),
        ["a1"],
        "same item, same key, order kept"
    );
}

#[test]
fn counts_and_listing_for_the_pending_screen() {
    let store = store_with_jobs(&["A", "B"]);
    let a1 = add(&store, "A", "a1", &[]);
    add(&store, "B", "b1", &[]);
    mark_sending(store.conn(), a1).unwrap();
    mark_sent(store.conn(), a1, t(1)).unwrap();
    let c = counts(store.conn()).unwrap();
    assert_eq!((c.sent, c.queued, c.pending()), (1, 1, 1));
    let b1 = list(store.conn(), Some("B")).unwrap()[0].seq;
    add(&store, "B", "b2", &[]);
    mark_sending(store.conn(), b1).unwrap();
    park(store.conn(), b1, "refused").unwrap();
    let c = counts(store.conn()).unwrap();
    assert_eq!(
        (c.parked, c.blocked, c.pending()),
        (1, 1, 0),
        "b2 waits for the engineer"
    );
    assert_eq!(list(store.conn(), Some("B")).unwrap().len(), 2);
    assert_eq!(list(store.conn(), None).unwrap().len(), 3);
    assert_eq!(body(store.conn(), a1).unwrap().unwrap(), b"a1");
}

#[test]
fn a_delivered_item_refused_later_is_parked_and_holds_up_its_lane() {
    let store = store_with_jobs(&["J1"]);
    let first = add(&store, "J1", "key-first", &[]);
    let second = add(&store, "J1", "key-second", &[]);
    mark_sent(store.conn(), first, t(1)).unwrap();
    assert_eq!(ready_keys(&store, t(2)), ["key-second"]);
    let parked = park_delivered(store.conn(), "key-first", "refused by CityFibre").unwrap();
    assert_eq!(parked, Some(first));
    let item = get(store.conn(), first).unwrap().unwrap();
    assert_eq!(item.state, ItemState::Parked);
    assert_eq!(item.parked_reason.as_deref(), Some("refused by CityFibre"));
    assert_eq!(item.sent_at, None);
    // The refused message is the lane's head again: what followed it waits for the engineer.
    assert!(ready_keys(&store, t(3)).is_empty());
    assert_eq!(counts(store.conn()).unwrap().blocked, 1);
    // Only delivered items: a second word about it, or an unknown key, changes nothing.
    assert_eq!(
        park_delivered(store.conn(), "key-first", "again").unwrap(),
        None
    );
    assert_eq!(
        park_delivered(store.conn(), "key-unknown", "x").unwrap(),
        None
    );
    assert_eq!(
        park_delivered(store.conn(), "key-second", "x").unwrap(),
        None
    );
    resend(store.conn(), first).unwrap();
    assert_eq!(ready_keys(&store, t(4)), ["key-first"]);
    let _ = second;
}
