//! [`ClientBuilder`]: every setting of a client, written once for every transport.

use std::fmt;
use std::marker::PhantomData;
use std::mem;
use std::sync::Arc;
use std::time::Duration;

use super::budget::Budget;
use super::config::RouterSource;
use super::config::{ClientConfig, DEFAULT_CONNECT_TIMEOUT};
use super::engine::Engine;
use super::event::CallEvent;
use super::proxies::ProxyRules;
use crate::api_key::ApiKey;
use crate::cache::CacheSettings;
use crate::call::Backoff;
use crate::catalog::Catalog;
use crate::error::Error;
use crate::provider::bedrock::AwsCredentials;
use crate::registry::Registry;
use crate::router::RouterConfig;
use crate::store::StoreConfig;

/// What a runtime crate provides so [`ClientBuilder`] can build its client: the HTTP client it
/// drives, and the two reads of the outside world the core does not do itself.
///
/// `onellm-blocking` and `onellm-tokio` implement it; a third transport implements it too,
/// plus a driver ([`BlockingDriver`](super::BlockingDriver) or
/// [`AsyncDriver`](super::AsyncDriver)) — see the [module docs](super).
pub trait Transport: Sized {
    /// An HTTP client the user may bring instead of the transport's default one (see
    /// [`ClientBuilder::http_client`]).
    type HttpClient;
    /// The client this transport builds.
    type Client;

    /// Reads an environment variable (`std::env::var`); the core never does.
    fn env_var(name: &str) -> Option<String>;

    /// Reads a configuration file the environment names (`AZURE_OPENAI_CONFIG_PATH`, …).
    fn read_file(path: &str) -> std::io::Result<String>;

    /// The wall-clock time (`SystemTime::now()`), for what the client reports outside a
    /// call (a budget's period); the core never reads a clock.
    fn wall_clock() -> std::time::SystemTime;

    /// Makes the client: `engine` around the HTTP client `http` says to use.
    fn build(engine: Engine, http: HttpSetup<Self::HttpClient>) -> Result<Self::Client, Error>;
}

/// Which HTTP client a transport builds its client on.
#[derive(Debug)]
pub enum HttpSetup<H> {
    /// The one the user gave ([`ClientBuilder::http_client`]): used as it is.
    Given(H),
    /// A new one of the transport's default kind, with these settings.
    New {
        /// Bounds opening a connection (TCP and TLS).
        connect_timeout: Duration,
        /// Which requests go through which proxy ([`ProxyRules`]); its URLs may carry
        /// passwords, so they are never quoted in errors or logs.
        proxies: ProxyRules,
        /// PEM documents (each one or more certificates) to trust besides the bundled
        /// roots ([`ClientBuilder::root_certificate_pem`]); the transport parses them and
        /// refuses a document with no certificate.
        root_certificates: Vec<Vec<u8>>,
    },
}

/// Configures a client of transport `T` (`onellm_blocking::ClientBuilder`,
/// `onellm_tokio::ClientBuilder`; each transport names it so).
///
/// Settings given here beat the environment, whatever the order of the calls. Without
/// [`from_env`](Self::from_env) the environment is not read at all. A request's own
/// `retries`, `fallback_models` and `timeout` beat the client's for that call.
///
/// ```
/// use std::time::Duration;
/// # struct Sketch;
/// # impl onellm_core::client::Transport for Sketch {
/// #     type HttpClient = ();
/// #     type Client = onellm_core::client::Engine;
/// #     fn env_var(_: &str) -> Option<String> { None }
/// #     fn read_file(_: &str) -> std::io::Result<String> { Err(std::io::ErrorKind::NotFound.into()) }
/// #     fn wall_clock() -> std::time::SystemTime { std::time::SystemTime::UNIX_EPOCH }
/// #     fn build(engine: onellm_core::client::Engine, _: onellm_core::client::HttpSetup<()>) -> Result<Self::Client, onellm_core::Error> { Ok(engine) }
/// # }
/// # type ClientBuilder = onellm_core::client::ClientBuilder<Sketch>;
/// // With `onellm_blocking::Client::builder()` or `onellm_tokio::Client::builder()`:
/// let client = ClientBuilder::new()
///     .from_env()
///     .api_key("openai", "sk-…")
///     .base_url("ollama", "http://gpu-box:11434")
///     .header("openrouter", "X-Title", "my app")
///     .timeout(Duration::from_secs(60))
///     .retries(3)
///     .fallback_models(["anthropic/claude-3-5-haiku-latest"])
///     .build()?;
/// # Ok::<(), onellm_core::Error>(())
/// ```
pub struct ClientBuilder<T: Transport> {
    config: ClientConfig,
    http: Option<T::HttpClient>,
    transport: PhantomData<fn() -> T>,
}

