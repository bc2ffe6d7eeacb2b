//! The [`Client`]: the core's engine plus one pooled hyper-util client, and the driver that
//! runs the core's calls on tokio.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::HeaderValue;
use http_body_util::Full;
use onellm_core::call::Outgoing;
use onellm_core::client::{
    AsyncCall, AsyncDriver, Batching, EmbeddingBatches, Engine, HttpSetup, ProxyRules, Transport,
};
#[cfg(feature = "redis")]
use onellm_core::store::{StoreOp, StoreReply};
use onellm_core::{
    ChatCompletion, ChatRequest, CompletionRequest, CompletionResponse, EmbeddingRequest,
    EmbeddingResponse, Error, ErrorKind, Response, ResponsesRequest,
};

use crate::connector::{self, HyperClient};
use crate::exchange::HyperExchange;
use crate::stream::{ChatStream, ResponseStream};

/// Sent unless the provider adapter or the user's headers set another.
const USER_AGENT: &str = concat!("onellm-tokio/", env!("CARGO_PKG_VERSION"));

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
    /// The registry, call defaults and observer; another for a view with overrides.
    engine: Engine,
    /// The HTTP side, shared by every clone and view.
    inner: Arc<Inner>,
    /// The in-process llama.cpp engine and the models it loaded (`local.rs`).
    #[cfg(feature = "llama")]
    pub(crate) local: Arc<crate::local::LocalModels>,
}

struct Inner {
    http: HyperClient,
    /// Which requests go through which proxy (for the credentials of plain-http ones).
    proxies: ProxyRules,
    /// The router's shared store (Redis), when its configuration names one.
    #[cfg(feature = "redis")]
    store: Option<onellm_redis::TokioStore>,
}

onellm_core::client_basics!(onellm_tokio, Client, engine);

impl Client {
    /// Sends a chat request and returns the whole completion.
    ///
    /// The request's `stream` field is ignored: this call never streams (see
    /// [`chat_stream`](Self::chat_stream)). Dropping the future cancels the call and closes
    /// its connection.
    pub async fn chat(&self, request: ChatRequest) -> Result<ChatCompletion, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.chat(request, now, wall_clock);
        AsyncCall::new(self.clone(), call).run().await
    }

    /// Sends a chat request and streams the reply as chunks.
    ///
    /// Errors, including configuration errors found before sending, come out as items; after
    /// the stream ends, [`ChatStream::completion`] holds the accumulated completion. Retry
    /// and fallback happen until the first chunk reaches the caller; a failure after that is
    /// a `StreamInterrupted` error carrying what had arrived. Dropping the stream cancels the
    /// call and closes its connection.
    pub fn chat_stream(&self, request: ChatRequest) -> ChatStream {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.chat_stream(request, now, wall_clock);
        ChatStream::new(AsyncCall::new(self.clone(), call))
    }

    /// Creates embeddings.
    pub async fn embeddings(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.embeddings(request, now, wall_clock);
        AsyncCall::new(self.clone(), call).run().await
    }

    /// Embeds many texts: splits the request into batches of `batching.batch_size()` inputs,
    /// runs at most `batching.concurrency()` of them at once as tokio tasks (one pool of
    /// connections), and returns one response with every vector in input order and the
    /// usage summed. The first batch that fails (after its own retries and fallbacks) fails
    /// the whole call and cancels the others.
    ///
    /// ```no_run
    /// # async fn run(client: onellm_tokio::Client) -> Result<(), onellm_tokio::Error> {
    /// use onellm_tokio::{Batching, EmbeddingRequest};
    ///
    /// let texts: Vec<String> = (0..1000).map(|i| format!("document {i}")).collect();
    /// let request = EmbeddingRequest::new("openai/text-embedding-3-small", texts);
    /// let batching = Batching::new(100, 8).on_progress(|done, total| eprintln!("{done}/{total}"));
    /// let vectors = client.embed_many(request, batching).await?.into_vectors()?;
    /// assert_eq!(vectors.len(), 1000);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn embed_many(
        &self,
        request: EmbeddingRequest,
        batching: Batching,
    ) -> Result<EmbeddingResponse, Error> {
        let mut batches = EmbeddingBatches::new(request, batching.batch_size())?;
        let total = batches.total_inputs();
        let mut waiting = batches.requests().to_vec().into_iter().enumerate();
        // Dropped on an early return: the tasks still running are aborted.
        let mut running = tokio::task::JoinSet::new();
        let mut done = 0;
        loop {
            while running.len() < batching.concurrency() {
                let Some((batch, request)) = waiting.next() else {
                    break;
                };
                let client = self.clone();
                running.spawn(async move { (batch, client.embeddings(request).await) });
            }
            let Some(finished) = running.join_next().await else {
                return batches.finish();
            };
            let (batch, response) = finished.map_err(|error| {
                Error::new(
                    ErrorKind::Cancelled,
                    format!("an embeddings batch task ended: {error}"),
                )
            })?;
            batches.answer(batch, response?)?;
            done += batches.inputs_in(batch);
            batching.report_progress(done, total);
        }
    }

    /// Sends a request to OpenAI's Responses API and returns the whole response: natively
    /// on providers that serve the API, as a chat call translated both ways on the others
    /// (see `onellm_blocking::Client::responses`). The request's `stream` flag is ignored
    /// (see [`responses_stream`](Self::responses_stream)). Dropping the future cancels the
    /// call.
    ///
    /// ```no_run
    /// # async fn run(client: onellm_tokio::Client) -> Result<(), onellm_tokio::Error> {
    /// use onellm_tokio::ResponsesRequest;
    ///
    /// let response = client.responses(ResponsesRequest::new("openai/gpt-4o-mini", "Hi")).await?;
    /// println!("{}", response.output_text());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn responses(&self, request: ResponsesRequest) -> Result<Response, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.responses(request, now, wall_clock);
        AsyncCall::new(self.clone(), call).run().await
    }

    /// Sends a request to the Responses API with `stream: true` and streams its events;
    /// afterwards [`ResponseStream::response`] holds the response they built. Retry and
    /// fallback happen until the first event with content; dropping the stream cancels the
    /// call.
    pub fn responses_stream(&self, request: ResponsesRequest) -> ResponseStream {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.responses_stream(request, now, wall_clock);
        ResponseStream::new(AsyncCall::new(self.clone(), call))
    }

    /// Sends a legacy (prompt-in, text-out) completions request.
    pub async fn completions(
        &self,
        request: CompletionRequest,
    ) -> Result<CompletionResponse, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.completions(request, now, wall_clock);
        AsyncCall::new(self.clone(), call).run().await
    }
}

