//! [`Client`] and its [`ClientBuilder`].

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use onellm_core::call::{Call, CallOptions, Operation, Output};
use onellm_core::{
    ChatCompletion, ChatRequest, CompletionRequest, CompletionResponse, EmbeddingRequest,
    EmbeddingResponse, Error, ErrorKind, Registry,
};

use crate::builder::ClientBuilder;
use crate::connector::HttpSend;
use crate::drive::{Driver, Step};
use crate::stream::ChatStream;

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
    /// Seeds the backoff jitter; `None` derives one per call from the clock.
    seed: Option<u64>,
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
    pub(crate) fn new(
        registry: Registry,
        options: CallOptions,
        http: Arc<dyn HttpSend>,
        seed: Option<u64>,
    ) -> Self {
        Client {
            inner: Arc::new(Inner {
                registry,
                options,
                http,
                seed,
                calls: AtomicU64::new(0),
            }),
        }
    }

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
        let mut options = inner.options.clone();
        options.wall_clock = Some(SystemTime::now());
        let call = Call::new(
            &inner.registry,
            operation,
            options,
            self.next_seed(),
            Instant::now(),
        );
        Driver::new(call, inner.http.clone())
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

    #[test]
    fn seeds_differ_per_call_and_repeat_per_client_seed() {
        let client = Client::builder().seed(7).build().unwrap();
        let (a, b) = (client.next_seed(), client.next_seed());
        assert_ne!(a, b);
        let again = Client::builder().seed(7).build().unwrap();
        assert_eq!(again.next_seed(), a);
    }
}
