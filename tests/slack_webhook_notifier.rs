//! The `slack-webhook` notifier through the real worker against the simulator's incoming
//! webhook: `ok` is delivered; Slack's plain words fail the row at once with the word and a
//! hint; 5xx is retried; 429 waits for its `Retry-After`. The URL (a secret) is never shown.

mod common;
mod slack_common;

use std::sync::Arc;
use std::time::Duration;

use common::{BatchService, real_alerts};
use rstest::rstest;
use serde_json::json;
use slack_common::{options, settings, settled, sim};
use tq_alerts::config::{Secret, SecretSource};
use tq_alerts::formatters::PlainFormatter;
use tq_alerts::http::ClientOptions;
use tq_alerts::notifier::{DeliverySettings, Notifier};
use tq_alerts::notifiers::SlackWebhookNotifier;
use tq_alerts::sim::slack::{
    ArrivalOutcome, Fault, FaultRule, RateLimit, SlackSim, SlackSimOptions, Via,
};
use tq_alerts::store::{AttemptResult, DeliveryFilter, DeliveryRecord, Store};
use tq_alerts::worker::Worker;

fn notifier(sim: &SlackSim, settings: DeliverySettings) -> Arc<dyn Notifier> {
    let mut n = SlackWebhookNotifier::new(
        "team-hook",
        Secret::new(
            sim.webhook_url(),
            SecretSource::Env("SLACK_WEBHOOK_URL".into()),
        ),
        settings,
        &ClientOptions::default(),
    )
    .unwrap();
    n.set_formatter(Arc::new(PlainFormatter::new("plain-text")));
    Arc::new(n)
}

async fn run(
    sim: &SlackSim,
    alerts: usize,
    settings: DeliverySettings,
) -> (tempfile::TempDir, Store, Vec<DeliveryRecord>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    let mut service = BatchService::new("watchlist", real_alerts(alerts, "watchlist"));
    service.notifiers.push(notifier(sim, settings));
    let mut worker = Worker::new(store.clone());
    worker.add_service(Box::new(service));
    let handle = worker.start().unwrap();
    assert!(settled(&store, alerts as u64, Duration::from_secs(30)).await);
    handle.shutdown().await;
    let mut log = store
        .deliveries(&DeliveryFilter {
            limit: 1000,
            ..DeliveryFilter::default()
        })
        .unwrap();
    log.reverse();
    (dir, store, log)
}

fn secret_path(sim: &SlackSim) -> String {
    url::Url::parse(&sim.webhook_url())
        .unwrap()
        .path()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_is_delivered_with_the_message_as_slack_takes_it() {
    let sim = sim(options()).await;
    let (_dir, store, log) = run(&sim, 5, settings(500.0, 20)).await;
    assert_eq!(store.outbox_counts().unwrap().delivered, 5);
    assert!(
        log.iter()
            .all(|d| d.result == AttemptResult::Delivered && d.status == Some(200))
    );
    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 5);
    for m in &accepted {
        assert_eq!(m.via, Via::Webhook);
        assert_eq!(m.channel, "C0TQALERT1");
        assert!(m.payload["text"].as_str().is_some_and(|t| !t.is_empty()));
        assert_eq!(m.payload["unfurl_links"], json!(false));
        assert_eq!(m.payload["unfurl_media"], json!(false));
    }
    assert_eq!(sim.violations(), Vec::<String>::new());
}

