//! Cohere's v2 API: `POST /v2/chat` and `POST /v2/embed`, translated to and from OpenAI's
//! shape.
//!
//! In brief (each file's docs list its rules in full: `request.rs`, `response.rs`,
//! `stream.rs`, `error.rs`):
//! - Messages, tools (OpenAI function tools pass nearly as they are), `tool_choice`
//!   (`REQUIRED` / `NONE`), JSON mode and schemas (`response_format`), sampling parameters,
//!   images (`image_url` parts, for Cohere's vision models) and `reasoning_effort`
//!   (`thinking`) are translated. Retrieval-augmented generation (`documents`) is not, and
//!   asking for it is `Unsupported`.
//! - Replies: text → `content`; thinking and the tool plan → `reasoning_content`; tool calls
//!   keep their ids. Citations are skipped.
//! - Streams are SSE, `message-start` … `message-end`; `finish_reason: ERROR` is a typed error.
//! - Only v2 is spoken: the legacy v1 API (`/v1/chat`, `application/stream+json`) has no
//!   adapter.
//!
//! The key is a bearer token from `COHERE_API_KEY` (or `CO_API_KEY`, the SDK's name).

mod error;
mod request;
mod response;
mod stream;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::{Capabilities, ChatStreamDecoder, Provider, SseChatStream};
use crate::error::Error;
use crate::settings::{ApiKey, ProviderSettings};
use crate::types::{ChatCompletion, ChatRequest, EmbeddingRequest, EmbeddingResponse};

pub use request::DEFAULT_INPUT_TYPE;

/// Cohere's API, without the version path (the adapter adds `/v2/…`).
pub const DEFAULT_BASE_URL: &str = "https://api.cohere.com";

/// The Cohere v2 adapter.
///
/// ```
/// use onellm_core::provider::cohere::Cohere;
/// use onellm_core::{ChatRequest, Provider, ProviderSettings};
///
/// let settings = ProviderSettings { api_key: Some("co-test".into()), ..Default::default() };
/// let cohere = Cohere::new(&settings);
/// let request = ChatRequest::new("cohere/command-r-plus").user("Hello!");
/// let http_request = cohere.build_chat("command-r-plus", &request, false).unwrap();
/// assert_eq!(http_request.uri(), "https://api.cohere.com/v2/chat");
/// ```
#[derive(Debug, Clone)]
pub struct Cohere {
    /// The base URL without a trailing `/v2`.
    base_url: String,
    api_key: Option<ApiKey>,
    headers: Vec<(String, String)>,
}

impl Cohere {
    /// An adapter with `settings`. A base URL given with `/v2` (or `/v1`, the SDK's older
    /// convention) has it replaced by `/v2`.
    pub fn new(settings: &ProviderSettings) -> Cohere {
        Cohere {
            base_url: super::base_url_without(settings, DEFAULT_BASE_URL, &["/v2", "/v1"]),
            api_key: settings.api_key.clone(),
            headers: settings.headers.clone(),
        }
    }

    fn post(&self, path: &str, body: Vec<u8>, stream: bool) -> Result<http::Request<Bytes>, Error> {
        let url = format!("{}/v2/{path}", self.base_url);
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        super::bearer_json_post(&url, accept, self.api_key.as_ref(), &self.headers, body)
    }
}

