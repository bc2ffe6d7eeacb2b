//! [`ClientBuilder`]: keys, base URLs, headers, timeouts, retries, proxy, hyper client.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::{self, connect::Connect};

use onellm_core::client_config::ClientConfig;
use onellm_core::provider::bedrock::AwsCredentials;
use onellm_core::{ApiKey, Error, Registry};

use crate::client::Client;
use crate::connector::{self, HttpSend, RequestBody};

pub use onellm_core::client_config::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};

/// Configures a [`Client`].
///
/// Settings given here beat the environment, whatever the order of the calls. Without
/// [`from_env`](Self::from_env) the environment is not read at all.
///
/// ```
/// use std::time::Duration;
/// use onellm_tokio::Client;
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
/// # Ok::<(), onellm_tokio::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct ClientBuilder {
    /// Everything but the HTTP client, shared with the other transport.
    config: ClientConfig,
    http: Option<Arc<dyn HttpSend>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No keys, no header values (they may be credentials), no proxy URL (it may carry a
        // password).
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("hyper_client", &self.http.as_ref().map(|_| "[custom]"))
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

    /// Sets a provider's base URL, with the SDK's conventional path (OpenAI-compatible ones
    /// end in `/v1`).
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

    /// The total deadline of each call, waits between attempts included (default:
    /// `ONELLM_TIMEOUT` when read from the environment, else [`DEFAULT_TIMEOUT`]). A call
    /// past it fails with `Timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = Some(timeout);
        self
    }

    /// The longest wait for a TCP connection to open (default [`DEFAULT_CONNECT_TIMEOUT`]).
    /// Does not apply to a client given with [`hyper_client`](Self::hyper_client).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = Some(timeout);
        self
    }

    /// The deadline of each attempt, from sending to the end of the body (default: the
    /// provider's `ONELLM_PROVIDERS__<P>__TIMEOUT`, else only the total deadline).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.config.attempt_timeout = Some(timeout);
        self
    }

    /// Streaming calls: the longest silence between body bytes once they started.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = Some(timeout);
        self
    }

    /// Extra attempts per model on retryable errors (default 2). A request's own `retries`
    /// wins.
    pub fn retries(mut self, retries: u32) -> Self {
        self.config.retries = Some(retries);
        self
    }

    /// Models tried in order when the requested one fails in a way another may not. A
    /// request's own `fallback_models` wins.
    pub fn fallback_models(mut self, models: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.config.fallback_models = Some(models.into_iter().map(Into::into).collect());
        self
    }

    /// The most body bytes one response may have (default 64 MiB); more is a `Decode` error,
    /// so a hostile or broken server cannot exhaust memory.
    /// This counts a stream's whole body too: the accumulated completion is kept for the
    /// final result (and for `StreamInterrupted`), so a stream longer than this fails
    /// with `StreamInterrupted` ("body too large"). Raise it for very long streams.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.config.max_body_bytes = Some(max);
        self
    }

    /// Seeds the backoff jitter, for reproducible retry timing in tests (default: from the
    /// clock). Each call still gets its own seed, derived from this one and a counter.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Sends every request through an HTTP proxy, `http://[user:password@]host:port`, as an
    /// HTTP `CONNECT` tunnel (so the proxy never sees request headers, keys included). Other
    /// proxy kinds (SOCKS, `https://` proxies) are a `Configuration` error at
    /// [`build`](Self::build): give a [`hyper_client`](Self::hyper_client) with such a
    /// connector instead. The `HTTPS_PROXY` variables are not read.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.config.proxy = Some(url.into());
        self
    }

    /// Uses this hyper-util client for every request instead of building one (rustls with
    /// Mozilla's roots): for native roots, a custom connector or resolver, HTTP/2, your own
    /// pool settings. Cannot be combined with [`proxy`](Self::proxy), and the
    /// [`connect_timeout`](Self::connect_timeout) does not apply to it.
    ///
    /// ```
    /// use hyper_util::client::legacy::{connect::HttpConnector, Client as HyperClient};
    /// use hyper_util::rt::TokioExecutor;
    /// use onellm_tokio::{Client, RequestBody};
    ///
    /// // Plain HTTP only, e.g. for a local model server.
    /// let hyper: HyperClient<HttpConnector, RequestBody> =
    ///     HyperClient::builder(TokioExecutor::new()).build(HttpConnector::new());
    /// let client = Client::builder()
    ///     .base_url("ollama", "http://127.0.0.1:11434")
    ///     .hyper_client(hyper)
    ///     .build()?;
    /// # Ok::<(), onellm_tokio::Error>(())
    /// ```
    pub fn hyper_client<C>(mut self, client: legacy::Client<C, RequestBody>) -> Self
    where
        C: Connect + Clone + Send + Sync + 'static,
    {
        self.http = Some(Arc::new(client));
        self
    }

    /// Builds the client: applies the settings, reads the environment if asked, and creates
    /// the HTTP client and its connection pool. Fails with `Configuration` for an unusable
    /// proxy URL, or a proxy given together with a hyper client.
    pub fn build(self) -> Result<Client, Error> {
        let (registry, options) = self.config.resolve(
            |name| std::env::var(name).ok(),
            |path| std::fs::read_to_string(path),
        )?;
        let http = match (self.http, self.config.proxy) {
            (Some(_), Some(_)) => {
                return Err(Error::configuration(
                    "both proxy() and hyper_client() were given: configure the proxy on the \
                     hyper client's connector",
                ))
            }
            (Some(http), None) => http,
            (None, proxy) => connector::build(
                self.config
                    .connect_timeout
                    .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
                proxy.as_deref(),
            )?,
        };
        Ok(Client::new(registry, options, http, self.config.seed))
    }
}
