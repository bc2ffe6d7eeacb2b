//! [`ClientBuilder`]: keys, base URLs, headers, timeouts, retries, proxy, agent.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use onellm_core::client_config::ClientConfig;
use onellm_core::provider::bedrock::AwsCredentials;
use onellm_core::{ApiKey, Error, Registry};

use crate::client::{Client, Inner};

pub use onellm_core::client_config::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};

/// Configures a [`Client`].
///
/// Settings given here beat the environment, whatever the order of the calls. Without
/// [`from_env`](Self::from_env) the environment is not read at all.
///
/// ```
/// use std::time::Duration;
/// use onellm_blocking::Client;
///
/// let client = Client::builder()
///     .from_env()
///     .api_key("openai", "sk-…")
///     .base_url("ollama", "http://gpu-box:11434")
///     .header("openrouter", "X-Title", "my app")
///     .timeout(Duration::from_secs(60))
///     .retries(3)
///     .fallback_models(["anthropic/claude-3-5-haiku-latest"])
///     .build()?;
/// # Ok::<(), onellm_blocking::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct ClientBuilder {
    /// Everything but the HTTP client, shared with the other transport.
    config: ClientConfig,
    agent: Option<ureq::Agent>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No keys, no header values (they may be credentials), no proxy URL (it may
        // carry a password).
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("agent", &self.agent.as_ref().map(|_| "[custom]"))
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with no settings: built-in providers, default timeouts, no environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also reads settings from the environment (`<P>_API_KEY`, `<P>_BASE_URL`,
    /// `ONELLM_PROVIDERS__<P>__…`, `ONELLM_TIMEOUT`; see [`Registry`]) at build time, for
    /// whatever was not set explicitly.
    pub fn from_env(mut self) -> Self {
        self.config.read_env = true;
        self
    }

    /// Starts from this registry (custom providers, settings) instead of the built-in one.
    /// Keys, base URLs and headers given on the builder still apply on top of it.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.config.registry = Some(registry);
        self
    }

    /// Sets a provider's API key (`provider` as in model ids: `openai`, `anthropic`, …).
    pub fn api_key(mut self, provider: &str, key: impl Into<ApiKey>) -> Self {
        self.config.api_key(provider, key);
        self
    }

    /// Sets a provider's base URL, with the SDK's conventional path (OpenAI-compatible
    /// ones end in `/v1`).
    pub fn base_url(mut self, provider: &str, url: impl Into<String>) -> Self {
        self.config.base_url(provider, url);
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
        self.config.option(provider, name, value);
        self
    }

    /// Sets a provider-specific secret, redacted like a key: Bedrock's
    /// `secret_access_key` and `session_token`, … (see each provider's docs).
    pub fn secret(
        mut self,
        provider: &str,
        name: impl Into<String>,
        value: impl Into<ApiKey>,
    ) -> Self {
        self.config.secret(provider, name, value);
        self
    }

    /// Signs Bedrock requests with the AWS credentials `source` returns, called once per
    /// attempt so expiring credentials (STS, SSO, instance roles) are refreshed rather than
    /// cached forever. Caching between calls, if wanted, is the callback's business.
    pub fn aws_credentials(
        mut self,
        source: impl Fn() -> Result<AwsCredentials, Error> + Send + Sync + 'static,
    ) -> Self {
        self.config.aws_credentials = Some(Arc::new(source));
        self
    }

    /// Adds a header sent on every request to a provider.
    pub fn header(
        mut self,
        provider: &str,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.config.header(provider, name, value);
        self
    }

    /// The total deadline of each call, retries and waits included. Beats `ONELLM_TIMEOUT`;
    /// with neither, [`DEFAULT_TIMEOUT`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = Some(timeout);
        self
    }

    /// The deadline for opening a connection (TCP and TLS); default
    /// [`DEFAULT_CONNECT_TIMEOUT`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = Some(timeout);
        self
    }

    /// The deadline of one attempt, from sending to the end of its body. Beats the
    /// provider's `ONELLM_PROVIDERS__<P>__TIMEOUT`.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.config.attempt_timeout = Some(timeout);
        self
    }

    /// For streams: the longest silence tolerated on the connection once the request is
    /// sent (between chunks, and while waiting for the response head).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = Some(timeout);
        self
    }

    /// Extra attempts per model on retryable errors, for requests that do not set
    /// `retries` themselves (default 2).
    pub fn retries(mut self, retries: u32) -> Self {
        self.config.retries = Some(retries);
        self
    }

    /// Models tried in order after the requested one gives up, for requests that do not
    /// set `fallback_models` themselves.
    pub fn fallback_models(mut self, models: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.config.fallback_models = Some(models.into_iter().map(Into::into).collect());
        self
    }

    /// The most response body bytes one attempt may receive (default 64 MiB); a larger
    /// body fails the attempt instead of exhausting memory.
    /// This counts a stream's whole body too: the accumulated completion is kept for the
    /// final result (and for `StreamInterrupted`), so a stream longer than this fails
    /// with `StreamInterrupted` ("body too large"). Raise it for very long streams.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.config.max_body_bytes = Some(max);
        self
    }

    /// Seeds the backoff jitter, for reproducible retry timing in tests.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Sends every request through this proxy (`http://host:port`, `socks5://…` needs
    /// ureq's `socks-proxy` feature). Without it, ureq reads `HTTPS_PROXY`, `ALL_PROXY`,
    /// `NO_PROXY`, … from the environment.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.config.proxy = Some(url.into());
        self
    }

    /// Uses this ureq agent (TLS roots, resolver, pool sizes, middleware) instead of
    /// building one. Whatever it is configured with, the client sends each request with
    /// redirects off, error statuses returned as responses, and its own timeouts. Cannot
    /// be combined with [`proxy`](Self::proxy): configure the proxy on the agent.
    pub fn agent(mut self, agent: ureq::Agent) -> Self {
        self.agent = Some(agent);
        self
    }

    /// Builds the client: applies the settings, reads the environment if asked, and
    /// creates the agent and its connection pool.
    pub fn build(self) -> Result<Client, Error> {
        let (registry, options) = self.config.resolve(
            |name| std::env::var(name).ok(),
            |path| std::fs::read_to_string(path),
        )?;
        let connect_timeout = self
            .config
            .connect_timeout
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let agent = match (self.agent, self.config.proxy) {
            (Some(_), Some(_)) => {
                return Err(Error::configuration(
                    "both proxy() and agent() were given: configure the proxy on the agent",
                ))
            }
            (Some(agent), None) => agent,
            (None, proxy) => new_agent(proxy.as_deref(), connect_timeout)?,
        };
        Ok(Client::from_inner(Inner {
            agent,
            registry,
            options,
            connect_timeout: Some(connect_timeout),
            seed: self.config.seed,
            calls: AtomicU64::new(0),
            drainer: Default::default(),
        }))
    }
}

/// The agent a client owns: its pool is shared by every call of the client.
fn new_agent(proxy: Option<&str>, connect_timeout: Duration) -> Result<ureq::Agent, Error> {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(connect_timeout))
        .user_agent(concat!("onellm-blocking/", env!("CARGO_PKG_VERSION")))
        // Several threads sharing one client each keep a warm connection.
        .max_idle_connections_per_host(8)
        .max_idle_connections(32);
    if let Some(url) = proxy {
        // The URL may carry a password: not quoted.
        let proxy = ureq::Proxy::new(url)
            .map_err(|_| Error::configuration("invalid proxy URL given to the client"))?;
        config = config.proxy(Some(proxy));
    }
    Ok(ureq::Agent::with_parts(
        config.build(),
        ureq::unversioned::transport::DefaultConnector::default(),
        crate::resolver::Resolver::default(),
    ))
}
