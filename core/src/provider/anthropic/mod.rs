//! The Anthropic Messages API (`POST /v1/messages`), translated to and from OpenAI's shape.
//!
//! In brief (each file's docs list its rules in full: `request.rs`, `response.rs`,
//! `stream.rs`, `error.rs`):
//! - System messages become `system`; turns are merged to alternate; tool results become
//!   `tool_result` blocks; `max_tokens` is always sent (a per-model default when the caller
//!   gives none); `reasoning_effort` turns on extended thinking; a JSON `response_format` is
//!   served by a forced tool whose call comes back as `content`. OpenAI-only parameters are
//!   dropped because Anthropic rejects unknown fields.
//! - Replies: text → `content`, `tool_use` → `tool_calls`, thinking → `reasoning_content`
//!   plus signed `thinking_blocks` on the message, which are sent back on the next turn so
//!   multi-turn extended thinking works. Cached prompt tokens are counted in
//!   `prompt_tokens` and reported in `prompt_tokens_details`.
//! - Streams fold (with [`ChunkAccumulator`](crate::ChunkAccumulator)) into the same
//!   completion the whole reply gives; `event: error` mid-stream is a typed error.

mod error;
mod request;
mod response;
mod stream;

// Shared with Bedrock, which serves Claude (and others) with the same thinking blocks and
// the same `response_format` stand-in tool.
pub(crate) use request::{is_json_tool, json_tool, thinking, thinking_blocks};
pub(crate) use response::{input_json, redacted_thinking_block, thinking_block, THINKING_BLOCKS};
pub(crate) use stream::arguments_delta;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::{Capabilities, ChatStreamDecoder, Provider, SseChatStream};
use crate::error::Error;
use crate::settings::{ApiKey, ProviderSettings};
use crate::types::{ChatCompletion, ChatRequest};

/// Anthropic's API, where the official SDKs point by default (they add `/v1/…` themselves).
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The API version this adapter speaks (`anthropic-version` header).
pub const API_VERSION: &str = "2023-06-01";

/// The Anthropic adapter: base URL, key and extra headers.
///
/// ```
/// use onellm_core::provider::anthropic::Anthropic;
/// use onellm_core::{ChatRequest, Provider, ProviderSettings};
///
/// let settings = ProviderSettings { api_key: Some("sk-ant-test".into()), ..Default::default() };
/// let anthropic = Anthropic::new(&settings);
/// let request = ChatRequest::new("anthropic/claude-sonnet-4-5").user("Hello!");
/// let http_request = anthropic.build_chat("claude-sonnet-4-5", &request, false).unwrap();
/// assert_eq!(http_request.uri(), "https://api.anthropic.com/v1/messages");
/// assert_eq!(http_request.headers()["anthropic-version"], "2023-06-01");
/// ```
#[derive(Debug, Clone)]
pub struct Anthropic {
    /// The full messages URL.
    messages_url: String,
    api_key: Option<ApiKey>,
    headers: Vec<(String, String)>,
}

impl Anthropic {
    /// An adapter with `settings`. The base URL follows the SDK convention (no `/v1`); one
    /// given with `/v1` or as the full `/v1/messages` URL is accepted too.
    pub fn new(settings: &ProviderSettings) -> Anthropic {
        let base = super::base_url_without(settings, DEFAULT_BASE_URL, &[]);
        let messages_url = if base.ends_with("/v1/messages") {
            base.to_owned()
        } else if base.ends_with("/v1") {
            format!("{base}/messages")
        } else {
            format!("{base}/v1/messages")
        };
        Anthropic {
            messages_url,
            api_key: settings.api_key.clone(),
            headers: settings.headers.clone(),
        }
    }
}

impl Provider for Anthropic {
    fn name(&self) -> &str {
        "anthropic"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            streaming: true,
            tools: true,
            vision: true,
            json_mode: true,
            embeddings: false,
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
        let body = request::chat_body(model, request, stream)?;
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let mut headers = vec![("accept", accept), ("anthropic-version", API_VERSION)];
        if let Some(key) = &self.api_key {
            headers.push(("x-api-key", key.expose()));
        }
        super::json_post(&self.messages_url, &headers, &self.headers, body)
    }

    fn parse_chat(&self, response: &http::Response<Bytes>) -> Result<ChatCompletion, Error> {
        super::parse_whole_without_key(self, self.api_key.as_ref(), response, response::parse_chat)
    }

    fn chat_stream_decoder(&self, _model: &str) -> Box<dyn ChatStreamDecoder> {
        Box::new(SseChatStream::new(
            stream::AnthropicEvents::default(),
            self.api_key.clone(),
        ))
    }

