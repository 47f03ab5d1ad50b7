//! The outbox budget of PRODUCT.md §10: 10,000 alerts through the real worker and outbox to the
//! Slack simulator, its rate limit raised and the notifier's `rate` to match, digests off. Each
//! run must deliver every alert with zero 429s and no duplicate (it panics otherwise); alerts/s
//! is criterion's throughput. The alerts are real published indicators (Citizen Lab, ESET),
//! reused with distinct ThreatQ ids to make 10,000.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tq_alerts::alert::{Alert, NotificationType, ObjectKind, ThreatObject};
use tq_alerts::config::{Secret, SecretSource};
use tq_alerts::formatters::PlainFormatter;
use tq_alerts::http::ClientOptions;
use tq_alerts::notifier::{DeliverySettings, Notifier};
use tq_alerts::notifiers::SlackNotifier;
use tq_alerts::service::{Poll, PollContext, Service, ServiceError};
use tq_alerts::sim::slack::{ArrivalOutcome, RateLimit, SlackSim, SlackSimOptions};
use tq_alerts::slack::api::SlackApi;
use tq_alerts::store::Store;
use tq_alerts::worker::Worker;

const ALERTS: usize = 10_000;
/// Raised on both sides: the simulator's per-channel limit and the notifier's `rate`.
const RATE: f64 = 100_000.0;
const BURST: u32 = 100;

/// A service that finds the same batch on its first poll and nothing afterwards.
struct OneBatch {
    alerts: Vec<Alert>,
    notifiers: Vec<Arc<dyn Notifier>>,
}

#[async_trait]
impl Service for OneBatch {
    fn name(&self) -> &str {
        "watchlist"
    }

    fn notification_type(&self) -> NotificationType {
        NotificationType::Watchlist
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(3600)
    }

    async fn fetch_alerts(&mut self, _ctx: &PollContext) -> Result<Poll, ServiceError> {
        let alerts = std::mem::take(&mut self.alerts);
        Ok(Poll {
            fetched: alerts.len(),
            alerts,
            ..Poll::default()
        })
    }

    fn add_notifier(&mut self, notifier: Arc<dyn Notifier>) {
        self.notifiers.push(notifier);
    }

    fn notifiers(&self) -> Vec<Arc<dyn Notifier>> {
        self.notifiers.clone()
    }
}

fn alerts() -> Vec<Alert> {
    let published: Vec<_> = tq_alerts::sim::data::indicators().collect();
    (0..ALERTS)
        .map(|i| {
            let (report, indicator) = published[i % published.len()];
            let id = 10_000 + i as u64;
            let mut o = ThreatObject::new(ObjectKind::Indicator, id, indicator.value.clone());
            o.object_type = Some(indicator.threatq_type.to_string());
            o.status = Some("Active".into());
            o.score = Some(8.0);
            o.sources = vec![report.publisher.to_string()];
            o.url = Some(ThreatObject::ui_url(
                "https://threatq.example.net",
                &ObjectKind::Indicator,
                id,
            ));
            Alert::new("watchlist", NotificationType::Watchlist, o)
        })
        .collect()
}

/// One run: queue 10,000 alerts for #tq-alerts and wait until the outbox has delivered them.
async fn run_once() -> Duration {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = Store::open(&dir.path().join("state.db")).expect("a state file");
    let sim = SlackSim::start_local(SlackSimOptions {
        rate_limit: Some(RateLimit::new(RATE, BURST)),
        ..SlackSimOptions::default()
    })
    .await
    .expect("the simulator starts");
    let settings = DeliverySettings {
        rate: RATE,
        burst: BURST,
        digest_threshold: usize::MAX,
        ..DeliverySettings::default()
    };
    let api = SlackApi::new(
        &url::Url::parse(&sim.api_url()).expect("a URL"),
        Secret::new(sim.token(), SecretSource::Env("SLACK_BOT_TOKEN".into())),
        &ClientOptions::default(),
    )
    .expect("a client");
    let mut notifier = SlackNotifier::new(
        "soc-slack",
        api,
        vec!["#tq-alerts".into()],
        vec![],
        settings,
        Some(store.clone()),
    );
    notifier.set_formatter(Arc::new(PlainFormatter::new("plain-text")));
    let service = OneBatch {
        alerts: alerts(),
        notifiers: vec![Arc::new(notifier)],
    };
    let mut worker = Worker::new(store.clone());
    worker.add_service(Box::new(service));

    let started = Instant::now();
    let handle = worker.start().expect("the worker starts");
    loop {
        let c = store.outbox_counts().expect("counts");
        if c.delivered + c.failed >= ALERTS as u64 && c.queued == 0 && c.sending == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "stuck: {c:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    handle.shutdown().await;

    let refused = sim
        .arrivals()
        .iter()
        .filter(|a| matches!(a.outcome, ArrivalOutcome::RateLimited { .. }))
        .count();
    let accepted = sim.accepted().len();
    let counts = store.outbox_counts().expect("counts");
    println!(
        "{ALERTS} alerts in {:.2} s = {:.0} alerts/s; {refused} 429s; {} duplicates; {} failed",
        took.as_secs_f64(),
        ALERTS as f64 / took.as_secs_f64(),
        accepted.saturating_sub(ALERTS),
        counts.failed
    );
    assert_eq!(refused, 0, "429s at a matched rate");
    assert_eq!(
        accepted, ALERTS,
        "every alert once: none lost, none doubled"
    );
    assert_eq!(counts.delivered, ALERTS as u64);
    took
}

fn outbox(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("outbox");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(55));
    group.throughput(Throughput::Elements(ALERTS as u64));
    group.bench_function(
        "10000 alerts to one Slack channel through the simulator",
        |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| runtime.block_on(run_once()))
                    .sum::<Duration>()
            })
        },
    );
    group.finish();
}

criterion_group!(benches, outbox);
criterion_main!(benches);
