//! The integration and fault suites: one list of scenarios, run over both transports
//! (`onellm-blocking` and `onellm-tokio`) against the fake provider on loopback.
//!
//! Each scenario is a function generic over [`Driver`]; `on_both_transports!` at the
//! bottom makes one `#[test]` per scenario per transport. Timing checks are sanity bounds (a reply
//! came after at least the Retry-After, a deadline fired within deadline + 1 s), never
//! performance assertions.

use std::time::{Duration, Instant};

use onellm_core::{
    ChatCompletionChunk, ChatRequest, CompletionRequest, EmbeddingRequest, Error, ErrorKind,
    FinishReason, Tool,
};
use onellm_testkit::{FakeProvider, Fault, Reply};
use serde_json::json;

const CANARY: &str = "sk-canary-9f8e7d6c5b4a";

/// How a scenario configures its client.
#[derive(Clone, Default)]
struct Setup {
    retries: Option<u32>,
    timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    max_body_bytes: Option<usize>,
    aws_credentials: Option<onellm_core::provider::bedrock::CredentialsSource>,
}

mod support;
use support::Driver;

/// Points either transport's builder at the fake server with the scenario's settings.
fn configured<D: Driver>(server: &FakeProvider, setup: &Setup) -> D {
    build!(D, |builder| {
        let mut builder = builder
            .api_key("openai", CANARY)
            .base_url("openai", server.openai_base_url())
            .api_key("anthropic", CANARY)
            .base_url("anthropic", server.anthropic_base_url())
            .api_key("azure", CANARY)
            .base_url("azure", server.url())
            .api_key("cohere", CANARY)
            .base_url("cohere", server.cohere_base_url())
            .base_url("ollama", server.ollama_base_url())
            .api_key("google", CANARY)
            .base_url("google", server.gemini_base_url())
            .option("vertexai", "project", "fake-project")
            .option("vertexai", "location", "us-central1")
            .secret("vertexai", "access_token", CANARY)
            .base_url("vertexai", server.url())
            .base_url("bedrock", server.url())
            .option("bedrock", "region", "us-east-1")
            .secret("bedrock", "access_key_id", "AKIDFAKEBEDROCK")
            .secret("bedrock", "secret_access_key", CANARY)
            .seed(7);
        if let Some(retries) = setup.retries {
            builder = builder.retries(retries);
        }
        if let Some(timeout) = setup.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(idle) = setup.idle_timeout {
            builder = builder.idle_timeout(idle);
        }
        if let Some(max) = setup.max_body_bytes {
            builder = builder.max_body_bytes(max);
        }
        if let Some(source) = setup.aws_credentials.clone() {
            builder = builder.aws_credentials(move || source());
        }
        builder
    })
    .unwrap()
}

fn text_of(items: &[Result<ChatCompletionChunk, Error>]) -> String {
    items
        .iter()
        .filter_map(|item| item.as_ref().ok())
        .filter_map(|chunk| chunk.text())
        .collect()
}

fn assert_no_canary(error: &Error) {
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(CANARY), "key leaked: {shown}");
}

// ---- scenarios ----

fn chat<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    server.push(Reply::text("Hello there").usage(12, 3));
    let completion = driver
        .chat(
            ChatRequest::new("openai/gpt-4o-mini")
                .system("s")
                .user("hi"),
        )
        .unwrap();
    assert_eq!(completion.text(), "Hello there");
    assert_eq!(completion.usage.unwrap().total_tokens, 15);
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.json()["model"], "gpt-4o-mini");
    assert!(sent.had_key);
    let anthropic = driver
        .chat(ChatRequest::new("anthropic/claude-sonnet-4-5").user("echo me"))
        .unwrap();
    assert_eq!(anthropic.text(), "echo me");
    assert_eq!(server.requests()[1].path, "/v1/messages");
}

fn stream<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    for model in ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"] {
        server.push(Reply::text("one two three four").reasoning("let me think"));
        let (items, completion) = driver.stream_items(ChatRequest::new(model).user("go"));
        assert!(items.iter().all(Result::is_ok), "{model}: {items:?}");
        assert_eq!(text_of(&items), "one two three four", "{model}");
        let completion = completion.expect("completion after a good stream");
        assert_eq!(completion.text(), "one two three four");
        assert_eq!(
            completion.message().unwrap().reasoning_content.as_deref(),
            Some("let me think")
        );
        assert!(completion.usage.is_some(), "{model}: usage");
    }
}

