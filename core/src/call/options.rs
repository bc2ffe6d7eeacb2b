//! How patient a [`Call`](super::Call) is: retries, fallback models, backoff and deadlines.

use std::time::{Duration, SystemTime};

/// Options for one call. The request's own `fallback_models` and `retries` fields win over
/// the ones here, and a provider's `max_retries` setting (`ONELLM_PROVIDERS__P__MAX_RETRIES`)
/// wins over [`retries`](Self::retries); see [`Call::new`](super::Call::new).
///
/// ```
/// use std::time::Duration;
/// use onellm_core::call::CallOptions;
///
/// let options = CallOptions {
///     fallback_models: vec!["groq/llama-3.3-70b-versatile".into()],
///     total_timeout: Some(Duration::from_secs(120)),
///     ..CallOptions::default()
/// };
/// assert_eq!(options.retries, 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CallOptions {
    /// Extra attempts on the same model after a retryable error (default 2: at most three
    /// attempts per model).
    pub retries: u32,
    /// Models tried in order after the primary one gives up (`provider/model` ids).
    pub fallback_models: Vec<String>,
    /// The wait between attempts on the same model when the provider did not say how long.
    pub backoff: Backoff,
    /// The longest `Retry-After` the call obeys (default 60 s). A provider asking for longer
    /// is treated as unavailable for now: the call moves to the next model at once.
    pub max_retry_after: Duration,
    /// Bounds the whole call, waits included, measured from [`Call::new`](super::Call::new).
    /// `None` falls back to the registry's timeout (`ONELLM_TIMEOUT`); with neither the call
    /// has no total deadline.
    pub total_timeout: Option<Duration>,
    /// Bounds one attempt from sending to the end of its body. `None` falls back to the
    /// provider's timeout setting (`ONELLM_PROVIDERS__P__TIMEOUT`).
    pub attempt_timeout: Option<Duration>,
    /// Streaming calls: the longest wait from sending until the first body byte.
    pub first_byte_timeout: Option<Duration>,
    /// Streaming calls: the longest silence between body bytes once they started.
    /// (A non-streaming reply is written after the model finished, so for those only
    /// `attempt_timeout` applies.)
    pub idle_timeout: Option<Duration>,
    /// The most body bytes one attempt may deliver (default 64 MiB), streamed or not; more
    /// is a `Decode` error ("body too large") so memory stays bounded.
    pub max_body_bytes: usize,
    /// The UTC wall-clock time at the `now` given to [`Call::new`](super::Call::new). The
    /// core reads no clock, so providers that sign requests with the time (Bedrock's SigV4)
    /// get it from here, advanced by the monotonic time since. The transports set it;
    /// `None` makes those providers fail with a `Configuration` error.
    pub wall_clock: Option<SystemTime>,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            retries: 2,
            fallback_models: Vec::new(),
            backoff: Backoff::default(),
            max_retry_after: Duration::from_secs(60),
            total_timeout: None,
            attempt_timeout: None,
            first_byte_timeout: None,
            idle_timeout: None,
            max_body_bytes: 64 * 1024 * 1024,
            wall_clock: None,
        }
    }
}

/// Exponential backoff with full jitter: before retry `n` (0 for the first retry) the call
/// waits a uniformly random time in `[0, min(cap, base × factor^n)]`.
///
/// Full jitter (rather than a fixed or floored delay) spreads out clients that failed at the
/// same moment, which is what a rate-limited or overloaded provider needs.
///
/// ```
/// use std::time::Duration;
/// use onellm_core::call::Backoff;
///
/// let backoff = Backoff::default();
/// assert_eq!(backoff.ceiling(0), Duration::from_secs(1));
/// assert_eq!(backoff.ceiling(3), Duration::from_secs(8));
/// assert_eq!(backoff.ceiling(10), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The ceiling of the first retry's wait (default 1 s).
    pub base: Duration,
    /// How much the ceiling grows per retry (default 2).
    pub factor: f64,
    /// The largest ceiling (default 30 s).
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            factor: 2.0,
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The longest wait before retry `retry` (0-based): `min(cap, base × factor^retry)`.
    /// Never panics: a product too large to represent (or a nonsensical factor) is the cap.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
        let seconds = self.base.as_secs_f64() * self.factor.powi(exponent);
        Duration::try_from_secs_f64(seconds)
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}
