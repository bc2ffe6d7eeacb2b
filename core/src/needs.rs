//! What a chat request needs of whoever serves it — streaming, tools, JSON output, reasoning,
//! image input — worked out once, so the provider check ([`Capabilities`]) and the model
//! check (the [catalog](crate::catalog)'s `supports_*` flags) read the same facts.
//!
//! [`Capabilities`]: crate::provider::Capabilities

use crate::types::{ChatRequest, Content, ContentPart, ResponseFormat};

/// The features one chat request uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    pub streaming: bool,
    /// Function tools.
    pub tools: bool,
    /// `response_format` of `json_object` or `json_schema`.
    pub json_mode: bool,
    /// `response_format` of `json_schema` (structured output).
    pub json_schema: bool,
    /// `reasoning_effort`.
    pub reasoning: bool,
    /// An image among the messages' content parts.
    pub vision: bool,
}

impl Needs {
    /// What `request` needs (`stream`: whether it is sent as a stream).
    pub(crate) fn of(request: &ChatRequest, stream: bool) -> Needs {
        let format = request.response_format.as_ref();
        Needs {
            streaming: stream,
            tools: request
                .tools
                .as_ref()
                .is_some_and(|tools| !tools.is_empty()),
            json_mode: format.is_some_and(|format| !matches!(format, ResponseFormat::Text)),
            json_schema: matches!(format, Some(ResponseFormat::JsonSchema { .. })),
            reasoning: request.reasoning_effort.is_some(),
            vision: request.messages.iter().any(|message| {
                matches!(&message.content, Some(Content::Parts(parts))
                    if parts.iter().any(|part| matches!(part, ContentPart::ImageUrl { .. })))
            }),
        }
    }
}
