//! `send-test --notifier NAME`: a test message through the real notifier path, one line per
//! target; exit 1 if any target failed. The work is `worker::send_test`, which the console
//! calls too.

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::config::Config;
use crate::store::{LockError, StateLock, Store};
use crate::worker::from_config::{build_formatter, build_notifier, client_options};

pub fn send_test(config: Config, notifier: &str) -> anyhow::Result<ExitCode> {
    let Some(notifier_config) = config.notifier(notifier) else {
        let known: Vec<&str> = config.notifiers.iter().map(|n| n.name.as_str()).collect();
        eprintln!(
            "{}: no notifier named '{notifier}'; {}",
            config.path.display(),
            if known.is_empty() {
                "the config has none".to_string()
            } else {
                format!("the notifiers are: {}", known.join(", "))
            }
        );
        return Ok(ExitCode::FAILURE);
    };
    let mut formatters = BTreeMap::new();
    if let Some(name) = &notifier_config.formatter
        && let Some(f) = config.formatter(name)
    {
        formatters.insert(name.clone(), build_formatter(f)?);
    }
    // The state file keeps Slack's name resolutions and logs the test. When a running worker
    // owns it, the test still goes out; it is just not logged.
    let path = config.state.resolved_path();
    let state = match StateLock::acquire(&path) {
        Ok(lock) => Some((lock, Store::open(&path)?)),
        Err(LockError::Held { pid, .. }) => {
            eprintln!(
                "note: the state file is in use by pid {pid}; this test is not logged there (send it from the console to log it)"
            );
            None
        }
        Err(e) => return Err(e.into()),
    };
    let store = state.as_ref().map(|(_, store)| store);
    let notifier = build_notifier(
        notifier_config,
        &formatters,
        &client_options(&config),
        store,
    )?;
    let runtime = tokio::runtime::Runtime::new()?;
    let results = runtime.block_on(crate::worker::send_test(notifier.as_ref(), store));
    for result in &results {
        println!("{result}");
    }
    Ok(if results.iter().all(|r| r.ok()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
