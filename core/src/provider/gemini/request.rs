//! Building the `generateContent` body from an OpenAI-format [`ChatRequest`].
//!
//! Rules:
//! - `system` and `developer` messages are joined (blank lines between) into
//!   `systemInstruction`.
//! - `user` → role `user`, `assistant` → role `model`, `tool` → a `functionResponse` part in a
//!   `user` turn. Gemini wants turns to alternate, so consecutive turns of one role are merged
//!   (a tool result followed by a user question is one `user` turn). Turns left without parts
//!   are dropped; `name` on messages has no equivalent and is dropped.
//! - Parts: text → `text`; a `data:` image or file URL → `inlineData` (MIME type from the
//!   URL); an `http(s)://` or `gs://` URL → `fileData` with the MIME type guessed from the
//!   file extension (`image/jpeg` for an image URL without a known one); `input_audio` →
//!   `inlineData` `audio/<format>`; a file given by `file_id` that is a URI → `fileData`.
//!   Other parts are `Unsupported`.
//! - An assistant message becomes its text (carrying the last of its `thought_signatures`, if
//!   any, as Gemini asks for the signature back where it was), then one `functionCall` part
//!   per tool call, each with its `thought_signature`. `reasoning_content` is not sent back:
//!   Gemini reads thoughts only through their signatures. Its `server_tool_calls` that came
//!   from Gemini's code execution go first, as the `executableCode` (with its
//!   `thoughtSignature`) and `codeExecutionResult` parts they were read from
//!   ([`code_execution_parts`]); other providers' entries are left out.
//! - Gemini 3 models (`gemini-3…`) reject a model turn whose function calls carry no
//!   signature, which is what a conversation from another provider (or a fallback into
//!   Gemini) has. For such a turn the first call gets Google's documented placeholder
//!   [`UNSIGNED_CALL_SIGNATURE`], which skips the check; turns with a real signature are sent
//!   as they came.
//! - Tool call ids: a `functionResponse` is named by the function whose call had its
//!   `tool_call_id` (the nearest earlier assistant message that made it; else the tool
//!   message's `name`; else `InvalidRequest`). The id itself is sent as `functionCall.id` /
//!   `functionResponse.id` only to AI Studio and only when it is not one this adapter made up
//!   ([`super::response::SYNTHETIC_ID_PREFIX`]); Vertex AI rejected those fields. The tool's
//!   output is sent as `response`: the output itself when it is a JSON object, else
//!   `{"content": <text>}`.
//! - Tools: function declarations with the parameter schema cleaned by [`gemini_schema`];
//!   `tool_choice` → `toolConfig.functionCallingConfig` (`auto` → `AUTO`, `none` → `NONE`,
//!   `required` → `ANY`, a named function → `ANY` limited to it). `parallel_tool_calls` has no
//!   Gemini switch and is not sent.
//! - `response_format`: `json_object` → `responseMimeType: application/json`; `json_schema`
//!   adds the cleaned schema as `responseSchema`.
//! - `generationConfig`: `temperature`, `topP`, `maxOutputTokens` (`max_completion_tokens` or
//!   `max_tokens`), `stopSequences`, `candidateCount` (`n`), `seed`, `presencePenalty`,
//!   `frequencyPenalty`, and `topK` from an extra `top_k`.
//! - `reasoning_effort` → `thinkingConfig` with `includeThoughts` (so thoughts come back as
//!   `reasoning_content`): Gemini 3 models (`gemini-3…`) take `thinkingLevel` (`low` for
//!   minimal/low, `high` for medium/high); others a `thinkingBudget` of 1024 (minimal, low),
//!   8192 (medium) or 24576 (high) tokens; `none` sends a budget of 0. An extra
//!   `thinkingConfig` object replaces this.
//! - Extras passed through as Gemini defines them: `safetySettings`, `cachedContent`,
//!   `labels`.
//! - `logprobs` is `Unsupported` (its reply is not translated); other OpenAI-only parameters
//!   (`logit_bias`, `user`, `metadata`, `service_tier`, `stream_options`, …) are dropped
//!   because Gemini rejects unknown fields.

use serde_json::{json, Map, Value};

use super::response::{CODE_EXECUTION, SYNTHETIC_ID_PREFIX, THOUGHT_SIGNATURE, THOUGHT_SIGNATURES};
use crate::error::{Error, ErrorKind};
use crate::provider::turns::{alternating_turns, Speaker, TurnNames};
use crate::types::{
    ChatRequest, Content, ContentPart, Message, ResponseFormat, Role, Tool, ToolCall, ToolChoice,
};

/// The `thoughtSignature` Google documents for function calls that no Gemini model made
/// (replayed or transferred history): it tells Gemini 3 to skip signature validation.
pub(super) const UNSIGNED_CALL_SIGNATURE: &str = "skip_thought_signature_validator";

