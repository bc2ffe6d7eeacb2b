//! Parsing Cohere v2 chat and embed responses into OpenAI's shape.
//!
//! Rules (the stream decoder follows the same ones, so both paths give the same completion):
//! - `text` content parts are concatenated into `content` (`null` when there is none);
//!   `thinking` parts (reasoning models) into `reasoning_content`.
//! - `tool_plan` (the model's plan before calling tools) is reasoning too: it is appended to
//!   `reasoning_content`, and the request builder sends it back as `tool_plan` next turn.
//! - `tool_calls` are OpenAI's shape already; ids are kept.
//! - `citations` (retrieval-augmented answers) have no OpenAI equivalent and are skipped, like
//!   content parts of other types.
//! - Finish reasons: `COMPLETE` and `STOP_SEQUENCE` → `stop`, `MAX_TOKENS` → `length`,
//!   `TOOL_CALL` → `tool_calls`; `ERROR` and `TIMEOUT` mean the generation failed and are a
//!   typed error (see [`super::error::in_stream_error`]); others are kept lower-cased.
//! - Usage: `tokens` (what the model processed, Cohere's own preamble included) when present,
//!   else `billed_units`; `cached_tokens` → `prompt_tokens_details.cached_tokens`.
//! - `model` is empty (Cohere does not repeat it) and `created` is 0 (no clock in the core).
//! - Embeddings: `embeddings.float` in order; usage from `meta.billed_units.input_tokens`.
//!
//! Markers (see [`crate::provider::shape`]): what proves a body is a Cohere v2 reply.
//!
//! | reply | marker |
//! |---|---|
//! | chat | a `message` object and a `finish_reason` string (Ollama's replies have `message` too) |
//! | embed | an `embeddings` object |
//! | stream event | `type` naming one of the v2 chat stream's events (`message-start`, …) |

use serde::Deserialize;
use serde_json::Value;

use super::error::in_stream_error;
use crate::error::Error;
use crate::provider::shape::{has_object, has_string, has_type_among, Marker};
use crate::types::{
    ChatCompletion, Choice, Content, Embedding, EmbeddingResponse, EmbeddingUsage, EmbeddingVector,
    Extra, FinishReason, Message, PromptTokensDetails, Role, ToolCall, Usage,
};

