//! Google Gemini's `generateContent` API, on AI Studio (the Gemini API) and on Vertex AI,
//! translated to and from OpenAI's shape. One adapter serves both: they share the wire
//! format and differ in the URL and the credentials ([`Gemini::ai_studio`],
//! [`Gemini::vertex`], [`Gemini::vertex_with_token_source`]).
//!
//! In brief (each file's docs list its rules in full: `request.rs`, `response.rs`,
//! `stream.rs`, `error.rs`, `embeddings.rs`):
//! - System messages become `systemInstruction`, turns `contents` with roles `user`/`model`,
//!   tool results `functionResponse` parts; schemas are cleaned of what Gemini rejects;
//!   `reasoning_effort` sets `thinkingConfig`.
//! - Replies: text → `content`, thoughts → `reasoning_content`, `functionCall` → `tool_calls`
//!   (with stable ids when Gemini gives none); `thoughtSignature`s are kept on the message and
//!   its tool calls and sent back on the next turn.
//! - Streams (`streamGenerateContent?alt=sse`) fold into the same completion; an error body
//!   sent as plain JSON under `text/event-stream` is a typed error.
//!
//! URLs: AI Studio `{base}/models/{model}:generateContent` with base
//! [`AI_STUDIO_BASE_URL`] and the key in `x-goog-api-key`. Vertex AI
//! `{base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:…` with
//! base `https://{location}-aiplatform.googleapis.com` (`https://aiplatform.googleapis.com`
//! for location `global`) and a bearer token; with an API key and no project, Vertex AI
//! express mode's `{base}/v1/publishers/google/models/{model}:…`. The model name, project and
//! location are path segments: anything but letters, digits and `-._@~` is refused, so no
//! model id can change the path.

mod embeddings;
mod error;
mod request;
mod response;
mod stream;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::url_path::plain_segment;
use super::{Capabilities, ChatStreamDecoder, Provider};
use crate::error::Error;
use crate::settings::{ApiKey, ProviderSettings};
use crate::types::{ChatCompletion, ChatRequest, EmbeddingRequest, EmbeddingResponse};

/// The Gemini API's base URL, as Google's SDKs use it.
pub const AI_STUDIO_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";

/// The Vertex AI location used when none is configured.
pub const DEFAULT_VERTEX_LOCATION: &str = "us-central1";

/// Gives a fresh OAuth access token for Vertex AI (from a service account, the metadata
/// server, `gcloud auth print-access-token`, …). Called once per attempt, when the request is
/// authorized; caching and refreshing are the caller's business.
pub type TokenSource = Arc<dyn Fn() -> Result<String, Error> + Send + Sync>;

/// Where requests go.
#[derive(Debug, Clone)]
enum Endpoint {
    /// The Gemini API: `{base}/models/{model}:{method}`.
    AiStudio { base: String },
    /// Vertex AI: `{base}/projects/{project}/locations/{location}/publishers/google/models/…`,
    /// or without a project (express mode, API key) `{base}/publishers/google/models/…`.
    Vertex {
        base: String,
        project: Option<String>,
        location: String,
    },
}

/// How requests are authenticated.
#[derive(Clone)]
enum Auth {
    None,
    /// `x-goog-api-key`.
    ApiKey(ApiKey),
    /// `authorization: Bearer` with a token from the settings.
    Bearer(ApiKey),
    /// `authorization: Bearer` with a token the caller's function gives per attempt.
    TokenSource(TokenSource),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Auth::None => "None",
            Auth::ApiKey(_) => "ApiKey([REDACTED])",
            Auth::Bearer(_) => "Bearer([REDACTED])",
            Auth::TokenSource(_) => "TokenSource",
        })
    }
}

