//! The blocking client against the fake provider on loopback: every call shape, retries,
//! fallback, deadlines, cancellation, pooling, caps and key hygiene.

use std::time::{Duration, Instant};

use onellm_blocking::{
    ChatRequest, Client, ClientBuilder, CompletionRequest, EmbeddingRequest, ErrorKind,
};
use onellm_testkit::{FakeProvider, Fault, Reply};

const KEY: &str = "sk-canary-0123456789abcdef";

fn builder(server: &FakeProvider) -> ClientBuilder {
    Client::builder()
        .api_key("openai", KEY)
        .base_url("openai", server.openai_base_url())
        .api_key("anthropic", "sk-ant-canary-0123456789")
        .base_url("anthropic", server.anthropic_base_url())
        .seed(1)
}

fn client(server: &FakeProvider) -> Client {
    builder(server).build().unwrap()
}

#[test]
fn plain_chat() {
    let server = FakeProvider::start();
    server.push(Reply::text("Hello there").usage(12, 3));
    let completion = client(&server)
        .chat(
            ChatRequest::new("openai/gpt-4o-mini")
                .system("Be brief.")
                .user("Hi"),
        )
        .unwrap();
    assert_eq!(completion.text(), "Hello there");
    let usage = completion.usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (12, 3));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert!(requests[0].had_key);
    let body = requests[0].json();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["messages"][1]["content"], "Hi");
    assert!(body.get("stream").is_none_or(|s| s == false));
}

#[test]
fn streaming_text_matches_the_whole_completion() {
    let server = FakeProvider::start();
    let text = "The quick brown fox jumps over the lazy dog.";
    server.push(Reply::text(text).usage(7, 9));
    let client = client(&server);
    let mut stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("Hi"));
    let mut streamed = String::new();
    let mut chunks = 0;
    for chunk in &mut stream {
        let chunk = chunk.unwrap();
        chunks += 1;
        streamed.push_str(chunk.text().unwrap_or_default());
    }
    assert!(chunks > 2, "{chunks} chunks");
    assert_eq!(streamed, text);
    let completion = stream.completion().expect("completion after the stream");
    assert_eq!(completion.text(), text);
    assert_eq!(completion.usage.as_ref().unwrap().completion_tokens, 9);
    assert_eq!(server.requests()[0].json()["stream"], true);
    assert!(stream.next().is_none(), "fused");
}

#[test]
fn streaming_tool_call_deltas() {
    let server = FakeProvider::start();
    server.push(Reply::tool_call(
        "get_weather",
        r#"{"city":"Paris","unit":"c"}"#,
    ));
    let client = client(&server);
    let mut stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("Weather?"));
    let mut deltas = 0;
    for chunk in &mut stream {
        let chunk = chunk.unwrap();
        deltas += chunk
            .choices
            .iter()
            .filter_map(|c| c.delta.tool_calls.as_ref())
            .map(Vec::len)
            .sum::<usize>();
    }
    assert!(deltas >= 1);
    let completion = stream.completion().unwrap();
    let message = completion.message().unwrap();
    let call = &message.tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.function.name, "get_weather");
    let arguments: serde_json::Value = serde_json::from_str(&call.function.arguments).unwrap();
    assert_eq!(arguments["city"], "Paris");
}

#[test]
fn embeddings_and_completions() {
    let server = FakeProvider::start();
    let client = client(&server);
    let embeddings = client
        .embeddings(EmbeddingRequest::new(
            "openai/text-embedding-3-small",
            ["one", "two", "three"],
        ))
        .unwrap();
    assert_eq!(embeddings.data.len(), 3);
    server.push(Reply::text("upon a time"));
    let completion = client
        .completions(CompletionRequest::new(
            "openai/gpt-3.5-turbo-instruct",
            "Once",
        ))
        .unwrap();
    assert_eq!(completion.text(), "upon a time");
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/embeddings", "/v1/completions"]);
}