fn tools<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    let tool = Tool::function(
        "get_weather",
        "weather by city",
        json!({"type": "object",
        "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    );
    for model in ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"] {
        let request = ChatRequest::new(model)
            .user("weather in Paris?")
            .tool(tool.clone());
        server.push(Reply::tool_call("get_weather", r#"{"city":"Paris"}"#));
        let completion = driver.chat(request.clone()).unwrap();
        let call = &completion.message().unwrap().tool_calls.as_ref().unwrap()[0];
        assert_eq!(call.function.name, "get_weather");
        let arguments: serde_json::Value = serde_json::from_str(&call.function.arguments).unwrap();
        assert_eq!(arguments, json!({"city": "Paris"}));
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );

        server.push(Reply::tool_call("get_weather", r#"{"city":"Paris"}"#));
        let (items, completion) = driver.stream_items(request);
        assert!(items.iter().all(Result::is_ok), "{items:?}");
        let completion = completion.unwrap();
        let call = &completion.message().unwrap().tool_calls.as_ref().unwrap()[0];
        let streamed: serde_json::Value = serde_json::from_str(&call.function.arguments).unwrap();
        assert_eq!(streamed, json!({"city": "Paris"}), "{model}");
    }
}

fn vision_and_json_mode_translation<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    let image = "data:image/png;base64,iVBORw0KGgo=";
    for model in ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"] {
        server.push(Reply::text("{\"ok\":true}"));
        let request = ChatRequest::new(model)
            .user_with_image("what is this?", image)
            .json_mode();
        driver.chat(request).unwrap();
    }
    let sent = server.requests();
    let openai = sent[0].json();
    assert_eq!(
        openai["messages"][0]["content"][1]["image_url"]["url"],
        image
    );
    assert_eq!(openai["response_format"], json!({"type": "json_object"}));
    let anthropic = sent[1].json();
    let blocks = anthropic["messages"][0]["content"].as_array().unwrap();
    let image_block = blocks
        .iter()
        .find(|b| b["type"] == "image")
        .expect("image block");
    assert_eq!(image_block["source"]["type"], "base64");
    assert_eq!(image_block["source"]["media_type"], "image/png");
    assert!(anthropic.get("response_format").is_none());
}

fn embeddings_and_completions<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    let embeddings = driver
        .embeddings(EmbeddingRequest::new(
            "openai/text-embedding-3-small",
            ["a", "b", "c"],
        ))
        .unwrap();
    assert_eq!(embeddings.data.len(), 3);
    let completion = driver
        .completions(CompletionRequest::new(
            "openai/gpt-3.5-turbo-instruct",
            "Once upon",
        ))
        .unwrap();
    assert_eq!(completion.text(), "Once upon");
    let unsupported = driver
        .embeddings(EmbeddingRequest::new("anthropic/claude-sonnet-4-5", ["a"]))
        .unwrap_err();
    assert_eq!(unsupported.kind(), ErrorKind::Unsupported);
}

fn retry_honours_retry_after<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    server.push(Reply::status(429).header("retry-after", "1"));
    server.push(Reply::text("after the wait"));
    let started = Instant::now();
    let completion = driver
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("x"))
        .unwrap();
    assert_eq!(completion.text(), "after the wait");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 2);
}

fn retries_exhaust_into_the_error<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(
        &server,
        &Setup {
            retries: Some(1),
            ..Setup::default()
        },
    );
    server.push(Reply::status(503).header("retry-after-ms", "10"));
    server.push(Reply::status(503).header("retry-after-ms", "10"));
    let error = driver
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("x"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
    assert_eq!(error.attempts().len(), 2);
    assert_eq!(server.requests().len(), 2);
    assert_no_canary(&error);
}

fn fallback_across_families<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    let request = ChatRequest::new("openai/fail-401")
        .user("fall back please")
        .fallback_models(["anthropic/claude-sonnet-4-5"]);
    let completion = driver.chat(request.clone()).unwrap();
    assert_eq!(completion.text(), "fall back please");
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/v1/chat/completions", "/v1/messages"]);
    // Both failing: AllFailed with both attempts.
    let both = ChatRequest::new("openai/fail-401")
        .user("x")
        .fallback_models(["anthropic/fail-403"]);
    let error = driver.chat(both).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AllFailed);
    let kinds: Vec<_> = error.attempts().iter().map(|a| a.kind()).collect();
    assert_eq!(
        kinds,
        [
            Some(ErrorKind::Authentication),
            Some(ErrorKind::PermissionDenied)
        ]
    );
    assert_no_canary(&error);
}

/// Azure OpenAI: deployment URLs with `api-version` and the `api-key` header, streams,
/// embeddings, and fallback into and out of it.
fn azure_deployments<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    server.push(Reply::text("from azure").usage(4, 2));
    let completion = driver
        .chat(ChatRequest::new("azure/gpt-4o-prod").user("hi"))
        .unwrap();
    assert_eq!(completion.text(), "from azure");
    let sent = &server.requests()[0];
    assert_eq!(
        sent.path,
        "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(sent.header("api-key"), Some("[REDACTED]"));
    assert!(sent.header("authorization").is_none());

    server.push(Reply::text("streamed from azure"));
    let (items, completion) = driver.stream_items(ChatRequest::new("azure/gpt-4o-prod").user("go"));
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(completion.unwrap().text(), "streamed from azure");
    assert_eq!(
        server.requests()[1].json()["stream_options"]["include_usage"],
        true
    );

    let embeddings = driver
        .embeddings(EmbeddingRequest::new("azure/embed-small", ["a", "b"]))
        .unwrap();
    assert_eq!(embeddings.data.len(), 2);
    assert_eq!(
        server.requests()[2].path,
        "/openai/deployments/embed-small/embeddings?api-version=2024-10-21"
    );

    let into = driver
        .chat(
            ChatRequest::new("openai/fail-401")
                .user("into azure")
                .fallback_models(["azure/gpt-4o-prod"]),
        )
        .unwrap();
    assert_eq!(into.text(), "into azure");
    let out = driver
        .chat(
            ChatRequest::new("azure/fail-403")
                .user("out of azure")
                .fallback_models(["openai/gpt-4o-mini"]),
        )
        .unwrap();
    assert_eq!(out.text(), "out of azure");
    let error = driver
        .chat(ChatRequest::new("azure/fail-400").user("x"))
        .unwrap_err();
    assert_eq!(error.status(), Some(400));
    assert_eq!(error.provider(), Some("azure"));
    assert_no_canary(&error);
}

