//! What the end-to-end tests that run on both transports share: one [`Driver`] trait that
//! makes a client of either transport and calls it from a plain test thread, the
//! [`build!`](crate::build) macro that configures both builders with the same setters, and
//! [`on_both_transports!`](crate::on_both_transports), which turns a generic scenario into one
//! test per transport.
//!
//! A test file includes it with `mod support;` and uses what it needs, so some items are
//! unused in each file.
#![allow(dead_code, unused_macros)]

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use onellm_core::client::Overrides;
use onellm_core::tokens::TokenCount;
use onellm_core::{
    ChatCompletion, ChatCompletionChunk, ChatRequest, CompletionRequest, CompletionResponse,
    EmbeddingRequest, EmbeddingResponse, Error, ImageRequest, ImagesResponse, ModerationRequest,
    ModerationResponse, Response, ResponseStreamEvent, ResponsesRequest, SpeechAudio,
    SpeechRequest, Transcription, TranscriptionRequest, TranslationRequest,
};

/// A streamed call read to its end.
#[derive(Debug)]
pub struct Streamed {
    /// Every chunk, in order.
    pub chunks: Vec<ChatCompletionChunk>,
    /// What the stream folded them into (its summary, read `without_completion`).
    pub completion: ChatCompletion,
}

impl Streamed {
    /// The chunks' text, joined.
    pub fn text(&self) -> String {
        self.chunks
            .iter()
            .filter_map(ChatCompletionChunk::text)
            .collect()
    }
}

