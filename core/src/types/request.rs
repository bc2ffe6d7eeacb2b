//! The chat-completions request, with every OpenAI parameter and OneLLM's own
//! `fallback_models` and `retries`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::message::{Content, ContentPart, Message, Role};
use super::Extra;

/// A chat-completions request in OpenAI's shape.
///
/// `model` is a OneLLM model id, `provider/model` (`openai/gpt-4o-mini`,
/// `anthropic/claude-sonnet-4-5`, `openrouter/anthropic/claude-3.5-sonnet`): everything after
/// the first `/` is passed to the provider verbatim.
///
/// ```
/// use onellm_core::ChatRequest;
///
/// let request = ChatRequest::new("openai/gpt-4o-mini")
///     .system("Answer in one word.")
///     .user("Capital of France?")
///     .max_tokens(5)
///     .fallback_models(["anthropic/claude-3-5-haiku-latest"]);
/// assert_eq!(request.messages.len(), 2);
/// ```
///
/// The fields are OpenAI's, with OpenAI's meaning. Adapters for other wire formats translate
/// what their provider has and drop or refuse the rest: each adapter's request module lists
/// what it does with every field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model: a `provider/model` id, a bare model name the catalog knows, or a router
    /// group's name.
    pub model: String,
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
    /// Sampling temperature: higher is more random (OpenAI takes 0 to 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling: only the tokens making up this much probability mass are drawn from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// The most tokens the reply may have. Each provider is sent the limit under the name it
    /// takes (OpenAI: `max_completion_tokens`); see [`token_limit`](Self::token_limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// The newer name of `max_tokens`, which OpenAI's reasoning models require; wins when both
    /// are set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// Sequences that end the reply where the model produces them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// How many choices to generate. Providers that answer with one choice refuse `n > 1` with
    /// an `unsupported` error rather than answer fewer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// A seed for providers that sample deterministically given one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Penalizes tokens that already appeared, encouraging new topics (OpenAI: -2 to 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Penalizes tokens by how often they appeared, discouraging repetition (OpenAI: -2 to 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Token id (as text) → bias added to its logit (OpenAI: -100 to 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<BTreeMap<String, f64>>,
    /// Whether to return the log probabilities of the reply's tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    /// With `logprobs`: how many most likely alternatives to return per token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    /// An id of the end user, for the provider's abuse monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Whether to stream the reply. [`Engine::chat`](crate::client::Engine::chat) clears it
    /// and [`Engine::chat_stream`](crate::client::Engine::chat_stream) sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Stream settings for OpenAI-format providers. When unset, a stream asks for the final
    /// usage chunk (`include_usage`) where the provider supports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Functions the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Whether and which tool the model must call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// `false` asks for at most one tool call per reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// The reply's format: text, any JSON object, or JSON matching a schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// `minimal`, `low`, `medium`, `high` (kept as text: providers add levels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// Key-value pairs stored with the completion by providers that keep them (OpenAI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// The processing tier asked for (OpenAI: `auto`, `default`, `flex`, `priority`); the
    /// reply's `service_tier` says which was used and prices it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// OneLLM: models to try, in order, when this one fails in a way another model may not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_models: Option<Vec<String>>,
    /// OneLLM: extra attempts per model on retryable errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// OneLLM: the total deadline of this call in seconds, over every attempt and wait
    /// (beats the client's timeout and `ONELLM_TIMEOUT`). Never sent to a provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// OneLLM: this call's cache controls (`no-cache`, `no-store`, `ttl`, `s-maxage`,
    /// `namespace`, as LiteLLM spells them). Never sent to a provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<crate::cache::CacheControl>,
    /// Parameters this version does not model, forwarded verbatim to OpenAI-format providers.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A [`ChatRequest`] as an OpenAI-format provider is sent it, borrowing the caller's
