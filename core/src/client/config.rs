//! What a [`ClientBuilder`](super::ClientBuilder) collects, and how it becomes a registry
//! and call options: provider keys, base URLs, headers and options; whether to read the
//! environment; timeouts, retries, backoff, fallbacks, body bound, jitter seed, proxy.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::budget::Budget;
use super::engine::EventObserver;
use super::overrides::Overrides;
use crate::cache::CacheSettings;
use crate::call::{Backoff, CallOptions};
use crate::catalog::Catalog;
use crate::error::Error;
use crate::provider::bedrock::{Bedrock, CredentialsSource};
use crate::registry::Registry;
use crate::router::RouterConfig;
use crate::store::StoreConfig;

/// The total deadline of a call when neither the client nor `ONELLM_TIMEOUT` sets one
/// (OpenAI's SDKs use the same ten minutes): a call must not hang forever on a silent
/// server.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The connection setup deadline (TCP connect and TLS handshake) unless set: long enough
/// for a slow DNS lookup and handshake, short enough that an unreachable host fails well
/// before the call's deadline.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client's settings before it is built. Its `Debug` shows no key, header value or
/// proxy URL (each may hold a credential).
///
/// ```
/// use std::time::Duration;
/// use onellm_core::client::ClientConfig;
///
/// let mut config = ClientConfig::default();
/// config.settings = onellm_core::client::Overrides::new().api_key("openai", "sk-test");
/// config.timeout = Some(Duration::from_secs(30));
/// let env = |name: &str| (name == "ANTHROPIC_API_KEY").then(|| "sk-ant".to_owned());
/// config.read_env = true;
/// let (registry, options) = config.resolve(env, |_| Err(std::io::ErrorKind::NotFound.into())).unwrap();
/// assert_eq!(options.total_timeout, Some(Duration::from_secs(30)));
/// assert!(registry.settings("anthropic").unwrap().api_key.is_some());
/// assert!(!format!("{config:?}").contains("sk-test"));
/// ```
#[derive(Clone, Default)]
pub struct ClientConfig {
    /// The registry to start from (custom providers, settings); the built-in one if `None`.
    pub registry: Option<Registry>,
    /// Provider settings given in code, applied over the registry in order.
    pub settings: Overrides,
    /// Whether [`resolve`](Self::resolve) consults the environment lookup it is given.
    pub read_env: bool,
    /// Each call's total deadline, retries and waits included
    /// ([`ClientBuilder::timeout`](super::ClientBuilder::timeout)); `ONELLM_TIMEOUT` or
    /// [`DEFAULT_TIMEOUT`] if `None`.
    pub timeout: Option<Duration>,
    /// The deadline for opening a connection
    /// ([`ClientBuilder::connect_timeout`](super::ClientBuilder::connect_timeout)); the
    /// transport's default if `None`.
    pub connect_timeout: Option<Duration>,
    /// The deadline of one attempt, from sending to the end of its body
    /// ([`ClientBuilder::attempt_timeout`](super::ClientBuilder::attempt_timeout)).
    pub attempt_timeout: Option<Duration>,
    /// For streams: the longest wait for a response's head
    /// ([`ClientBuilder::first_byte_timeout`](super::ClientBuilder::first_byte_timeout)).
    pub first_byte_timeout: Option<Duration>,
    /// For streams: the longest silence between body bytes
    /// ([`ClientBuilder::idle_timeout`](super::ClientBuilder::idle_timeout)).
    pub idle_timeout: Option<Duration>,
    /// Extra attempts per model for requests that set no `retries`
    /// ([`ClientBuilder::retries`](super::ClientBuilder::retries)).
    pub retries: Option<u32>,
    /// The wait between attempts when the provider names none
    /// ([`ClientBuilder::backoff`](super::ClientBuilder::backoff)).
    pub backoff: Option<Backoff>,
    /// The longest `Retry-After` a call obeys
    /// ([`ClientBuilder::max_retry_after`](super::ClientBuilder::max_retry_after)).
    pub max_retry_after: Option<Duration>,
    /// Models tried after the requested one, for requests that set none
    /// ([`ClientBuilder::fallback_models`](super::ClientBuilder::fallback_models)).
    pub fallback_models: Option<Vec<String>>,
    /// The most response body bytes one attempt may receive
    /// ([`ClientBuilder::max_body_bytes`](super::ClientBuilder::max_body_bytes)).
    pub max_body_bytes: Option<usize>,
    /// Seeds the backoff jitter ([`ClientBuilder::seed`](super::ClientBuilder::seed)).
    pub seed: Option<u64>,
    /// The proxy every request goes through
    /// ([`ClientBuilder::proxy`](super::ClientBuilder::proxy)); may hold a password, so `Debug`
    /// shows only that it is set.
    pub proxy: Option<String>,
    /// No proxy from the environment ([`ClientBuilder::no_proxy`](super::ClientBuilder::no_proxy)).
    pub no_proxy: bool,
    /// PEM documents of certificates trusted besides the bundled roots
    /// ([`ClientBuilder::root_certificate_pem`](super::ClientBuilder::root_certificate_pem)).
    pub root_certificates: Vec<Vec<u8>>,
    /// Bedrock's credentials callback: when set, every Bedrock attempt is signed with what it
    /// returns then (see [`CredentialsSource`]) instead of the static key pair.
    pub aws_credentials: Option<CredentialsSource>,
    /// Model ids → prices, context windows and capabilities; the built-in catalog if `None`
    /// ([`ClientBuilder::catalog`](super::ClientBuilder::catalog)).
    pub catalog: Option<Arc<Catalog>>,
    /// Receives every call's events ([`ClientBuilder::on_event`](super::ClientBuilder::on_event)).
    pub observer: Option<EventObserver>,
    /// The spending limit ([`ClientBuilder::budget`](super::ClientBuilder::budget)).
    pub budget: Option<Arc<Budget>>,
    /// Whether prompts are checked against context windows before sending; on if `None`.
    pub check_context_window: Option<bool>,
    /// Whether requests are checked against the catalog's capabilities; on if `None`.
    pub check_capabilities: Option<bool>,
    /// Groups of deployments ([`ClientBuilder::router`](super::ClientBuilder::router)).
    pub router: Option<RouterSource>,
    /// The response cache ([`ClientBuilder::cache`](super::ClientBuilder::cache)); beats the
    /// one a router file's `litellm_settings` turns on.
    pub cache: Option<CacheSettings>,
    /// The client's Redis ([`ClientBuilder::redis`](super::ClientBuilder::redis)).
    pub store: Option<StoreConfig>,
}

