//! The retry and fallback state machine: one call, many attempts, no I/O.
//!
//! A [`Call`] decides *what to send next* — the same model again after a wait, the next
//! fallback model, or nothing because the call is over — and turns response bytes into the
//! result. It never touches a socket or a clock: the transport tells it the time (`now`),
//! sends what it asks, and feeds back what came in. So the same machine runs under the
//! blocking transport, the async one, a WASM fetch, a fuzzer or a test with a virtual clock,
//! and the same inputs (and seed) always give the same decisions.
//!
//! # The drive loop
//!
//! A transport is a thin loop over [`Call::poll`]:
//!
//! ```text
//! loop {
//!     while let Some(item) = call.poll_item() { give item to the caller }   // streams only
//!     match call.poll(now()) {
//!         Send(outgoing)  => start sending outgoing.request (bounded by outgoing.deadline);
//!                            remember outgoing.attempt
//!         Receive { attempt, deadline } =>
//!                            wait for the next thing that happens to `attempt`, at most
//!                            until `deadline`, and feed it in:
//!                              the response head       -> handle_head(attempt, status, headers, now)
//!                              body bytes              -> handle_body(attempt, bytes, now)
//!                              end of body             -> handle_eof(attempt, now)
//!                              connect/read failure    -> handle_transport_error(attempt, error, now)
//!                              `deadline` passed       -> handle_timeout(attempt, now)
//!                            (a client that only has whole responses calls
//!                             handle_response(attempt, response, now) instead)
//!         Wait(until)     => sleep until `until` (always later than `now`)
//!         Done(output)    => return output
//!         Failed(error)   => return error (kind, message, and error.attempts())
//!     }
//! }
//! ```
//!
//! `poll` is idempotent while the machine waits for input: it says `Receive` (with the same
//! deadline) again rather than sending twice. When it sees a deadline passed it handles the
//! timeout itself, so a transport may also just poll again after `deadline`. An attempt that
//! the machine gave up on (timed out, cancelled, superseded) may still produce input in the
//! transport; input for any attempt but the current one is ignored, so the transport need not
//! race to stop it, though it should drop the connection.
//!
//! Streamed items — a chat call's chunks, a Responses call's events — are handed out by
//! [`Call::poll_item`] (or the typed [`Call::poll_chunk`] and [`Call::poll_event`]), in
//! order. `poll` may return `Done` or `Failed` while items are still queued; the transport
//! drains them before it acts on the terminal action (the loop above drains before every
//! `poll`, so it does), and `poll_item` keeps working after the call ended.
//!
//! # Example
//!
//! Driving a call by hand, the way a transport does, with a response made up in place:
//!
//! ```
//! use std::time::Instant;
//!
//! use bytes::Bytes;
//! use onellm_core::call::{Action, Call, CallOptions, Operation, Output};
//! use onellm_core::{ChatRequest, Registry};
//!
//! let mut registry = Registry::new();
//! registry.set_api_key("openai", "sk-test");
//! let request = ChatRequest::new("openai/gpt-4o-mini").user("Say hello");
//! let mut call = Call::new(&registry, Operation::Chat(request), CallOptions::default(), 7, Instant::now());
//!
//! let completion = loop {
//!     while let Some(_chunk) = call.poll_chunk() {}
//!     match call.poll(Instant::now()) {
//!         Action::Send(outgoing) => {
//!             assert_eq!(outgoing.request.uri(), "https://api.openai.com/v1/chat/completions");
//!             // A real transport sends `outgoing.request` here.
//!             let response = http::Response::builder()
//!                 .status(200)
//!                 .header("content-type", "application/json")
//!                 .body(Bytes::from_static(br#"{"id": "chatcmpl-1", "object": "chat.completion",
//!                     "created": 1, "model": "gpt-4o-mini", "choices": [{"index": 0,
//!                     "message": {"role": "assistant", "content": "Hello!"},
//!                     "finish_reason": "stop"}]}"#))
//!                 .unwrap();
//!             call.handle_response(outgoing.attempt, response, Instant::now());
//!         }
//!         Action::Receive { .. } => unreachable!("the whole response was fed in"),
//!         Action::Wait(until) => std::thread::sleep(until.saturating_duration_since(Instant::now())),
//!         Action::Done(Output::Chat(completion)) => break completion,
//!         Action::Done(other) => unreachable!("a chat call ends in a chat completion: {other:?}"),
//!         Action::Failed(error) => panic!("{error}"),
//!         other => unreachable!("an action this loop does not know: {other:?}"),
//!     }
//! };
//! assert_eq!(completion.text(), "Hello!");
//! assert_eq!(call.attempts().len(), 1);
//! ```
//!
//! # Rules
//!
//! - Every model (the request's, then its fallbacks) is resolved through the registry up
//!   front. A malformed id or an unknown provider anywhere in the chain fails the call at
//!   once with a `Configuration` error naming the id and the closest known provider, before
//!   anything is sent: that is a bug in the program. A model that does not resolve for
//!   another reason (its key is missing) is recorded as a failed attempt with its
//!   `Configuration` error, no request is sent, and the call moves on: that is a matter of
//!   the deployment.
//! - After a failed attempt one decision table (`call/decision.rs`) picks what follows:
//!
//!   | the failed attempt's error | decision |
//!   |---|---|
//!   | retryable ([`Error::is_retryable`]: connection, timeout, 408, 409, 429, 5xx, 529, or `x-should-retry: true`), retries left | retry the same model after its `Retry-After`, else after a jittered backoff |
//!   | retryable, but `Retry-After` > `max_retry_after`, or no retries left | next model |
//!   | not retryable but [`Error::should_fallback`] (authentication, permission, not found, context window, content filter, …) | next model at once |
//!   | neither (other invalid requests) | fail now |
//!
//!   A `Retry-After` *replaces* the backoff (it is not a floor). Moving on resets the
//!   per-model retry count, and the request is built again by the next model's adapter.
//! - A wait that would end at or past the total deadline is not started: the call fails with
//!   `Timeout`, carrying the attempts. The deadline also bounds each attempt.
//! - The final error: with one model tried, that attempt's own error; with more, `AllFailed`.
//!   Either way [`Error::attempts`] lists every attempt.
//! - Streaming (a chat or Responses request with `stream: true`): items without content
//!   (role-only or usage-only chunks, `response.created`) are held back until the attempt's
//!   first content item and released with it; if the attempt fails first they are dropped
//!   and the next attempt streams from the start, so nothing reaches the caller twice. Once
//!   content was released, the call is committed to that attempt: any failure ends the call
//!   with `StreamInterrupted` carrying the partial completion ([`Error::partial_completion`])
//!   or response ([`Error::partial_response`]).
//! - Wires: a chat call goes to the provider's chat endpoint, except to a model the
//!   admission routes through the Responses API ([`Wire::ChatOverResponses`]); a Responses
//!   call goes to the provider's Responses endpoint where it has one, else through its chat
//!   wire (the provider's default `build_responses`).
//! - Terminal states are sticky, `now` going backwards is treated as the latest `now` seen,
//!   and every `Wait` is strictly later than the `now` it was polled with.

