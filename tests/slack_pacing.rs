//! Pacing per target (PRODUCT.md §6.4), judged from the simulator's arrival log, never from the
//! wall clock: at Slack's own rate nothing is refused; too fast, a 429 pauses only its channel
//! for its `Retry-After` while other channels keep receiving; and the case Alertmanager 0.25
//! loses (30 alerts at once to a 1/s, burst-3 receiver) arrives whole and in order.

mod common;
mod slack_common;

use std::time::{Duration, Instant};

use common::{BatchService, real_alerts};
use slack_common::{options, settings, settled, sim, slack_notifier};
use tq_alerts::MessageData;
use tq_alerts::formatter::Formatter;
use tq_alerts::formatters::PlainFormatter;
use tq_alerts::notifier::{DeliverySettings, Notifier};
use tq_alerts::sim::slack::{Arrival, ArrivalOutcome, RateLimit, SlackSim, SlackSimOptions};
use tq_alerts::store::Store;
use tq_alerts::worker::Worker;

fn texts(n: usize, service: &str) -> Vec<String> {
    real_alerts(n, service)
        .into_iter()
        .map(|a| {
            PlainFormatter::new("plain-text")
                .format_data(&MessageData::single(a))
                .unwrap()
                .text
        })
        .collect()
}

fn service(name: &str, alerts: usize, notifier: std::sync::Arc<dyn Notifier>) -> BatchService {
    let mut s = BatchService::new(name, real_alerts(alerts, name));
    s.notifiers.push(notifier);
    s
}

fn to(arrivals: &[Arrival], channel: &str) -> Vec<Arrival> {
    arrivals
        .iter()
        .filter(|a| a.channel.as_deref() == Some(channel))
        .cloned()
        .collect()
}

