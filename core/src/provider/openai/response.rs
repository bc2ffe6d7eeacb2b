//! Parsing whole OpenAI-family responses.
//!
//! Markers (see [`crate::provider::shape`]): what proves a body is an OpenAI-family reply.
//! `object` and `id` are not required: many compatible hosts omit them.
//!
//! | reply | marker |
//! |---|---|
//! | chat completion, legacy completion | a `choices` array (may be empty only with an error envelope) |
//! | embeddings | a `data` array |
//! | stream event | a `choices` array (empty in a usage-only chunk), or an `error` object |

use http::HeaderMap;
use serde_json::Value;

use super::error::error_from_value;
use crate::error::Error;
use crate::provider::shape::{has_array, has_object, Marker};
use crate::types::{
    ChatCompletion, CompletionResponse, Content, ContentPart, Delta, EmbeddingResponse, Extra,
    Message,
};

/// Some compatible hosts (Groq, OpenRouter) name the reasoning text `reasoning`; it is moved
/// to the ecosystem's `reasoning_content` so callers read one field.
pub(super) fn normalize_reasoning(extra: &mut Extra, reasoning_content: &mut Option<String>) {
    if reasoning_content.is_none() {
        if let Some(Value::String(text)) = extra.get("reasoning") {
            *reasoning_content = Some(text.clone());
            extra.remove("reasoning");
        }
    }
}

pub(super) fn normalize_message(message: &mut Message) {
    normalize_reasoning(&mut message.extra, &mut message.reasoning_content);
    normalize_thinking_parts(message);
}

/// `content` as typed parts, split the way OneLLM reports it.
///
/// Mistral's reasoning models (Magistral, and others asked for `reasoning_effort`) send the
/// assistant's `content` as parts: `{"type":"thinking","thinking":[{"type":"text","text":…}]}`
/// and `{"type":"text","text":…}`, in whole responses and in every stream delta. The thinking
/// text is reasoning (`reasoning_content`), the text parts joined are the content, and any
/// other part (a `reference`, say) is kept, in order, in the extension field `content_parts`
/// so nothing is lost.
#[derive(Debug, Default, PartialEq)]
pub(super) struct SplitContent {
    pub(super) text: Option<String>,
    pub(super) thinking: Option<String>,
    pub(super) other: Vec<Value>,
}

pub(super) fn split_content_parts(parts: &[Value]) -> SplitContent {
    let mut split = SplitContent::default();
    for part in parts {
        match part.get("type").and_then(Value::as_str) {
            Some("text") if part.get("text").is_some_and(Value::is_string) => {
                let text = part.get("text").and_then(Value::as_str).unwrap_or_default();
                split.text.get_or_insert_with(String::new).push_str(text);
            }
            Some("thinking") => match part.get("thinking") {
                Some(Value::String(text)) => {
                    split
                        .thinking
                        .get_or_insert_with(String::new)
                        .push_str(text);
                }
                Some(Value::Array(inner)) => {
                    let thinking = split.thinking.get_or_insert_with(String::new);
                    for item in inner {
                        match item.get("text").and_then(Value::as_str) {
                            Some(text)
                                if item.get("type").and_then(Value::as_str) == Some("text") =>
                            {
                                thinking.push_str(text)
                            }
                            _ => split.other.push(item.clone()),
                        }
                    }
                }
                _ => split.other.push(part.clone()),
            },
            _ => split.other.push(part.clone()),
        }
    }
    split
}

/// Applies [`split_content_parts`] to a whole message whose parts include thinking; parts
/// from other hosts (no thinking part) are left as they are.
fn normalize_thinking_parts(message: &mut Message) {
    let Some(Content::Parts(parts)) = &message.content else {
        return;
    };
    let is_thinking = |part: &ContentPart| {
        matches!(part, ContentPart::Other(value)
            if value.get("type").and_then(Value::as_str) == Some("thinking"))
    };
    if !parts.iter().any(is_thinking) {
        return;
    }
    let Ok(values) = parts
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<Value>, _>>()
    else {
        return;
    };
    let split = split_content_parts(&values);
    message.content = split.text.map(Content::Text);
    if let Some(thinking) = split.thinking {
        message
            .reasoning_content
            .get_or_insert_with(String::new)
            .push_str(&thinking);
    }
    if !split.other.is_empty() {
        message
            .extra
            .insert("content_parts".to_owned(), Value::Array(split.other));
    }
}

