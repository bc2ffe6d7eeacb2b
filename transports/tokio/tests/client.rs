//! The async client against the fake provider on loopback: every call kind, retries,
//! fallback, deadlines, cancellation, pooling, body cap, redirects, proxy, key hygiene.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_core::Stream;
use onellm_testkit::{FakeProvider, Fault, Reply};
use onellm_tokio::{
    ChatCompletionChunk, ChatRequest, ChatStream, Client, ClientBuilder, CompletionRequest,
    EmbeddingRequest, Error, ErrorKind,
};

fn builder(server: &FakeProvider) -> ClientBuilder {
    Client::builder()
        .api_key("openai", "sk-test")
        .base_url("openai", server.openai_base_url())
        .seed(7)
}

fn client(server: &FakeProvider) -> Client {
    builder(server).build().unwrap()
}

async fn next(stream: &mut ChatStream) -> Option<Result<ChatCompletionChunk, Error>> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

async fn collect(stream: &mut ChatStream) -> Vec<Result<ChatCompletionChunk, Error>> {
    let mut items = Vec::new();
    while let Some(item) = next(stream).await {
        items.push(item);
    }
    items
}

/// Waits for the server to see every connection closed, without blocking the runtime.
async fn idle(server: &FakeProvider, limit: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if server.open_connections() == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn plain_chat() {
    let server = FakeProvider::start();
    server.push(Reply::text("Hello from the fake").usage(12, 4));
    let completion = client(&server)
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .await
        .unwrap();
    assert_eq!(completion.text(), "Hello from the fake");
    assert_eq!(completion.usage.as_ref().unwrap().prompt_tokens, 12);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert!(requests[0].had_key);
    assert_eq!(requests[0].json()["model"], "gpt-4o-mini");
    assert!(requests[0].json().get("stream").is_none());
    let agent = requests[0].header("user-agent").unwrap_or_default();
    assert!(agent.starts_with("onellm-tokio/"), "{agent}");
}

#[tokio::test]
async fn streaming_with_tool_call_deltas() {
    let server = FakeProvider::start();
    server.push(Reply::tool_call(
        "get_weather",
        r#"{"city":"Paris","unit":"c"}"#,
    ));
    let client = client(&server);
    let mut stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("Weather?"));
    let items = collect(&mut stream).await;
    let chunks: Vec<ChatCompletionChunk> = items.into_iter().map(Result::unwrap).collect();
    let deltas: Vec<_> = chunks
        .iter()
        .flat_map(|c| &c.choices)
        .filter_map(|choice| choice.delta.tool_calls.as_ref())
        .collect();
    assert!(deltas.len() >= 2, "arguments arrive in pieces: {deltas:?}");
    let completion = stream.completion().expect("completion after the end");
    let calls = completion.message().unwrap().tool_calls.as_ref().unwrap();
    assert_eq!(calls[0].function.name, "get_weather");
    assert_eq!(
        calls[0].function.arguments,
        r#"{"city":"Paris","unit":"c"}"#
    );
    assert_eq!(server.requests()[0].json()["stream"], true);
    // The stream is fused.
    assert!(next(&mut stream).await.is_none());
}

#[tokio::test]
async fn streamed_text_matches_the_whole_reply() {
    let server = FakeProvider::start();
    let text = "The quick brown fox jumps over the lazy dog, again and again.";
    server.push(Reply::text(text));
    server.push(Reply::text(text));
    let client = client(&server);
    let whole = client
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("fox"))
        .await
        .unwrap();
    let mut stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("fox"));
    let pieces: String = collect(&mut stream)
        .await
        .into_iter()
        .map(|chunk| chunk.unwrap().text().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(pieces, text);
    assert_eq!(stream.completion().unwrap().text(), whole.text());
    assert_eq!(stream.completion().unwrap().usage, whole.usage);

    server.push(Reply::text(text));
    let folded = client
        .chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("fox"))
        .into_completion()
        .await
        .unwrap();
    assert_eq!(folded.text(), text);
}

#[tokio::test]
async fn embeddings_and_completions() {
    let server = FakeProvider::start();
    let client = client(&server);
    let embeddings = client
        .embeddings(EmbeddingRequest::new(
            "openai/text-embedding-3-small",
            ["one", "two"],
        ))
        .await
        .unwrap();
    assert_eq!(embeddings.data.len(), 2);
    server.push(Reply::text("once upon a time"));
    let completion = client
        .completions(CompletionRequest::new(
            "openai/gpt-3.5-turbo-instruct",
            "Tell",
        ))
        .await
        .unwrap();
    assert_eq!(completion.choices[0].text, "once upon a time");
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/embeddings", "/v1/completions"]);
}