/// Where a client's router configuration comes from.
#[derive(Debug, Clone)]
pub enum RouterSource {
    /// Built in code.
    Config(Box<RouterConfig>),
    /// LiteLLM's `config.yaml` at this path, read when the client is built (feature `yaml`).
    YamlFile(String),
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("registry", &self.registry)
            .field("settings", &self.settings)
            .field("read_env", &self.read_env)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("first_byte_timeout", &self.first_byte_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .field("max_retry_after", &self.max_retry_after)
            .field("fallback_models", &self.fallback_models)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("proxy", &self.proxy.as_ref().map(|_| "[set]"))
            .field("no_proxy", &self.no_proxy)
            .field("root_certificates", &self.root_certificates.len())
            .field(
                "aws_credentials",
                &self.aws_credentials.as_ref().map(|_| "[callback]"),
            )
            .field("catalog", &self.catalog)
            .field("observer", &self.observer.as_ref().map(|_| "[callback]"))
            .field("budget", &self.budget)
            .field("check_context_window", &self.check_context_window)
            .field("check_capabilities", &self.check_capabilities)
            .field("router", &self.router)
            .field("cache", &self.cache)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// The router configuration, read from its file through `read_file` (with
    /// `os.environ/NAME` values through `env`) when it is one.
    pub fn resolve_router(
        &self,
        env: impl Fn(&str) -> Option<String>,
        read_file: impl Fn(&str) -> std::io::Result<String>,
    ) -> Result<Option<RouterConfig>, Error> {
        match &self.router {
            None => Ok(None),
            Some(RouterSource::Config(config)) => Ok(Some(RouterConfig::clone(config).checked()?)),
            Some(RouterSource::YamlFile(path)) => {
                let text = read_file(path).map_err(|error| {
                    Error::configuration(format!(
                        "cannot read the router configuration {path:?}: {error}"
                    ))
                })?;
                #[cfg(feature = "yaml")]
                {
                    RouterConfig::from_yaml(&text, path, &env).map(Some)
                }
                #[cfg(not(feature = "yaml"))]
                {
                    let _ = (text, env);
                    Err(Error::configuration(format!(
                        "{path}: reading a YAML router configuration needs OneLLM's `yaml` feature"
                    )))
                }
            }
        }
    }

    /// The registry and call options these settings make: explicit settings first, then
    /// (with [`read_env`](Self::read_env)) the environment through `env` and the config
    /// files it names through `read_file` — the transports pass `std::env::var` and
    /// `std::fs::read_to_string`; the core reads neither. Without a timeout from the
    /// builder or `ONELLM_TIMEOUT`, calls get [`DEFAULT_TIMEOUT`].
    pub fn resolve(
        &self,
        env: impl Fn(&str) -> Option<String>,
        read_file: impl Fn(&str) -> std::io::Result<String>,
    ) -> Result<(Registry, CallOptions), Error> {
        let mut registry = self.registry.clone().unwrap_or_default();
        self.settings.apply(&mut registry);
        if self.read_env {
            registry.apply_lookup(&env);
            registry.apply_config_files(&env, read_file)?;
        }
        if let Some(source) = &self.aws_credentials {
            let settings = registry.settings("bedrock").cloned().unwrap_or_default();
            registry.register(Arc::new(Bedrock::with_credentials_source(
                &settings,
                Arc::clone(source),
            )));
        }
        let defaults = CallOptions::default();
        let options = CallOptions {
            retries: self.retries.unwrap_or(defaults.retries),
            fallback_models: self.fallback_models.clone().unwrap_or_default(),
            total_timeout: self
                .timeout
                .or(registry.timeout())
                .or(Some(DEFAULT_TIMEOUT)),
            attempt_timeout: self.attempt_timeout,
            first_byte_timeout: self.first_byte_timeout,
            idle_timeout: self.idle_timeout,
            backoff: self.backoff.unwrap_or(defaults.backoff),
            max_retry_after: self.max_retry_after.unwrap_or(defaults.max_retry_after),
            max_body_bytes: self.max_body_bytes.unwrap_or(defaults.max_body_bytes),
            ..defaults
        };
        Ok((registry, options))
    }
}
