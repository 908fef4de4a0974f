//! A circuit breaker: after a run of failures Authentik is left alone for a while,
//! so a dead Authentik costs a caller a mutex lock rather than a timeout.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the breaker thinks of Authentik right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Requests go through.
    Closed,
    /// Requests fail at once until the pause ends.
    Open,
    /// The pause is over; one trial request decides.
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    failures: u32,
    open_until: Option<Instant>,
    trial_in_flight: bool,
}

/// Counts consecutive failures and opens after `threshold` of them for `pause`.
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    pause: Duration,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(threshold: u32, pause: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            pause,
            inner: Mutex::new(Inner {
                failures: 0,
                open_until: None,
                trial_in_flight: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves consistent numbers behind.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The state, without changing it.
    pub fn state(&self) -> CircuitState {
        let inner = self.lock();
        match inner.open_until {
            None => CircuitState::Closed,
            Some(t) if Instant::now() < t => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }

    /// How long the pause lasts once open.
    pub fn pause(&self) -> Duration {
        self.pause
    }

    /// Whether a request may go out now. When the pause is over, lets exactly one
    /// trial request through until it reports back.
    pub fn allow(&self) -> bool {
        let mut inner = self.lock();
        match inner.open_until {
            None => true,
            Some(t) if Instant::now() < t => false,
            Some(_) if inner.trial_in_flight => false,
            Some(_) => {
                inner.trial_in_flight = true;
                true
            }
        }
    }

    /// Authentik answered (any answer that is not an outage).
    pub fn record_success(&self) {
        let mut inner = self.lock();
        if inner.open_until.is_some() {
            tracing::info!("Authentik answers again: circuit closed");
        }
        inner.failures = 0;
        inner.open_until = None;
        inner.trial_in_flight = false;
    }

    /// Authentik timed out, refused the connection or answered 5xx/429.
    pub fn record_failure(&self) {
        let mut inner = self.lock();
        inner.failures = inner.failures.saturating_add(1);
        let trial_failed = inner.trial_in_flight;
        inner.trial_in_flight = false;
        if trial_failed || inner.failures >= self.threshold {
            if inner.open_until.is_none() || trial_failed {
                tracing::warn!(
                    failures = inner.failures,
                    pause_ms = self.pause.as_millis() as u64,
                    "Authentik unavailable: circuit open"
                );
            }
            inner.open_until = Some(Instant::now() + self.pause);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_half_opens_after_pause() {
        let b = CircuitBreaker::new(2, Duration::from_millis(30));
        assert!(b.allow());
        b.record_failure();
        assert_eq!(b.state(), CircuitState::Closed);
        b.record_failure();
        assert_eq!(b.state(), CircuitState::Open);
        assert!(!b.allow());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.state(), CircuitState::HalfOpen);
        assert!(b.allow(), "one trial");
        assert!(!b.allow(), "only one trial at a time");
        b.record_failure();
        assert_eq!(b.state(), CircuitState::Open, "a failed trial reopens");
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow());
        b.record_success();
        assert_eq!(b.state(), CircuitState::Closed);
    }
}
