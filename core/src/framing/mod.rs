//! Incremental byte decoders for the wire framings providers stream in.

mod error;
mod ndjson;
mod sse;

pub use error::FramingError;
pub use ndjson::{NdjsonDecoder, DEFAULT_MAX_LINE_BYTES};
pub use sse::{SseDecoder, SseEvent, SseLimits};
