//! Parsing Ollama's `/api/chat` and `/api/embed` replies into OpenAI's shape.
//!
//! Rules (a streamed line is read with the same helpers, so both paths agree):
//! - `message.content` → `content` (`null` when empty), `message.thinking` →
//!   `reasoning_content`.
//! - `message.tool_calls` arrive whole, with arguments as a JSON object (re-serialized to
//!   text) and usually without an id: one is made from the call's name, arguments and
//!   position ([`tool_call_id`]), so the same reply always gets the same ids (the core has no
//!   randomness) and a stream and a whole reply agree. An id Ollama does send is kept.
//! - `done_reason`: `stop` → `stop` (`tool_calls` when the reply called tools), `length` →
//!   `length`, others (`load`, `unload`) kept as they are.
//! - Usage: `prompt_eval_count` → prompt tokens, `eval_count` → completion tokens (both only
//!   on the final, `done: true` object).
//! - `created` is `created_at` (RFC 3339) in Unix seconds, 0 when absent or unreadable; the
//!   id is empty (Ollama sends none).
//! - A body or line with an `error` field is that error.
//! - Embeddings: `embeddings` in order; usage from `prompt_eval_count`.
//!
//! Markers (see [`crate::provider::shape`]): what proves a body is an Ollama reply.
//!
//! | reply | marker |
//! |---|---|
//! | `/api/chat` | a `message` object and a `done` boolean |
//! | stream line | the same, or an `error` |
//! | `/api/embed` | an `embeddings` array of vectors (Gemini's holds objects) |

use http::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::provider::shape::{has_array_of, has_object, Marker};
use crate::types::{
    ChatCompletion, Choice, Content, Embedding, EmbeddingResponse, EmbeddingUsage, EmbeddingVector,
    Extra, FinishReason, Message, Role, ToolCall, Usage,
};

/// The marker of an `/api/chat` reply.
static CHAT: Marker = Marker::new(
    "Ollama",
    "/api/chat reply",
    "`message` object and `done` boolean",
    is_chat_object,
);

/// The marker of a stream line.
pub(super) static STREAM_LINE: Marker = Marker::new(
    "Ollama",
    "/api/chat stream line",
    "`message` object and `done` boolean, or `error`",
    |line| is_chat_object(line) || line.get("error").is_some_and(|error| !error.is_null()),
);

/// The marker of an `/api/embed` reply.
static EMBED: Marker = Marker::new(
    "Ollama",
    "/api/embed reply",
    "`embeddings` array of vectors",
    |reply| has_array_of(reply, "embeddings", Value::is_array),
);

fn is_chat_object(object: &Map<String, Value>) -> bool {
    has_object(object, "message") && object.get("done").is_some_and(Value::is_boolean)
}

/// One `/api/chat` object: a whole reply, or one line of a stream.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ChatObject {
    #[serde(default)]
    pub(super) model: String,
    #[serde(default)]
    pub(super) created_at: Option<String>,
    #[serde(default)]
    pub(super) message: Option<ReplyMessage>,
    /// `None` when absent: then the object is not Ollama's (see the markers).
    #[serde(default)]
    pub(super) done: Option<bool>,
    #[serde(default)]
    pub(super) done_reason: Option<String>,
    #[serde(default)]
    pub(super) prompt_eval_count: Option<u64>,
    #[serde(default)]
    pub(super) eval_count: Option<u64>,
    #[serde(default)]
    pub(super) error: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ReplyMessage {
    #[serde(default)]
    pub(super) content: Option<String>,
    #[serde(default)]
    pub(super) thinking: Option<String>,
    #[serde(default)]
    pub(super) tool_calls: Option<Vec<OllamaToolCall>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct OllamaToolCall {
    #[serde(default)]
    id: Option<String>,
    function: OllamaFunction,
}

#[derive(Debug, Deserialize)]
struct OllamaFunction {
    #[serde(default)]
    name: String,
    #[serde(default)]
    arguments: Value,
}

impl OllamaToolCall {
    /// The OpenAI tool call; `ordinal` is its position among the reply's calls.
    pub(super) fn to_tool_call(&self, ordinal: usize) -> ToolCall {
        let arguments = match &self.function.arguments {
            Value::Null => "{}".to_owned(),
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let id = self
            .id
            .clone()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| tool_call_id(&self.function.name, &arguments, ordinal));
        ToolCall::function(id, self.function.name.as_str(), arguments)
    }
}

/// A stable id for a call Ollama sent without one: `call_` and 16 hex digits of the FNV-1a
/// hash of its position, name and arguments.
pub(super) fn tool_call_id(name: &str, arguments: &str, ordinal: usize) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = ordinal
        .to_le_bytes()
        .into_iter()
        .chain(name.bytes())
        .chain([0])
        .chain(arguments.bytes());
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("call_{hash:016x}")
}