/// The Gemini adapter (AI Studio or Vertex AI).
///
/// ```
/// use onellm_core::provider::gemini::Gemini;
/// use onellm_core::{ChatRequest, Provider, ProviderSettings};
///
/// let settings = ProviderSettings { api_key: Some("AIza-test".into()), ..Default::default() };
/// let gemini = Gemini::ai_studio(&settings);
/// let request = ChatRequest::new("google/gemini-2.5-flash").user("Hello!");
/// let http_request = gemini.build_chat("gemini-2.5-flash", &request, true).unwrap();
/// assert_eq!(
///     http_request.uri(),
///     "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
/// );
///
/// // Vertex AI with a token from the caller's own credentials code:
/// use std::sync::Arc;
/// let mut settings = ProviderSettings::default();
/// settings.options.insert("project".into(), "my-project".into());
/// settings.options.insert("location".into(), "europe-west4".into());
/// let vertex = Gemini::vertex_with_token_source(&settings, Arc::new(|| Ok("ya29.token".to_owned()))).unwrap();
/// let mut http_request = vertex.build_chat("gemini-2.5-pro", &request, false).unwrap();
/// vertex.authorize(&mut http_request, None).unwrap();
/// assert_eq!(
///     http_request.uri(),
///     "https://europe-west4-aiplatform.googleapis.com/v1/projects/my-project/locations/europe-west4/publishers/google/models/gemini-2.5-pro:generateContent"
/// );
/// assert_eq!(http_request.headers()["authorization"], "Bearer ya29.token");
/// ```
#[derive(Debug, Clone)]
pub struct Gemini {
    name: String,
    endpoint: Endpoint,
    auth: Auth,
    headers: Vec<(String, String)>,
}

impl Gemini {
    /// The Gemini API (AI Studio) with `settings`: key in `api_key`, base URL (with its
    /// version path, e.g. `…/v1beta`) in `base_url`. Named `google`.
    pub fn ai_studio(settings: &ProviderSettings) -> Gemini {
        let base = super::base_url_without(settings, AI_STUDIO_BASE_URL, &[]);
        Gemini {
            name: "google".to_owned(),
            endpoint: Endpoint::AiStudio { base },
            auth: settings.api_key.clone().map_or(Auth::None, Auth::ApiKey),
            headers: settings.headers.clone(),
        }
    }

    /// Vertex AI with `settings`: options `project` and `location` (default
    /// [`DEFAULT_VERTEX_LOCATION`]), the secret `access_token` as bearer token, or else an
    /// `api_key` (Vertex AI express mode, where the project may be left out). Named
    /// `vertexai`. A `Configuration` error when the credentials or the project are missing.
    pub fn vertex(settings: &ProviderSettings) -> Result<Gemini, Error> {
        let auth = match (settings.secret("access_token"), &settings.api_key) {
            (Some(token), _) => Auth::Bearer(token.clone()),
            (None, Some(key)) => Auth::ApiKey(key.clone()),
            (None, None) => {
                return Err(Error::configuration(
                    "vertex AI needs credentials: set VERTEX_ACCESS_TOKEN (an OAuth access token), an API key (VERTEXAI_API_KEY), or register Gemini::vertex_with_token_source",
                ))
            }
        };
        Self::vertex_with_auth(settings, auth)
    }

    /// Vertex AI authenticated by `token_source`, called before every attempt. Register it
    /// with [`Registry::register`](crate::Registry::register) to use it for `vertexai/…`
    /// model ids. Needs the `project` option.
    pub fn vertex_with_token_source(
        settings: &ProviderSettings,
        token_source: TokenSource,
    ) -> Result<Gemini, Error> {
        Self::vertex_with_auth(settings, Auth::TokenSource(token_source))
    }

    fn vertex_with_auth(settings: &ProviderSettings, auth: Auth) -> Result<Gemini, Error> {
        let project = settings.option("project").map(str::to_owned);
        if project.is_none() && !matches!(auth, Auth::ApiKey(_)) {
            return Err(Error::configuration(
                "vertex AI needs a project: set the project option, VERTEX_PROJECT or GOOGLE_CLOUD_PROJECT",
            ));
        }
        let location = settings
            .option("location")
            .unwrap_or(DEFAULT_VERTEX_LOCATION)
            .to_owned();
        if let Some(project) = &project {
            plain_segment("gemini", "project", project)?;
        }
        plain_segment("gemini", "location", &location)?;
        let base = match settings.base_url.as_deref() {
            Some(base) => {
                let base = base.trim_end_matches('/');
                if base.ends_with("/v1") || base.ends_with("/v1beta1") {
                    base.to_owned()
                } else {
                    format!("{base}/v1")
                }
            }
            None if location == "global" || project.is_none() => {
                "https://aiplatform.googleapis.com/v1".to_owned()
            }
            None => format!("https://{location}-aiplatform.googleapis.com/v1"),
        };
        Ok(Gemini {
            name: "vertexai".to_owned(),
            endpoint: Endpoint::Vertex {
                base,
                project,
                location,
            },
            auth,
            headers: settings.headers.clone(),
        })
    }

