//! Shared parts of the Slack tests: the simulator on a free loopback port with test-friendly
//! options, and the product's own Slack client and notifiers pointed at it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use tq_alerts::config::{Secret, SecretSource};
use tq_alerts::formatters::PlainFormatter;
use tq_alerts::http::ClientOptions;
use tq_alerts::notifier::{DeliverySettings, Notifier};
use tq_alerts::notifiers::SlackNotifier;
use tq_alerts::sim::slack::{RateLimit, SlackSim, SlackSimOptions};
use tq_alerts::slack::api::SlackApi;
use tq_alerts::store::Store;

/// The variable the tests say the token comes from (it is never read from the environment).
pub const TOKEN_VAR: &str = "SLACK_BOT_TOKEN";

/// Small pages (2) to exercise paging, and a rate limit high enough not to slow a test down.
pub fn options() -> SlackSimOptions {
    SlackSimOptions {
        page_size: 2,
        rate_limit: Some(RateLimit::new(500.0, 50)),
        ..SlackSimOptions::default()
    }
}

pub async fn sim(options: SlackSimOptions) -> SlackSim {
    SlackSim::start_local(options).await.unwrap()
}

pub fn token(value: &str) -> Secret {
    Secret::new(value, SecretSource::Env(TOKEN_VAR.into()))
}

pub fn api(sim: &SlackSim) -> SlackApi {
    api_with_token(sim, sim.token())
}

pub fn api_with_token(sim: &SlackSim, value: &str) -> SlackApi {
    SlackApi::new(
        &url::Url::parse(&sim.api_url()).unwrap(),
        token(value),
        &ClientOptions {
            timeout: Some(Duration::from_secs(5)),
            ..ClientOptions::default()
        },
    )
    .unwrap()
}

/// Settings for tests: fast retries are the sender's business; digests off.
pub fn settings(rate: f64, burst: u32) -> DeliverySettings {
    DeliverySettings {
        rate,
        burst,
        digest_threshold: 100_000,
        timeout: Duration::from_secs(2),
        ..DeliverySettings::default()
    }
}

pub fn slack_notifier(
    name: &str,
    sim: &SlackSim,
    channels: &[&str],
    users: &[&str],
    settings: DeliverySettings,
    store: Option<Store>,
) -> Arc<dyn Notifier> {
    let api = SlackApi::new(
        &url::Url::parse(&sim.api_url()).unwrap(),
        token(sim.token()),
        &ClientOptions {
            timeout: Some(settings.timeout),
            ..ClientOptions::default()
        },
    )
    .unwrap();
    let mut n = SlackNotifier::new(
        name,
        api,
        channels.iter().map(|s| s.to_string()).collect(),
        users.iter().map(|s| s.to_string()).collect(),
        settings,
        store,
    );
    n.set_formatter(Arc::new(PlainFormatter::new("plain-text")));
    Arc::new(n)
}

/// Wait until `rows` outbox rows are finished (delivered or failed) and none is waiting.
pub async fn settled(store: &Store, rows: u64, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let c = store.outbox_counts().unwrap();
        if c.queued == 0 && c.sending == 0 && c.delivered + c.failed >= rows {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