#[tokio::test]
async fn retry_after_429_is_honoured() {
    let server = FakeProvider::start();
    server.push(
        Reply::status(429)
            .header("retry-after", "1")
            .body(r#"{"error":{"message":"slow down","type":"rate_limit_error"}}"#),
    );
    server.push(Reply::text("finally"));
    let started = Instant::now();
    let completion = client(&server)
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(completion.text(), "finally");
    assert_eq!(server.requests().len(), 2);
    assert!(elapsed >= Duration::from_secs(1), "waited {elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "waited {elapsed:?}");
}

#[tokio::test]
async fn falls_back_to_the_next_model() {
    let server = FakeProvider::start();
    // `fail-NNN` models get HTTP NNN from the fake; 404 is not retried but falls back.
    let client = builder(&server)
        .api_key("groq", "gsk-test")
        .base_url("groq", server.openai_base_url())
        .build()
        .unwrap();
    let request = ChatRequest::new("openai/fail-404")
        .user("Hi")
        .fallback_models(["groq/llama-fake"]);
    let completion = client.chat(request).await.unwrap();
    assert_eq!(completion.text(), "Hi");
    let models: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.json()["model"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(models, ["fail-404", "llama-fake"]);
}

#[tokio::test]
async fn falls_back_from_openai_to_anthropic() {
    let server = FakeProvider::start();
    let client = builder(&server)
        .api_key("anthropic", "sk-ant-test")
        .base_url("anthropic", server.anthropic_base_url())
        .build()
        .unwrap();
    let request = || {
        ChatRequest::new("openai/fail-503")
            .user("Bonjour")
            .fallback_models(["anthropic/claude-fake"])
    };
    // `retries: 0` on the request: straight to the fallback after the 503.
    let mut whole = request();
    whole.retries = Some(0);
    let completion = client.chat(whole).await.unwrap();
    assert_eq!(completion.text(), "Bonjour");
    let mut streamed = request();
    streamed.retries = Some(0);
    let mut stream = client.chat_stream(streamed);
    let text: String = collect(&mut stream)
        .await
        .into_iter()
        .map(|chunk| chunk.unwrap().text().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(text, "Bonjour");
    assert_eq!(stream.completion().unwrap().text(), "Bonjour");
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/v1/chat/completions",
            "/v1/messages",
            "/v1/chat/completions",
            "/v1/messages"
        ]
    );
    let anthropic = &server.requests()[1];
    assert_eq!(anthropic.json()["model"], "claude-fake");
    assert!(anthropic.header("anthropic-version").is_some());
}

#[tokio::test]
async fn all_failed_lists_every_attempt() {
    let server = FakeProvider::start();
    let client = builder(&server).retries(0).build().unwrap();
    let request = ChatRequest::new("openai/fail-503")
        .user("Hi")
        .fallback_models(["openai/fail-401"]);
    let error = client.chat(request).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AllFailed);
    let kinds: Vec<_> = error.attempts().iter().map(|a| a.kind()).collect();
    assert_eq!(
        kinds,
        [
            Some(ErrorKind::ServiceUnavailable),
            Some(ErrorKind::Authentication)
        ]
    );
}

#[tokio::test]
async fn total_deadline_on_a_hanging_server() {
    let server = FakeProvider::start();
    server.push(Reply::fault(Fault::Hang));
    let client = builder(&server)
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    eprintln!("hanging server: {error} after {elapsed:?}");
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn idle_timeout_between_stream_chunks() {
    let server = FakeProvider::start();
    server.push(Reply::text("a b c d e f").slow_body(Duration::from_millis(600)));
    let client = builder(&server)
        .idle_timeout(Duration::from_millis(200))
        .retries(0)
        .build()
        .unwrap();
    let started = Instant::now();
    let mut stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("x"));
    let items = collect(&mut stream).await;
    let error = items.last().unwrap().as_ref().unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Timeout | ErrorKind::StreamInterrupted
        ),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn dropping_a_stream_closes_its_connection() {
    let server = FakeProvider::start();
    let long = "word ".repeat(200);
    server.push(Reply::text(long).slow_body(Duration::from_millis(50)));
    let client = client(&server);
    let mut stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("x"));
    let first = next(&mut stream).await.unwrap().unwrap();
    // The first chunk: content, or the opening role chunk (whose `content: ""` is no text).
    assert!(
        first.has_content() || first.choices.is_empty() || first.choices[0].delta.role.is_some()
    );
    assert_eq!(server.open_connections(), 1);
    drop(stream);
    assert!(
        idle(&server, Duration::from_secs(5)).await,
        "the server still sees the connection open"
    );
}