mod decision;
pub(crate) mod jitter;
mod options;
mod secrets;
mod stream;
#[cfg(test)]
mod tests;

use std::mem;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use self::decision::{decide, Decision};
use self::jitter::Jitter;
pub use self::options::{Backoff, CallOptions};
use self::secrets::Secrets;
pub use self::stream::StreamItem;
use self::stream::{StreamDecoder, StreamOutput};
use crate::error::{Attempt, Error, ErrorKind};
use crate::model::ModelId;
use crate::provider::{responses_bridge, Provider};
use crate::registry::Registry;
use crate::types::{
    ChatCompletion, ChatCompletionChunk, ChatRequest, CompletionRequest, CompletionResponse,
    EmbeddingRequest, EmbeddingResponse, MediaOutput, MediaRequest, Response, ResponseStreamEvent,
    ResponsesRequest,
};

/// What a call asks for. A chat request with `stream: true` is streamed.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// A chat completion, streamed when the request says `stream: true`.
    Chat(ChatRequest),
    /// Embeddings of one or more inputs.
    Embeddings(EmbeddingRequest),
    /// A legacy text completion.
    Completions(CompletionRequest),
    /// Images, audio or moderation ([`MediaRequest`]).
    Media(MediaRequest),
    /// A call to OpenAI's Responses API (natively where the provider speaks it, else
    /// through its chat wire), streamed when the request says `stream: true`.
    Responses(ResponsesRequest),
}

impl Operation {
    /// Whether the call streams (a chat or Responses request with `stream: true`).
    pub fn is_stream(&self) -> bool {
        match self {
            Operation::Chat(request) => request.is_stream(),
            Operation::Responses(request) => request.is_stream(),
            _ => false,
        }
    }

    pub(crate) fn model(&self) -> &str {
        match self {
            Operation::Chat(request) => &request.model,
            Operation::Embeddings(request) => &request.model,
            Operation::Completions(request) => &request.model,
            Operation::Media(request) => request.model(),
            Operation::Responses(request) => &request.model,
        }
    }

    /// The request's model id, to rewrite (a bare name into `provider/model`).
    pub(crate) fn model_mut(&mut self) -> &mut String {
        match self {
            Operation::Chat(request) => &mut request.model,
            Operation::Embeddings(request) => &mut request.model,
            Operation::Completions(request) => &mut request.model,
            Operation::Media(request) => request.model_mut(),
            Operation::Responses(request) => &mut request.model,
        }
    }

    /// The request's own fallback models, to rewrite.
    pub(crate) fn fallback_models_mut(&mut self) -> Option<&mut Vec<String>> {
        match self {
            Operation::Chat(request) => request.fallback_models.as_mut(),
            Operation::Embeddings(request) => request.fallback_models.as_mut(),
            Operation::Completions(request) => request.fallback_models.as_mut(),
            Operation::Media(request) => request.fallback_models_mut(),
            Operation::Responses(request) => request.fallback_models.as_mut(),
        }
    }

    pub(crate) fn fallback_models(&self) -> Option<&[String]> {
        match self {
            Operation::Chat(request) => request.fallback_models.as_deref(),
            Operation::Embeddings(request) => request.fallback_models.as_deref(),
            Operation::Completions(request) => request.fallback_models.as_deref(),
            Operation::Media(request) => request.fallback_models(),
            Operation::Responses(request) => request.fallback_models.as_deref(),
        }
    }

    /// The request's own cache controls (`cache`).
    pub(crate) fn cache_control(&self) -> Option<&crate::cache::CacheControl> {
        match self {
            Operation::Chat(request) => request.cache.as_ref(),
            Operation::Embeddings(request) => request.cache.as_ref(),
            Operation::Completions(request) => request.cache.as_ref(),
            Operation::Media(_) => None,
            Operation::Responses(request) => request.cache.as_ref(),
        }
    }

    /// The request's own total deadline (`timeout`, seconds), if valid.
    fn timeout(&self) -> Option<Duration> {
        let seconds = match self {
            Operation::Chat(request) => request.timeout,
            Operation::Embeddings(request) => request.timeout,
            Operation::Completions(request) => request.timeout,
            Operation::Media(request) => request.timeout(),
            Operation::Responses(request) => request.timeout,
        }?;
        (seconds.is_finite() && seconds > 0.0)
            .then(|| Duration::try_from_secs_f64(seconds).ok())
            .flatten()
    }

    fn retries(&self) -> Option<u32> {
        match self {
            Operation::Chat(request) => request.retries,
            Operation::Embeddings(request) => request.retries,
            Operation::Completions(request) => request.retries,
            Operation::Media(request) => request.retries(),
            Operation::Responses(request) => request.retries,
        }
    }
}

impl From<ChatRequest> for Operation {
    fn from(request: ChatRequest) -> Self {
        Operation::Chat(request)
    }
}

impl From<EmbeddingRequest> for Operation {
    fn from(request: EmbeddingRequest) -> Self {
        Operation::Embeddings(request)
    }
}

impl From<MediaRequest> for Operation {
    fn from(request: MediaRequest) -> Self {
        Operation::Media(request)
    }
}

impl From<ResponsesRequest> for Operation {
    fn from(request: ResponsesRequest) -> Self {
        Operation::Responses(request)
    }
}

impl From<CompletionRequest> for Operation {
    fn from(request: CompletionRequest) -> Self {
        Operation::Completions(request)
    }
}

/// How an attempt reaches its model, as the call's admission decided
/// ([`Call::with_admission`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Wire {
    /// The operation's own endpoint.
    #[default]
    Native,
    /// A chat call sent to OpenAI's Responses API and its reply translated back into a chat
    /// completion (or chunks): for models only that API serves, which the
    /// [catalog](crate::catalog) lists with mode `responses`. Only a chat call takes it; any
    /// other operation goes to its own endpoint.
    ChatOverResponses,
}

/// Names one attempt of a call, so input for an attempt the call has given up on is
/// recognized and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AttemptId(u64);

/// A request the transport should send now.
#[derive(Debug)]
#[non_exhaustive]
pub struct Outgoing {
    /// Feed everything about this request's response back with this id.
    pub attempt: AttemptId,
    /// The request, built by the model's provider adapter.
    pub request: http::Request<Bytes>,
    /// The latest moment this attempt may still be running: the earlier of the call's total
    /// deadline and the per-attempt timeout. `None`: unbounded.
    pub deadline: Option<Instant>,
    /// The model id (`provider/model`) as given in the request or fallback list.
    pub model: String,
    /// The provider name.
    pub provider: String,
    /// This attempt's position in [`Call::attempts`], 1-based (models that failed to
    /// resolve count too).
    pub number: u32,
    /// Whether the response is a stream, to be fed in piece by piece as it arrives.
    pub stream: bool,
    /// For a stream: the longest wait from sending until the response head, and the longest
    /// silence between body bytes after it (`None` for whole replies, and when unset).
    /// Every [`Action::Receive`] deadline already includes them; a transport whose HTTP
    /// client takes its timeouts up front, per request (ureq), configures them from here
    /// instead, so both kinds enforce the same limits.
    pub first_byte_timeout: Option<Duration>,
    /// See [`first_byte_timeout`](Self::first_byte_timeout).
    pub idle_timeout: Option<Duration>,
}

