//! The `slack` notifier driven by the real worker and outbox against the Slack simulator:
//! every alert to every channel and user exactly once, DMs in their `D…` conversation, payloads
//! as §6.4 wants them; every permanent word fails its row at once with a hint; every transient
//! fault is retried and delivered once; a lost answer costs at most one counted duplicate.

mod common;
mod slack_common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{BatchService, real_alerts};
use rstest::rstest;
use serde_json::{Value, json};
use slack_common::{options, settings, settled, sim, slack_notifier};
use tq_alerts::formatter::{Formatter, Message};
use tq_alerts::formatters::PlainFormatter;
use tq_alerts::notifier::{DeliveryOutcome, DeliverySettings};
use tq_alerts::sim::slack::{ArrivalOutcome, Fault, FaultRule, SlackSim};
use tq_alerts::store::{AttemptResult, DeliveryFilter, DeliveryRecord, Store};
use tq_alerts::worker::Worker;
use tq_alerts::{Alert, MessageData};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    (dir, store)
}

/// Run `alerts` through a worker with one Slack notifier until the outbox is empty.
async fn deliver(
    sim: &SlackSim,
    store: &Store,
    alerts: Vec<Alert>,
    channels: &[&str],
    users: &[&str],
    timeout: Duration,
) {
    let rows = (alerts.len() * (channels.len() + users.len())) as u64;
    let notifier = slack_notifier(
        "soc-slack",
        sim,
        channels,
        users,
        settings(500.0, 20),
        Some(store.clone()),
    );
    let mut service = BatchService::new("watchlist", alerts);
    service.notifiers.push(notifier);
    let mut worker = Worker::new(store.clone());
    worker.add_service(Box::new(service));
    let handle = worker.start().unwrap();
    assert!(
        settled(store, rows, timeout).await,
        "{:?}",
        store.outbox_counts()
    );
    handle.shutdown().await;
}

fn log(store: &Store) -> Vec<DeliveryRecord> {
    let mut log = store
        .deliveries(&DeliveryFilter {
            limit: 10_000,
            ..DeliveryFilter::default()
        })
        .unwrap();
    log.reverse();
    log
}

