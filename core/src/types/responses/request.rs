//! The Responses API request: [`ResponsesRequest`], its input items and its tools.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::response::{FunctionCallItem, ItemStatus, OutputContent, ReasoningItem};
use super::typed_objects;
use crate::types::message::Role;
use crate::types::Extra;

/// A `POST /v1/responses` request in OpenAI's shape, plus OneLLM's own fields
/// (`fallback_models`, `retries`, `timeout`, `cache`), accepted in the same JSON as
/// [`ChatRequest`](crate::ChatRequest) accepts them and never sent to a provider
/// ([`for_provider`](Self::for_provider) clears them).
///
/// ```
/// use onellm_core::{InputItem, ResponsesRequest};
///
/// let request = ResponsesRequest::new("openai/gpt-4.1-mini", "Capital of France?")
///     .instructions("Answer in one word.")
///     .max_output_tokens(16);
/// assert_eq!(request.instructions.as_deref(), Some("Answer in one word."));
/// let next = ResponsesRequest::new("openai/gpt-4.1-mini", vec![
///     InputItem::user("What is the weather in Paris?"),
///     InputItem::function_call_output("call_1", r#"{"celsius": 21}"#),
/// ]);
/// assert!(!next.is_stream());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponsesRequest {
    /// The model: a `provider/model` id, as for chat.
    pub model: String,
    /// Text, or the conversation as input items.
    #[serde(default)]
    pub input: ResponseInput,
    /// System (developer) instructions, kept apart from the input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Tools the model may call: functions, and OpenAI's built-in tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ResponseTool>,
    /// Whether and which tool the model must call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ResponseToolChoice>,
    /// The reply's format (text, JSON object, JSON schema) and verbosity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextConfig>,
    /// Reasoning effort and summaries, for reasoning models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningConfig>,
    /// The most output tokens, reasoning included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Sampling temperature (OpenAI: 0 to 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Continue from a stored response: the server holds the earlier turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<String>,
    /// Whether the server stores the response (OpenAI's default: true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// Extra output to include (`reasoning.encrypted_content`, `message.output_text.logprobs`,
    /// …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    /// Key-value pairs stored with the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Whether to stream the reply as events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// `false` asks for at most one function call per reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// An id of the end user, for abuse monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The processing tier asked for (`auto`, `default`, `flex`, `priority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// `auto` lets the server drop middle turns that overflow the context; `disabled` fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncation: Option<String>,
    /// OneLLM: models to try, in order, when this one fails in a way another may not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_models: Option<Vec<String>>,
    /// OneLLM: extra attempts per model on retryable errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// OneLLM: the total deadline of this call in seconds. Never sent to a provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// OneLLM: this call's cache controls. Never sent to a provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<crate::cache::CacheControl>,
    /// Parameters this version does not model (`background`, `prompt`, `top_logprobs`, …),
    /// forwarded verbatim to servers of this API.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ResponsesRequest {
    /// A request for `model` (a `provider/model` id) with `input`: text or items.
    pub fn new(model: impl Into<String>, input: impl Into<ResponseInput>) -> Self {
        ResponsesRequest {
            model: model.into(),
            input: input.into(),
            ..Default::default()
        }
    }

    /// Sets `instructions`.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Adds a tool.
    pub fn tool(mut self, tool: impl Into<ResponseTool>) -> Self {
        self.tools.push(tool.into());
        self
    }

    /// Sets `max_output_tokens`.
    pub fn max_output_tokens(mut self, max_output_tokens: u32) -> Self {
        self.max_output_tokens = Some(max_output_tokens);
        self
    }

    /// Sets `reasoning.effort` (`minimal`, `low`, `medium`, `high`).
    pub fn reasoning_effort(mut self, effort: impl Into<String>) -> Self {
        self.reasoning.get_or_insert_with(Default::default).effort = Some(effort.into());
        self
    }

    /// Sets the fallback models, tried in order.
    pub fn fallback_models<I, S>(mut self, models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fallback_models = Some(models.into_iter().map(Into::into).collect());
        self
    }

    /// Whether the caller asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.stream == Some(true)
    }

    /// A copy addressed to `model` (the provider's own model name) with OneLLM's fields
    /// removed and `stream` as given (`None` leaves it out): what a server of this API is
    /// sent.
    pub fn for_provider(&self, model: &str, stream: Option<bool>) -> Self {
        let mut body = self.clone();
        model.clone_into(&mut body.model);
        body.stream = stream;
        body.fallback_models = None;
        body.retries = None;
        body.timeout = None;
        body.cache = None;
        body
    }
}

