//! Serving the Responses API through a provider's chat wire, and chat through the Responses
//! API: the default bodies of [`Provider`]'s Responses methods, and the stream adapters.
//!
//! - `responses_over_chat.rs`: a Responses call to a provider without the endpoint
//!   ([`responses_as_chat`], [`chat_as_response`], chunks turned into events).
//! - `chat_over_responses.rs`: a chat call to a model only the Responses API serves
//!   ([`chat_as_responses`], [`response_as_chat`], [`chat_via_responses_decoder`]).

mod chat_over_responses;
mod responses_over_chat;

pub use self::chat_over_responses::{
    chat_as_responses, chat_via_responses_decoder, response_as_chat,
};
pub(crate) use self::responses_over_chat::{
    build_responses, parse_responses, responses_stream_decoder,
};
pub use self::responses_over_chat::{chat_as_response, responses_as_chat};
use super::{ChatStreamDecoder, Provider, ResponsesStreamDecoder};
