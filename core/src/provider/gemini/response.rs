//! Reading a `GenerateContentResponse` (whole, or one streamed chunk of it).
//!
//! Rules (the stream decoder applies the same ones per chunk, so both paths give the same
//! completion):
//! - Each candidate is a choice, its `index` (or its position) the choice index.
//! - Parts: `text` parts are concatenated into `content` (`null` when there is no non-empty
//!   text); `thought: true` text parts into `reasoning_content`; `functionCall` parts become
//!   `tool_calls` with `args` as the arguments' JSON text (`{}` when absent).
//! - Tool call ids: Gemini's own `functionCall.id` when it sends one, else a stable id made
//!   from the response id, the candidate and the call's ordinal in that candidate:
//!   `call_gemini_{responseId}_{candidate}_{n}` ([`synthetic_call_id`]). Such ids are never
//!   sent back to Gemini; the request side finds a tool result's function name from them.
//! - A part's `thoughtSignature` is kept so it can go back on the next turn: on a
//!   `functionCall` part in the tool call's `thought_signature` field; on any other part
//!   appended to the message's `thought_signatures` array (Gemini puts it on the last part of
//!   a reply without calls).
//! - Code execution (Gemini runs it itself) follows the one rule for server-side tools (see
//!   [`ServerToolCall`]): each `executableCode` part (`{language, code}`, verbatim) is the
//!   `input` of a `code_execution` entry in the message's `server_tool_calls`, and the
//!   `codeExecutionResult` part that follows (`{outcome, output}`, verbatim) its `output`:
//!   a result is joined to the latest call still without one (the part's `id`, which
//!   Gemini 3 sends, becomes the entry's). The `thoughtSignature` of an `executableCode`
//!   part is kept in the entry's `thought_signature`, so it goes back on that part.
//! - Other parts (generated `inlineData`, `fileData`) are skipped: they have no OpenAI
//!   equivalent. `groundingMetadata`, `safetyRatings`, `citationMetadata` are not translated.
//! - Finish reasons: `STOP` → `stop` (`tool_calls` when the candidate called a function),
//!   `MAX_TOKENS` → `length`, the safety family (`SAFETY`, `RECITATION`, `BLOCKLIST`,
//!   `PROHIBITED_CONTENT`, `SPII`, `IMAGE_SAFETY`) → `content_filter`; others are kept
//!   verbatim as `Other`.
//! - A response without candidates whose `promptFeedback.blockReason` is set means the prompt
//!   itself was refused: a `ContentFilter` error naming the reason.
//! - `usageMetadata`: `prompt_tokens` = `promptTokenCount` + `toolUsePromptTokenCount`;
//!   `completion_tokens` = `candidatesTokenCount` + `thoughtsTokenCount` (OpenAI counts
//!   reasoning inside completion tokens), with the thoughts also in
//!   `completion_tokens_details.reasoning_tokens`; `cachedContentTokenCount` goes to
//!   `prompt_tokens_details.cached_tokens`; `total_tokens` = `totalTokenCount`.
//! - A 2xx body that is a Google error object is that error. `created` is 0 (no clock).
//! - `functionCall` parts with `partialArgs` (Vertex AI's opt-in streamed arguments, never
//!   requested by this adapter) are a `Decode` error that says so.
//!
//! Markers (see [`crate::provider::shape`]): what proves a body is a Gemini reply.
//!
//! | reply | marker |
//! |---|---|
//! | `generateContent` | a `candidates` array or a `promptFeedback` object |
//! | stream event | the same, or a Google `error` object |
//! | `batchEmbedContents` | an `embeddings` array of objects (Ollama's holds vectors) |

use http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::error::{error_from_value, is_error_value};
use crate::error::{Error, ErrorKind};
use crate::provider::server_tools::ServerToolCalls;
use crate::provider::shape::{has_array, has_object, Marker};
use crate::types::{
    ChatCompletion, Choice, CompletionTokensDetails, Content, Extra, FinishReason, Message,
    PromptTokensDetails, Role, ServerToolCall, ToolCall, Usage,
};