/// The Cohere v2 and Ollama native families: model, chat path, embed path.
const NATIVE_FAMILIES: [(&str, &str, &str); 2] = [
    ("cohere/command-r-plus", "/v2/chat", "/v2/embed"),
    ("ollama/llama3.2:3b", "/api/chat", "/api/embed"),
];

fn native_families_chat_stream_tools<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    let tool = Tool::function(
        "get_weather",
        "weather by city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    );
    for (model, chat_path, _) in NATIVE_FAMILIES {
        let before = server.requests().len();
        server.push(Reply::text("Hello there").usage(12, 3));
        let completion = driver
            .chat(ChatRequest::new(model).system("s").user("hi"))
            .unwrap();
        assert_eq!(completion.text(), "Hello there", "{model}");
        assert_eq!(completion.usage.unwrap().total_tokens, 15, "{model}");
        let sent = &server.requests()[before];
        assert_eq!(sent.path, chat_path);
        assert_ne!(sent.json()["stream"], true, "{model}");
        assert_eq!(sent.had_key, model.starts_with("cohere/"), "{model}");

        server.push(Reply::text("one two three four").reasoning("let me think"));
        let (items, completion) = driver.stream_items(ChatRequest::new(model).user("go"));
        assert!(items.iter().all(Result::is_ok), "{model}: {items:?}");
        assert_eq!(text_of(&items), "one two three four", "{model}");
        let completion = completion.expect("completion after a good stream");
        assert_eq!(
            completion.message().unwrap().reasoning_content.as_deref(),
            Some("let me think"),
            "{model}"
        );
        assert!(completion.usage.is_some(), "{model}: usage");

        let request = ChatRequest::new(model)
            .user("weather in Paris?")
            .tool(tool.clone());
        server.push(Reply::tool_call("get_weather", r#"{"city":"Paris"}"#));
        let whole = driver.chat(request.clone()).unwrap();
        server.push(Reply::tool_call("get_weather", r#"{"city":"Paris"}"#));
        let (items, streamed) = driver.stream_items(request);
        assert!(items.iter().all(Result::is_ok), "{model}: {items:?}");
        for completion in [whole, streamed.unwrap()] {
            let call = &completion.message().unwrap().tool_calls.as_ref().unwrap()[0];
            assert_eq!(call.function.name, "get_weather");
            assert!(!call.id.is_empty(), "{model}: tool call id");
            let arguments: serde_json::Value =
                serde_json::from_str(&call.function.arguments).unwrap();
            assert_eq!(arguments, json!({"city": "Paris"}), "{model}");
            assert_eq!(
                completion.choices[0].finish_reason,
                Some(FinishReason::ToolCalls),
                "{model}"
            );
        }
    }
}

fn native_families_embeddings_and_errors<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(
        &server,
        &Setup {
            retries: Some(0),
            ..Setup::default()
        },
    );
    for (model, _, embed_path) in NATIVE_FAMILIES {
        let embeddings = driver
            .embeddings(EmbeddingRequest::new(model, ["a", "b", "c"]))
            .unwrap();
        assert_eq!(embeddings.data.len(), 3, "{model}");
        assert_eq!(embeddings.data[2].index, 2);
        assert_eq!(server.requests().last().unwrap().path, embed_path);

        server.push(Reply::status(429).header("retry-after", "0"));
        let error = driver.chat(ChatRequest::new(model).user("x")).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::RateLimit, "{model}: {error}");
        assert_eq!(error.message(), "rate limited, slow down");
        assert_no_canary(&error);

        server.push(Reply::status(404));
        let (items, completion) = driver.stream_items(ChatRequest::new(model).user("x"));
        assert!(completion.is_none());
        let error = items.last().unwrap().as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound, "{model}: {error}");

        server.push(Reply::text("never finished").with_fault(Fault::Truncated));
        let (items, completion) = driver.stream_items(ChatRequest::new(model).user("x"));
        assert!(completion.is_none(), "{model}");
        let error = items.last().unwrap().as_ref().unwrap_err();
        assert!(
            matches!(
                error.kind(),
                ErrorKind::StreamInterrupted | ErrorKind::Truncated
            ),
            "{model}: {error}"
        );
    }
}

fn fallback_into_and_out_of_native_families<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    let chain = [
        ("openai/fail-401", "cohere/command-r"),
        ("cohere/fail-401", "ollama/llama3.2"),
        ("ollama/fail-404", "anthropic/claude-sonnet-4-5"),
    ];
    for (first, fallback) in chain {
        let before = server.requests().len();
        let completion = driver
            .chat(
                ChatRequest::new(first)
                    .user("fall back please")
                    .fallback_models([fallback]),
            )
            .unwrap();
        assert_eq!(
            completion.text(),
            "fall back please",
            "{first} -> {fallback}"
        );
        assert_eq!(server.requests().len(), before + 2);
    }
    let (items, completion) = driver.stream_items(
        ChatRequest::new("cohere/fail-503")
            .user("streamed fallback")
            .retries(0)
            .fallback_models(["ollama/llama3.2"]),
    );
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(completion.unwrap().text(), "streamed fallback");
}