/// OpenAI's finish reason for a `done_reason`.
pub(super) fn finish_reason(done_reason: Option<&str>, called_tools: bool) -> FinishReason {
    match done_reason {
        Some("stop") | None if called_tools => FinishReason::ToolCalls,
        Some("stop") | None => FinishReason::Stop,
        Some("length") => FinishReason::Length,
        Some(other) => FinishReason::Other(other.to_owned()),
    }
}

impl ChatObject {
    /// The error this object reports, if it is an error object.
    pub(super) fn error(&self, raw: &[u8]) -> Option<Error> {
        self.error
            .as_ref()
            .map(|_| super::error::parse_error(None, &HeaderMap::new(), raw))
    }

    /// Whether this is the last object of a reply (`done: true`).
    pub(super) fn is_done(&self) -> bool {
        self.done == Some(true)
    }

    pub(super) fn usage(&self) -> Option<Usage> {
        if self.prompt_eval_count.is_none() && self.eval_count.is_none() {
            return None;
        }
        Some(Usage::new(
            self.prompt_eval_count.unwrap_or(0),
            self.eval_count.unwrap_or(0),
        ))
    }

    pub(super) fn created(&self) -> u64 {
        self.created_at
            .as_deref()
            .and_then(unix_seconds)
            .unwrap_or(0)
    }
}

/// Seconds since 1970 of an RFC 3339 time such as `2023-08-04T19:22:45.499127Z` or with a
/// `+02:00` offset; `None` when it is not one.
pub(super) fn unix_seconds(time: &str) -> Option<u64> {
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = time.get(range)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if time.get(4..5)? != "-" || !time.get(10..11)?.eq_ignore_ascii_case("T") {
        return None;
    }
    let rest = time.get(19..)?;
    let zone = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.get(..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let hours: i64 = zone.get(1..3)?.parse().ok()?;
            let minutes: i64 = zone.get(4..6)?.parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(seconds).ok()
}

/// Parses a 2xx `/api/chat` body (`stream: false`).
pub(super) fn parse_chat(body: &[u8]) -> Result<ChatCompletion, Error> {
    let reply: ChatObject = crate::provider::from_json(body)
        .map_err(|e| CHAT.explain(body, Error::body_json("chat response", e, body)))?;
    if let Some(error) = reply.error(body) {
        return Err(error);
    }
    if reply.message.is_none() || reply.done.is_none() {
        let error = Error::decode("chat response", "no message or done", body);
        return Err(CHAT.explain(body, error));
    }
    let message = reply.message.as_ref();
    let tool_calls: Vec<ToolCall> = message
        .and_then(|m| m.tool_calls.as_ref())
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(ordinal, call)| call.to_tool_call(ordinal))
        .collect();
    let finish_reason = finish_reason(reply.done_reason.as_deref(), !tool_calls.is_empty());
    Ok(ChatCompletion {
        id: String::new(),
        object: "chat.completion".to_owned(),
        created: reply.created(),
        model: reply.model.clone(),
        choices: vec![Choice {
            index: 0,
            message: Message {
                role: Role::Assistant,
                content: message
                    .and_then(|m| m.content.clone())
                    .filter(|text| !text.is_empty())
                    .map(Content::Text),
                name: None,
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                tool_call_id: None,
                reasoning_content: message
                    .and_then(|m| m.thinking.clone())
                    .filter(|text| !text.is_empty()),
                refusal: None,
                server_tool_calls: None,
                extra: Extra::new(),
            },
            finish_reason: reply.is_done().then_some(finish_reason),
            logprobs: None,
            extra: Extra::new(),
        }],
        usage: reply.usage(),
        system_fingerprint: None,
        service_tier: None,
        extra: Extra::new(),
        report: Default::default(),
    })
}

#[derive(Debug, Deserialize)]
struct EmbedBody {
    #[serde(default)]
    model: String,
    embeddings: Vec<Vec<f32>>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
}

