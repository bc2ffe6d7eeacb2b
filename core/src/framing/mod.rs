//! Incremental byte decoders for the wire framings providers stream in.

mod error;
mod sse;

pub use error::FramingError;
pub use sse::{SseDecoder, SseEvent, SseLimits};
