//! The built-in notifiers (PRODUCT.md §3.2).

pub mod webhook;

pub use webhook::WebhookNotifier;
