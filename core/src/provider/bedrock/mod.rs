//! Amazon Bedrock's Converse API (`POST /model/{modelId}/converse` and
//! `/converse-stream`), translated to and from OpenAI's shape and signed with SigV4.
//!
//! In brief (each file's docs list its rules in full: `request.rs`, `response.rs`,
//! `stream.rs`, `error.rs`, `sigv4.rs`):
//! - `bedrock/<model id>`: a model id, inference profile id (`us.anthropic.…`) or ARN; it is
//!   percent-encoded once into the URL path (`:` → `%3A`, `/` → `%2F`) and, as the AWS SDKs
//!   do, once more in the SigV4 canonical request.
//! - The endpoint is `https://bedrock-runtime.{region}.amazonaws.com`, or the base URL
//!   setting (a VPC endpoint, a proxy, a test server). Settings: option `region`
//!   (`AWS_REGION`, `AWS_DEFAULT_REGION`); secrets `access_key_id` (`AWS_ACCESS_KEY_ID`,
//!   kept as a secret so it never reaches a log), `secret_access_key`
//!   (`AWS_SECRET_ACCESS_KEY`) and `session_token` (`AWS_SESSION_TOKEN`); or a Bedrock API
//!   key as the provider's key (`AWS_BEARER_TOKEN_BEDROCK`, `BEDROCK_API_KEY`), sent as
//!   `Authorization: Bearer`, which wins over the key pair as in the AWS SDKs.
//! - SigV4 signing happens in [`Provider::authorize`] with the caller's wall clock, so a
//!   retried request is signed afresh; no clock is a `Configuration` error.
//! - Embeddings go through `InvokeModel` for Amazon Titan and Cohere embedding models
//!   (`embeddings.rs`).
//! - Replies, streams (binary event stream, see [`crate::framing::EventStreamDecoder`]) and
//!   errors follow the Anthropic adapter's conventions: `reasoning_content` plus signed
//!   `thinking_blocks` that round-trip, the `response_format` tool, cache usage in
//!   `prompt_tokens_details`.

mod embeddings;
mod error;
mod request;
mod response;
pub mod sigv4;
mod stream;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use sha2::{Digest, Sha256};

use super::{Capabilities, ChatStreamDecoder, FramedChatStream, Provider};
use crate::error::Error;
use crate::framing::EventStreamDecoder;
use crate::settings::{ApiKey, ProviderSettings};
use crate::types::{ChatCompletion, ChatRequest, EmbeddingRequest, EmbeddingResponse};
pub use sigv4::AwsCredentials;
use sigv4::SigningScope;

/// The SigV4 service name of the Bedrock runtime.
const SERVICE: &str = "bedrock";

/// A callback that returns the AWS credentials to sign the next request with. It runs once
/// per attempt (in [`Provider::authorize`]), so credentials that expire (STS, SSO, instance
/// roles) can be refreshed by the caller instead of being cached forever; the core does no
/// I/O itself, so fetching and caching them is the callback's business.
pub type CredentialsSource = Arc<dyn Fn() -> Result<AwsCredentials, Error> + Send + Sync>;

/// How requests are authenticated.
#[derive(Clone)]
enum Auth {
    /// A Bedrock API key, as `Authorization: Bearer`.
    Bearer(ApiKey),
    /// SigV4 with an access key pair.
    SigV4(AwsCredentials),
    /// SigV4 with whatever the caller's callback returns at signing time.
    Source(CredentialsSource),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Bearer([REDACTED])"),
            Auth::SigV4(credentials) => f.debug_tuple("SigV4").field(credentials).finish(),
            Auth::Source(_) => f.write_str("Source(callback)"),
        }
    }
}