fn stream_fallback_before_first_content<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    server.push(Reply::fault(Fault::ResetAfterHeaders));
    server.push(Reply::text("from the fallback"));
    let request = ChatRequest::new("openai/gpt-4o-mini")
        .user("x")
        .retries(0)
        .fallback_models(["anthropic/claude-sonnet-4-5"]);
    let (items, completion) = driver.stream_items(request);
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(text_of(&items), "from the fallback");
    assert_eq!(completion.unwrap().text(), "from the fallback");
    let roles = items
        .iter()
        .flatten()
        .filter(|c| c.choices.iter().any(|ch| ch.delta.role.is_some()))
        .count();
    assert!(roles <= 1, "a role delta was delivered twice");
}

fn stream_interrupted_after_content<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    server.push(
        Reply::text("alpha beta gamma delta epsilon zeta eta theta")
            .with_fault(Fault::ResetMidStream),
    );
    let request = ChatRequest::new("openai/gpt-4o-mini")
        .user("x")
        .fallback_models(["anthropic/claude-sonnet-4-5"]);
    let (items, completion) = driver.stream_items(request);
    assert!(completion.is_none());
    let error = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::StreamInterrupted, "{error}");
    let partial = error.partial_completion().unwrap().text();
    assert!(!partial.is_empty());
    assert_eq!(partial, text_of(&items));
    assert_eq!(
        server.requests().len(),
        1,
        "no fallback after content was delivered"
    );
}

fn deadline_on_a_hanging_server<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(
        &server,
        &Setup {
            timeout: Some(Duration::from_secs(1)),
            ..Setup::default()
        },
    );
    server.push(Reply::fault(Fault::Hang));
    let started = Instant::now();
    let error = driver
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("x"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    // A per-call deadline (the request's OneLLM `timeout`) beats the client's.
    let patient = configured::<D>(
        &server,
        &Setup {
            timeout: Some(Duration::from_secs(60)),
            ..Setup::default()
        },
    );
    server.push(Reply::fault(Fault::Hang));
    let started = Instant::now();
    let request = ChatRequest::new("openai/gpt-4o-mini")
        .user("x")
        .with_timeout(Duration::from_millis(800));
    let error = patient.chat(request).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    assert!(
        started.elapsed() < Duration::from_millis(1800),
        "took {:?}",
        started.elapsed()
    );
}

fn idle_timeout_on_a_stalled_stream<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(
        &server,
        &Setup {
            idle_timeout: Some(Duration::from_millis(300)),
            retries: Some(0),
            ..Setup::default()
        },
    );
    server.push(Reply::text("slow words here").slow_body(Duration::from_secs(3)));
    let started = Instant::now();
    let (items, completion) = driver.stream_items(ChatRequest::new("openai/gpt-4o-mini").user("x"));
    assert!(completion.is_none());
    let error = items.last().unwrap().as_ref().unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Timeout | ErrorKind::StreamInterrupted
        ),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

fn cancellation_by_drop<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    server
        .push(Reply::text("a b c d e f g h i j k l m n o p").slow_body(Duration::from_millis(200)));
    let items = driver.stream_prefix(ChatRequest::new("openai/gpt-4o-mini").user("x"), 2);
    assert_eq!(items.len(), 2);
    assert!(
        server.wait_until_idle(Duration::from_secs(3)),
        "connection not closed after drop"
    );
}

fn connection_reuse<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    for i in 0..200 {
        let completion = driver
            .chat(ChatRequest::new("openai/gpt-4o-mini").user(format!("n{i}")))
            .unwrap();
        assert_eq!(completion.text(), format!("n{i}"));
    }
    assert!(
        server.connections() <= 2,
        "{} connections for 200 calls",
        server.connections()
    );
}

fn canary_key_never_leaks<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(
        &server,
        &Setup {
            retries: Some(0),
            ..Setup::default()
        },
    );
    assert!(!driver.debug().contains(CANARY));
    server.push(Reply::status(401).body(format!("{{\"error\":{{\"message\":\"Incorrect API key provided: {CANARY}\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}}}")));
    let error = driver
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("x"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Authentication);
    assert_no_canary(&error);
    for recorded in server.requests() {
        assert!(!format!("{recorded:?}").contains(CANARY));
    }
}