pub(super) fn normalize_delta(delta: &mut Delta) {
    normalize_reasoning(&mut delta.extra, &mut delta.reasoning_content);
}

/// A 2xx body can still be an error envelope (`{"error": {...}}`): some gateways do that.
pub(super) fn envelope_error(extra: &Extra, body: &[u8]) -> Option<Error> {
    let error = extra.get("error")?;
    if error.is_null() {
        return None;
    }
    let value = serde_json::json!({ "error": error });
    Some(error_from_value(None, &HeaderMap::new(), &value, body))
}

/// The marker of a chat completion.
pub(super) static CHAT: Marker =
    Marker::new("OpenAI", "chat completion", "`choices` array", |reply| {
        has_array(reply, "choices")
    });

/// The marker of a legacy completion.
static COMPLETION: Marker = Marker::new("OpenAI", "completion", "`choices` array", |reply| {
    has_array(reply, "choices")
});

/// The marker of an embeddings reply.
static EMBEDDINGS: Marker = Marker::new("OpenAI", "embeddings reply", "`data` array", |reply| {
    has_array(reply, "data")
});

/// The marker of a stream event's JSON.
pub(super) static STREAM_EVENT: Marker = Marker::new(
    "OpenAI",
    "stream event",
    "`choices` array or `error` object",
    |event| has_array(event, "choices") || has_object(event, "error"),
);

pub(super) fn parse_chat(body: &[u8]) -> Result<ChatCompletion, Error> {
    let mut completion: ChatCompletion = crate::provider::from_json(body)
        .map_err(|e| CHAT.explain(body, Error::body_json("chat completion", e, body)))?;
    if completion.choices.is_empty() {
        if let Some(error) = envelope_error(&completion.extra, body) {
            return Err(error);
        }
        let error = Error::decode("chat completion", "no choices", body);
        return Err(CHAT.explain(body, error));
    }
    for choice in &mut completion.choices {
        normalize_message(&mut choice.message);
    }
    Ok(completion)
}

pub(super) fn parse_embeddings(body: &[u8]) -> Result<EmbeddingResponse, Error> {
    let value: Value = crate::provider::from_json(body)
        .map_err(|e| EMBEDDINGS.explain(body, Error::body_json("embeddings", e, body)))?;
    if value.get("data").is_none() {
        if let Some(Value::Object(map)) = Some(&value) {
            if let Some(error) = envelope_error(map, body) {
                return Err(error);
            }
        }
    }
    EMBEDDINGS.check(&value, body)?;
    serde_json::from_value(value).map_err(|e| Error::decode("embeddings", e, body))
}

pub(super) fn parse_completions(body: &[u8]) -> Result<CompletionResponse, Error> {
    let completion: CompletionResponse = crate::provider::from_json(body)
        .map_err(|e| COMPLETION.explain(body, Error::body_json("completion", e, body)))?;
    if completion.choices.is_empty() {
        if let Some(error) = envelope_error(&completion.extra, body) {
            return Err(error);
        }
        let error = Error::decode("completion", "no choices", body);
        return Err(COMPLETION.explain(body, error));
    }
    Ok(completion)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mistral_thinking_parts_become_reasoning() {
        // The shape of a recorded magistral-medium reply (pydantic-ai cassette), shortened.
        let body = json!({
            "id": "c", "object": "chat.completion", "created": 1, "model": "magistral-medium-latest",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
                "tool_calls": null, "content": [
                    {"type": "thinking", "thinking": [{"type": "text", "text": "**Crossing** a river"}]},
                    {"type": "text", "text": "Find a "},
                    {"type": "reference", "reference_ids": [1]},
                    {"type": "text", "text": "bridge."}]}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
        });
        let completion = parse_chat(body.to_string().as_bytes()).unwrap();
        let message = completion.message().unwrap();
        assert_eq!(
            message.content,
            Some(Content::Text("Find a bridge.".into()))
        );
        assert_eq!(
            message.reasoning_content.as_deref(),
            Some("**Crossing** a river")
        );
        assert_eq!(
            message.extra["content_parts"],
            json!([{"type": "reference", "reference_ids": [1]}])
        );
    }

    #[test]
    fn other_content_parts_are_left_alone() {
        let body = json!({"choices": [{"message": {"role": "assistant",
            "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}}]});
        let completion = parse_chat(body.to_string().as_bytes()).unwrap();
        assert!(matches!(
            completion.message().unwrap().content,
            Some(Content::Parts(ref parts)) if parts.len() == 2
        ));
    }
}