/// The message field holding the signatures of a reply's non-call parts.
pub(super) const THOUGHT_SIGNATURES: &str = "thought_signatures";
/// The tool-call field holding the signature of its `functionCall` part.
pub(super) const THOUGHT_SIGNATURE: &str = "thought_signature";
/// The `server_tool_calls` name of Gemini's code execution.
pub(super) const CODE_EXECUTION: &str = "code_execution";
/// How every id this adapter makes up for a function call starts.
pub(super) const SYNTHETIC_ID_PREFIX: &str = "call_gemini_";

/// The id of the `n`th call of candidate `candidate` in response `response_id`, for a
/// `functionCall` that came without an id.
pub(super) fn synthetic_call_id(response_id: &str, candidate: u32, n: usize) -> String {
    if response_id.is_empty() {
        format!("{SYNTHETIC_ID_PREFIX}{candidate}_{n}")
    } else {
        format!("{SYNTHETIC_ID_PREFIX}{response_id}_{candidate}_{n}")
    }
}

/// The marker of a whole `generateContent` reply.
static GENERATE: Marker = Marker::new(
    "Gemini",
    "generateContent reply",
    "`candidates` array or `promptFeedback` object",
    |reply| has_array(reply, "candidates") || has_object(reply, "promptFeedback"),
);

/// The marker of a stream event's data.
pub(super) static STREAM_EVENT: Marker = Marker::new(
    "Gemini",
    "stream event",
    "`candidates` array, `promptFeedback` object or `error` object",
    |event| GENERATE.is_carried_by_map(event) || has_object(event, "error"),
);

/// A response body or stream chunk, the fields this adapter reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GenerateResponse {
    #[serde(default)]
    pub(super) candidates: Vec<Value>,
    #[serde(default)]
    pub(super) prompt_feedback: Option<Value>,
    #[serde(default)]
    pub(super) usage_metadata: Option<UsageMetadata>,
    #[serde(default)]
    pub(super) model_version: Option<String>,
    #[serde(default)]
    pub(super) response_id: Option<String>,
}

impl GenerateResponse {
    /// Reads a body or chunk; a Google error object is the error it describes. With a
    /// `marker` (whole replies), anything else without it is not Gemini's reply; stream
    /// events are checked by the stream, first event only.
    pub(super) fn from_slice(
        what: &str,
        body: &[u8],
        marker: Option<&Marker>,
    ) -> Result<GenerateResponse, Error> {
        let value: Value = crate::provider::from_json(body).map_err(|e| {
            let error = Error::body_json(what, e, body);
            match marker {
                Some(marker) => marker.explain(body, error),
                None => error,
            }
        })?;
        if is_error_value(&value) {
            return Err(error_from_value(None, &HeaderMap::new(), &value, body));
        }
        if let Some(marker) = marker {
            marker.check(&value, body)?;
        }
        let response: GenerateResponse =
            serde_json::from_value(value).map_err(|e| Error::decode(what, e, body))?;
        if response.candidates.is_empty() {
            if let Some(reason) = response
                .prompt_feedback
                .as_ref()
                .and_then(|feedback| feedback.get("blockReason"))
                .and_then(Value::as_str)
            {
                return Err(Error::new(
                    ErrorKind::ContentFilter,
                    format!("gemini blocked the prompt: {reason}"),
                ));
            }
        }
        Ok(response)
    }
}

/// Gemini's token counts.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: Option<u64>,
    #[serde(default)]
    candidates_token_count: Option<u64>,
    #[serde(default)]
    thoughts_token_count: Option<u64>,
    #[serde(default)]
    tool_use_prompt_token_count: Option<u64>,
    #[serde(default)]
    cached_content_token_count: Option<u64>,
    #[serde(default)]
    total_token_count: Option<u64>,
}

impl UsageMetadata {
    /// OpenAI's shape (see the module rules).
    pub(super) fn to_usage(&self) -> Usage {
        let prompt = self
            .prompt_token_count
            .unwrap_or(0)
            .saturating_add(self.tool_use_prompt_token_count.unwrap_or(0));
        let completion = self
            .candidates_token_count
            .unwrap_or(0)
            .saturating_add(self.thoughts_token_count.unwrap_or(0));
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: self
                .total_token_count
                .unwrap_or_else(|| prompt.saturating_add(completion)),
            prompt_tokens_details: self.cached_content_token_count.map(|cached| {
                PromptTokensDetails {
                    cached_tokens: Some(cached),
                    ..PromptTokensDetails::default()
                }
            }),
            completion_tokens_details: self.thoughts_token_count.map(|thoughts| {
                CompletionTokensDetails {
                    reasoning_tokens: Some(thoughts),
                    ..CompletionTokensDetails::default()
                }
            }),
            extra: Extra::new(),
        }
    }
}

