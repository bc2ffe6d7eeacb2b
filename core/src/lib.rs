//! onellm-core: the sans-IO protocol core of OneLLM.
//!
//! One OpenAI-shaped interface to every LLM provider. This crate turns OpenAI-format
//! requests into `http::Request` values for each provider, turns response bytes (whole or
//! streamed) back into OpenAI-format values, and decides retries and fallbacks. It never
//! opens a socket, reads a clock or the environment, spawns a thread or draws randomness:
//! the transports (`onellm-blocking`, `onellm-tokio`) or your own runtime do that and feed
//! the results in.
//!
//! The layers, from the top:
//!
//! - [`client`]: the one client layer — [`ClientBuilder`], the
//!   [`Engine`] that starts typed calls, the drive loops and the
//!   [driver contract](client#the-driver-contract) a transport implements, and the
//!   [`CallEvent`]s a call reports.
//! - [`call`]: one call's retries, fallbacks and deadlines as a state machine driven with
//!   `poll(now)`: [the drive loop](call#the-drive-loop), and
//!   [the decision table](call#rules) every transport obeys.
//! - [`provider`]: one adapter per wire protocol (request building, response and error
//!   parsing, stream decoding), resolved from `provider/model` ids by the [`Registry`].
//! - [`framing`]: the incremental SSE, NDJSON and AWS eventstream decoders.
//! - [`types`]: the OpenAI-format values everything speaks.
//!
//! A call, started by an engine and fed a response by hand — what a transport's loop does
//! with real sockets:
//!
//! ```
//! use std::time::{Instant, SystemTime};
//!
//! use bytes::Bytes;
//! use onellm_core::call::Action;
//! use onellm_core::client::Engine;
//! use onellm_core::{CallOptions, ChatRequest, Registry};
//!
//! let mut registry = Registry::new();
//! registry.set_api_key("openai", "sk-test");
//! let engine = Engine::new(registry, CallOptions::default(), Some(7), None);
//! let request = ChatRequest::new("openai/gpt-4o-mini").user("Hello!");
//! let mut typed = engine.chat(request, Instant::now(), SystemTime::now());
//!
//! let Action::Send(outgoing) = typed.call_mut().poll(Instant::now()) else { unreachable!() };
//! assert_eq!(outgoing.request.uri(), "https://api.openai.com/v1/chat/completions");
//! let reply = br#"{"object": "chat.completion", "model": "gpt-4o-mini", "choices": [{"index": 0,
//!     "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}]}"#;
//! let response = http::Response::new(Bytes::from_static(reply));
//! typed.call_mut().handle_response(outgoing.attempt, response, Instant::now());
//!
//! let Action::Done(output) = typed.call_mut().poll(Instant::now()) else { unreachable!() };
//! let completion = typed.output(output)?;
//! assert_eq!(completion.text(), "Hi!");
//! # Ok::<(), onellm_core::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api_key;
pub mod cache;
pub mod call;
pub mod catalog;
pub mod client;
pub mod error;
pub mod framing;
pub mod model;
mod needs;
pub mod provider;
mod registry;
mod response_headers;
pub mod router;
pub mod settings;
pub mod store;
pub mod tokens;
pub mod types;

pub use api_key::ApiKey;
pub use call::{
    Action, AttemptId, Backoff, Call, CallOptions, Operation, Outgoing, Output, StreamItem, Wire,
};
pub use catalog::{Catalog, ModelInfo, ModelPrices};
pub use client::{CallEvent, ClientBuilder, Engine};
pub use error::{Attempt, CallReport, Error, ErrorKind};
pub use model::ModelId;
pub use provider::{Capabilities, ChatStreamDecoder, Provider, ResponsesStreamDecoder};
pub use registry::Registry;
pub use settings::ProviderSettings;
pub use types::*;