/// Parses a 2xx `/api/embed` body.
pub(super) fn parse_embeddings(body: &[u8]) -> Result<EmbeddingResponse, Error> {
    let reply: EmbedBody = crate::provider::from_json(body)
        .map_err(|e| EMBED.explain(body, Error::body_json("embed response", e, body)))?;
    let data = reply
        .embeddings
        .into_iter()
        .enumerate()
        .map(|(index, vector)| Embedding {
            object: "embedding".to_owned(),
            index: u32::try_from(index).unwrap_or(u32::MAX),
            embedding: EmbeddingVector::Float(vector),
        })
        .collect();
    Ok(EmbeddingResponse {
        object: "list".to_owned(),
        data,
        model: reply.model,
        usage: reply.prompt_eval_count.map(|tokens| EmbeddingUsage {
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

    /// The non-streaming example of Ollama's API docs (docs/api.md, "Chat request (No
    /// streaming)"), on one line.
    const DOCS_REPLY: &str = r#"{"model":"llama3.2","created_at":"2023-12-12T14:13:43.416799Z","message":{"role":"assistant","content":"Hello! How are you today?"},"done":true,"total_duration":5191566416,"load_duration":2154458,"prompt_eval_count":26,"prompt_eval_duration":383809000,"eval_count":298,"eval_duration":4799921000}"#;

    /// The docs' "Chat request (with tools)" response, with a thinking field added.
    const DOCS_TOOLS: &str = r#"{"model":"llama3.2","created_at":"2024-07-22T20:33:28.123648Z","message":{"role":"assistant","content":"","thinking":"Need weather.","tool_calls":[{"function":{"name":"get_current_weather","arguments":{"format":"celsius","location":"Paris, FR"}}}]},"done_reason":"stop","done":true,"total_duration":885095291,"load_duration":3753500,"prompt_eval_count":122,"prompt_eval_duration":328493000,"eval_count":33,"eval_duration":552222000}"#;

    #[test]
    fn docs_examples() {
        let completion = parse_chat(DOCS_REPLY.as_bytes()).unwrap();
        assert_eq!(completion.text(), "Hello! How are you today?");
        assert_eq!(completion.model, "llama3.2");
        assert_eq!(completion.created, 1_702_390_423);
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::Stop)
        );
        let usage = completion.usage.unwrap();
        assert_eq!(
            (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens
            ),
            (26, 298, 324)
        );

        let completion = parse_chat(DOCS_TOOLS.as_bytes()).unwrap();
        let message = completion.message().unwrap();
        assert_eq!(message.content, None);
        assert_eq!(message.reasoning_content.as_deref(), Some("Need weather."));
        let call = &message.tool_calls.as_ref().unwrap()[0];
        assert!(call.id.starts_with("call_"), "{}", call.id);
        assert_eq!(
            call.id,
            tool_call_id("get_current_weather", &call.function.arguments, 0)
        );
        assert_eq!(
            serde_json::from_str::<Value>(&call.function.arguments).unwrap(),
            serde_json::json!({"format": "celsius", "location": "Paris, FR"})
        );
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );
        assert_ne!(tool_call_id("f", "{}", 0), tool_call_id("f", "{}", 1));
    }

    #[test]
    fn times_reasons_and_errors() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            unix_seconds("2024-02-29T12:00:00.5+02:00"),
            Some(1_709_200_800)
        );
        for bad in [
            "",
            "2024-02-29",
            "2024-13-01T00:00:00Z",
            "20x4-01-01T00:00:00Z",
            "2024-01-01T00:00:00",
        ] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
        assert_eq!(finish_reason(Some("length"), false), FinishReason::Length);
        assert_eq!(
            finish_reason(Some("load"), false),
            FinishReason::Other("load".into())
        );
        let error = parse_chat(br#"{"error":"model requires more system memory"}"#).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
        assert_eq!(
            parse_chat(b"nope").unwrap_err().kind(),
            ErrorKind::UnexpectedResponse
        );
        let malformed = br#"{"message":{"content":5},"done":true}"#;
        assert_eq!(parse_chat(malformed).unwrap_err().kind(), ErrorKind::Decode);
    }

    /// The docs' `/api/embed` example.
    #[test]
    fn embed_docs_example() {
        let body = br#"{"model":"all-minilm","embeddings":[[0.010071029,-0.0017594862,0.05007221],[-0.0098027075,0.06042469,0.025257962]],"total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}"#;
        let parsed = parse_embeddings(body).unwrap();
        assert_eq!(parsed.data.len(), 2);
        assert_eq!(parsed.model, "all-minilm");
        assert_eq!(parsed.usage.unwrap().total_tokens, 8);
    }
}