/// Every fault the fake server can script, and the outcome it must end in.
fn faults<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(
        &server,
        &Setup {
            timeout: Some(Duration::from_secs(5)),
            max_body_bytes: Some(256 * 1024),
            ..Setup::default()
        },
    );
    let request = || ChatRequest::new("openai/gpt-4o-mini").user("x");
    // Faults after a stream delivered content cannot be retried: StreamInterrupted with the
    // partial completion.
    for fault in [Fault::ResetMidStream, Fault::Truncated] {
        server.push(Reply::fault(fault));
        let (items, completion) = driver.stream_items(request());
        assert!(completion.is_none(), "{fault:?}");
        let error = items.last().unwrap().as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::StreamInterrupted, "{fault:?}");
        assert_eq!(error.partial_completion().unwrap().text(), "x");
    }
    // Faults before any content, and cut whole bodies: retried, the next attempt succeeds.
    let retried = [
        (Fault::ResetBeforeHeaders, false),
        (Fault::ResetBeforeHeaders, true),
        (Fault::ResetAfterHeaders, false),
        (Fault::ResetAfterHeaders, true),
        (Fault::ResetMidStream, false),
        (Fault::Truncated, false),
    ];
    for (fault, streaming) in retried {
        server.push(Reply::fault(fault));
        server.push(Reply::text("recovered"));
        let started = Instant::now();
        let text = if streaming {
            let (items, completion) = driver.stream_items(request());
            assert!(
                items.iter().all(Result::is_ok),
                "{fault:?} stream: {items:?}"
            );
            completion.unwrap().text()
        } else {
            driver
                .chat(request())
                .unwrap_or_else(|e| panic!("{fault:?}: {e}"))
                .text()
        };
        assert_eq!(text, "recovered", "{fault:?} stream={streaming}");
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{fault:?} took {:?}",
            started.elapsed()
        );
    }
    // Malformed JSON: a Decode error, not retried on the same model.
    server.push(Reply::fault(Fault::MalformedJson));
    let error = driver.chat(request()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    // Oversized body: refused past the cap.
    server.push(Reply::fault(Fault::Oversized(2 * 1024 * 1024)));
    let error = driver.chat(request()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode, "{error}");
    // Status faults.
    for (status, kind) in [
        (401, ErrorKind::Authentication),
        (400, ErrorKind::ContextWindowExceeded),
        (422, ErrorKind::InvalidRequest),
    ] {
        server.push(Reply::status(status));
        assert_eq!(driver.chat(request()).unwrap_err().kind(), kind, "{status}");
    }
    for status in [500, 529] {
        server.push(Reply::status(status).header("retry-after", "0"));
        server.push(Reply::text("after 5xx"));
        assert_eq!(
            driver.chat(request()).unwrap().text(),
            "after 5xx",
            "{status}"
        );
    }
    server.push(Reply::status(429).header("retry-after-ms", "20"));
    server.push(Reply::text("after 429"));
    assert_eq!(driver.chat(request()).unwrap().text(), "after 429");
    // Retry-After as an HTTP date, measured against the response's own Date header.
    server.push(
        Reply::status(429)
            .header("date", "Wed, 21 Oct 2015 07:28:00 GMT")
            .header("retry-after", "Wed, 21 Oct 2015 07:28:01 GMT"),
    );
    server.push(Reply::text("after the dated wait"));
    let started = Instant::now();
    assert_eq!(
        driver.chat(request()).unwrap().text(),
        "after the dated wait"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
    // Slow headers within the deadline still succeed.
    server.push(Reply::text("slow but fine").slow_headers(Duration::from_millis(300)));
    assert_eq!(driver.chat(request()).unwrap().text(), "slow but fine");
}

// ---- Gemini (AI Studio as `google`, Vertex AI as `vertexai`) ----

fn gemini_chat_and_stream<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    server.push(Reply::text("Hello from Gemini").usage(12, 3));
    let completion = driver
        .chat(
            ChatRequest::new("google/gemini-2.5-flash")
                .system("s")
                .user("hi"),
        )
        .unwrap();
    assert_eq!(completion.text(), "Hello from Gemini");
    assert_eq!(completion.model, "gemini-2.5-flash");
    assert_eq!(completion.usage.unwrap().total_tokens, 15);
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1beta/models/gemini-2.5-flash:generateContent");
    assert!(sent.had_key);
    assert_eq!(sent.json()["systemInstruction"]["parts"][0]["text"], "s");
    assert_eq!(sent.json()["contents"][0]["role"], "user");

    let vertex = driver
        .chat(ChatRequest::new("vertexai/gemini-2.5-pro").user("echo me"))
        .unwrap();
    assert_eq!(vertex.text(), "echo me");
    let sent = &server.requests()[1];
    assert_eq!(
        sent.path,
        "/v1/projects/fake-project/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent"
    );
    assert!(sent.had_key);

    for model in ["google/gemini-2.5-flash", "vertexai/gemini-2.5-pro"] {
        server.push(Reply::text("one two three four").reasoning("let me think"));
        let (items, completion) = driver.stream_items(ChatRequest::new(model).user("go"));
        assert!(items.iter().all(Result::is_ok), "{model}: {items:?}");
        assert_eq!(text_of(&items), "one two three four", "{model}");
        let completion = completion.expect("completion after a good stream");
        assert_eq!(completion.text(), "one two three four");
        let message = completion.message().unwrap();
        assert_eq!(message.reasoning_content.as_deref(), Some("let me think"));
        assert!(message.extra.contains_key("thought_signatures"), "{model}");
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::Stop)
        );
        assert!(completion.usage.is_some(), "{model}: usage");
        let path = server.requests().last().unwrap().path.clone();
        assert!(path.ends_with(":streamGenerateContent?alt=sse"), "{path}");
    }
    // A stream cut before the chunk with finishReason is truncated, never a success.
    server.push(Reply::text("cut short").with_fault(Fault::Truncated));
    let (items, completion) = driver.stream_items(
        ChatRequest::new("google/gemini-2.5-flash")
            .user("x")
            .retries(0),
    );
    assert!(completion.is_none());
    let error = items.iter().find_map(|item| item.as_ref().err()).unwrap();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::Truncated | ErrorKind::StreamInterrupted
        ),
        "{error}"
    );
}

