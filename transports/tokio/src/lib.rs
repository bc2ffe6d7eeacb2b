//! onellm-tokio: the async OneLLM client, on hyper 1 and tokio.
//!
//! One OpenAI-shaped API for every LLM provider: send a [`ChatRequest`] for
//! `"openai/gpt-4o-mini"`, `"anthropic/claude-sonnet-4-5"` or any other `provider/model` and
//! get an OpenAI-format [`ChatCompletion`] back, streamed or whole, with retries, fallback
//! models and deadlines.
//!
//! ```no_run
//! use onellm_tokio::{ChatRequest, Client};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), onellm_tokio::Error> {
//!     // Keys and base URLs from the environment: OPENAI_API_KEY, ANTHROPIC_API_KEY, …
//!     let client = Client::from_env()?;
//!     let request = ChatRequest::new("openai/gpt-4o-mini")
//!         .user("Capital of France?")
//!         .fallback_models(["anthropic/claude-3-5-haiku-latest"]);
//!     let completion = client.chat(request).await?;
//!     println!("{}", completion.text());
//!     Ok(())
//! }
//! ```
//!
//! This crate only does I/O: the protocol (request building, response and stream parsing,
//! retry and fallback decisions) lives in `onellm-core`, whose types are re-exported here so
//! one dependency is enough.
//!
//! # Transport behaviour
//!
//! - **Connections** are pooled per client (one hyper-util pooled client, created in
//!   [`ClientBuilder::build`]) and reused by every call and clone. HTTP/1.1; TLS by rustls
//!   with the ring provider and Mozilla's root certificates (`webpki-roots`), no OpenSSL.
//! - **Deadlines**: the total deadline ([`ClientBuilder::timeout`], else `ONELLM_TIMEOUT`,
//!   else [`DEFAULT_TIMEOUT`]), per attempt, and idle time between stream bytes are decided
//!   by the core and enforced here with tokio's timers; a connect timeout
//!   ([`DEFAULT_CONNECT_TIMEOUT`]) bounds opening a connection.
//! - **Cancellation**: dropping a call's future or a [`ChatStream`] cancels the call; hyper
//!   closes a connection whose response was not read to the end rather than reusing it.
//! - **Redirects** are never followed (a `3xx` is an error), so credentials never go to
//!   another host. **Response bodies** are capped ([`ClientBuilder::max_body_bytes`]).
//!
//! # Logs and events
//!
//! Each step of a call (attempt sent, wait, success, failure, cancellation) is a
//! [`CallEvent`](onellm_core::client::CallEvent): logged through [`tracing`] under target
//! `onellm` as the [core's table](onellm_core::client::event#logs) says (the same events,
//! in the same order, as `onellm-blocking`), and given to [`ClientBuilder::on_event`] if set.
//! Requests, headers and bodies are never logged, so neither is an API key.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod connector;
mod exchange;
mod stream;

pub use client::Client;
pub use connector::{HyperClient, RequestBody};
pub use onellm_core::client::{
    Batching, CallEvent, Overrides, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
};
pub use stream::ChatStream;

/// Configures a [`Client`]: every setting, documented once in the core's
/// [`ClientBuilder`](onellm_core::client::ClientBuilder); its
/// [`http_client`](onellm_core::client::ClientBuilder::http_client) takes a hyper-util client
/// (see [`HyperClient`]).
///
/// ```
/// use std::time::Duration;
/// use onellm_tokio::Client;
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
/// # Ok::<(), onellm_tokio::Error>(())
/// ```
pub type ClientBuilder = onellm_core::client::ClientBuilder<Client>;

pub use onellm_core::call::{Backoff, CallOptions};
pub use onellm_core::types::*;
pub use onellm_core::{
    ApiKey, Attempt, CallReport, Error, ErrorKind, ModelId, ProviderSettings, Registry,
};

/// The protocol core, for what is not re-exported at the top: provider adapters, decoders,
/// the `Call` state machine.
pub use onellm_core as core;

/// The HTTP stack, for [`ClientBuilder::http_client`].
pub use hyper_util;
