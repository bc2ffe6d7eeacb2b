//! Azure OpenAI: OpenAI's chat-completions protocol at deployment URLs.
//!
//! The wire format is OpenAI's, so Azure is the OpenAI adapter
//! ([`OpenAiCompatible`](super::OpenAiCompatible)) with different addressing, not a
//! copy of it. What differs:
//! - URL: `{endpoint}/openai/deployments/{deployment}/{path}?api-version={version}`; the
//!   deployment is the model part of `azure/<deployment>` unless the config file maps that
//!   model name to another deployment (and maybe another endpoint, key and API version).
//! - Auth: the `api-key` header, or `Authorization: Bearer` with a Microsoft Entra ID token
//!   (secret `ad_token`, `AZURE_OPENAI_AD_TOKEN`), which wins when both are set.
//! - API versions before `2024-09-01` know neither `stream_options` nor
//!   `max_completion_tokens`, so neither is sent to them.
//! - Streams open with a chunk whose `choices` is empty and which carries
//!   `prompt_filter_results`, and content-filter refusals are 400s with code
//!   `content_filter`: the OpenAI decoder already keeps the first (as an extra field) and the
//!   error table maps the second to [`ErrorKind::ContentFilter`](crate::ErrorKind).
//!
//! Settings (provider name `azure`):
//!
//! | setting | from |
//! |---|---|
//! | key | `AZURE_OPENAI_API_KEY`, `AZURE_API_KEY`, the config file's `key1`/`key2` |
//! | endpoint | base URL settings (`AZURE_BASE_URL`, …), option `endpoint` (`AZURE_OPENAI_ENDPOINT`), the config file's `endpoint` |
//! | API version | option `api_version` (`AZURE_OPENAI_API_VERSION`, `OPENAI_API_VERSION`), else [`DEFAULT_API_VERSION`] |
//! | Entra ID token | secret `ad_token` (`AZURE_OPENAI_AD_TOKEN`) |
//! | config file | secret `config_json`: the contents of the JSON file OneLLM reads from `AZURE_OPENAI_CONFIG_PATH`, which the transports read (the core does no I/O) |
//!
//! The config file is Python OneLLM's: `{"endpoint", "key1", "key2", "region",
//! "deployment": {"<model>": {"endpoint", "deployment", "subscription_key", "api_version"}}}`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::Error;
use crate::settings::{ApiKey, ProviderSettings};

/// The API version used when none is configured (the latest GA version at the time of
/// writing; it knows `stream_options` and `max_completion_tokens`).
pub const DEFAULT_API_VERSION: &str = "2024-10-21";

/// The environment variable naming OneLLM's Azure config file.
pub const CONFIG_PATH_VAR: &str = "AZURE_OPENAI_CONFIG_PATH";

/// The first API version that accepts `stream_options` and `max_completion_tokens`.
const MODERN_API_VERSION: &str = "2024-09-01";

/// One model's deployment, from the config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AzureDeployment {
    /// This deployment's resource endpoint (`https://<resource>.openai.azure.com`); the file's
    /// top-level `endpoint` if `None`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The deployment name in the URL; the model name of `azure/<model>` if `None`.
    #[serde(default)]
    pub deployment: Option<String>,
    /// This deployment's key (`subscription_key` in the file), sent as `api-key`; the
    /// provider's key if `None`.
    #[serde(default, rename = "subscription_key")]
    pub api_key: Option<ApiKey>,
    /// This deployment's `api-version`; the provider's if `None`.
    #[serde(default)]
    pub api_version: Option<String>,
}

/// The parsed config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AzureConfig {
    /// The resource endpoint, used when neither the settings nor the deployment name one.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The resource's first key, used when the settings have none.
    #[serde(default)]
    pub key1: Option<ApiKey>,
    /// The resource's second key, used when neither the settings nor `key1` give one.
    #[serde(default)]
    pub key2: Option<ApiKey>,
    /// The resource's region. Read for completeness and not used: the endpoint already names
    /// the resource.
    #[serde(default)]
    pub region: Option<String>,
    /// Per-model deployments, by the model name used in `azure/<model>`.
    #[serde(default, rename = "deployment")]
    pub deployments: BTreeMap<String, AzureDeployment>,
}