/// What a successful call produced.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// A chat completion; for a streamed call, the chunks folded together.
    Chat(ChatCompletion),
    /// The embeddings of an [`Operation::Embeddings`] call.
    Embeddings(EmbeddingResponse),
    /// The completion of an [`Operation::Completions`] call.
    Completions(CompletionResponse),
    /// What an [`Operation::Media`] call produced.
    Media(MediaOutput),
    /// The response of an [`Operation::Responses`] call; for a streamed call, its events
    /// folded together.
    Responses(Response),
}

/// What the transport should do next; see the [module docs](self) for the loop.
#[derive(Debug)]
#[non_exhaustive]
#[must_use = "an action is what the transport must do next"]
pub enum Action {
    /// Send this request.
    Send(Outgoing),
    /// Await what happens next to the attempt's response (its head, body bytes, its end or a
    /// failure) and feed it in with `handle_head`, `handle_body`, `handle_eof` or
    /// `handle_transport_error`; if nothing arrives by `deadline` call `handle_timeout`.
    Receive {
        /// The attempt whose response is awaited; pass it to the `handle_*` method.
        attempt: AttemptId,
        /// When to give up waiting and call `handle_timeout`; `None`: no deadline applies.
        deadline: Option<Instant>,
    },
    /// Sleep until this moment, then poll again.
    Wait(Instant),
    /// The call succeeded.
    Done(Output),
    /// The call failed; [`Error::attempts`] says what was tried.
    Failed(Error),
    /// Only after [`Call::require_admission`]: the next attempt goes to this router
    /// deployment; ask the shared store whether it may, then call [`Call::admit`] or
    /// [`Call::skip_target`], and poll again.
    Admit {
        /// The deployment's id.
        deployment: String,
    },
}

/// Whether attempts on router deployments wait for a shared store's admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    NotRequired,
    /// Required; `granted` holds the attempt (by how many attempts came before it) that
    /// was admitted.
    Required {
        granted: Option<usize>,
    },
}

/// One call (chat, streamed chat, embeddings or completions) with its retries and fallbacks.
/// See the [module docs](self).
#[derive(Debug)]
pub struct Call {
    operation: Operation,
    stream: bool,
    options: CallOptions,
    targets: Vec<Target>,
    jitter: Jitter,
    total_timeout: Option<Duration>,
    total_deadline: Option<Instant>,
    /// The latest `now` seen; earlier ones are clamped to it.
    latest: Instant,
    /// The `now` the call started at, for [`CallOptions::wall_clock`].
    started: Instant,
    /// Index in `targets` of the model being tried.
    target: usize,
    /// Attempts started on that model.
    tries_on_target: u32,
    /// How many distinct models got an attempt.
    models_tried: usize,
    next_id: u64,
    admission: Admission,
    attempts: Vec<Attempt>,
    state: State,
    chunks: StreamOutput,
}

/// One model of the call, resolved once in [`Call::new`].
#[derive(Debug)]
struct Target {
    /// The model id as given.
    id: String,
    /// The router deployment it stands for, if any.
    deployment: Option<Routed>,
    /// Tried only after an error of this kind ([`ChainEntry::only_after`]).
    only_after: Option<OnlyAfter>,
    resolved: Result<Resolved, Error>,
}

/// One model of a call's chain, before it is resolved: its id, the router deployment it
/// stands for, the registry that resolves it, and its retries if not the usual ones.
pub(crate) struct ChainEntry<'r> {
    pub id: String,
    pub deployment: Option<Routed>,
    pub registry: &'r Registry,
    pub retries: Option<u32>,
    /// Tried only when the call reaches it after an error of this kind (a router's
    /// `context_window_fallbacks` and `content_policy_fallbacks`).
    pub only_after: Option<OnlyAfter>,
}

/// A block of consecutive chain entries the call enters only after one kind of error;
/// otherwise it skips the whole block without recording anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OnlyAfter {
    pub kind: ErrorKind,
    /// Which block (entries of one block share it).
    pub block: usize,
}

/// The router deployment a chain entry stands for.
#[derive(Debug, Clone)]
pub(crate) struct Routed {
    /// Its id (`model_info.id`, or the one the router gave it).
    pub id: String,
    /// The group it belongs to.
    pub group: String,
    /// Its own per-attempt timeout (`timeout` in its `litellm_params`).
    pub attempt_timeout: Option<Duration>,
}

#[derive(Debug)]
struct Resolved {
    provider: Arc<dyn Provider>,
    /// How a chat call reaches the model: through the Responses API for a model only it
    /// serves.
    wire: Wire,
    /// The provider's model name (after `provider/`).
    model: String,
    retries: u32,
    attempt_timeout: Option<Duration>,
}

#[derive(Debug)]
enum State {
    /// The next attempt (on `targets[target]`) goes out at `at`, after a wait of `waited`.
    Ready {
        at: Instant,
        waited: Duration,
    },
    InFlight(Box<InFlight>),
    Done(Box<Output>),
    /// Done, and the output went to the engine's drive loop, which ends there
    /// ([`Call::poll_handing_over`]).
    HandedOver,
    Failed(Error),
}

/// The attempt whose request is out.
#[derive(Debug)]
struct InFlight {
    id: AttemptId,
    provider: Arc<dyn Provider>,
    wire: Wire,
    model: String,
    waited: Duration,
    sent_at: Instant,
    attempt_timeout: Option<Duration>,
    status: Option<StatusCode>,
    headers: HeaderMap,
    body: Body,
    body_len: usize,
    last_bytes: Option<Instant>,
    /// What the request carried that no error may show.
    secrets: Secrets,
}

#[derive(Debug)]
enum Body {
    /// A whole body to parse at its end (non-streaming replies, and error replies to a
    /// streaming request).
    Buffer(Vec<u8>),
    /// A stream body after a 2xx head.
    Stream(StreamDecoder),
}

/// Which limit a timeout hit, for its message.
#[derive(Debug, Clone, Copy)]
enum Limit {
    Total(Duration),
    Attempt(Duration),
    FirstByte(Duration),
    Idle(Duration),
}