/// `input`: a text (one user message) or a list of items.
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseInput {
    /// One user message's text.
    Text(String),
    /// The conversation as items: messages, function calls and their outputs, reasoning.
    Items(Vec<InputItem>),
}

impl Default for ResponseInput {
    fn default() -> Self {
        ResponseInput::Items(Vec::new())
    }
}

impl From<&str> for ResponseInput {
    fn from(text: &str) -> Self {
        ResponseInput::Text(text.to_owned())
    }
}

impl From<String> for ResponseInput {
    fn from(text: String) -> Self {
        ResponseInput::Text(text)
    }
}

impl From<Vec<InputItem>> for ResponseInput {
    fn from(items: Vec<InputItem>) -> Self {
        ResponseInput::Items(items)
    }
}

impl Serialize for ResponseInput {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ResponseInput::Text(text) => text.serialize(serializer),
            ResponseInput::Items(items) => items.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ResponseInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match TextOr::<InputItem>::deserialize(deserializer)? {
            TextOr::Text(text) => Ok(ResponseInput::Text(text)),
            TextOr::List(items) => Ok(ResponseInput::Items(items)),
        }
    }
}

/// A string or a list, told apart by the JSON type alone.
#[derive(Deserialize)]
#[serde(untagged)]
enum TextOr<T> {
    Text(String),
    List(Vec<T>),
}

typed_objects! {
    /// One input item. A message may come without `type` (the API's "easy" form). Items of
    /// other types (built-in tool calls and their outputs sent back, `compaction`, …) are
    /// `Other`, kept verbatim and forwarded to servers of this API.
    InputItem untyped => "message" {
        /// A message from the user, the developer (system) or the assistant.
        Message(InputMessage) => "message",
        /// A function call the model made, sent back.
        FunctionCall(FunctionCallItem) => "function_call",
        /// The result of a function call.
        FunctionCallOutput(FunctionCallOutputItem) => "function_call_output",
        /// A reasoning item the model produced, sent back.
        Reasoning(ReasoningItem) => "reasoning",
        /// An item the server stored, by id.
        ItemReference(ItemReference) => "item_reference",
    }
}

impl InputItem {
    /// A message with `role` and text content.
    pub fn message(role: Role, text: impl Into<String>) -> Self {
        InputItem::Message(InputMessage {
            role,
            content: MessageContent::Text(text.into()),
            id: None,
            status: None,
            extra: Extra::new(),
        })
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::message(Role::User, text)
    }

    /// A developer (system) message.
    pub fn developer(text: impl Into<String>) -> Self {
        Self::message(Role::Developer, text)
    }

    /// An assistant message (an earlier turn).
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::message(Role::Assistant, text)
    }

    /// A function call the model made on an earlier turn.
    pub fn function_call(
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        InputItem::FunctionCall(FunctionCallItem::new(call_id, name, arguments))
    }

    /// The result of the call with `call_id`.
    pub fn function_call_output(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        InputItem::FunctionCallOutput(FunctionCallOutputItem {
            call_id: call_id.into(),
            output: MessageContent::Text(output.into()),
            id: None,
            status: None,
            extra: Extra::new(),
        })
    }
}

