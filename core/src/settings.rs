//! [`ProviderSettings`]: one provider's key, base URL, headers, timeouts and options.
//!
//! Filled by the [`Registry`](crate::Registry) from explicit settings and the environment,
//! and read by each provider adapter when it is built.

use std::collections::BTreeMap;
use std::time::Duration;

pub use crate::api_key::ApiKey;

/// One provider's settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderSettings {
    /// The key sent with every request (`P_API_KEY`, or the builder's); its `Debug` shows
    /// nothing of it.
    pub api_key: Option<ApiKey>,
    /// Base URL (with the SDK's conventional path: OpenAI's ends in `/v1`).
    pub base_url: Option<String>,
    /// Per-provider total deadline for a call.
    pub timeout: Option<Duration>,
    /// Per-provider extra attempts on retryable errors.
    pub max_retries: Option<u32>,
    /// Extra headers on every request.
    pub headers: Vec<(String, String)>,
    /// Provider-specific settings by name: `project` and `location` (Vertex AI), `region`
    /// (Bedrock), `api_version` (Azure), … Each built-in provider documents its own.
    pub options: BTreeMap<String, String>,
    /// Provider-specific secrets by name (`secret_access_key`, `session_token`, …), kept as
    /// [`ApiKey`] so they are redacted like keys.
    pub secrets: BTreeMap<String, ApiKey>,
}

impl ProviderSettings {
    /// A provider-specific setting (see [`options`](Self::options)).
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }

    /// A provider-specific secret (see [`secrets`](Self::secrets)).
    pub fn secret(&self, name: &str) -> Option<&ApiKey> {
        self.secrets.get(name)
    }
}
