//! The OpenAI-compatible providers as data: one row each.
//!
//! Adding a provider that speaks OpenAI's chat-completions protocol is adding a row here (or
//! registering a [`Profile`] at run time with
//! [`Registry::register_openai_compatible`](crate::Registry::register_openai_compatible)).
//! Settings come from `<NAME>_API_KEY` (then the row's key aliases), `<NAME>_BASE_URL` /
//! `<NAME>_API_BASE` and `ONELLM_PROVIDERS__<NAME>__{API_KEY,API_BASE,TIMEOUT,MAX_RETRIES}`
//! (see [`crate::settings`]).
//!
//! How rows are filled in:
//!
//! - **Names** are LiteLLM's `litellm_provider` names where LiteLLM has the provider
//!   (`nvidia_nim`, `featherless_ai`, `friendliai`, `vercel_ai_gateway`, …), so the model
//!   catalog's prices for `<name>/<model>` apply. `<NAME>_API_KEY` is therefore LiteLLM's
//!   variable; where the provider's own documentation or SDK names another (`NVIDIA_API_KEY`,
//!   `HF_TOKEN`, `FRIENDLI_TOKEN`, `ARK_API_KEY`, …) that one is a key alias, read next.
//! - **Base URLs** are the ones the provider's own documentation gives to OpenAI clients, with
//!   their path (`/v1`, `/compatible-mode/v1`, `/api/paas/v4`, …). Regional or self-hosted
//!   variants (DashScope's Beijing region, SiliconFlow's `.cn`) are a `<NAME>_BASE_URL` away.
//! - **Embeddings and legacy completions** are marked only where the provider documents them;
//!   elsewhere a call fails with `unsupported` before sending rather than with a 404 after.
//! - **`stream_usage: false`** where the provider's chat reference has no `stream_options`
//!   (or could not be confirmed to accept it): a server that refuses unknown fields would
//!   otherwise fail every stream. Each such row says why.

/// Which field carries the caller's token limit on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenField {
    /// `max_tokens` (most compatible servers; `max_completion_tokens` is renamed to it).
    MaxTokens,
    /// `max_completion_tokens` (OpenAI, where `max_tokens` is deprecated and refused by
    /// reasoning models).
    MaxCompletionTokens,
}

/// One OpenAI-compatible provider: where it lives and how it differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The provider part of model ids.
    pub name: String,
    /// Default base URL, following the official SDK's convention (OpenAI's includes `/v1`).
    /// `None` when the user must configure one (`custom`).
    pub base_url: Option<String>,
    /// Whether a call without an API key is a configuration error (local servers: no).
    pub key_required: bool,
    /// Variables read for the key after `<NAME>_API_KEY`, in order (the provider's own name
    /// for it where that differs, e.g. `NVIDIA_API_KEY` for `nvidia_nim`).
    pub key_aliases: Vec<String>,
    /// Which token-limit field to send.
    pub token_field: TokenField,
    /// Whether to ask for usage in streams (`stream_options.include_usage`); some servers
    /// refuse the field.
    pub stream_usage: bool,
    /// Whether `/embeddings` exists.
    pub embeddings: bool,
    /// Whether legacy `/completions` exists.
    pub completions: bool,
    /// Whether the server speaks OpenAI's Responses API at `{base_url}/responses`. When
    /// not, Responses calls are served through the chat endpoint by translation (see
    /// [`crate::provider::responses_bridge`]). Set only where the provider documents the
    /// endpoint ([`SERVES_RESPONSES`]).
    pub responses: bool,
    /// Whether `/images/generations` exists.
    pub images: bool,
    /// Whether `/audio/transcriptions`, `/audio/translations` and `/audio/speech` exist.
    pub audio: bool,
    /// Whether `/moderations` exists (OpenAI's shape).
    pub moderations: bool,
    /// Headers sent on every request.
    pub headers: Vec<(String, String)>,
}

impl Profile {
    /// A profile for an OpenAI-compatible server at `base_url` with the usual defaults
    /// (`max_tokens`, usage in streams, embeddings and completions, key optional).
    pub fn new(name: impl Into<String>, base_url: impl Into<String>) -> Self {
        Profile {
            name: name.into().to_ascii_lowercase(),
            base_url: Some(base_url.into()),
            key_required: false,
            key_aliases: Vec::new(),
            token_field: TokenField::MaxTokens,
            stream_usage: true,
            embeddings: true,
            completions: true,
            responses: false,
            images: true,
            audio: true,
            moderations: true,
            headers: Vec::new(),
        }
    }
}