/// OpenAI's finish reason for Gemini's `finishReason`.
pub(super) fn finish_reason(reason: &str, called_tools: bool) -> FinishReason {
    match reason {
        "STOP" if called_tools => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        other => FinishReason::Other(other.to_owned()),
    }
}

/// What one candidate (or one streamed piece of it) says. Its code execution goes into the
/// [`ServerToolCalls`] the caller keeps for the candidate (across a stream's chunks).
#[derive(Debug, Default)]
pub(super) struct CandidateParts {
    pub(super) index: u32,
    pub(super) text: Option<String>,
    pub(super) reasoning: Option<String>,
    pub(super) calls: Vec<ToolCall>,
    /// Signatures of non-call parts, in order.
    pub(super) signatures: Vec<Value>,
    pub(super) finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct FunctionCallPart {
    name: String,
    #[serde(default)]
    args: Option<Value>,
    #[serde(default)]
    id: Option<String>,
}

/// A candidate's choice index: its `index`, else its position in `candidates`.
pub(super) fn candidate_index(candidate: &Value, position: usize) -> Result<u32, Error> {
    let index = match candidate.get("index") {
        None | Some(Value::Null) => u32::try_from(position).ok(),
        Some(index) => index.as_u64().and_then(|index| u32::try_from(index).ok()),
    };
    index.ok_or_else(|| {
        Error::decode(
            "candidate",
            "index is not a small number",
            candidate.to_string().as_bytes(),
        )
    })
}

/// Reads a candidate. `position` is its place in `candidates` (the index when it has none);
/// `calls_before` is how many calls this candidate made in earlier chunks of a stream, so
/// synthetic ids continue their count; `server` collects its code execution.
pub(super) fn read_candidate(
    candidate: &Value,
    position: usize,
    response_id: &str,
    calls_before: usize,
    server: &mut ServerToolCalls,
) -> Result<CandidateParts, Error> {
    let bad = |cause: &str| Error::decode("candidate", cause, candidate.to_string().as_bytes());
    let index = candidate_index(candidate, position)?;
    let mut out = CandidateParts {
        index,
        finish_reason: candidate
            .get("finishReason")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..CandidateParts::default()
    };
    let parts = match candidate.pointer("/content/parts") {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Array(parts)) => parts,
        Some(_) => return Err(bad("content.parts is not an array")),
    };
    for part in parts {
        let Some(object) = part.as_object() else {
            return Err(bad("a part is not an object"));
        };
        let signature = match object.get("thoughtSignature") {
            None | Some(Value::Null) => None,
            Some(Value::String(signature)) => Some(signature.clone()),
            Some(_) => return Err(bad("thoughtSignature is not a string")),
        };
        if let Some(call) = object.get("functionCall") {
            if call.get("partialArgs").is_some() {
                // Vertex AI's opt-in `streamFunctionCallArguments`, which this adapter never
                // asks for.
                return Err(Error::decode(
                    "functionCall part",
                    "streamed arguments (partialArgs) are not supported",
                    part.to_string().as_bytes(),
                ));
            }
            let call: FunctionCallPart = serde_json::from_value(call.clone())
                .map_err(|e| Error::decode("functionCall part", e, part.to_string().as_bytes()))?;
            let n = calls_before + out.calls.len();
            let id = call
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| synthetic_call_id(response_id, index, n));
            let arguments = match call.args {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(args) => args.to_string(),
            };
            let mut tool_call = ToolCall::function(id, call.name, arguments);
            if let Some(signature) = signature {
                tool_call
                    .extra
                    .insert(THOUGHT_SIGNATURE.to_owned(), Value::String(signature));
            }
            out.calls.push(tool_call);
            continue;
        }
        if let Some(code) = object.get("executableCode") {
            if !code.is_object() {
                return Err(bad("executableCode is not an object"));
            }
            let id = code.get("id").and_then(Value::as_str).map(str::to_owned);
            let mut entry = ServerToolCall::new(id, CODE_EXECUTION, Some(code.clone()));
            if let Some(signature) = signature {
                entry
                    .extra
                    .insert(THOUGHT_SIGNATURE.to_owned(), Value::String(signature));
            }
            server.call(entry, part.to_string().as_bytes())?;
            continue;
        }
        if let Some(result) = object.get("codeExecutionResult") {
            if !result.is_object() {
                return Err(bad("codeExecutionResult is not an object"));
            }
            let id = result.get("id").and_then(Value::as_str).map(str::to_owned);
            server.result_in_order(
                id,
                CODE_EXECUTION,
                result.clone(),
                part.to_string().as_bytes(),
            )?;
        }
        if let Some(signature) = signature {
            out.signatures.push(Value::String(signature));
        }
        let text = match object.get("text") {
            None | Some(Value::Null) => continue,
            Some(Value::String(text)) => text,
            Some(_) => return Err(bad("text is not a string")),
        };
        if text.is_empty() {
            continue;
        }
        let thought = object.get("thought").and_then(Value::as_bool) == Some(true);
        let slot = if thought {
            &mut out.reasoning
        } else {
            &mut out.text
        };
        slot.get_or_insert_with(String::new).push_str(text);
    }
    Ok(out)
}

