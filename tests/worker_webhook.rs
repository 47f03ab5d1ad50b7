//! The worker drives real alerts through the durable outbox to a real HTTP receiver with the
//! `webhook` notifier: every alert once, retries that wait, failures that say why.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use common::{BatchService, Receiver, real_alerts, refusing_addr};
use tq_alerts::config::{Secret, SecretSource};
use tq_alerts::formatters::PlainFormatter;
use tq_alerts::http::ClientOptions;
use tq_alerts::notifier::{DeliverySettings, Notifier};
use tq_alerts::notifiers::WebhookNotifier;
use tq_alerts::store::{AttemptResult, DeliveryFilter, RowStatus, Store};
use tq_alerts::worker::{Worker, WorkerEvent};

/// Fast enough for tests: the receiver here has no rate limit, digests are off.
fn fast() -> DeliverySettings {
    DeliverySettings {
        rate: 1000.0,
        burst: 50,
        digest_threshold: 100_000,
        timeout: Duration::from_secs(5),
        ..DeliverySettings::default()
    }
}

fn webhook(url: &str, settings: DeliverySettings) -> Arc<dyn Notifier> {
    let mut n = WebhookNotifier::new(
        "soar-hook",
        Secret::new(url, SecretSource::Env("SOAR_WEBHOOK_URL".into())),
        vec![],
        settings,
        &ClientOptions::default(),
    )
    .unwrap();
    n.set_formatter(Arc::new(PlainFormatter::new("plain-text")));
    Arc::new(n)
}

fn service(alerts: usize, notifier: Arc<dyn Notifier>) -> Box<BatchService> {
    let mut s = BatchService::new("watchlist", real_alerts(alerts, "watchlist"));
    s.notifiers.push(notifier);
    Box::new(s)
}

