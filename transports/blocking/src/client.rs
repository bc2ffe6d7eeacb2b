//! The [`Client`]: the core's engine plus one pooled ureq agent, and the driver that runs
//! the core's calls on the calling thread.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use onellm_core::call::Outgoing;
use onellm_core::client::{
    Batching, BlockingCall, BlockingDriver, EmbeddingBatches, Engine, HttpSetup, ProxyRules,
    Transport,
};
#[cfg(feature = "redis")]
use onellm_core::store::{StoreOp, StoreReply};
use onellm_core::{
    ChatCompletion, ChatRequest, CompletionRequest, CompletionResponse, EmbeddingRequest,
    EmbeddingResponse, Error, Response, ResponsesRequest,
};
use ureq::tls::RootCerts;

use crate::exchange;
use crate::stream::{ChatStream, ResponseStream};

/// A blocking OneLLM client: one OpenAI-shaped API for every provider.
///
/// Cheap to clone (an `Arc` inside) and safe to share across threads; clones share one
/// connection pool. Each method runs the whole call — retries, fallback models, waits —
/// on the calling thread and returns when it is done.
///
/// ```no_run
/// use onellm_blocking::{ChatRequest, Client};
///
/// let client = Client::from_env()?; // OPENAI_API_KEY, ANTHROPIC_API_KEY, …
/// let request = ChatRequest::new("openai/gpt-4o-mini")
///     .user("Say hello in French.")
///     .fallback_models(["anthropic/claude-3-5-haiku-latest"]);
/// let completion = client.chat(request)?;
/// println!("{}", completion.text());
/// # Ok::<(), onellm_blocking::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    /// The registry, call defaults and observer; another for a view with overrides.
    engine: Engine,
    /// The HTTP side, shared by every clone and view.
    inner: Arc<Inner>,
    /// The in-process llama.cpp engine and the models it loaded (`local.rs`).
    #[cfg(feature = "llama")]
    pub(crate) local: Arc<crate::local::LocalModels>,
}

/// What every clone of a client shares.
struct Inner {
    /// One agent per client: its pool is what makes connections reused across calls.
    agent: ureq::Agent,
    /// For plain-http requests through a proxy (`forward.rs`); with proxy rules only.
    forwarding: Option<ureq::Agent>,
    /// Reads the ends of finished streams' bodies so their connections are reused.
    drainer: Arc<crate::drain::Drainer>,
    /// Which requests go through which proxy (from the builder or the environment).
    proxies: exchange::Proxies,
    /// The router's shared store (Redis), when its configuration names one.
    #[cfg(feature = "redis")]
    store: Option<onellm_redis::BlockingStore>,
}

onellm_core::client_basics!(onellm_blocking, Client, engine);

