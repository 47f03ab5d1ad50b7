//! `check`: the config is valid (checked when it was loaded) and everything it names can be
//! built: notifiers, formatters, services. `--online` also logs in to ThreatQ and reads one
//! page for each service, calls Slack's `auth.test` and resolves every channel and user,
//! sending nothing; one line per check.

use std::process::ExitCode;
use std::sync::Arc;

use crate::config::{Config, ServiceKind};
use crate::text::sanitize_for_terminal;
use crate::threatq::{ThreatQClient, collections};
use crate::worker::from_config;

/// One online check: what was checked and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLine {
    pub ok: bool,
    pub line: String,
}

impl CheckLine {
    fn ok(line: String) -> Self {
        Self { ok: true, line }
    }

    fn failed(line: String) -> Self {
        Self { ok: false, line }
    }
}

pub fn check(config: Config, online: bool) -> anyhow::Result<ExitCode> {
    let built = match from_config::build(&config) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{}: {e}", config.path.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let enabled = config.services.iter().filter(|s| s.enabled).count();
    println!(
        "{}: ok — {} service(s) ({} enabled), {} notifier(s), {} formatter(s)",
        config.path.display(),
        config.services.len(),
        enabled,
        config.notifiers.len(),
        config.formatters.len()
    );
    if !online {
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let lines = runtime.block_on(async {
        let mut lines = match &built.threatq {
            Some(client) => threatq_online(&config, client).await,
            None => vec![CheckLine::ok(
                "threatq: no [threatq] table; nothing to log in to".into(),
            )],
        };
        let client = from_config::client_options(&config);
        for notifier in &config.notifiers {
            for line in crate::notifiers::slack::check_online(notifier, &client).await {
                lines.push(CheckLine {
                    ok: line.level != crate::notifiers::slack::CheckLevel::Error,
                    line: line.to_string(),
                });
            }
        }
        lines
    });
    let mut all_ok = true;
    for l in &lines {
        all_ok &= l.ok;
        println!("{}", sanitize_for_terminal(&l.line));
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Log in, read the lookups and one page per service. Reads only.
pub async fn threatq_online(config: &Config, client: &Arc<ThreatQClient>) -> Vec<CheckLine> {
    let mut lines = Vec::new();
    if client.is_insecure() {
        lines.push(CheckLine::ok(format!(
            "threatq: warning — TLS certificates of {} are not checked (insecure_skip_verify)",
            client.origin()
        )));
    }
    if let Err(e) = client.login().await {
        lines.push(CheckLine::failed(format!("threatq: FAILED — {e}")));
        return lines;
    }
    lines.push(CheckLine::ok(format!(
        "threatq: logged in to {} as {}",
        client.origin(),
        client.principal()
    )));
    match client.refresh_lookups().await {
        Ok(l) => lines.push(CheckLine::ok(format!(
            "threatq: {} indicator types, {} indicator statuses, {} event types",
            l.indicator_types.len(),
            l.indicator_statuses.len(),
            l.event_types.len()
        ))),
        Err(e) => lines.push(CheckLine::failed(format!("threatq: lookups FAILED — {e}"))),
    }
    for service in &config.services {
        match &service.kind {
            ServiceKind::Watchlist {
                collections: names,
                alert_on,
                ..
            } => {
                let relations = alert_on.contains(&crate::alert::Field::Relations);
                for collection in names {
                    let with = collections::with_param(collection, relations);
                    let line = match client.list(collection, "-touched_at", 1, 0, &with).await {
                        Ok(page) => CheckLine::ok(format!(
                            "service '{}': /api/{collection} ok ({} object(s))",
                            service.name,
                            page.total.map_or("?".into(), |t| t.to_string())
                        )),
                        Err(e) => {
                            CheckLine::failed(format!("service '{}': FAILED — {e}", service.name))
                        }
                    };
                    lines.push(line);
                }
            }
            ServiceKind::DataCollection {
                collection_hash,
                collection,
                ..
            } => {
                let with = collections::with_param(collection, false);
                let line = match client
                    .query_hash(collection, collection_hash, "*", 1, &with)
                    .await
                {
                    Ok(page) => CheckLine::ok(format!(
                        "service '{}': data collection {collection_hash} ok ({} object(s))",
                        service.name,
                        page.total.map_or("?".into(), |t| t.to_string())
                    )),
                    Err(e) => {
                        CheckLine::failed(format!("service '{}': FAILED — {e}", service.name))
                    }
                };
                lines.push(line);
            }
        }
    }
    lines
}