impl Limit {
    fn error(self) -> Error {
        let message = match self {
            Limit::Total(limit) => format!("the call's total deadline of {limit:?} passed"),
            Limit::Attempt(limit) => format!("the attempt took longer than {limit:?}"),
            Limit::FirstByte(limit) => {
                format!("no response bytes within the first-byte timeout of {limit:?}")
            }
            Limit::Idle(limit) => format!("the stream was silent for {limit:?} (idle timeout)"),
        };
        Error::new(ErrorKind::Timeout, message)
    }
}

impl Call {
    /// Starts a call at `now`. Nothing is sent until [`poll`](Self::poll).
    ///
    /// - Models: the request's `model`, then its `fallback_models` if it has that field
    ///   (even empty), else `options.fallback_models`.
    /// - Retries per model: the request's `retries`, else the provider's `max_retries`
    ///   setting, else `options.retries`.
    /// - Total deadline: the request's `timeout` (seconds), else `options.total_timeout`,
    ///   else the registry's timeout (`ONELLM_TIMEOUT`), counted from `now`.
    /// - Per-attempt timeout: `options.attempt_timeout`, else the provider's timeout setting.
    /// - `seed` drives the backoff jitter: the same seed gives the same waits.
    pub fn new(
        registry: &Registry,
        operation: Operation,
        options: CallOptions,
        seed: u64,
        now: Instant,
    ) -> Call {
        Call::with_admission(registry, operation, options, seed, now, |_, _| {
            Ok(Wire::Native)
        })
    }

    /// [`new`](Self::new) with a check of each model of the chain before anything is sent
    /// to it: `admit` is asked once per model (its id as given, the operation), up front. A
    /// model it refuses is skipped like a model without its key — a failed attempt holding
    /// the refusal, no request sent — and the call moves on to the next model. A model it
    /// admits goes by the [`Wire`] it names. The [`Engine`](crate::client::Engine) checks
    /// context windows and capabilities this way, and sends chat calls to models only the
    /// Responses API serves through that API.
    pub fn with_admission(
        registry: &Registry,
        operation: Operation,
        options: CallOptions,
        seed: u64,
        now: Instant,
        admit: impl FnMut(&str, &Operation) -> Result<Wire, Error>,
    ) -> Call {
        let fallbacks = operation
            .fallback_models()
            .unwrap_or(&options.fallback_models);
        let chain: Vec<ChainEntry<'_>> = std::iter::once(operation.model())
            .chain(fallbacks.iter().map(String::as_str))
            .map(|id| ChainEntry {
                id: id.to_owned(),
                deployment: None,
                registry,
                retries: None,
                only_after: None,
            })
            .collect();
        Call::with_chain(chain, operation, options, seed, now, admit)
    }

    /// A call over an explicit chain of models, each resolved with its own registry (the
    /// router's deployments, each with its own key and base URL), the operation's own model
    /// and fallbacks ignored. The rules are [`with_admission`](Self::with_admission)'s.
    pub(crate) fn with_chain(
        chain: Vec<ChainEntry<'_>>,
        operation: Operation,
        options: CallOptions,
        seed: u64,
        now: Instant,
        mut admit: impl FnMut(&str, &Operation) -> Result<Wire, Error>,
    ) -> Call {
        // A malformed id or an unknown provider anywhere in the chain is a bug in the program:
        // fail before sending anything rather than let a fallback hide it. (A provider that is
        // merely unusable, say without its key, stays a skipped attempt.)
        let misconfigured = chain
            .iter()
            .find_map(|entry| entry.registry.check_model_id(&entry.id).err());
        let targets = chain
            .iter()
            .map(|entry| Target {
                id: entry.id.clone(),
                deployment: entry.deployment.clone(),
                only_after: entry.only_after,
                resolved: resolve(
                    entry.registry,
                    &entry.id,
                    entry.retries.or(operation.retries()),
                    &options,
                )
                .map(|mut resolved| {
                    let own = entry.deployment.as_ref().and_then(|d| d.attempt_timeout);
                    resolved.attempt_timeout = own.or(resolved.attempt_timeout);
                    resolved
                })
                .and_then(|mut resolved| {
                    let wire = admit(&entry.id, &operation).map_err(|error| {
                        error.with_origin(resolved.provider.name(), &resolved.model)
                    })?;
                    if matches!(operation, Operation::Chat(_)) {
                        resolved.wire = wire;
                    }
                    Ok(resolved)
                }),
            })
            .collect();
        let registry = chain.first().map(|entry| entry.registry);
        let total_timeout = operation
            .timeout()
            .or(options.total_timeout)
            .or(registry.and_then(Registry::timeout));
        let chunks = match operation {
            Operation::Responses(_) => StreamOutput::for_responses(),
            _ => StreamOutput::default(),
        };
        Call {
            stream: operation.is_stream(),
            operation,
            options,
            targets,
            jitter: Jitter::new(seed),
            total_timeout,
            total_deadline: total_timeout.and_then(|timeout| now.checked_add(timeout)),
            latest: now,
            started: now,
            target: 0,
            tries_on_target: 0,
            models_tried: 0,
            next_id: 1,
            admission: Admission::NotRequired,
            attempts: Vec::new(),
            state: match misconfigured {
                Some(error) => State::Failed(error),
                None => State::Ready {
                    at: now,
                    waited: Duration::ZERO,
                },
            },
            chunks,
        }
    }

    /// What to do next. Handles passed deadlines itself; see the [module docs](self).
    #[must_use = "the action says what to send, await or return next"]
    pub fn poll(&mut self, now: Instant) -> Action {
        self.poll_inner(now, false)
    }

    /// [`poll`](Self::poll) for a caller that stops at `Done`: the output is moved out
    /// rather than copied (a completion's clone and its drop were ~5 % of a call's
    /// instructions at 64 concurrent calls, benches/README.md). Polled again, the call says
    /// it has nothing left, as a `Failed` action; [`output`](Self::output) is then `None`.
    pub(crate) fn poll_handing_over(&mut self, now: Instant) -> Action {
        self.poll_inner(now, true)
    }

    fn poll_inner(&mut self, now: Instant, hand_over: bool) -> Action {
        let now = self.clamp(now);
        loop {
            match &self.state {
                State::Done(output) if !hand_over => return Action::Done(Output::clone(output)),
                State::Done(_) => {
                    if let State::Done(output) = mem::replace(&mut self.state, State::HandedOver) {
                        return Action::Done(*output);
                    }
                }
                State::HandedOver => {
                    return Action::Failed(Error::new(
                        ErrorKind::InvalidRequest,
                        "the call's output was already handed over",
                    ))
                }
                State::Failed(error) => return Action::Failed(error.clone()),
                State::Ready { at, .. } if now < *at => return Action::Wait(*at),
                State::Ready { waited, .. } => {
                    let waited = *waited;
                    if let Some(deployment) = self.awaiting_admission(now) {
                        return Action::Admit { deployment };
                    }
                    if let Some(outgoing) = self.start_attempt(waited, now) {
                        return Action::Send(outgoing);
                    }
                }
                State::InFlight(flight) => match self.next_limit(flight) {
                    Some((deadline, limit)) if now >= deadline => {
                        self.attempt_failed(limit.error(), now);
                    }
                    next => {
                        return Action::Receive {
                            attempt: flight.id,
                            deadline: next.map(|(deadline, _)| deadline),
                        }
                    }
                },
            }
        }
    }

