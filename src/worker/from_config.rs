//! Builds the built-in services, notifiers and formatters a configuration names, and a
//! `Worker` that runs them: configuration in, running product out, no code needed.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{
    Config, FormatterConfig, NotifierConfig, NotifierKind, ServiceConfig, ServiceKind,
};
use crate::formatter::Formatter;
use crate::formatters::{self, PlainFormatter, SlackBlocksFormatter};
use crate::http::ClientOptions;
use crate::notifier::Notifier;
use crate::notifiers::{SlackNotifier, SlackWebhookNotifier, WebhookNotifier};
use crate::service::Service;
use crate::services::data_collection::DataCollectionSettings;
use crate::services::watchlist::WatchlistSettings;
use crate::services::{DataCollectionService, WatchlistService};
use crate::slack::api::SlackApi;
use crate::store::Store;
use crate::threatq::ThreatQClient;

use super::{Worker, WorkerOptions};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A template that does not compile: the error names the template, line and column.
    #[error(transparent)]
    Template(crate::formatter::FormatError),
    #[error("formatter '{name}': {message}")]
    Formatter { name: String, message: String },
    #[error("notifier '{name}': {message}")]
    Notifier { name: String, message: String },
    #[error("service '{name}': {message}")]
    Service { name: String, message: String },
    #[error("[threatq]: {0}")]
    ThreatQ(String),
}

/// The formatters, notifiers and services of a configuration, built and wired.
pub struct Built {
    /// The ThreatQ client every service shares.
    pub threatq: Option<Arc<ThreatQClient>>,
    pub formatters: BTreeMap<String, Arc<dyn Formatter>>,
    pub notifiers: BTreeMap<String, Arc<dyn Notifier>>,
    pub services: super::ServiceList,
}

/// HTTP settings every notifier shares (`[network]`).
pub fn client_options(config: &Config) -> ClientOptions {
    ClientOptions {
        timeout: None,
        proxy: config.network.proxy.clone(),
        no_proxy: config.network.no_proxy.clone(),
        ca_file: None,
        insecure_skip_verify: false,
    }
}

pub fn build_formatter(config: &FormatterConfig) -> Result<Arc<dyn Formatter>, BuildError> {
    formatters::build(config).map_err(BuildError::Template)
}

/// The formatter a notifier uses when its config names none: Block Kit for Slack, plain text
/// for webhooks.
pub fn default_formatter(kind: &NotifierKind) -> Arc<dyn Formatter> {
    match kind {
        NotifierKind::Webhook { .. } => Arc::new(PlainFormatter::new("plain")),
        NotifierKind::Slack { .. } | NotifierKind::SlackWebhook { .. } => {
            Arc::new(SlackBlocksFormatter::new("slack-blocks", None))
        }
    }
}

/// `store` keeps what a `slack` notifier learns (names resolved to ids) across restarts;
/// `None` keeps it in memory only (`check`, a config being validated before a reload).
pub fn build_notifier(
    config: &NotifierConfig,
    formatters: &BTreeMap<String, Arc<dyn Formatter>>,
    client: &ClientOptions,
    store: Option<&Store>,
) -> Result<Arc<dyn Notifier>, BuildError> {
    let err = |message: String| BuildError::Notifier {
        name: config.name.clone(),
        message,
    };
    let formatter = match &config.formatter {
        Some(name) => formatters
            .get(name)
            .cloned()
            .ok_or_else(|| err(format!("formatter '{name}' is not defined")))?,
        None => default_formatter(&config.kind),
    };
    let mut notifier: Box<dyn Notifier> = match &config.kind {
        NotifierKind::Webhook { url, headers } => Box::new(
            WebhookNotifier::new(
                &config.name,
                url.clone(),
                headers.clone(),
                config.delivery.clone(),
                client,
            )
            .map_err(|e| err(e.to_string()))?,
        ),
        NotifierKind::Slack {
            token,
            channels,
            users,
            api_url,
        } => {
            let options = ClientOptions {
                timeout: Some(config.delivery.timeout),
                ..client.clone()
            };
            let api =
                SlackApi::new(api_url, token.clone(), &options).map_err(|e| err(e.to_string()))?;
            Box::new(SlackNotifier::new(
                &config.name,
                api,
                channels.clone(),
                users.clone(),
                config.delivery.clone(),
                store.cloned(),
            ))
        }
        NotifierKind::SlackWebhook { url } => Box::new(
            SlackWebhookNotifier::new(&config.name, url.clone(), config.delivery.clone(), client)
                .map_err(|e| err(e.to_string()))?,
        ),
    };
    notifier.set_formatter(formatter);
    Ok(Arc::from(notifier))
}

