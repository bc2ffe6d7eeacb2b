//! Chat messages: roles, content (text or parts), tool calls and server-side tool calls.
//!
//! The rule for tools a provider runs itself is on [`ServerToolCall`].

use super::extra::deserialize_keeping_extra;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::{excerpt, Error, ErrorKind};

use super::{open_string_enum, Extra};

open_string_enum! {
    /// Who wrote a message. Open: a role this version does not know is kept as `Other`.
    Role {
        /// Instructions from the application.
        System => "system",
        /// OpenAI's newer name for system instructions (o-series models).
        Developer => "developer",
        /// The end user.
        User => "user",
        /// The model.
        Assistant => "assistant",
        /// A tool result.
        Tool => "tool",
        /// Legacy function result.
        Function => "function",
    }
}

/// One message of a conversation, in OpenAI's shape.
///
/// The same type serves requests and responses: a response message is an assistant message
/// whose `content` may be `null` when it only calls tools.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Text or content parts; `null` for an assistant message that only calls tools.
    pub content: Option<Content>,
    /// A name for the author, telling apart participants of the same role (OpenAI-format
    /// providers; others drop it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// For an assistant message: the tools the model calls, each to be answered by a `tool`
    /// message with its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// For `role: tool`: which call this result answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Model reasoning (DeepSeek, Anthropic thinking, Gemini thoughts), the ecosystem's
    /// extension field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// For an assistant message: the model's refusal to answer, in place of `content` (OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Tools the provider ran itself while answering (OneLLM extension; see
    /// [`ServerToolCall`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_tool_calls: Option<Vec<ServerToolCall>>,
    /// Fields this version does not model, kept verbatim (Anthropic's `thinking_blocks`,
    /// OpenAI's `annotations`, …) so a message can be sent back as it came.
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_keeping_extra!(Message {
    role: "role" => required,
    content: "content",
    name: "name",
    tool_calls: "tool_calls",
    tool_call_id: "tool_call_id",
    reasoning_content: "reasoning_content",
    refusal: "refusal",
    server_tool_calls: "server_tool_calls",
});

impl Message {
    /// A message with the given role and text.
    pub fn new(role: Role, text: impl Into<String>) -> Self {
        Message {
            role,
            content: Some(Content::Text(text.into())),
            name: None,
            tool_calls: None,
            tool_call_id: None,
            reasoning_content: None,
            refusal: None,
            server_tool_calls: None,
            extra: Extra::new(),
        }
    }

    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::new(Role::System, text)
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::new(Role::User, text)
    }

    /// A user message made of parts (text and images, say).
    pub fn user_parts(parts: Vec<ContentPart>) -> Self {
        Message {
            content: Some(Content::Parts(parts)),
            ..Self::new(Role::User, "")
        }
    }

    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::new(Role::Assistant, text)
    }

    /// A tool result answering the call with id `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, text: impl Into<String>) -> Self {
        Message {
            tool_call_id: Some(tool_call_id.into()),
            ..Self::new(Role::Tool, text)
        }
    }

    /// The message's text: the string content, or its text parts joined. Empty when none.
    pub fn text(&self) -> String {
        self.content.as_ref().map(Content::text).unwrap_or_default()
    }

    /// The message's text parsed as JSON into `T`; see
    /// [`ChatCompletion::parse`](crate::ChatCompletion::parse), which calls this on the
    /// first choice. For the other choices of an `n > 1` request.
    ///
    /// ```
    /// use onellm_core::Message;
    ///
    /// let numbers: Vec<u8> = Message::assistant("[1, 2, 3]").parse().unwrap();
    /// assert_eq!(numbers, [1, 2, 3]);
    /// ```
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        const WHAT: &str = "structured output";
        if let Some(refusal) = self.refusal.as_deref().filter(|r| !r.is_empty()) {
            return Err(Error::new(
                ErrorKind::Decode,
                format!("{WHAT}: the model refused: {}", excerpt(refusal.as_bytes())),
            ));
        }
        let text = self.text();
        if text.trim().is_empty() {
            let calls: Vec<&str> = self
                .tool_calls
                .iter()
                .flatten()
                .map(|call| call.function.name.as_str())
                .collect();
            let why = if calls.is_empty() {
                "the reply has no text".to_owned()
            } else {
                format!(
                    "the reply has no text, only tool calls ({})",
                    calls.join(", ")
                )
            };
            return Err(Error::new(ErrorKind::Decode, format!("{WHAT}: {why}")));
        }
        serde_json::from_str(&text).map_err(|cause| {
            Error::decode(
                WHAT,
                format_args!("the reply is not JSON of the expected shape ({cause})"),
                text.as_bytes(),
            )
        })
    }
}

