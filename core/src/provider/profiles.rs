//! The OpenAI-compatible providers as data: one row each.
//!
//! Adding a provider that speaks OpenAI's chat-completions protocol is adding a row here (or
//! registering a [`Profile`] at run time with
//! [`Registry::register_openai_compatible`](crate::Registry::register_openai_compatible)).
//! Settings come from `<NAME>_API_KEY`, `<NAME>_BASE_URL` / `<NAME>_API_BASE` and
//! `ONELLM_PROVIDERS__<NAME>__{API_KEY,API_BASE,TIMEOUT,MAX_RETRIES}` (see [`crate::settings`]).

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
    /// Which token-limit field to send.
    pub token_field: TokenField,
    /// Whether to ask for usage in streams (`stream_options.include_usage`); some servers
    /// refuse the field.
    pub stream_usage: bool,
    /// Whether `/embeddings` exists.
    pub embeddings: bool,
    /// Whether legacy `/completions` exists.
    pub completions: bool,
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
            token_field: TokenField::MaxTokens,
            stream_usage: true,
            embeddings: true,
            completions: true,
            headers: Vec::new(),
        }
    }
}

struct Row {
    name: &'static str,
    base_url: &'static str,
    key_required: bool,
    token_field: TokenField,
    stream_usage: bool,
    embeddings: bool,
    completions: bool,
}

use TokenField::{MaxCompletionTokens as MAX_COMPLETION, MaxTokens as MAX};

/// The built-in rows. `base_url: ""` means none (must be configured).
#[rustfmt::skip]
const ROWS: &[Row] = &[
    //   name          base URL                                   key    tokens          usage  embed  compl
    Row { name: "openai",     base_url: "https://api.openai.com/v1",            key_required: true,  token_field: MAX_COMPLETION, stream_usage: true,  embeddings: true,  completions: true },
    Row { name: "groq",       base_url: "https://api.groq.com/openai/v1",       key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false },
    Row { name: "mistral",    base_url: "https://api.mistral.ai/v1",            key_required: true,  token_field: MAX,            stream_usage: false, embeddings: true,  completions: false },
    Row { name: "deepseek",   base_url: "https://api.deepseek.com/v1",          key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: true },
    Row { name: "together",   base_url: "https://api.together.xyz/v1",          key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true },
    Row { name: "fireworks",  base_url: "https://api.fireworks.ai/inference/v1", key_required: true, token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true },
    Row { name: "xai",        base_url: "https://api.x.ai/v1",                  key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false },
    Row { name: "openrouter", base_url: "https://openrouter.ai/api/v1",         key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: true },
    Row { name: "perplexity", base_url: "https://api.perplexity.ai",            key_required: true,  token_field: MAX,            stream_usage: false, embeddings: false, completions: false },
    Row { name: "moonshot",   base_url: "https://api.moonshot.ai/v1",           key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: false },
    Row { name: "deepinfra",  base_url: "https://api.deepinfra.com/v1/openai",  key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true },
    Row { name: "cerebras",   base_url: "https://api.cerebras.ai/v1",           key_required: true,  token_field: MAX,            stream_usage: true,  embeddings: false, completions: true },
    Row { name: "ollama_openai", base_url: "http://localhost:11434/v1",         key_required: false, token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true },
    Row { name: "llama_cpp",  base_url: "http://localhost:8080/v1",             key_required: false, token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true },
    Row { name: "vllm",       base_url: "http://localhost:8000/v1",             key_required: false, token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true },
    Row { name: "lmstudio",   base_url: "http://localhost:1234/v1",             key_required: false, token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true },
    Row { name: "custom",     base_url: "",                                     key_required: false, token_field: MAX,            stream_usage: true,  embeddings: true,  completions: true },
];

/// The built-in OpenAI-compatible profiles.
pub fn builtin() -> Vec<Profile> {
    ROWS.iter()
        .map(|row| Profile {
            name: row.name.to_owned(),
            base_url: (!row.base_url.is_empty()).then(|| row.base_url.to_owned()),
            key_required: row.key_required,
            token_field: row.token_field,
            stream_usage: row.stream_usage,
            embeddings: row.embeddings,
            completions: row.completions,
            headers: Vec::new(),
        })
        .collect()
}