/// messages and tools (see [`ChatRequest::provider_view`]). Serializes like the request
/// itself, field for field.
#[derive(Debug, Serialize)]
pub(crate) struct ProviderView<'a> {
    pub model: &'a str,
    pub messages: &'a [Message],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<&'a Stop>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<&'a BTreeMap<String, f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<&'a [Tool]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<&'a ToolChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<&'a ResponseFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<&'a str>,
    #[serde(flatten)]
    pub extra: &'a Extra,
}

impl ChatRequest {
    /// An empty request for `model` (a `provider/model` id).
    pub fn new(model: impl Into<String>) -> Self {
        ChatRequest {
            model: model.into(),
            ..Default::default()
        }
    }

    /// Appends a message.
    pub fn message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    /// Appends a system message.
    pub fn system(self, text: impl Into<String>) -> Self {
        self.message(Message::system(text))
    }

    /// Appends a user message.
    pub fn user(self, text: impl Into<String>) -> Self {
        self.message(Message::user(text))
    }

    /// Appends a user message with text and an image (URL or `data:` URL).
    pub fn user_with_image(self, text: impl Into<String>, image_url: impl Into<String>) -> Self {
        self.message(Message::user_parts(vec![
            ContentPart::text(text),
            ContentPart::image_url(image_url),
        ]))
    }

    /// Appends an assistant message.
    pub fn assistant(self, text: impl Into<String>) -> Self {
        self.message(Message::assistant(text))
    }

