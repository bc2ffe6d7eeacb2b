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
//!   [`ClientBuilder::first_byte_timeout`] the wait for the head and
//!   [`ClientBuilder::idle_timeout`] each silence. The core decides every limit; this crate
//!   hands them to ureq per request. A deadline that passes fails the attempt with
//!   [`ErrorKind::Timeout`], and the core decides whether to retry.
//! - **Redirects** are never followed (a provider does not redirect API calls, and following
//!   one could send the key elsewhere): a 3xx is an error.
//! - **Bodies** are capped ([`ClientBuilder::max_body_bytes`], 64 MiB by default) after
//!   decompression, so a hostile server cannot exhaust memory.
//! - **Cancellation**: dropping a [`ChatStream`] mid-stream closes its connection.
//!
//! # Logs and events
//!
//! Each step of a call (attempt sent, wait, success, failure, cancellation) is a
//! [`CallEvent`](onellm_core::client::CallEvent): logged through [`tracing`] under target
//! `onellm` as the [core's table](onellm_core::client::event#logs) says (the same events,
//! in the same order, as `onellm-tokio`), and given to [`ClientBuilder::on_event`] if set.
//! Requests, headers and bodies are never logged, so neither is an API key.
//!
//! [ureq]: https://docs.rs/ureq/3
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod drain;
mod exchange;
mod resolver;
mod stream;

pub use client::Client;
pub use onellm_core::client::{
    Batching, CallEvent, Overrides, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
};
pub use stream::ChatStream;

/// Configures a [`Client`]: every setting, documented once in the core's
/// [`ClientBuilder`](onellm_core::client::ClientBuilder); its
/// [`http_client`](onellm_core::client::ClientBuilder::http_client) takes a [`ureq::Agent`].
///
/// ```
/// use std::time::Duration;
/// use onellm_blocking::Client;
///
/// let client = Client::builder()
///     .from_env()
///     .api_key("openai", "sk-…")
///     .base_url("ollama", "http://gpu-box:11434")
///     .header("openrouter", "X-Title", "my app")
///     .timeout(Duration::from_secs(60))
///     .retries(3)
///     .fallback_models(["anthropic/claude-3-5-haiku-latest"])
///     .build()?;
/// # Ok::<(), onellm_blocking::Error>(())
/// ```
pub type ClientBuilder = onellm_core::client::ClientBuilder<Client>;

/// The core crate, for what is not re-exported here (custom providers, the call machine).
pub use onellm_core as core;
/// The ureq version this crate is built on, to build an [`ureq::Agent`] for
/// [`ClientBuilder::http_client`].
pub use ureq;

pub use onellm_core::call::{Backoff, CallOptions};
pub use onellm_core::types::*;
pub use onellm_core::{
    ApiKey, Attempt, CallReport, Error, ErrorKind, ModelId, ProviderSettings, Registry,
};