/// A message input item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputMessage {
    /// `user`, `system`, `developer` or `assistant`.
    pub role: Role,
    /// Text, or parts (`input_text`, `input_image`, `input_file`; `output_text` and
    /// `refusal` for assistant turns).
    pub content: MessageContent,
    /// The item id, for messages sent back from an earlier output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The item status, for messages sent back from an earlier output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A message's content, or a function call's output: text, or typed parts.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Typed parts.
    Parts(Vec<InputContent>),
}

impl MessageContent {
    /// The text: the string, or the text parts (`input_text`, `output_text`) joined.
    pub fn text(&self) -> String {
        match self {
            MessageContent::Text(text) => text.clone(),
            MessageContent::Parts(parts) => parts
                .iter()
                .filter_map(|part| match part {
                    InputContent::InputText { text, .. } => Some(text.as_str()),
                    InputContent::OutputText(OutputContent::OutputText(output)) => {
                        Some(output.text.as_str())
                    }
                    _ => None,
                })
                .collect(),
        }
    }
}

impl Serialize for MessageContent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            MessageContent::Text(text) => text.serialize(serializer),
            MessageContent::Parts(parts) => parts.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for MessageContent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match TextOr::<InputContent>::deserialize(deserializer)? {
            TextOr::Text(text) => Ok(MessageContent::Text(text)),
            TextOr::List(parts) => Ok(MessageContent::Parts(parts)),
        }
    }
}

/// One part of an input message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InputContent {
    /// `input_text`.
    InputText {
        /// The text.
        text: String,
        /// Fields this version does not model, kept verbatim.
        extra: Extra,
    },
    /// `input_image`: a URL (or `data:` URL) or an uploaded file.
    InputImage(InputImage),
    /// `input_file`: an uploaded file, file data, or a URL.
    InputFile(InputFile),
    /// An assistant turn's `output_text` or `refusal` part sent back, or a part of a type
    /// this version does not model (kept verbatim as [`OutputContent::Other`]).
    OutputText(OutputContent),
}

/// An `input_image` part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputImage {
    /// The image's URL or `data:` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// An uploaded file's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// `low`, `high` or `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An `input_file` part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputFile {
    /// An uploaded file's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// The file's content as a `data:` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<String>,
    /// The file's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// A URL the server fetches the file from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_url: Option<String>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl InputContent {
    /// An `input_text` part.
    pub fn text(text: impl Into<String>) -> Self {
        InputContent::InputText {
            text: text.into(),
            extra: Extra::new(),
        }
    }

    /// An `input_image` part from a URL or `data:` URL.
    pub fn image_url(url: impl Into<String>) -> Self {
        InputContent::InputImage(InputImage {
            image_url: Some(url.into()),
            ..Default::default()
        })
    }
}

#[derive(Serialize, Deserialize)]
struct InputTextPart {
    text: String,
    #[serde(flatten)]
    extra: Extra,
}

impl Serialize for InputContent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use super::Tagged;
        match self {
            InputContent::InputText { text, extra } => Tagged {
                kind: "input_text",
                inner: &InputTextPart {
                    text: text.clone(),
                    extra: extra.clone(),
                },
            }
            .serialize(serializer),
            InputContent::InputImage(image) => Tagged {
                kind: "input_image",
                inner: image,
            }
            .serialize(serializer),
            InputContent::InputFile(file) => Tagged {
                kind: "input_file",
                inner: file,
            }
            .serialize(serializer),
            InputContent::OutputText(part) => part.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for InputContent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut value = Value::deserialize(deserializer)?;
        let kind = value.get("type").and_then(Value::as_str).map(str::to_owned);
        let known = |value: &mut Value| {
            if let Some(object) = value.as_object_mut() {
                object.remove("type");
            }
            std::mem::take(value)
        };
        match kind.as_deref() {
            Some("input_text") => {
                let part: InputTextPart =
                    serde_json::from_value(known(&mut value)).map_err(D::Error::custom)?;
                Ok(InputContent::InputText {
                    text: part.text,
                    extra: part.extra,
                })
            }
            Some("input_image") => serde_json::from_value(known(&mut value))
                .map(InputContent::InputImage)
                .map_err(D::Error::custom),
            Some("input_file") => serde_json::from_value(known(&mut value))
                .map(InputContent::InputFile)
                .map_err(D::Error::custom),
            _ => serde_json::from_value(value)
                .map(InputContent::OutputText)
                .map_err(D::Error::custom),
        }
    }
}