    /// Sets `max_tokens`.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets `temperature`.
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Adds a function tool.
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.get_or_insert_with(Vec::new).push(tool);
        self
    }

    /// Sets `tool_choice`.
    pub fn tool_choice(mut self, choice: ToolChoice) -> Self {
        self.tool_choice = Some(choice);
        self
    }

    /// Sets `response_format`.
    pub fn response_format(mut self, format: ResponseFormat) -> Self {
        self.response_format = Some(format);
        self
    }

    /// Asks for a JSON object reply (`response_format: {"type": "json_object"}`).
    pub fn json_mode(self) -> Self {
        self.response_format(ResponseFormat::JsonObject)
    }

    /// Asks for a reply that is JSON matching `schema`, in strict mode (see
    /// [`ResponseFormat::json_schema`]). Every family honours it: OpenAI-format providers
    /// natively, Anthropic and Bedrock through a tool the model is made to call, whose input
    /// comes back as the reply's text; read it with [`ChatCompletion::parse`].
    ///
    /// [`ChatCompletion::parse`]: crate::ChatCompletion::parse
    ///
    /// ```
    /// use onellm_core::{ChatRequest, ResponseFormat};
    /// use serde_json::json;
    ///
    /// let request = ChatRequest::new("openai/gpt-4o-mini")
    ///     .user("Invent a person.")
    ///     .json_schema("person", json!({
    ///         "type": "object",
    ///         "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    ///         "required": ["name", "age"],
    ///         "additionalProperties": false
    ///     }));
    /// let Some(ResponseFormat::JsonSchema { json_schema }) = &request.response_format else {
    ///     panic!("a json_schema format");
    /// };
    /// assert_eq!(json_schema.name, "person");
    /// assert_eq!(json_schema.strict, Some(true));
    /// ```
    pub fn json_schema(self, name: impl Into<String>, schema: Value) -> Self {
        self.response_format(ResponseFormat::json_schema(name, schema))
    }

    /// Sets `top_p` (nucleus sampling: only the tokens making up this much probability mass).
    ///
    /// ```
    /// # use onellm_core::ChatRequest;
    /// let request = ChatRequest::new("openai/gpt-4o-mini").top_p(0.9);
    /// assert_eq!(request.top_p, Some(0.9));
    /// ```
    pub fn top_p(mut self, top_p: f64) -> Self {
        self.top_p = Some(top_p);
        self
    }

    /// Sets `seed`, for providers that sample deterministically given one (OpenAI, Mistral,
    /// Gemini, …; others ignore it).
    ///
    /// ```
    /// # use onellm_core::ChatRequest;
    /// let request = ChatRequest::new("openai/gpt-4o-mini").seed(42);
    /// assert_eq!(request.seed, Some(42));
    /// ```
    pub fn seed(mut self, seed: i64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sets the stop sequences: one text or several.
    ///
    /// ```
    /// # use onellm_core::{ChatRequest, Stop};
    /// let one = ChatRequest::new("openai/gpt-4o-mini").stop("END");
    /// assert_eq!(one.stop, Some(Stop::One("END".into())));
    /// let several = ChatRequest::new("openai/gpt-4o-mini").stop(["END", "\n\n"]);
    /// assert_eq!(several.stop.unwrap().to_vec(), ["END", "\n\n"]);
    /// ```
    pub fn stop(mut self, stop: impl Into<Stop>) -> Self {
        self.stop = Some(stop.into());
        self
    }

    /// Sets `reasoning_effort` (`minimal`, `low`, `medium`, `high`; kept as text because
    /// providers add levels). Anthropic turns it into an extended-thinking budget.
    ///
    /// ```
    /// # use onellm_core::ChatRequest;
    /// let request = ChatRequest::new("openai/o4-mini").reasoning_effort("low");
    /// assert_eq!(request.reasoning_effort.as_deref(), Some("low"));
    /// ```
    pub fn reasoning_effort(mut self, effort: impl Into<String>) -> Self {
        self.reasoning_effort = Some(effort.into());
        self
    }

    /// Sets `parallel_tool_calls`: `false` asks for at most one tool call per reply.
    ///
    /// ```
    /// # use onellm_core::ChatRequest;
    /// let request = ChatRequest::new("openai/gpt-4o-mini").parallel_tool_calls(false);
    /// assert_eq!(request.parallel_tool_calls, Some(false));
    /// ```
    pub fn parallel_tool_calls(mut self, parallel: bool) -> Self {
        self.parallel_tool_calls = Some(parallel);
        self
    }

    /// Sets `max_completion_tokens`, the newer name of the token limit (required by
    /// OpenAI's reasoning models, which reject `max_tokens`).
    ///
    /// ```
    /// # use onellm_core::ChatRequest;
    /// let request = ChatRequest::new("openai/o4-mini").max_completion_tokens(256);
    /// assert_eq!(request.token_limit(), Some(256));
    /// ```
    pub fn max_completion_tokens(mut self, max_completion_tokens: u32) -> Self {
        self.max_completion_tokens = Some(max_completion_tokens);
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

    /// Sets the extra attempts per model.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// Sets this call's total deadline (OneLLM's `timeout` field, in seconds).
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout.as_secs_f64());
        self
    }

    /// A copy addressed to `model` (the provider's own model name) with OneLLM's fields
    /// (`fallback_models`, `retries`, `timeout`) removed: what an OpenAI-format provider is
    /// sent. Kept beside the fields so a new OneLLM field is cleared in one place.
    pub fn for_provider(&self, model: &str) -> Self {
        let mut body = self.clone();
        model.clone_into(&mut body.model);
        body.fallback_models = None;
        body.retries = None;
        body.timeout = None;
        body.cache = None;
        body
    }

    /// What [`for_provider`](Self::for_provider) makes, borrowed instead of copied, with
    /// the stream flag and token-limit fields left to the caller: serializing this instead of
    /// a clone spared a third of building a small OpenAI request.
    pub(crate) fn provider_view<'a>(&'a self, model: &'a str) -> ProviderView<'a> {
        // Destructured in full, so a field added to `ChatRequest` does not compile until it
        // is either sent here or deliberately left out like OneLLM's own three.
        let ChatRequest {
            model: _,
            cache: _,
            messages,
            temperature,
            top_p,
            max_tokens,
            max_completion_tokens,
            stop,
            n,
            seed,
            presence_penalty,
            frequency_penalty,
            logit_bias,
            logprobs,
            top_logprobs,
            user,
            stream: _,
            stream_options,
            tools,
            tool_choice,
            parallel_tool_calls,
            response_format,
            reasoning_effort,
            metadata,
            service_tier,
            fallback_models: _,
            retries: _,
            timeout: _,
            extra,
        } = self;
        ProviderView {
            model,
            messages,
            temperature: *temperature,
            top_p: *top_p,
            max_tokens: *max_tokens,
            max_completion_tokens: *max_completion_tokens,
            stop: stop.as_ref(),
            n: *n,
            seed: *seed,
            presence_penalty: *presence_penalty,
            frequency_penalty: *frequency_penalty,
            logit_bias: logit_bias.as_ref(),
            logprobs: *logprobs,
            top_logprobs: *top_logprobs,
            user: user.as_deref(),
            stream: None,
            stream_options: stream_options.clone(),
            tools: tools.as_deref(),
            tool_choice: tool_choice.as_ref(),
            parallel_tool_calls: *parallel_tool_calls,
            response_format: response_format.as_ref(),
            reasoning_effort: reasoning_effort.as_deref(),
            metadata: metadata.as_ref(),
            service_tier: service_tier.as_deref(),
            extra,
        }
    }

    /// Whether the caller asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.stream == Some(true)
    }

    /// The system and developer messages' text, joined by blank lines (for providers that
    /// take instructions outside the message list).
    pub fn system_text(&self) -> Option<String> {
        let texts: Vec<String> = self
            .messages
            .iter()
            .filter(|message| matches!(message.role, Role::System | Role::Developer))
            .map(|message| {
                message
                    .content
                    .as_ref()
                    .map(Content::text)
                    .unwrap_or_default()
            })
            .collect();
        (!texts.is_empty()).then(|| texts.join("\n\n"))
    }

    /// The token limit the caller set, whichever field they used.
    pub fn token_limit(&self) -> Option<u32> {
        self.max_completion_tokens.or(self.max_tokens)
    }
}

