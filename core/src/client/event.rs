//! What a call reports as it runs, as values: [`CallEvent`].
//!
//! The drive loops ([`BlockingCall`](super::BlockingCall), [`AsyncCall`](super::AsyncCall)) make
//! one event at each step of a call — an attempt sent, a wait, the end — and hand it to the
//! [`Engine`](super::Engine), which passes it to the observer set with
//! [`ClientBuilder::on_event`](super::ClientBuilder::on_event) and, with the `tracing`
//! feature, logs it (the [table below](#logs)). Because the events are made in the one loop
//! each flavour has, every transport reports a call with the same events in the same order.
//!
//! No event carries a request, a header or a body: those hold keys and user data.
//!
//! # Logs
//!
//! With the `tracing` feature (the transports turn it on), each event is logged under
//! target `onellm`:
//!
//! | event | message | level | fields |
//! | --- | --- | --- | --- |
//! | [`Sending`](CallEvent::Sending) | `sending request` | `debug` for a call's first attempt, `info` for a retry or fallback | `attempt` (1, 2, …), `step` (`first`, `retry` or `fallback`), `provider`, `model`, for a router deployment its `group` and `deployment` (its id, never its key), `stream`, and after a failed attempt its `after_kind` and `after_status` |
//! | [`Waiting`](CallEvent::Waiting) | `waiting before the next attempt` | `info` | `wait_ms`, `model` of the failed attempt, `after_kind`, `after_status` |
//! | [`Succeeded`](CallEvent::Succeeded) | `call succeeded` | `debug` | `attempts` (how many were made), `model` that answered, its `deployment` |
//! | [`Failed`](CallEvent::Failed) | `call failed` | `info` | `attempts`, `model` and `deployment` of the last attempt, `kind`, `status` |
//! | [`Cached`](CallEvent::Cached) | `answered from the cache` | `debug` | `model` asked for |
//! | [`Cancelled`](CallEvent::Cancelled) | `call cancelled: dropped before it ended` | `debug` | `attempts` |
//!
//! Error kinds are the snake_case names of [`ErrorKind`] (`rate_limit`, `timeout`, …);
//! statuses are HTTP status codes, absent when no response came.

use std::time::Duration;

use crate::call::{Call, Outgoing};
use crate::error::{Error, ErrorKind};

/// Why an attempt is sent: the call's first, a retry of the same model, or the next model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptStep {
    /// The call's first attempt.
    First,
    /// The same model again after a failed attempt.
    Retry,
    /// Another model after the previous one gave up.
    Fallback,
}

impl AttemptStep {
    /// `first`, `retry` or `fallback`, as logged.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStep::First => "first",
            AttemptStep::Retry => "retry",
            AttemptStep::Fallback => "fallback",
        }
    }
}

/// How a failed attempt ended: its error kind and HTTP status (if a response came).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptEnd {
    /// The kind of error it failed with (`None` if it recorded none).
    pub kind: Option<ErrorKind>,
    /// The HTTP status of its response; `None` when no response came.
    pub status: Option<u16>,
}

/// One step of a call, in the order it happened. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallEvent {
    /// An attempt is about to be sent.
    Sending {
        /// 1-based position among the call's attempts (models that did not resolve count).
        attempt: u32,
        /// Why it is sent: the first attempt, a retry or a fallback.
        step: AttemptStep,
        /// The provider it goes to (`openai`, `anthropic`, …).
        provider: String,
        /// The model id as given (`provider/model`).
        model: String,
        /// For a router deployment: its group and its id (never its key).
        group: Option<String>,
        /// The deployment's id (`model_info.id`), never its key.
        deployment: Option<String>,
        /// Whether the attempt asks for a stream.
        stream: bool,
        /// How the previous attempt ended, if there was one.
        after: Option<AttemptEnd>,
    },
    /// The call waits before its next attempt (a backoff or a provider's `Retry-After`).
    Waiting {
        /// The wait the call decided on.
        wait: Duration,
        /// The model of the attempt that failed.
        model: Option<String>,
        /// How the attempt that failed ended.
        after: Option<AttemptEnd>,
    },
    /// The call succeeded.
    Succeeded {
        /// How many attempts were made.
        attempts: usize,
        /// The model that answered.
        model: Option<String>,
        /// The router deployment that answered, if it was one.
        deployment: Option<String>,
    },
    /// The call failed for good.
    Failed {
        /// How many attempts were made.
        attempts: usize,
        /// The model of the last attempt.
        model: Option<String>,
        /// The router deployment of the last attempt, if it was one.
        deployment: Option<String>,
        /// The final error's kind.
        kind: ErrorKind,
        /// The final error's HTTP status, if a response came.
        status: Option<u16>,
    },
    /// The caller dropped the call before it ended.
    Cancelled {
        /// How many attempts were made before it was dropped.
        attempts: usize,
    },
    /// The client's cache answered the call: nothing is sent.
    Cached {
        /// The model (or router group) asked for.
        model: String,
    },
}