/// The one ThreatQ client of a configuration, shared by every service; `None` without a
/// `[threatq]` table.
pub fn threatq_client(config: &Config) -> Result<Option<Arc<ThreatQClient>>, BuildError> {
    config
        .threatq
        .as_ref()
        .map(|tq| {
            ThreatQClient::from_config(tq, &config.network)
                .map(Arc::new)
                .map_err(|e| BuildError::ThreatQ(e.to_string()))
        })
        .transpose()
}

/// A built-in service; `threatq` is the shared client (`threatq_client`).
pub fn build_service(
    config: &ServiceConfig,
    threatq: Option<&Arc<ThreatQClient>>,
) -> Result<Box<dyn Service>, BuildError> {
    let client = threatq.cloned().ok_or_else(|| BuildError::Service {
        name: config.name.clone(),
        message: format!(
            "kind `{}` polls ThreatQ and needs a [threatq] table",
            config.kind.as_str()
        ),
    })?;
    Ok(match &config.kind {
        ServiceKind::Watchlist {
            collections,
            alert_on,
            initial_lookback,
        } => Box::new(WatchlistService::new(
            &config.name,
            client,
            WatchlistSettings {
                collections: collections.clone(),
                alert_on: alert_on.clone(),
                initial_lookback: *initial_lookback,
                page_size: config.page_size,
                interval: config.interval,
            },
        )),
        ServiceKind::DataCollection {
            collection_hash,
            collection,
            notify_existing,
        } => Box::new(DataCollectionService::new(
            &config.name,
            client,
            DataCollectionSettings {
                collection_hash: collection_hash.clone(),
                collection: collection.clone(),
                notify_existing: *notify_existing,
                page_size: config.page_size,
                interval: config.interval,
            },
        )),
    })
}

/// Build everything the configuration names, keeping what notifiers learn in memory only
/// (for checking a configuration; a running worker uses `build_with_store`).
pub fn build(config: &Config) -> Result<Built, BuildError> {
    build_with_store(config, None)
}

/// Build everything the configuration names; notifiers keep what they learn in `store`.
pub fn build_with_store(config: &Config, store: Option<&Store>) -> Result<Built, BuildError> {
    let client = client_options(config);
    let mut formatters = BTreeMap::new();
    for f in &config.formatters {
        formatters.insert(f.name.clone(), build_formatter(f)?);
    }
    let mut notifiers = BTreeMap::new();
    for n in &config.notifiers {
        notifiers.insert(
            n.name.clone(),
            build_notifier(n, &formatters, &client, store)?,
        );
    }
    let threatq = threatq_client(config)?;
    let mut services = Vec::new();
    for s in &config.services {
        let mut service = build_service(s, threatq.as_ref())?;
        for name in &s.notifiers {
            let notifier = notifiers
                .get(name)
                .cloned()
                .ok_or_else(|| BuildError::Service {
                    name: s.name.clone(),
                    message: format!("notifier '{name}' is not defined"),
                })?;
            service.add_notifier(notifier);
        }
        services.push((service, s.enabled));
    }
    Ok(Built {
        threatq,
        formatters,
        notifiers,
        services,
    })
}

impl Worker {
    /// A worker for everything the configuration names, on `store`.
    pub fn from_config(config: &Config, store: Store) -> Result<Worker, BuildError> {
        let built = build_with_store(config, Some(&store))?;
        let mut worker = Worker::new(store).with_options(WorkerOptions {
            retention: config.state.retention,
            ..WorkerOptions::default()
        });
        for notifier in built.notifiers.into_values() {
            worker.add_notifier(notifier);
        }
        for (service, enabled) in built.services {
            worker.add_service_enabled(service, enabled);
        }
        Ok(worker)
    }
}