/// `stop`: one sequence or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    /// One stop sequence.
    One(String),
    /// Several stop sequences.
    Many(Vec<String>),
}

impl From<&str> for Stop {
    fn from(one: &str) -> Self {
        Stop::One(one.to_owned())
    }
}

impl From<String> for Stop {
    fn from(one: String) -> Self {
        Stop::One(one)
    }
}

impl From<Vec<String>> for Stop {
    fn from(many: Vec<String>) -> Self {
        Stop::Many(many)
    }
}

impl From<Vec<&str>> for Stop {
    fn from(many: Vec<&str>) -> Self {
        Stop::Many(many.into_iter().map(str::to_owned).collect())
    }
}

impl<const N: usize> From<[&str; N]> for Stop {
    fn from(many: [&str; N]) -> Self {
        Stop::Many(many.into_iter().map(str::to_owned).collect())
    }
}

impl Stop {
    /// The sequences as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            Stop::One(one) => vec![one.clone()],
            Stop::Many(many) => many.clone(),
        }
    }
}

/// `stream_options`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Whether the stream ends with a chunk carrying the call's token usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// Options this version does not model, sent verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A tool the model may call. Only `function` tools exist in chat completions; other types
/// are kept in `extra` with `kind` naming them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The tool's type (`type`): `function`.
    #[serde(rename = "type", default = "super::message::function_type")]
    pub kind: String,
    /// The function the model may call.
    pub function: FunctionDefinition,
    /// Fields this version does not model, sent verbatim to OpenAI-format providers.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Tool {
    /// A function tool with a JSON-schema `parameters` object.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        Tool {
            kind: super::message::function_type(),
            function: FunctionDefinition {
                name: name.into(),
                description: Some(description.into()),
                parameters: Some(parameters),
                strict: None,
                extra: Extra::new(),
            },
            extra: Extra::new(),
        }
    }
}

/// A function's name, description and JSON-schema parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDefinition {
    /// The name the model calls it by (OpenAI allows `[a-zA-Z0-9_-]{1,64}`).
    pub name: String,
    /// What the function does, so the model knows when to call it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The arguments as a JSON schema (an `object`); `None` for a function without arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Whether the arguments must match `parameters` exactly (OpenAI's strict mode, with its
    /// schema rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Fields this version does not model, sent verbatim to OpenAI-format providers.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `tool_choice`: a mode string or one named function.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolChoice {
    /// Never call tools.
    None,
    /// The model decides.
    Auto,
    /// The model must call at least one tool.
    Required,
    /// The model must call this function.
    Function(String),
    /// A form this version does not know, kept verbatim.
    Other(Value),
}

