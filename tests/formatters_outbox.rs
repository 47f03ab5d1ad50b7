//! A template that fails at send time fails its outbox row with the message `check` gives for
//! it, and sends nothing (PRODUCT.md §7.1): the worker, the real state file and a real HTTP
//! receiver, with the notifier and formatter built from a config file.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use common::{BatchService, Receiver, real_alerts};
use tq_alerts::alert::MessageData;
use tq_alerts::commands::check::render_formatters;
use tq_alerts::formatter::Formatter;
use tq_alerts::store::{RowStatus, Store};
use tq_alerts::worker::Worker;
use tq_alerts::worker::from_config::{build_formatter, build_notifier, client_options};

/// The field name is misspelt behind a variable, so only rendering finds it.
const TEMPLATE: &str = "{% set o = object %}{{ o.sourse }}";
const EXPECTED: &str = "template 'compact' line 1, column 26: `object` has no field `sourse` — did you mean `sources`?";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_whose_template_fails_fails_with_the_template_error_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"
[[notifiers]]
name = "soar-hook"
kind = "webhook"
url_env = "TQ_TEST_SOAR_URL"
formatter = "compact"
rate = 100.0
digest_threshold = 1000

[[formatters]]
name = "compact"
kind = "template"
output = "json"
template = '{TEMPLATE}'
"#
        ),
    )
    .unwrap();
    let env: HashMap<String, String> = [("TQ_TEST_SOAR_URL".to_owned(), receiver.url())].into();
    let config = tq_alerts::config::load_with(&config_path, &env).unwrap();

    // `check` finds the error by rendering the samples
    let rendering = render_formatters(&config);
    assert!(
        rendering.problems.iter().any(|p| p.ends_with(EXPECTED)),
        "{:?}",
        rendering.problems
    );

    let mut formatters: BTreeMap<String, Arc<dyn Formatter>> = BTreeMap::new();
    formatters.insert(
        "compact".into(),
        build_formatter(&config.formatters[0]).expect("the template compiles"),
    );
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    let notifier = build_notifier(
        &config.notifiers[0],
        &formatters,
        &client_options(&config),
        Some(&store),
    )
    .unwrap();
    let mut service = BatchService::new("watchlist", real_alerts(3, "watchlist"));
    service.notifiers.push(notifier);
    let mut worker = Worker::new(store.clone());
    worker.add_service(Box::new(service));
    let handle = worker.start().unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let failed = loop {
        let failed = store.rows(RowStatus::Failed, 10).unwrap();
        if failed.len() == 3 || tokio::time::Instant::now() > deadline {
            break failed;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    handle.shutdown().await;

    assert_eq!(failed.len(), 3, "every row fails");
    for row in &failed {
        let reason = row.last_error.clone().unwrap();
        assert_eq!(reason.word, "format error");
        assert_eq!(reason.detail.as_deref(), Some(EXPECTED));
        assert_eq!(row.attempts, 1, "a template error is not retried by itself");
    }
    assert_eq!(receiver.count(), 0, "nothing was sent");
    // and formatting one of those alerts directly says the same
    let alert = real_alerts(1, "watchlist").remove(0);
    let err = formatters["compact"]
        .format_data(&MessageData::single(alert))
        .unwrap_err();
    assert_eq!(err.to_string(), EXPECTED);
}
