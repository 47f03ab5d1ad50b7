//! A test message (PRODUCT.md §5 `send-test`, the console's `t`): a sample alert marked
//! `NotificationType::Test`, made from a real published indicator, sent through the notifier's
//! own path (`format_alert`, then `send_alert`) to each of its targets. Each result goes to the
//! delivery log under the service name `(test)`.

use std::fmt;
use std::time::Duration;

use chrono::Utc;

use crate::alert::{Alert, MessageData, NotificationType, ObjectKind, ThreatObject};
use crate::notifier::{Delivery, DeliveryOutcome, Notifier, Reason, Receipt};
use crate::store::{AttemptResult, DeliveryRecord, Store, summarize};

/// The service name test messages are logged under.
pub const TEST_SERVICE: &str = "(test)";

/// A 429 during a test is waited out this many times, if Slack asks for no more than
/// `MAX_TEST_WAIT` each time.
const RATE_LIMIT_WAITS: u32 = 3;
const MAX_TEST_WAIT: Duration = Duration::from_secs(30);

/// How the test went for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetResult {
    pub target: String,
    pub result: TestResult,
    /// The delivery log entry, when a state file was given.
    pub logged_as: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TestResult {
    /// The receiver said ok; Slack says where (`channel`, `ts`).
    Delivered { receipt: Option<Receipt> },
    /// It did not: the word and a hint. `transient` failures are ones the worker would retry.
    Failed { reason: Reason, transient: bool },
}

impl TargetResult {
    pub fn ok(&self) -> bool {
        matches!(self.result, TestResult::Delivered { .. })
    }
}

impl fmt::Display for TargetResult {
    /// `ok      #tq-alerts  ts 1712345678.000100 in C0TQALERT1`, or
    /// `failed  analyst9  user_not_found: … — hint`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = crate::text::sanitize_for_terminal(&self.target);
        match &self.result {
            TestResult::Delivered {
                receipt: Some(receipt),
            } => write!(
                f,
                "ok      {target}  ts {} in {}",
                receipt.ts, receipt.channel
            ),
            TestResult::Delivered { receipt: None } => write!(f, "ok      {target}"),
            TestResult::Failed { reason, transient } => {
                let reason = reason.to_string();
                write!(
                    f,
                    "failed  {target}  {}",
                    crate::text::sanitize_for_terminal(&reason)
                )?;
                if *transient {
                    f.write_str(" (transient: the worker would retry)")?;
                }
                Ok(())
            }
        }
    }
}

/// The sample: a real indicator from the shipped reports, marked as a test.
pub fn sample_alert() -> Alert {
    let picked = crate::sim::data::indicators()
        .find(|(_, i)| i.threatq_type == "FQDN")
        .or_else(|| crate::sim::data::indicators().next());
    let object = match picked {
        Some((report, indicator)) => {
            let mut object = ThreatObject::new(ObjectKind::Indicator, 1, indicator.value.clone());
            object.object_type = Some(indicator.threatq_type.to_string());
            object.status = Some("Active".into());
            object.score = Some(8.0);
            object.sources = vec![report.publisher.to_string()];
            object.tags = report.malware.clone();
            object.description = Some(format!(
                "Test message from tq-alerts-tui. The indicator is real: {} ({}).",
                report.title, report.published
            ));
            object
        }
        // The data is compiled in; this only keeps a build without it from panicking.
        None => ThreatObject::new(ObjectKind::Indicator, 1, "tq-alerts-tui test message"),
    };
    Alert::new(TEST_SERVICE, NotificationType::Test, object)
}

/// Send the sample through `notifier` to every target it has; log each result in `store`.
pub async fn send_test(notifier: &dyn Notifier, store: Option<&Store>) -> Vec<TargetResult> {
    let data = MessageData::single(sample_alert());
    let mut out = Vec::new();
    for target in notifier.targets() {
        let started = std::time::Instant::now();
        let (delivery, attempts) = match notifier.format_alert(&data) {
            Err(e) => (Delivery::failed(Reason::from(&e)), 0),
            Ok(message) => {
                let mut attempts = 1;
                let mut delivery = notifier.send_alert(&target, &data, &message).await;
                while let DeliveryOutcome::RateLimited { retry_after } = &delivery.outcome {
                    let wait = retry_after.unwrap_or(Duration::from_secs(1));
                    if attempts > RATE_LIMIT_WAITS || wait > MAX_TEST_WAIT {
                        break;
                    }
                    tokio::time::sleep(wait).await;
                    attempts += 1;
                    delivery = notifier.send_alert(&target, &data, &message).await;
                }
                (delivery, attempts)
            }
        };
        let result = match &delivery.outcome {
            DeliveryOutcome::Delivered => TestResult::Delivered {
                receipt: delivery.receipt.clone(),
            },
            DeliveryOutcome::Failed { reason } => TestResult::Failed {
                reason: reason.clone(),
                transient: false,
            },
            DeliveryOutcome::Retry { reason, .. } => TestResult::Failed {
                reason: reason.clone(),
                transient: true,
            },
            DeliveryOutcome::RateLimited { retry_after } => TestResult::Failed {
                reason: Reason::new("ratelimited").detail(match retry_after {
                    Some(d) => format!("Slack still asks to wait {} s", d.as_secs()),
                    None => "Slack still asks to slow down".into(),
                }),
                transient: true,
            },
        };
        let logged_as = store.and_then(|store| {
            let record = DeliveryRecord {
                id: 0,
                row_id: None,
                at: Utc::now(),
                service: TEST_SERVICE.into(),
                notifier: notifier.name().into(),
                target: target.clone(),
                result: match &result {
                    TestResult::Delivered { .. } => AttemptResult::Delivered,
                    TestResult::Failed { .. } => AttemptResult::Failed,
                },
                attempts,
                status: delivery.status,
                reason: match &result {
                    TestResult::Failed { reason, .. } => Some(reason.clone()),
                    TestResult::Delivered { .. } => None,
                },
                payload: delivery.payload.clone(),
                receipt: delivery.receipt.clone(),
                latency_ms: started.elapsed().as_millis() as u64,
                summary: format!("test: {}", summarize(&data)),
            };
            match store.log_delivery(&record) {
                Ok(id) => Some(id),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot log the test delivery");
                    None
                }
            }
        });
        out.push(TargetResult {
            target,
            result,
            logged_as,
        });
    }
    out
}