/// Cohere's usage object.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct CohereUsage {
    #[serde(default)]
    billed_units: Option<Tokens>,
    #[serde(default)]
    tokens: Option<Tokens>,
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Tokens {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

impl CohereUsage {
    /// OpenAI's usage, or `None` when Cohere reported no counts (`"usage": {}`).
    pub(super) fn to_usage(&self) -> Option<Usage> {
        let counts = self
            .tokens
            .as_ref()
            .filter(|t| t.input_tokens.is_some() || t.output_tokens.is_some())
            .or(self.billed_units.as_ref())?;
        let mut usage = Usage::new(
            counts.input_tokens.unwrap_or(0),
            counts.output_tokens.unwrap_or(0),
        );
        if let Some(cached) = self.cached_tokens {
            usage.prompt_tokens_details = Some(PromptTokensDetails {
                cached_tokens: Some(cached),
                ..PromptTokensDetails::default()
            });
        }
        Some(usage)
    }
}

/// What a `finish_reason` means: a finish reason, or (for `ERROR`/`TIMEOUT`) a failure.
pub(super) fn finish_reason(reason: &str) -> Option<FinishReason> {
    Some(match reason {
        "COMPLETE" | "STOP_SEQUENCE" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "TOOL_CALL" => FinishReason::ToolCalls,
        "ERROR" | "TIMEOUT" => return None,
        other => FinishReason::Other(other.to_ascii_lowercase()),
    })
}

/// The marker of a chat reply.
static CHAT: Marker = Marker::new(
    "Cohere",
    "v2 chat reply",
    "`message` object and `finish_reason`",
    |reply| has_object(reply, "message") && has_string(reply, "finish_reason"),
);

/// The marker of an embed reply.
static EMBED: Marker = Marker::new("Cohere", "embed reply", "`embeddings` object", |reply| {
    has_object(reply, "embeddings")
});

/// The marker of a stream event's data.
pub(super) static STREAM_EVENT: Marker = Marker::new(
    "Cohere",
    "v2 chat stream event",
    "`type` of a v2 chat stream event",
    |event| {
        has_type_among(
            event,
            &[
                "message-start",
                "content-start",
                "content-delta",
                "content-end",
                "tool-plan-delta",
                "tool-call-start",
                "tool-call-delta",
                "tool-call-end",
                "citation-start",
                "citation-end",
                "message-end",
                "debug",
            ],
        )
    },
);

#[derive(Debug, Deserialize)]
struct ChatBody {
    #[serde(default)]
    id: String,
    #[serde(default)]
    message: Option<ReplyMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    usage: Option<CohereUsage>,
}

#[derive(Debug, Default, Deserialize)]
struct ReplyMessage {
    #[serde(default)]
    content: Vec<Value>,
    #[serde(default)]
    tool_plan: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCall>>,
}

/// A content part's (`text`, `thinking`) by its type; skipped types give neither. Stream
/// deltas carry no type, only the field (`{"text": …}` or `{"thinking": …}`).
pub(super) fn part_text(part: &Value) -> (Option<&str>, Option<&str>) {
    let field = |name: &str| part.get(name).and_then(Value::as_str);
    match part.get("type").and_then(Value::as_str) {
        Some("text") => (field("text"), None),
        Some("thinking") => (None, field("thinking")),
        None => (field("text"), field("thinking")),
        Some(_) => (None, None),
    }
}

/// Parses a 2xx v2 chat body.
pub(super) fn parse_chat(body: &[u8]) -> Result<ChatCompletion, Error> {
    let reply: ChatBody = crate::provider::from_json(body)
        .map_err(|e| CHAT.explain(body, Error::body_json("chat response", e, body)))?;
    let Some(message) = reply.message.filter(|_| reply.finish_reason.is_some()) else {
        let error = Error::decode("chat response", "no message or finish_reason", body);
        return Err(CHAT.explain(body, error));
    };
    let finish_reason = match reply.finish_reason.as_deref() {
        Some(reason) => match finish_reason(reason) {
            Some(finish) => Some(finish),
            None => {
                let value: Value = serde_json::from_slice(body).unwrap_or_default();
                let text = |name: &str| value.get(name).and_then(Value::as_str);
                return Err(in_stream_error(
                    reason,
                    text("error_type"),
                    text("error"),
                    body,
                ));
            }
        },
        None => None,
    };
    let mut text: Option<String> = None;
    let mut reasoning = String::new();
    for part in &message.content {
        let (piece, thinking) = part_text(part);
        if let Some(piece) = piece {
            text.get_or_insert_with(String::new).push_str(piece);
        }
        reasoning.push_str(thinking.unwrap_or_default());
    }
    reasoning.push_str(message.tool_plan.as_deref().unwrap_or_default());
    Ok(ChatCompletion {
        id: reply.id,
        object: "chat.completion".to_owned(),
        created: 0,
        model: String::new(),
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: Role::Assistant,
                content: text.map(Content::Text),
                name: None,
                tool_calls: message.tool_calls.filter(|calls| !calls.is_empty()),
                tool_call_id: None,
                reasoning_content: (!reasoning.is_empty()).then_some(reasoning),
                refusal: None,
                server_tool_calls: None,
                extra: Extra::new(),
            },
            finish_reason,
            logprobs: None,
            extra: Extra::new(),
        }],
        usage: reply.usage.as_ref().and_then(CohereUsage::to_usage),
        system_fingerprint: None,
        service_tier: None,
        extra: Extra::new(),
        report: Default::default(),
    })
}

