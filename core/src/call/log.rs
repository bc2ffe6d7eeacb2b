//! The `tracing` events every transport emits while it drives a [`Call`] (target `onellm`),
//! written once here so the transports report alike. Built with the `tracing` feature.
//!
//! No event carries a request, a header or a body: those hold keys and user data. Events
//! say which attempt is sent (a retry or fallback at `INFO`, the first at `DEBUG`), how long
//! the call waits and after what error, and how the call ended.

use std::time::Duration;

use super::{Call, Outgoing};
use crate::error::{Error, ErrorKind};

/// Call before sending `outgoing`.
pub fn sending(call: &Call, outgoing: &Outgoing) {
    // `attempts()` lists finished attempts: the last one is the one before this.
    let previous = call.attempts().last();
    let step = match previous {
        None => "first",
        Some(previous) if previous.model == outgoing.model => "retry",
        Some(_) => "fallback",
    };
    macro_rules! sending {
        ($level:expr) => {
            tracing::event!(
                target: "onellm",
                $level,
                attempt = outgoing.number,
                step,
                provider = %outgoing.provider,
                model = %outgoing.model,
                stream = outgoing.stream,
                after_kind = previous.and_then(|a| a.kind()).map(ErrorKind::as_str),
                after_status = previous.and_then(|a| a.status),
                "sending request"
            )
        };
    }
    // A retry or fallback is news (a fallback may come at once, with no wait logged).
    if previous.is_none() {
        sending!(tracing::Level::DEBUG);
    } else {
        sending!(tracing::Level::INFO);
    }
}

/// Call before waiting `wait` for the next attempt.
pub fn waiting(call: &Call, wait: Duration) {
    let last = call.attempts().last();
    tracing::info!(
        target: "onellm",
        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        model = last.map(|a| a.model.as_str()),
        after_kind = last.and_then(|a| a.kind()).map(ErrorKind::as_str),
        after_status = last.and_then(|a| a.status),
        "waiting before the next attempt"
    );
}

/// Call when the call ended: `error` is `None` for success.
pub fn finished(call: &Call, error: Option<&Error>) {
    let attempts = call.attempts();
    let model = attempts.last().map(|a| a.model.as_str());
    match error {
        None => tracing::debug!(
            target: "onellm",
            attempts = attempts.len(),
            model,
            "call succeeded"
        ),
        Some(error) => tracing::info!(
            target: "onellm",
            attempts = attempts.len(),
            model,
            kind = error.kind().as_str(),
            status = error.status(),
            "call failed"
        ),
    }
}

/// Call when the caller drops a call's driver: logs a cancellation if it had not ended.
pub fn dropped(call: &Call) {
    if !call.is_terminal() {
        tracing::debug!(
            target: "onellm",
            attempts = call.attempts().len(),
            "call cancelled: dropped before it ended"
        );
    }
}
