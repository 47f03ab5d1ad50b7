//! Pacing per target (PRODUCT.md §6.4): a token bucket at the notifier's `rate` with a short
//! burst, so the sender spaces messages itself and a receiver's 429 stays the exception. A 429
//! pauses only its own target.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct Pacer {
    rate: f64,
    burst: f64,
    tokens: f64,
    updated: Instant,
    paused_until: Option<Instant>,
}

impl Pacer {
    /// `rate` messages per second, up to `burst` at once.
    pub fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate: if rate > 0.0 { rate } else { 1.0 },
            burst,
            tokens: burst,
            updated: Instant::now(),
            paused_until: None,
        }
    }

    /// Change the rate (a reloaded config) without losing the target's pause.
    pub fn reconfigure(&mut self, rate: f64, burst: u32) {
        self.refill(Instant::now());
        self.rate = if rate > 0.0 { rate } else { 1.0 };
        self.burst = f64::from(burst.max(1));
        self.tokens = self.tokens.min(self.burst);
    }

    fn refill(&mut self, now: Instant) {
        // Callers may pass an instant read a little earlier than the last one; moving
        // `updated` back would count that stretch twice and let a message through early.
        if now <= self.updated {
            return;
        }
        let elapsed = (now - self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.updated = now;
    }

    /// When the next message may go, without taking a slot.
    pub fn ready_at(&mut self, now: Instant) -> Instant {
        self.refill(now);
        let by_rate = if self.tokens >= 1.0 {
            now
        } else {
            now + Duration::from_secs_f64((1.0 - self.tokens) / self.rate)
        };
        match self.paused_until {
            Some(p) if p > by_rate => p,
            _ => by_rate,
        }
    }

    /// Take a slot now (call when `ready_at` has passed).
    pub fn take(&mut self, now: Instant) {
        self.refill(now);
        self.tokens -= 1.0;
    }

    /// The receiver asked us to wait: nothing goes to this target before `until`, and the
    /// burst starts empty afterwards so we do not hit the limit again at once.
    pub fn pause_until(&mut self, until: Instant) {
        self.paused_until = Some(until);
        self.tokens = 0.0;
        self.updated = until.max(self.updated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_then_the_rate_applies() {
        let start = Instant::now();
        let mut p = Pacer::new(2.0, 3);
        for _ in 0..3 {
            assert_eq!(p.ready_at(start), start);
            p.take(start);
        }
        let next = p.ready_at(start);
        assert!((next - start).as_secs_f64() > 0.49 && (next - start).as_secs_f64() < 0.51);
    }

    #[test]
    fn an_earlier_instant_never_refills_a_stretch_twice() {
        let start = Instant::now();
        let mut p = Pacer::new(100.0, 1);
        p.take(start);
        let later = start + Duration::from_millis(5);
        // A reconfigure reads the clock (later), then the lane asks with the instant it read
        // before (start): the 5 ms must be counted once, not again from `start`.
        p.reconfigure(100.0, 1);
        let _ = p.ready_at(later);
        let _ = p.ready_at(start);
        let ready = p.ready_at(later);
        assert!(
            ready >= start + Duration::from_millis(10),
            "{:?}",
            ready - start
        );
    }

    #[test]
    fn a_pause_holds_the_target_until_it_ends() {
        let start = Instant::now();
        let mut p = Pacer::new(100.0, 3);
        p.pause_until(start + Duration::from_secs(2));
        assert!(p.ready_at(start) >= start + Duration::from_secs(2));
    }
}
