//! The store's transaction boundaries under a crash: the worker is dropped dead (its runtime
//! shut down, no cleanup) at each step of a send, then a new worker starts on the same state
//! file. No row is lost; an interrupted row is sent at most once more.

mod common;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use async_trait::async_trait;
use common::{BatchService, Receiver, real_alerts};
use tq_alerts::alert::MessageData;
use tq_alerts::config::{Secret, SecretSource};
use tq_alerts::formatter::{Formatter, Message};
use tq_alerts::formatters::PlainFormatter;
use tq_alerts::http::ClientOptions;
use tq_alerts::notifier::{Delivery, DeliverySettings, Notifier};
use tq_alerts::notifiers::WebhookNotifier;
use tq_alerts::store::{RowStatus, Store};
use tq_alerts::worker::Worker;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Step {
    /// The row is marked `sending`; the HTTP call has not started.
    BeforeCall,
    /// The receiver said ok; the delivery is not committed yet.
    AfterOkBeforeCommit,
}

/// Wraps the real webhook notifier and freezes at `step` of the first send, telling the test.
struct Freezing {
    inner: Arc<dyn Notifier>,
    step: Step,
    reached: mpsc::Sender<()>,
}

#[async_trait]
impl Notifier for Freezing {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn kind(&self) -> &str {
        "webhook"
    }
    fn targets(&self) -> Vec<String> {
        self.inner.targets()
    }
    fn set_formatter(&mut self, _: Arc<dyn Formatter>) {}
    fn formatter(&self) -> Option<Arc<dyn Formatter>> {
        self.inner.formatter()
    }
    fn settings(&self) -> DeliverySettings {
        self.inner.settings()
    }
    async fn send_alert(&self, target: &str, data: &MessageData, message: &Message) -> Delivery {
        if self.step == Step::AfterOkBeforeCommit {
            let delivery = self.inner.send_alert(target, data, message).await;
            assert!(matches!(
                delivery.outcome,
                tq_alerts::DeliveryOutcome::Delivered
            ));
        }
        let _ = self.reached.send(());
        std::future::pending().await
    }
}

fn webhook(url: &str) -> Arc<dyn Notifier> {
    let mut n = WebhookNotifier::new(
        "soar-hook",
        Secret::new(url, SecretSource::Env("SOAR_WEBHOOK_URL".into())),
        vec![],
        DeliverySettings {
            rate: 1000.0,
            burst: 50,
            digest_threshold: 1000,
            ..DeliverySettings::default()
        },
        &ClientOptions::default(),
    )
    .unwrap();
    n.set_formatter(Arc::new(PlainFormatter::new("plain-text")));
    Arc::new(n)
}

fn worker_on(path: &std::path::Path, notifier: Arc<dyn Notifier>) -> Worker {
    let store = Store::open(path).unwrap();
    let mut service = BatchService::new("watchlist", real_alerts(5, "watchlist"));
    service.notifiers.push(notifier);
    let mut worker = Worker::new(store);
    worker.add_service(Box::new(service));
    worker
}

/// Crash at `step`, restart, and return the keys the receiver got and the state file.
fn crash_at(step: Step) -> (Vec<String>, Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    // The receiver lives on its own runtime: it must outlive the crashed worker's.
    let receiver_rt = tokio::runtime::Runtime::new().unwrap();
    let receiver = receiver_rt.block_on(Receiver::start());

    let (reached, frozen) = mpsc::channel();
    let crashing = tokio::runtime::Runtime::new().unwrap();
    crashing.block_on(async {
        let freezing = Arc::new(Freezing {
            inner: webhook(&receiver.url()),
            step,
            reached,
        });
        // The handle is leaked into the runtime: nothing shuts the worker down politely.
        std::mem::forget(worker_on(&path, freezing).start().unwrap());
    });
    frozen
        .recv_timeout(Duration::from_secs(20))
        .expect("the worker reached the step");
    crashing.shutdown_background();

    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.outbox_counts().unwrap().sending,
        1,
        "one row was caught mid-send"
    );
    assert_eq!(store.outbox_counts().unwrap().queued, 4);

    let restarted = tokio::runtime::Runtime::new().unwrap();
    restarted.block_on(async {
        let handle = worker_on(&path, webhook(&receiver.url())).start().unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let c = store.outbox_counts().unwrap();
            if c.delivered == 5 {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "not drained: {c:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        handle.shutdown().await;
    });
    (receiver.keys(), store, dir)
}

fn distinct(keys: &[String]) -> usize {
    let mut k = keys.to_vec();
    k.sort();
    k.dedup();
    k.len()
}

#[test]
fn a_crash_before_the_call_loses_nothing_and_sends_each_alert_once() {
    let (keys, store, _dir) = crash_at(Step::BeforeCall);
    assert_eq!(distinct(&keys), 5, "every alert arrived");
    assert_eq!(keys.len(), 5, "nothing was sent twice");
    assert!(store.rows(RowStatus::Queued, 10).unwrap().is_empty());
}

#[test]
fn a_crash_after_the_receivers_ok_before_the_commit_duplicates_at_most_that_row() {
    let (keys, store, _dir) = crash_at(Step::AfterOkBeforeCommit);
    assert_eq!(distinct(&keys), 5, "every alert arrived");
    assert_eq!(keys.len(), 6, "the interrupted row was sent again, once");
    // The duplicate is visible, not silent.
    assert_eq!(store.outbox_counts().unwrap().possible_duplicates, 1);
}