impl CallEvent {
    /// The event for sending `outgoing` on `call`.
    pub fn sending(call: &Call, outgoing: &Outgoing) -> Self {
        // `attempts()` lists finished attempts: the last one is the one before this.
        let previous = call.attempts().last();
        let step = match previous {
            None => AttemptStep::First,
            Some(previous) if previous.model == outgoing.model => AttemptStep::Retry,
            Some(_) => AttemptStep::Fallback,
        };
        CallEvent::Sending {
            attempt: outgoing.number,
            step,
            provider: outgoing.provider.clone(),
            model: outgoing.model.clone(),
            group: call.current_group().map(str::to_owned),
            deployment: call.current_deployment().map(str::to_owned),
            stream: outgoing.stream,
            after: previous.map(|a| AttemptEnd {
                kind: a.kind(),
                status: a.status,
            }),
        }
    }

    /// The event for waiting `wait` before the next attempt of `call`.
    pub fn waiting(call: &Call, wait: Duration) -> Self {
        let last = call.attempts().last();
        CallEvent::Waiting {
            wait,
            model: last.map(|a| a.model.clone()),
            after: last.map(|a| AttemptEnd {
                kind: a.kind(),
                status: a.status,
            }),
        }
    }

    /// The event for the end of `call`: `error` is `None` for success.
    pub fn finished(call: &Call, error: Option<&Error>) -> Self {
        let attempts = call.attempts();
        let model = attempts.last().map(|a| a.model.clone());
        let deployment = attempts.last().and_then(|a| a.deployment.clone());
        match error {
            None => CallEvent::Succeeded {
                attempts: attempts.len(),
                model,
                deployment,
            },
            Some(error) => CallEvent::Failed {
                attempts: attempts.len(),
                model,
                deployment,
                kind: error.kind(),
                status: error.status(),
            },
        }
    }

    /// The event for a call the cache answered.
    pub fn cached(call: &Call) -> Self {
        CallEvent::Cached {
            model: call.requested_model().to_owned(),
        }
    }

    /// The event for dropping `call`'s driver before the call ended.
    pub fn cancelled(call: &Call) -> Self {
        CallEvent::Cancelled {
            attempts: call.attempts().len(),
        }
    }

    /// Logs the event through `tracing` as the [table above](self#logs) says.
    #[cfg(feature = "tracing")]
    pub fn log(&self) {
        match self {
            CallEvent::Sending {
                attempt,
                step,
                provider,
                model,
                group,
                deployment,
                stream,
                after,
            } => {
                macro_rules! sending {
                    ($level:expr) => {
                        tracing::event!(
                            target: "onellm",
                            $level,
                            attempt,
                            step = step.as_str(),
                            provider = %provider,
                            model = %model,
                            group = group.as_deref(),
                            deployment = deployment.as_deref(),
                            stream,
                            after_kind = after.and_then(|a| a.kind).map(ErrorKind::as_str),
                            after_status = after.and_then(|a| a.status),
                            "sending request"
                        )
                    };
                }
                // A retry or fallback is news (a fallback may come at once, with no wait
                // logged).
                if *step == AttemptStep::First {
                    sending!(tracing::Level::DEBUG);
                } else {
                    sending!(tracing::Level::INFO);
                }
            }
            CallEvent::Waiting { wait, model, after } => tracing::info!(
                target: "onellm",
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                model = model.as_deref(),
                after_kind = after.and_then(|a| a.kind).map(ErrorKind::as_str),
                after_status = after.and_then(|a| a.status),
                "waiting before the next attempt"
            ),
            CallEvent::Succeeded {
                attempts,
                model,
                deployment,
            } => tracing::debug!(
                target: "onellm",
                attempts,
                model = model.as_deref(),
                deployment = deployment.as_deref(),
                "call succeeded"
            ),
            CallEvent::Failed {
                attempts,
                model,
                deployment,
                kind,
                status,
            } => tracing::info!(
                target: "onellm",
                attempts,
                model = model.as_deref(),
                deployment = deployment.as_deref(),
                kind = kind.as_str(),
                status,
                "call failed"
            ),
            CallEvent::Cached { model } => tracing::debug!(
                target: "onellm",
                model = %model,
                "answered from the cache"
            ),
            CallEvent::Cancelled { attempts } => tracing::debug!(
                target: "onellm",
                attempts,
                "call cancelled: dropped before it ended"
            ),
        }
    }
}