fn text_of(data: &MessageData) -> String {
    PlainFormatter::new("plain-text")
        .format_data(data)
        .unwrap()
        .text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_channels_and_two_users_each_get_every_alert_exactly_once() {
    let sim = sim(options()).await;
    let (_dir, store) = store();
    let alerts = real_alerts(25, "watchlist");
    let expected: Vec<String> = alerts
        .iter()
        .map(|a| text_of(&MessageData::single(a.clone())))
        .collect();
    deliver(
        &sim,
        &store,
        alerts,
        &["#tq-alerts", "general"],
        &["analyst1", "daniel.okafor@soc.tq-sim.test"],
        Duration::from_secs(30),
    )
    .await;

    let dm1 = sim.dm_of("U0ANALYST1").expect("a conversation was opened");
    let dm2 = sim.dm_of("U0ANALYST2").expect("a conversation was opened");
    assert!(dm1.starts_with('D') && dm2.starts_with('D'));
    let mut by_channel: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in sim.accepted() {
        // §6.4: text always, unfurling off, never link_names or parse, channel an id.
        assert!(m.payload["text"].as_str().is_some_and(|t| !t.is_empty()));
        assert_eq!(m.payload["unfurl_links"], json!(false));
        assert_eq!(m.payload["unfurl_media"], json!(false));
        assert!(m.payload.get("link_names").is_none());
        assert!(m.payload.get("parse").is_none());
        by_channel
            .entry(m.channel.clone())
            .or_default()
            .push(m.payload["text"].as_str().unwrap().to_string());
    }
    let expected_channels: BTreeSet<String> =
        ["C0TQALERT1", "C0GENERAL1", dm1.as_str(), dm2.as_str()]
            .into_iter()
            .map(String::from)
            .collect();
    assert_eq!(
        by_channel.keys().cloned().collect::<BTreeSet<_>>(),
        expected_channels
    );
    for (channel, texts) in &by_channel {
        // Each alert once, in the order the service found them.
        assert_eq!(texts, &expected, "{channel}");
    }
    assert_eq!(sim.violations(), Vec::<String>::new());

    // Every delivery keeps Slack's channel and ts, and they name accepted messages.
    let accepted: BTreeSet<(String, String)> = sim
        .accepted()
        .into_iter()
        .map(|m| (m.channel, m.ts))
        .collect();
    let delivered: Vec<_> = log(&store)
        .into_iter()
        .filter(|d| d.result == AttemptResult::Delivered)
        .collect();
    assert_eq!(delivered.len(), 100);
    for d in &delivered {
        let r = d.receipt.as_ref().expect("a receipt");
        assert!(
            accepted.contains(&(r.channel.clone(), r.ts.clone())),
            "{r:?}"
        );
        let sent: Value = serde_json::from_str(d.payload.as_deref().unwrap()).unwrap();
        assert_eq!(sent["channel"], json!(r.channel));
    }
    let counts = store.outbox_counts().unwrap();
    assert_eq!((counts.delivered, counts.possible_duplicates), (100, 0));
}

/// Every permanent word of §6.4, answered by the simulator's switch, fails its row after one
/// attempt with the word and a hint that says what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_permanent_word_fails_its_row_after_one_attempt_with_a_hint() {
    let words: [(&str, &str); 9] = [
        ("channel_not_found", "#tq-alerts"),
        (
            "not_in_channel",
            "invite the bot: /invite @tq-alerts in #tq-alerts",
        ),
        ("is_archived", "archived"),
        ("invalid_auth", "$SLACK_BOT_TOKEN"),
        ("token_revoked", "$SLACK_BOT_TOKEN"),
        ("missing_scope", "`chat:write`"),
        ("invalid_blocks", "fix the formatter"),
        ("no_text", "empty message"),
        ("msg_too_long", "too long"),
    ];
    let sim = sim(options()).await;
    for (word, _) in &words {
        sim.inject(FaultRule::on("chat.postMessage", Fault::Error(word.to_string())).times(1));
    }
    let (_dir, store) = store();
    deliver(
        &sim,
        &store,
        real_alerts(words.len(), "watchlist"),
        &["#tq-alerts"],
        &[],
        Duration::from_secs(30),
    )
    .await;
    let failed: Vec<DeliveryRecord> = log(&store)
        .into_iter()
        .filter(|d| d.result == AttemptResult::Failed)
        .collect();
    assert_eq!(failed.len(), words.len(), "{failed:#?}");
    for (record, (word, hint)) in failed.iter().zip(words) {
        let reason = record.reason.as_ref().unwrap();
        assert_eq!(reason.word, word);
        assert_eq!(record.attempts, 1, "{word}");
        let shown = reason.to_string();
        assert!(shown.contains(hint), "{word}: {shown}");
    }
    // channel_not_found resolved the name once more and says what it tried.
    let cnf = failed[0].reason.as_ref().unwrap().to_string();
    assert!(cnf.contains("C0TQALERT1") && cnf.contains("again"), "{cnf}");
    assert_eq!(store.outbox_counts().unwrap().failed, words.len() as u64);
    assert!(sim.accepted().is_empty());
}