#[derive(Debug, Deserialize)]
struct EmbedBody {
    #[serde(default)]
    embeddings: Option<EmbeddingsByType>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[derive(Debug, Default, Deserialize)]
struct EmbeddingsByType {
    #[serde(default)]
    float: Option<Vec<Vec<f32>>>,
}

#[derive(Debug, Deserialize)]
struct Meta {
    #[serde(default)]
    billed_units: Option<Tokens>,
}

/// Parses a 2xx v2 embed body.
pub(super) fn parse_embeddings(body: &[u8]) -> Result<EmbeddingResponse, Error> {
    let reply: EmbedBody = crate::provider::from_json(body)
        .map_err(|e| EMBED.explain(body, Error::body_json("embed response", e, body)))?;
    let Some(embeddings) = reply.embeddings else {
        let error = Error::decode("embed response", "no embeddings", body);
        return Err(EMBED.explain(body, error));
    };
    let vectors = embeddings
        .float
        .ok_or_else(|| Error::decode("embed response", "no embeddings.float", body))?;
    let data = vectors
        .into_iter()
        .enumerate()
        .map(|(index, vector)| Embedding {
            object: "embedding".to_owned(),
            index: u32::try_from(index).unwrap_or(u32::MAX),
            embedding: EmbeddingVector::Float(vector),
        })
        .collect();
    let tokens = reply
        .meta
        .and_then(|meta| meta.billed_units)
        .and_then(|units| units.input_tokens);
    Ok(EmbeddingResponse {
        object: "list".to_owned(),
        data,
        model: String::new(),
        usage: tokens.map(|tokens| EmbeddingUsage {
            prompt_tokens: tokens,
            total_tokens: tokens,
        }),
        extra: Extra::new(),
        report: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// langchain-cohere cassette `test_command_a_reasoning_with_tool_call` (shortened thinking).
    #[test]
    fn thinking_tool_calls_and_cached_usage() {
        let body = br#"{"id":"1cd28534","message":{"role":"assistant","content":[{"type":"thinking","thinking":"Japan, so Osaka."}],"tool_calls":[{"id":"get_the_weather_r8d0r2e0kw9s","type":"function","function":{"name":"get_the_weather","arguments":"{\"location\":\"Osaka\"}"}}]},"finish_reason":"TOOL_CALL","usage":{"billed_units":{"input_tokens":80,"output_tokens":301},"tokens":{"input_tokens":1494,"output_tokens":330},"cached_tokens":1008}}"#;
        let completion = parse_chat(body).unwrap();
        let choice = &completion.choices[0];
        assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(choice.message.content, None);
        assert_eq!(
            choice.message.reasoning_content.as_deref(),
            Some("Japan, so Osaka.")
        );
        let call = &choice.message.tool_calls.as_ref().unwrap()[0];
        assert_eq!(call.id, "get_the_weather_r8d0r2e0kw9s");
        assert_eq!(call.function.arguments, r#"{"location":"Osaka"}"#);
        let usage = completion.usage.unwrap();
        assert_eq!((usage.prompt_tokens, usage.completion_tokens), (1494, 330));
        assert_eq!(usage.cached_tokens(), 1008);
    }

    #[test]
    fn text_tool_plan_citations_and_finish_reasons() {
        let body = br#"{"id":"5ed8","message":{"role":"assistant","content":[{"type":"text","text":"The sky is green."}],"tool_plan":"Plan.","citations":[{"start":11,"end":17,"text":"green."}]},"finish_reason":"MAX_TOKENS","usage":{"billed_units":{"input_tokens":13,"output_tokens":5}}}"#;
        let completion = parse_chat(body).unwrap();
        assert_eq!(completion.text(), "The sky is green.");
        assert_eq!(
            completion.choices[0].message.reasoning_content.as_deref(),
            Some("Plan.")
        );
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::Length)
        );
        assert_eq!(completion.usage.unwrap().total_tokens, 18);
        assert_eq!(finish_reason("STOP_SEQUENCE"), Some(FinishReason::Stop));
        assert_eq!(
            finish_reason("NEW_ONE"),
            Some(FinishReason::Other("new_one".into()))
        );

        let failed =
            parse_chat(br#"{"id":"x","message":{},"finish_reason":"ERROR","error":"boom"}"#)
                .unwrap_err();
        assert_eq!(failed.kind(), ErrorKind::ServiceUnavailable);
        assert_eq!(
            parse_chat(b"[1]").unwrap_err().kind(),
            ErrorKind::UnexpectedResponse
        );
        let malformed = br#"{"message":{"content":5},"finish_reason":"COMPLETE"}"#;
        assert_eq!(parse_chat(malformed).unwrap_err().kind(), ErrorKind::Decode);
    }

    /// The shape of Cohere's v2 embed reference example.
    #[test]
    fn embeddings_by_type() {
        let body = br#"{"id":"da6e531f","embeddings":{"float":[[0.016296387,-0.008354187],[0.5,0.25]]},"texts":["hello","goodbye"],"meta":{"api_version":{"version":"2"},"billed_units":{"input_tokens":2}},"response_type":"embeddings_by_type"}"#;
        let parsed = parse_embeddings(body).unwrap();
        assert_eq!(parsed.data.len(), 2);
        assert_eq!(parsed.data[1].index, 1);
        assert_eq!(
            parsed.data[0].embedding,
            EmbeddingVector::Float(vec![0.016296387, -0.008354187])
        );
        assert_eq!(parsed.usage.unwrap().prompt_tokens, 2);
        assert_eq!(
            parse_embeddings(br#"{"embeddings":{}}"#)
                .unwrap_err()
                .kind(),
            ErrorKind::Decode
        );
    }
}