#[tokio::test]
async fn dropping_a_chat_future_closes_its_connection() {
    let server = FakeProvider::start();
    server.push(Reply::text("late").slow_headers(Duration::from_millis(800)));
    let client = client(&server);
    let call = tokio::spawn(async move {
        client
            .chat(ChatRequest::new("openai/gpt-4o-mini").user("x"))
            .await
    });
    // Drop the future once the request is out, while the reply is held back.
    let started = Instant::now();
    while server.requests().is_empty() && started.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(server.requests().len(), 1);
    call.abort();
    assert!(call.await.unwrap_err().is_cancelled());
    // The server finds out when it writes the late reply or reads the next request.
    assert!(
        idle(&server, Duration::from_secs(5)).await,
        "the server still sees the connection open"
    );
}

#[tokio::test]
async fn sequential_calls_reuse_one_connection() {
    let server = FakeProvider::start();
    let client = client(&server);
    let started = Instant::now();
    for i in 0..200 {
        let completion = client
            .chat(ChatRequest::new("openai/gpt-4o-mini").user(format!("n{i}")))
            .await
            .unwrap();
        assert_eq!(completion.text(), format!("n{i}"));
    }
    let elapsed = started.elapsed();
    eprintln!(
        "200 sequential calls in {elapsed:?} over {} connection(s)",
        server.connections()
    );
    assert!(server.connections() <= 2, "{}", server.connections());
}

#[tokio::test]
async fn sequential_streams_reuse_connections_too() {
    let server = FakeProvider::start();
    let client = client(&server);
    for i in 0..20 {
        let mut stream =
            client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user(format!("s{i}")));
        let items = collect(&mut stream).await;
        assert!(items.iter().all(Result::is_ok));
        assert_eq!(stream.completion().unwrap().text(), format!("s{i}"));
    }
    assert!(server.connections() <= 2, "{}", server.connections());
}

/// A keep-alive HTTP/1.1 server that streams one SSE reply per request and sends the end of
/// the chunked body only `delay` after `[DONE]`, as real providers may. Returns its base URL
/// and the count of connections it accepted.
async fn late_terminator_server(delay: Duration) -> (String, Arc<Mutex<usize>>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let accepted = Arc::new(Mutex::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            *count.lock().unwrap() += 1;
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                loop {
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if socket.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(value) =
                            line.to_ascii_lowercase().strip_prefix("content-length:")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    if socket.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let events = concat!(
                        r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#,
                        "\n\ndata: [DONE]\n\n"
                    );
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                    let chunk = format!("{head}{:x}\r\n{events}\r\n", events.len());
                    let socket = socket.get_mut();
                    if socket.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(delay).await;
                    if socket.write_all(b"0\r\n\r\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, accepted)
}

#[tokio::test]
async fn a_stream_ending_after_its_done_marker_keeps_its_connection() {
    let (url, accepted) = late_terminator_server(Duration::from_millis(500)).await;
    let client = Client::builder()
        .api_key("openai", "sk-test")
        .base_url("openai", url)
        .build()
        .unwrap();
    for _ in 0..2 {
        let started = Instant::now();
        let completion = client
            .chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("x"))
            .into_completion()
            .await
            .unwrap();
        assert_eq!(completion.text(), "hi");
        // The caller does not wait for the end of the body.
        assert!(started.elapsed() < Duration::from_millis(400));
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert_eq!(*accepted.lock().unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_calls_on_one_client() {
    let server = FakeProvider::start();
    let client = client(&server);
    let started = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let request = ChatRequest::new("openai/gpt-4o-mini").user(format!("task {i}"));
                if i % 2 == 0 {
                    client.chat(request).await.map(|c| c.text())
                } else {
                    let mut stream = client.chat_stream(request);
                    while let Some(item) = next(&mut stream).await {
                        item?;
                    }
                    Ok(stream.completion().unwrap().text())
                }
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap().unwrap(), format!("task {i}"));
    }
    eprintln!(
        "64 concurrent calls in {:?} over {} connection(s)",
        started.elapsed(),
        server.connections()
    );
    assert_eq!(server.requests().len(), 64);
    assert!(server.connections() <= 64);
}

#[tokio::test]
async fn oversized_bodies_are_cut_off() {
    let server = FakeProvider::start();
    server.push(Reply::fault(Fault::Oversized(200_000)));
    let client = builder(&server)
        .max_body_bytes(50_000)
        .retries(0)
        .build()
        .unwrap();
    let error = client
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("x"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.message().contains("too large"), "{error}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = FakeProvider::start();
    let elsewhere = FakeProvider::start();
    server.push(
        Reply::status(307)
            .header(
                "location",
                format!("{}/chat/completions", elsewhere.openai_base_url()),
            )
            .body(""),
    );
    let client = builder(&server).retries(0).build().unwrap();
    let error = client
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("x"))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(307), "{error}");
    assert_eq!(server.requests().len(), 1);
    assert!(elsewhere.requests().is_empty());
}

#[tokio::test]
async fn connection_refused_is_a_connection_error() {
    // Bind then drop a listener: nothing listens on that port now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .api_key("openai", "sk-test")
        .base_url("openai", format!("http://127.0.0.1:{port}/v1"))
        .retries(0)
        .build()
        .unwrap();
    let error = client
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("x"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connection, "{error}");
}

#[tokio::test]
async fn configuration_errors_come_out_of_streams_as_items() {
    let client = Client::builder().build().unwrap();
    let mut stream = client.chat_stream(ChatRequest::new("nope/model").user("x"));
    let items = collect(&mut stream).await;
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].as_ref().unwrap_err().kind(),
        ErrorKind::Configuration
    );
    assert!(stream.completion().is_none());
}

