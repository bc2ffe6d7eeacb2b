//! Ollama's native API: `POST /api/chat` (NDJSON streams) and `POST /api/embed`.
//!
//! Routing rule: `ollama/…` model ids use this native adapter (so `think`, `thinking`,
//! `keep_alive`, `num_ctx` and the other Ollama options are reachable); the same server's
//! OpenAI-compatible `/v1` endpoints stay available as the profile `ollama_openai/…`.
//!
//! The base URL comes from `OLLAMA_BASE_URL` / `OLLAMA_API_BASE` (default
//! `http://localhost:11434`, a trailing `/api` or `/v1` is dropped); no key is needed, but
//! one that is configured is sent as a bearer token (for servers behind an authenticating
//! proxy). A model id may name its server, as Python OneLLM accepts:
//! `ollama/llama3:8b@gpu-box:11434` talks to `http://gpu-box:11434` with model `llama3:8b`.
//! The part after the last `@` must be `host[:port]` (optionally with `http://` or
//! `https://`): anything else (a path, credentials, a query) is a `Configuration` error, so
//! a model name cannot redirect requests to another path.
//!
//! Each file's docs list its rules in full: `request.rs`, `response.rs`, `stream.rs`,
//! `error.rs`.

mod error;
mod request;
mod response;
mod stream;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::{Capabilities, ChatStreamDecoder, NdjsonChatStream, Provider};
use crate::error::Error;
use crate::settings::{ApiKey, ProviderSettings};
use crate::types::{ChatCompletion, ChatRequest, EmbeddingRequest, EmbeddingResponse};

/// Where a local Ollama server listens.
pub const DEFAULT_BASE_URL: &str = "http://localhost:11434";

/// The Ollama native adapter.
///
/// ```
/// use onellm_core::provider::ollama::Ollama;
/// use onellm_core::{ChatRequest, Provider, ProviderSettings};
///
/// let ollama = Ollama::new(&ProviderSettings::default());
/// let request = ChatRequest::new("ollama/llama3:8b").user("Hello!");
/// let local = ollama.build_chat("llama3:8b", &request, true).unwrap();
/// assert_eq!(local.uri(), "http://localhost:11434/api/chat");
/// let remote = ollama.build_chat("llama3:8b@gpu-box:11434", &request, true).unwrap();
/// assert_eq!(remote.uri(), "http://gpu-box:11434/api/chat");
/// ```
#[derive(Debug, Clone)]
pub struct Ollama {
    /// The base URL without `/api`.
    base_url: String,
    api_key: Option<ApiKey>,
    headers: Vec<(String, String)>,
}

