//! The built-in notifiers (PRODUCT.md §3.2).

pub mod slack;
pub mod slack_webhook;
pub mod webhook;

pub use slack::SlackNotifier;
pub use slack_webhook::SlackWebhookNotifier;
pub use webhook::WebhookNotifier;