fn gemini_tools_round_trip<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    let tool = Tool::function(
        "get_weather",
        "weather by city",
        json!({"type": "object", "additionalProperties": false,
        "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    );
    let request = ChatRequest::new("google/gemini-3-pro-preview")
        .user("weather in Paris?")
        .tool(tool);
    server.push(Reply::tool_call("get_weather", r#"{"city":"Paris"}"#));
    let completion = driver.chat(request.clone()).unwrap();
    let declared = &server.requests()[0].json()["tools"][0]["functionDeclarations"][0];
    assert!(declared["parameters"].get("additionalProperties").is_none());
    let call = completion.message().unwrap().tool_calls.as_ref().unwrap()[0].clone();
    assert_eq!(call.function.name, "get_weather");
    assert!(call.id.starts_with("call_gemini_"), "{}", call.id);
    assert!(call.extra.contains_key("thought_signature"));
    assert_eq!(
        completion.choices[0].finish_reason,
        Some(FinishReason::ToolCalls)
    );

    server.push(Reply::tool_call("get_weather", r#"{"city":"Paris"}"#));
    let (items, streamed) = driver.stream_items(request.clone());
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    let streamed = streamed.unwrap();
    let streamed_call = &streamed.message().unwrap().tool_calls.as_ref().unwrap()[0];
    let arguments: serde_json::Value =
        serde_json::from_str(&streamed_call.function.arguments).unwrap();
    assert_eq!(arguments, json!({"city": "Paris"}));
    assert_eq!(streamed_call.extra, call.extra);
    assert_eq!(
        streamed.choices[0].finish_reason,
        Some(FinishReason::ToolCalls)
    );

    // The follow-up turn carries the call, its signature and the result named by function.
    server.push(Reply::text("Take an umbrella."));
    let follow_up = request
        .message(completion.choices[0].message.clone())
        .message(onellm_core::Message::tool(call.id.clone(), "rain, 14°C"))
        .user("umbrella?");
    assert_eq!(driver.chat(follow_up).unwrap().text(), "Take an umbrella.");
    let sent = server.requests().last().unwrap().json();
    let model_turn = &sent["contents"][1];
    assert_eq!(model_turn["role"], "model");
    assert_eq!(
        model_turn["parts"][0]["functionCall"]["name"],
        "get_weather"
    );
    assert_eq!(
        model_turn["parts"][0]["thoughtSignature"],
        call.extra["thought_signature"]
    );
    assert!(model_turn["parts"][0]["functionCall"].get("id").is_none());
    assert_eq!(
        sent["contents"][2]["parts"][0]["functionResponse"],
        json!({"name": "get_weather", "response": {"content": "rain, 14°C"}})
    );
    assert_eq!(sent["contents"][2]["parts"][1]["text"], "umbrella?");
}

fn gemini_embeddings_and_errors<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    let embeddings = driver
        .embeddings(EmbeddingRequest::new(
            "google/gemini-embedding-001",
            ["a", "b", "c"],
        ))
        .unwrap();
    assert_eq!(embeddings.data.len(), 3);
    assert_eq!(embeddings.data[2].index, 2);
    assert_eq!(
        server.requests()[0].path,
        "/v1beta/models/gemini-embedding-001:batchEmbedContents"
    );
    let unsupported = driver
        .embeddings(EmbeddingRequest::new("vertexai/text-embedding-005", ["a"]))
        .unwrap_err();
    assert_eq!(unsupported.kind(), ErrorKind::Unsupported);

    server.push(Reply::status(404));
    let error = driver
        .chat(ChatRequest::new("google/gemini-9").user("x"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(error.code(), Some("NOT_FOUND"));
    assert_no_canary(&error);

    server.push(Reply::status(429).body(
        r#"{"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
          "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.2s"}]}}"#,
    ));
    server.push(Reply::text("after the retry delay"));
    let started = Instant::now();
    let completion = driver
        .chat(ChatRequest::new("google/gemini-2.5-flash").user("x"))
        .unwrap();
    assert_eq!(completion.text(), "after the retry delay");
    assert!(started.elapsed() >= Duration::from_millis(190));

    // An error sent as plain JSON in a 200 stream is a typed error, not a truncation.
    server.push(Reply::status(200).body(
        r#"[{"error": {"code": 400, "message": "Invalid JSON payload received.", "status": "INVALID_ARGUMENT"}}]"#,
    ));
    let (items, completion) =
        driver.stream_items(ChatRequest::new("google/gemini-2.5-flash").user("x"));
    assert!(completion.is_none());
    let error = items.iter().find_map(|item| item.as_ref().err()).unwrap();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{error}");
    assert!(error.message().contains("Invalid JSON payload"));

    // Google answers a bad key with 400 and may echo it; neither path shows the key.
    server.push(Reply::status(400).body(format!(
        r#"{{"error": {{"code": 400, "message": "API key not valid: {CANARY}", "status": "INVALID_ARGUMENT",
          "details": [{{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}}]}}}}"#
    )));
    let error = driver
        .chat(ChatRequest::new("google/gemini-2.5-flash").user("x"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Authentication);
    assert_no_canary(&error);
    server.push(Reply::status(200).body(format!(
        r#"{{"error": {{"code": 400, "message": "token {CANARY} rejected", "status": "INVALID_ARGUMENT"}}}}"#
    )));
    let (items, _) = driver.stream_items(ChatRequest::new("vertexai/gemini-2.5-pro").user("x"));
    let error = items.iter().find_map(|item| item.as_ref().err()).unwrap();
    assert_no_canary(error);

    let bad_model = driver
        .chat(ChatRequest::new("google/../../v1/files").user("x"))
        .unwrap_err();
    assert_eq!(bad_model.kind(), ErrorKind::Configuration);
}

