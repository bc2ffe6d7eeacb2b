//! llama.cpp in process, for OneLLM's `llama_cpp` provider.
//!
//! # The seam
//!
//! The core stays pure: for `llama_cpp/<name>` it builds the same OpenAI-format
//! `http::Request` it would send to a llama.cpp server, and reads the answer with the same
//! decoder. A transport built with its `llama` feature asks [`LocalModels::claim`] about
//! each request before it opens a socket; when the request is the engine's, the
//! transport runs the returned [`Job`] on a thread of its own instead, and hands the core
//! the [`Piece`]s it produces — a status and headers, then the body bytes a llama.cpp
//! server would have sent (a JSON completion or embeddings list, or SSE chunks ending in
//! `data: [DONE]`).
//! Nothing above the transport knows the difference, so retries, deadlines, cancellation
//! by drop, logs, reports, caching and fallback work unchanged, and one call's fallback
//! chain can mix cloud and local models.
//!
//! # Which requests run here
//!
//! See [`LocalModels`] (where files are looked up) and [`Route`] (forcing either side).
//! A model file is loaded once per client (memory-mapped by llama.cpp), shared by the
//! client's concurrent calls, each of which makes its own context (`context_size` tokens
//! of KV cache) for the length of the call; it is unloaded when the client is dropped.
//!
//! Everything but [`tiny_gguf`] needs the `engine` feature (llama.cpp itself), which the
//! transports' `llama` feature turns on.
//!
//! # Tests
//!
//! [`tiny_gguf`] writes a small GGUF model (random
//! weights from a seed, a byte-fallback vocabulary, a ChatML template) for tests that
//! load and decode real files without downloading one.
#![warn(missing_docs)]
// The crate docs describe the engine; without its feature the items they link to are not
// built (docs.rs builds with it: see Cargo.toml).
#![cfg_attr(not(feature = "engine"), allow(rustdoc::broken_intra_doc_links))]

#[cfg(feature = "engine")]
mod embed;
#[cfg(feature = "engine")]
mod generate;
#[cfg(feature = "engine")]
mod models;
#[cfg(feature = "engine")]
mod response;
pub mod tiny_gguf;

#[cfg(feature = "engine")]
pub use generate::{Job, FALLBACK_TEMPLATE};
#[cfg(feature = "engine")]
pub use models::{backend, Claim, Endpoint, EngineOptions, LocalModels, Route, DEFAULT_BASE_URL};
#[cfg(feature = "engine")]
pub use response::Piece;