impl AzureConfig {
    /// Parses the config file's contents. The error names only the position: the file holds
    /// keys, and a serde message could quote one.
    pub fn from_json(text: &str) -> Result<AzureConfig, Error> {
        serde_json::from_str(text).map_err(|e| {
            Error::configuration(format!(
                "the Azure config file ({CONFIG_PATH_VAR}) is not valid: {:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        })
    }
}

/// Where one Azure request goes and how it authenticates.
#[derive(Debug)]
pub(crate) struct AzureTarget<'a> {
    pub url: String,
    pub auth: (&'static str, String),
    pub modern: bool,
    pub key: Option<&'a ApiKey>,
}

/// Azure's addressing, resolved from settings once per adapter.
#[derive(Debug, Clone)]
pub(crate) struct AzureRouting {
    endpoint: Option<String>,
    api_version: String,
    api_key: Option<ApiKey>,
    ad_token: Option<ApiKey>,
    deployments: BTreeMap<String, AzureDeployment>,
}

impl AzureRouting {
    pub(crate) fn new(settings: &ProviderSettings) -> Result<AzureRouting, Error> {
        let config = match settings.secret("config_json") {
            Some(text) => AzureConfig::from_json(text.expose())?,
            None => AzureConfig::default(),
        };
        let endpoint = settings
            .base_url
            .clone()
            .or_else(|| settings.option("endpoint").map(str::to_owned))
            .or(config.endpoint);
        let routing = AzureRouting {
            endpoint,
            api_version: settings
                .option("api_version")
                .unwrap_or(DEFAULT_API_VERSION)
                .to_owned(),
            api_key: settings.api_key.clone().or(config.key1).or(config.key2),
            ad_token: settings.secret("ad_token").cloned(),
            deployments: config.deployments,
        };
        let has_auth = routing.api_key.is_some()
            || routing.ad_token.is_some()
            || routing.deployments.values().any(|d| d.api_key.is_some());
        if !has_auth {
            return Err(Error::configuration(
                "no credentials for provider azure: set AZURE_OPENAI_API_KEY, \
                 AZURE_OPENAI_AD_TOKEN or AZURE_OPENAI_CONFIG_PATH",
            ));
        }
        Ok(routing)
    }

    /// Every key this adapter may send, for redacting error text.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &ApiKey> {
        self.api_key
            .iter()
            .chain(self.ad_token.iter())
            .chain(self.deployments.values().filter_map(|d| d.api_key.as_ref()))
    }

    /// The URL and auth header for `path` (`chat/completions`, `embeddings`, …) on the
    /// deployment serving `model`.
    pub(crate) fn target(&self, model: &str, path: &str) -> Result<AzureTarget<'_>, Error> {
        self.target_at(model, |endpoint, deployment, api_version| {
            format!("{endpoint}/openai/deployments/{deployment}/{path}?api-version={api_version}")
        })
        .map(|(target, _)| target)
    }

    /// The URL and auth header of the Responses API for `model`, and the deployment name to
    /// send as the body's `model`. Azure serves the Responses API on its v1 surface,
    /// `{endpoint}/openai/v1/responses`, which takes no `api-version` and names the
    /// deployment in the body (Microsoft Learn, "Azure OpenAI Responses API"); the older
    /// `/openai/responses?api-version=…-preview` address needs a preview version the
    /// deployment's chat `api-version` usually is not, so v1 is the one address that works
    /// for every configured deployment.
    pub(crate) fn responses_target(&self, model: &str) -> Result<(AzureTarget<'_>, String), Error> {
        self.target_at(model, |endpoint, _, _| {
            format!("{endpoint}/openai/v1/responses")
        })
    }

    /// What [`target`](Self::target) resolves, with the URL made by `url` from the endpoint,
    /// the deployment and the API version; also returns the deployment.
    fn target_at(
        &self,
        model: &str,
        url: impl FnOnce(&str, &str, &str) -> String,
    ) -> Result<(AzureTarget<'_>, String), Error> {
        let mapped = self.deployments.get(model);
        let deployment = mapped
            .and_then(|d| d.deployment.as_deref())
            .unwrap_or(model);
        let deployment =
            crate::provider::url_path::plain_segment("azure", "deployment", deployment)?;
        let endpoint = mapped
            .and_then(|d| d.endpoint.as_deref())
            .or(self.endpoint.as_deref())
            .ok_or_else(|| {
                Error::configuration(
                    "no endpoint for provider azure: set AZURE_OPENAI_ENDPOINT \
                     (https://<resource>.openai.azure.com)",
                )
            })?
            .trim_end_matches('/');
        let api_version = mapped
            .and_then(|d| d.api_version.as_deref())
            .unwrap_or(&self.api_version);
        if !api_version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(Error::configuration(format!(
                "invalid Azure API version {:?}",
                crate::error::excerpt(api_version.as_bytes())
            )));
        }
        let key = mapped
            .and_then(|d| d.api_key.as_ref())
            .or(self.api_key.as_ref());
        let (auth, key) = match (&self.ad_token, key) {
            (Some(token), _) => (
                ("authorization", format!("Bearer {}", token.expose())),
                Some(token),
            ),
            (None, Some(key)) => (("api-key", key.expose().to_owned()), Some(key)),
            (None, None) => {
                return Err(Error::configuration(format!(
                    "no key for Azure model {model}: set AZURE_OPENAI_API_KEY or a \
                     subscription_key for it in the config file"
                )))
            }
        };
        Ok((
            AzureTarget {
                url: url(endpoint, deployment, api_version),
                auth,
                modern: api_version >= MODERN_API_VERSION,
                key,
            },
            deployment.to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};
    use serde_json::{json, Value};

    use crate::provider::openai::OpenAiCompatible;
    use crate::settings::ProviderSettings;
    use crate::{ChatRequest, ChunkAccumulator, ErrorKind, Provider, Registry};

    const KEY: &str = "azure-key-0123456789";

    fn settings(pairs: &[(&str, &str)]) -> ProviderSettings {
        let env = |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let mut registry = Registry::from_lookup(env);
        registry
            .apply_config_files(env, |path| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == path)
                    .map(|(_, v)| (*v).to_owned())
                    .ok_or_else(|| std::io::Error::other("no such file"))
            })
            .unwrap();
        registry.settings("azure").cloned().unwrap_or_default()
    }

    fn body(request: &http::Request<Bytes>) -> Value {
        serde_json::from_slice(request.body()).unwrap()
    }

    #[test]
    fn chat_goes_to_the_deployment_with_the_api_key_header() {
        let azure = OpenAiCompatible::azure(&settings(&[
            ("AZURE_OPENAI_API_KEY", KEY),
            ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/"),
        ]))
        .unwrap();
        let request = ChatRequest::new("azure/gpt-4o-prod")
            .user("hi")
            .max_tokens(5);
        let built = azure.build_chat("gpt-4o-prod", &request, true).unwrap();
        assert_eq!(
            built.uri(),
            "https://res.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(built.headers()["api-key"], KEY);
        assert!(built.headers()["api-key"].is_sensitive());
        assert!(built.headers().get("authorization").is_none());
        let body = body(&built);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["max_completion_tokens"], 5);
        assert!(body.get("max_tokens").is_none());
    }

    #[test]
    fn old_api_versions_get_neither_stream_options_nor_max_completion_tokens() {
        let azure = OpenAiCompatible::azure(&settings(&[
            ("AZURE_OPENAI_API_KEY", KEY),
            ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com"),
            ("OPENAI_API_VERSION", "2024-02-01"),
        ]))
        .unwrap();
        let request = ChatRequest::new("azure/d").user("hi").max_tokens(7);
        let built = azure.build_chat("d", &request, true).unwrap();
        assert!(built.uri().to_string().ends_with("api-version=2024-02-01"));
        let body = body(&built);
        assert!(body.get("stream_options").is_none(), "{body}");
        assert_eq!(body["max_tokens"], 7);
    }

    #[test]
    fn entra_token_is_a_bearer_and_beats_the_key() {
        let azure = OpenAiCompatible::azure(&settings(&[
            ("AZURE_OPENAI_API_KEY", KEY),
            ("AZURE_OPENAI_AD_TOKEN", "eyJ-token-abcdef"),
            ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com"),
        ]))
        .unwrap();
        let built = azure
            .build_chat("d", &ChatRequest::new("azure/d").user("hi"), false)
            .unwrap();
        assert_eq!(built.headers()["authorization"], "Bearer eyJ-token-abcdef");
        assert!(built.headers().get("api-key").is_none());
    }

    #[test]
    fn config_file_maps_models_to_deployments_endpoints_and_keys() {
        let config = json!({
            "endpoint": "https://main.openai.azure.com",
            "key1": "file-key-1111",
            "region": "eastus",
            "deployment": {
                "o4-mini": {"endpoint": "https://other.openai.azure.com/", "deployment": "o4-mini-eu",
                            "subscription_key": "other-key-2222", "api_version": "2025-01-01-preview"}
            }
        })
        .to_string();
        let settings = settings(&[
            ("AZURE_OPENAI_CONFIG_PATH", "/etc/azure.json"),
            ("/etc/azure.json", &config),
        ]);
        let azure = OpenAiCompatible::azure(&settings).unwrap();
        let request = ChatRequest::new("azure/x").user("hi");
        let mapped = azure.build_chat("o4-mini", &request, false).unwrap();
        assert_eq!(
            mapped.uri(),
            "https://other.openai.azure.com/openai/deployments/o4-mini-eu/chat/completions?api-version=2025-01-01-preview"
        );
        assert_eq!(mapped.headers()["api-key"], "other-key-2222");
        let default = azure.build_chat("gpt-4o", &request, false).unwrap();
        assert_eq!(
            default.uri(),
            "https://main.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(default.headers()["api-key"], "file-key-1111");
        // The settings' Debug shows neither the file's keys nor its text.
        let debug = format!("{settings:?} {azure:?}");
        assert!(
            !debug.contains("1111") && !debug.contains("2222"),
            "{debug}"
        );
    }

    #[test]
    fn bad_config_and_missing_settings_are_configuration_errors() {
        let error =
            super::AzureConfig::from_json(r#"{"key1": 12, "x": "secret-value"}"#).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Configuration);
        assert!(!error.to_string().contains("secret-value"));
        let unreadable = Registry::new()
            .apply_config_files(
                |name| (name == "AZURE_OPENAI_CONFIG_PATH").then(|| "/nope.json".to_owned()),
                |_| Err(std::io::Error::other("not found")),
            )
            .unwrap_err();
        assert!(unreadable.to_string().contains("/nope.json"));
        let no_credentials = OpenAiCompatible::azure(&settings(&[(
            "AZURE_OPENAI_ENDPOINT",
            "https://res.openai.azure.com",
        )]))
        .unwrap_err();
        assert!(no_credentials.to_string().contains("AZURE_OPENAI_API_KEY"));
        let no_endpoint =
            OpenAiCompatible::azure(&settings(&[("AZURE_OPENAI_API_KEY", KEY)])).unwrap();
        let error = no_endpoint
            .build_chat("d", &ChatRequest::new("azure/d").user("hi"), false)
            .unwrap_err();
        assert!(error.to_string().contains("AZURE_OPENAI_ENDPOINT"));
    }

    #[test]
    fn deployment_names_cannot_change_the_path() {
        let azure = OpenAiCompatible::azure(&settings(&[
            ("AZURE_OPENAI_API_KEY", KEY),
            ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com"),
        ]))
        .unwrap();
        let request = ChatRequest::new("azure/x").user("hi");
        for bad in ["..", "a/b", "a?x=1", "a#b", "a%2fb", "", "a b"] {
            let error = azure.build_chat(bad, &request, false).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Configuration, "{bad}");
        }
        assert!(azure.build_chat("gpt-4.1_mini-2", &request, false).is_ok());
    }

    #[test]
    fn content_filter_errors_and_prompt_filter_chunks() {
        let azure = OpenAiCompatible::azure(&settings(&[
            ("AZURE_OPENAI_API_KEY", KEY),
            ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com"),
        ]))
        .unwrap();
        // Azure's documented content-filter refusal, with the key echoed to check redaction.
        let refusal = json!({"error": {"message": format!("The response was filtered (key {KEY})"),
            "type": null, "param": "prompt", "code": "content_filter", "status": 400,
            "innererror": {"code": "ResponsibleAIPolicyViolation",
                "content_filter_result": {"hate": {"filtered": true, "severity": "high"}}}}});
        let error = azure.parse_error(
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            refusal.to_string().as_bytes(),
        );
        assert_eq!(error.kind(), ErrorKind::ContentFilter);
        assert!(!error.to_string().contains(KEY), "{error}");
        // A stream opens with an empty-choices chunk carrying prompt_filter_results.
        let stream = concat!(
            "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{\"hate\":{\"filtered\":false,\"severity\":\"safe\"}}}]}\n\n",
            "data: {\"choices\":[{\"content_filter_results\":{},\"delta\":{\"content\":\"Hi\",\"role\":\"assistant\"},\"finish_reason\":null,\"index\":0}],\"created\":1,\"id\":\"c1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\"}\n\n",
            "data: {\"choices\":[{\"content_filter_results\":{},\"delta\":{},\"finish_reason\":\"stop\",\"index\":0}],\"created\":1,\"id\":\"c1\",\"model\":\"gpt-4o\",\"object\":\"chat.completion.chunk\"}\n\n",
            "data: [DONE]\n\n"
        );
        let mut decoder = azure.chat_stream_decoder("gpt-4o");
        decoder.push(stream.as_bytes());
        decoder.finish();
        let mut accumulator = ChunkAccumulator::new();
        while let Some(chunk) = decoder.next_chunk() {
            accumulator.push(&chunk.unwrap());
        }
        assert!(decoder.is_complete());
        let completion = accumulator.into_completion();
        assert_eq!(completion.text(), "Hi");
    }
}