/// Whether ids of function calls and responses may be sent (AI Studio) or not (Vertex AI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallIds {
    Send,
    Omit,
}

/// The `generateContent` body for `request` sent to `model`.
pub(super) fn chat_body(
    model: &str,
    request: &ChatRequest,
    ids: CallIds,
) -> Result<Vec<u8>, Error> {
    crate::provider::to_json(&chat_value(model, request, ids)?)
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidRequest, message)
}

pub(super) fn chat_value(model: &str, request: &ChatRequest, ids: CallIds) -> Result<Value, Error> {
    if request.logprobs == Some(true) {
        return Err(Error::unsupported(
            "gemini: logprobs are not supported by this adapter",
        ));
    }
    let mut body = Map::new();
    body.insert(
        "contents".into(),
        Value::Array(contents(
            &request.messages,
            ids,
            model.starts_with("gemini-3"),
        )?),
    );
    if let Some(system) = request.system_text().filter(|text| !text.is_empty()) {
        body.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system}]}),
        );
    }
    tools(request, &mut body)?;
    let config = generation_config(model, request)?;
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    for name in ["safetySettings", "cachedContent", "labels"] {
        if let Some(value) = request.extra.get(name) {
            body.insert(name.into(), value.clone());
        }
    }
    Ok(Value::Object(body))
}

fn generation_config(model: &str, request: &ChatRequest) -> Result<Map<String, Value>, Error> {
    let mut config = Map::new();
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(value) = value {
            config.insert(name.to_owned(), value);
        }
    };
    put("temperature", request.temperature.map(Value::from));
    put("topP", request.top_p.map(Value::from));
    put("topK", request.extra.get("top_k").cloned());
    put("maxOutputTokens", request.token_limit().map(Value::from));
    let stop = request
        .stop
        .as_ref()
        .map(|stop| stop.to_vec())
        .unwrap_or_default();
    put("stopSequences", (!stop.is_empty()).then(|| stop.into()));
    put("candidateCount", request.n.map(Value::from));
    put("seed", request.seed.map(Value::from));
    put("presencePenalty", request.presence_penalty.map(Value::from));
    put(
        "frequencyPenalty",
        request.frequency_penalty.map(Value::from),
    );
    match &request.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => {
            put("responseMimeType", Some("application/json".into()));
        }
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            put("responseMimeType", Some("application/json".into()));
            if let Some(schema) = &json_schema.schema {
                put("responseSchema", Some(gemini_schema(schema)?));
            }
        }
    }
    put("thinkingConfig", thinking_config(model, request)?);
    Ok(config)
}

fn thinking_config(model: &str, request: &ChatRequest) -> Result<Option<Value>, Error> {
    if let Some(explicit) = request.extra.get("thinkingConfig") {
        return Ok(Some(explicit.clone()));
    }
    let Some(effort) = request.reasoning_effort.as_deref() else {
        return Ok(None);
    };
    let levels = model.starts_with("gemini-3");
    let config = match (effort, levels) {
        ("none", _) => json!({"thinkingBudget": 0}),
        ("minimal" | "low", true) => json!({"thinkingLevel": "low", "includeThoughts": true}),
        ("medium" | "high", true) => json!({"thinkingLevel": "high", "includeThoughts": true}),
        ("minimal" | "low", false) => json!({"thinkingBudget": 1024, "includeThoughts": true}),
        ("medium", false) => json!({"thinkingBudget": 8192, "includeThoughts": true}),
        ("high", false) => json!({"thinkingBudget": 24576, "includeThoughts": true}),
        (other, _) => {
            return Err(Error::unsupported(format!(
                "reasoning_effort {other:?} has no Gemini thinking setting; use minimal, low, medium, high or none"
            )))
        }
    };
    Ok(Some(config))
}

fn tools(request: &ChatRequest, body: &mut Map<String, Value>) -> Result<(), Error> {
    let declarations = request
        .tools
        .iter()
        .flatten()
        .map(declaration)
        .collect::<Result<Vec<_>, _>>()?;
    if declarations.is_empty() {
        return Ok(());
    }
    body.insert(
        "tools".into(),
        json!([{ "functionDeclarations": declarations }]),
    );
    let config = match &request.tool_choice {
        None => return Ok(()),
        Some(ToolChoice::Auto) => json!({"mode": "AUTO"}),
        Some(ToolChoice::None) => json!({"mode": "NONE"}),
        Some(ToolChoice::Required) => json!({"mode": "ANY"}),
        Some(ToolChoice::Function(name)) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
        Some(ToolChoice::Other(value)) => {
            return Err(Error::unsupported(format!(
                "tool_choice {value} has no Gemini equivalent"
            )))
        }
    };
    body.insert(
        "toolConfig".into(),
        json!({ "functionCallingConfig": config }),
    );
    Ok(())
}

