//! onellm-testkit: a fake LLM provider that speaks the providers' wire formats over real
//! HTTP on 127.0.0.1, with scripted replies and faults, so programs using OneLLM can be
//! tested end to end without keys or network.
//!
//! ```
//! use onellm_testkit::{FakeProvider, Reply};
//!
//! let server = FakeProvider::start();
//! server.push(Reply::text("Hello from the fake"));
//! // Point a client's `openai` base URL at `server.openai_base_url()` and call it; the
//! // server answers with the scripted reply, in OpenAI's format, streamed or not as asked.
//! assert!(server.openai_base_url().starts_with("http://127.0.0.1:"));
//! ```
//!
//! Routes: `POST …/chat/completions` (OpenAI chat), `POST …/messages` (Anthropic messages),
//! `POST …/model/{id}/converse` and `…/converse-stream` (Bedrock; the stream in binary AWS
//! event stream frames), `POST …/model/{id}/invoke` (Bedrock Titan and Cohere embeddings),
//! `POST …/embeddings`, `POST …/completions`, and the media routes `POST
//! …/images/generations`, `…/audio/transcriptions` and `…/audio/translations` (the upload
//! parsed as a real multipart form; the reply names the file's length and CRC-32),
//! `…/audio/speech` ([`fake_speech`] bytes) and `…/moderations`. A request body with `"stream": true` gets a
//! streamed reply (SSE over chunked transfer encoding). With no reply queued the server echoes
//! the last user message, except for a model named `fail-NNN` (e.g. `openai/fail-401`), which
//! gets HTTP status NNN with the route's usual error body, and one named `soak-{fault}-{id}`
//! (see [`soak`]), which gets that fault and that call's scripted text.
//!
//! [`RedisServer`] starts a real `redis-server` on a free loopback port for tests of the
//! shared store (skipping with a message when it is not installed, failing under `CI=true`).
//!
//! The server stops when the [`FakeProvider`] is dropped. Every loop in it is bounded: the
//! accept loop and each connection check a stop flag at least every 50 ms, idle connections
//! close after 30 s, and a hanging reply gives up after 60 s.
#![forbid(unsafe_code)]

pub mod chat_cli;
mod example_binary;
mod http1;
pub mod multipart;
mod proxy;
mod redis_server;
mod render;
pub mod replay;
mod reply;
mod server;
pub mod soak;
#[cfg(feature = "tls")]
mod tls;

pub use example_binary::{
    example_binary, example_binary_with_features, run_example, LLAMA_SELECTION,
};
pub use proxy::{ForwardProxy, ProxiedRequest};
pub use redis_server::RedisServer;
pub use render::media::fake_speech;
pub use reply::{Fault, Reply};
pub use server::{demo_answer, key_fingerprint, FakeProvider, RecordedRequest};
#[cfg(feature = "tls")]
pub use tls::{check_platform_verifier, Alpn, AskOverTls, TlsCounts, TlsServer};
