//! The retry policy of PRODUCT.md §7.1, as one pure function from "how did this send go" to
//! "what happens to the row": delivered, failed for good, or queued again for a given time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::notifier::{Delivery, DeliveryOutcome, DeliverySettings, Reason};
use crate::store::{Attempt, AttemptResult, OutboxRow};

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The wait before attempt `attempts + 1`: 1 s doubling per counted attempt, capped at 5 min,
/// with ±25 % jitter so rows that failed together do not retry together.
pub fn backoff(attempts: u32, rng: &mut impl Rng) -> Duration {
    let exponent = attempts.saturating_sub(1).min(16);
    let base = Duration::from_secs(1u64 << exponent).min(MAX_BACKOFF);
    let factor = rng.random_range(0.75..1.25);
    base.mul_f64(factor).min(MAX_BACKOFF)
}

/// Decide what one attempt means for its row.
pub fn decide(
    row: &OutboxRow,
    delivery: &Delivery,
    settings: &DeliverySettings,
    now: DateTime<Utc>,
    latency: Duration,
    rng: &mut impl Rng,
) -> Attempt {
    let mut attempt = Attempt {
        at: now,
        result: AttemptResult::Delivered,
        counted: true,
        reason: None,
        status: delivery.status,
        payload: delivery.payload.clone(),
        receipt: delivery.receipt.clone(),
        latency,
        next_attempt_at: None,
        maybe_received: delivery.maybe_received,
    };
    let age = (now - row.created_at).to_std().unwrap_or_default();
    let expired = age > settings.max_age;
    match &delivery.outcome {
        DeliveryOutcome::Delivered => {}
        DeliveryOutcome::Failed { reason } => {
            attempt.result = AttemptResult::Failed;
            attempt.reason = Some(reason.clone());
        }
        DeliveryOutcome::RateLimited { retry_after } => {
            attempt.counted = false;
            let reason = Reason::new("ratelimited")
                .detail(match retry_after {
                    Some(d) => format!("the receiver asked to wait {} s", d.as_secs_f64().ceil()),
                    None => "the receiver asked to slow down".into(),
                })
                .hint("rows to this target wait; lower the notifier's `rate` if this is frequent");
            if expired {
                attempt.result = AttemptResult::Failed;
                attempt.reason = Some(expire(reason, settings, row.attempts));
            } else {
                attempt.result = AttemptResult::RateLimited;
                let wait = retry_after.unwrap_or_else(|| backoff(row.attempts + 1, rng));
                attempt.next_attempt_at = Some(now + to_chrono(wait));
                attempt.reason = Some(reason);
            }
        }
        DeliveryOutcome::Retry {
            reason,
            retry_after,
        } => {
            let attempts = row.attempts + 1;
            let out_of_attempts = settings.max_attempts.is_some_and(|max| attempts >= max);
            if expired || out_of_attempts {
                attempt.result = AttemptResult::Failed;
                attempt.reason = Some(if out_of_attempts && !expired {
                    let mut r = reason.clone();
                    r.hint = Some(format!(
                        "gave up after {attempts} attempts (max_attempts); retry once fixed (R in the console, or `status --retry`)"
                    ));
                    r
                } else {
                    expire(reason.clone(), settings, attempts)
                });
            } else {
                attempt.result = AttemptResult::Retrying;
                let wait = backoff(attempts, rng).max(retry_after.unwrap_or_default());
                attempt.next_attempt_at = Some(now + to_chrono(wait));
                attempt.reason = Some(reason.clone());
            }
        }
    }
    attempt
}