impl Client {
    /// Sends a chat request and returns the whole completion.
    ///
    /// The request's `stream` flag is ignored (use [`chat_stream`](Self::chat_stream)).
    /// Retries and fallback models come from the request (`retries`, `fallback_models`)
    /// or else from the client's defaults.
    ///
    /// ```no_run
    /// # let client = onellm_blocking::Client::from_env()?;
    /// use onellm_blocking::ChatRequest;
    ///
    /// let completion = client.chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))?;
    /// println!("{}", completion.text());
    /// # Ok::<(), onellm_blocking::Error>(())
    /// ```
    pub fn chat(&self, request: ChatRequest) -> Result<ChatCompletion, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.chat(request, now, wall_clock);
        BlockingCall::new(self.clone(), call).run()
    }

    /// Sends a chat request with `stream: true` and returns an iterator of chunks.
    ///
    /// Nothing is sent until the first call to `next`. Errors come as items (the last
    /// one); after the stream ends, [`ChatStream::completion`] holds the accumulated
    /// completion. Dropping the iterator early cancels the call and closes its
    /// connection.
    ///
    /// ```no_run
    /// # let client = onellm_blocking::Client::from_env()?;
    /// use std::io::Write;
    /// use onellm_blocking::ChatRequest;
    ///
    /// let mut stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("Hi"));
    /// for chunk in &mut stream {
    ///     print!("{}", chunk?.text().unwrap_or_default());
    ///     std::io::stdout().flush().ok();
    /// }
    /// let usage = stream.completion().and_then(|c| c.usage.as_ref());
    /// # Ok::<(), onellm_blocking::Error>(())
    /// ```
    pub fn chat_stream(&self, request: ChatRequest) -> ChatStream {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.chat_stream(request, now, wall_clock);
        ChatStream::new(BlockingCall::new(self.clone(), call))
    }

    /// Creates embeddings.
    ///
    /// ```no_run
    /// # let client = onellm_blocking::Client::from_env()?;
    /// use onellm_blocking::EmbeddingRequest;
    ///
    /// let response = client.embeddings(EmbeddingRequest::new(
    ///     "openai/text-embedding-3-small",
    ///     ["first text", "second text"],
    /// ))?;
    /// assert_eq!(response.data.len(), 2);
    /// # Ok::<(), onellm_blocking::Error>(())
    /// ```
    pub fn embeddings(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.embeddings(request, now, wall_clock);
        BlockingCall::new(self.clone(), call).run()
    }

    /// Embeds many texts: splits the request into batches of `batching.batch_size()` inputs,
    /// runs `batching.concurrency()` of them at once on scoped threads (one pool of
    /// connections), and returns one response with every vector in input order and the
    /// usage summed. The first batch that fails (after its own retries and fallbacks) fails
    /// the whole call; batches not yet started are not sent.
    ///
    /// ```no_run
    /// # let client = onellm_blocking::Client::from_env()?;
    /// use onellm_blocking::{Batching, EmbeddingRequest};
    ///
    /// let texts: Vec<String> = (0..1000).map(|i| format!("document {i}")).collect();
    /// let request = EmbeddingRequest::new("openai/text-embedding-3-small", texts);
    /// let batching = Batching::new(100, 4).on_progress(|done, total| eprintln!("{done}/{total}"));
    /// let vectors = client.embed_many(request, batching)?.into_vectors()?;
    /// assert_eq!(vectors.len(), 1000);
    /// # Ok::<(), onellm_blocking::Error>(())
    /// ```
    pub fn embed_many(
        &self,
        request: EmbeddingRequest,
        batching: Batching,
    ) -> Result<EmbeddingResponse, Error> {
        let batches = EmbeddingBatches::new(request, batching.batch_size())?;
        let total = batches.total_inputs();
        let requests = batches.requests().to_vec();
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let collected = Mutex::new((batches, 0usize, None::<Error>));
        std::thread::scope(|scope| {
            for _ in 0..batching.concurrency().min(requests.len()) {
                scope.spawn(|| loop {
                    let batch = next.fetch_add(1, Ordering::Relaxed);
                    let Some(request) = requests.get(batch) else {
                        return;
                    };
                    if failed.load(Ordering::Relaxed) {
                        return;
                    }
                    let result = self.embeddings(request.clone());
                    let mut collected = collected.lock().unwrap_or_else(|e| e.into_inner());
                    let (batches, done, error) = &mut *collected;
                    match result.and_then(|response| batches.answer(batch, response)) {
                        Ok(()) => {
                            *done += request.input.len();
                            batching.report_progress(*done, total);
                        }
                        Err(failure) => {
                            failed.store(true, Ordering::Relaxed);
                            error.get_or_insert(failure);
                        }
                    }
                });
            }
        });
        let (batches, _, error) = collected.into_inner().unwrap_or_else(|e| e.into_inner());
        match error {
            Some(error) => Err(error),
            None => batches.finish(),
        }
    }

    /// Sends a request to OpenAI's Responses API and returns the whole response.
    ///
    /// Natively on providers that serve the API (OpenAI, Azure, and OpenAI-compatible
    /// hosts whose profile says so); on the others (Anthropic, Gemini, Cohere, Bedrock,
    /// Ollama, …) as a chat call translated both ways, so the same program works on any
    /// model. What chat cannot carry (`previous_response_id`, built-in tools) is an
    /// `Unsupported` error there. The request's `stream` flag is ignored (see
    /// [`responses_stream`](Self::responses_stream)).
    ///
    /// ```no_run
    /// # let client = onellm_blocking::Client::from_env()?;
    /// use onellm_blocking::ResponsesRequest;
    ///
    /// let response = client.responses(ResponsesRequest::new("openai/gpt-4o-mini", "Hi"))?;
    /// println!("{}", response.output_text());
    /// # Ok::<(), onellm_blocking::Error>(())
    /// ```
    pub fn responses(&self, request: ResponsesRequest) -> Result<Response, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.responses(request, now, wall_clock);
        BlockingCall::new(self.clone(), call).run()
    }

    /// Sends a request to the Responses API with `stream: true` and returns an iterator of
    /// its events; afterwards [`ResponseStream::response`] holds the response they built.
    /// Retry and fallback happen until the first event with content; dropping the
    /// iterator cancels the call.
    ///
    /// ```no_run
    /// # let client = onellm_blocking::Client::from_env()?;
    /// use onellm_blocking::{ResponseStreamEvent, ResponsesRequest};
    ///
    /// let mut stream = client.responses_stream(ResponsesRequest::new("openai/gpt-4o-mini", "Hi"));
    /// for event in &mut stream {
    ///     if let Some(delta) = event?.text_delta() {
    ///         print!("{delta}");
    ///     }
    /// }
    /// let usage = stream.response().and_then(|response| response.usage.as_ref());
    /// # Ok::<(), onellm_blocking::Error>(())
    /// ```
    pub fn responses_stream(&self, request: ResponsesRequest) -> ResponseStream {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.responses_stream(request, now, wall_clock);
        ResponseStream::new(BlockingCall::new(self.clone(), call))
    }

    /// Sends a legacy (text) completions request.
    ///
    /// ```no_run
    /// # let client = onellm_blocking::Client::from_env()?;
    /// use onellm_blocking::CompletionRequest;
    ///
    /// let response = client.completions(CompletionRequest::new(
    ///     "openai/gpt-3.5-turbo-instruct",
    ///     "Once upon a time",
    /// ))?;
    /// println!("{}", response.text());
    /// # Ok::<(), onellm_blocking::Error>(())
    /// ```
    pub fn completions(&self, request: CompletionRequest) -> Result<CompletionResponse, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.completions(request, now, wall_clock);
        BlockingCall::new(self.clone(), call).run()
    }
}

