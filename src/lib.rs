//! `tq_alerts`: ThreatQ changes delivered to Slack and other receivers, reliably.
//!
//! The roles are those of ThreatQuotient's Python `tq_alert_service`: a [`Service`] finds
//! alerts, a [`Notifier`] delivers them through its [`Formatter`], and a [`Worker`] runs the
//! services and drains a durable outbox.
//!
//! The built-ins (ThreatQ services, Slack and webhook notifiers, Block Kit and template
//! formatters) need no code: they are named in the config file and built by
//! [`Worker::from_config`]. Library users extend the product by implementing the traits:
//!
//! ```
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use tq_alerts::alert::{Alert, MessageData, NotificationType, ObjectKind, ThreatObject};
//! use tq_alerts::formatter::{FormatError, Formatter, Message};
//! use tq_alerts::notifier::{Delivery, DeliveryOutcome, Notifier};
//! use tq_alerts::service::{Poll, PollContext, Service, ServiceError};
//! use tq_alerts::store::Store;
//! use tq_alerts::worker::Worker;
//!
//! /// A service that finds one indicator on every poll.
//! struct Feed { notifiers: Vec<Arc<dyn Notifier>> }
//!
//! #[async_trait]
//! impl Service for Feed {
//!     fn name(&self) -> &str { "nso-feed" }
//!     fn notification_type(&self) -> NotificationType { NotificationType::Watchlist }
//!     async fn fetch_alerts(&mut self, _ctx: &PollContext) -> Result<Poll, ServiceError> {
//!         let object = ThreatObject::new(ObjectKind::Indicator, 1, "redcrossworld.com");
//!         let alert = Alert::new(self.name(), NotificationType::Watchlist, object);
//!         Ok(Poll { alerts: vec![alert], fetched: 1, ..Poll::default() })
//!     }
//!     fn add_notifier(&mut self, n: Arc<dyn Notifier>) { self.notifiers.push(n) }
//!     fn notifiers(&self) -> Vec<Arc<dyn Notifier>> { self.notifiers.clone() }
//! }
//!
//! /// A formatter: one line per alert.
//! struct OneLine;
//! impl Formatter for OneLine {
//!     fn name(&self) -> &str { "one-line" }
//!     fn format_data(&self, data: &MessageData) -> Result<Message, FormatError> {
//!         let values: Vec<&str> = data.alerts().iter().map(|a| a.object.value.as_str()).collect();
//!         Ok(Message::text(values.join(", ")))
//!     }
//! }
//!
//! /// A notifier that prints instead of sending.
//! struct Stdout { formatter: Option<Arc<dyn Formatter>> }
//!
//! #[async_trait]
//! impl Notifier for Stdout {
//!     fn name(&self) -> &str { "stdout" }
//!     fn kind(&self) -> &str { "stdout" }
//!     fn targets(&self) -> Vec<String> { vec!["terminal".into()] }
//!     fn set_formatter(&mut self, f: Arc<dyn Formatter>) { self.formatter = Some(f) }
//!     fn formatter(&self) -> Option<Arc<dyn Formatter>> { self.formatter.clone() }
//!     async fn send_alert(&self, target: &str, _: &MessageData, message: &Message) -> Delivery {
//!         println!("{target}: {}", message.text);
//!         Delivery::new(DeliveryOutcome::Delivered)
//!     }
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let mut notifier = Stdout { formatter: None };
//! notifier.set_formatter(Arc::new(OneLine));
//! let mut service = Feed { notifiers: vec![] };
//! service.add_notifier(Arc::new(notifier));
//!
//! let mut worker = Worker::new(Store::open(&dir.path().join("state.db"))?);
//! worker.add_service(Box::new(service));
//! let report = worker.run_once().await?; // or `worker.start()?` to run on the interval
//! assert_eq!(report.delivered, 1);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod alert;
pub mod commands;
pub mod config;
pub mod formatter;
pub mod formatters;
pub mod headless;
pub mod http;
pub mod logging;
pub mod notifier;
pub mod notifiers;
pub mod service;
pub mod services;
pub mod sim;
pub mod slack;
pub mod store;
pub mod text;
pub mod threatq;
pub mod tui;
pub mod worker;

pub use alert::{Alert, AlertKey, Field, MessageData, NotificationType, ObjectKind, ThreatObject};
pub use formatter::{FormatError, Formatter, Message};
pub use notifier::{Delivery, DeliveryOutcome, DeliverySettings, Notifier, Reason, Receipt};