    fn parse_error(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
        error::parse_error(status, headers, body).without_key(self.api_key.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::model::ModelId;
    use crate::registry::Registry;
    use crate::types::{Message, Tool};
    use serde_json::{json, Value};

    const KEY: &str = "sk-ant-api03-canary-key";

    fn anthropic() -> Anthropic {
        Anthropic::new(&ProviderSettings {
            api_key: Some(KEY.into()),
            headers: vec![("anthropic-beta".into(), "prompt-caching-2024-07-31".into())],
            ..ProviderSettings::default()
        })
    }

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> http::Response<Bytes> {
        let mut builder = http::Response::builder().status(status);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Bytes::from(body.to_owned())).unwrap()
    }

    #[test]
    fn request_headers_url_and_hidden_key() {
        let request = ChatRequest::new("anthropic/claude-3-5-haiku-latest").user("Hi");
        let http_request = anthropic()
            .build_chat("claude-3-5-haiku-latest", &request, true)
            .unwrap();
        assert_eq!(http_request.method(), http::Method::POST);
        assert_eq!(http_request.uri(), "https://api.anthropic.com/v1/messages");
        let headers = http_request.headers();
        assert_eq!(headers["x-api-key"], KEY);
        assert!(headers["x-api-key"].is_sensitive());
        assert_eq!(headers["anthropic-version"], API_VERSION);
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers["accept"], "text/event-stream");
        assert_eq!(headers["anthropic-beta"], "prompt-caching-2024-07-31");
        assert!(headers.get("authorization").is_none());
        assert!(!format!("{http_request:?}").contains(KEY));
        assert!(!format!("{:?}", anthropic()).contains(KEY));
        let body: Value = serde_json::from_slice(http_request.body()).unwrap();
        assert_eq!(body["model"], "claude-3-5-haiku-latest");
        assert_eq!(body["stream"], true);
        assert_eq!(body["max_tokens"], 8192);
    }

    #[test]
    fn base_url_forms() {
        for (base, want) in [
            (None, "https://api.anthropic.com/v1/messages"),
            (
                Some("http://127.0.0.1:8080"),
                "http://127.0.0.1:8080/v1/messages",
            ),
            (
                Some("https://proxy.example/anthropic/"),
                "https://proxy.example/anthropic/v1/messages",
            ),
            (
                Some("https://proxy.example/v1"),
                "https://proxy.example/v1/messages",
            ),
            (
                Some("https://proxy.example/v1/messages"),
                "https://proxy.example/v1/messages",
            ),
        ] {
            let provider = Anthropic::new(&ProviderSettings {
                base_url: base.map(str::to_owned),
                ..ProviderSettings::default()
            });
            let request = provider
                .build_chat("m", &ChatRequest::new("x").user("q"), false)
                .unwrap();
            assert_eq!(request.uri(), want);
            assert!(request.headers().get("x-api-key").is_none());
        }
    }

    #[test]
    fn registry_resolves_with_key_and_base_url_from_env() {
        let env = |name: &str| match name {
            "ANTHROPIC_API_KEY" => Some(KEY.to_owned()),
            "ANTHROPIC_BASE_URL" => Some("http://localhost:9999".to_owned()),
            _ => None,
        };
        let id = ModelId::parse("anthropic/claude-sonnet-4-5").unwrap();
        let provider = Registry::from_lookup(env).resolve(&id).unwrap();
        assert_eq!(provider.name(), "anthropic");
        let request = provider
            .build_chat(id.model(), &ChatRequest::new("x").user("q"), false)
            .unwrap();
        assert_eq!(request.uri(), "http://localhost:9999/v1/messages");
        assert_eq!(request.headers()["x-api-key"], KEY);

        let error = Registry::new().resolve(&id).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Configuration);
        assert!(error.message().contains("ANTHROPIC_API_KEY"), "{error}");
    }

    #[test]
    fn parse_chat_checks_status_and_redacts() {
        let provider = anthropic();
        let ok = response(
            200,
            &[],
            r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[{"type":"text","text":"Hi!"}],"stop_reason":"end_turn","usage":{"input_tokens":8,"output_tokens":3}}"#,
        );
        assert_eq!(provider.parse_chat(&ok).unwrap().text(), "Hi!");

        let unauthorized = response(
            401,
            &[("request-id", "req_1")],
            &format!(
                r#"{{"type":"error","error":{{"type":"authentication_error","message":"invalid x-api-key: {KEY}"}}}}"#
            ),
        );
        let error = provider.parse_chat(&unauthorized).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Authentication);
        assert_eq!(error.request_id(), Some("req_1"));
        assert!(!format!("{error} {error:?}").contains(KEY));

        let overloaded = response(
            529,
            &[],
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        let error = provider.parse_chat(&overloaded).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
        assert!(error.is_retryable());
    }

    /// A reply with thinking and a tool call, fed back as history, comes out as the same
    /// blocks in the same order: what multi-turn extended thinking requires.
    #[test]
    fn multi_turn_thinking_round_trip() {
        let reply_body = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5",
          "content":[
            {"type":"thinking","thinking":"Need the weather tool.","signature":"EqQBsig"},
            {"type":"redacted_thinking","data":"EmwKAhg"},
            {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],
          "stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":20}}"#;
        let provider = anthropic();
        let reply = provider
            .parse_chat(&response(200, &[], reply_body))
            .unwrap();
        let mut request = ChatRequest::new("anthropic/claude-sonnet-4-5")
            .user("Weather in Paris?")
            .tool(Tool::function(
                "get_weather",
                "Weather",
                json!({"type": "object"}),
            ));
        request.reasoning_effort = Some("low".into());
        let assistant: Message = reply.choices[0].message.clone();
        let request = request
            .message(assistant)
            .message(Message::tool("toolu_1", "21°C"));
        let http_request = provider
            .build_chat("claude-sonnet-4-5", &request, false)
            .unwrap();
        let body: Value = serde_json::from_slice(http_request.body()).unwrap();
        let original: Value = serde_json::from_str(reply_body).unwrap();
        assert_eq!(body["messages"][1]["role"], "assistant");
        assert_eq!(body["messages"][1]["content"], original["content"]);
        assert_eq!(
            body["messages"][2]["content"],
            json!([{"type": "tool_result", "tool_use_id": "toolu_1", "content": "21°C"}])
        );
    }
}
