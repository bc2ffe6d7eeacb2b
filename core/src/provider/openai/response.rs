//! Parsing whole OpenAI-family responses.

use http::HeaderMap;
use serde_json::Value;

use super::error::error_from_value;
use crate::error::Error;
use crate::types::{ChatCompletion, CompletionResponse, Delta, EmbeddingResponse, Extra, Message};

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
}

pub(super) fn normalize_delta(delta: &mut Delta) {
    normalize_reasoning(&mut delta.extra, &mut delta.reasoning_content);
}

/// A 2xx body can still be an error envelope (`{"error": {...}}`): some gateways do that.
fn envelope_error(extra: &Extra, body: &[u8]) -> Option<Error> {
    let error = extra.get("error")?;
    if error.is_null() {
        return None;
    }
    let value = serde_json::json!({ "error": error });
    Some(error_from_value(None, &HeaderMap::new(), &value, body))
}

pub(super) fn parse_chat(body: &[u8]) -> Result<ChatCompletion, Error> {
    let mut completion: ChatCompletion =
        serde_json::from_slice(body).map_err(|e| Error::decode("chat completion", e, body))?;
    if completion.choices.is_empty() {
        if let Some(error) = envelope_error(&completion.extra, body) {
            return Err(error);
        }
        return Err(Error::decode("chat completion", "no choices", body));
    }
    for choice in &mut completion.choices {
        normalize_message(&mut choice.message);
    }
    Ok(completion)
}

pub(super) fn parse_embeddings(body: &[u8]) -> Result<EmbeddingResponse, Error> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| Error::decode("embeddings", e, body))?;
    if value.get("data").is_none() {
        if let Some(Value::Object(map)) = Some(&value) {
            if let Some(error) = envelope_error(map, body) {
                return Err(error);
            }
        }
    }
    serde_json::from_value(value).map_err(|e| Error::decode("embeddings", e, body))
}

pub(super) fn parse_completions(body: &[u8]) -> Result<CompletionResponse, Error> {
    let completion: CompletionResponse =
        serde_json::from_slice(body).map_err(|e| Error::decode("completion", e, body))?;
    if completion.choices.is_empty() {
        if let Some(error) = envelope_error(&completion.extra, body) {
            return Err(error);
        }
        return Err(Error::decode("completion", "no choices", body));
    }
    Ok(completion)
}
