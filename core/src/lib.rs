//! onellm-core: the sans-IO protocol core of OneLLM.
//!
//! One OpenAI-shaped interface to every LLM provider. This crate turns OpenAI-format
//! requests into `http::Request` values for each provider, turns response bytes (whole or
//! streamed) back into OpenAI-format values, and decides retries and fallbacks. It never
//! opens a socket, reads a clock or the environment, spawns a thread or draws randomness:
//! the transports (`onellm-blocking`, `onellm-tokio`) or your own runtime do that and feed
//! the results in.
//!
//! ```
//! use onellm_core::{ChatRequest, ModelId, Registry};
//!
//! let registry = Registry::from_lookup(|name| (name == "OPENAI_API_KEY").then(|| "sk-test".into()));
//! let request = ChatRequest::new("openai/gpt-4o-mini").user("Hello!");
//! let id = ModelId::parse(&request.model).unwrap();
//! let provider = registry.resolve(&id).unwrap();
//! let http_request = provider.build_chat(id.model(), &request, false).unwrap();
//! assert_eq!(http_request.uri(), "https://api.openai.com/v1/chat/completions");
//! ```
#![forbid(unsafe_code)]

mod api_key;
pub mod call;
pub mod client;
pub mod error;
pub mod framing;
pub mod model;
pub mod provider;
mod registry;
mod response_headers;
pub mod settings;
pub mod types;

pub use api_key::ApiKey;
pub use call::{Action, AttemptId, Backoff, Call, CallOptions, Operation, Outgoing, Output};
pub use error::{Attempt, Error, ErrorKind};
pub use model::ModelId;
pub use provider::{Capabilities, ChatStreamDecoder, Provider};
pub use registry::Registry;
pub use settings::ProviderSettings;
pub use types::*;