/// The built-in rows whose server speaks the Responses API natively, each with the page
/// that documents it. Conservative: a host whose compatible endpoint covers chat only, or
/// whose Responses support could not be confirmed, is served by translation instead, which
/// works everywhere chat does.
///
/// - `openai`: platform.openai.com/docs/api-reference/responses (the API's home).
/// - `xai`: docs.x.ai/docs/guides/responses-api (`POST https://api.x.ai/v1/responses`,
///   streaming with the same events).
pub const SERVES_RESPONSES: &[&str] = &["openai", "xai"];

struct Row {
    name: &'static str,
    base_url: &'static str,
    key_required: bool,
    token_field: TokenField,
    stream_usage: bool,
    embeddings: bool,
    completions: bool,
    key_aliases: &'static [&'static str],
}

use TokenField::{MaxCompletionTokens as MAX_COMPLETION, MaxTokens as MAX};

/// The built-in rows. `base_url: ""` means none (must be configured). Each provider added
/// with the long tail cites the page its base URL and key variable come from.
#[rustfmt::skip]
const ROWS: &[Row] = &[
    Row { name: "openai",     base_url: "https://api.openai.com/v1",            key_required: true,  token_field: MAX_COMPLETION, stream_usage: true,  embeddings: true,  completions: true,  key_aliases: &[] },
    Row { name: "groq",       base_url: "https://api.groq.com/openai/v1",       key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false, key_aliases: &[] },
    Row { name: "mistral",    base_url: "https://api.mistral.ai/v1",            key_required: true,  token_field: MAX,            stream_usage: false, embeddings: true,  completions: false, key_aliases: &[] },
    Row { name: "deepseek",   base_url: "https://api.deepseek.com/v1",          key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: true,  key_aliases: &[] },
    Row { name: "together",   base_url: "https://api.together.xyz/v1",          key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true,  key_aliases: &[] },
    Row { name: "fireworks",  base_url: "https://api.fireworks.ai/inference/v1", key_required: true, token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true,  key_aliases: &[] },
    Row { name: "xai",        base_url: "https://api.x.ai/v1",                  key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false, key_aliases: &[] },
    Row { name: "openrouter", base_url: "https://openrouter.ai/api/v1",         key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: true,  key_aliases: &[] },
    Row { name: "perplexity", base_url: "https://api.perplexity.ai",            key_required: true,  token_field: MAX,            stream_usage: false, embeddings: false, completions: false, key_aliases: &[] },
    Row { name: "moonshot",   base_url: "https://api.moonshot.ai/v1",           key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false, key_aliases: &[] },
    Row { name: "deepinfra",  base_url: "https://api.deepinfra.com/v1/openai",  key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true,  key_aliases: &[] },
    Row { name: "cerebras",   base_url: "https://api.cerebras.ai/v1",           key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: true,  key_aliases: &[] },

    // The long tail of hosted inference APIs.
    // docs.tokenfactory.nebius.com/api-reference/examples/text-generation (AI Studio is now Token Factory); /v1/embeddings and /v1/completions listed there.
    Row { name: "nebius",     base_url: "https://api.tokenfactory.nebius.com/v1", key_required: true, token_field: MAX,          stream_usage: true,  embeddings: true,  completions: true,  key_aliases: &[] },
    // docs.sambanova.ai "OpenAI compatibility" and "API keys and base URLs"; embeddings documented.
    Row { name: "sambanova",  base_url: "https://api.sambanova.ai/v1",          key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: true,  completions: false, key_aliases: &[] },
    // docs.hyperbolic.xyz/docs/rest-api ($HYPERBOLIC_API_KEY in its curl example).
    Row { name: "hyperbolic", base_url: "https://api.hyperbolic.xyz/v1",        key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false, key_aliases: &[] },
    // novita.ai/docs/guides/llm-api: chat completions and completions.
    Row { name: "novita",     base_url: "https://api.novita.ai/v3/openai",      key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: true,  key_aliases: &[] },
    // build.nvidia.com API catalog docs: `Authorization: Bearer $NVIDIA_API_KEY`.
    Row { name: "nvidia_nim", base_url: "https://integrate.api.nvidia.com/v1",  key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false, key_aliases: &["NVIDIA_API_KEY"] },
    // docs.github.com/en/github-models/quickstart: a PAT with `models` scope, or Actions' GITHUB_TOKEN.
    // stream_options not confirmed in docs.github.com/en/rest/models/inference: not sent.
    Row { name: "github",     base_url: "https://models.github.ai/inference",   key_required: true,  token_field: MAX,            stream_usage: false, embeddings: false, completions: false, key_aliases: &["GITHUB_TOKEN"] },
    // huggingface.co/docs/inference-providers: the router, `api_key=os.environ["HF_TOKEN"]`.
    Row { name: "huggingface", base_url: "https://router.huggingface.co/v1",    key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false, key_aliases: &["HF_TOKEN"] },
    // alibabacloud.com/help/en/model-studio/compatibility-of-openai-with-dashscope (Singapore; Beijing is dashscope.aliyuncs.com).
    Row { name: "dashscope",  base_url: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", key_required: true, token_field: MAX, stream_usage: true, embeddings: true, completions: false, key_aliases: &[] },
    // docs.z.ai/api-reference/introduction: general endpoint, `Authorization: Bearer ZAI_API_KEY`.
    Row { name: "zai",        base_url: "https://api.z.ai/api/paas/v4",         key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false, key_aliases: &[] },
    // platform.minimax.io/docs/api-reference/text-openai-api (api.minimaxi.com for mainland China).
    Row { name: "minimax",    base_url: "https://api.minimax.io/v1",            key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false, key_aliases: &[] },
    // docs.siliconflow.com quickstart (global; api.siliconflow.cn for China); /v1/embeddings documented.
    Row { name: "siliconflow", base_url: "https://api.siliconflow.com/v1",      key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: true,  completions: false, key_aliases: &[] },
    // docs.baseten.co/reference/inference-api/chat-completions (Model APIs), `os.environ["BASETEN_API_KEY"]`.
    Row { name: "baseten",    base_url: "https://inference.baseten.co/v1",      key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false, key_aliases: &[] },
    // featherless.ai/docs/quickstart-guide: /chat/completions and /completions, FEATHERLESS_API_KEY.
    Row { name: "featherless_ai", base_url: "https://api.featherless.ai/v1",    key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: true,  key_aliases: &["FEATHERLESS_API_KEY"] },
    // friendli.ai/docs/openapi/create-chat-completions (serverless; /serverless/v1/completions too); the SDK reads FRIENDLI_TOKEN.
    Row { name: "friendliai", base_url: "https://api.friendli.ai/serverless/v1", key_required: true, token_field: MAX,            stream_usage: true,  embeddings: false, completions: true,  key_aliases: &["FRIENDLI_TOKEN"] },
    // docs.nscale.com/docs/inference/chat (NSCALE_API_KEY; newer pages say NSCALE_SERVICE_TOKEN); its schema has stream_options.
    Row { name: "nscale",     base_url: "https://inference.api.nscale.com/v1",  key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false, key_aliases: &["NSCALE_SERVICE_TOKEN"] },
    // docs.ai21.com/reference/jamba-1-6-api-ref: POST /studio/v1/chat/completions; its request body has no stream_options.
    Row { name: "ai21",       base_url: "https://api.ai21.com/studio/v1",       key_required: true,  token_field: MAX,            stream_usage: false, embeddings: false, completions: false, key_aliases: &[] },
    // Volcengine Ark (arkruntime SDK, which reads ARK_API_KEY); model ids are Ark model or endpoint ids.
    Row { name: "volcengine", base_url: "https://ark.cn-beijing.volces.com/api/v3", key_required: true, token_field: MAX,          stream_usage: true,  embeddings: false, completions: false, key_aliases: &["ARK_API_KEY"] },
    // scaleway.com/en/docs/generative-apis/api-cli/using-chat-api: `Bearer ${SCW_SECRET_KEY}`; embeddings documented.
    Row { name: "scaleway",   base_url: "https://api.scaleway.ai/v1",           key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: true,  completions: false, key_aliases: &["SCW_SECRET_KEY"] },
    // OVHcloud AI Endpoints (ovh.github.io AI Endpoints docs): usable without a key, rate-limited.
    Row { name: "ovhcloud",   base_url: "https://oai.endpoints.kepler.ai.cloud.ovh.net/v1", key_required: false, token_field: MAX, stream_usage: true, embeddings: false, completions: false, key_aliases: &["OVH_AI_ENDPOINTS_ACCESS_TOKEN"] },
    // docs.wandb.ai/inference/api-reference: a W&B API key as bearer.
    Row { name: "wandb",      base_url: "https://api.inference.wandb.ai/v1",    key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false, key_aliases: &[] },
    // Inception (Mercury): api.inceptionlabs.ai/v1; its SDKs read INCEPTION_API_KEY.
    Row { name: "inception",  base_url: "https://api.inceptionlabs.ai/v1",      key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false, key_aliases: &[] },
    // vercel.com/docs/ai-gateway/sdks-and-apis/openai-chat-completions (chat, streaming, embeddings); Vercel names the key AI_GATEWAY_API_KEY.
    Row { name: "vercel_ai_gateway", base_url: "https://ai-gateway.vercel.sh/v1", key_required: true, token_field: MAX,           stream_usage: true,  embeddings: true,  completions: false, key_aliases: &["AI_GATEWAY_API_KEY"] },
    // Mistral's Codestral endpoint (its own key); like `mistral`, no stream_options.
    Row { name: "codestral",  base_url: "https://codestral.mistral.ai/v1",      key_required: true,  token_field: MAX,            stream_usage: false, embeddings: false, completions: false, key_aliases: &[] },

    // Local servers.
    Row { name: "ollama_openai", base_url: "http://localhost:11434/v1",         key_required: false, token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true,  key_aliases: &[] },
    Row { name: "llama_cpp",  base_url: "http://localhost:8080/v1",             key_required: false, token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true,  key_aliases: &[] },
    // llamafile embeds llama.cpp's server (same port and endpoints).
    Row { name: "llamafile",  base_url: "http://localhost:8080/v1",             key_required: false, token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true,  key_aliases: &[] },
    Row { name: "vllm",       base_url: "http://localhost:8000/v1",             key_required: false, token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true,  key_aliases: &[] },
    Row { name: "lmstudio",   base_url: "http://localhost:1234/v1",             key_required: false, token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true,  key_aliases: &[] },
    Row { name: "custom",     base_url: "",                                     key_required: false, token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true,  key_aliases: &[] },
];

/// The rows with OpenAI's media endpoints, each as its provider documents it (kept apart
/// from [`ROWS`] so a row stays one line): `/images/generations` at OpenAI, xAI
/// (docs.x.ai "Image Generations") and Together (docs.together.ai "Create Image");
/// `/audio/transcriptions`, `/audio/translations` and `/audio/speech` at OpenAI and Groq
/// (console.groq.com/docs/speech-to-text and text-to-speech); `/moderations` at OpenAI only
/// (Mistral's moderation endpoint answers without `flagged`, another shape).
const IMAGES: &[&str] = &["openai", "xai", "together"];
const AUDIO: &[&str] = &["openai", "groq"];
const MODERATIONS: &[&str] = &["openai"];

/// The built-in OpenAI-compatible profiles.
pub fn builtin() -> Vec<Profile> {
    ROWS.iter()
        .map(|row| Profile {
            name: row.name.to_owned(),
            base_url: (!row.base_url.is_empty()).then(|| row.base_url.to_owned()),
            key_required: row.key_required,
            key_aliases: row.key_aliases.iter().map(|v| (*v).to_owned()).collect(),
            token_field: row.token_field,
            stream_usage: row.stream_usage,
            embeddings: row.embeddings,
            completions: row.completions,
            responses: SERVES_RESPONSES.contains(&row.name),
            images: IMAGES.contains(&row.name),
            audio: AUDIO.contains(&row.name),
            moderations: MODERATIONS.contains(&row.name),
            headers: Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::api_key::ApiKey;
    use crate::provider::openai::OpenAiCompatible;
    use crate::provider::Provider;
    use crate::settings::ProviderSettings;
    use crate::ChatRequest;

    /// A plausible environment variable name: `A-Z`, `0-9`, `_`, not starting with a digit.
    fn is_env_name(name: &str) -> bool {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    }

    #[test]
    fn every_profile_has_a_name_a_key_variable_and_a_valid_base_url() {
        let profiles = builtin();
        assert!(profiles.len() >= 40, "only {} profiles", profiles.len());
        let mut names = BTreeSet::new();
        for profile in &profiles {
            let name = &profile.name;
            assert!(names.insert(name.clone()), "{name} twice");
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name}: provider names are lower-case ASCII with `_`"
            );
            let key_var = format!("{}_API_KEY", name.to_ascii_uppercase());
            assert!(is_env_name(&key_var), "{name}: {key_var}");
            let mut vars = BTreeSet::from([key_var]);
            for alias in &profile.key_aliases {
                assert!(is_env_name(alias), "{name}: key alias {alias:?}");
                assert!(
                    vars.insert(alias.clone()),
                    "{name}: key alias {alias} twice"
                );
            }
            let Some(base_url) = &profile.base_url else {
                assert_eq!(name, "custom", "only `custom` has no default base URL");
                continue;
            };
            let uri: http::Uri = base_url
                .parse()
                .unwrap_or_else(|error| panic!("{name}: {base_url}: {error}"));
            let host = uri.host().unwrap_or_default();
            let local = host == "localhost" || host == "127.0.0.1";
            if local {
                assert_eq!(uri.scheme_str(), Some("http"), "{name}: {base_url}");
                assert!(!profile.key_required, "{name}: a local server needs no key");
            } else {
                assert_eq!(uri.scheme_str(), Some("https"), "{name}: {base_url}");
                assert!(host.contains('.'), "{name}: {base_url}");
            }
            assert!(!base_url.ends_with('/'), "{name}: {base_url}");
            assert!(uri.query().is_none(), "{name}: {base_url}");
        }
    }

    fn chat_request(name: &str, stream: bool) -> http::Request<bytes::Bytes> {
        let profile = builtin().into_iter().find(|p| p.name == name).unwrap();
        let settings = ProviderSettings {
            api_key: Some(ApiKey::new("sk-test-profiles")),
            ..Default::default()
        };
        let adapter = OpenAiCompatible::new(profile, &settings).unwrap();
        let request = ChatRequest::new(format!("{name}/m"))
            .user("hi")
            .max_completion_tokens(64);
        adapter.build_chat("m", &request, stream).unwrap()
    }

    #[test]
    fn new_profiles_build_chat_requests_at_their_documented_urls() {
        for (name, url) in [
            (
                "nvidia_nim",
                "https://integrate.api.nvidia.com/v1/chat/completions",
            ),
            (
                "dashscope",
                "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions",
            ),
            ("zai", "https://api.z.ai/api/paas/v4/chat/completions"),
            (
                "github",
                "https://models.github.ai/inference/chat/completions",
            ),
            (
                "friendliai",
                "https://api.friendli.ai/serverless/v1/chat/completions",
            ),
            (
                "volcengine",
                "https://ark.cn-beijing.volces.com/api/v3/chat/completions",
            ),
            (
                "huggingface",
                "https://router.huggingface.co/v1/chat/completions",
            ),
        ] {
            let built = chat_request(name, false);
            assert_eq!(built.uri(), url, "{name}");
            assert_eq!(built.method(), http::Method::POST);
            assert_eq!(
                built.headers()["authorization"],
                "Bearer sk-test-profiles",
                "{name}"
            );
            let body: serde_json::Value = serde_json::from_slice(built.body()).unwrap();
            assert_eq!(body["model"], "m", "{name}");
            // Every new row sends `max_tokens`; `max_completion_tokens` is renamed.
            assert_eq!(body["max_tokens"], 64, "{name}");
            assert!(body.get("max_completion_tokens").is_none(), "{name}");
        }
    }

    #[test]
    fn stream_usage_is_asked_for_only_where_the_profile_allows_it() {
        let options = |name: &str| {
            let body: serde_json::Value =
                serde_json::from_slice(chat_request(name, true).body()).unwrap();
            body.get("stream_options").cloned()
        };
        assert_eq!(
            options("nebius"),
            Some(serde_json::json!({"include_usage": true}))
        );
        assert_eq!(options("ai21"), None);
        assert_eq!(options("github"), None);
        assert_eq!(options("codestral"), None);
    }
}
