//! Incremental byte decoders for the wire framings providers stream in.

mod error;
mod eventstream;
mod ndjson;
mod sse;

pub use error::FramingError;
pub use eventstream::{
    encode_event_stream_message, EventHeaderValue, EventStreamDecoder, EventStreamLimits,
    EventStreamMessage,
};
pub use ndjson::{NdjsonDecoder, DEFAULT_MAX_LINE_BYTES};
pub use sse::{SseDecoder, SseEvent, SseLimits};