/// Splits `model@host:port` into the model and the base URL it names.
fn route(model: &str) -> Result<(&str, Option<String>), Error> {
    let Some((name, server)) = model.rsplit_once('@') else {
        return Ok((model, None));
    };
    let invalid = || {
        Error::configuration(format!(
            "ollama model {model:?}: the part after @ must be host[:port]"
        ))
    };
    let (scheme, authority) = match server.split_once("://") {
        Some((scheme @ ("http" | "https"), rest)) => (scheme, rest),
        Some(_) => return Err(invalid()),
        None => ("http", server),
    };
    let (host, port) = if authority.starts_with('[') {
        // [IPv6] or [IPv6]:port
        let end = authority.find(']').ok_or_else(invalid)?;
        let (host, after) = authority.split_at(end + 1);
        let inner = host.get(1..end).unwrap_or_default();
        if inner.is_empty()
            || !inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(invalid());
        }
        let port = match after {
            "" => None,
            after => Some(after.strip_prefix(':').ok_or_else(invalid)?),
        };
        (host, port)
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let host_ok = host.starts_with('[')
        || (!host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')));
    let port_ok = port.is_none_or(|port| {
        !port.is_empty() && port.len() <= 5 && port.chars().all(|c| c.is_ascii_digit())
    });
    if name.is_empty() || !host_ok || !port_ok {
        return Err(invalid());
    }
    Ok((name, Some(format!("{scheme}://{authority}"))))
}

impl Ollama {
    /// An adapter with `settings`.
    pub fn new(settings: &ProviderSettings) -> Ollama {
        Ollama {
            base_url: super::base_url_without(settings, DEFAULT_BASE_URL, &["/api", "/v1"]),
            api_key: settings.api_key.clone(),
            headers: settings.headers.clone(),
        }
    }

    fn post(
        &self,
        base: Option<&str>,
        path: &str,
        body: Vec<u8>,
        stream: bool,
    ) -> Result<http::Request<Bytes>, Error> {
        let url = format!("{}/api/{path}", base.unwrap_or(&self.base_url));
        let accept = if stream {
            "application/x-ndjson"
        } else {
            "application/json"
        };
        super::bearer_json_post(&url, accept, self.api_key.as_ref(), &self.headers, body)
    }
}

impl Provider for Ollama {
    fn name(&self) -> &str {
        "ollama"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            streaming: true,
            tools: true,
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
        let (model, base) = route(model)?;
        let body = request::chat_body(model, request, stream)?;
        self.post(base.as_deref(), "chat", body, stream)
    }

    fn parse_chat(&self, response: &http::Response<Bytes>) -> Result<ChatCompletion, Error> {
        super::parse_whole_without_key(self, self.api_key.as_ref(), response, response::parse_chat)
    }

    fn chat_stream_decoder(&self, _model: &str) -> Box<dyn ChatStreamDecoder> {
        Box::new(NdjsonChatStream::new(
            stream::OllamaLines::default(),
            self.api_key.clone(),
        ))
    }

    fn parse_error(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
        error::parse_error(Some(status), headers, body).without_key(self.api_key.as_ref())
    }

    fn build_embeddings(
        &self,
        model: &str,
        request: &EmbeddingRequest,
    ) -> Result<http::Request<Bytes>, Error> {
        let (model, base) = route(model)?;
        self.post(
            base.as_deref(),
            "embed",
            request::embed_body(model, request)?,
            false,
        )
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
    use crate::types::{Message, Tool};
    use serde_json::{json, Value};

    #[test]
    fn model_ids_name_their_server_safely() {
        let id = ModelId::parse("ollama/mixtral:8x7b-instruct-q4_K_M@10.0.0.5:11434").unwrap();
        assert_eq!(id.model(), "mixtral:8x7b-instruct-q4_K_M@10.0.0.5:11434");
        let provider = Registry::new().resolve(&id).unwrap();
        let request = ChatRequest::new("x").user("q");
        let http_request = provider.build_chat(id.model(), &request, false).unwrap();
        assert_eq!(http_request.uri(), "http://10.0.0.5:11434/api/chat");
        let body: Value = serde_json::from_slice(http_request.body()).unwrap();
        assert_eq!(body["model"], "mixtral:8x7b-instruct-q4_K_M");
        assert!(http_request.headers().get("authorization").is_none());

        for (model, want) in [
            ("llama3:8b", "http://localhost:11434/api/chat"),
            ("llama3@gpu-server", "http://gpu-server/api/chat"),
            (
                "llama3@https://gpu.example:443",
                "https://gpu.example:443/api/chat",
            ),
            ("llama3@[::1]:11434", "http://[::1]:11434/api/chat"),
            ("user@example/x@gpu:1", "http://gpu:1/api/chat"),
        ] {
            let http_request = provider.build_chat(model, &request, false).unwrap();
            assert_eq!(http_request.uri(), want, "{model}");
        }
        for bad in [
            "llama3@evil.example/admin",
            "llama3@host:80/x",
            "llama3@host:port",
            "llama3@host?x=1",
            "llama3@ftp://host:1",
            "llama3@",
            "@host:1",
            "llama3@host:123456",
        ] {
            let error = provider.build_chat(bad, &request, false).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Configuration, "{bad}");
        }
    }

    #[test]
    fn base_url_env_and_routing_rule() {
        let env =
            |name: &str| (name == "OLLAMA_API_BASE").then(|| "http://box:11434/api/".to_owned());
        let registry = Registry::from_lookup(env);
        let native = registry
            .resolve(&ModelId::parse("ollama/llama3.2").unwrap())
            .unwrap();
        let request = ChatRequest::new("x").user("q");
        assert_eq!(
            native.build_chat("llama3.2", &request, true).unwrap().uri(),
            "http://box:11434/api/chat"
        );
        assert!(!native.capabilities().completions);
        let compatible = registry
            .resolve(&ModelId::parse("ollama_openai/llama3.2").unwrap())
            .unwrap();
        assert_eq!(
            compatible
                .build_chat("llama3.2", &request, true)
                .unwrap()
                .uri(),
            "http://localhost:11434/v1/chat/completions"
        );
    }

    /// The shared stream wrapper's rules hold for NDJSON too: key redaction of in-stream
    /// errors, a line over the bound is a `Decode` error, and nothing after an error.
    #[test]
    fn stream_errors_are_redacted_and_bounded() {
        let key = "ollama-proxy-canary-key";
        let ollama = Ollama::new(&ProviderSettings {
            api_key: Some(key.into()),
            ..ProviderSettings::default()
        });
        let mut decoder = ollama.chat_stream_decoder("m");
        decoder.push(format!("{{\"error\":\"bad token {key}\"}}\n{{\"done\":true}}\n").as_bytes());
        decoder.finish();
        let error = decoder.next_chunk().unwrap().unwrap_err();
        assert!(!format!("{error} {error:?}").contains(key), "{error}");
        assert!(decoder.next_chunk().is_none());
        assert!(!decoder.is_complete());

        let mut decoder = ollama.chat_stream_decoder("m");
        let long = vec![b' '; crate::framing::DEFAULT_MAX_LINE_BYTES + 1];
        decoder.push(&long);
        let error = decoder.next_chunk().unwrap().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode);
        decoder.push(b"\n{\"done\":true}\n");
        decoder.finish();
        assert!(decoder.next_chunk().is_none());
    }

    /// An OpenAI conversation with a tool call, its result and a follow-up goes to Ollama and
    /// a simulated reply comes back: ids survive on our side, names and arguments on both.
    #[test]
    fn tool_round_trip() {
        let ollama = Ollama::new(&ProviderSettings::default());
        let reply = ollama
            .parse_chat(
                &http::Response::builder()
                    .status(200)
                    .body(Bytes::from_static(br#"{"model":"llama3.2","created_at":"2024-07-22T20:33:28.123648Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},"done_reason":"stop","done":true}"#))
                    .unwrap(),
            )
            .unwrap();
        let assistant: Message = reply.choices[0].message.clone();
        let id = assistant.tool_calls.as_ref().unwrap()[0].id.clone();
        let request = ChatRequest::new("ollama/llama3.2")
            .user("Weather in Paris?")
            .tool(Tool::function(
                "get_weather",
                "Weather",
                json!({"type": "object"}),
            ))
            .message(assistant)
            .message(Message::tool(id.as_str(), "21°C"))
            .user("And tomorrow?");
        let body: Value = serde_json::from_slice(
            ollama
                .build_chat("llama3.2", &request, false)
                .unwrap()
                .body(),
        )
        .unwrap();
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(
            messages[1]["tool_calls"],
            json!([{"function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}}}])
        );
        assert_eq!(
            messages[2],
            json!({"role": "tool", "content": "21°C", "tool_name": "get_weather"})
        );
        assert_eq!(
            messages[3],
            json!({"role": "user", "content": "And tomorrow?"})
        );
        // The same reply parsed again gets the same id.
        let again = ollama
            .parse_chat(
                &http::Response::builder()
                    .status(200)
                    .body(Bytes::from_static(br#"{"message":{"tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},"done":true}"#))
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(
            again.choices[0].message.tool_calls.as_ref().unwrap()[0].id,
            id
        );
    }
}