/// How [`ClientBuilder`](crate::ClientBuilder) makes an async client: around a hyper-util client (the user's, or
/// a new one with rustls, the connect timeout and the proxy).
impl Transport for Client {
    type HttpClient = HyperClient;
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

    fn build(engine: Engine, http: HttpSetup<HyperClient>) -> Result<Client, Error> {
        let (http, proxies) = match http {
            HttpSetup::Given(http) => (http, ProxyRules::default()),
            HttpSetup::New {
                connect_timeout,
                proxies,
                root_certificates,
            } => (
                connector::build(connect_timeout, proxies.clone(), &root_certificates)?,
                proxies,
            ),
        };
        #[cfg(feature = "redis")]
        let store = engine
            .store()
            .map(onellm_redis::TokioStore::open)
            .transpose()?;
        #[cfg(not(feature = "redis"))]
        if engine.store().is_some() {
            return Err(onellm_core::store::needs_redis_feature("onellm-tokio"));
        }
        #[cfg(feature = "llama")]
        let local = Arc::new(crate::local::LocalModels::from_lookup(|name| {
            std::env::var(name).ok()
        })?);
        Ok(Client {
            #[cfg(feature = "llama")]
            local,
            engine,
            inner: Arc::new(Inner {
                http,
                proxies,
                #[cfg(feature = "redis")]
                store,
            }),
        })
    }
}

impl Client {
    /// Sends `request` on the wire through hyper.
    fn send_wire(&self, request: http::Request<Bytes>, outgoing: &Outgoing) -> HyperExchange {
        let mut request = request.map(Full::new);
        request
            .headers_mut()
            .entry(http::header::USER_AGENT)
            .or_insert(HeaderValue::from_static(USER_AGENT));
        // A plain-http request through a proxy with credentials carries them.
        if !self.inner.proxies.is_empty() {
            if let Some(auth) = crate::proxied::forward_auth(&self.inner.proxies, request.uri()) {
                request
                    .headers_mut()
                    .insert(http::header::PROXY_AUTHORIZATION, auth);
            }
        }
        // Replies come compressed when the server can; the exchange decodes them.
        request
            .headers_mut()
            .entry(http::header::ACCEPT_ENCODING)
            .or_insert(HeaderValue::from_static("gzip"));
        HyperExchange::new(self.inner.http.send(request), outgoing.stream)
    }
}