/// One client of one transport, called from the test's thread.
pub trait Driver: Sized {
    /// Builds a client: `blocking` or `tokio` configures the builder of this driver's
    /// transport (use [`build!`](crate::build) to write the setters once).
    fn build(
        blocking: impl FnOnce(onellm_blocking::ClientBuilder) -> onellm_blocking::ClientBuilder,
        tokio: impl FnOnce(onellm_tokio::ClientBuilder) -> onellm_tokio::ClientBuilder,
    ) -> Result<Self, Error>;
    /// A view of the same client with per-call overrides.
    fn with_overrides(&self, overrides: Overrides) -> Self;
    fn chat(&self, request: ChatRequest) -> Result<ChatCompletion, Error>;
    /// Every item of the stream (at most 10,000), and the accumulated completion if it
    /// ended well.
    fn stream_items(
        &self,
        request: ChatRequest,
    ) -> (
        Vec<Result<ChatCompletionChunk, Error>>,
        Option<ChatCompletion>,
    );
    /// Streams `request` to its end; the first error ends it.
    fn stream(&self, request: ChatRequest) -> Result<Streamed, Error> {
        let (items, completion) = self.stream_items(request);
        let chunks = items.into_iter().collect::<Result<Vec<_>, Error>>()?;
        Ok(Streamed {
            chunks,
            completion: completion.expect("a stream that ended well has its completion"),
        })
    }
    /// Takes `take` items of a stream, then drops it.
    fn stream_prefix(
        &self,
        request: ChatRequest,
        take: usize,
    ) -> Vec<Result<ChatCompletionChunk, Error>>;
    /// The same, read `without_completion` (the completion is its summary).
    fn stream_summary(&self, request: ChatRequest) -> Result<Streamed, Error>;
    /// Streams `request`, takes its first chunk, and drops the stream.
    fn first_chunk_then_drop(&self, request: ChatRequest) -> Result<ChatCompletionChunk, Error>;
    fn embeddings(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse, Error>;
    fn responses(&self, request: ResponsesRequest) -> Result<Response, Error>;
    /// Every event of a Responses stream (at most 10,000), and the response they built if
    /// it ended well.
    fn responses_stream(
        &self,
        request: ResponsesRequest,
    ) -> (Vec<Result<ResponseStreamEvent, Error>>, Option<Response>);
    fn completions(&self, request: CompletionRequest) -> Result<CompletionResponse, Error>;
    fn images(&self, request: ImageRequest) -> Result<ImagesResponse, Error>;
    fn transcribe(&self, request: TranscriptionRequest) -> Result<Transcription, Error>;
    fn translate(&self, request: TranslationRequest) -> Result<Transcription, Error>;
    fn speech(&self, request: SpeechRequest) -> Result<SpeechAudio, Error>;
    fn moderations(&self, request: ModerationRequest) -> Result<ModerationResponse, Error>;
    /// What the client's budget has spent (0 without a budget).
    fn spent(&self) -> f64;
    fn count_tokens(&self, request: &ChatRequest) -> TokenCount;
    /// The client's `Debug`.
    fn debug(&self) -> String;
    /// Lets work the client spawned run (tokio: what a dropped call left to its runtime).
    fn settle(&self) {}
}

/// Builds a `$driver` with the same setters on either transport's builder:
/// `build!(D, |builder| builder.api_key("openai", KEY))`.
#[macro_export]
macro_rules! build {
    ($driver:ty, |$builder:ident| $body:expr) => {
        <$driver as $crate::support::Driver>::build(|$builder| $body, |$builder| $body)
    };
}

/// `on_both_transports!(scenario, …)`: for each generic `fn scenario<D: Driver>()`, a test
/// `on_blocking::scenario` and a test `on_tokio::scenario`.
#[macro_export]
macro_rules! on_both_transports {
    ($($scenario:ident),+ $(,)?) => {
        mod on_blocking {
            $(#[test] fn $scenario() { super::$scenario::<$crate::support::Blocking>(); })+
        }
        mod on_tokio {
            $(#[test] fn $scenario() { super::$scenario::<$crate::support::Async>(); })+
        }
    };
}

/// An `onellm-blocking` client.
pub struct Blocking(pub onellm_blocking::Client);

impl Driver for Blocking {
    fn build(
        blocking: impl FnOnce(onellm_blocking::ClientBuilder) -> onellm_blocking::ClientBuilder,
        _: impl FnOnce(onellm_tokio::ClientBuilder) -> onellm_tokio::ClientBuilder,
    ) -> Result<Self, Error> {
        blocking(onellm_blocking::Client::builder())
            .build()
            .map(Blocking)
    }
    fn with_overrides(&self, overrides: Overrides) -> Self {
        Blocking(self.0.with_overrides(overrides))
    }
    fn chat(&self, request: ChatRequest) -> Result<ChatCompletion, Error> {
        self.0.chat(request)
    }
    fn stream_items(
        &self,
        request: ChatRequest,
    ) -> (
        Vec<Result<ChatCompletionChunk, Error>>,
        Option<ChatCompletion>,
    ) {
        let mut stream = self.0.chat_stream(request);
        let items: Vec<_> = stream.by_ref().take(10_000).collect();
        (items, stream.completion().cloned())
    }
    fn stream_prefix(
        &self,
        request: ChatRequest,
        take: usize,
    ) -> Vec<Result<ChatCompletionChunk, Error>> {
        self.0.chat_stream(request).take(take).collect()
    }
    fn stream_summary(&self, request: ChatRequest) -> Result<Streamed, Error> {
        read_blocking(self.0.chat_stream(request).without_completion())
    }
    fn first_chunk_then_drop(&self, request: ChatRequest) -> Result<ChatCompletionChunk, Error> {
        let mut stream = self.0.chat_stream(request);
        stream
            .next()
            .unwrap_or_else(|| panic!("the stream ended before its first chunk"))
    }
    fn embeddings(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse, Error> {
        self.0.embeddings(request)
    }
    fn responses(&self, request: ResponsesRequest) -> Result<Response, Error> {
        self.0.responses(request)
    }
    fn responses_stream(
        &self,
        request: ResponsesRequest,
    ) -> (Vec<Result<ResponseStreamEvent, Error>>, Option<Response>) {
        let mut stream = self.0.responses_stream(request);
        let items: Vec<_> = stream.by_ref().take(10_000).collect();
        (items, stream.response().cloned())
    }
    fn completions(&self, request: CompletionRequest) -> Result<CompletionResponse, Error> {
        self.0.completions(request)
    }
    fn images(&self, request: ImageRequest) -> Result<ImagesResponse, Error> {
        self.0.images_generate(request)
    }
    fn transcribe(&self, request: TranscriptionRequest) -> Result<Transcription, Error> {
        self.0.transcribe(request)
    }
    fn translate(&self, request: TranslationRequest) -> Result<Transcription, Error> {
        self.0.translate(request)
    }
    fn speech(&self, request: SpeechRequest) -> Result<SpeechAudio, Error> {
        self.0.speech(request)
    }
    fn moderations(&self, request: ModerationRequest) -> Result<ModerationResponse, Error> {
        self.0.moderations(request)
    }
    fn debug(&self) -> String {
        format!("{:?}", self.0)
    }
    fn spent(&self) -> f64 {
        self.0.budget().map_or(0.0, |status| status.spent)
    }
    fn count_tokens(&self, request: &ChatRequest) -> TokenCount {
        self.0.count_tokens(request)
    }
}

fn read_blocking(mut stream: onellm_blocking::ChatStream) -> Result<Streamed, Error> {
    let mut chunks = Vec::new();
    for chunk in stream.by_ref() {
        chunks.push(chunk?);
    }
    let completion = stream.completion().cloned();
    Ok(Streamed {
        chunks,
        completion: completion.expect("a stream that ended well has its completion"),
    })
}

/// An `onellm-tokio` client with its own current-thread runtime. (With worker threads,
/// hyper's pool may not have the previous connection back yet when the next sequential call
/// checks one out, which would make connection counts racy.)
pub struct Async {
    pub client: onellm_tokio::Client,
    pub runtime: std::sync::Arc<tokio::runtime::Runtime>,
}

impl Driver for Async {
    fn build(
        _: impl FnOnce(onellm_blocking::ClientBuilder) -> onellm_blocking::ClientBuilder,
        tokio: impl FnOnce(onellm_tokio::ClientBuilder) -> onellm_tokio::ClientBuilder,
    ) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let builder = tokio(onellm_tokio::Client::builder());
        // Built inside the runtime: the client may spawn (its Redis store, say).
        let client = runtime.block_on(async { builder.build() })?;
        Ok(Async {
            client,
            runtime: std::sync::Arc::new(runtime),
        })
    }
    fn with_overrides(&self, overrides: Overrides) -> Self {
        Async {
            client: self.client.with_overrides(overrides),
            runtime: std::sync::Arc::clone(&self.runtime),
        }
    }
    fn chat(&self, request: ChatRequest) -> Result<ChatCompletion, Error> {
        self.runtime.block_on(self.client.chat(request))
    }
    fn stream_items(
        &self,
        request: ChatRequest,
    ) -> (
        Vec<Result<ChatCompletionChunk, Error>>,
        Option<ChatCompletion>,
    ) {
        self.runtime.block_on(async {
            let mut stream = self.client.chat_stream(request);
            let mut items = Vec::new();
            while let Some(item) = next_item(&mut stream).await {
                items.push(item);
                assert!(items.len() < 10_000, "runaway stream");
            }
            (items, stream.completion().cloned())
        })
    }
    fn stream_prefix(
        &self,
        request: ChatRequest,
        take: usize,
    ) -> Vec<Result<ChatCompletionChunk, Error>> {
        self.runtime.block_on(async {
            let mut stream = self.client.chat_stream(request);
            let mut items = Vec::new();
            while items.len() < take {
                match next_item(&mut stream).await {
                    Some(item) => items.push(item),
                    None => break,
                }
            }
            drop(stream);
            // Keep the runtime turning briefly, as an application's would, so hyper's
            // connection task sees the dropped body and closes the connection.
            tokio::time::sleep(Duration::from_millis(100)).await;
            items
        })
    }
    fn stream_summary(&self, request: ChatRequest) -> Result<Streamed, Error> {
        self.runtime.block_on(read_async(
            self.client.chat_stream(request).without_completion(),
        ))
    }
    fn first_chunk_then_drop(&self, request: ChatRequest) -> Result<ChatCompletionChunk, Error> {
        self.runtime.block_on(async {
            let mut stream = self.client.chat_stream(request);
            next_item(&mut stream)
                .await
                .unwrap_or_else(|| panic!("the stream ended before its first chunk"))
        })
    }
    fn embeddings(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse, Error> {
        self.runtime.block_on(self.client.embeddings(request))
    }
    fn responses(&self, request: ResponsesRequest) -> Result<Response, Error> {
        self.runtime.block_on(self.client.responses(request))
    }
    fn responses_stream(
        &self,
        request: ResponsesRequest,
    ) -> (Vec<Result<ResponseStreamEvent, Error>>, Option<Response>) {
        self.runtime.block_on(async {
            let mut stream = self.client.responses_stream(request);
            let mut items = Vec::new();
            while let Some(item) = next_item(&mut stream).await {
                items.push(item);
                assert!(items.len() < 10_000, "runaway stream");
            }
            (items, stream.response().cloned())
        })
    }
    fn completions(&self, request: CompletionRequest) -> Result<CompletionResponse, Error> {
        self.runtime.block_on(self.client.completions(request))
    }
    fn images(&self, request: ImageRequest) -> Result<ImagesResponse, Error> {
        self.runtime.block_on(self.client.images_generate(request))
    }
    fn transcribe(&self, request: TranscriptionRequest) -> Result<Transcription, Error> {
        self.runtime.block_on(self.client.transcribe(request))
    }
    fn translate(&self, request: TranslationRequest) -> Result<Transcription, Error> {
        self.runtime.block_on(self.client.translate(request))
    }
    fn speech(&self, request: SpeechRequest) -> Result<SpeechAudio, Error> {
        self.runtime.block_on(self.client.speech(request))
    }
    fn moderations(&self, request: ModerationRequest) -> Result<ModerationResponse, Error> {
        self.runtime.block_on(self.client.moderations(request))
    }
    fn debug(&self) -> String {
        format!("{:?}", self.client)
    }
    fn spent(&self) -> f64 {
        self.client.budget().map_or(0.0, |status| status.spent)
    }
    fn count_tokens(&self, request: &ChatRequest) -> TokenCount {
        self.client.count_tokens(request)
    }
    fn settle(&self) {
        // The timer is made inside the runtime: it needs the runtime's clock.
        self.runtime.block_on(async {
            tokio::time::sleep(Duration::from_millis(200)).await;
        });
    }
}

/// The next item of an async stream.
pub async fn next_item<S>(stream: &mut S) -> Option<S::Item>
where
    S: futures_core::Stream + Unpin,
{
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

async fn read_async(mut stream: onellm_tokio::ChatStream) -> Result<Streamed, Error> {
    let mut chunks = Vec::new();
    while let Some(chunk) = next_item(&mut stream).await {
        chunks.push(chunk?);
    }
    let completion = stream.completion().cloned();
    Ok(Streamed {
        chunks,
        completion: completion.expect("a stream that ended well has its completion"),
    })
}