impl<T: Transport> Default for ClientBuilder<T> {
    fn default() -> Self {
        ClientBuilder {
            config: ClientConfig::default(),
            http: None,
            transport: PhantomData,
        }
    }
}

impl<T: Transport> Clone for ClientBuilder<T>
where
    T::HttpClient: Clone,
{
    fn clone(&self) -> Self {
        ClientBuilder {
            config: self.config.clone(),
            http: self.http.clone(),
            transport: PhantomData,
        }
    }
}

impl<T: Transport> fmt::Debug for ClientBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No keys, no header values (they may be credentials), no proxy URL (it may carry a
        // password): the config's Debug shows none of them.
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("http_client", &self.http.as_ref().map(|_| "[custom]"))
            .finish()
    }
}

impl<T: Transport> ClientBuilder<T> {
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
        self.config.settings = mem::take(&mut self.config.settings).api_key(provider, key);
        self
    }

    /// Sets a provider's base URL, with the SDK's conventional path (OpenAI-compatible ones
    /// end in `/v1`).
    pub fn base_url(mut self, provider: &str, url: impl Into<String>) -> Self {
        self.config.settings = mem::take(&mut self.config.settings).base_url(provider, url);
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
        self.config.settings = mem::take(&mut self.config.settings).option(provider, name, value);
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
        self.config.settings = mem::take(&mut self.config.settings).secret(provider, name, value);
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
        self.config.settings = mem::take(&mut self.config.settings).header(provider, name, value);
        self
    }

    /// The total deadline of each call, retries and waits included. Beats `ONELLM_TIMEOUT`;
    /// with neither, [`DEFAULT_TIMEOUT`](super::DEFAULT_TIMEOUT).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = Some(timeout);
        self
    }

    /// The deadline for opening a connection (TCP and TLS); default
    /// [`DEFAULT_CONNECT_TIMEOUT`]. Applies to the transport's own HTTP client, not to one
    /// given with [`http_client`](Self::http_client).
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

    /// For streams: the longest wait from sending a request until its first response bytes
    /// (the head). A model that is slow to start fails the attempt (and is retried or
    /// falls back) instead of holding the call until the attempt's deadline. Unset by default.
    pub fn first_byte_timeout(mut self, timeout: Duration) -> Self {
        self.config.first_byte_timeout = Some(timeout);
        self
    }

    /// For streams: the longest silence tolerated between body bytes once they started.
    /// A non-streamed reply is written only after the model finished, so for those only the
    /// attempt and total deadlines apply. Unset by default.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = Some(timeout);
        self
    }

    /// Extra attempts per model on retryable errors, for requests that do not set `retries`
    /// themselves (default 2).
    pub fn retries(mut self, retries: u32) -> Self {
        self.config.retries = Some(retries);
        self
    }

    /// The wait between attempts on the same model when the provider did not say how long
    /// (default: full jitter up to 1 s, doubling, capped at 30 s).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.config.backoff = Some(backoff);
        self
    }

    /// The longest `Retry-After` a call obeys (default 60 s). A provider asking for longer is
    /// treated as unavailable for now: the call moves to the next model at once.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.config.max_retry_after = Some(max);
        self
    }

    /// Models tried in order after the requested one gives up, for requests that do not set
    /// `fallback_models` themselves.
    pub fn fallback_models(mut self, models: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.config.fallback_models = Some(models.into_iter().map(Into::into).collect());
        self
    }

    /// The most response body bytes one attempt may receive (default 64 MiB), after
    /// decompression; a larger body fails the attempt instead of exhausting memory.
    /// This counts a stream's whole body too: the accumulated completion is kept for the
    /// final result (and for `StreamInterrupted`), so a stream longer than this fails with
    /// `StreamInterrupted` ("body too large"). Raise it for very long streams.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.config.max_body_bytes = Some(max);
        self
    }

    /// Seeds the backoff jitter, for reproducible retry timing in tests.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Sends every request through this proxy (`http://[user:password@]host:port`), whatever
    /// the environment says. The URL may carry a password: it is never shown in `Debug`,
    /// errors or logs. Cannot be combined with [`http_client`](Self::http_client):
    /// configure the proxy on that client.
    ///
    /// Without it, a client made [`from_env`](Self::from_env) reads `HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` as curl does (the
    /// [rules](super::proxies)); one made without `from_env` uses no proxy.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.config.proxy = Some(url.into());
        self
    }

    /// Trusts the certificates of this PEM document (a corporate or test CA) besides the
    /// bundled Mozilla roots, for every `https://` connection; may be called again to add
    /// more. A document without a certificate fails `build()`. Cannot be combined with
    /// [`http_client`](Self::http_client) (configure that client's TLS instead) nor with the
    /// transports' `platform-verifier` feature (add the CA to the system's store instead).
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.config.root_certificates.push(pem.into());
        self
    }

    /// Ignores the proxy variables of the environment (`HTTPS_PROXY`, …): every request goes
    /// direct unless [`proxy`](Self::proxy) names one.
    pub fn no_proxy(mut self) -> Self {
        self.config.no_proxy = true;
        self
    }

    /// Sends through this HTTP client instead of building one: a `ureq::Agent` for
    /// `onellm-blocking`, a hyper-util client for `onellm-tokio` (custom TLS roots, resolver,
    /// pool sizes, HTTP/2). Whatever it is configured with, the transport sends each request
    /// with redirects off and error statuses returned as responses, under the deadlines the
    /// core decides. [`connect_timeout`](Self::connect_timeout) and
    /// [`proxy`](Self::proxy) do not apply to it.
    pub fn http_client(mut self, client: impl Into<T::HttpClient>) -> Self {
        self.http = Some(client.into());
        self
    }

    /// Replaces the model catalog (the built-in one, generated from LiteLLM's model map, by
    /// default): for a newer map ([`Catalog::from_json`]) or prices of your own
    /// ([`Catalog::insert`]; a deployment's negotiated price overrides the map's). The
    /// catalog prices every call (`usage.cost`) and resolves bare model names
    /// (`gpt-4o-mini` → `openai/gpt-4o-mini`); with [`Catalog::empty`] no call has a cost
    /// and every model id needs its provider prefix.
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.config.catalog = Some(Arc::new(catalog));
        self
    }

    /// Stops the client's calls once they have cost `budget`'s limit (in USD, from each
    /// call's `usage.cost`; see [`Budget`] for what counts and when): a call started after
    /// that fails with `budget_exceeded` before sending. The spend so far is the client's
    /// `budget()`.
    pub fn budget(mut self, budget: Budget) -> Self {
        self.config.budget = Some(Arc::new(budget));
        self
    }

    /// A [`budget`](Self::budget) of `usd` for the client's lifetime (LiteLLM's
    /// `max_budget`).
    pub fn max_budget(self, usd: f64) -> Self {
        self.budget(Budget::new(usd))
    }

    /// Whether each model's context window is checked before sending (on by default): a
    /// prompt that cannot fit a model — counted exactly for OpenAI models, else by a lower
    /// bound that never refuses a prompt that would fit (see [`tokens`](crate::tokens)) —
    /// skips that model with `context_window_exceeded`, so a fallback with a larger window
    /// answers, and nothing is sent to a model that would refuse it (and bill for it).
    pub fn check_context_window(mut self, on: bool) -> Self {
        self.config.check_context_window = Some(on);
        self
    }

    /// Whether requests are checked against what the model catalog says each model cannot
    /// do (on by default): tools, a JSON-schema `response_format`, `reasoning_effort` or
    /// image input sent to a model whose catalog entry says `supports_…: false` skips it
    /// with `unsupported`, before sending. Turn it off when the catalog is wrong about a
    /// model you use (or [`catalog`](Self::catalog) a corrected entry).
    pub fn check_capabilities(mut self, on: bool) -> Self {
        self.config.check_capabilities = Some(on);
        self
    }

    /// Answers identical calls from a cache instead of sending them again (see
    /// [`cache`](crate::cache)): [`CacheSettings::memory`] for one client,
    /// [`CacheSettings::redis`] for every process pointing at one Redis. A router file's
    /// `litellm_settings: {cache: true, cache_params: …}` turns it on too; this beats it.
    /// `Client::builder().cache(CacheSettings::memory().ttl(Duration::from_secs(3600)))`.
    pub fn cache(mut self, settings: CacheSettings) -> Self {
        self.config.cache = Some(settings);
        self
    }

    /// The client's Redis (`redis://[user:password@]host:port[/db]`): where a
    /// [shared budget](Budget::shared) keeps its spend, and the default for the router's
    /// state and a Redis cache. A router file's `redis_host` or a cache's address must name
    /// the same server (one per client).
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        self.config.store = Some(StoreConfig::redis(url));
        self
    }

    /// Routes calls whose model names a group of `config` to the group's deployments (see
    /// [`router`](crate::router) and [`Engine::with_router`]).
    pub fn router(mut self, config: RouterConfig) -> Self {
        self.config.router = Some(RouterSource::Config(Box::new(config)));
        self
    }

    /// The same, from LiteLLM's `config.yaml` at `path` (its `model_list` and
    /// `router_settings`), read when the client is built: a malformed file fails
    /// [`build`](Self::build) with an error naming the file and line. Needs the `yaml`
    /// feature (on by default in the transport crates).
    pub fn router_file(mut self, path: impl Into<String>) -> Self {
        self.config.router = Some(RouterSource::YamlFile(path.into()));
        self
    }

    /// Calls `observer` with every [`CallEvent`] of every call of the client (attempt sent,
    /// wait, success, failure, cancellation), in order, on the thread or task driving the
    /// call. For metrics, audit trails or tests; the events carry no key, header or body.
    /// The same events are logged through `tracing` either way.
    pub fn on_event(mut self, observer: impl Fn(&CallEvent) + Send + Sync + 'static) -> Self {
        self.config.observer = Some(Arc::new(observer));
        self
    }

    /// Builds the client: applies the settings, reads the environment if asked, and makes
    /// the transport's HTTP client and its connection pool. Fails with `Configuration` for
    /// an unreadable config file, an unusable proxy URL, or a proxy given together with an
    /// HTTP client.
    pub fn build(self) -> Result<T::Client, Error> {
        let (registry, options) = self.config.resolve(T::env_var, T::read_file)?;
        let router = self.config.resolve_router(T::env_var, T::read_file)?;
        let http = match (self.http, self.config.proxy) {
            (Some(_), Some(_)) => {
                return Err(Error::configuration(
                    "both proxy() and http_client() were given: configure the proxy on the \
                     HTTP client",
                ))
            }
            (Some(_), None) if !self.config.root_certificates.is_empty() => {
                return Err(Error::configuration(
                    "both root_certificate_pem() and http_client() were given: configure TLS \
                     on the HTTP client",
                ))
            }
            (Some(client), None) => HttpSetup::Given(client),
            (None, proxy) => HttpSetup::New {
                connect_timeout: self
                    .config
                    .connect_timeout
                    .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
                proxies: match proxy {
                    Some(url) => ProxyRules::all(url),
                    None if self.config.read_env && !self.config.no_proxy => {
                        ProxyRules::from_lookup(T::env_var)
                    }
                    None => ProxyRules::default(),
                },
                root_certificates: self.config.root_certificates,
            },
        };
        let mut engine = Engine::new(registry, options, self.config.seed, self.config.observer)
            .with_checks(
                self.config.check_context_window.unwrap_or(true),
                self.config.check_capabilities.unwrap_or(true),
            );
        if let Some(catalog) = self.config.catalog {
            engine = engine.with_catalog(catalog);
        }
        if let Some(budget) = self.config.budget {
            engine = engine.with_budget(budget);
        }
        let cache = self
            .config
            .cache
            .clone()
            .or_else(|| router.as_ref().and_then(|router| router.cache.clone()));
        // One Redis per client: the builder's, the router's and the cache's must agree.
        let addresses = [
            self.config.store.as_ref().map(|store| &store.url),
            router
                .as_ref()
                .and_then(|router| router.settings.redis_url.as_ref()),
            cache
                .as_ref()
                .and_then(CacheSettings::store)
                .map(|store| &store.url),
        ];
        let disagree = {
            let mut named = addresses.into_iter().flatten();
            let first = named.next();
            first.is_some_and(|first| named.any(|other| other != first))
        };
        if disagree {
            return Err(Error::configuration(
                "the client's Redis, the router's and the cache's name different servers: a \
                 client shares one (give one address, or the same to each)",
            ));
        }
        if let Some(store) = self.config.store.clone() {
            engine = engine.with_store(store);
        }
        if let Some(router) = router {
            engine = engine.with_router(router);
        }
        if let Some(cache) = cache {
            engine = engine.with_cache(cache);
        }
        T::build(engine, http)
    }
}