/// The Bedrock adapter.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use onellm_core::provider::bedrock::Bedrock;
/// use onellm_core::{ChatRequest, Provider, ProviderSettings};
///
/// let mut settings = ProviderSettings::default();
/// settings.options.insert("region".into(), "us-east-1".into());
/// settings.secrets.insert("access_key_id".into(), "AKIDEXAMPLE".into());
/// settings.secrets.insert("secret_access_key".into(), "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into());
/// let bedrock = Bedrock::new(&settings).unwrap();
/// let request = ChatRequest::new("bedrock/us.amazon.nova-micro-v1:0").user("Hello!");
/// let mut http_request = bedrock.build_chat("us.amazon.nova-micro-v1:0", &request, false).unwrap();
/// assert_eq!(
///     http_request.uri(),
///     "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.amazon.nova-micro-v1%3A0/converse"
/// );
/// bedrock.authorize(&mut http_request, Some(UNIX_EPOCH + Duration::from_secs(1_714_564_800))).unwrap();
/// assert!(http_request.headers()["authorization"].to_str().unwrap().starts_with(
///     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/bedrock/aws4_request"));
/// ```
#[derive(Debug, Clone)]
pub struct Bedrock {
    region: Option<String>,
    base_url: Option<String>,
    auth: Auth,
    headers: Vec<(String, String)>,
}

impl Bedrock {
    /// An adapter with `settings`; a `Configuration` error naming the variables when there
    /// are no credentials.
    pub fn new(settings: &ProviderSettings) -> Result<Bedrock, Error> {
        let auth = match (
            &settings.api_key,
            settings.secret("access_key_id"),
            settings.secret("secret_access_key"),
        ) {
            (Some(token), _, _) => Auth::Bearer(token.clone()),
            (None, Some(key_id), Some(secret)) => Auth::SigV4(AwsCredentials {
                access_key_id: key_id.expose().to_owned(),
                secret_access_key: secret.clone(),
                session_token: settings.secret("session_token").cloned(),
            }),
            _ => {
                return Err(Error::configuration(
                    "bedrock needs AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary credentials), or a Bedrock API key in AWS_BEARER_TOKEN_BEDROCK",
                ))
            }
        };
        Ok(Bedrock {
            region: settings.option("region").map(str::to_owned),
            base_url: settings
                .base_url
                .as_deref()
                .map(|url| url.trim_end_matches('/').to_owned()),
            auth,
            headers: settings.headers.clone(),
        })
    }

    /// An adapter that signs with credentials from `source`, called once per attempt;
    /// region, base URL and headers still come from `settings`. The transports' builders
    /// offer this as `aws_credentials(…)`.
    pub fn with_credentials_source(
        settings: &ProviderSettings,
        source: CredentialsSource,
    ) -> Bedrock {
        Bedrock {
            region: settings.option("region").map(str::to_owned),
            base_url: settings
                .base_url
                .as_deref()
                .map(|url| url.trim_end_matches('/').to_owned()),
            auth: Auth::Source(source),
            headers: settings.headers.clone(),
        }
    }

    fn region(&self) -> Result<&str, Error> {
        self.region.as_deref().ok_or_else(|| {
            Error::configuration("bedrock needs a region: set AWS_REGION (or AWS_DEFAULT_REGION)")
        })
    }

    fn endpoint(&self) -> Result<String, Error> {
        match &self.base_url {
            Some(base) => Ok(base.clone()),
            None => Ok(format!(
                "https://bedrock-runtime.{}.amazonaws.com",
                self.region()?
            )),
        }
    }

    /// `POST {endpoint}/model/{model}/{action}` with the bearer token when there is one
    /// (SigV4 is added by `authorize`).
    fn post(
        &self,
        model: &str,
        action: &str,
        accept: &str,
        body: Vec<u8>,
    ) -> Result<http::Request<Bytes>, Error> {
        let model = super::url_path::encoded_segment("bedrock", "model id", model)?;
        let url = format!("{}/model/{model}/{action}", self.endpoint()?);
        let token = match &self.auth {
            Auth::Bearer(token) => Some(token),
            Auth::SigV4(_) | Auth::Source(_) => None,
        };
        super::bearer_json_post(&url, accept, token, &self.headers, body)
    }

    fn redaction_key(&self) -> Option<&ApiKey> {
        match &self.auth {
            Auth::Bearer(token) => Some(token),
            Auth::SigV4(credentials) => Some(&credentials.secret_access_key),
            // Fresh credentials each attempt: none is known here to redact. AWS error text
            // does not echo secret keys, and the signature never leaves the headers.
            Auth::Source(_) => None,
        }
    }
}

impl Provider for Bedrock {
    fn name(&self) -> &str {
        "bedrock"
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
        let body = request::chat_body(model, request)?;
        if stream {
            self.post(
                model,
                "converse-stream",
                "application/vnd.amazon.eventstream",
                body,
            )
        } else {
            self.post(model, "converse", "application/json", body)
        }
    }