/// The I/O the core's drive loop asks for, on tokio.
impl AsyncDriver for Client {
    #[cfg(not(feature = "llama"))]
    type Exchange = HyperExchange;
    #[cfg(feature = "llama")]
    type Exchange = crate::local::Exchange;

    fn now(&self) -> Instant {
        Instant::now()
    }

    async fn sleep_until(&self, until: Instant) {
        tokio::time::sleep_until(until.into()).await;
    }

    fn send(&self, request: http::Request<Bytes>, outgoing: &Outgoing) -> Self::Exchange {
        #[cfg(feature = "llama")]
        return crate::local::send(&self.local, request, |request| {
            self.send_wire(request, outgoing)
        });
        #[cfg(not(feature = "llama"))]
        self.send_wire(request, outgoing)
    }

    #[cfg(feature = "redis")]
    async fn store(&self, op: StoreOp) -> Result<StoreReply, Error> {
        match &self.inner.store {
            Some(store) => store.run(op).await,
            None => Err(Error::configuration("this client has no shared store")),
        }
    }

    /// On the runtime the call was dropped in; outside of one (a call dropped after its
    /// runtime ended) the slot lapses with its key's expiry.
    #[cfg(feature = "redis")]
    fn store_detached(&self, ops: Vec<StoreOp>) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let client = self.clone();
            runtime.spawn(async move {
                for op in ops {
                    let _ = client.store(op).await;
                }
            });
        }
    }
}

/// Images, audio and moderation: each a call like [`Client::embeddings`], with the same
/// retries, fallbacks, deadlines, reports, events and budgets.
impl Client {
    /// Generates images (`/images/generations`).
    ///
    /// ```no_run
    /// # async fn run(client: onellm_tokio::Client) -> Result<(), onellm_tokio::Error> {
    /// use onellm_tokio::ImageRequest;
    ///
    /// let images = client.images_generate(ImageRequest::new("openai/gpt-image-1", "a red kite")).await?;
    /// let base64_png = images.data[0].b64_json.as_deref();
    /// # Ok(())
    /// # }
    /// ```
    pub async fn images_generate(
        &self,
        request: onellm_core::ImageRequest,
    ) -> Result<onellm_core::ImagesResponse, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.images_generate(request, now, wall_clock);
        AsyncCall::new(self.clone(), call).run().await
    }

    /// Transcribes audio (`/audio/transcriptions`); the caller reads the file.
    ///
    /// ```no_run
    /// # async fn run(client: onellm_tokio::Client) -> Result<(), onellm_tokio::Error> {
    /// use onellm_tokio::TranscriptionRequest;
    ///
    /// let audio = std::fs::read("talk.wav").expect("the file");
    /// let text = client.transcribe(TranscriptionRequest::new("openai/whisper-1", audio, "talk.wav")).await?.text;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn transcribe(
        &self,
        request: onellm_core::TranscriptionRequest,
    ) -> Result<onellm_core::Transcription, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.transcribe(request, now, wall_clock);
        AsyncCall::new(self.clone(), call).run().await
    }

    /// Translates speech into English text (`/audio/translations`).
    pub async fn translate(
        &self,
        request: onellm_core::TranslationRequest,
    ) -> Result<onellm_core::Transcription, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.translate(request, now, wall_clock);
        AsyncCall::new(self.clone(), call).run().await
    }

    /// Synthesizes speech (`/audio/speech`); the whole audio file comes back in memory.
    pub async fn speech(
        &self,
        request: onellm_core::SpeechRequest,
    ) -> Result<onellm_core::SpeechAudio, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.speech(request, now, wall_clock);
        AsyncCall::new(self.clone(), call).run().await
    }

    /// Classifies text and images (`/moderations`).
    pub async fn moderations(
        &self,
        request: onellm_core::ModerationRequest,
    ) -> Result<onellm_core::ModerationResponse, Error> {
        let (now, wall_clock) = (Instant::now(), SystemTime::now());
        let call = self.engine.moderations(request, now, wall_clock);
        AsyncCall::new(self.clone(), call).run().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_and_stream_can_be_shared_and_moved() {
        fn send_sync_clone<T: Send + Sync + Clone>() {}
        fn send_unpin<T: Send + Unpin>() {}
        send_sync_clone::<Client>();
        send_unpin::<ChatStream>();
    }
}
