//! Builds the built-in services, notifiers and formatters a configuration names, and a
//! `Worker` that runs them: configuration in, running product out, no code needed.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{
    Config, FormatterConfig, FormatterKind, NotifierConfig, NotifierKind, ServiceConfig,
};
use crate::formatter::Formatter;
use crate::formatters::PlainFormatter;
use crate::http::ClientOptions;
use crate::notifier::Notifier;
use crate::notifiers::{SlackNotifier, SlackWebhookNotifier, WebhookNotifier};
use crate::service::Service;
use crate::slack::api::SlackApi;
use crate::store::Store;

use super::{Worker, WorkerOptions};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("formatter '{name}': {message}")]
    Formatter { name: String, message: String },
    #[error("notifier '{name}': {message}")]
    Notifier { name: String, message: String },
    #[error("service '{name}': {message}")]
    Service { name: String, message: String },
}

/// The formatters, notifiers and services of a configuration, built and wired.
pub struct Built {
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
    match &config.kind {
        FormatterKind::Plain => Ok(Arc::new(PlainFormatter::new(&config.name))),
        other => Err(BuildError::Formatter {
            name: config.name.clone(),
            message: format!("kind `{}` is not available in this build", other.as_str()),
        }),
    }
}

/// The formatter a notifier uses when its config names none.
fn default_formatter(kind: &NotifierKind) -> Arc<dyn Formatter> {
    match kind {
        NotifierKind::Webhook { .. } => Arc::new(PlainFormatter::new("plain")),
        NotifierKind::Slack { .. } | NotifierKind::SlackWebhook { .. } => {
            Arc::new(PlainFormatter::new("plain"))
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

pub fn build_service(
    config: &ServiceConfig,
    _root: &Config,
) -> Result<Box<dyn Service>, BuildError> {
    Err(BuildError::Service {
        name: config.name.clone(),
        message: format!(
            "kind `{}` is not available in this build",
            config.kind.as_str()
        ),
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
    let mut services = Vec::new();
    for s in &config.services {
        let mut service = build_service(s, config)?;
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
