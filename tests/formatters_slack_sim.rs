//! Formatters against the Slack simulator: `preview --format json` prints the bytes the `slack`
//! notifier sends for the same alert (one code path), and Slack accepts every message of every
//! built-in formatter — each sample, each hostile alert, a 200-alert page, pages of 20.

mod formatters_support;

use std::collections::{BTreeMap, HashMap};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use formatters_support::*;
use tq_alerts::alert::{Alert, MessageData, NotificationType};
use tq_alerts::commands::preview::{message_data, objects_from_json, target};
use tq_alerts::config::Config;
use tq_alerts::formatter::Formatter;
use tq_alerts::formatters::samples::{digest_of, indicator_alerts, samples};
use tq_alerts::notifier::{DeliveryOutcome, Notifier};
use tq_alerts::service::{Poll, PollContext, Service, ServiceError};
use tq_alerts::sim::slack::{SlackSim, SlackSimOptions};
use tq_alerts::store::{DeliveryFilter, Store};
use tq_alerts::worker::Worker;
use tq_alerts::worker::from_config::{build_formatter, build_notifier, client_options};

const BIN: &str = env!("CARGO_BIN_EXE_tq-alerts-tui");

async fn sim() -> SlackSim {
    SlackSim::start_local(SlackSimOptions {
        rate_limit: None,
        ..SlackSimOptions::default()
    })
    .await
    .unwrap()
}

/// A config with a `slack` notifier on the simulator, using formatter `blocks`.
fn write_config(dir: &std::path::Path, sim: &SlackSim) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            r##"
[threatq]
url = "https://threatq.soc.internal"
auth = "client-credentials"
client_id = "d41d8cd98f00b204e9800998ecf8427e"
client_secret_env = "TQ_CLIENT_SECRET"

[[notifiers]]
name = "soc-slack"
kind = "slack"
token_env = "SLACK_BOT_TOKEN"
channels = ["tq-alerts"]
formatter = "blocks"
api_url = "{}"
rate = 100.0
digest_threshold = 1000

[[formatters]]
name = "blocks"
kind = "slack-blocks"
"##,
            sim.api_url()
        ),
    )
    .unwrap();
    path
}

fn env(sim: &SlackSim) -> HashMap<String, String> {
    [
        ("SLACK_BOT_TOKEN".to_owned(), sim.token().to_owned()),
        ("TQ_CLIENT_SECRET".to_owned(), "dummy".to_owned()),
    ]
    .into()
}

/// The notifier of the config, built as the worker builds it.
fn notifier(config: &Config, store: &Store) -> Arc<dyn Notifier> {
    let mut formatters: BTreeMap<String, Arc<dyn Formatter>> = BTreeMap::new();
    for f in &config.formatters {
        formatters.insert(f.name.clone(), build_formatter(f).unwrap());
    }
    build_notifier(
        &config.notifiers[0],
        &formatters,
        &client_options(config),
        Some(store),
    )
    .unwrap()
}

/// A service that hands out the alerts it was given, once.
struct Given {
    alerts: Vec<Alert>,
    notifiers: Vec<Arc<dyn Notifier>>,
}

#[async_trait]
impl Service for Given {
    fn name(&self) -> &str {
        "preview"
    }
    fn notification_type(&self) -> NotificationType {
        NotificationType::Watchlist
    }
    fn interval(&self) -> Duration {
        Duration::from_secs(3600)
    }
    async fn fetch_alerts(&mut self, _ctx: &PollContext) -> Result<Poll, ServiceError> {
        Ok(Poll {
            fetched: self.alerts.len(),
            alerts: std::mem::take(&mut self.alerts),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_json_is_byte_for_byte_what_the_slack_notifier_sent() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &sim);
    let config = tq_alerts::config::load_with(&cfg, &env(&sim)).unwrap();
    let alert_file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/alerts/slack_mentions.json");

    // the preview, from the binary
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .envs(env(&sim))
        .args(["preview", "--config"])
        .arg(&cfg)
        .args(["--formatter", "blocks", "--format", "json", "--alert"])
        .arg(&alert_file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let previewed = String::from_utf8(out.stdout).unwrap();

    // the same alert through the worker, the outbox and the notifier to the simulator
    let t = target(&config, "blocks").unwrap();
    let threatq = config.threatq.as_ref().unwrap().url.clone();
    let objects =
        objects_from_json(&std::fs::read_to_string(&alert_file).unwrap(), &threatq).unwrap();
    let alerts: Vec<Alert> = message_data(&t, objects, false)
        .into_iter()
        .flat_map(|d| d.alerts().to_vec())
        .collect();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    let mut worker = Worker::new(store.clone());
    worker.add_service(Box::new(Given {
        alerts,
        notifiers: vec![notifier(&config, &store)],
    }));
    let handle = worker.start().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while store.outbox_counts().unwrap().delivered < 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.shutdown().await;

    let sent = store.deliveries(&DeliveryFilter::default()).unwrap();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let payload = sent[0].payload.clone().unwrap();
    let id = sim.channel_id("tq-alerts").unwrap();
    // the notifier posts to the channel's id; the preview names the channel as written
    let as_previewed = payload.replacen(
        &format!("{{\"channel\":\"{id}\""),
        "{\"channel\":\"tq-alerts\"",
        1,
    );
    assert_eq!(previewed, format!("{as_previewed}\n"));
    assert_eq!(sim.accepted().len(), 1);
    assert_eq!(
        sim.accepted()[0].payload,
        serde_json::from_str::<serde_json::Value>(&payload).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_accepts_every_message_of_every_builtin_formatter() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &sim);
    let config = tq_alerts::config::load_with(&cfg, &env(&sim)).unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    let notifier = notifier(&config, &store);

    let mut inputs: Vec<(String, MessageData)> = samples(None)
        .into_iter()
        .map(|s| (s.name, MessageData::single(s.alert)))
        .collect();
    inputs.extend(
        fixtures()
            .into_iter()
            .map(|(name, alert)| (name, MessageData::single(alert))),
    );
    inputs.push((
        "200 alerts".into(),
        digest_of(indicator_alerts(None, 200), 1, 1),
    ));
    inputs.push((
        "page of 20".into(),
        digest_of(indicator_alerts(None, 20), 3, 10),
    ));

    let mut sent = 0;
    for (formatter_name, formatter, sink) in all_formatters() {
        if formatter_name == "template-json" {
            continue; // a webhook body, which the config refuses for Slack notifiers
        }
        for (what, data) in &inputs {
            let message = formatter.format_data(data).unwrap();
            let delivery = notifier.send_alert("tq-alerts", data, &message).await;
            assert_eq!(
                delivery.outcome,
                DeliveryOutcome::Delivered,
                "{formatter_name} ({sink:?}), {what}"
            );
            sent += 1;
        }
    }
    assert_eq!(sim.accepted().len(), sent);
    assert!(sim.violations().is_empty(), "{:?}", sim.violations());
}