fn gemini_fallback_in_and_out<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    let into = ChatRequest::new("openai/fail-401")
        .user("into gemini")
        .fallback_models(["google/gemini-2.5-flash"]);
    assert_eq!(driver.chat(into).unwrap().text(), "into gemini");
    let out = ChatRequest::new("google/fail-403")
        .user("out of gemini")
        .fallback_models(["vertexai/fail-404", "openai/gpt-4o-mini"]);
    assert_eq!(driver.chat(out).unwrap().text(), "out of gemini");
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/chat/completions",
            "/v1beta/models/gemini-2.5-flash:generateContent",
            "/v1beta/models/fail-403:generateContent",
            "/v1/projects/fake-project/locations/us-central1/publishers/google/models/fail-404:generateContent",
            "/v1/chat/completions",
        ]
    );
    // Streaming falls back from Gemini before the first content.
    server.push(Reply::fault(Fault::ResetAfterHeaders));
    server.push(Reply::text("streamed by openai"));
    let request = ChatRequest::new("google/gemini-2.5-flash")
        .user("x")
        .retries(0)
        .fallback_models(["openai/gpt-4o-mini"]);
    let (items, completion) = driver.stream_items(request);
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(completion.unwrap().text(), "streamed by openai");
}

// ---- Bedrock ----

const BEDROCK_MODEL: &str = "bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0";

/// A SigV4-signed request reached the fake server (it checks presence, not the signature,
/// which the core's tests pin against AWS's vectors and botocore).
fn assert_signed(request: &onellm_testkit::RecordedRequest, path: &str) {
    assert_eq!(request.path, path);
    assert!(request.had_key, "no authorization header");
    assert!(request.header("x-amz-date").is_some(), "no x-amz-date");
    assert!(request.header("x-amz-content-sha256").is_some());
}

fn bedrock_chat_stream_and_tools<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    let path = "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse";
    server.push(Reply::text("Hello from Bedrock").usage(12, 3));
    let completion = driver
        .chat(ChatRequest::new(BEDROCK_MODEL).system("s").user("hi"))
        .unwrap();
    assert_eq!(completion.text(), "Hello from Bedrock");
    assert_eq!(completion.usage.unwrap().total_tokens, 15);
    let sent = &server.requests()[0];
    assert_signed(sent, path);
    assert_eq!(sent.json()["system"], json!([{"text": "s"}]));

    server.push(Reply::text("one two three four").reasoning("let me think"));
    let (items, completion) = driver.stream_items(ChatRequest::new(BEDROCK_MODEL).user("go"));
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(text_of(&items), "one two three four");
    let completion = completion.expect("completion after a good stream");
    let message = completion.message().unwrap();
    assert_eq!(message.reasoning_content.as_deref(), Some("let me think"));
    assert_eq!(
        message.extra["thinking_blocks"][0]["signature"],
        "fake-bedrock-signature-EqQB"
    );
    assert!(completion.usage.is_some());
    assert_signed(&server.requests()[1], &format!("{path}-stream"));

    let tool = Tool::function(
        "get_weather",
        "weather by city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    );
    let request = ChatRequest::new(BEDROCK_MODEL)
        .user("weather in Paris?")
        .tool(tool);
    server.push(Reply::tool_call("get_weather", r#"{"city":"Paris"}"#));
    let completion = driver.chat(request.clone()).unwrap();
    let call = &completion.message().unwrap().tool_calls.as_ref().unwrap()[0];
    assert_eq!(call.id, "tooluse_fake_1");
    assert_eq!(
        completion.choices[0].finish_reason,
        Some(FinishReason::ToolCalls)
    );
    server.push(Reply::tool_call("get_weather", r#"{"city":"Paris"}"#));
    let (items, completion) = driver.stream_items(request);
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    let completion = completion.unwrap();
    let call = &completion.message().unwrap().tool_calls.as_ref().unwrap()[0];
    let streamed: serde_json::Value = serde_json::from_str(&call.function.arguments).unwrap();
    assert_eq!(streamed, json!({"city": "Paris"}));
    assert_eq!(
        server.requests()[3].json()["toolConfig"]["tools"][0]["toolSpec"]["name"],
        "get_weather"
    );
}

/// The credentials callback runs once per attempt, so each attempt (a retry included) is
/// signed with what it returns then: expiring credentials are refreshed, not cached.
fn bedrock_credentials_callback<D: Driver>() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    let server = FakeProvider::start();
    let fetched = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&fetched);
    let setup = Setup {
        aws_credentials: Some(Arc::new(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(onellm_core::provider::bedrock::AwsCredentials {
                access_key_id: format!("ASIAROTATING{n}"),
                secret_access_key: CANARY.into(),
                session_token: Some(format!("session-{n}").into()),
            })
        })),
        ..Setup::default()
    };
    let driver = configured::<D>(&server, &setup);
    server.push(Reply::status(503).header("retry-after", "0"));
    server.push(Reply::text("signed twice"));
    let completion = driver
        .chat(ChatRequest::new(BEDROCK_MODEL).user("x"))
        .unwrap();
    assert_eq!(completion.text(), "signed twice");
    server.push(Reply::text("signed again"));
    driver
        .chat(ChatRequest::new(BEDROCK_MODEL).user("y"))
        .unwrap();
    assert_eq!(fetched.load(Ordering::SeqCst), 3);
    let tokens: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("x-amz-security-token").map(str::to_owned))
        .collect();
    assert_eq!(
        tokens,
        [
            Some("session-1".to_owned()),
            Some("session-2".to_owned()),
            Some("session-3".to_owned())
        ]
    );
    assert!(server.requests().iter().all(|r| r.had_key));
    assert!(!driver.debug().contains(CANARY));

    // A callback that fails fails the attempt with its own error.
    let failing = Setup {
        aws_credentials: Some(Arc::new(|| {
            Err(onellm_core::Error::configuration(
                "credentials expired; log in again",
            ))
        })),
        ..Setup::default()
    };
    let driver = configured::<D>(&server, &failing);
    let error = driver
        .chat(ChatRequest::new(BEDROCK_MODEL).user("z"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(error.message().contains("log in again"), "{error}");
    assert_eq!(
        server.requests().len(),
        3,
        "nothing sent without credentials"
    );
}

fn bedrock_errors_and_retries<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    // Throttling as an HTTP status: retried, and signed afresh.
    server.push(
        Reply::status(429)
            .header(
                "x-amzn-errortype",
                "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
            )
            .header("retry-after", "0"),
    );
    server.push(Reply::text("after throttling"));
    let completion = driver
        .chat(ChatRequest::new(BEDROCK_MODEL).user("x"))
        .unwrap();
    assert_eq!(completion.text(), "after throttling");
    assert_eq!(server.requests().len(), 2);
    assert!(server.requests()[1].header("x-amz-date").is_some());

    // An in-stream throttling exception before any content: retried like the status.
    server.push(Reply::stream_exception(
        "throttlingException",
        "Too many tokens, please wait before trying again.",
    ));
    server.push(Reply::text("streamed after throttling"));
    let (items, completion) = driver.stream_items(ChatRequest::new(BEDROCK_MODEL).user("x"));
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(completion.unwrap().text(), "streamed after throttling");
    assert_eq!(server.requests().len(), 4);

    // A validation exception in the stream is not retried.
    server.push(Reply::stream_exception("validationException", "bad input"));
    let (items, completion) = driver.stream_items(ChatRequest::new(BEDROCK_MODEL).user("x"));
    assert!(completion.is_none());
    let error = items.iter().find_map(|item| item.as_ref().err()).unwrap();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(error.message(), "bad input");
    assert_eq!(server.requests().len(), 5);
    assert_no_canary(error);

    // A plain-JSON 400 on converse-stream, as Bedrock answers an unknown model.
    server.push(
        Reply::status(400).body(r#"{"message":"The provided model identifier is invalid."}"#),
    );
    let (items, _) = driver.stream_items(ChatRequest::new(BEDROCK_MODEL).user("x"));
    let error = items.iter().find_map(|item| item.as_ref().err()).unwrap();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(error.status(), Some(400));
}

fn bedrock_fallback_in_and_out<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    // Into Bedrock: OpenAI refuses the key.
    let request = ChatRequest::new("openai/fail-401")
        .user("fall back please")
        .fallback_models([BEDROCK_MODEL]);
    assert_eq!(driver.chat(request).unwrap().text(), "fall back please");
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/chat/completions",
            "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse"
        ]
    );
    // Out of Bedrock: a service-unavailable exception mid-stream, no retries left.
    server.push(Reply::stream_exception(
        "serviceUnavailableException",
        "busy",
    ));
    server.push(Reply::text("from anthropic"));
    let request = ChatRequest::new(BEDROCK_MODEL)
        .user("x")
        .retries(0)
        .fallback_models(["anthropic/claude-sonnet-4-5"]);
    let (items, completion) = driver.stream_items(request);
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(completion.unwrap().text(), "from anthropic");
    assert_eq!(server.requests().last().unwrap().path, "/v1/messages");
}