#[tokio::test]
async fn unsupported_proxies_are_a_build_error() {
    let error = Client::builder()
        .proxy("socks5://127.0.0.1:1080")
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
}

mod key_hygiene {
    use super::*;
    use std::fmt::{self, Write as _};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    const CANARY: &str = "sk-canary-4f1c2b9e8d7a";

    /// Records every event's target, message and fields as text.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<String>>);

    impl Visit for Recorder {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            let _ = write!(self.0.lock().unwrap(), " {}={:?}", field.name(), value);
        }
    }

    impl Subscriber for Recorder {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            span.record(&mut self.clone());
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, values: &Record<'_>) {
            values.record(&mut self.clone());
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let _ = write!(self.0.lock().unwrap(), "\n{}:", event.metadata().target());
            event.record(&mut self.clone());
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    #[tokio::test]
    async fn a_canary_key_never_appears_in_errors_debug_or_logs() {
        let recorder = Recorder::default();
        let _guard = tracing::subscriber::set_default(recorder.clone());
        let server = FakeProvider::start();
        // Providers echo (part of) a wrong key back; the adapter redacts it.
        server.push(Reply::status(401).body(format!(
            r#"{{"error":{{"message":"Incorrect API key provided: {CANARY}","type":"invalid_request_error","code":"invalid_api_key"}}}}"#
        )));
        server.push(Reply::status(429).header("retry-after-ms", "30"));
        server.push(Reply::text("ok"));
        let builder = Client::builder()
            .api_key("openai", CANARY)
            .base_url("openai", server.openai_base_url())
            .header("openai", "x-extra", "visible");
        let mut shown = format!("{builder:?}");
        let client = builder.retries(1).build().unwrap();
        shown += &format!("{client:?}");
        let error = client
            .chat(ChatRequest::new("openai/gpt-4o-mini").user("x"))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Authentication);
        shown += &format!("{error} {error:?}");
        // A retried call logs a wait; a stream logs its send and outcome too.
        let mut stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("y"));
        let items = collect(&mut stream).await;
        shown += &format!("{items:?} {stream:?}");
        let logs = recorder.0.lock().unwrap().clone();
        assert!(logs.contains("onellm:"), "no events were logged: {logs}");
        assert!(logs.contains("sending request"), "{logs}");
        assert!(logs.contains("waiting before the next attempt"), "{logs}");
        assert!(logs.contains("step=\"retry\""), "{logs}");
        assert!(logs.contains("model=openai/gpt-4o-mini"), "{logs}");
        for text in [&shown, &logs] {
            assert!(!text.contains(CANARY), "the key leaked: {text}");
            assert!(
                !text.contains("canary-4f1c"),
                "part of the key leaked: {text}"
            );
        }
        // The server did get it, and recorded it redacted.
        assert!(server.requests().iter().all(|r| r.had_key));
    }
}