#[test]
fn retry_after_429_honours_retry_after() {
    let server = FakeProvider::start();
    server.push(Reply::status(429).header("retry-after", "1"));
    server.push(Reply::text("finally"));
    let started = Instant::now();
    let completion = client(&server)
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .unwrap();
    let elapsed = started.elapsed();
    eprintln!("429 + retry-after: 1 -> success after {elapsed:?}");
    assert_eq!(completion.text(), "finally");
    assert_eq!(server.requests().len(), 2);
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[test]
fn fallback_to_the_next_model() {
    let server = FakeProvider::start();
    // `fail-401` always answers 401: not retryable, but worth a fallback.
    let completion = client(&server)
        .chat(
            ChatRequest::new("openai/fail-401")
                .user("Hi")
                .fallback_models(["openai/gpt-4o-mini"]),
        )
        .unwrap();
    assert_eq!(completion.text(), "Hi");
    let models: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.json()["model"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(models, ["fail-401", "gpt-4o-mini"]);
}

#[test]
fn fallback_from_openai_to_anthropic() {
    let server = FakeProvider::start();
    server.push(Reply::status(503));
    server.push(Reply::status(503));
    server.push(Reply::text("from claude"));
    let completion = builder(&server)
        .retries(1)
        .build()
        .unwrap()
        .chat(
            ChatRequest::new("openai/gpt-4o-mini")
                .user("Hi")
                .fallback_models(["anthropic/claude-3-5-haiku-latest"]),
        )
        .unwrap();
    assert_eq!(completion.text(), "from claude");
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/v1/chat/completions",
            "/v1/chat/completions",
            "/v1/messages"
        ]
    );
}

#[test]
fn streamed_fallback_from_openai_to_anthropic() {
    let server = FakeProvider::start();
    let client = client(&server);
    let mut stream = client.chat_stream(
        ChatRequest::new("openai/fail-500")
            .user("streamed by claude")
            .retries(0)
            .fallback_models(["anthropic/claude-3-5-haiku-latest"]),
    );
    let text: String = (&mut stream)
        .map(|chunk| chunk.unwrap().text().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(text, "streamed by claude");
    assert_eq!(stream.completion().unwrap().text(), "streamed by claude");
    let requests = server.requests();
    assert_eq!(requests[1].path, "/v1/messages");
    assert_eq!(requests[1].json()["stream"], true);
}

#[test]
fn all_failed_lists_every_attempt() {
    let server = FakeProvider::start();
    let error = client(&server)
        .chat(
            ChatRequest::new("openai/fail-404")
                .user("Hi")
                .fallback_models(["openai/fail-403"]),
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AllFailed);
    let attempts: Vec<(String, Option<u16>)> = error
        .attempts()
        .iter()
        .map(|a| (a.model.clone(), a.status))
        .collect();
    assert_eq!(
        attempts,
        [
            ("openai/fail-404".to_owned(), Some(404)),
            ("openai/fail-403".to_owned(), Some(403))
        ]
    );
}

#[test]
fn total_deadline_on_a_hanging_server() {
    let server = FakeProvider::start();
    for _ in 0..5 {
        server.push(Reply::fault(Fault::Hang));
    }
    let deadline = Duration::from_millis(1500);
    let client = builder(&server).timeout(deadline).build().unwrap();
    let started = Instant::now();
    let error = client
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .unwrap_err();
    let elapsed = started.elapsed();
    eprintln!(
        "hanging server, total deadline {deadline:?}: {} after {elapsed:?}",
        error.kind()
    );
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(elapsed >= deadline, "{elapsed:?}");
    assert!(elapsed < deadline + Duration::from_secs(1), "{elapsed:?}");
}

#[test]
fn total_deadline_on_a_hanging_stream() {
    let server = FakeProvider::start();
    server.push(Reply::fault(Fault::Hang));
    let deadline = Duration::from_millis(800);
    let client = builder(&server).timeout(deadline).build().unwrap();
    let started = Instant::now();
    let items: Vec<_> = client
        .chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .collect();
    let elapsed = started.elapsed();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
    assert!(elapsed < deadline + Duration::from_secs(1), "{elapsed:?}");
}

#[test]
fn idle_timeout_between_chunks() {
    let server = FakeProvider::start();
    server.push(Reply::text("slow words arrive here").slow_body(Duration::from_secs(3)));
    let client = builder(&server)
        .idle_timeout(Duration::from_millis(300))
        .retries(0)
        .build()
        .unwrap();
    let started = Instant::now();
    let items: Vec<_> = client
        .chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .collect();
    let elapsed = started.elapsed();
    let error = items.last().unwrap().as_ref().unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Timeout | ErrorKind::StreamInterrupted
        ),
        "{error}"
    );
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn dropping_a_stream_closes_its_connection() {
    let server = FakeProvider::start();
    let long = "word ".repeat(200);
    server.push(Reply::text(long).slow_body(Duration::from_millis(100)));
    let client = client(&server);
    let mut stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("Hi"));
    let first = stream.next().unwrap().unwrap();
    // The first chunk: content, or the opening role chunk (whose `content: ""` is no text).
    assert!(
        first.has_content() || first.choices.is_empty() || first.choices[0].delta.role.is_some()
    );
    assert_eq!(server.open_connections(), 1);
    let dropped = Instant::now();
    drop(stream);
    assert!(
        server.wait_until_idle(Duration::from_secs(5)),
        "the server still sees an open connection"
    );
    eprintln!(
        "stream dropped: server saw the close after {:?}",
        dropped.elapsed()
    );
    // The server noticed within a few of its 100 ms stream steps, not after the whole reply.
    assert!(dropped.elapsed() < Duration::from_secs(3));
}