/// Each transient fault: the row is retried and the message arrives exactly once after the
/// fault clears.
#[rstest]
#[case::http_500(Fault::Status(500), "http 500")]
#[case::http_503(Fault::Status(503), "http 503")]
#[case::hang_before_accept(Fault::HangBeforeAccept, "timed out")]
#[case::internal_error(Fault::Error("internal_error".into()), "internal_error")]
#[case::connection_closed(Fault::CloseConnection, "connection closed before message completed")]
#[case::rate_limited(Fault::RateLimited(1), "ratelimited")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_fault_is_retried_and_delivered_exactly_once(
    #[case] fault: Fault,
    #[case] word: &str,
) {
    let sim = sim(options()).await;
    sim.inject(FaultRule::on("chat.postMessage", fault.clone()).times(1));
    let (_dir, store) = store();
    let alerts = real_alerts(1, "watchlist");
    let text = text_of(&MessageData::single(alerts[0].clone()));
    let notifier = slack_notifier(
        "soc-slack",
        &sim,
        &["#tq-alerts"],
        &[],
        DeliverySettings {
            timeout: Duration::from_millis(800),
            ..settings(500.0, 20)
        },
        Some(store.clone()),
    );
    let mut service = BatchService::new("watchlist", alerts);
    service.notifiers.push(notifier);
    let mut worker = Worker::new(store.clone());
    worker.add_service(Box::new(service));
    let handle = worker.start().unwrap();
    assert!(settled(&store, 1, Duration::from_secs(20)).await);
    handle.shutdown().await;

    let accepted = sim.accepted();
    assert_eq!(accepted.len(), 1, "{fault:?}");
    assert_eq!(accepted[0].payload["text"], json!(text));
    let log = log(&store);
    assert_eq!(log.len(), 2, "{log:#?}");
    let expected_first = if matches!(fault, Fault::RateLimited(_)) {
        AttemptResult::RateLimited
    } else {
        AttemptResult::Retrying
    };
    assert_eq!(log[0].result, expected_first, "{fault:?}");
    assert_eq!(log[0].reason.as_ref().unwrap().word, word);
    assert_eq!(log[1].result, AttemptResult::Delivered);
    // The arrival the fault took, then the accepted one.
    let arrivals = sim.arrivals();
    assert_eq!(arrivals.len(), 2);
    assert!(matches!(
        arrivals[1].outcome,
        ArrivalOutcome::Accepted { .. }
    ));
    if let Fault::RateLimited(secs) = fault {
        assert!(arrivals[1].at - arrivals[0].at >= Duration::from_secs(secs));
        // A 429 is not an attempt.
        assert_eq!(log[1].attempts, 1);
    } else {
        assert_eq!(log[1].attempts, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_after_accepting_gives_one_duplicate_counted_in_status() {
    let sim = sim(options()).await;
    sim.inject(FaultRule::on("chat.postMessage", Fault::LoseAnswerAfterAccept).times(1));
    let (_dir, store) = store();
    let notifier = slack_notifier(
        "soc-slack",
        &sim,
        &["#tq-alerts"],
        &[],
        DeliverySettings {
            timeout: Duration::from_millis(800),
            ..settings(500.0, 20)
        },
        Some(store.clone()),
    );
    let mut service = BatchService::new("watchlist", real_alerts(3, "watchlist"));
    service.notifiers.push(notifier);
    let mut worker = Worker::new(store.clone());
    worker.add_service(Box::new(service));
    let handle = worker.start().unwrap();
    assert!(settled(&store, 3, Duration::from_secs(20)).await);
    handle.shutdown().await;

    let texts: Vec<String> = sim
        .accepted()
        .iter()
        .map(|m| m.payload["text"].as_str().unwrap().to_string())
        .collect();
    // The first alert twice (the lost answer), then the other two once each.
    assert_eq!(texts.len(), 4, "{texts:#?}");
    assert_eq!(texts[0], texts[1]);
    assert_eq!(texts.iter().collect::<BTreeSet<_>>().len(), 3);
    let counts = store.outbox_counts().unwrap();
    assert_eq!((counts.delivered, counts.possible_duplicates), (3, 1));
    let first = log(&store);
    assert_eq!(first[0].reason.as_ref().unwrap().word, "timed out");
}

fn message(text: &str) -> Message {
    Message::text(text)
}

fn data() -> MessageData {
    MessageData::single(real_alerts(1, "watchlist").remove(0))
}

#[tokio::test]
async fn a_recreated_channel_is_resolved_again_and_posted_to_in_the_same_attempt() {
    let sim = sim(options()).await;
    let (_dir, store) = store();
    let notifier = slack_notifier(
        "soc-slack",
        &sim,
        &["#tq-alerts"],
        &[],
        settings(500.0, 20),
        Some(store.clone()),
    );
    let first = notifier
        .send_alert("#tq-alerts", &data(), &message("first"))
        .await;
    assert_eq!(first.outcome, DeliveryOutcome::Delivered);
    assert_eq!(first.receipt.unwrap().channel, "C0TQALERT1");

    let new_id = sim.recreate_channel("tq-alerts").unwrap();
    let second = notifier
        .send_alert("#tq-alerts", &data(), &message("second"))
        .await;
    assert_eq!(second.outcome, DeliveryOutcome::Delivered, "{second:?}");
    assert_eq!(second.receipt.unwrap().channel, new_id);
    let sent: Value = serde_json::from_str(&second.payload.unwrap()).unwrap();
    assert_eq!(sent["channel"], json!(new_id));
    // The cache now holds the new id.
    let cached = store
        .slack_target(&sim.team_id(), "channel", "tq-alerts")
        .unwrap()
        .unwrap();
    assert_eq!(cached.post_to, new_id);
    let arrivals = sim.arrivals();
    assert_eq!(arrivals.len(), 3);
    assert_eq!(
        arrivals[1].outcome,
        ArrivalOutcome::Refused {
            word: "channel_not_found".into()
        }
    );
}

#[tokio::test]
async fn a_bot_removed_from_its_channel_fails_at_once_with_the_invite_hint() {
    let sim = sim(options()).await;
    let notifier = slack_notifier(
        "soc-slack",
        &sim,
        &["#tq-alerts"],
        &[],
        settings(500.0, 20),
        None,
    );
    let ok = notifier
        .send_alert("#tq-alerts", &data(), &message("one"))
        .await;
    assert_eq!(ok.outcome, DeliveryOutcome::Delivered);
    assert!(sim.remove_bot_from("tq-alerts"));
    let d = notifier
        .send_alert("#tq-alerts", &data(), &message("two"))
        .await;
    let DeliveryOutcome::Failed { reason } = d.outcome else {
        panic!("{d:?}");
    };
    assert_eq!(reason.word, "not_in_channel");
    assert_eq!(
        reason.hint.as_deref(),
        Some("invite the bot: /invite @tq-alerts in #tq-alerts")
    );
}

#[tokio::test]
async fn blocks_beyond_a_limit_come_back_as_invalid_blocks_with_slacks_pointer() {
    let sim = sim(options()).await;
    let notifier = slack_notifier(
        "soc-slack",
        &sim,
        &["#tq-alerts"],
        &[],
        settings(500.0, 20),
        None,
    );
    let mut m = message("Indicator on the watchlist");
    m.blocks = Some(json!([
        { "type": "header", "text": { "type": "plain_text", "text": "x".repeat(151) } }
    ]));
    let d = notifier.send_alert("#tq-alerts", &data(), &m).await;
    let DeliveryOutcome::Failed { reason } = d.outcome else {
        panic!("{d:?}");
    };
    assert_eq!(reason.word, "invalid_blocks");
    assert_eq!(
        reason.detail.as_deref(),
        Some("[ERROR] must be at most 150 characters [json-pointer:/blocks/0/text/text]")
    );
    assert!(sim.accepted().is_empty());
}

#[tokio::test]
async fn a_target_that_cannot_be_resolved_fails_without_posting() {
    let sim = sim(options()).await;
    let notifier = slack_notifier(
        "soc-slack",
        &sim,
        &["#old-alerts"],
        &["Alex Kim"],
        settings(500.0, 20),
        None,
    );
    for (target, word) in [
        ("#old-alerts", "is_archived"),
        ("Alex Kim", "ambiguous_name"),
    ] {
        let d = notifier.send_alert(target, &data(), &message("x")).await;
        let DeliveryOutcome::Failed { reason } = d.outcome else {
            panic!("{d:?}");
        };
        assert_eq!(reason.word, word);
        assert!(d.payload.is_none(), "nothing was sent");
    }
    assert_eq!(sim.calls_of("chat.postMessage"), 0);
}