/// How [`ClientBuilder`](crate::ClientBuilder) makes a blocking client: around a ureq agent (the user's, or a new
/// one with the connect timeout and proxy).
impl Transport for Client {
    type HttpClient = ureq::Agent;
    type Client = Client;

    fn env_var(name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn read_file(path: &str) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn wall_clock() -> std::time::SystemTime {
        std::time::SystemTime::now()
    }

    fn build(engine: Engine, http: HttpSetup<ureq::Agent>) -> Result<Client, Error> {
        let (agent, forwarding, proxies) = match http {
            // Its own connect timeout, pool and proxy stay as the user configured them.
            HttpSetup::Given(agent) => (agent, None, ProxyRules::default()),
            HttpSetup::New {
                connect_timeout,
                proxies,
                root_certificates,
            } => {
                let roots = trusted_roots(&root_certificates)?;
                let agent = ureq::Agent::with_parts(
                    agent_config(connect_timeout, roots, true),
                    ureq::unversioned::transport::DefaultConnector::default(),
                    crate::resolver::Resolver::default(),
                );
                // Only plain-http requests go on it: no TLS to configure.
                let forwarding = (!proxies.is_empty()).then(|| {
                    let unpooled = agent_config(connect_timeout, RootCerts::WebPki, false);
                    crate::forward::forwarding_agent(unpooled)
                });
                (agent, forwarding, proxies)
            }
        };
        #[cfg(feature = "redis")]
        let store = engine
            .store()
            .map(onellm_redis::BlockingStore::open)
            .transpose()?;
        #[cfg(not(feature = "redis"))]
        if engine.store().is_some() {
            return Err(onellm_core::store::needs_redis_feature("onellm-blocking"));
        }
        let proxies = exchange::Proxies::parse(proxies)?;
        #[cfg(feature = "llama")]
        let local = Arc::new(crate::local::LocalModels::from_lookup(|name| {
            std::env::var(name).ok()
        })?);
        Ok(Client {
            #[cfg(feature = "llama")]
            local,
            engine,
            inner: Arc::new(Inner {
                agent,
                forwarding,
                drainer: Default::default(),
                proxies,
                #[cfg(feature = "redis")]
                store,
            }),
        })
    }
}

/// The I/O the core's drive loop asks for, on the calling thread.
impl BlockingDriver for Client {
    #[cfg(not(feature = "llama"))]
    type Body = exchange::UreqBody;
    #[cfg(feature = "llama")]
    type Body = crate::local::Body;

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, until: Instant) {
        let wait = until.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }

    fn send(
        &self,
        request: http::Request<Bytes>,
        outgoing: &Outgoing,
    ) -> Result<(StatusCode, HeaderMap, Self::Body), Error> {
        let inner = &self.inner;
        let wire = |request| {
            exchange::send(
                &inner.agent,
                inner.forwarding.as_ref(),
                &inner.drainer,
                &inner.proxies,
                request,
                outgoing,
                Instant::now(),
            )
        };
        #[cfg(feature = "llama")]
        return crate::local::send(&self.local, request, outgoing, wire);
        #[cfg(not(feature = "llama"))]
        wire(request)
    }

    #[cfg(feature = "redis")]
    fn store(&self, op: &StoreOp) -> Result<StoreReply, Error> {
        match &self.inner.store {
            Some(store) => store.run(op),
            None => Err(Error::configuration("this client has no shared store")),
        }
    }
}