#[rstest]
#[case::invalid_payload("invalid_payload", 400, "fix the formatter")]
#[case::channel_not_found("channel_not_found", 404, "create a new incoming webhook")]
#[case::channel_is_archived("channel_is_archived", 410, "unarchive it")]
#[case::no_service("no_service", 404, "revoked or is wrong")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_word_fails_the_row_after_one_attempt(
    #[case] word: &str,
    #[case] status: u16,
    #[case] hint: &str,
) {
    let sim = sim(options()).await;
    sim.inject(FaultRule::on("webhook", Fault::Error(word.into())));
    let (_dir, store, log) = run(&sim, 1, settings(500.0, 20)).await;
    assert_eq!(log.len(), 1, "{log:#?}");
    let d = &log[0];
    assert_eq!(d.result, AttemptResult::Failed);
    assert_eq!(d.attempts, 1);
    assert_eq!(d.status, Some(status));
    let reason = d.reason.as_ref().unwrap();
    assert_eq!(reason.word, word);
    let shown = reason.to_string();
    assert!(shown.contains(hint), "{shown}");
    // The hint names where the URL comes from, never the URL.
    assert!(!shown.contains(&secret_path(&sim)), "{shown}");
    assert_eq!(store.outbox_counts().unwrap().failed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_channel_answers_410_and_the_row_fails_with_the_word() {
    let sim = sim(options()).await;
    assert!(sim.archive_channel("tq-alerts"));
    let (_dir, _store, log) = run(&sim, 1, settings(500.0, 20)).await;
    let reason = log[0].reason.as_ref().unwrap();
    assert_eq!(
        (log[0].status, reason.word.as_str()),
        (Some(410), "channel_is_archived")
    );
    assert!(
        reason
            .hint
            .as_deref()
            .unwrap()
            .contains("$SLACK_WEBHOOK_URL")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_is_retried_then_delivered() {
    let sim = sim(options()).await;
    sim.inject(FaultRule::on("webhook", Fault::Status(500)).times(2));
    let (_dir, _store, log) = run(&sim, 1, settings(500.0, 20)).await;
    let results: Vec<AttemptResult> = log.iter().map(|d| d.result).collect();
    assert_eq!(
        results,
        vec![
            AttemptResult::Retrying,
            AttemptResult::Retrying,
            AttemptResult::Delivered
        ]
    );
    assert_eq!(log[0].reason.as_ref().unwrap().word, "http 500");
    assert_eq!(sim.accepted().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_waits_for_retry_after() {
    // One message per second with a burst of 1, and a notifier twice as fast.
    let sim = sim(SlackSimOptions {
        rate_limit: Some(RateLimit::new(1.0, 1)),
        ..options()
    })
    .await;
    let (_dir, store, log) = run(&sim, 3, settings(2.0, 1)).await;
    assert_eq!(store.outbox_counts().unwrap().delivered, 3);
    let arrivals = sim.arrivals();
    let mut pauses = 0;
    for (i, a) in arrivals.iter().enumerate() {
        if let ArrivalOutcome::RateLimited { retry_after } = a.outcome {
            pauses += 1;
            let next = &arrivals[i + 1];
            assert!(
                next.at - a.at >= retry_after,
                "came back after {:?}",
                next.at - a.at
            );
        }
    }
    assert!(pauses >= 1, "{arrivals:#?}");
    // A 429 is not an attempt: every row was delivered at its first counted attempt.
    assert!(
        log.iter()
            .filter(|d| d.result == AttemptResult::Delivered)
            .all(|d| d.attempts == 1)
    );
    assert_eq!(sim.accepted().len(), 3);
    assert_eq!(sim.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_url_that_is_not_https_or_loopback_is_refused_without_printing_it() {
    let e = SlackWebhookNotifier::new(
        "team-hook",
        Secret::new(
            "http://hooks.slack.example.net/services/T0/B0/s3cr3tP4th",
            SecretSource::Env("SLACK_WEBHOOK_URL".into()),
        ),
        DeliverySettings::default(),
        &ClientOptions::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("plain http is refused"), "{e}");
    assert!(!e.contains("s3cr3tP4th"), "{e}");
    let e = SlackWebhookNotifier::new(
        "team-hook",
        Secret::new(
            "not a url s3cr3t",
            SecretSource::Env("SLACK_WEBHOOK_URL".into()),
        ),
        DeliverySettings::default(),
        &ClientOptions::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("$SLACK_WEBHOOK_URL") && !e.contains("s3cr3t"),
        "{e}"
    );
}