/// Wait until the store has no queued or sending rows.
async fn drained(store: &Store, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        let c = store.outbox_counts().unwrap();
        if c.queued == 0 && c.sending == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_real_indicators_each_arrive_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    let receiver = Receiver::start().await;
    let mut worker = Worker::new(store.clone());
    worker.add_service(service(300, webhook(&receiver.url(), fast())));
    let handle = worker.start().unwrap();
    assert!(
        receiver.wait_for(300, Duration::from_secs(60)).await,
        "got {}",
        receiver.count()
    );
    assert!(drained(&store, Duration::from_secs(10)).await);
    handle.shutdown().await;

    let mut keys = receiver.keys();
    assert_eq!(keys.len(), 300);
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 300, "an alert arrived twice");
    // The body is the §3.2 envelope with raw values for a SOAR.
    let first = &receiver.bodies()[0];
    assert_eq!(first["notification_type"], "watchlist");
    assert_eq!(first["service"], "watchlist");
    assert_eq!(first["alert"]["kind"], "indicator");
    assert_eq!(first["alert"]["value"], "usacia.websecexp.com");
    assert_eq!(first["alert"]["changes"], serde_json::json!([]));
    assert!(
        first["text"]
            .as_str()
            .unwrap()
            .contains("usacia[.]websecexp[.]com")
    );
    assert_eq!(store.outbox_counts().unwrap().delivered, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_keys_queued_again_send_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let receiver = Receiver::start().await;
    for start in 0..2 {
        // A second start is a restart: a fresh worker, the same state file, the same alerts.
        let store = Store::open(&path).unwrap();
        let mut worker = Worker::new(store.clone());
        worker.add_service(service(40, webhook(&receiver.url(), fast())));
        let mut events = worker.subscribe();
        let handle = worker.start().unwrap();
        let queued = loop {
            if let WorkerEvent::Queued { queued, .. } = events.recv().await.unwrap() {
                break queued;
            }
        };
        assert!(drained(&store, Duration::from_secs(20)).await);
        handle.shutdown().await;
        if start == 0 {
            assert_eq!(queued.rows, 40);
        } else {
            assert_eq!(queued.rows, 0, "nothing new to queue on the second start");
            assert_eq!(queued.already_queued, 40);
        }
    }
    assert_eq!(receiver.count(), 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_wait_while_the_receiver_refuses_connections_then_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    let addr = refusing_addr();
    let url = format!("http://{addr}/hook");
    let mut worker = Worker::new(store.clone());
    worker.add_service(service(3, webhook(&url, fast())));
    let handle = worker.start().unwrap();

    // Wait until the first attempts were refused and recorded.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let refused = store
            .deliveries(&DeliveryFilter {
                result: Some(AttemptResult::Retrying),
                ..Default::default()
            })
            .unwrap();
        if !refused.is_empty() {
            let reason = refused[0].reason.clone().unwrap();
            assert_eq!(reason.word, "connection refused");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no refused attempt recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        store.outbox_counts().unwrap().queued,
        3,
        "rows must wait, not fail"
    );

    let receiver = Receiver::start_at(addr).await;
    assert!(
        receiver.wait_for(3, Duration::from_secs(30)).await,
        "got {}",
        receiver.count()
    );
    assert!(drained(&store, Duration::from_secs(5)).await);
    handle.shutdown().await;
    let delivered = store
        .deliveries(&DeliveryFilter {
            result: Some(AttemptResult::Delivered),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(delivered.len(), 3);
    // Rows to one target go in order: the head row took the refusals, the rest waited behind it.
    let head = delivered.iter().min_by_key(|d| d.row_id).unwrap();
    assert!(head.attempts >= 2, "refused attempts are counted: {head:?}");
    assert!(delivered.iter().all(|d| d.attempts >= 1));
    assert_eq!(receiver.count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_fails_the_row_after_one_attempt_with_status_and_body() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    let receiver = Receiver::scripted(Box::new(|_, _| {
        (
            StatusCode::BAD_REQUEST,
            r#"{"error":"field 'severity' is required"}"#,
        )
            .into_response()
    }))
    .await;
    let mut worker = Worker::new(store.clone());
    worker.add_service(service(1, webhook(&receiver.url(), fast())));
    let handle = worker.start().unwrap();
    assert!(receiver.wait_for(1, Duration::from_secs(10)).await);
    assert!(drained(&store, Duration::from_secs(5)).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    handle.shutdown().await;

    assert_eq!(receiver.count(), 1, "a 400 is not retried");
    let failed = store.rows(RowStatus::Failed, 10).unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].attempts, 1);
    let reason = failed[0].last_error.clone().unwrap();
    assert_eq!(reason.word, "http 400");
    assert_eq!(
        reason.detail.as_deref(),
        Some(r#"{"error":"field 'severity' is required"}"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_waits_for_retry_after_and_does_not_count_as_an_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    let receiver = Receiver::scripted(Box::new(|n, _| {
        if n == 0 {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "2")],
                "slow down",
            )
                .into_response()
        } else {
            (StatusCode::OK, "ok").into_response()
        }
    }))
    .await;
    let mut worker = Worker::new(store.clone());
    worker.add_service(service(1, webhook(&receiver.url(), fast())));
    let handle = worker.start().unwrap();
    assert!(receiver.wait_for(2, Duration::from_secs(10)).await);
    assert!(drained(&store, Duration::from_secs(5)).await);
    handle.shutdown().await;

    let requests = receiver.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    let gap = requests[1].at - requests[0].at;
    assert!(
        gap >= Duration::from_secs(2),
        "retried after {gap:?}, before Retry-After ended"
    );
    let log = store.deliveries(&DeliveryFilter::default()).unwrap();
    let (delivered, limited) = (&log[0], &log[1]);
    assert_eq!(limited.result, AttemptResult::RateLimited);
    assert_eq!(limited.attempts, 0, "a 429 is not an attempt");
    assert_eq!(delivered.result, AttemptResult::Delivered);
    assert_eq!(delivered.attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_is_retried_with_backoff_until_it_clears() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    let receiver = Receiver::scripted(Box::new(|n, _| {
        if n < 2 {
            (StatusCode::SERVICE_UNAVAILABLE, "maintenance").into_response()
        } else {
            (StatusCode::OK, "ok").into_response()
        }
    }))
    .await;
    let mut worker = Worker::new(store.clone());
    worker.add_service(service(1, webhook(&receiver.url(), fast())));
    let handle = worker.start().unwrap();
    assert!(receiver.wait_for(3, Duration::from_secs(15)).await);
    assert!(drained(&store, Duration::from_secs(5)).await);
    handle.shutdown().await;
    let requests = receiver.requests.lock().unwrap().clone();
    // 1 s then 2 s (±25 % jitter) between attempts.
    assert!(requests[1].at - requests[0].at >= Duration::from_millis(750));
    assert!(requests[2].at - requests[1].at >= Duration::from_millis(1500));
    assert_eq!(store.outbox_counts().unwrap().delivered, 1);
}
