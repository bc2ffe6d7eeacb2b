//! [`Client`] and its [`ClientBuilder`].

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use hyper_util::client::legacy::{self, connect::Connect};

use onellm_core::call::{Call, CallOptions, Operation, Output};
use onellm_core::{
    ApiKey, ChatCompletion, ChatRequest, CompletionRequest, CompletionResponse, EmbeddingRequest,
    EmbeddingResponse, Error, ErrorKind, Registry,
};

use crate::connector::{self, HttpSend, RequestBody};
use crate::drive::{Driver, Step};
use crate::stream::ChatStream;

/// The connect timeout when none is configured: long enough for a slow DNS lookup and TCP
/// handshake, short enough that an unreachable host fails well before most call deadlines.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An async OneLLM client: one OpenAI-shaped API for every provider.
///
/// Cheap to clone (an `Arc` inside) and `Send + Sync`: clone it into as many tasks as you
/// like. All clones share one pool of HTTP connections, so calls to the same provider reuse
/// connections. Every call retries and falls back as configured on the builder or in the
/// request (`retries`, `fallback_models`).
///
/// Calls must run inside a tokio runtime (they spawn hyper's connection tasks and use tokio's
/// timers).
///
/// ```no_run
/// use onellm_tokio::{ChatRequest, Client};
///
/// # async fn run() -> Result<(), onellm_tokio::Error> {
/// let client = Client::from_env()?;
/// let completion = client
///     .chat(ChatRequest::new("openai/gpt-4o-mini").user("Say hello"))
///     .await?;
/// println!("{}", completion.text());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    options: CallOptions,
    http: Arc<dyn HttpSend>,
    /// Mixed with a per-call counter into each call's jitter seed.
    seed: u64,
    calls: AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The registry's Debug redacts API keys.
        f.debug_struct("Client")
            .field("registry", &self.inner.registry)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client configured from the environment only (`OPENAI_API_KEY`, `ANTHROPIC_BASE_URL`,
    /// `ONELLM_TIMEOUT`, …; see [`Registry`]). Same as `Client::builder().from_env().build()`.
    pub fn from_env() -> Result<Client, Error> {
        Client::builder().from_env().build()
    }

    /// A builder for a client with explicit settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Sends a chat request and returns the whole completion.
    ///
    /// The request's `stream` field is ignored: this call never streams (see
    /// [`chat_stream`](Self::chat_stream)). Dropping the future cancels the call and closes
    /// its connection.
    pub async fn chat(&self, mut request: ChatRequest) -> Result<ChatCompletion, Error> {
        request.stream = None;
        request.stream_options = None;
        match self.run(Operation::Chat(request)).await? {
            Output::Chat(completion) => Ok(completion),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends a chat request and streams the reply as chunks.
    ///
    /// Errors, including configuration errors found before sending, come out as items; after
    /// the stream ends, [`ChatStream::completion`] holds the accumulated completion. Retry
    /// and fallback happen until the first chunk reaches the caller; a failure after that is
    /// a `StreamInterrupted` error carrying what had arrived. Dropping the stream cancels the
    /// call and closes its connection.
    pub fn chat_stream(&self, mut request: ChatRequest) -> ChatStream {
        request.stream = Some(true);
        ChatStream::new(self.driver(Operation::Chat(request)))
    }

    /// Creates embeddings.
    pub async fn embeddings(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse, Error> {
        match self.run(Operation::Embeddings(request)).await? {
            Output::Embeddings(response) => Ok(response),
            other => Err(unexpected(&other)),
        }
    }

    /// Sends a legacy (prompt-in, text-out) completions request.
    pub async fn completions(
        &self,
        request: CompletionRequest,
    ) -> Result<CompletionResponse, Error> {
        match self.run(Operation::Completions(request)).await? {
            Output::Completions(response) => Ok(response),
            other => Err(unexpected(&other)),
        }
    }

    /// The settings this client resolves models with.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    async fn run(&self, operation: Operation) -> Result<Output, Error> {
        let mut driver = self.driver(operation);
        loop {
            match driver.step().await {
                // Not a streaming operation: the core yields no chunks, but if it did they
                // would be part of the output anyway.
                Step::Chunk(_) => continue,
                Step::Done(output) => return Ok(output),
                Step::Failed(error) => return Err(error),
            }
        }
    }

    fn driver(&self, operation: Operation) -> Driver {
        let inner = &self.inner;
        let call = Call::new(
            &inner.registry,
            operation,
            inner.options.clone(),
            self.next_seed(),
            Instant::now(),
        );
        Driver::new(call, inner.http.clone())
    }

    /// A distinct jitter seed per call, so clients that failed together do not retry in
    /// lockstep; reproducible across runs when the builder was given a seed.
    fn next_seed(&self) -> u64 {
        let n = self.inner.calls.fetch_add(1, Ordering::Relaxed);
        splitmix64(self.inner.seed ^ splitmix64(n))
    }
}

/// A call's output of the wrong kind: would be a bug in the core.
fn unexpected(output: &Output) -> Error {
    let what = match output {
        Output::Chat(_) => "a chat completion",
        Output::Embeddings(_) => "embeddings",
        Output::Completions(_) => "a legacy completion",
    };
    Error::new(
        ErrorKind::Decode,
        format!("internal error: the call produced {what}, which was not asked for"),
    )
}

/// SplitMix64's finalizer: spreads consecutive counters over the whole `u64` range.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Configures a [`Client`].
///
/// Settings given here beat the environment, whatever the order of the calls.
///
/// ```no_run
/// use std::time::Duration;
/// use onellm_tokio::Client;
///
/// # fn build() -> Result<Client, onellm_tokio::Error> {
/// let client = Client::builder()
///     .from_env()
///     .api_key("anthropic", "sk-ant-...")
///     .base_url("openai", "http://localhost:8000/v1")
///     .timeout(Duration::from_secs(60))
///     .retries(3)
///     .fallback_models(["anthropic/claude-3-5-haiku-latest"])
///     .build()?;
/// # Ok(client)
/// # }
/// ```
#[derive(Default)]
pub struct ClientBuilder {
    registry: Registry,
    from_env: bool,
    options: CallOptions,
    connect_timeout: Option<Duration>,
    seed: Option<u64>,
    proxy: Option<String>,
    http: Option<Arc<dyn HttpSend>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("registry", &self.registry)
            .field("from_env", &self.from_env)
            .field("options", &self.options)
            .field("connect_timeout", &self.connect_timeout)
            .field("proxy", &self.proxy.as_ref().map(|_| "[set]"))
            .field("hyper_client", &self.http.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with no settings: the same as [`Client::builder`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Also reads settings from the environment at [`build`](Self::build), for every
    /// setting not given explicitly: API keys, base URLs, per-provider timeouts and retries,
    /// `ONELLM_TIMEOUT` (see [`Registry`]).
    pub fn from_env(mut self) -> Self {
        self.from_env = true;
        self
    }

    /// Starts from these provider settings (custom providers included), replacing the
    /// settings given to this builder so far.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }

    /// Sets a provider's API key (`"openai"`, `"anthropic"`, …).
    pub fn api_key(mut self, provider: &str, key: impl Into<ApiKey>) -> Self {
        self.registry.set_api_key(provider, key);
        self
    }

    /// Sets a provider's base URL, in the provider SDK's convention (OpenAI's ends in `/v1`).
    pub fn base_url(mut self, provider: &str, url: impl Into<String>) -> Self {
        self.registry.set_base_url(provider, url);
        self
    }

    /// Adds a header sent on every request to a provider.
    pub fn header(
        mut self,
        provider: &str,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.registry.add_header(provider, name, value);
        self
    }

    /// The total deadline of each call, waits between attempts included (else
    /// `ONELLM_TIMEOUT`, else none). A call past it fails with `Timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.total_timeout = Some(timeout);
        self
    }

    /// The longest wait for a TCP connection to open (default 10 s). Does not apply to a
    /// client given with [`hyper_client`](Self::hyper_client).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The deadline of each attempt, from sending to the end of the body (else the
    /// provider's `ONELLM_PROVIDERS__P__TIMEOUT`).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.options.attempt_timeout = Some(timeout);
        self
    }

    /// Streaming calls: the longest silence between body bytes.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.options.idle_timeout = Some(timeout);
        self
    }

    /// Extra attempts per model on retryable errors (default 2). A request's own `retries`
    /// wins.
    pub fn retries(mut self, retries: u32) -> Self {
        self.options.retries = retries;
        self
    }

    /// Models tried in order when the requested one fails in a way another may not. A
    /// request's own `fallback_models` wins.
    pub fn fallback_models(mut self, models: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.options.fallback_models = models.into_iter().map(Into::into).collect();
        self
    }

    /// The most body bytes one response may have (default 64 MiB); more is a `Decode` error,
    /// so a hostile or broken server cannot exhaust memory.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.options.max_body_bytes = max;
        self
    }

    /// Replaces the retry, fallback and deadline options wholesale.
    pub fn call_options(mut self, options: CallOptions) -> Self {
        self.options = options;
        self
    }

    /// Seeds the backoff jitter, for reproducible retry timing (default: from the clock).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sends every request through an HTTP proxy, `http://[user:password@]host:port`, as an
    /// HTTP `CONNECT` tunnel (so the proxy never sees request headers). Other proxy kinds
    /// (SOCKS, `https://` proxies) are a `Configuration` error at [`build`](Self::build):
    /// give a [`hyper_client`](Self::hyper_client) with such a connector instead.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Uses this hyper-util client for every request instead of the built-in one (rustls with
    /// Mozilla's roots): for native roots, a custom connector, HTTP/2, or your own pool
    /// settings. The connect timeout and proxy of this builder do not apply to it.
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
    ///     .base_url("ollama", "http://127.0.0.1:11434/v1")
    ///     .hyper_client(hyper)
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn hyper_client<C>(mut self, client: legacy::Client<C, RequestBody>) -> Self
    where
        C: Connect + Clone + Send + Sync + 'static,
    {
        self.http = Some(Arc::new(client));
        self
    }

    /// Builds the client, reading the environment if [`from_env`](Self::from_env) was
    /// called. Fails with `Configuration` for an unusable proxy URL, or a proxy given
    /// together with a hyper client.
    pub fn build(self) -> Result<Client, Error> {
        let mut registry = self.registry;
        if self.from_env {
            registry.apply_lookup(|name| std::env::var(name).ok());
        }
        let http = match (self.http, &self.proxy) {
            (Some(_), Some(_)) => {
                return Err(Error::configuration(
                    "a proxy cannot be set together with a hyper client: configure the proxy \
                     on the hyper client's connector",
                ))
            }
            (Some(http), None) => http,
            (None, proxy) => connector::build(
                Some(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT)),
                proxy.as_deref(),
            )?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                registry,
                options: self.options,
                http,
                seed: self.seed.unwrap_or_else(clock_seed),
                calls: AtomicU64::new(0),
            }),
        })
    }
}

/// A seed nobody else has: the clock mixed with the process's random hash keys.
fn clock_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    RandomState::new().hash_one(nanos)
}
