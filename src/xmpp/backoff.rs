//! Reconnect pacing: exponential backoff with jitter, reset only after a
//! connection that stayed up, so a server that accepts and drops at once
//! is not hammered.

use std::time::{Duration, Instant};

/// A connection that lasted this long counts as healthy.
const STABLE_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
    connected_at: Option<Instant>,
    /// A logged-in stream was handed over since the last drop.
    handed_over: bool,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_secs(1), Duration::from_secs(120))
    }
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            failures: 0,
            connected_at: None,
            handed_over: false,
        }
    }

    /// A new stream is needed at `now`: after a healthy session the first
    /// attempt is immediate; after a short one, or a login whose stream
    /// never came online, it waits like any other failure. Returns the
    /// delay before the first attempt.
    pub fn dropped(&mut self, now: Instant, jitter: f64) -> Duration {
        let handed_over = std::mem::take(&mut self.handed_over);
        match self.connected_at.take() {
            Some(at) if now.duration_since(at) >= STABLE_AFTER => {
                self.failures = 0;
                Duration::ZERO
            }
            Some(_) => self.failed(jitter),
            None if handed_over => self.failed(jitter),
            None => Duration::ZERO,
        }
    }

    /// A logged-in stream was handed to the stream layer.
    pub fn handed_over(&mut self) {
        self.handed_over = true;
    }

    /// The stream came online (bound or resumed).
    pub fn connected(&mut self, now: Instant) {
        self.connected_at = Some(now);
    }

    /// One more failed attempt; returns how long to wait before the next.
    /// `jitter` in `0.0..=1.0` spreads the wait over its upper half, so
    /// many clients cut off together do not come back together.
    pub fn failed(&mut self, jitter: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << self.failures.min(16))
            .min(self.cap);
        self.failures = self.failures.saturating_add(1);
        let jitter = jitter.clamp(0.0, 1.0);
        exp / 2 + exp.mul_f64(jitter / 2.0)
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_up_to_the_cap() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        let waits: Vec<u64> = (0..6).map(|_| b.failed(1.0).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn jitter_stays_in_the_upper_half() {
        let mut b = Backoff::new(Duration::from_secs(8), Duration::from_secs(60));
        assert_eq!(b.failed(0.0), Duration::from_secs(4));
        let mut b = Backoff::new(Duration::from_secs(8), Duration::from_secs(60));
        assert_eq!(b.failed(0.5), Duration::from_secs(6));
    }

    #[test]
    fn a_healthy_session_resets_a_short_one_does_not() {
        let start = Instant::now();
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        b.failed(1.0);
        b.failed(1.0);
        b.connected(start);
        assert_eq!(
            b.dropped(start + Duration::from_secs(5), 1.0),
            Duration::from_secs(4)
        );
        b.connected(start);
        assert_eq!(
            b.dropped(start + Duration::from_secs(60), 1.0),
            Duration::ZERO
        );
        assert_eq!(b.failures(), 0);
    }

    #[test]
    fn a_stream_that_never_comes_online_backs_off() {
        let now = Instant::now();
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        assert_eq!(
            b.dropped(now, 1.0),
            Duration::ZERO,
            "the very first attempt"
        );
        b.handed_over();
        assert_eq!(b.dropped(now, 1.0), Duration::from_secs(1));
        b.handed_over();
        assert_eq!(b.dropped(now, 1.0), Duration::from_secs(2));
    }
}