fn bedrock_embeddings<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server, &Setup::default());
    let titan = driver
        .embeddings(EmbeddingRequest::new(
            "bedrock/amazon.titan-embed-text-v2:0",
            ["one text"],
        ))
        .unwrap();
    assert_eq!(titan.data.len(), 1);
    assert_eq!(titan.usage.unwrap().prompt_tokens, 2);
    assert_signed(
        &server.requests()[0],
        "/model/amazon.titan-embed-text-v2%3A0/invoke",
    );
    assert_eq!(
        server.requests()[0].json(),
        json!({"inputText": "one text"})
    );
    let cohere = driver
        .embeddings(EmbeddingRequest::new(
            "bedrock/cohere.embed-english-v3",
            ["a", "b", "c"],
        ))
        .unwrap();
    assert_eq!(cohere.data.len(), 3);
    assert_eq!(cohere.data[2].index, 2);
    assert_eq!(server.requests()[1].json()["input_type"], "search_document");
    // Titan takes one text per request: refused before anything is sent.
    let error = driver
        .embeddings(EmbeddingRequest::new(
            "bedrock/amazon.titan-embed-text-v2:0",
            ["a", "b"],
        ))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert_eq!(server.requests().len(), 2);
}

on_both_transports!(
    chat,
    stream,
    tools,
    vision_and_json_mode_translation,
    embeddings_and_completions,
    retry_honours_retry_after,
    retries_exhaust_into_the_error,
    fallback_across_families,
    azure_deployments,
    stream_fallback_before_first_content,
    stream_interrupted_after_content,
    deadline_on_a_hanging_server,
    idle_timeout_on_a_stalled_stream,
    cancellation_by_drop,
    connection_reuse,
    canary_key_never_leaks,
    faults,
    native_families_chat_stream_tools,
    native_families_embeddings_and_errors,
    fallback_into_and_out_of_native_families,
    gemini_chat_and_stream,
    gemini_tools_round_trip,
    gemini_embeddings_and_errors,
    gemini_fallback_in_and_out,
    bedrock_chat_stream_and_tools,
    bedrock_errors_and_retries,
    bedrock_credentials_callback,
    bedrock_fallback_in_and_out,
    bedrock_embeddings,
);