    /// A whole response: the same as [`handle_head`](Self::handle_head),
    /// [`handle_body`](Self::handle_body) and [`handle_eof`](Self::handle_eof).
    pub fn handle_response(
        &mut self,
        attempt: AttemptId,
        response: http::Response<Bytes>,
        now: Instant,
    ) {
        let (head, body) = response.into_parts();
        self.handle_head(attempt, head.status, head.headers, now);
        self.handle_body(attempt, &body, now);
        self.handle_eof(attempt, now);
    }

    /// The response head arrived. A second head for the same attempt is ignored.
    pub fn handle_head(
        &mut self,
        attempt: AttemptId,
        status: StatusCode,
        headers: HeaderMap,
        now: Instant,
    ) {
        self.clamp(now);
        let stream = self.stream;
        let responses = matches!(self.operation, Operation::Responses(_));
        let Some(flight) = self.flight_mut(attempt) else {
            return;
        };
        if flight.status.is_some() {
            return;
        }
        if stream && status.is_success() {
            let (provider, model) = (&flight.provider, flight.model.as_str());
            flight.body = Body::Stream(match (responses, flight.wire) {
                (true, _) => StreamDecoder::Responses(provider.responses_stream_decoder(model)),
                (_, Wire::ChatOverResponses) => {
                    StreamDecoder::Chat(responses_bridge::chat_via_responses_decoder(
                        provider.responses_stream_decoder(model),
                        model,
                    ))
                }
                _ => StreamDecoder::Chat(provider.chat_stream_decoder(model)),
            });
        }
        flight.status = Some(status);
        flight.headers = headers;
    }

    /// Body bytes arrived, in any split. Bytes before the head are ignored (a transport
    /// always has the head first).
    pub fn handle_body(&mut self, attempt: AttemptId, bytes: &[u8], now: Instant) {
        let now = self.clamp(now);
        let limit = self.options.max_body_bytes;
        let Some(flight) = self.flight_mut(attempt) else {
            return;
        };
        let Some(status) = flight.status else {
            return;
        };
        if bytes.is_empty() {
            return;
        }
        flight.last_bytes = Some(now);
        flight.body_len = flight.body_len.saturating_add(bytes.len());
        if flight.body_len > limit {
            let error = Error::new(
                ErrorKind::Decode,
                format!("body too large: more than {limit} bytes"),
            )
            .with_status(status.as_u16());
            self.attempt_failed(error, now);
            return;
        }
        match &mut flight.body {
            Body::Buffer(buffer) => buffer.extend_from_slice(bytes),
            Body::Stream(decoder) => {
                decoder.push(bytes);
                self.drain_stream(now);
            }
        }
    }

    /// The body ended. Before any head this is a connection failure; a stream that ends
    /// without its terminal marker is `Truncated`.
    pub fn handle_eof(&mut self, attempt: AttemptId, now: Instant) {
        let now = self.clamp(now);
        let Some(flight) = self.flight_mut(attempt) else {
            return;
        };
        let Some(status) = flight.status else {
            let error = Error::new(
                ErrorKind::Connection,
                "the connection closed before a response head arrived",
            );
            self.attempt_failed(error, now);
            return;
        };
        let body = match &mut flight.body {
            Body::Stream(decoder) => {
                decoder.finish();
                self.drain_stream(now);
                if self.flight_mut(attempt).is_some() {
                    // The decoder should have said so itself; never end a stream as success
                    // without its terminal marker.
                    let error = Error::truncated("stream ended without its terminal marker")
                        .with_status(status.as_u16());
                    self.attempt_failed(error, now);
                }
                return;
            }
            Body::Buffer(buffer) => mem::take(buffer),
        };
        let headers = mem::take(&mut flight.headers);
        let provider = flight.provider.clone();
        match self.parse(provider.as_ref(), status, headers, body) {
            Ok(output) => self.attempt_succeeded(output, now),
            Err(error) => {
                // An error the body itself carried (an error envelope's code) keeps its own
                // status; others get the response's.
                let error = match error.status() {
                    Some(_) => error,
                    None => error.with_status(status.as_u16()),
                };
                self.attempt_failed(error, now)
            }
        }
    }

    /// Sending or receiving failed in the transport (`Connection`, or `Timeout` when its own
    /// timer fired).
    pub fn handle_transport_error(&mut self, attempt: AttemptId, error: Error, now: Instant) {
        let now = self.clamp(now);
        if self.flight_mut(attempt).is_some() {
            self.attempt_failed(error, now);
        }
    }

    /// The attempt's [`Receive`](Action::Receive) deadline passed with nothing new.
    pub fn handle_timeout(&mut self, attempt: AttemptId, now: Instant) {
        let now = self.clamp(now);
        let Some(flight) = self.flight_ref(attempt) else {
            return;
        };
        // Name the limit that ran out, or the earliest one if the transport's own timer fired
        // first.
        let error = match self.next_limit(flight) {
            Some((_, limit)) => limit.error(),
            None => Error::new(ErrorKind::Timeout, "the transport timed out"),
        };
        self.attempt_failed(error, now);
    }

    /// Keeps only a summary of the streamed chunks instead of folding them into the final
    /// completion: see [`ChunkAccumulator::summary_only`](crate::ChunkAccumulator::summary_only).
    /// The call's output (and an error's partial completion) then has the model, usage,
    /// finish reasons and tool calls' names, but no text.
    pub fn summary_only(&mut self) {
        self.chunks.summary_only();
    }

    /// Ends the call with `Cancelled` (carrying the attempts, and the partial completion if
    /// content was streamed). Does nothing once the call has ended.
    pub fn cancel(&mut self) {
        if self.is_terminal() {
            return;
        }
        let cancelled = Error::new(ErrorKind::Cancelled, "the call was cancelled");
        if let State::InFlight(flight) = &self.state {
            let attempt = self.record(flight, Some(cancelled.clone()), self.latest);
            self.attempts.push(attempt);
        }
        let mut error = cancelled.with_attempts(self.attempts.clone());
        if self.chunks.committed {
            error = self.with_partial(error);
        }
        self.chunks.held.clear();
        self.state = State::Failed(error);
    }

    /// The next streamed item for the caller, in order: a chunk of a chat call, an event of
    /// a Responses call. Keeps yielding queued items after the call ended.
    #[must_use = "an item not handed to the caller is lost"]
    pub fn poll_item(&mut self) -> Option<StreamItem> {
        self.chunks.ready.pop_front()
    }