    /// The same adapter under another provider name (the registry's aliases use this).
    pub fn with_name(mut self, name: impl Into<String>) -> Gemini {
        self.name = name.into();
        self
    }

    /// The secret to redact from errors, if it is known.
    fn secret(&self) -> Option<&ApiKey> {
        match &self.auth {
            Auth::ApiKey(key) | Auth::Bearer(key) => Some(key),
            Auth::None | Auth::TokenSource(_) => None,
        }
    }

    fn call_ids(&self) -> request::CallIds {
        match self.endpoint {
            Endpoint::AiStudio { .. } => request::CallIds::Send,
            Endpoint::Vertex { .. } => request::CallIds::Omit,
        }
    }

    /// The URL of `method` (`generateContent`, …) for `model`.
    fn url(&self, model: &str, method: &str) -> Result<String, Error> {
        let model = plain_segment(
            "gemini",
            "model",
            model.strip_prefix("models/").unwrap_or(model),
        )?;
        Ok(match &self.endpoint {
            Endpoint::AiStudio { base } => format!("{base}/models/{model}:{method}"),
            Endpoint::Vertex {
                base,
                project: Some(project),
                location,
            } => format!(
                "{base}/projects/{project}/locations/{location}/publishers/google/models/{model}:{method}"
            ),
            Endpoint::Vertex {
                base,
                project: None,
                ..
            } => format!("{base}/publishers/google/models/{model}:{method}"),
        })
    }

    fn post(&self, url: &str, body: Vec<u8>, stream: bool) -> Result<http::Request<Bytes>, Error> {
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let bearer;
        let mut headers = vec![("accept", accept)];
        match &self.auth {
            Auth::ApiKey(key) => headers.push(("x-goog-api-key", key.expose())),
            Auth::Bearer(token) => {
                bearer = format!("Bearer {}", token.expose());
                headers.push(("authorization", bearer.as_str()));
            }
            Auth::None | Auth::TokenSource(_) => {}
        }
        super::json_post(url, &headers, &self.headers, body)
    }
}

