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
//! # Guide
//!
//! **Streaming**: chunks as they arrive, then the whole completion.
//!
//! ```no_run
//! # async fn run(client: onellm_tokio::Client) -> Result<(), onellm_tokio::Error> {
//! use std::future::poll_fn;
//! use std::pin::Pin;
//! use futures_core::Stream; // with the `futures` crate: `while let Some(chunk) = stream.next().await`
//! use onellm_tokio::ChatRequest;
//!
//! let mut stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("A haiku"));
//! while let Some(chunk) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
//!     let chunk = chunk?;
//!     if let Some(text) = chunk.text() {
//!         print!("{text}");
//!     }
//!     for fragment in chunk.tool_call_deltas() {
//!         eprintln!("tool call {} {:?} {}", fragment.index, fragment.name, fragment.arguments);
//!     }
//! }
//! let completion = stream.completion().expect("the stream ended well");
//! # Ok(())
//! # }
//! ```
//!
//! **Tools**: declare functions, read the calls, answer them.
//!
//! ```no_run
//! # async fn run(client: onellm_tokio::Client) -> Result<(), onellm_tokio::Error> {
//! use onellm_tokio::{ChatRequest, Message, Tool};
//! use serde_json::json;
//!
//! let weather = Tool::function("get_weather", "Current weather", json!({
//!     "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}));
//! let mut request = ChatRequest::new("anthropic/claude-sonnet-4-5").user("Paris?").tool(weather);
//! let completion = client.chat(request.clone()).await?;
//! for call in completion.tool_calls() {
//!     println!("{}({})", call.function.name, call.function.arguments);
//!     request.messages.push(Message::tool(call.id.clone(), r#"{"celsius": 21}"#));
//! }
//! # Ok(())
//! # }
//! ```
//!
//! **Structured output**: a JSON schema in, your type out, on every provider.
//!
//! ```no_run
//! # async fn run(client: onellm_tokio::Client) -> Result<(), onellm_tokio::Error> {
//! use onellm_tokio::ChatRequest;
//! use serde_json::json;
//!
//! #[derive(serde::Deserialize)]
//! struct City { name: String, country: String }
//!
//! let schema = json!({"type": "object", "additionalProperties": false,
//!     "properties": {"name": {"type": "string"}, "country": {"type": "string"}},
//!     "required": ["name", "country"]});
//! let request = ChatRequest::new("openai/gpt-4o-mini").user("Capital of Italy?").json_schema("city", schema);
//! let city: City = client.chat(request).await?.parse()?;
//! # Ok(())
//! # }
//! ```
//!
//! **Embeddings**, one request or many in batches (in input order).
//!
//! ```no_run
//! # async fn run(client: onellm_tokio::Client) -> Result<(), onellm_tokio::Error> {
//! use onellm_tokio::{Batching, EmbeddingRequest};
//!
//! let response = client.embeddings(EmbeddingRequest::new("openai/text-embedding-3-small", ["a", "b"])).await?;
//! let first: &[f32] = response.vectors()?[0];
//! let texts: Vec<String> = (0..500).map(|i| format!("doc {i}")).collect();
//! let all = client.embed_many(EmbeddingRequest::new("openai/text-embedding-3-small", texts), Batching::new(100, 4)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! **Fallback, and who answered**: the report of a successful call; the attempts of a
//! failed one.
//!
//! ```no_run
//! # async fn run(client: onellm_tokio::Client) -> Result<(), onellm_tokio::Error> {
//! use onellm_tokio::ChatRequest;
//!
//! let request = ChatRequest::new("openai/gpt-4o").user("Hi").fallback_models(["anthropic/claude-sonnet-4-5"]);
//! match client.chat(request).await {
//!     Ok(completion) => {
//!         let report = completion.report().expect("client calls carry a report");
//!         eprintln!("answered by {:?}; fell back: {}", report.model(), report.fell_back());
//!     }
//!     Err(error) => {
//!         for attempt in error.attempts() {
//!             eprintln!("{}: {:?} {:?}", attempt.model, attempt.kind(), attempt.status);
//!         }
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! **Per-call keys**: one client, one pool, a view per tenant.
//!
//! ```no_run
//! # async fn run(client: onellm_tokio::Client) -> Result<(), onellm_tokio::Error> {
//! # let tenant_key = String::new();
//! use onellm_tokio::{ChatRequest, Overrides};
//!
//! let tenant = client.with_overrides(Overrides::new().api_key("openai", tenant_key));
//! let completion = tenant.chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi")).await?;
//! # Ok(())
//! # }
//! ```
//!
//! **Testing without keys or network**: `onellm-testkit`'s fake provider speaks every
//! provider's wire format on loopback and fails on cue.
//!
//! ```
//! use onellm_tokio::{ChatRequest, Client};
//! use onellm_testkit::{FakeProvider, Reply};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), onellm_tokio::Error> {
//! let server = FakeProvider::start();
//! server.push(Reply::status(503));            // the first attempt fails…
//! server.push(Reply::text("Bonjour"));        // …the retry answers
//! let client = Client::builder()
//!     .api_key("openai", "sk-test")
//!     .base_url("openai", server.openai_base_url())
//!     .build()?;
//! let completion = client.chat(ChatRequest::new("openai/gpt-4o-mini").user("Hello in French")).await?;
//! assert_eq!(completion.text(), "Bonjour");
//! assert_eq!(completion.report().unwrap().attempts.len(), 2);
//! assert_eq!(server.requests().len(), 2);
//! # Ok(())
//! # }
//! ```
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
//! [`CallEvent`]: logged through [`tracing`] under target
//! `onellm` as the [core's table](onellm_core::client::event#logs) says (the same events,
//! in the same order, as `onellm-blocking`), and given to [`ClientBuilder::on_event`] if set.
//! Requests, headers and bodies are never logged, so neither is an API key.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod connector;
mod exchange;
mod gunzip;
#[cfg(feature = "llama")]
mod local;
mod proxied;
mod stream;

pub use client::Client;
pub use connector::{HyperClient, RequestBody};
/// llama.cpp in process (feature `llama`): see [`Client::with_local_models`].
#[cfg(feature = "llama")]
pub use local::{EngineOptions, LocalModels, Route};
pub use onellm_core::client::{
    Batching, Budget, BudgetStatus, CallEvent, Overrides, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
};
/// The in-process engine's crate (feature `llama`), for what the re-exports above leave
/// out (`tiny_gguf` for tests).
#[cfg(feature = "llama")]
pub use onellm_llama as llama;
pub use stream::{CallStream, ChatStream, ResponseStream};

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
pub use onellm_core::{cache, catalog, tokens};
pub use onellm_core::{
    ApiKey, Attempt, CallReport, Error, ErrorKind, ModelId, ProviderSettings, Registry,
};

/// The protocol core, for what is not re-exported at the top: provider adapters, decoders,
/// the `Call` state machine.
pub use onellm_core as core;

/// The HTTP stack, for [`ClientBuilder::http_client`].
pub use hyper_util;