    /// The next streamed chunk of a chat call ([`poll_item`](Self::poll_item) for a chat
    /// call; a Responses call's events are left for `poll_event`).
    #[must_use = "a chunk not handed to the caller is lost"]
    pub fn poll_chunk(&mut self) -> Option<ChatCompletionChunk> {
        match self.chunks.ready.front()? {
            StreamItem::Chunk(_) => match self.chunks.ready.pop_front() {
                Some(StreamItem::Chunk(chunk)) => Some(chunk),
                _ => None,
            },
            StreamItem::Event(_) => None,
        }
    }

    /// The next streamed event of a Responses call ([`poll_item`](Self::poll_item) for
    /// such a call).
    #[must_use = "an event not handed to the caller is lost"]
    pub fn poll_event(&mut self) -> Option<ResponseStreamEvent> {
        match self.chunks.ready.front()? {
            StreamItem::Event(_) => match self.chunks.ready.pop_front() {
                Some(StreamItem::Event(event)) => Some(event),
                _ => None,
            },
            StreamItem::Chunk(_) => None,
        }
    }

    /// `error` with what the stream delivered so far: the partial completion of a chat
    /// stream, or the partial response of a Responses stream.
    fn with_partial(&self, error: Error) -> Error {
        match (self.chunks.completion(), self.chunks.response()) {
            (Some(completion), _) => error.with_partial(completion),
            (None, Some(response)) => error.with_partial_response(response),
            (None, None) => error,
        }
    }

    /// The wait decided before the next attempt, while the call is waiting for it (what
    /// [`Action::Wait`] counts down to; a backoff or a provider's `Retry-After`).
    pub fn pending_wait(&self) -> Option<Duration> {
        match &self.state {
            State::Ready { waited, .. } => Some(*waited),
            _ => None,
        }
    }

    /// The model id (`provider/model`, as listed) of the current attempt — after the call
    /// succeeded, the one that answered; while it streams, the one whose chunks
    /// [`poll_chunk`](Self::poll_chunk) hands out.
    pub fn current_model(&self) -> Option<&str> {
        self.targets
            .get(self.target)
            .map(|target| target.id.as_str())
    }

    /// The router deployment of the model being tried (or that answered), if it is one.
    pub fn current_deployment(&self) -> Option<&str> {
        self.targets
            .get(self.target)
            .and_then(|target| Some(target.deployment.as_ref()?.id.as_str()))
    }

    /// The model (or router group) the request asked for.
    pub fn requested_model(&self) -> &str {
        self.operation.model()
    }

    /// The router group of the model being tried (or that answered), if it is a deployment.
    pub fn current_group(&self) -> Option<&str> {
        self.targets
            .get(self.target)
            .and_then(|target| Some(target.deployment.as_ref()?.group.as_str()))
    }

    /// Makes the call stop before each attempt on a router deployment with
    /// [`Action::Admit`], until [`admit`](Self::admit) or [`skip_target`](Self::skip_target)
    /// answers: the engine does this when a shared store must take the deployment's slot
    /// first.
    pub fn require_admission(&mut self) {
        self.admission = Admission::Required { granted: None };
    }

    /// Lets the attempt [`Action::Admit`] asked about go out (on the next poll).
    pub fn admit(&mut self) {
        if let Admission::Required { granted } = &mut self.admission {
            *granted = Some(self.attempts.len());
        }
    }

    /// The output of a call that succeeded (until the engine's drive loop takes it).
    pub fn output(&self) -> Option<&Output> {
        match &self.state {
            State::Done(output) => Some(output),
            _ => None,
        }
    }

    /// Skips the model the call is ready to try next, without sending anything: a failed
    /// attempt holding `error` is recorded, as for a model without its key, and the call
    /// moves on to the next model (or fails when none is left). The engine does this when
    /// the shared store says a deployment is at its limits. Does nothing unless the call is
    /// ready to send.
    pub fn skip_target(&mut self, error: Error, now: Instant) {
        let State::Ready { waited, .. } = self.state else {
            return;
        };
        let Some(target) = self.targets.get(self.target) else {
            return;
        };
        if self.tries_on_target == 0 {
            self.models_tried += 1;
        }
        let (provider, model) = match &target.resolved {
            Ok(resolved) => (resolved.provider.name().to_owned(), resolved.model.clone()),
            Err(_) => (String::new(), target.id.clone()),
        };
        let error = error.with_origin(&provider, &model);
        self.attempts.push(Attempt {
            model: target.id.clone(),
            deployment: target.deployment.as_ref().map(|d| d.id.clone()),
            provider,
            error: Some(error.clone()),
            status: None,
            waited,
            took: Duration::ZERO,
        });
        self.next_model(error, now);
    }

    /// Every finished attempt so far, in order.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// Ends a call that has not started with `output`, sending nothing: the engine's cache
    /// answered it. A streamed chat call gets the completion as the chunks a provider would
    /// have sent ([`chunks_of`](crate::types::chunks_of)). A call already under way or over
    /// is left as it is.
    pub(crate) fn answer(&mut self, output: Output) {
        if !self.attempts.is_empty() || !matches!(self.state, State::Ready { .. }) {
            return;
        }
        if let (true, Output::Chat(completion)) = (self.stream, &output) {
            self.chunks.ready.extend(
                crate::types::chunks_of(completion)
                    .into_iter()
                    .map(StreamItem::Chunk),
            );
            self.chunks.committed = true;
        }
        self.state = State::Done(Box::new(output));
    }

    /// The request, to narrow before anything is sent (an embeddings call some of whose
    /// inputs the cache knows).
    pub(crate) fn operation_mut(&mut self) -> Option<&mut Operation> {
        (self.attempts.is_empty() && matches!(self.state, State::Ready { .. }))
            .then_some(&mut self.operation)
    }

    /// Ends a call that has not started with `error`, before anything is sent (the
    /// engine's budget check). A call already failed or under way is left as it is.
    pub(crate) fn refuse(&mut self, error: Error) {
        if self.attempts.is_empty() && matches!(self.state, State::Ready { .. }) {
            self.state = State::Failed(error);
        }
    }

    /// The latest time the call was given (what it last heard arrived then).
    #[cfg(feature = "tracing")]
    pub(crate) fn latest(&self) -> Instant {
        self.latest
    }