fn declaration(tool: &Tool) -> Result<Value, Error> {
    let function = crate::provider::function_tool(tool, "gemini")?;
    let mut out = Map::new();
    out.insert("name".into(), function.name.clone().into());
    if let Some(description) = &function.description {
        out.insert("description".into(), description.clone().into());
    }
    if let Some(parameters) = &function.parameters {
        let schema = gemini_schema(parameters)?;
        // Gemini rejects an OBJECT schema with no properties ("should be non-empty for
        // OBJECT type"): a function without parameters simply has none.
        let empty_object = schema.get("type").and_then(Value::as_str) == Some("object")
            && schema
                .get("properties")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty);
        if !empty_object {
            out.insert("parameters".into(), schema);
        }
    }
    Ok(Value::Object(out))
}

/// Schema keywords Gemini's `Schema` (an OpenAPI 3.0 subset) accepts; the rest are dropped.
const SCHEMA_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "items",
    "properties",
    "required",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minProperties",
    "maxProperties",
    "anyOf",
    "propertyOrdering",
    "default",
    "example",
];

/// How deep `$ref`s are inlined before a schema is taken to be recursive.
const MAX_SCHEMA_DEPTH: usize = 32;

/// A JSON schema as Gemini's `Schema` takes it:
/// - local `$ref`s (`#/$defs/…`, `#/definitions/…`) are inlined; a recursive or unresolvable
///   one is `Unsupported` (Gemini's `Schema` has no references);
/// - `type: [T, "null"]` becomes `type: T` with `nullable: true`; `const` becomes a
///   one-value `enum`; `oneOf` becomes `anyOf`;
/// - keywords outside [`SCHEMA_KEYWORDS`] (`additionalProperties`, `$schema`, `$defs`,
///   `$id`, `strict`, `examples`, `exclusiveMinimum`, `allOf`, `not`, …) are dropped: they
///   only constrain, and Gemini rejects the whole request when it sees one.
pub(super) fn gemini_schema(schema: &Value) -> Result<Value, Error> {
    clean(schema, schema, 0)
}