    fn build_embeddings(
        &self,
        model: &str,
        request: &EmbeddingRequest,
    ) -> Result<http::Request<Bytes>, Error> {
        self.post(
            model,
            "invoke",
            "application/json",
            embeddings::body(model, request)?,
        )
    }

    fn parse_embeddings(
        &self,
        response: &http::Response<Bytes>,
    ) -> Result<EmbeddingResponse, Error> {
        super::parse_whole_without_key(self, self.redaction_key(), response, embeddings::parse)
    }

    fn authorize(
        &self,
        request: &mut http::Request<Bytes>,
        wall_clock: Option<SystemTime>,
    ) -> Result<(), Error> {
        let fetched;
        let credentials = match &self.auth {
            Auth::Bearer(_) => return Ok(()),
            Auth::SigV4(credentials) => credentials,
            Auth::Source(source) => {
                fetched = source()?;
                &fetched
            }
        };
        let time = wall_clock.ok_or_else(|| {
            Error::configuration("bedrock signs requests with SigV4, which needs the current time: the transport gave none")
        })?;
        let hash = hex_sha256(request.body());
        let value = HeaderValue::from_str(&hash)
            .map_err(|_| Error::configuration("invalid payload hash"))?;
        request.headers_mut().insert("x-amz-content-sha256", value);
        let scope = SigningScope {
            region: self.region()?,
            service: SERVICE,
            time,
        };
        sigv4::sign(request, credentials, scope)
    }

    fn parse_chat(&self, response: &http::Response<Bytes>) -> Result<ChatCompletion, Error> {
        super::parse_whole_without_key(self, self.redaction_key(), response, response::parse_chat)
    }

    fn chat_stream_decoder(&self, _model: &str) -> Box<dyn ChatStreamDecoder> {
        Box::new(FramedChatStream::with_framing(
            EventStreamDecoder::new(),
            stream::BedrockEvents::default(),
            self.redaction_key().cloned(),
        ))
    }

    fn parse_error(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
        error::parse_error(status, headers, body).without_key(self.redaction_key())
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::model::ModelId;
    use crate::registry::Registry;
    use crate::types::{Message, Tool};
    use serde_json::{json, Value};
    use std::time::{Duration, UNIX_EPOCH};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    /// Found by the `request_translation` fuzz target (seed `crash-gpt-dotdot`): a model id
    /// must not become a dot segment that takes the request out of `/model/`.
    #[test]
    fn dot_segment_model_ids_are_refused() {
        let registry = Registry::from_lookup(env(&[
            ("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key"),
            ("AWS_REGION", "us-east-1"),
        ]));
        let bedrock = registry
            .resolve(&ModelId::parse("bedrock/m").unwrap())
            .unwrap();
        let request = ChatRequest::new("bedrock/x").user("hi");
        for bad in ["..", ".", ""] {
            let error = bedrock.build_chat(bad, &request, false).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Configuration, "{bad:?}");
        }
        let fine = bedrock.build_chat("gpt-..", &request, true).unwrap();
        assert_eq!(fine.uri().path(), "/model/gpt-../converse-stream");
    }