    /// Whether the call is over (`poll` returns `Done` or `Failed` from now on).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.state,
            State::Done(_) | State::HandedOver | State::Failed(_)
        )
    }

    fn clamp(&mut self, now: Instant) -> Instant {
        if now > self.latest {
            self.latest = now;
        }
        self.latest
    }

    fn flight_ref(&self, attempt: AttemptId) -> Option<&InFlight> {
        match &self.state {
            State::InFlight(flight) if flight.id == attempt => Some(flight),
            _ => None,
        }
    }

    fn flight_mut(&mut self, attempt: AttemptId) -> Option<&mut InFlight> {
        match &mut self.state {
            State::InFlight(flight) if flight.id == attempt => Some(flight),
            _ => None,
        }
    }

    /// The earliest limit on the attempt: the total deadline, the per-attempt timeout, and
    /// for streams the first-byte or idle timeout.
    fn next_limit(&self, flight: &InFlight) -> Option<(Instant, Limit)> {
        let after = |from: Instant, limit: Option<Duration>, kind: fn(Duration) -> Limit| {
            let limit = limit?;
            Some((from.checked_add(limit)?, kind(limit)))
        };
        let total = self
            .total_deadline
            .zip(self.total_timeout)
            .map(|(deadline, limit)| (deadline, Limit::Total(limit)));
        let attempt = after(flight.sent_at, flight.attempt_timeout, Limit::Attempt);
        let quiet = if !self.stream {
            None
        } else if let Some(last) = flight.last_bytes {
            after(last, self.options.idle_timeout, Limit::Idle)
        } else {
            after(
                flight.sent_at,
                self.options.first_byte_timeout,
                Limit::FirstByte,
            )
        };
        [total, attempt, quiet]
            .into_iter()
            .flatten()
            .min_by_key(|(deadline, _)| *deadline)
    }

    /// Sends the next attempt on the current model, or records why it cannot be sent and
    /// moves the machine on (then returns `None`).
    /// The deployment the next attempt goes to, if it must be admitted first and was not.
    fn awaiting_admission(&self, now: Instant) -> Option<String> {
        let Admission::Required { granted } = self.admission else {
            return None;
        };
        if granted == Some(self.attempts.len())
            || self.total_deadline.is_some_and(|deadline| now >= deadline)
        {
            return None;
        }
        let target = self.targets.get(self.target)?;
        target.resolved.as_ref().ok()?;
        Some(target.deployment.as_ref()?.id.clone())
    }

    fn start_attempt(&mut self, waited: Duration, now: Instant) -> Option<Outgoing> {
        if self.total_deadline.is_some_and(|deadline| now >= deadline) {
            self.fail_deadline("another attempt");
            return None;
        }
        let Some(target) = self.targets.get(self.target) else {
            // Unreachable: the machine never becomes Ready past the last model.
            self.state = State::Failed(
                Error::new(ErrorKind::AllFailed, "no model left to try")
                    .with_attempts(self.attempts.clone()),
            );
            return None;
        };
        if self.tries_on_target == 0 {
            self.models_tried += 1;
        }
        self.tries_on_target = self.tries_on_target.saturating_add(1);
        let number = u32::try_from(self.attempts.len() + 1).unwrap_or(u32::MAX);
        let resolved = match &target.resolved {
            Ok(resolved) => resolved,
            Err(error) => {
                let error = error.clone();
                self.attempts.push(Attempt {
                    model: target.id.clone(),
                    deployment: target.deployment.as_ref().map(|d| d.id.clone()),
                    provider: error.provider().unwrap_or_default().to_owned(),
                    error: Some(error.clone()),
                    status: None,
                    waited,
                    took: Duration::ZERO,
                });
                self.next_model(error, now);
                return None;
            }
        };
        let provider = resolved.provider.clone();
        let wall_clock = self
            .options
            .wall_clock
            .and_then(|start| start.checked_add(now.saturating_duration_since(self.started)));
        let built = match &self.operation {
            Operation::Chat(request) if resolved.wire == Wire::ChatOverResponses => {
                responses_bridge::chat_as_responses(request).and_then(|request| {
                    provider.build_responses(&resolved.model, &request, self.stream)
                })
            }
            Operation::Chat(request) => provider
                .capabilities()
                .check_chat(provider.name(), request, self.stream)
                .and_then(|()| provider.build_chat(&resolved.model, request, self.stream)),
            Operation::Responses(request) => {
                provider.build_responses(&resolved.model, request, self.stream)
            }
            Operation::Embeddings(request) => provider.build_embeddings(&resolved.model, request),
            Operation::Completions(request) => provider.build_completions(&resolved.model, request),
            Operation::Media(request) => provider.build_media(&resolved.model, request),
        };
        let built = built.and_then(|mut request| {
            provider.authorize(&mut request, wall_clock)?;
            Ok(request)
        });
        let request = match built {
            Ok(request) => request,
            Err(error) => {
                let error = error.with_origin(provider.name(), &resolved.model);
                self.attempts.push(Attempt {
                    model: target.id.clone(),
                    deployment: target.deployment.as_ref().map(|d| d.id.clone()),
                    provider: provider.name().to_owned(),
                    error: Some(error.clone()),
                    status: None,
                    waited,
                    took: Duration::ZERO,
                });
                self.after_failure(error, now);
                return None;
            }
        };
        let id = AttemptId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        let attempt_deadline = resolved
            .attempt_timeout
            .and_then(|timeout| now.checked_add(timeout));
        let deadline = match (self.total_deadline, attempt_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let outgoing = Outgoing {
            attempt: id,
            request,
            deadline,
            model: target.id.clone(),
            provider: provider.name().to_owned(),
            number,
            stream: self.stream,
            first_byte_timeout: self.options.first_byte_timeout.filter(|_| self.stream),
            idle_timeout: self.options.idle_timeout.filter(|_| self.stream),
        };
        let secrets = Secrets::of(&outgoing.request);
        self.state = State::InFlight(Box::new(InFlight {
            id,
            wire: resolved.wire,
            model: resolved.model.clone(),
            attempt_timeout: resolved.attempt_timeout,
            provider,
            waited,
            sent_at: now,
            status: None,
            headers: HeaderMap::new(),
            body: Body::Buffer(Vec::new()),
            body_len: 0,
            last_bytes: None,
            secrets,
        }));
        Some(outgoing)
    }

    /// Decodes what the stream decoder has ready; ends the attempt on an error or the
    /// terminal marker.
    fn drain_stream(&mut self, now: Instant) {
        loop {
            let next = match &mut self.state {
                State::InFlight(flight) => match &mut flight.body {
                    Body::Stream(decoder) => decoder.next_item(),
                    Body::Buffer(_) => None,
                },
                _ => None,
            };
            match next {
                Some(Ok(item)) => self.chunks.push(item),
                Some(Err(error)) => {
                    // The decoder never sees the head: the status and request id come from
                    // here.
                    let error = match &self.state {
                        State::InFlight(flight) => match flight.status {
                            Some(status) => error.with_response_head(status, &flight.headers),
                            None => error,
                        },
                        _ => error,
                    };
                    self.attempt_failed(error, now);
                    return;
                }
                None => break,
            }
        }
        let complete = match &self.state {
            State::InFlight(flight) => {
                matches!(&flight.body, Body::Stream(decoder) if decoder.is_complete())
            }
            _ => false,
        };
        if complete {
            // A stream that completed without content still hands out what it had.
            self.chunks.release_held();
            match (self.chunks.completion(), self.chunks.response()) {
                (Some(completion), _) => self.attempt_succeeded(Output::Chat(completion), now),
                (None, Some(response)) => self.attempt_succeeded(Output::Responses(response), now),
                (None, None) => self.attempt_failed(
                    Error::new(
                        ErrorKind::Decode,
                        "the stream completed without saying anything of its response",
                    ),
                    now,
                ),
            }
        }
    }

    /// Parses a whole body: the operation's parser, or for a streaming request (which only
    /// buffers non-2xx replies) the provider's error parser.
    fn parse(
        &self,
        provider: &dyn Provider,
        status: StatusCode,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<Output, Error> {
        if self.stream {
            return Err(provider.parse_error(status, &headers, &body));
        }
        let mut response = http::Response::new(Bytes::from(body));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        let wire = match &self.state {
            State::InFlight(flight) => flight.wire,
            _ => Wire::Native,
        };
        match &self.operation {
            Operation::Chat(_) if wire == Wire::ChatOverResponses => provider
                .parse_responses(&response)
                .map(|reply| Output::Chat(responses_bridge::response_as_chat(reply))),
            Operation::Chat(_) => provider.parse_chat(&response).map(Output::Chat),
            Operation::Responses(_) => provider.parse_responses(&response).map(Output::Responses),
            Operation::Embeddings(_) => {
                provider.parse_embeddings(&response).map(Output::Embeddings)
            }
            Operation::Completions(_) => provider
                .parse_completions(&response)
                .map(Output::Completions),
            Operation::Media(request) => {
                provider.parse_media(request, &response).map(Output::Media)
            }
        }
    }

    fn record(&self, flight: &InFlight, error: Option<Error>, now: Instant) -> Attempt {
        Attempt {
            took: now.saturating_duration_since(flight.sent_at),
            model: self
                .targets
                .get(self.target)
                .map(|target| target.id.clone())
                .unwrap_or_default(),
            deployment: self.current_deployment().map(str::to_owned),
            provider: flight.provider.name().to_owned(),
            error,
            status: flight.status.map(|status| status.as_u16()),
            waited: flight.waited,
        }
    }

    fn attempt_succeeded(&mut self, output: Output, now: Instant) {
        if let State::InFlight(flight) = &self.state {
            let attempt = self.record(flight, None, now);
            self.attempts.push(attempt);
        }
        self.state = State::Done(Box::new(output));
    }

    /// Ends the in-flight attempt with `error` and decides what follows.
    fn attempt_failed(&mut self, error: Error, now: Instant) {
        let State::InFlight(flight) = &self.state else {
            return;
        };
        let error = flight
            .secrets
            .scrub(error)
            .with_origin(flight.provider.name(), &flight.model);
        let attempt = self.record(flight, Some(error.clone()), now);
        self.attempts.push(attempt);
        if self.chunks.committed {
            let error = self.with_partial(error.with_kind(ErrorKind::StreamInterrupted));
            self.state = State::Failed(error.with_attempts(self.attempts.clone()));
            return;
        }
        // Nothing of this attempt reached the caller: forget what it held back.
        self.chunks.held.clear();
        self.after_failure(error, now);
    }

    /// Applies the decision table to the latest failed attempt.
    fn after_failure(&mut self, error: Error, now: Instant) {
        let retries_allowed = match self.targets.get(self.target).map(|t| &t.resolved) {
            Some(Ok(resolved)) => resolved.retries,
            _ => 0,
        };
        let retries_used = self.tries_on_target.saturating_sub(1);
        match decide(
            &error,
            retries_used,
            retries_allowed,
            &self.options,
            &mut self.jitter,
        ) {
            Decision::RetrySameModel { wait } => match now.checked_add(wait) {
                Some(at) if self.total_deadline.is_some_and(|deadline| at >= deadline) => {
                    self.fail_deadline(&format!("a retry after waiting {wait:?}"));
                }
                Some(at) => self.state = State::Ready { at, waited: wait },
                None => self.fail(error),
            },
            Decision::NextModel => self.next_model(error, now),
            Decision::Fail => self.fail(error),
        }
    }

    fn next_model(&mut self, last: Error, now: Instant) {
        self.target += 1;
        // A block meant for another kind of error is passed over, unrecorded.
        while let Some(only) = self.targets.get(self.target).and_then(|t| t.only_after) {
            let inside = self
                .target
                .checked_sub(1)
                .and_then(|previous| self.targets.get(previous))
                .is_some_and(|previous| previous.only_after == Some(only));
            if inside || last.kind() == only.kind {
                break;
            }
            while self
                .targets
                .get(self.target)
                .is_some_and(|target| target.only_after == Some(only))
            {
                self.target += 1;
            }
        }
        self.tries_on_target = 0;
        if self.target < self.targets.len() {
            self.state = State::Ready {
                at: now,
                waited: Duration::ZERO,
            };
        } else {
            self.fail(last);
        }
    }

    /// Ends the call with `last` (one model tried) or `AllFailed` (several).
    fn fail(&mut self, last: Error) {
        let attempts = self.attempts.clone();
        let error = if self.models_tried > 1 {
            Error::new(
                ErrorKind::AllFailed,
                format!(
                    "all {} models failed ({} attempts); last error: {last}",
                    self.models_tried,
                    attempts.len()
                ),
            )
            .with_attempts(attempts)
        } else {
            last.with_attempts(attempts)
        };
        self.state = State::Failed(error);
    }

    /// Ends the call with `Timeout`: the total deadline leaves no room for `what`.
    fn fail_deadline(&mut self, what: &str) {
        let limit = self.total_timeout.unwrap_or_default();
        let mut message =
            format!("the call's total deadline of {limit:?} leaves no time for {what}");
        let last = self.attempts.iter().rev().find_map(|a| a.error.as_ref());
        if let Some(last) = last {
            // Kind and message only: the origin is set on the new error itself.
            message = format!("{message}; last error: {}: {}", last.kind(), last.message());
        }
        let mut error = Error::new(ErrorKind::Timeout, message);
        if let Some((provider, model)) = last.and_then(|last| last.provider().zip(last.model())) {
            error = error.with_origin(provider, model);
        }
        self.state = State::Failed(error.with_attempts(self.attempts.clone()));
    }
}

/// Resolves one model id: parse, find the provider, read its settings.
fn resolve(
    registry: &Registry,
    id: &str,
    request_retries: Option<u32>,
    options: &CallOptions,
) -> Result<Resolved, Error> {
    let parsed = ModelId::parse(id)?;
    let provider = registry
        .resolve(&parsed)
        .map_err(|error| error.with_origin(parsed.provider(), parsed.model()))?;
    let settings = registry.settings(parsed.provider());
    Ok(Resolved {
        provider,
        wire: Wire::Native,
        model: parsed.model().to_owned(),
        retries: request_retries
            .or(settings.and_then(|s| s.max_retries))
            .unwrap_or(options.retries),
        attempt_timeout: options.attempt_timeout.or(settings.and_then(|s| s.timeout)),
    })
}