/// The settings of the agent a client owns: its pool (when `pooled`) is shared by every
/// call of the client. Its own proxy is off (ureq would read the environment its own way):
/// the client's [`ProxyRules`] pick each request's.
fn agent_config(connect_timeout: Duration, roots: RootCerts, pooled: bool) -> ureq::config::Config {
    // Several threads sharing one client each keep a warm connection.
    let (per_host, total) = if pooled { (8, 32) } else { (0, 0) };
    ureq::Agent::config_builder()
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(connect_timeout))
        .user_agent(concat!("onellm-blocking/", env!("CARGO_PKG_VERSION")))
        .max_idle_connections_per_host(per_host)
        .max_idle_connections(total)
        .proxy(None)
        .build()
}

/// Which certificates the agent trusts: the bundled Mozilla roots, those plus the
/// certificates of the PEM documents given to
/// [`root_certificate_pem`](onellm_core::client::ClientBuilder::root_certificate_pem), or with
/// the `platform-verifier` feature the operating system's verifier.
fn trusted_roots(documents: &[Vec<u8>]) -> Result<RootCerts, Error> {
    if cfg!(feature = "platform-verifier") {
        return match documents.is_empty() {
            true => Ok(RootCerts::PlatformVerifier),
            false => Err(Error::configuration(
                "root_certificate_pem() with the platform-verifier feature: add the \
                 certificate to the system's trust store instead",
            )),
        };
    }
    if documents.is_empty() {
        return Ok(RootCerts::WebPki);
    }
    let mut certificates: Vec<ureq::tls::Certificate<'static>> =
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|root| ureq::tls::Certificate::from_der(root.as_ref()))
            .collect();
    for document in documents {
        let before = certificates.len();
        for item in ureq::tls::parse_pem(document) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(certificate)) => certificates.push(certificate),
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::configuration(format!(
                        "root_certificate_pem: bad PEM: {e}"
                    )))
                }
            }
        }
        if certificates.len() == before {
            return Err(Error::configuration(
                "root_certificate_pem: the document holds no CERTIFICATE block",
            ));
        }
    }
    Ok(RootCerts::Specific(Arc::new(certificates)))
}

/// Images, audio and moderation: each a call like [`Client::embeddings`], with the same
/// retries, fallbacks, deadlines, reports, events and budgets.
impl Client {
    /// Generates images (`/images/generations`).
    ///
    /// ```no_run
    /// # let client = onellm_blocking::Client::from_env()?;
    /// use onellm_blocking::ImageRequest;
    ///
    /// let images = client.images_generate(ImageRequest::new("openai/gpt-image-1", "a red kite"))?;
    /// let base64_png = images.data[0].b64_json.as_deref();
    /// # Ok::<(), onellm_blocking::Error>(())
    /// ```
    pub fn images_generate(
        &self,
        request: onellm_core::ImageRequest,
    ) -> Result<onellm_core::ImagesResponse, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.images_generate(request, now, wall_clock);
        BlockingCall::new(self.clone(), call).run()
    }

    /// Transcribes audio (`/audio/transcriptions`); the caller reads the file.
    ///
    /// ```no_run
    /// # let client = onellm_blocking::Client::from_env()?;
    /// use onellm_blocking::TranscriptionRequest;
    ///
    /// let audio = std::fs::read("talk.wav").expect("the file");
    /// let text = client.transcribe(TranscriptionRequest::new("openai/whisper-1", audio, "talk.wav"))?.text;
    /// # Ok::<(), onellm_blocking::Error>(())
    /// ```
    pub fn transcribe(
        &self,
        request: onellm_core::TranscriptionRequest,
    ) -> Result<onellm_core::Transcription, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.transcribe(request, now, wall_clock);
        BlockingCall::new(self.clone(), call).run()
    }

    /// Translates speech into English text (`/audio/translations`).
    pub fn translate(
        &self,
        request: onellm_core::TranslationRequest,
    ) -> Result<onellm_core::Transcription, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.translate(request, now, wall_clock);
        BlockingCall::new(self.clone(), call).run()
    }

    /// Synthesizes speech (`/audio/speech`); the whole audio file comes back in memory.
    pub fn speech(
        &self,
        request: onellm_core::SpeechRequest,
    ) -> Result<onellm_core::SpeechAudio, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.speech(request, now, wall_clock);
        BlockingCall::new(self.clone(), call).run()
    }

    /// Classifies text and images (`/moderations`).
    pub fn moderations(
        &self,
        request: onellm_core::ModerationRequest,
    ) -> Result<onellm_core::ModerationResponse, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.moderations(request, now, wall_clock);
        BlockingCall::new(self.clone(), call).run()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync_and_streams_move_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        fn assert_send<T: Send>() {}
        assert_send_sync::<Client>();
        assert_send::<ChatStream>();
    }
}