    #[test]
    fn registry_reads_aws_variables_and_signs() {
        let registry = Registry::from_lookup(env(&[
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", "session-token"),
            ("AWS_DEFAULT_REGION", "eu-west-3"),
        ]));
        let model = "arn:aws:bedrock:eu-west-3:123456789012:inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0";
        let id = ModelId::parse(&format!("bedrock/{model}")).unwrap();
        let provider = registry.resolve(&id).unwrap();
        let mut request = provider
            .build_chat(id.model(), &ChatRequest::new("x").user("Hi"), true)
            .unwrap();
        assert_eq!(
            request.uri(),
            "https://bedrock-runtime.eu-west-3.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aeu-west-3%3A123456789012%3Ainference-profile%2Feu.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream"
        );
        assert_eq!(
            request.headers()["accept"],
            "application/vnd.amazon.eventstream"
        );
        let error = provider.authorize(&mut request.clone(), None).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Configuration);
        provider
            .authorize(
                &mut request,
                Some(UNIX_EPOCH + Duration::from_secs(1_714_564_800)),
            )
            .unwrap();
        let headers = request.headers();
        assert_eq!(headers["x-amz-date"], "20240501T120000Z");
        assert_eq!(headers["x-amz-security-token"], "session-token");
        assert!(headers["x-amz-security-token"].is_sensitive());
        let authorization = headers["authorization"].to_str().unwrap();
        assert!(authorization.contains("/20240501/eu-west-3/bedrock/aws4_request"));
        assert!(authorization.contains(
            "SignedHeaders=accept;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
        ));
        let debug = format!("{provider:?} {request:?} {:?}", registry);
        for secret in [SECRET, "session-token", "AKIDEXAMPLE"] {
            assert!(!debug.contains(secret), "{secret} leaked");
        }
    }

    #[test]
    fn bearer_token_and_missing_settings() {
        let registry = Registry::from_lookup(env(&[
            ("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-abc"),
            ("AWS_REGION", "us-west-2"),
        ]));
        let id = ModelId::parse("bedrock/amazon.nova-micro-v1:0").unwrap();
        let provider = registry.resolve(&id).unwrap();
        let mut request = provider
            .build_chat(id.model(), &ChatRequest::new("x").user("Hi"), false)
            .unwrap();
        provider.authorize(&mut request, None).unwrap();
        assert_eq!(
            request.headers()["authorization"],
            "Bearer bedrock-api-key-abc"
        );
        assert!(request.headers()["authorization"].is_sensitive());
        assert!(request.headers().get("x-amz-date").is_none());

        let error = Registry::from_lookup(env(&[("AWS_REGION", "us-west-2")]))
            .resolve(&id)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Configuration);
        for variable in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_BEARER_TOKEN_BEDROCK",
        ] {
            assert!(error.message().contains(variable), "{error}");
        }
        let no_region = Registry::from_lookup(env(&[("AWS_BEARER_TOKEN_BEDROCK", "k")]));
        let error = no_region
            .resolve(&id)
            .unwrap()
            .build_chat(id.model(), &ChatRequest::new("x").user("Hi"), false)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Configuration);
        assert!(error.message().contains("AWS_REGION"), "{error}");
    }

    /// An OpenAI conversation (tool call with reasoning, its result, a follow-up) goes out as
    /// Converse, a simulated reply comes back, and the next request carries it unchanged.
    #[test]
    fn conversation_round_trip() {
        let provider = Bedrock::new(&ProviderSettings {
            api_key: Some("k".into()),
            base_url: Some("http://127.0.0.1:9".into()),
            ..ProviderSettings::default()
        })
        .unwrap();
        let reply_body = json!({"output": {"message": {"role": "assistant", "content": [
            {"reasoningContent": {"reasoningText": {"text": "Need weather.", "signature": "U0lH"}}},
            {"toolUse": {"toolUseId": "tooluse_abc", "name": "get_weather", "input": {"city": "Paris", "unit": "c"}}}]}},
            "stopReason": "tool_use", "usage": {"inputTokens": 9, "outputTokens": 9, "totalTokens": 18}});
        let response = http::Response::builder()
            .status(200)
            .body(Bytes::from(reply_body.to_string()))
            .unwrap();
        let reply = provider.parse_chat(&response).unwrap();
        let request = ChatRequest::new("bedrock/m")
            .user("Weather in Paris?")
            .tool(Tool::function(
                "get_weather",
                "Weather",
                json!({"type": "object"}),
            ))
            .message(reply.choices[0].message.clone())
            .message(Message::tool("tooluse_abc", "21°C"))
            .user("Should I take a coat?");
        let http_request = provider
            .build_chat(
                "us.anthropic.claude-sonnet-4-20250514-v1:0",
                &request,
                false,
            )
            .unwrap();
        assert_eq!(
            http_request.uri(),
            "http://127.0.0.1:9/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse"
        );
        let body: Value = serde_json::from_slice(http_request.body()).unwrap();
        assert_eq!(
            body["messages"][1],
            json!({"role": "assistant", "content": reply_body["output"]["message"]["content"]})
        );
        assert_eq!(
            body["messages"][2]["content"][0],
            json!({"toolResult": {"toolUseId": "tooluse_abc", "content": [{"text": "21°C"}]}})
        );
        assert_eq!(
            body["messages"][2]["content"][1],
            json!({"text": "Should I take a coat?"})
        );
    }
}