fn clean(node: &Value, root: &Value, depth: usize) -> Result<Value, Error> {
    if depth > MAX_SCHEMA_DEPTH {
        return Err(Error::unsupported(
            "gemini: the schema is recursive or too deep; Gemini's Schema has no $ref",
        ));
    }
    let Value::Object(object) = node else {
        return Ok(node.clone());
    };
    if let Some(reference) = object.get("$ref") {
        let target = reference
            .as_str()
            .and_then(|reference| reference.strip_prefix('#'))
            .and_then(|pointer| root.pointer(pointer))
            .ok_or_else(|| {
                Error::unsupported(format!(
                    "gemini: schema $ref {reference} cannot be resolved inside the schema"
                ))
            })?;
        return clean(target, root, depth + 1);
    }
    let mut out = Map::new();
    for (key, value) in object {
        match key.as_str() {
            "properties" => {
                let Value::Object(properties) = value else {
                    continue;
                };
                let mut cleaned = Map::new();
                for (name, property) in properties {
                    cleaned.insert(name.clone(), clean(property, root, depth + 1)?);
                }
                out.insert(key.clone(), Value::Object(cleaned));
            }
            "items" => {
                out.insert(key.clone(), clean(value, root, depth + 1)?);
            }
            "anyOf" | "oneOf" => {
                let Value::Array(options) = value else {
                    continue;
                };
                let options = options
                    .iter()
                    .map(|option| clean(option, root, depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                out.insert("anyOf".into(), Value::Array(options));
            }
            "type" => match value {
                Value::Array(types) => {
                    let mut named = types.iter().filter(|t| t.as_str() != Some("null"));
                    if let Some(first) = named.next() {
                        out.insert("type".into(), first.clone());
                    }
                    if types.iter().any(|t| t.as_str() == Some("null")) {
                        out.insert("nullable".into(), true.into());
                    }
                }
                other => {
                    out.insert("type".into(), other.clone());
                }
            },
            "const" => {
                out.insert("enum".into(), json!([value]));
            }
            known if SCHEMA_KEYWORDS.contains(&known) => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    Ok(Value::Object(out))
}

/// The `contents` turns. `signed_calls`: the model needs a signature on every turn's calls.
fn contents(messages: &[Message], ids: CallIds, signed_calls: bool) -> Result<Vec<Value>, Error> {
    let names = TurnNames {
        provider: "Gemini",
        assistant: "model",
        blocks: "parts",
    };
    alternating_turns(messages, names, |speaker, message, at| match speaker {
        Speaker::User => content_parts(message.content.as_ref(), at),
        Speaker::Assistant => model_parts(message, at, ids, signed_calls),
        Speaker::Tool => Ok(vec![function_response(messages, at, ids)?]),
    })
}

fn content_parts(content: Option<&Content>, at: usize) -> Result<Vec<Value>, Error> {
    match content {
        None => Ok(Vec::new()),
        Some(Content::Text(text)) if text.is_empty() => Ok(Vec::new()),
        Some(Content::Text(text)) => Ok(vec![json!({"text": text})]),
        Some(Content::Parts(parts)) => parts
            .iter()
            .filter(|part| !matches!(part, ContentPart::Text { text } if text.is_empty()))
            .map(|part| content_part(part, at))
            .collect(),
    }
}

fn content_part(part: &ContentPart, at: usize) -> Result<Value, Error> {
    match part {
        ContentPart::Text { text } => Ok(json!({"text": text})),
        ContentPart::Refusal { refusal } => Ok(json!({"text": refusal})),
        ContentPart::ImageUrl { image_url } => media(&image_url.url, None, "image/jpeg", at),
        ContentPart::InputAudio { input_audio } => Ok(json!({"inlineData": {
            "mimeType": format!("audio/{}", input_audio.format),
            "data": input_audio.data,
        }})),
        ContentPart::File { file } => {
            let name = file.filename.as_deref();
            match (&file.file_data, &file.file_id) {
                (Some(data), _) => media(data, name, "application/octet-stream", at),
                (None, Some(id)) if id.contains("://") => {
                    media(id, name, "application/octet-stream", at)
                }
                _ => Err(Error::unsupported(format!(
                    "messages[{at}]: gemini takes files as data: URLs or file URIs, not OpenAI file ids"
                ))),
            }
        }
        ContentPart::Other(_) => Err(Error::unsupported(format!(
            "messages[{at}]: content part {} has no Gemini equivalent",
            serde_json::to_string(part).unwrap_or_default()
        ))),
    }
}

/// A `data:` URL as `inlineData`, or a file URL as `fileData`.
fn media(url: &str, filename: Option<&str>, fallback: &str, at: usize) -> Result<Value, Error> {
    if url.starts_with("data:") {
        let (mime, data) = crate::provider::data_url(url)
            .ok_or_else(|| invalid(format!("messages[{at}]: a data: URL must be base64")))?;
        let mime = if mime.is_empty() { fallback } else { mime };
        return Ok(json!({"inlineData": {"mimeType": mime, "data": data}}));
    }
    let lower = url.to_ascii_lowercase();
    if !["http://", "https://", "gs://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
    {
        return Err(invalid(format!(
            "messages[{at}]: media URL must be data:, http(s):// or gs://"
        )));
    }
    let mime = mime_of(filename.unwrap_or(url)).unwrap_or(fallback);
    Ok(json!({"fileData": {"mimeType": mime, "fileUri": url}}))
}

/// The MIME type a file name or URL's extension names.
fn mime_of(name: &str) -> Option<&'static str> {
    let path = name.split(['?', '#']).next().unwrap_or(name);
    let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "mp3" => "audio/mp3",
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "mp4" => "video/mp4",
        "mov" => "video/mov",
        "webm" => "video/webm",
        _ => return None,
    })
}

fn model_parts(
    message: &Message,
    at: usize,
    ids: CallIds,
    signed_calls: bool,
) -> Result<Vec<Value>, Error> {
    let mut parts = content_parts(message.content.as_ref(), at)?;
    let signature = match message.extra.get(THOUGHT_SIGNATURES) {
        None | Some(Value::Null) => None,
        Some(Value::Array(signatures)) => match signatures.last() {
            None => None,
            Some(Value::String(signature)) => Some(signature.clone()),
            Some(_) => {
                return Err(invalid(format!(
                    "messages[{at}].{THOUGHT_SIGNATURES}: want an array of strings"
                )))
            }
        },
        Some(_) => {
            return Err(invalid(format!(
                "messages[{at}].{THOUGHT_SIGNATURES}: want an array of strings"
            )))
        }
    };
    if let Some(signature) = signature {
        match parts.last_mut().and_then(Value::as_object_mut) {
            Some(last) => {
                last.insert("thoughtSignature".into(), signature.into());
            }
            None => parts.push(json!({"text": "", "thoughtSignature": signature})),
        }
    }
    parts.splice(0..0, code_execution_parts(message, ids));
    let first_call = parts.len();
    for call in message.tool_calls.iter().flatten() {
        parts.push(function_call(call, at, ids)?);
    }
    let calls = parts.get_mut(first_call..).unwrap_or_default();
    if signed_calls
        && !calls
            .iter()
            .any(|part| part.get("thoughtSignature").is_some())
    {
        if let Some(Value::Object(first)) = calls.first_mut() {
            first.insert("thoughtSignature".into(), UNSIGNED_CALL_SIGNATURE.into());
        }
    }
    Ok(parts)
}

/// An assistant message's code execution (see [`super::response`]), as the parts it was read
/// from: each entry's `input` as an `executableCode` part (with the entry's
/// `thought_signature`), its `output` as the `codeExecutionResult` part after it. Their
/// places among the text are not kept: they go first, where the code ran before the answer.
/// The parts' `id`s go only where function-call ids go (AI Studio). Entries of other
/// providers (an Anthropic `code_execution` has a call `type`; a Bedrock one another name)
/// are left out: their tool ran there; what the model made of it is in the text.
fn code_execution_parts(message: &Message, ids: CallIds) -> Vec<Value> {
    let object = |value: &Option<Value>, key: &str| match value {
        Some(Value::Object(object)) if object.contains_key(key) => {
            let mut object = object.clone();
            if ids == CallIds::Omit {
                object.remove("id");
            }
            Some(Value::Object(object))
        }
        _ => None,
    };
    let mut parts = Vec::new();
    for call in message.server_tool_calls.iter().flatten() {
        if call.name != CODE_EXECUTION || call.extra.contains_key("type") {
            continue;
        }
        if let Some(code) = object(&call.input, "code") {
            let mut part = Map::new();
            part.insert("executableCode".into(), code);
            if let Some(signature) = call.extra.get(THOUGHT_SIGNATURE).filter(|s| s.is_string()) {
                part.insert("thoughtSignature".into(), signature.clone());
            }
            parts.push(Value::Object(part));
        }
        if let Some(result) = object(&call.output, "outcome") {
            parts.push(json!({ "codeExecutionResult": result }));
        }
    }
    parts
}

fn sendable_id(id: &str, ids: CallIds) -> Option<&str> {
    (ids == CallIds::Send && !id.is_empty() && !id.starts_with(SYNTHETIC_ID_PREFIX)).then_some(id)
}

fn function_call(call: &ToolCall, at: usize, ids: CallIds) -> Result<Value, Error> {
    let arguments = call.function.arguments.trim();
    let args = if arguments.is_empty() {
        json!({})
    } else {
        match serde_json::from_str::<Value>(arguments) {
            Ok(object @ Value::Object(_)) => object,
            _ => {
                return Err(invalid(format!(
                    "messages[{at}]: tool call {:?} arguments are not a JSON object",
                    call.id
                )))
            }
        }
    };
    let mut function = Map::new();
    function.insert("name".into(), call.function.name.clone().into());
    function.insert("args".into(), args);
    if let Some(id) = sendable_id(&call.id, ids) {
        function.insert("id".into(), id.into());
    }
    let mut part = Map::new();
    part.insert("functionCall".into(), Value::Object(function));
    match call.extra.get(THOUGHT_SIGNATURE) {
        None | Some(Value::Null) => {}
        Some(Value::String(signature)) => {
            part.insert("thoughtSignature".into(), signature.clone().into());
        }
        Some(_) => {
            return Err(invalid(format!(
                "messages[{at}]: tool call {THOUGHT_SIGNATURE} is not a string"
            )))
        }
    }
    Ok(Value::Object(part))
}

fn function_response(messages: &[Message], at: usize, ids: CallIds) -> Result<Value, Error> {
    let message = &messages[at];
    let id = message
        .tool_call_id
        .as_deref()
        .ok_or_else(|| invalid(format!("messages[{at}]: tool message without tool_call_id")))?;
    let name = messages[..at]
        .iter()
        .rev()
        .filter(|earlier| earlier.role == Role::Assistant)
        .flat_map(|earlier| earlier.tool_calls.iter().flatten())
        .find(|call| call.id == id)
        .map(|call| call.function.name.clone())
        .or_else(|| message.name.clone())
        .ok_or_else(|| {
            invalid(format!(
                "messages[{at}]: tool_call_id {id:?} answers no earlier tool call, so the function name Gemini needs is unknown"
            ))
        })?;
    let text = message
        .content
        .as_ref()
        .map(Content::text)
        .unwrap_or_default();
    let response = match serde_json::from_str::<Value>(&text) {
        Ok(object @ Value::Object(_)) => object,
        _ => json!({ "content": text }),
    };
    let mut function = Map::new();
    function.insert("name".into(), name.into());
    function.insert("response".into(), response);
    if let Some(id) = sendable_id(id, ids) {
        function.insert("id".into(), id.into());
    }
    Ok(json!({ "functionResponse": function }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ImageUrl, JsonSchemaFormat};

    fn body(request: &ChatRequest) -> Value {
        chat_value("gemini-2.5-flash", request, CallIds::Send).unwrap()
    }

    fn error(request: &ChatRequest) -> Error {
        chat_value("gemini-2.5-flash", request, CallIds::Send).unwrap_err()
    }

    fn weather() -> Tool {
        Tool::function(
            "get_weather",
            "Weather for a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                   "additionalProperties": false, "$schema": "http://json-schema.org/draft-07/schema#"}),
        )
    }

    #[test]
    fn system_roles_merging_and_config() {
        let mut request = ChatRequest::new("x")
            .system("Be brief.")
            .user("Hi")
            .user("there")
            .assistant("Hello")
            .user("Bye")
            .temperature(0.2)
            .max_tokens(100);
        request.top_p = Some(0.9);
        request.stop = Some(crate::types::Stop::One("END".into()));
        request.seed = Some(7);
        request.n = Some(2);
        request.presence_penalty = Some(0.1);
        request.frequency_penalty = Some(0.3);
        request.user = Some("u".into());
        request.extra.insert("top_k".into(), json!(40));
        request.extra.insert(
            "safetySettings".into(),
            json!([{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}]),
        );
        let body = body(&request);
        assert_eq!(
            body,
            json!({
                "contents": [
                    {"role": "user", "parts": [{"text": "Hi"}, {"text": "there"}]},
                    {"role": "model", "parts": [{"text": "Hello"}]},
                    {"role": "user", "parts": [{"text": "Bye"}]},
                ],
                "systemInstruction": {"parts": [{"text": "Be brief."}]},
                "generationConfig": {
                    "temperature": 0.2, "topP": 0.9, "topK": 40, "maxOutputTokens": 100,
                    "stopSequences": ["END"], "candidateCount": 2, "seed": 7,
                    "presencePenalty": 0.1, "frequencyPenalty": 0.3,
                },
                "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
            })
        );
    }

    #[test]
    fn images_files_and_audio() {
        let request = ChatRequest::new("x").message(Message::user_parts(vec![
            ContentPart::text("What is this?"),
            ContentPart::image_url("data:image/png;base64,iVBORw0KGgo="),
            ContentPart::ImageUrl {
                image_url: ImageUrl {
                    url: "https://example.com/cat.webp?x=1".into(),
                    detail: Some("high".into()),
                },
            },
            ContentPart::image_url("gs://bucket/photo"),
            ContentPart::File {
                file: crate::types::FileInput {
                    file_data: None,
                    file_id: Some(
                        "https://generativelanguage.googleapis.com/v1beta/files/abc".into(),
                    ),
                    filename: Some("report.pdf".into()),
                },
            },
            ContentPart::InputAudio {
                input_audio: crate::types::AudioInput {
                    data: "UklGR".into(),
                    format: "wav".into(),
                },
            },
        ]));
        assert_eq!(
            body(&request)["contents"][0]["parts"],
            json!([
                {"text": "What is this?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/cat.webp?x=1"}},
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://bucket/photo"}},
                {"fileData": {"mimeType": "application/pdf", "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc"}},
                {"inlineData": {"mimeType": "audio/wav", "data": "UklGR"}},
            ])
        );
        let bad = ChatRequest::new("x").user_with_image("?", "ftp://x/y.png");
        assert_eq!(error(&bad).kind(), ErrorKind::InvalidRequest);
        let other = ChatRequest::new("x").message(Message::user_parts(vec![ContentPart::Other(
            json!({"type": "hologram"}),
        )]));
        assert_eq!(error(&other).kind(), ErrorKind::Unsupported);
        let file_id = ChatRequest::new("x").message(Message::user_parts(vec![ContentPart::File {
            file: crate::types::FileInput {
                file_data: None,
                file_id: Some("file-abc".into()),
                filename: None,
            },
        }]));
        assert_eq!(error(&file_id).kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn tools_schema_and_choice() {
        let request = ChatRequest::new("x")
            .user("Weather?")
            .tool(weather())
            .tool(Tool::function(
                "now",
                "Time",
                json!({"type": "object", "properties": {}}),
            ))
            .tool_choice(ToolChoice::Function("get_weather".into()));
        let body = body(&request);
        assert_eq!(
            body["tools"],
            json!([{"functionDeclarations": [
                {"name": "get_weather", "description": "Weather for a city", "parameters":
                    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
                {"name": "now", "description": "Time"},
            ]}])
        );
        assert_eq!(
            body["toolConfig"],
            json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}})
        );
        for (choice, mode) in [
            (ToolChoice::Auto, "AUTO"),
            (ToolChoice::None, "NONE"),
            (ToolChoice::Required, "ANY"),
        ] {
            let request = ChatRequest::new("x")
                .user("q")
                .tool(weather())
                .tool_choice(choice);
            assert_eq!(
                self::body(&request)["toolConfig"]["functionCallingConfig"]["mode"],
                mode
            );
        }
        let odd = ChatRequest::new("x")
            .user("q")
            .tool(weather())
            .tool_choice(ToolChoice::Other(json!({"type": "allowed_tools"})));
        assert_eq!(error(&odd).kind(), ErrorKind::Unsupported);
        let no_tools = ChatRequest::new("x")
            .user("q")
            .tool_choice(ToolChoice::Auto);
        assert!(self::body(&no_tools).get("toolConfig").is_none());
    }

    #[test]
    fn schema_cleaning() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "city": {"$ref": "#/$defs/City"},
                "unit": {"type": ["string", "null"], "enum": ["c", "f"]},
                "kind": {"const": "weather"},
                "tags": {"type": "array", "items": {"type": "string", "examples": ["a"]}},
                "either": {"oneOf": [{"type": "string"}, {"type": "integer", "exclusiveMinimum": 0}]},
            },
            "required": ["city"],
            "$defs": {"City": {"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": false}},
        });
        assert_eq!(
            gemini_schema(&schema).unwrap(),
            json!({
                "type": "object",
                "properties": {
                    "city": {"type": "object", "properties": {"name": {"type": "string"}}},
                    "unit": {"type": "string", "nullable": true, "enum": ["c", "f"]},
                    "kind": {"enum": ["weather"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                },
                "required": ["city"],
            })
        );
        let recursive = json!({"type": "object", "properties": {"child": {"$ref": "#"}}});
        assert_eq!(
            gemini_schema(&recursive).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        let dangling = json!({"properties": {"x": {"$ref": "other.json#/X"}}});
        assert_eq!(
            gemini_schema(&dangling).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }

    #[test]
    fn json_mode_and_schema() {
        let object = ChatRequest::new("x").user("q").json_mode();
        assert_eq!(
            body(&object)["generationConfig"],
            json!({"responseMimeType": "application/json"})
        );
        let schema = ChatRequest::new("x")
            .user("q")
            .response_format(ResponseFormat::JsonSchema {
                json_schema: JsonSchemaFormat {
                    name: "city".into(),
                    description: None,
                    schema: Some(json!({"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": false})),
                    strict: Some(true),
                },
            });
        assert_eq!(
            body(&schema)["generationConfig"],
            json!({"responseMimeType": "application/json",
                   "responseSchema": {"type": "object", "properties": {"name": {"type": "string"}}}})
        );
    }

    #[test]
    fn reasoning_effort_to_thinking_config() {
        let mut request = ChatRequest::new("x").user("q");
        for (model, effort, want) in [
            (
                "gemini-2.5-flash",
                "low",
                json!({"thinkingBudget": 1024, "includeThoughts": true}),
            ),
            (
                "gemini-2.5-pro",
                "medium",
                json!({"thinkingBudget": 8192, "includeThoughts": true}),
            ),
            (
                "gemini-2.5-pro",
                "high",
                json!({"thinkingBudget": 24576, "includeThoughts": true}),
            ),
            ("gemini-2.5-flash", "none", json!({"thinkingBudget": 0})),
            (
                "gemini-3-pro-preview",
                "minimal",
                json!({"thinkingLevel": "low", "includeThoughts": true}),
            ),
            (
                "gemini-3-pro-preview",
                "high",
                json!({"thinkingLevel": "high", "includeThoughts": true}),
            ),
        ] {
            request.reasoning_effort = Some(effort.into());
            let body = chat_value(model, &request, CallIds::Send).unwrap();
            assert_eq!(
                body["generationConfig"]["thinkingConfig"], want,
                "{model} {effort}"
            );
        }
        request.reasoning_effort = Some("extreme".into());
        assert_eq!(error(&request).kind(), ErrorKind::Unsupported);
        request.logprobs = Some(true);
        request.reasoning_effort = None;
        assert_eq!(error(&request).kind(), ErrorKind::Unsupported);
    }

    #[test]
    fn code_execution_goes_back_as_it_came() {
        // The parts of the recorded code-execution stream in the shared corpus
        // (gemini/pydantic-ai/test_code_execution), read back by the response side.
        let reply = super::super::response::parse_chat(
            br#"{"candidates": [{"content": {"parts": [
              {"executableCode": {"language": "PYTHON", "code": "print(6*7)", "id": "8xju"}, "thoughtSignature": "sigCode"},
              {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "42\n", "id": "8xju"}},
              {"text": "It is 42."},
              {"text": "", "thoughtSignature": "sigText"}], "role": "model"}, "finishReason": "STOP"}]}"#,
        )
        .unwrap();
        let mut assistant = reply.choices[0].message.clone();
        // Anthropic's code execution has the same name but is not Gemini's to run.
        let mut foreign = crate::types::ServerToolCall::new(
            Some("srvtoolu_1".into()),
            CODE_EXECUTION,
            Some(json!({"code": "1"})),
        );
        foreign
            .extra
            .insert("type".into(), "server_tool_use".into());
        assistant.server_tool_calls.as_mut().unwrap().push(foreign);
        let request = ChatRequest::new("x")
            .user("6*7?")
            .message(assistant)
            .user("Thanks");
        let want = |id: bool| {
            let mut code = json!({"language": "PYTHON", "code": "print(6*7)"});
            let mut result = json!({"outcome": "OUTCOME_OK", "output": "42\n"});
            if id {
                code["id"] = json!("8xju");
                result["id"] = json!("8xju");
            }
            json!([
                {"executableCode": code, "thoughtSignature": "sigCode"},
                {"codeExecutionResult": result},
                {"text": "It is 42.", "thoughtSignature": "sigText"},
            ])
        };
        assert_eq!(body(&request)["contents"][1]["parts"], want(true));
        assert_eq!(
            chat_value("m", &request, CallIds::Omit).unwrap()["contents"][1]["parts"],
            want(false)
        );
    }

    #[test]
    fn tool_round_trip_names_ids_and_signatures() {
        let mut synthetic =
            ToolCall::function("call_gemini_r_0_0", "get_weather", r#"{"city": "Paris"}"#);
        synthetic
            .extra
            .insert(THOUGHT_SIGNATURE.into(), json!("sigCall"));
        let mut assistant = Message {
            tool_calls: Some(vec![synthetic, ToolCall::function("fc-1", "now", "")]),
            reasoning_content: Some("hidden".into()),
            ..Message::assistant("Let me look.")
        };
        assistant
            .extra
            .insert(THOUGHT_SIGNATURES.into(), json!(["sigText"]));
        let request = ChatRequest::new("x")
            .user("Weather and time?")
            .message(assistant)
            .message(Message::tool("call_gemini_r_0_0", r#"{"temp": 21}"#))
            .message(Message::tool("fc-1", "12:00"))
            .user("And tomorrow?");
        let want = |ids: bool| {
            let mut call_b = json!({"name": "now", "args": {}});
            let mut response_b = json!({"name": "now", "response": {"content": "12:00"}});
            if ids {
                call_b["id"] = json!("fc-1");
                response_b["id"] = json!("fc-1");
            }
            json!([
                {"role": "user", "parts": [{"text": "Weather and time?"}]},
                {"role": "model", "parts": [
                    {"text": "Let me look.", "thoughtSignature": "sigText"},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sigCall"},
                    {"functionCall": call_b},
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
                    {"functionResponse": response_b},
                    {"text": "And tomorrow?"},
                ]},
            ])
        };
        assert_eq!(body(&request)["contents"], want(true));
        assert_eq!(
            chat_value("m", &request, CallIds::Omit).unwrap()["contents"],
            want(false)
        );

        let orphan = ChatRequest::new("x")
            .user("q")
            .message(Message::tool("nope", "x"));
        assert_eq!(error(&orphan).kind(), ErrorKind::InvalidRequest);
        let mut named = Message::tool("nope", "x");
        named.name = Some("lookup".into());
        let named = ChatRequest::new("x").user("q").message(named);
        assert_eq!(
            body(&named)["contents"][0]["parts"][1]["functionResponse"]["name"],
            "lookup"
        );
        // Calls from another provider get the placeholder signature on Gemini 3 only.
        let foreign = ChatRequest::new("x").user("q").message(Message {
            tool_calls: Some(vec![
                ToolCall::function("call_abc", "f", "{}"),
                ToolCall::function("call_def", "g", "{}"),
            ]),
            ..Message::assistant("")
        });
        let sent = chat_value("gemini-3-pro-preview", &foreign, CallIds::Send).unwrap();
        assert_eq!(
            sent["contents"][1]["parts"],
            json!([
                {"functionCall": {"name": "f", "args": {}, "id": "call_abc"}, "thoughtSignature": UNSIGNED_CALL_SIGNATURE},
                {"functionCall": {"name": "g", "args": {}, "id": "call_def"}},
            ])
        );
        let sent = chat_value("gemini-2.5-flash", &foreign, CallIds::Send).unwrap();
        assert!(sent["contents"][1]["parts"][0]
            .get("thoughtSignature")
            .is_none());
        let native = chat_value("gemini-3-pro-preview", &request, CallIds::Send).unwrap();
        assert_eq!(native["contents"], want(true));

        let broken = ChatRequest::new("x").user("q").message(Message {
            tool_calls: Some(vec![ToolCall::function("t", "f", "[1]")]),
            ..Message::assistant("")
        });
        assert_eq!(error(&broken).kind(), ErrorKind::InvalidRequest);
    }
}