/// A `function_call_output` item: what a function call returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallOutputItem {
    /// The `call_id` of the call it answers.
    pub call_id: String,
    /// The result: text (usually JSON), or parts.
    pub output: MessageContent,
    /// The item id, when sent back from storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The item status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An `item_reference`: an item the server stored, by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemReference {
    /// The stored item's id.
    pub id: String,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

typed_objects! {
    /// A tool the model may use. Built-in tools (`web_search`, `file_search`,
    /// `code_interpreter`, `image_generation`, `mcp`, …) are `Other`, sent as they are to
    /// servers of this API.
    ResponseTool {
        /// A function the caller runs.
        Function(FunctionTool) => "function",
    }
}

impl From<FunctionTool> for ResponseTool {
    fn from(tool: FunctionTool) -> Self {
        ResponseTool::Function(tool)
    }
}

impl ResponseTool {
    /// A function tool with a JSON-schema `parameters` object.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        ResponseTool::Function(FunctionTool {
            name: name.into(),
            description: Some(description.into()),
            parameters: Some(parameters),
            strict: None,
            extra: Extra::new(),
        })
    }
}

/// A function tool, flat as this API has it (no `function` wrapper as in chat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionTool {
    /// The name the model calls it by.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The arguments as a JSON schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Whether the arguments must match `parameters` exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `tool_choice`: a mode, one named function, or another form kept verbatim
/// (`{"type": "allowed_tools", …}`, a built-in tool).
#[derive(Debug, Clone, PartialEq)]
pub enum ResponseToolChoice {
    /// Never call tools.
    None,
    /// The model decides.
    Auto,
    /// The model must call at least one tool.
    Required,
    /// The model must call this function (`{"type": "function", "name": …}`).
    Function(String),
    /// A form this version does not model, kept verbatim.
    Other(Value),
}

impl Serialize for ResponseToolChoice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ResponseToolChoice::None => serializer.serialize_str("none"),
            ResponseToolChoice::Auto => serializer.serialize_str("auto"),
            ResponseToolChoice::Required => serializer.serialize_str("required"),
            ResponseToolChoice::Function(name) => {
                serde_json::json!({"type": "function", "name": name}).serialize(serializer)
            }
            ResponseToolChoice::Other(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ResponseToolChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(match value.as_str() {
            Some("none") => ResponseToolChoice::None,
            Some("auto") => ResponseToolChoice::Auto,
            Some("required") => ResponseToolChoice::Required,
            _ => match (
                value.get("type").and_then(Value::as_str),
                value.get("name").and_then(Value::as_str),
            ) {
                (Some("function"), Some(name)) if value.as_object().map_or(0, |o| o.len()) == 2 => {
                    ResponseToolChoice::Function(name.to_owned())
                }
                _ => ResponseToolChoice::Other(value),
            },
        })
    }
}

/// `text`: the reply's format and verbosity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextConfig {
    /// Text, any JSON object, or JSON matching a schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<TextFormat>,
    /// `low`, `medium` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<String>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

typed_objects! {
    /// `text.format`. Unlike chat's `response_format`, a schema's fields sit beside `type`.
    TextFormat {
        /// Plain text.
        Text(Extra) => "text",
        /// Any JSON object.
        JsonObject(Extra) => "json_object",
        /// JSON matching a schema.
        JsonSchema(crate::types::JsonSchemaFormat) => "json_schema",
    }
}

/// `reasoning`: how hard a reasoning model thinks and whether it summarizes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReasoningConfig {
    /// `minimal`, `low`, `medium`, `high` (kept as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// `auto`, `concise` or `detailed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}
