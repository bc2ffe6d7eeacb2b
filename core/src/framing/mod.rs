//! Incremental byte decoders for the wire framings providers stream in.

mod error;
mod eventstream;
mod sse;

pub use error::FramingError;
pub use eventstream::{
    encode_event_stream_message, EventHeaderValue, EventStreamDecoder, EventStreamLimits,
    EventStreamMessage,
};
pub use sse::{SseDecoder, SseEvent, SseLimits};