impl Provider for Gemini {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            streaming: true,
            tools: true,
            vision: true,
            json_mode: true,
            // Vertex AI serves embeddings through `:predict`, a different API.
            embeddings: matches!(self.endpoint, Endpoint::AiStudio { .. }),
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
        let method = if stream {
            "streamGenerateContent?alt=sse"
        } else {
            "generateContent"
        };
        let url = self.url(model, method)?;
        let body = request::chat_body(model, request, self.call_ids())?;
        self.post(&url, body, stream)
    }

    fn parse_chat(&self, response: &http::Response<Bytes>) -> Result<ChatCompletion, Error> {
        super::parse_whole_without_key(self, self.secret(), response, response::parse_chat)
    }

    fn chat_stream_decoder(&self, _model: &str) -> Box<dyn ChatStreamDecoder> {
        Box::new(stream::GeminiStream::new(self.secret().cloned()))
    }

    fn parse_error(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
        error::parse_error(status, headers, body).without_key(self.secret())
    }

    fn authorize(
        &self,
        request: &mut http::Request<Bytes>,
        _wall_clock: Option<SystemTime>,
    ) -> Result<(), Error> {
        let Auth::TokenSource(source) = &self.auth else {
            return Ok(());
        };
        let token = source()?;
        let mut value =
            http::HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
                Error::configuration(
                    "the Vertex AI token source gave a token with invalid characters",
                )
            })?;
        value.set_sensitive(true);
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, value);
        Ok(())
    }

    fn build_embeddings(
        &self,
        model: &str,
        request: &EmbeddingRequest,
    ) -> Result<http::Request<Bytes>, Error> {
        if !self.capabilities().embeddings {
            return Err(Error::unsupported(format!(
                "{} does not offer embeddings through this adapter (Vertex AI uses :predict)",
                self.name
            )));
        }
        let url = self.url(model, "batchEmbedContents")?;
        let model = model.strip_prefix("models/").unwrap_or(model);
        let body = embeddings::embeddings_body(model, request)?;
        self.post(&url, body, false)
    }

    fn parse_embeddings(
        &self,
        response: &http::Response<Bytes>,
    ) -> Result<EmbeddingResponse, Error> {
        super::parse_whole_without_key(self, self.secret(), response, embeddings::parse_embeddings)
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

    const KEY: &str = "AIzaSy-canary-key-123";

    fn studio() -> Gemini {
        Gemini::ai_studio(&ProviderSettings {
            api_key: Some(KEY.into()),
            ..ProviderSettings::default()
        })
    }

    fn vertex_settings(pairs: &[(&str, &str)]) -> ProviderSettings {
        let mut settings = ProviderSettings::default();
        for (name, value) in pairs {
            settings.options.insert((*name).into(), (*value).into());
        }
        settings
    }

    fn response(status: u16, body: &str) -> http::Response<Bytes> {
        http::Response::builder()
            .status(status)
            .body(Bytes::from(body.to_owned()))
            .unwrap()
    }

    #[test]
    fn ai_studio_request_headers_and_hidden_key() {
        let request = ChatRequest::new("google/gemini-2.0-flash").user("Hi");
        let http_request = studio()
            .build_chat("gemini-2.0-flash", &request, false)
            .unwrap();
        assert_eq!(
            http_request.uri(),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"
        );
        let headers = http_request.headers();
        assert_eq!(headers["x-goog-api-key"], KEY);
        assert!(headers["x-goog-api-key"].is_sensitive());
        assert_eq!(headers["accept"], "application/json");
        assert!(!format!("{http_request:?} {:?}", studio()).contains(KEY));
        let body: Value = serde_json::from_slice(http_request.body()).unwrap();
        assert_eq!(body["contents"][0]["parts"][0]["text"], "Hi");
        // `models/` prefixes are accepted.
        let prefixed = studio()
            .build_chat("models/gemini-2.0-flash", &request, true)
            .unwrap();
        assert!(prefixed
            .uri()
            .to_string()
            .ends_with("models/gemini-2.0-flash:streamGenerateContent?alt=sse"));
        assert_eq!(prefixed.headers()["accept"], "text/event-stream");
    }

    #[test]
    fn no_model_id_changes_the_path() {
        let request = ChatRequest::new("x").user("q");
        for model in [
            "../../v1/files",
            "a/b",
            "gemini?alt=json",
            "gemini#frag",
            "gemini%2Fx",
            "..",
            ".",
            "",
            "gemini 2",
            "gemini:streamGenerateContent",
            "gémini",
            "a\r\nx: y",
        ] {
            let error = studio().build_chat(model, &request, false).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Configuration, "{model:?}");
            let error = studio()
                .build_embeddings(model, &EmbeddingRequest::new("x", ["a"]))
                .unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Configuration, "{model:?}");
        }
        for model in [
            "gemini-2.5-flash",
            "gemini-1.5-pro-002",
            "claude-3@20240229",
            "a.b_c~d",
        ] {
            assert!(
                studio().build_chat(model, &request, false).is_ok(),
                "{model}"
            );
        }
        let bad_project = Gemini::vertex_with_token_source(
            &vertex_settings(&[("project", "p/../../x")]),
            Arc::new(|| Ok("t".into())),
        )
        .unwrap_err();
        assert_eq!(bad_project.kind(), ErrorKind::Configuration);
    }

    #[test]
    fn vertex_urls_and_credentials() {
        let request = ChatRequest::new("x").user("q");
        let settings = ProviderSettings {
            secrets: [("access_token".to_owned(), ApiKey::new("ya29.secret-token"))].into(),
            ..vertex_settings(&[("project", "proj-1"), ("location", "global")])
        };
        let vertex = Gemini::vertex(&settings).unwrap();
        let built = vertex.build_chat("gemini-2.5-pro", &request, true).unwrap();
        assert_eq!(
            built.uri(),
            "https://aiplatform.googleapis.com/v1/projects/proj-1/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        assert_eq!(built.headers()["authorization"], "Bearer ya29.secret-token");
        assert!(built.headers()["authorization"].is_sensitive());
        assert!(!format!("{vertex:?}").contains("ya29"));
        assert!(!vertex.capabilities().embeddings);
        assert_eq!(
            vertex
                .build_embeddings("m", &EmbeddingRequest::new("x", ["a"]))
                .unwrap_err()
                .kind(),
            ErrorKind::Unsupported
        );
        let error = vertex.parse_chat(&response(
            401,
            r#"{"error":{"code":401,"message":"Bad token ya29.secret-token","status":"UNAUTHENTICATED"}}"#,
        ));
        let error = error.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Authentication);
        assert!(!error.message().contains("ya29"));

        let regional = Gemini::vertex(&ProviderSettings {
            secrets: settings.secrets.clone(),
            ..vertex_settings(&[("project", "p")])
        })
        .unwrap();
        assert_eq!(
            regional.build_chat("m", &request, false).unwrap().uri(),
            "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/m:generateContent"
        );
        let proxied = Gemini::vertex(&ProviderSettings {
            secrets: settings.secrets.clone(),
            base_url: Some("http://127.0.0.1:9/".into()),
            ..vertex_settings(&[("project", "p"), ("location", "eu")])
        })
        .unwrap();
        assert_eq!(
            proxied.build_chat("m", &request, false).unwrap().uri(),
            "http://127.0.0.1:9/v1/projects/p/locations/eu/publishers/google/models/m:generateContent"
        );
        let express = Gemini::vertex(&ProviderSettings {
            api_key: Some("vertex-key-1".into()),
            ..ProviderSettings::default()
        })
        .unwrap();
        let built = express
            .build_chat("gemini-2.5-flash", &request, false)
            .unwrap();
        assert_eq!(
            built.uri(),
            "https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.5-flash:generateContent"
        );
        assert_eq!(built.headers()["x-goog-api-key"], "vertex-key-1");

        let missing = Gemini::vertex(&vertex_settings(&[("project", "p")])).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::Configuration);
        assert!(missing.message().contains("VERTEX_ACCESS_TOKEN"));
        let no_project = Gemini::vertex(&ProviderSettings {
            secrets: settings.secrets.clone(),
            ..ProviderSettings::default()
        })
        .unwrap_err();
        assert!(no_project.message().contains("VERTEX_PROJECT"));
    }

    #[test]
    fn token_source_runs_in_authorize() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let vertex = Gemini::vertex_with_token_source(
            &vertex_settings(&[("project", "p")]),
            Arc::new(move || {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(format!("token-{n}"))
            }),
        )
        .unwrap();
        let request = ChatRequest::new("x").user("q");
        for n in 0..2 {
            let mut built = vertex.build_chat("m", &request, false).unwrap();
            assert!(built.headers().get("authorization").is_none());
            vertex.authorize(&mut built, None).unwrap();
            assert_eq!(
                built.headers()["authorization"],
                format!("Bearer token-{n}")
            );
        }
        let failing = Gemini::vertex_with_token_source(
            &vertex_settings(&[("project", "p")]),
            Arc::new(|| Err(Error::new(ErrorKind::Authentication, "no credentials"))),
        )
        .unwrap();
        let mut built = failing.build_chat("m", &request, false).unwrap();
        assert_eq!(
            failing.authorize(&mut built, None).unwrap_err().kind(),
            ErrorKind::Authentication
        );
        let mut registry = Registry::new();
        registry.register(Arc::new(vertex));
        let provider = registry
            .resolve(&ModelId::parse("vertexai/gemini-2.5-pro").unwrap())
            .unwrap();
        assert_eq!(provider.name(), "vertexai");
    }

    #[test]
    fn registry_names_keys_and_options() {
        let env = |name: &str| match name {
            "GEMINI_API_KEY" => Some(KEY.to_owned()),
            "VERTEX_ACCESS_TOKEN" => Some("ya29.env".to_owned()),
            "GOOGLE_CLOUD_PROJECT" => Some("env-project".to_owned()),
            "VERTEX_LOCATION" => Some("europe-west1".to_owned()),
            _ => None,
        };
        let registry = Registry::from_lookup(env);
        let request = ChatRequest::new("x").user("q");
        for name in ["google", "gemini"] {
            let id = ModelId::parse(&format!("{name}/gemini-2.5-flash")).unwrap();
            let provider = registry.resolve(&id).unwrap();
            assert_eq!(provider.name(), name);
            let built = provider.build_chat(id.model(), &request, false).unwrap();
            assert_eq!(built.headers()["x-goog-api-key"], KEY);
        }
        for name in ["vertexai", "vertex"] {
            let id = ModelId::parse(&format!("{name}/gemini-2.5-flash")).unwrap();
            let provider = registry.resolve(&id).unwrap();
            assert_eq!(provider.name(), name);
            let built = provider.build_chat(id.model(), &request, false).unwrap();
            assert_eq!(
                built.uri(),
                "https://europe-west1-aiplatform.googleapis.com/v1/projects/env-project/locations/europe-west1/publishers/google/models/gemini-2.5-flash:generateContent"
            );
            assert_eq!(built.headers()["authorization"], "Bearer ya29.env");
        }
        let error = Registry::new()
            .resolve(&ModelId::parse("google/gemini-2.5-flash").unwrap())
            .unwrap_err();
        assert!(error.message().contains("GEMINI_API_KEY"), "{error}");
        assert_eq!(
            error.message().matches("GOOGLE_API_KEY").count(),
            1,
            "{error}"
        );
        let error = Registry::new()
            .resolve(&ModelId::parse("vertexai/gemini-2.5-flash").unwrap())
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Configuration);
    }

    /// An OpenAI conversation with a tool call, its result and a follow-up goes to Gemini and
    /// a simulated Gemini reply comes back: no id, name, argument or signature is lost.
    #[test]
    fn conversation_round_trip() {
        let provider = studio();
        let first_reply = r#"{"candidates": [{"content": {"role": "model", "parts": [
            {"text": "Checking.", "thought": true},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris", "days": 2}}, "thoughtSignature": "EpwICpkI-sig-1"},
            {"functionCall": {"name": "get_time", "args": {"tz": "CET"}, "id": "fc-time"}}]},
          "finishReason": "STOP", "index": 0}], "responseId": "resp-1", "modelVersion": "gemini-3-pro-preview"}"#;
        let completion = provider.parse_chat(&response(200, first_reply)).unwrap();
        let assistant: Message = completion.choices[0].message.clone();
        let calls = assistant.tool_calls.clone().unwrap();
        assert_eq!(calls[0].id, "call_gemini_resp-1_0_0");
        assert_eq!(calls[1].id, "fc-time");
        // Through JSON, as a client would keep the conversation.
        let assistant: Message =
            serde_json::from_value(serde_json::to_value(&assistant).unwrap()).unwrap();
        let request = ChatRequest::new("google/gemini-3-pro-preview")
            .system("You are terse.")
            .user("Weather and time in Paris?")
            .tool(Tool::function(
                "get_weather",
                "Weather",
                json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            ))
            .message(assistant)
            .message(Message::tool("call_gemini_resp-1_0_0", "21°C"))
            .message(Message::tool("fc-time", r#"{"time": "12:00"}"#))
            .user("Should I take an umbrella?");
        let built = provider
            .build_chat("gemini-3-pro-preview", &request, false)
            .unwrap();
        let body: Value = serde_json::from_slice(built.body()).unwrap();
        assert_eq!(
            body["systemInstruction"],
            json!({"parts": [{"text": "You are terse."}]})
        );
        assert_eq!(
            body["contents"],
            json!([
                {"role": "user", "parts": [{"text": "Weather and time in Paris?"}]},
                {"role": "model", "parts": [
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris", "days": 2}}, "thoughtSignature": "EpwICpkI-sig-1"},
                    {"functionCall": {"name": "get_time", "args": {"tz": "CET"}, "id": "fc-time"}},
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"content": "21°C"}}},
                    {"functionResponse": {"name": "get_time", "response": {"time": "12:00"}, "id": "fc-time"}},
                    {"text": "Should I take an umbrella?"},
                ]},
            ])
        );
        // The follow-up reply comes back with its own signature on the text, which the next
        // turn sends back again.
        let second = provider
            .parse_chat(&response(200, r#"{"candidates": [{"content": {"role": "model", "parts": [{"text": "Yes.", "thoughtSignature": "sig-2"}]}, "finishReason": "STOP"}], "responseId": "resp-2"}"#))
            .unwrap();
        let next = request
            .message(second.choices[0].message.clone())
            .user("Thanks");
        let body: Value = serde_json::from_slice(
            provider
                .build_chat("gemini-3-pro-preview", &next, false)
                .unwrap()
                .body(),
        )
        .unwrap();
        assert_eq!(
            body["contents"][3],
            json!({"role": "model", "parts": [{"text": "Yes.", "thoughtSignature": "sig-2"}]})
        );
        let _ = ToolCall::function("unused", "x", "{}");
    }
}