/// Message content: a plain string or a list of typed parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Typed parts: text, images, audio, files.
    Parts(Vec<ContentPart>),
}

/// By hand rather than `#[serde(untagged)]`, which reads the value into serde's
/// intermediate tree before trying each variant: the JSON type alone decides here.
impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor;
        impl<'de> serde::de::Visitor<'de> for ContentVisitor {
            type Value = Content;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of content parts")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Content, E> {
                Ok(Content::Text(text.to_owned()))
            }

            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Content, E> {
                Ok(Content::Text(text))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Content, A::Error> {
                let parts = Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Content::Parts(parts))
            }
        }
        deserializer.deserialize_any(ContentVisitor)
    }
}

impl Content {
    /// The text of this content; text parts are concatenated, other parts skipped.
    pub fn text(&self) -> String {
        match self {
            Content::Text(text) => text.clone(),
            Content::Parts(parts) => parts
                .iter()
                .filter_map(|part| match part {
                    ContentPart::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect(),
        }
    }
}

impl From<String> for Content {
    fn from(text: String) -> Self {
        Content::Text(text)
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Self {
        Content::Text(text.to_owned())
    }
}

/// One typed part of a message's content.
///
/// A part whose `type` this version does not know (or whose known type is malformed) is kept
/// as [`ContentPart::Other`] with its JSON, so a request is forwarded rather than refused; an
/// adapter that cannot translate it says so with an `Unsupported` error.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentPart {
    /// `{"type": "text"}`: text.
    Text {
        /// The text.
        text: String,
    },
    /// `{"type": "image_url"}`: an image, by URL or inline as a `data:` URL.
    ImageUrl {
        /// Where the image is, and the detail asked for.
        image_url: ImageUrl,
    },
    /// `{"type": "input_audio"}`: audio, inline.
    InputAudio {
        /// The audio's bytes and format.
        input_audio: AudioInput,
    },
    /// `{"type": "file"}`: a file (a PDF, …), inline or by id.
    File {
        /// The file's data or id, and its name.
        file: FileInput,
    },
    /// `{"type": "refusal"}`: an assistant's refusal.
    Refusal {
        /// The refusal's text.
        refusal: String,
    },
    /// A part of another type, or a malformed known one, kept verbatim.
    Other(Value),
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        ContentPart::Text { text: text.into() }
    }

    /// An image by URL (`https://…` or a `data:image/png;base64,…` URL).
    pub fn image_url(url: impl Into<String>) -> Self {
        ContentPart::ImageUrl {
            image_url: ImageUrl {
                url: url.into(),
                detail: None,
            },
        }
    }
}

/// The known part shapes, as OpenAI tags them.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum KnownPart {
    Text { text: String },
    ImageUrl { image_url: ImageUrl },
    InputAudio { input_audio: AudioInput },
    File { file: FileInput },
    Refusal { refusal: String },
}

impl Serialize for ContentPart {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let known = match self.clone() {
            ContentPart::Text { text } => KnownPart::Text { text },
            ContentPart::ImageUrl { image_url } => KnownPart::ImageUrl { image_url },
            ContentPart::InputAudio { input_audio } => KnownPart::InputAudio { input_audio },
            ContentPart::File { file } => KnownPart::File { file },
            ContentPart::Refusal { refusal } => KnownPart::Refusal { refusal },
            ContentPart::Other(value) => return value.serialize(serializer),
        };
        known.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(match KnownPart::deserialize(&value) {
            Ok(KnownPart::Text { text }) => ContentPart::Text { text },
            Ok(KnownPart::ImageUrl { image_url }) => ContentPart::ImageUrl { image_url },
            Ok(KnownPart::InputAudio { input_audio }) => ContentPart::InputAudio { input_audio },
            Ok(KnownPart::File { file }) => ContentPart::File { file },
            Ok(KnownPart::Refusal { refusal }) => ContentPart::Refusal { refusal },
            Err(_) => ContentPart::Other(value),
        })
    }
}

