//! Gzip-encoded replies on both transports: the request advertises gzip, and a compressed
//! whole reply or stream (compressed as it goes, flushed per event) is decoded — the stream
//! chunk by chunk, not at its end.

use onellm_core::{ChatRequest, Error};
use onellm_testkit::{FakeProvider, Reply};

trait Driver {
    fn new(server: &FakeProvider) -> Self;
    fn chat(&self, request: ChatRequest) -> Result<String, Error>;
    /// The streamed text and how many chunks carried it.
    fn stream(&self, request: ChatRequest) -> Result<(String, usize), Error>;
}

struct Blocking(onellm_blocking::Client);

impl Driver for Blocking {
    fn new(server: &FakeProvider) -> Self {
        Blocking(
            onellm_blocking::Client::builder()
                .api_key("openai", "sk-gzip")
                .base_url("openai", server.openai_base_url())
                .retries(0)
                .build()
                .unwrap(),
        )
    }
    fn chat(&self, request: ChatRequest) -> Result<String, Error> {
        Ok(self.0.chat(request)?.text().to_owned())
    }
    fn stream(&self, request: ChatRequest) -> Result<(String, usize), Error> {
        let (mut text, mut chunks) = (String::new(), 0);
        for chunk in self.0.chat_stream(request) {
            let chunk = chunk?;
            if let Some(piece) = chunk.text() {
                text.push_str(piece);
                chunks += 1;
            }
        }
        Ok((text, chunks))
    }
}

struct Async {
    client: onellm_tokio::Client,
    runtime: tokio::runtime::Runtime,
}

impl Driver for Async {
    fn new(server: &FakeProvider) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let builder = onellm_tokio::Client::builder()
            .api_key("openai", "sk-gzip")
            .base_url("openai", server.openai_base_url())
            .retries(0);
        let client = runtime.block_on(async { builder.build() }).unwrap();
        Async { client, runtime }
    }
    fn chat(&self, request: ChatRequest) -> Result<String, Error> {
        Ok(self
            .runtime
            .block_on(self.client.chat(request))?
            .text()
            .to_owned())
    }
    fn stream(&self, request: ChatRequest) -> Result<(String, usize), Error> {
        self.runtime.block_on(async {
            let mut stream = self.client.chat_stream(request);
            let (mut text, mut chunks) = (String::new(), 0);
            while let Some(chunk) = std::future::poll_fn(|cx| {
                futures_core::Stream::poll_next(std::pin::Pin::new(&mut stream), cx)
            })
            .await
            {
                if let Some(piece) = chunk?.text() {
                    text.push_str(piece);
                    chunks += 1;
                }
            }
            Ok((text, chunks))
        })
    }
}

fn gzip_replies_are_decoded<D: Driver>() {
    let server = FakeProvider::start();
    let long = "compressed words ".repeat(200);
    server.push(Reply::text(long.clone()).gzip());
    server.push(Reply::text("one two three four five six").gzip());
    let client = D::new(&server);
    let request = || ChatRequest::new("openai/gpt-4o-mini").user("Hi");
    assert_eq!(client.chat(request()).unwrap(), long);
    let (text, chunks) = client.stream(request()).unwrap();
    assert_eq!(text, "one two three four five six");
    assert!(
        chunks > 1,
        "the stream was decoded as it came: {chunks} chunks"
    );
    for sent in server.requests() {
        let accepted = sent
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("accept-encoding"))
            .map(|(_, value)| value.as_str());
        assert!(
            accepted.is_some_and(|value| value.contains("gzip")),
            "{accepted:?}"
        );
    }
    // A cut gzip body is a clear error, not a hang or an empty answer.
    server.push(
        Reply::text(long)
            .gzip()
            .with_fault(onellm_testkit::Fault::Truncated),
    );
    let error = client.chat(request()).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            onellm_core::ErrorKind::Decode
                | onellm_core::ErrorKind::Truncated
                | onellm_core::ErrorKind::Connection
        ),
        "{error}"
    );
}

macro_rules! on_both_transports {
    ($($scenario:ident),+ $(,)?) => {
        mod on_blocking {
            $(#[test] fn $scenario() { super::$scenario::<super::Blocking>(); })+
        }
        mod on_tokio {
            $(#[test] fn $scenario() { super::$scenario::<super::Async>(); })+
        }
    };
}

on_both_transports!(gzip_replies_are_decoded);