impl Serialize for ToolChoice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ToolChoice::None => serializer.serialize_str("none"),
            ToolChoice::Auto => serializer.serialize_str("auto"),
            ToolChoice::Required => serializer.serialize_str("required"),
            ToolChoice::Function(name) => serde_json::json!({
                "type": "function",
                "function": {"name": name},
            })
            .serialize(serializer),
            ToolChoice::Other(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ToolChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(match value.as_str() {
            Some("none") => ToolChoice::None,
            Some("auto") => ToolChoice::Auto,
            Some("required") => ToolChoice::Required,
            _ => match value.pointer("/function/name").and_then(Value::as_str) {
                Some(name) if value.get("type").and_then(Value::as_str) == Some("function") => {
                    ToolChoice::Function(name.to_owned())
                }
                _ => ToolChoice::Other(value),
            },
        })
    }
}

/// `response_format`: plain text, any JSON object, or JSON matching a schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Plain text, the default.
    Text,
    /// Any JSON object (JSON mode).
    JsonObject,
    /// JSON matching a schema (structured output); see [`ResponseFormat::json_schema`].
    JsonSchema {
        /// The schema, its name and whether it is strict.
        json_schema: JsonSchemaFormat,
    },
}

impl ResponseFormat {
    /// A `json_schema` format named `name` (OpenAI allows `[a-zA-Z0-9_-]{1,64}`), strict:
    /// a provider that supports strict mode then only produces JSON that matches `schema`.
    /// Strict mode has rules of its own at OpenAI (every property listed in `required`,
    /// `additionalProperties: false` on every object); [`JsonSchemaFormat::strict`] turns it
    /// off for a schema that does not follow them.
    ///
    /// ```
    /// use onellm_core::ResponseFormat;
    /// use serde_json::json;
    ///
    /// let format = ResponseFormat::json_schema("answer", json!({
    ///     "type": "object",
    ///     "properties": {"answer": {"type": "string"}},
    ///     "required": ["answer"],
    ///     "additionalProperties": false
    /// }));
    /// assert_eq!(serde_json::to_value(&format).unwrap()["json_schema"]["strict"], true);
    /// ```
    pub fn json_schema(name: impl Into<String>, schema: Value) -> Self {
        ResponseFormat::JsonSchema {
            json_schema: JsonSchemaFormat::new(name, schema),
        }
    }
}

impl From<JsonSchemaFormat> for ResponseFormat {
    fn from(json_schema: JsonSchemaFormat) -> Self {
        ResponseFormat::JsonSchema { json_schema }
    }
}

/// The schema of a `json_schema` response format.
///
/// ```
/// use onellm_core::{ChatRequest, JsonSchemaFormat};
/// use serde_json::json;
///
/// let format = JsonSchemaFormat::new("tags", json!({"type": "object"}))
///     .description("Tags that describe the text.")
///     .strict(false);
/// let request = ChatRequest::new("openai/gpt-4o-mini").response_format(format.into());
/// assert!(request.response_format.is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonSchemaFormat {
    /// The schema's name (OpenAI allows `[a-zA-Z0-9_-]{1,64}`).
    pub name: String,
    /// What the JSON is for, to guide the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON schema the reply must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Whether the reply must match `schema` exactly (strict mode, with OpenAI's schema rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

impl JsonSchemaFormat {
    /// A strict format named `name` with `schema` (see [`ResponseFormat::json_schema`]).
    pub fn new(name: impl Into<String>, schema: Value) -> Self {
        JsonSchemaFormat {
            name: name.into(),
            description: None,
            schema: Some(schema),
            strict: Some(true),
        }
    }

