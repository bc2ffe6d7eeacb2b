//! What to do after a failed attempt: the one decision table of the call machine.
//!
//! | the failed attempt's error | retries left on this model | decision |
//! |---|---|---|
//! | retryable ([`Error::is_retryable`]), `Retry-After` ≤ `max_retry_after` | yes | retry after exactly the `Retry-After` |
//! | retryable, no `Retry-After` | yes | retry after a jittered backoff |
//! | retryable, `Retry-After` > `max_retry_after` | — | next model at once |
//! | retryable | no | next model |
//! | not retryable, [`Error::should_fallback`] | — | next model at once |
//! | neither | — | fail now |
//!
//! Which errors are retryable and which are worth a fallback is itself one table, in
//! [`crate::error`]: connection errors, timeouts, 408, 409, 429, 5xx and 529 retry (unless
//! the provider sent `x-should-retry: false`; `x-should-retry: true` makes any error
//! retryable); authentication, permission, not-found, context-window and content-filter
//! errors go to the next model; other invalid requests fail fast.
//!
//! A `Retry-After` (`retry-after-ms`, `retry-after` seconds, or an HTTP date against the
//! response's `Date`, all parsed by the adapters) *replaces* the computed backoff: the
//! provider knows better than our guess, and waiting longer than asked only adds latency.
//! "Next model" with no model left, and a wait that would end past the total deadline, are
//! turned into the call's final error by the machine, not here.

use std::time::Duration;

use super::jitter::Jitter;
use super::options::CallOptions;
use crate::error::Error;

/// What the machine does after an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Send the same request to the same model again after `wait`.
    RetrySameModel { wait: Duration },
    /// Give up on this model; try the next one now.
    NextModel,
    /// Give up on the call.
    Fail,
}

/// Decides after a failed attempt on a model that already had `retries_used` retries of the
/// `retries_allowed` it may have. Draws from `jitter` only when it picks a computed backoff.
pub(crate) fn decide(
    error: &Error,
    retries_used: u32,
    retries_allowed: u32,
    options: &CallOptions,
    jitter: &mut Jitter,
) -> Decision {
    let otherwise = if error.should_fallback() {
        Decision::NextModel
    } else {
        Decision::Fail
    };
    if !error.is_retryable() || retries_used >= retries_allowed {
        return otherwise;
    }
    match error.retry_after() {
        Some(asked) if asked > options.max_retry_after => otherwise,
        Some(asked) => Decision::RetrySameModel { wait: asked },
        None => Decision::RetrySameModel {
            wait: jitter.up_to(options.backoff.ceiling(retries_used)),
        },
    }
}