/// Parses a 2xx `generateContent` body.
pub(super) fn parse_chat(body: &[u8]) -> Result<ChatCompletion, Error> {
    let response = GenerateResponse::from_slice("generateContent response", body, Some(&GENERATE))?;
    let response_id = response.response_id.clone().unwrap_or_default();
    let mut choices = Vec::with_capacity(response.candidates.len());
    for (position, candidate) in response.candidates.iter().enumerate() {
        let mut server = ServerToolCalls::default();
        let parts = read_candidate(candidate, position, &response_id, 0, &mut server)?;
        let server_tool_calls = server.take_all();
        let mut extra = Extra::new();
        if !parts.signatures.is_empty() {
            extra.insert(
                THOUGHT_SIGNATURES.to_owned(),
                Value::Array(parts.signatures),
            );
        }
        let called = !parts.calls.is_empty();
        choices.push(Choice {
            index: parts.index,
            message: Message {
                role: Role::Assistant,
                content: parts.text.map(Content::Text),
                name: None,
                tool_calls: called.then_some(parts.calls),
                tool_call_id: None,
                reasoning_content: parts.reasoning,
                refusal: None,
                server_tool_calls: (!server_tool_calls.is_empty()).then_some(server_tool_calls),
                extra,
            },
            finish_reason: parts
                .finish_reason
                .as_deref()
                .map(|reason| finish_reason(reason, called)),
            logprobs: None,
            extra: Extra::new(),
        });
    }
    Ok(ChatCompletion {
        id: response_id,
        object: "chat.completion".to_owned(),
        created: 0,
        model: response.model_version.unwrap_or_default(),
        choices,
        usage: response
            .usage_metadata
            .as_ref()
            .map(UsageMetadata::to_usage),
        system_fingerprint: None,
        service_tier: None,
        extra: Extra::new(),
        report: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_text_and_signatures() {
        let body = br#"{"candidates": [{"content": {"parts": [
            {"text": "**Plan** think", "thought": true},
            {"text": "Cross ", "thoughtSignature": "sigA"},
            {"text": "safely."}], "role": "model"}, "finishReason": "STOP", "index": 0}],
          "modelVersion": "gemini-3-pro-preview", "responseId": "r1",
          "usageMetadata": {"candidatesTokenCount": 736, "promptTokenCount": 29, "thoughtsTokenCount": 1001,
                            "cachedContentTokenCount": 12, "totalTokenCount": 1766}}"#;
        let completion = parse_chat(body).unwrap();
        assert_eq!(completion.id, "r1");
        assert_eq!(completion.model, "gemini-3-pro-preview");
        let choice = &completion.choices[0];
        assert_eq!(choice.finish_reason, Some(FinishReason::Stop));
        assert_eq!(choice.message.text(), "Cross safely.");
        assert_eq!(
            choice.message.reasoning_content.as_deref(),
            Some("**Plan** think")
        );
        assert_eq!(
            choice.message.extra[THOUGHT_SIGNATURES],
            serde_json::json!(["sigA"])
        );
        let usage = completion.usage.unwrap();
        assert_eq!(usage.prompt_tokens, 29);
        assert_eq!(usage.completion_tokens, 1737);
        assert_eq!(usage.total_tokens, 1766);
        assert_eq!(usage.reasoning_tokens(), 1001);
        assert_eq!(usage.cached_tokens(), 12);
    }

    #[test]
    fn function_calls_get_ids_and_signatures() {
        let body = br#"{"candidates": [{"content": {"parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sig1"},
            {"functionCall": {"name": "now"}},
            {"functionCall": {"name": "given", "args": {}, "id": "fc-7"}}], "role": "model"}, "finishReason": "STOP"}],
          "responseId": "resp"}"#;
        let completion = parse_chat(body).unwrap();
        let message = completion.message().unwrap();
        assert_eq!(message.content, None);
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );
        let calls = message.tool_calls.as_ref().unwrap();
        assert_eq!(calls[0].id, "call_gemini_resp_0_0");
        assert_eq!(calls[0].function.arguments, r#"{"city":"Paris"}"#);
        assert_eq!(calls[0].extra[THOUGHT_SIGNATURE], "sig1");
        assert_eq!(calls[1].id, "call_gemini_resp_0_1");
        assert_eq!(calls[1].function.arguments, "{}");
        assert!(calls[1].extra.is_empty());
        assert_eq!(calls[2].id, "fc-7");
        assert_eq!(synthetic_call_id("", 2, 3), "call_gemini_2_3");
    }

    #[test]
    fn finish_reasons_and_safety() {
        for (reason, want) in [
            ("MAX_TOKENS", FinishReason::Length),
            ("SAFETY", FinishReason::ContentFilter),
            ("RECITATION", FinishReason::ContentFilter),
            ("BLOCKLIST", FinishReason::ContentFilter),
            ("PROHIBITED_CONTENT", FinishReason::ContentFilter),
            ("SPII", FinishReason::ContentFilter),
            (
                "MALFORMED_FUNCTION_CALL",
                FinishReason::Other("MALFORMED_FUNCTION_CALL".into()),
            ),
        ] {
            assert_eq!(finish_reason(reason, false), want);
        }
        let safety = parse_chat(br#"{"candidates": [{"content": {}, "finishReason": "SAFETY", "safetyRatings": []}], "usageMetadata": {"promptTokenCount": 14, "totalTokenCount": 14}}"#).unwrap();
        assert_eq!(safety.choices[0].message.content, None);
        assert_eq!(
            safety.choices[0].finish_reason,
            Some(FinishReason::ContentFilter)
        );
        let blocked = parse_chat(br#"{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 5}}"#).unwrap_err();
        assert_eq!(blocked.kind(), ErrorKind::ContentFilter);
        assert!(blocked.message().contains("PROHIBITED_CONTENT"));
    }

    #[test]
    fn malformed_bodies_are_decode_errors() {
        for body in [&b"<html>"[..], br#"{"candidates": 5}"#] {
            let error = parse_chat(body).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::UnexpectedResponse, "{error}");
        }
        for body in [
            &br#"{"candidates": [{"content": {"parts": [{"text": 5}]}}]}"#[..],
            br#"{"candidates": [{"content": {"parts": [{"functionCall": {"args": {}}}]}}]}"#,
            br#"{"candidates": [{"content": {"parts": "x"}}]}"#,
            br#"{"candidates": [{"index": -1}]}"#,
        ] {
            assert_eq!(parse_chat(body).unwrap_err().kind(), ErrorKind::Decode);
        }
        assert_eq!(
            parse_chat(b"{\"candidates\": [").unwrap_err().kind(),
            ErrorKind::Truncated
        );
        let error =
            parse_chat(br#"{"error": {"code": 500, "message": "x", "status": "INTERNAL"}}"#)
                .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
    }
}
