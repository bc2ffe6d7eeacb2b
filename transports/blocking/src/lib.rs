//! onellm-blocking: a blocking OneLLM client on [ureq] — one OpenAI-shaped API for every
//! LLM provider, with retries, fallback models and deadlines, and no async runtime at all.
//!
//! A thin transport over [`onellm_core`]: the core builds each provider's HTTP request,
//! decodes the responses and streams, and decides retries and fallbacks (its
//! [`Call`](onellm_core::call::Call) state machine); this crate sends the requests through
//! one pooled ureq agent per [`Client`], reads bodies in pieces under the deadlines the core
//! sets, sleeps between attempts, and logs each step through [`tracing`] (target `onellm`,
//! never a key or a header).
//!
//! ```no_run
//! use onellm_blocking::{ChatRequest, Client};
//!
//! // OPENAI_API_KEY, ANTHROPIC_API_KEY, OPENAI_BASE_URL, ONELLM_TIMEOUT, … from the environment.
//! let client = Client::from_env()?;
//! let request = ChatRequest::new("openai/gpt-4o-mini")
//!     .system("Answer in one word.")
//!     .user("Capital of France?")
//!     .fallback_models(["anthropic/claude-3-5-haiku-latest"]);
//!
//! let completion = client.chat(request.clone())?;
//! println!("{}", completion.text());
//!
//! // The same, streamed: chunks as they arrive, the whole completion at the end.
//! let mut stream = client.chat_stream(request);
//! for chunk in &mut stream {
//!     print!("{}", chunk?.text().unwrap_or_default());
//! }
//! println!("\n{:?}", stream.completion().and_then(|c| c.usage.as_ref()));
//! # Ok::<(), onellm_blocking::Error>(())
//! ```
//!
//! # Behaviour on the wire
//!
//! - **Connections** are pooled by the client's ureq agent and reused across calls and
//!   threads; clones of a client share the pool.
//! - **Deadlines**: the total deadline of a call ([`ClientBuilder::timeout`], else
//!   `ONELLM_TIMEOUT`, else [`DEFAULT_TIMEOUT`]) bounds retries and
//!   waits too; [`ClientBuilder::attempt_timeout`] bounds each attempt,
//!   [`ClientBuilder::connect_timeout`] each connection set-up, and for streams
//!   [`ClientBuilder::idle_timeout`] each silence. A deadline that passes fails the attempt
//!   with [`ErrorKind::Timeout`], and the core decides whether to retry.
//! - **Redirects** are never followed (a provider does not redirect API calls, and following
//!   one could send the key elsewhere): a 3xx is an error.
//! - **Bodies** are capped ([`ClientBuilder::max_body_bytes`], 64 MiB by default) after
//!   decompression, so a hostile server cannot exhaust memory.
//! - **Cancellation**: dropping a [`ChatStream`] mid-stream closes its connection.
//!
//! # Logs
//!
//! The client logs each decision of a call through [`tracing`], under target `onellm`.
//! Requests, headers and bodies are never logged, so neither is an API key. Both OneLLM
//! transports (`onellm-blocking`, `onellm-tokio`) log the same events:
//!
//! | message | level | fields |
//! | --- | --- | --- |
//! | `sending request` | `debug` for a call's first attempt, `info` for a retry or fallback | `attempt` (1, 2, …), `step` (`first`, `retry` or `fallback`), `provider`, `model`, `stream`, and after a failed attempt its `after_kind` and `after_status` |
//! | `waiting before the next attempt` | `info` | `wait_ms`, `model` of the failed attempt, `after_kind`, `after_status` |
//! | `call succeeded` | `debug` | `attempts` (how many were made), `model` that answered |
//! | `call failed` | `info` | `attempts`, `model` of the last attempt, `kind`, `status` |
//! | `call cancelled: dropped before it ended` | `debug` | `attempts` |
//!
//! Error kinds are the snake_case names of [`ErrorKind`] (`rate_limit`, `timeout`, …);
//! statuses are HTTP status codes, absent when no response came.
//!
//! [ureq]: https://docs.rs/ureq/3
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod builder;
mod client;
mod drain;
mod driver;
mod exchange;
mod resolver;
mod stream;

pub use builder::{ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
pub use client::Client;
pub use stream::ChatStream;

/// The core crate, for what is not re-exported here (custom providers, the call machine).
pub use onellm_core as core;
/// The ureq version this crate is built on, to build an [`ureq::Agent`] for
/// [`ClientBuilder::agent`].
pub use ureq;

pub use onellm_core::call::{Backoff, CallOptions};
pub use onellm_core::types::*;
pub use onellm_core::{ApiKey, Attempt, Error, ErrorKind, ModelId, ProviderSettings, Registry};