    /// Sets the description, which tells the model what the JSON is for.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Turns strict mode on or off (on by default with [`JsonSchemaFormat::new`]).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = Some(strict);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_openai_body_round_trips() {
        let raw = json!({
            "model": "openai/gpt-4o",
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "hi"}], "name": "ann"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "content": "42", "tool_call_id": "c1"}
            ],
            "temperature": 0.5, "top_p": 0.9, "max_tokens": 10, "max_completion_tokens": 20,
            "stop": ["x", "y"], "n": 2, "seed": 7, "presence_penalty": 0.1,
            "frequency_penalty": 0.2, "logit_bias": {"50256": -100.0}, "logprobs": true,
            "top_logprobs": 3, "user": "u1", "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [{"type": "function", "function": {"name": "f", "description": "d",
                "parameters": {"type": "object"}, "strict": true}}],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
            "parallel_tool_calls": false,
            "response_format": {"type": "json_schema", "json_schema": {"name": "s",
                "schema": {"type": "object"}, "strict": true}},
            "reasoning_effort": "low", "metadata": {"k": "v"}, "service_tier": "auto",
            "fallback_models": ["anthropic/claude-3-5-haiku-latest"], "retries": 1, "timeout": 2.5,
            "prediction": {"type": "content", "content": "x"}
        });
        let request: ChatRequest = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(
            request.tool_choice,
            Some(ToolChoice::Function("f".to_owned()))
        );
        assert!(request.extra.contains_key("prediction"));
        assert_eq!(serde_json::to_value(&request).unwrap(), raw);
    }

    #[test]
    fn provider_view_serializes_as_for_provider_does() {
        let raw = json!({
            "model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.5, "top_p": 0.9, "max_tokens": 7, "max_completion_tokens": 8,
            "stop": ["x"], "n": 2, "seed": -3, "presence_penalty": 0.1,
            "frequency_penalty": 0.2, "logit_bias": {"42": -1.0}, "logprobs": true,
            "top_logprobs": 2, "user": "u", "stream": true,
            "stream_options": {"include_usage": true},
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
            "tool_choice": "auto", "parallel_tool_calls": false,
            "response_format": {"type": "json_object"}, "reasoning_effort": "low",
            "metadata": {"k": "v"}, "service_tier": "flex", "fallback_models": ["a/b"],
            "retries": 1, "timeout": 3.0, "prediction": {"type": "content", "content": "p"}
        });
        let request: ChatRequest = serde_json::from_value(raw).unwrap();
        let mut view = request.provider_view("gpt-4o");
        view.stream = request.stream;
        assert_eq!(
            serde_json::to_value(&view).unwrap(),
            serde_json::to_value(request.for_provider("gpt-4o")).unwrap()
        );
    }

    #[test]
    fn for_provider_clears_onellm_fields_only() {
        let request = ChatRequest::new("openai/gpt-4o")
            .user("hi")
            .fallback_models(["x/y"])
            .retries(3)
            .with_timeout(std::time::Duration::from_secs(2))
            .max_tokens(5);
        let body = serde_json::to_value(request.for_provider("gpt-4o")).unwrap();
        assert_eq!(body["model"], "gpt-4o");
        assert_eq!(body["max_tokens"], 5);
        for field in ["fallback_models", "retries", "timeout"] {
            assert!(body.get(field).is_none(), "{field} sent to the provider");
        }
    }

    #[test]
    fn tool_choice_modes() {
        for mode in ["none", "auto", "required"] {
            let choice: ToolChoice = serde_json::from_value(json!(mode)).unwrap();
            assert_eq!(serde_json::to_value(choice).unwrap(), json!(mode));
        }
        let odd: ToolChoice = serde_json::from_value(json!({"type": "any"})).unwrap();
        assert_eq!(odd, ToolChoice::Other(json!({"type": "any"})));
    }

    #[test]
    fn builder_and_system_text() {
        let request = ChatRequest::new("anthropic/claude")
            .system("a")
            .message(Message::new(Role::Developer, "b"))
            .user("hi");
        assert_eq!(request.system_text().as_deref(), Some("a\n\nb"));
        assert_eq!(ChatRequest::new("x").user("q").system_text(), None);
    }
}