fn expire(mut reason: Reason, settings: &DeliverySettings, attempts: u32) -> Reason {
    reason.hint = Some(format!(
        "gave up after {attempts} attempts: older than max_age ({}); retry once fixed (R in the console, or `status --retry`)",
        crate::config::format_duration(settings.max_age)
    ));
    reason
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Alert, MessageData, NotificationType, ObjectKind, ThreatObject};
    use crate::store::RowStatus;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn row(attempts: u32, age: Duration) -> OutboxRow {
        let now = Utc::now();
        OutboxRow {
            id: 1,
            service: "watchlist".into(),
            notifier: "soar-hook".into(),
            target: "soar-hook".into(),
            data: MessageData::single(Alert::new(
                "watchlist",
                NotificationType::Watchlist,
                ThreatObject::new(ObjectKind::Indicator, 1, "redcrossworld.com"),
            )),
            created_at: now - chrono::Duration::from_std(age).unwrap(),
            status: RowStatus::Sending,
            attempts,
            next_attempt_at: now,
            last_error: None,
            maybe_duplicate: false,
        }
    }

    fn retry(retry_after: Option<Duration>) -> Delivery {
        Delivery::new(DeliveryOutcome::Retry {
            reason: Reason::new("http 503"),
            retry_after,
        })
    }

    #[test]
    fn backoff_doubles_from_one_second_and_stops_at_five_minutes() {
        let mut rng = StdRng::seed_from_u64(7);
        for (attempts, base) in [(1u32, 1.0f64), (2, 2.0), (3, 4.0), (6, 32.0)] {
            let d = backoff(attempts, &mut rng).as_secs_f64();
            assert!(d >= base * 0.75 && d <= base * 1.25, "{attempts}: {d}");
        }
        for attempts in [10, 20, 1000] {
            assert!(backoff(attempts, &mut rng) <= MAX_BACKOFF);
        }
    }

    #[test]
    fn a_rate_limit_waits_for_retry_after_and_is_not_counted() {
        let mut rng = StdRng::seed_from_u64(1);
        let now = Utc::now();
        let d = Delivery::new(DeliveryOutcome::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        });
        let a = decide(
            &row(3, Duration::from_secs(5)),
            &d,
            &DeliverySettings::default(),
            now,
            Duration::ZERO,
            &mut rng,
        );
        assert_eq!(a.result, AttemptResult::RateLimited);
        assert!(!a.counted);
        assert_eq!(a.next_attempt_at, Some(now + chrono::Duration::seconds(2)));
    }

    #[test]
    fn retry_after_on_a_transient_failure_is_honoured() {
        let mut rng = StdRng::seed_from_u64(1);
        let now = Utc::now();
        let a = decide(
            &row(0, Duration::ZERO),
            &retry(Some(Duration::from_secs(30))),
            &DeliverySettings::default(),
            now,
            Duration::ZERO,
            &mut rng,
        );
        assert_eq!(a.result, AttemptResult::Retrying);
        assert!(a.next_attempt_at.unwrap() >= now + chrono::Duration::seconds(30));
    }

    #[test]
    fn a_row_older_than_max_age_fails_with_its_reason() {
        let mut rng = StdRng::seed_from_u64(1);
        let a = decide(
            &row(40, Duration::from_secs(25 * 3600)),
            &retry(None),
            &DeliverySettings::default(),
            Utc::now(),
            Duration::ZERO,
            &mut rng,
        );
        assert_eq!(a.result, AttemptResult::Failed);
        let reason = a.reason.unwrap();
        assert_eq!(reason.word, "http 503");
        assert!(reason.hint.unwrap().contains("max_age"));
    }

    #[test]
    fn max_attempts_bounds_retries_when_set() {
        let mut rng = StdRng::seed_from_u64(1);
        let settings = DeliverySettings {
            max_attempts: Some(3),
            ..DeliverySettings::default()
        };
        let second = decide(
            &row(1, Duration::ZERO),
            &retry(None),
            &settings,
            Utc::now(),
            Duration::ZERO,
            &mut rng,
        );
        assert_eq!(second.result, AttemptResult::Retrying);
        let third = decide(
            &row(2, Duration::ZERO),
            &retry(None),
            &settings,
            Utc::now(),
            Duration::ZERO,
            &mut rng,
        );
        assert_eq!(third.result, AttemptResult::Failed);
        assert!(third.reason.unwrap().hint.unwrap().contains("3 attempts"));
    }
}