impl Provider for Cohere {
    fn name(&self) -> &str {
        "cohere"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            streaming: true,
            tools: true,
            // Vision models (command-a-vision) take image_url parts on v2 chat.
            vision: true,
            json_mode: true,
            embeddings: true,
            completions: false,
            reasoning: true,
        }
    }

    fn build_chat(
        &self,
        model: &str,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<http::Request<Bytes>, Error> {
        self.post("chat", request::chat_body(model, request, stream)?, stream)
    }

    fn parse_chat(&self, response: &http::Response<Bytes>) -> Result<ChatCompletion, Error> {
        super::parse_whole_without_key(self, self.api_key.as_ref(), response, response::parse_chat)
    }

    fn chat_stream_decoder(&self, _model: &str) -> Box<dyn ChatStreamDecoder> {
        Box::new(SseChatStream::new(
            stream::CohereEvents::default(),
            self.api_key.clone(),
        ))
    }

    fn parse_error(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
        error::parse_error(status, headers, body).without_key(self.api_key.as_ref())
    }

    fn build_embeddings(
        &self,
        model: &str,
        request: &EmbeddingRequest,
    ) -> Result<http::Request<Bytes>, Error> {
        self.post("embed", request::embed_body(model, request)?, false)
    }

    fn parse_embeddings(
        &self,
        response: &http::Response<Bytes>,
    ) -> Result<EmbeddingResponse, Error> {
        super::parse_whole_without_key(
            self,
            self.api_key.as_ref(),
            response,
            response::parse_embeddings,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::model::ModelId;
    use crate::registry::Registry;
    use crate::types::{Message, Tool, ToolCall};
    use serde_json::{json, Value};

    const KEY: &str = "co-canary-key-123";

    fn response(status: u16, body: &str) -> http::Response<Bytes> {
        http::Response::builder()
            .status(status)
            .body(Bytes::from(body.to_owned()))
            .unwrap()
    }

    #[test]
    fn registry_key_alias_urls_and_hidden_key() {
        let env = |name: &str| (name == "CO_API_KEY").then(|| KEY.to_owned());
        let id = ModelId::parse("cohere/command-r-plus").unwrap();
        let provider = Registry::from_lookup(env).resolve(&id).unwrap();
        let request = provider
            .build_chat(id.model(), &ChatRequest::new("x").user("q"), true)
            .unwrap();
        assert_eq!(request.uri(), "https://api.cohere.com/v2/chat");
        assert_eq!(request.headers()["authorization"], format!("Bearer {KEY}"));
        assert!(request.headers()["authorization"].is_sensitive());
        assert_eq!(request.headers()["accept"], "text/event-stream");
        assert!(!format!("{provider:?}").contains(KEY));
        let embed = provider
            .build_embeddings("embed-v4.0", &EmbeddingRequest::new("x", ["t"]))
            .unwrap();
        assert_eq!(embed.uri(), "https://api.cohere.com/v2/embed");

        let error = Registry::new().resolve(&id).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Configuration);
        assert!(error.message().contains("COHERE_API_KEY"), "{error}");

        for base in [
            "http://127.0.0.1:9/",
            "http://127.0.0.1:9/v2",
            "http://127.0.0.1:9/v1",
        ] {
            let cohere = Cohere::new(&ProviderSettings {
                base_url: Some(base.into()),
                ..ProviderSettings::default()
            });
            let request = cohere
                .build_chat("m", &ChatRequest::new("x").user("q"), false)
                .unwrap();
            assert_eq!(request.uri(), "http://127.0.0.1:9/v2/chat");
        }
    }

    #[test]
    fn errors_are_redacted() {
        let cohere = Cohere::new(&ProviderSettings {
            api_key: Some(KEY.into()),
            ..ProviderSettings::default()
        });
        let error = cohere
            .parse_chat(&response(
                401,
                &format!(r#"{{"message":"invalid api token {KEY}"}}"#),
            ))
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Authentication);
        assert!(!format!("{error} {error:?}").contains(KEY));
    }

    /// An OpenAI conversation with a tool call, its result and a follow-up goes to Cohere and
    /// a simulated reply comes back: no id, name or arguments are lost either way.
    #[test]
    fn tool_round_trip() {
        let cohere = Cohere::new(&ProviderSettings::default());
        let reply = cohere
            .parse_chat(&response(
                200,
                r#"{"id":"r1","message":{"role":"assistant","tool_plan":"I will check.","tool_calls":[{"id":"get_weather_abc123","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"TOOL_CALL","usage":{"tokens":{"input_tokens":9,"output_tokens":4}}}"#,
            ))
            .unwrap();
        let assistant: Message = reply.choices[0].message.clone();
        let request = ChatRequest::new("cohere/command-r-plus")
            .user("Weather in Paris?")
            .tool(Tool::function(
                "get_weather",
                "Weather",
                json!({"type": "object"}),
            ))
            .message(assistant)
            .message(Message::tool("get_weather_abc123", "21°C"))
            .user("And tomorrow?");
        let http_request = cohere
            .build_chat("command-r-plus", &request, false)
            .unwrap();
        let body: Value = serde_json::from_slice(http_request.body()).unwrap();
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 4);
        assert_eq!(messages[1]["tool_plan"], "I will check.");
        assert_eq!(messages[1]["tool_calls"][0]["id"], "get_weather_abc123");
        assert_eq!(
            messages[1]["tool_calls"][0]["function"]["name"],
            "get_weather"
        );
        assert_eq!(
            messages[1]["tool_calls"][0]["function"]["arguments"],
            "{\"city\":\"Paris\"}"
        );
        assert_eq!(
            messages[2],
            json!({"role": "tool", "tool_call_id": "get_weather_abc123", "content": "21°C"})
        );
        assert_eq!(
            messages[3],
            json!({"role": "user", "content": "And tomorrow?"})
        );

        let follow_up = cohere
            .parse_chat(&response(
                200,
                r#"{"id":"r2","message":{"role":"assistant","tool_calls":[{"id":"get_weather_def456","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"day\":\"tomorrow\"}"}}]},"finish_reason":"TOOL_CALL"}"#,
            ))
            .unwrap();
        let call: &ToolCall = &follow_up.choices[0].message.tool_calls.as_ref().unwrap()[0];
        assert_eq!(call.id, "get_weather_def456");
        assert_eq!(
            serde_json::from_str::<Value>(&call.function.arguments).unwrap(),
            json!({"city": "Paris", "day": "tomorrow"})
        );
    }
}
