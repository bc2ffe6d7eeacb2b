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
//! # Guide
//!
//! **Streaming**: chunks as they arrive, then the whole completion.
//!
//! ```no_run
//! # let client = onellm_blocking::Client::from_env()?;
//! use onellm_blocking::ChatRequest;
//!
//! let mut stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("A haiku"));
//! for chunk in &mut stream {
//!     let chunk = chunk?;
//!     if let Some(text) = chunk.text() {
//!         print!("{text}");
//!     }
//!     for fragment in chunk.tool_call_deltas() {
//!         eprintln!("tool call {} {:?} {}", fragment.index, fragment.name, fragment.arguments);
//!     }
//! }
//! let completion = stream.completion().expect("the stream ended well");
//! # Ok::<(), onellm_blocking::Error>(())
//! ```
//!
//! **Tools**: declare functions, read the calls, answer them.
//!
//! ```no_run
//! # let client = onellm_blocking::Client::from_env()?;
//! use onellm_blocking::{ChatRequest, Message, Tool};
//! use serde_json::json;
//!
//! let weather = Tool::function("get_weather", "Current weather", json!({
//!     "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}));
//! let mut request = ChatRequest::new("anthropic/claude-sonnet-4-5").user("Paris?").tool(weather);
//! let completion = client.chat(request.clone())?;
//! for call in completion.tool_calls() {
//!     println!("{}({})", call.function.name, call.function.arguments);
//!     request.messages.push(Message::tool(call.id.clone(), r#"{"celsius": 21}"#));
//! }
//! # Ok::<(), onellm_blocking::Error>(())
//! ```
//!
//! **Structured output**: a JSON schema in, your type out, on every provider.
//!
//! ```no_run
//! # let client = onellm_blocking::Client::from_env()?;
//! use onellm_blocking::ChatRequest;
//! use serde_json::json;
//!
//! #[derive(serde::Deserialize)]
//! struct City { name: String, country: String }
//!
//! let schema = json!({"type": "object", "additionalProperties": false,
//!     "properties": {"name": {"type": "string"}, "country": {"type": "string"}},
//!     "required": ["name", "country"]});
//! let request = ChatRequest::new("openai/gpt-4o-mini").user("Capital of Italy?").json_schema("city", schema);
//! let city: City = client.chat(request)?.parse()?;
//! # Ok::<(), onellm_blocking::Error>(())
//! ```
//!
//! **Embeddings**, one request or many in batches (in input order).
//!
//! ```no_run
//! # let client = onellm_blocking::Client::from_env()?;
//! use onellm_blocking::{Batching, EmbeddingRequest};
//!
//! let response = client.embeddings(EmbeddingRequest::new("openai/text-embedding-3-small", ["a", "b"]))?;
//! let first: &[f32] = response.vectors()?[0];
//! let texts: Vec<String> = (0..500).map(|i| format!("doc {i}")).collect();
//! let all = client.embed_many(EmbeddingRequest::new("openai/text-embedding-3-small", texts), Batching::new(100, 4))?;
//! # Ok::<(), onellm_blocking::Error>(())
//! ```
//!
//! **Fallback, and who answered**: the report of a successful call; the attempts of a
//! failed one.
//!
//! ```no_run
//! # let client = onellm_blocking::Client::from_env()?;
//! use onellm_blocking::ChatRequest;
//!
//! let request = ChatRequest::new("openai/gpt-4o").user("Hi").fallback_models(["anthropic/claude-sonnet-4-5"]);
//! match client.chat(request) {
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
//! # Ok::<(), onellm_blocking::Error>(())
//! ```
//!
//! **Per-call keys**: one client, one pool, a view per tenant.
//!
//! ```no_run
//! # let client = onellm_blocking::Client::from_env()?;
//! # let tenant_key = String::new();
//! use onellm_blocking::{ChatRequest, Overrides};
//!
//! let tenant = client.with_overrides(Overrides::new().api_key("openai", tenant_key));
//! let completion = tenant.chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))?;
//! # Ok::<(), onellm_blocking::Error>(())
//! ```
//!
//! **Testing without keys or network**: `onellm-testkit`'s fake provider speaks every
//! provider's wire format on loopback and fails on cue.
//!
//! ```
//! use onellm_blocking::{ChatRequest, Client};
//! use onellm_testkit::{FakeProvider, Reply};
//!
//! let server = FakeProvider::start();
//! server.push(Reply::status(503));            // the first attempt fails…
//! server.push(Reply::text("Bonjour"));        // …the retry answers
//! let client = Client::builder()
//!     .api_key("openai", "sk-test")
//!     .base_url("openai", server.openai_base_url())
//!     .build()?;
//! let completion = client.chat(ChatRequest::new("openai/gpt-4o-mini").user("Hello in French"))?;
//! assert_eq!(completion.text(), "Bonjour");
//! assert_eq!(completion.report().unwrap().attempts.len(), 2);
//! assert_eq!(server.requests().len(), 2);
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
//! [`CallEvent`]: logged through [`tracing`] under target
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
mod forward;
#[cfg(feature = "llama")]
mod local;
mod resolver;
mod stream;

pub use client::Client;
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
pub use onellm_core::{cache, catalog, tokens};
pub use onellm_core::{
    ApiKey, Attempt, CallReport, Error, ErrorKind, ModelId, ProviderSettings, Registry,
};