#[test]
fn sequential_calls_reuse_one_connection() {
    let server = FakeProvider::start();
    let client = client(&server);
    let started = Instant::now();
    for i in 0..200 {
        let completion = client
            .chat(ChatRequest::new("openai/gpt-4o-mini").user(format!("n{i}")))
            .unwrap();
        assert_eq!(completion.text(), format!("n{i}"));
    }
    eprintln!(
        "200 sequential calls: {} connection(s), {:?} per call",
        server.connections(),
        started.elapsed() / 200
    );
    assert!(
        server.connections() <= 2,
        "{} connections",
        server.connections()
    );
}

#[test]
fn sequential_streams_reuse_one_connection() {
    let server = FakeProvider::start();
    let client = client(&server);
    let started = Instant::now();
    for i in 0..20 {
        let completion = client
            .chat_stream(ChatRequest::new("openai/gpt-4o-mini").user(format!("s{i}")))
            .into_completion()
            .unwrap();
        assert_eq!(completion.text(), format!("s{i}"));
    }
    eprintln!(
        "20 sequential streams: {} connection(s), {:?} per stream",
        server.connections(),
        started.elapsed() / 20
    );
    assert!(
        server.connections() <= 2,
        "{} connections",
        server.connections()
    );
}

#[test]
fn one_client_shared_across_threads() {
    let server = FakeProvider::start();
    let client = client(&server);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let client = client.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    let text = format!("t{t} i{i}");
                    let completion = client
                        .chat(ChatRequest::new("openai/gpt-4o-mini").user(text.clone()))
                        .unwrap();
                    assert_eq!(completion.text(), text);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(server.requests().len(), 40);
    assert!(server.connections() <= 8, "{}", server.connections());
}

#[test]
fn faults_are_retried() {
    let server = FakeProvider::start();
    server.push(Reply::fault(Fault::ResetBeforeHeaders));
    server.push(Reply::fault(Fault::ResetMidStream));
    server.push(Reply::text("third time"));
    let completion = builder(&server)
        .retries(3)
        .build()
        .unwrap()
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .unwrap();
    assert_eq!(completion.text(), "third time");
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn truncated_stream_is_an_error_not_a_success() {
    let server = FakeProvider::start();
    server.push(Reply::fault(Fault::Truncated));
    let client = builder(&server).retries(0).build().unwrap();
    let items: Vec<_> = client
        .chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("Hi there"))
        .collect();
    let error = items.last().unwrap().as_ref().unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Truncated | ErrorKind::StreamInterrupted
        ),
        "{error}"
    );
}