/// An image reference: an `https` URL or a `data:` URL with base64 bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// An `https` URL, or a `data:image/…;base64,…` URL.
    pub url: String,
    /// `auto`, `low` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Base64 audio input (`wav`, `mp3`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioInput {
    /// The audio's bytes, base64-encoded.
    pub data: String,
    /// The encoding: `wav` or `mp3`.
    pub format: String,
}

/// A file input: inline base64 data (`file_data`, usually a data URL) or an uploaded file id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileInput {
    /// The file's bytes, base64-encoded, usually as a `data:` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<String>,
    /// The id of a file uploaded to the provider beforehand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// The file's name, shown to the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// A tool call made by the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCall {
    /// The call's id; the `tool` message answering it names it in `tool_call_id`.
    pub id: String,
    /// Always `function` today; kept open.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function called and its arguments.
    pub function: FunctionCall,
    /// Fields this version does not model, kept verbatim (Gemini's `thought_signature`, …) so the
    /// call can be sent back as it came.
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_keeping_extra!(ToolCall {
    id: "id",
    kind: "type" => { function_type() },
    function: "function" => required,
});

pub(crate) fn function_type() -> String {
    "function".to_owned()
}

impl ToolCall {
    /// A function call with the given id, name and JSON arguments text.
    pub fn function(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        ToolCall {
            id: id.into(),
            kind: function_type(),
            function: FunctionCall {
                name: name.into(),
                arguments: arguments.into(),
            },
            extra: Extra::new(),
        }
    }
}

/// A tool the provider ran itself, with what it was asked and what it answered.
///
/// Some providers run tools themselves while they answer: Anthropic's web search, web fetch,
/// code execution and MCP connectors (`server_tool_use` / `mcp_tool_use` blocks and their
/// `*_tool_result` blocks), Gemini's code execution (`executableCode` and
/// `codeExecutionResult` parts), Bedrock's Nova code interpreter (`toolUse` blocks of
/// `"type": "server_tool_use"` and their `toolResult` blocks). One rule for every family:
///
/// - Such a call is **not** a [`ToolCall`]: the caller would try to run it and answer with a
///   tool result for a function it does not have. Its code and results are **not** mixed
///   into `content` either, so the text stays the model's own words.
/// - Each call surfaces as one such entry in the assistant message's
///   `server_tool_calls` (a OneLLM extension field, absent when there are none, so an
///   OpenAI-format completion without them serializes exactly as before): `name` is the
///   provider's tool name (`web_search`, `code_execution`, `nova_code_interpreter`, …),
///   `input` what the model asked it to do, `output` what the provider's tool answered.
/// - A call and its result are joined by id where the provider gives ids (Anthropic
///   `tool_use_id`, Bedrock `toolUseId`), in order of appearance where it does not (Gemini:
///   a `codeExecutionResult` is the output of the latest `executableCode` still without
///   one). A call whose result never came keeps `output: null`; a result without its call
///   keeps `input: null`. Entries are in the order of their calls.
/// - `input` and `output` are the provider's own JSON, kept verbatim so a later request can
///   send them back: Anthropic's call `input` and whole `*_tool_result` block; Gemini's whole
///   `executableCode` (`{language, code}`) and `codeExecutionResult` (`{outcome, output}`)
///   objects; Bedrock's call `input` and whole `toolResult` object. Other fields of the
///   provider's call (Anthropic's block `type` and `server_name`, Bedrock's `type`, a Gemini
///   part's `thought_signature`) are kept in the entry's `extra`.
/// - Streams: a chunk's delta carries whole entries, each once its result has arrived (or
///   the message ended without it) and every earlier entry has been sent, so in the order
///   of their calls; the [`ChunkAccumulator`](crate::types::ChunkAccumulator) appends them,
///   and the folded stream equals the whole reply.
/// - When such an assistant message is sent back, the family it came from re-emits it in
///   its own wire form (see each family's `request.rs`); other families with server tools
///   leave it out (the tool ran elsewhere; what the model made of it is in the text), and so
///   do the OpenAI-compatible family (no such server runs them, and strict ones refuse
///   unknown message fields), Cohere and Ollama.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerToolCall {
    /// The provider's id for the call, where it gives one.
    pub id: Option<String>,
    /// The provider's tool name (`web_search`, `code_execution`, `nova_code_interpreter`).
    pub name: String,
    /// What the model asked the tool to do, as the provider sent it; `null` when only the
    /// result was seen.
    pub input: Option<Value>,
    /// The tool's result as the provider sent it; `null` when it never came.
    pub output: Option<Value>,
    /// The provider's other fields of the call (Anthropic's block `type` and `server_name`,
    /// …), kept to send it back.
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_keeping_extra!(ServerToolCall {
    id: "id",
    name: "name",
    input: "input",
    output: "output",
});

