//! `tq_alerts`: ThreatQ changes delivered to Slack and other receivers, reliably.
//!
//! The roles are those of ThreatQuotient's Python `tq_alert_service`: a [`Service`] finds
//! alerts, a [`Notifier`] delivers them through its [`Formatter`], and a [`Worker`] runs the
//! services and drains a durable outbox.
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
pub mod worker;

pub use alert::{Alert, AlertKey, Field, MessageData, NotificationType, ObjectKind, ThreatObject};
pub use formatter::{FormatError, Formatter, Message};
pub use notifier::{Delivery, DeliveryOutcome, DeliverySettings, Notifier, Reason, Receipt};
