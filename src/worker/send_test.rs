//! A test message through the exact notifier path (`send-test`, `t` in the console): a real
//! sample indicator marked `NotificationType::Test`, formatted by the notifier's formatter and
//! sent to each of its targets, each result written to the delivery log.

use std::time::Instant;

use chrono::Utc;

use crate::alert::{Alert, MessageData, NotificationType, ObjectKind, ThreatObject};
use crate::notifier::{DeliveryOutcome, Notifier, Reason};
use crate::store::{AttemptResult, DeliveryRecord, Store, summarize};

/// How one target took the test.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetResult {
    pub target: String,
    /// Slack's `ts` (or `ok`), or why it failed (word and hint).
    pub result: Result<String, Reason>,
}

/// The service name test deliveries are logged under.
pub const TEST_SERVICE: &str = "(test)";

/// The test alert: a real published indicator, marked as a test.
pub fn test_alert() -> Alert {
    // The data is compiled in and never empty (tested in `sim::data`); the NSO Group report's
    // first domain is the usual pick.
    let mut object = ThreatObject::new(ObjectKind::Indicator, 0, "redcrossworld.com");
    let mut publisher = "Citizen Lab";
    if let Some((report, indicator)) = crate::sim::data::indicators()
        .find(|(r, i)| r.key.ends_with("NSO_Group") && i.threatq_type == "FQDN")
    {
        object.value = indicator.value.clone();
        publisher = report.publisher;
    }
    object.object_type = Some("FQDN".into());
    object.status = Some("Active".into());
    object.score = Some(7.0);
    object.sources = vec![publisher.to_string()];
    object.tags = vec!["tq-alerts test".into()];
    Alert::new(TEST_SERVICE, NotificationType::Test, object)
}

/// Send the test to every target of `notifier`, one attempt each, logging each result.
pub async fn send_test(notifier: &dyn Notifier, store: &Store) -> Vec<TargetResult> {
    let data = MessageData::single(test_alert());
    let message = notifier.format_alert(&data);
    let mut results = Vec::new();
    for target in notifier.targets() {
        let started = Instant::now();
        let (delivery, result) = match &message {
            Err(e) => (None, Err(Reason::from(e))),
            Ok(message) => {
                let delivery = notifier.send_alert(&target, &data, message).await;
                let result = match &delivery.outcome {
                    DeliveryOutcome::Delivered => Ok(delivery
                        .receipt
                        .as_ref()
                        .map(|r| r.ts.clone())
                        .unwrap_or_else(|| "ok".into())),
                    DeliveryOutcome::RateLimited { .. } => Err(Reason::new("ratelimited")
                        .hint("the receiver asked to slow down; try again in a moment")),
                    DeliveryOutcome::Retry { reason, .. } | DeliveryOutcome::Failed { reason } => {
                        Err(reason.clone())
                    }
                };
                (Some(delivery), result)
            }
        };
        let record = DeliveryRecord {
            id: 0,
            row_id: None,
            at: Utc::now(),
            service: TEST_SERVICE.into(),
            notifier: notifier.name().to_string(),
            target: target.clone(),
            result: if result.is_ok() { AttemptResult::Delivered } else { AttemptResult::Failed },
            attempts: 1,
            status: delivery.as_ref().and_then(|d| d.status),
            reason: result.as_ref().err().cloned(),
            payload: delivery.as_ref().and_then(|d| d.payload.clone()),
            receipt: delivery.as_ref().and_then(|d| d.receipt.clone()),
            latency_ms: started.elapsed().as_millis() as u64,
            summary: format!("test: {}", summarize(&data)),
        };
        if let Err(e) = store.log_delivery(&record) {
            tracing::warn!(error = %e, "cannot log the test delivery");
        }
        results.push(TargetResult { target, result });
    }
    results
}