#[test]
fn oversized_body_is_capped() {
    let server = FakeProvider::start();
    server.push(Reply::fault(Fault::Oversized(1_000_000)));
    let client = builder(&server)
        .max_body_bytes(10_000)
        .retries(0)
        .build()
        .unwrap();
    let error = client
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
    assert!(error.message().contains("too large"), "{error}");
}

#[test]
fn redirects_are_not_followed() {
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
    let error = builder(&server)
        .retries(0)
        .build()
        .unwrap()
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .unwrap_err();
    assert_eq!(error.status(), Some(307), "{error}");
    assert!(elsewhere.requests().is_empty());
}

#[test]
fn the_key_never_shows() {
    let server = FakeProvider::start();
    let echoed = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {KEY}","type":"invalid_request_error","code":"invalid_api_key"}}}}"#
    );
    server.push(Reply::status(401).body(echoed));
    let builder = builder(&server).retries(0);
    let client = builder.clone().build().unwrap();
    let error = client
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Authentication);
    // A connection failure, a stream failure and the configuration objects too.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let refused = Client::builder()
        .api_key("openai", KEY)
        .base_url("openai", format!("http://127.0.0.1:{port}/v1?key={KEY}"))
        .retries(0)
        .build()
        .unwrap()
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .unwrap_err();
    server.push(Reply::status(401));
    let streamed: Vec<_> = client
        .chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .collect();
    let shown =
        format!("{error} {error:?} {refused} {refused:?} {streamed:?} {client:?} {builder:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(!shown.contains("0123456789abcdef"), "{shown}");
    let kind = refused.kind();
    assert!(
        matches!(kind, ErrorKind::Connection | ErrorKind::Configuration),
        "{refused}"
    );
}

#[test]
fn configuration_errors_come_back_as_errors() {
    let client = Client::builder().build().unwrap();
    // No key for openai: nothing is sent, the error says which variable to set.
    let error = client
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(error.message().contains("OPENAI_API_KEY"), "{error}");
    let items: Vec<_> = client
        .chat_stream(ChatRequest::new("nope/model").user("Hi"))
        .collect();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0].as_ref().unwrap_err().kind(),
        ErrorKind::Configuration
    );
    let both = Client::builder()
        .proxy("http://127.0.0.1:9")
        .http_client(onellm_blocking::ureq::Agent::new_with_defaults())
        .build()
        .unwrap_err();
    assert_eq!(both.kind(), ErrorKind::Configuration);
}

#[test]
fn an_injected_agent_still_gets_no_redirects_and_error_statuses() {
    let server = FakeProvider::start();
    // A default agent follows redirects and turns 4xx into errors; the client overrides both.
    let agent = onellm_blocking::ureq::Agent::new_with_defaults();
    server.push(Reply::status(429).header("retry-after", "0"));
    let client = builder(&server).http_client(agent).build().unwrap();
    let completion = client
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("again"))
        .unwrap();
    assert_eq!(completion.text(), "again");
}

#[test]
fn requests_go_through_the_proxy() {
    let proxy = FakeProvider::start();
    // The upstream host is never resolved here: the proxy is asked for it.
    let client = Client::builder()
        .api_key("openai", KEY)
        .base_url("openai", "http://upstream.invalid/v1")
        .proxy(proxy.url())
        .retries(0)
        .build()
        .unwrap();
    let result = client.chat(ChatRequest::new("openai/gpt-4o-mini").user("via proxy"));
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1, "{result:?}");
    assert!(
        requests[0].path.contains("upstream.invalid"),
        "{:?}",
        requests[0]
    );
}

#[test]
fn attempt_timeout_retries_a_hanging_attempt() {
    let server = FakeProvider::start();
    server.push(Reply::fault(Fault::Hang));
    server.push(Reply::text("second attempt"));
    let client = builder(&server)
        .attempt_timeout(Duration::from_millis(300))
        .retries(1)
        .build()
        .unwrap();
    let started = Instant::now();
    let completion = client
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .unwrap();
    assert_eq!(completion.text(), "second attempt");
    // 300 ms for the hung attempt, at most ~1 s of jittered backoff, then the answer.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}
