//! The [`Client`]: a registry of providers, call defaults and one pooled ureq agent.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use onellm_core::call::{Call, CallOptions, Operation, Output};
use onellm_core::{
    ChatCompletion, ChatRequest, CompletionRequest, CompletionResponse, EmbeddingRequest,
    EmbeddingResponse, Error, ErrorKind, Registry,
};

use crate::builder::ClientBuilder;
use crate::driver::{Driver, Event};
use crate::stream::ChatStream;

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
    inner: Arc<Inner>,
}

/// What every clone of a client shares.
pub(crate) struct Inner {
    /// One agent per client: its pool is what makes connections reused across calls.
    pub(crate) agent: ureq::Agent,
    pub(crate) registry: Registry,
    /// Defaults for each call; a request's own `retries` and `fallback_models` win.
    pub(crate) options: CallOptions,
    pub(crate) connect_timeout: Option<Duration>,
    /// Seeds the backoff jitter; `None` derives one per call from the clock.
    pub(crate) seed: Option<u64>,
    pub(crate) calls: AtomicU64,
    /// Reads the ends of finished streams' bodies so their connections are reused.
    pub(crate) drainer: crate::drain::Drainer,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The registry's Debug redacts keys; the agent has nothing secret.
        f.debug_struct("Client")
            .field("registry", &self.inner.registry)
            .field("options", &self.inner.options)
            .field("connect_timeout", &self.inner.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn from_inner(inner: Inner) -> Self {
        Client {
            inner: Arc::new(inner),
        }
    }

    /// A client configured from the environment only (`OPENAI_API_KEY`,
    /// `ANTHROPIC_BASE_URL`, `ONELLM_TIMEOUT`, …; see [`Registry`]).
    ///
    /// Equivalent to `Client::builder().from_env().build()`.
    pub fn from_env() -> Result<Client, Error> {
        Client::builder().from_env().build()
    }

    /// A builder for a client with explicit settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// The provider registry this client resolves model ids with.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

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
    pub fn chat(&self, mut request: ChatRequest) -> Result<ChatCompletion, Error> {
        request.stream = None;
        match self.run(Operation::Chat(request))? {
            Output::Chat(completion) => Ok(completion),
            _ => Err(unexpected_output("chat")),
        }
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
    pub fn chat_stream(&self, mut request: ChatRequest) -> ChatStream {
        request.stream = Some(true);
        ChatStream::new(self.driver(Operation::Chat(request)))
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
        match self.run(Operation::Embeddings(request))? {
            Output::Embeddings(response) => Ok(response),
            _ => Err(unexpected_output("embeddings")),
        }
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
        match self.run(Operation::Completions(request))? {
            Output::Completions(response) => Ok(response),
            _ => Err(unexpected_output("completions")),
        }
    }

    /// Runs a non-streaming operation to its end.
    fn run(&self, operation: Operation) -> Result<Output, Error> {
        let mut driver = self.driver(operation);
        loop {
            match driver.next_event() {
                // A whole response produces no chunks; nothing to hand out if one came.
                Event::Chunk(_) => continue,
                Event::Done(output) => return Ok(output),
                Event::Failed(error) => return Err(error),
            }
        }
    }

    fn driver(&self, operation: Operation) -> Driver {
        let inner = &self.inner;
        let mut options = inner.options.clone();
        options.wall_clock = Some(SystemTime::now());
        let call = Call::new(
            &inner.registry,
            operation,
            options,
            self.next_seed(),
            Instant::now(),
        );
        Driver::new(Arc::clone(&self.inner), call)
    }

    /// The jitter seed for the next call: from the builder's seed if one was given
    /// (reproducible), else from the clock; mixed with a per-client counter either way so
    /// concurrent calls do not back off in lockstep.
    fn next_seed(&self) -> u64 {
        let count = self.inner.calls.fetch_add(1, Ordering::Relaxed);
        let base = self.inner.seed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
        splitmix64(base ^ splitmix64(count))
    }
}

/// SplitMix64: spreads nearby inputs (consecutive counters, close timestamps) over all bits.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn unexpected_output(what: &str) -> Error {
    Error::new(
        ErrorKind::Decode,
        format!("the call returned something other than a {what} response"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync_and_seeds_differ() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Client>();
        let client = Client::builder().seed(7).build().unwrap();
        let (a, b) = (client.next_seed(), client.next_seed());
        assert_ne!(a, b);
        let again = Client::builder().seed(7).build().unwrap();
        assert_eq!(again.next_seed(), a);
    }
}