fn accepted_texts(sim: &SlackSim, channel: &str) -> Vec<String> {
    sim.accepted()
        .into_iter()
        .filter(|m| m.channel == channel)
        .map(|m| m.payload["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn rate_limited(arrivals: &[Arrival]) -> Vec<(Instant, Duration)> {
    arrivals
        .iter()
        .filter_map(|a| match a.outcome {
            ArrivalOutcome::RateLimited { retry_after } => Some((a.at, retry_after)),
            _ => None,
        })
        .collect()
}

/// The first arrival a token bucket of `rate`/`burst` would refuse, if any: "no two arrivals
/// closer than the rate allows beyond the burst".
fn beyond_the_rate(arrivals: &[Instant], rate: f64, burst: u32) -> Option<usize> {
    let mut tokens = f64::from(burst);
    let mut last = *arrivals.first()?;
    for (i, at) in arrivals.iter().enumerate() {
        tokens = (tokens + at.duration_since(last).as_secs_f64() * rate).min(f64::from(burst));
        last = *at;
        if tokens < 1.0 - 1e-9 {
            return Some(i);
        }
        tokens -= 1.0;
    }
    None
}

async fn run(store: &Store, services: Vec<BatchService>, rows: u64, timeout: Duration) -> Duration {
    let started = Instant::now();
    let mut worker = Worker::new(store.clone());
    for s in services {
        worker.add_service(Box::new(s));
    }
    let handle = worker.start().unwrap();
    assert!(
        settled(store, rows, timeout).await,
        "{:?}",
        store.outbox_counts()
    );
    handle.shutdown().await;
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_simulators_rate_two_hundred_alerts_meet_no_429() {
    let (rate, burst) = (100.0, 3);
    let sim = sim(SlackSimOptions {
        rate_limit: Some(RateLimit::new(rate, burst)),
        ..options()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    let n = slack_notifier(
        "soc-slack",
        &sim,
        &["#tq-alerts"],
        &[],
        settings(rate, burst),
        Some(store.clone()),
    );
    let took = run(
        &store,
        vec![service("watchlist", 200, n)],
        200,
        Duration::from_secs(60),
    )
    .await;

    let arrivals = to(&sim.arrivals(), "C0TQALERT1");
    let refused = rate_limited(&arrivals);
    eprintln!(
        "200 alerts at {rate}/s (burst {burst}): {took:.2?}, {} 429s",
        refused.len()
    );
    assert_eq!(refused.len(), 0);
    assert_eq!(arrivals.len(), 200);
    let times: Vec<Instant> = arrivals.iter().map(|a| a.at).collect();
    assert_eq!(beyond_the_rate(&times, rate, burst), None);
    assert_eq!(accepted_texts(&sim, "C0TQALERT1"), texts(200, "watchlist"));
    assert_eq!(sim.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_twice_the_rate_a_429_pauses_only_its_own_channel_for_retry_after() {
    let (rate, burst) = (10.0, 3);
    let sim = sim(SlackSimOptions {
        rate_limit: Some(RateLimit::new(rate, burst)),
        ..options()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    // One notifier at twice the simulator's rate to #tq-alerts, another at its rate to
    // #soc-triage.
    let fast = slack_notifier(
        "too-fast",
        &sim,
        &["#tq-alerts"],
        &[],
        settings(2.0 * rate, burst),
        Some(store.clone()),
    );
    let paced = slack_notifier(
        "paced",
        &sim,
        &["#soc-triage"],
        &[],
        settings(rate, burst),
        Some(store.clone()),
    );
    run(
        &store,
        vec![
            service("watchlist", 20, fast),
            service("high-score-iocs", 60, paced),
        ],
        80,
        Duration::from_secs(60),
    )
    .await;

    let all = sim.arrivals();
    let first = to(&all, "C0TQALERT1");
    let second = to(&all, "C0SOCTRIA1");
    let pauses = rate_limited(&first);
    assert!(!pauses.is_empty(), "twice the rate met no 429");
    for (at, retry_after) in &pauses {
        let until = *at + *retry_after;
        assert!(
            !first.iter().any(|a| a.at > *at && a.at < until),
            "a request reached #tq-alerts before its Retry-After ended"
        );
        assert!(
            second.iter().any(|a| a.at > *at && a.at < until),
            "#soc-triage received nothing during a pause of #tq-alerts"
        );
    }
    assert_eq!(rate_limited(&second).len(), 0);
    assert_eq!(accepted_texts(&sim, "C0TQALERT1"), texts(20, "watchlist"));
    assert_eq!(
        accepted_texts(&sim, "C0SOCTRIA1"),
        texts(60, "high-score-iocs")
    );
    assert_eq!(sim.violations(), Vec::<String>::new());
}

/// Measured: Alertmanager 0.25 sending 30 alerts at once to a Slack-like webhook limited to
/// 1/s (burst 3) delivered 3 and never retried the 27 that got a 429 within 3 minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_alerts_at_once_to_one_per_second_all_arrive_in_order() {
    let sim = sim(SlackSimOptions {
        rate_limit: Some(RateLimit::new(1.0, 3)),
        ..options()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    // The notifier's defaults (1 per second, burst 3), digests off so 30 messages go out.
    let defaults = DeliverySettings {
        digest_threshold: 1000,
        ..DeliverySettings::default()
    };
    let n = slack_notifier(
        "soc-slack",
        &sim,
        &["#tq-alerts"],
        &[],
        defaults,
        Some(store.clone()),
    );
    let took = run(
        &store,
        vec![service("watchlist", 30, n)],
        30,
        Duration::from_secs(120),
    )
    .await;

    let arrivals = to(&sim.arrivals(), "C0TQALERT1");
    let refused = rate_limited(&arrivals).len();
    eprintln!(
        "Alertmanager case: 30 alerts at once to 1/s (burst 3): delivered {} in {took:.1?}, {refused} 429s",
        sim.accepted().len()
    );
    assert_eq!(accepted_texts(&sim, "C0TQALERT1"), texts(30, "watchlist"));
    assert_eq!(refused, 0);
    let counts = store.outbox_counts().unwrap();
    assert_eq!((counts.delivered, counts.failed, counts.queued), (30, 0, 0));
}