impl ServerToolCall {
    /// A call of tool `name` with the given id and input, its output not yet known.
    pub fn new(id: Option<String>, name: impl Into<String>, input: Option<Value>) -> Self {
        ServerToolCall {
            id,
            name: name.into(),
            input,
            output: None,
            extra: Extra::new(),
        }
    }
}

/// The function a tool call invokes, with its arguments as JSON text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The function's name, as declared in the request's `tools`.
    #[serde(default)]
    pub name: String,
    /// JSON text. Some providers send an object, `null` or nothing; those are normalized to
    /// text (`""` for absent) so callers always parse one form.
    #[serde(default, deserialize_with = "arguments_as_text")]
    pub arguments: String,
}

/// Accepts tool-call arguments as a string, an object (re-serialized) or null.
pub(crate) fn arguments_as_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => text,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// Like [`arguments_as_text`] for optional fields (stream deltas).
pub(crate) fn optional_arguments_as_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(other) => Some(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_parts_round_trip_and_unknown_kept() {
        let raw = json!([
            {"type": "text", "text": "hi"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
            {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}},
            {"type": "file", "file": {"file_id": "file-1"}},
            {"type": "hologram", "beam": 3},
        ]);
        let parts: Vec<ContentPart> = serde_json::from_value(raw.clone()).unwrap();
        assert!(matches!(parts[4], ContentPart::Other(_)));
        assert_eq!(serde_json::to_value(&parts).unwrap(), raw);
    }

    #[test]
    fn arguments_accept_object_string_null_and_absent() {
        for (raw, want) in [
            (json!({"name": "f", "arguments": "{\"a\":1}"}), "{\"a\":1}"),
            (json!({"name": "f", "arguments": {"a": 1}}), "{\"a\":1}"),
            (json!({"name": "f", "arguments": ""}), ""),
            (json!({"name": "f", "arguments": null}), ""),
            (json!({"name": "f"}), ""),
        ] {
            let call: FunctionCall = serde_json::from_value(raw).unwrap();
            assert_eq!(call.arguments, want);
        }
    }

    #[test]
    fn roles_are_open() {
        let role: Role = serde_json::from_value(json!("critic")).unwrap();
        assert_eq!(role, Role::Other("critic".into()));
        assert_eq!(serde_json::to_value(&role).unwrap(), json!("critic"));
        let role: Role = serde_json::from_value(json!("developer")).unwrap();
        assert_eq!(role, Role::Developer);
    }

    #[test]
    fn null_content_and_unknown_fields_kept() {
        let raw = json!({"role": "assistant", "content": null, "annotations": [],
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]});
        let message: Message = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(message.content, None);
        assert_eq!(serde_json::to_value(&message).unwrap(), raw);
    }

    #[test]
    fn server_tool_calls_round_trip_and_are_absent_by_default() {
        let raw = json!({"role": "assistant", "content": "42", "server_tool_calls": [
            {"id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"},
             "output": {"type": "web_search_tool_result", "content": []}, "type": "server_tool_use"},
            {"id": null, "name": "code_execution", "input": {"code": "print(1)"}, "output": null}]});
        let message: Message = serde_json::from_value(raw.clone()).unwrap();
        let calls = message.server_tool_calls.as_ref().unwrap();
        assert_eq!(calls[0].id.as_deref(), Some("srvtoolu_1"));
        assert_eq!(calls[0].extra["type"], "server_tool_use");
        assert_eq!(calls[1].output, None);
        assert_eq!(serde_json::to_value(&message).unwrap(), raw);
        let plain = serde_json::to_value(Message::assistant("hi")).unwrap();
        assert_eq!(plain, json!({"role": "assistant", "content": "hi"}));
        let nameless = serde_json::from_value::<ServerToolCall>(json!({"id": "x"}));
        assert_eq!(nameless.unwrap().name, "");
    }
}
