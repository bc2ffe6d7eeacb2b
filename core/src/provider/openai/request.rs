//! Building the chat-completions body: the caller's request with the provider's model name,
//! OneLLM's own fields removed and the profile's quirks applied.
//!
//! An assistant message's `server_tool_calls` (tools another provider ran itself, see
//! [`ServerToolCall`](crate::types::ServerToolCall)) are left out: no OpenAI-compatible
//! server runs them, and servers with strict schemas (Mistral) refuse unknown message
//! fields. The request is copied only when a message has them.

use crate::error::Error;
use crate::provider::profiles::{Profile, TokenField};
use crate::types::{ChatRequest, StreamOptions};

/// `modern` is false for servers that predate `stream_options` and `max_completion_tokens`
/// (old Azure API versions): neither is sent to them.
pub(super) fn chat_body(
    profile: &Profile,
    modern: bool,
    model: &str,
    request: &ChatRequest,
    stream: bool,
) -> Result<Vec<u8>, Error> {
    let without_server_tools;
    let request = if request
        .messages
        .iter()
        .any(|message| message.server_tool_calls.is_some())
    {
        let mut copy = request.clone();
        for message in &mut copy.messages {
            message.server_tool_calls = None;
        }
        without_server_tools = copy;
        &without_server_tools
    } else {
        request
    };
    let mut body = request.provider_view(model);
    body.stream = stream.then_some(true);
    if !stream || !modern {
        body.stream_options = None;
    } else if profile.stream_usage && body.stream_options.is_none() {
        body.stream_options = Some(StreamOptions {
            include_usage: Some(true),
            ..Default::default()
        });
    }
    match profile.token_field {
        TokenField::MaxCompletionTokens if modern => {
            body.max_completion_tokens = body.max_completion_tokens.or(body.max_tokens.take());
        }
        _ => {
            body.max_tokens = body.max_tokens.or(body.max_completion_tokens.take());
        }
    }
    crate::provider::to_json(&body)
}
