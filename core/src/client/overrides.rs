//! [`Overrides`]: provider settings given in code — for a whole client on its builder, or for
//! some calls only on a client view ([`with_overrides`](crate::client_basics)).

use std::fmt;

use crate::api_key::ApiKey;
use crate::registry::Registry;

/// One provider setting given in code.
#[derive(Clone)]
enum Setting {
    ApiKey(String, ApiKey),
    BaseUrl(String, String),
    Header(String, String, String),
    Option(String, String, String),
    Secret(String, String, ApiKey),
}

/// Provider keys, base URLs, headers, options and secrets given in code, applied over a
/// registry in the order given.
///
/// On a client view (`client.with_overrides(overrides)`) they serve a tenant of a
/// multi-tenant service: its own key (bring-your-own-key), base URL or headers, over the
/// same connection pool. They come only from code: nothing in a request's JSON can set them,
/// so a request forwarded from an untrusted caller cannot redirect a call or swap its key.
/// Keys here are redacted like every key; `Debug` shows how many settings there are, no
/// value.
///
/// ```
/// use onellm_core::client::Overrides;
///
/// let tenant = Overrides::new()
///     .api_key("openai", "sk-tenant-42")
///     .header("openai", "OpenAI-Organization", "org-tenant-42");
/// assert!(!format!("{tenant:?}").contains("sk-tenant-42"));
/// ```
#[derive(Clone, Default)]
pub struct Overrides(Vec<Setting>);

impl fmt::Debug for Overrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Overrides({} settings)", self.0.len())
    }
}

impl Overrides {
    /// No settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a provider's API key (`provider` as in model ids: `openai`, `anthropic`, …).
    pub fn api_key(mut self, provider: &str, key: impl Into<ApiKey>) -> Self {
        self.0
            .push(Setting::ApiKey(provider.to_owned(), key.into()));
        self
    }

    /// Sets a provider's base URL, with the SDK's conventional path (OpenAI-compatible ones
    /// end in `/v1`).
    pub fn base_url(mut self, provider: &str, url: impl Into<String>) -> Self {
        self.0
            .push(Setting::BaseUrl(provider.to_owned(), url.into()));
        self
    }

    /// Adds a header sent on every request to a provider.
    pub fn header(
        mut self,
        provider: &str,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.0.push(Setting::Header(
            provider.to_owned(),
            name.into(),
            value.into(),
        ));
        self
    }

    /// Sets a provider-specific setting: Vertex AI's `project` and `location`, Bedrock's
    /// `region`, Azure's `api_version`, … (see each provider's docs).
    pub fn option(
        mut self,
        provider: &str,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.0.push(Setting::Option(
            provider.to_owned(),
            name.into(),
            value.into(),
        ));
        self
    }

    /// Sets a provider-specific secret, redacted like a key: Bedrock's `secret_access_key`
    /// and `session_token`, … (see each provider's docs).
    pub fn secret(
        mut self,
        provider: &str,
        name: impl Into<String>,
        value: impl Into<ApiKey>,
    ) -> Self {
        self.0.push(Setting::Secret(
            provider.to_owned(),
            name.into(),
            value.into(),
        ));
        self
    }

    /// Whether no setting was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Applies every setting to `registry`, in order.
    pub(crate) fn apply(&self, registry: &mut Registry) {
        for setting in &self.0 {
            match setting.clone() {
                Setting::ApiKey(provider, key) => {
                    registry.set_api_key(&provider, key);
                }
                Setting::BaseUrl(provider, url) => {
                    registry.set_base_url(&provider, url);
                }
                Setting::Header(provider, name, value) => {
                    registry.add_header(&provider, name, value);
                }
                Setting::Option(provider, name, value) => {
                    registry.set_option(&provider, name, value);
                }
                Setting::Secret(provider, name, value) => {
                    registry.set_secret(&provider, name, value);
                }
            }
        }
    }
}
