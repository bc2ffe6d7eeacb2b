//! The fake provider checked through the core's own parsers, over real loopback sockets,
//! with a deliberately tiny HTTP client (so these tests depend on no transport crate).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use onellm_core::{ChatRequest, ChunkAccumulator, ErrorKind, ModelId, Provider, Registry};
use onellm_testkit::{FakeProvider, Fault, Reply};

fn registry(server: &FakeProvider) -> Registry {
    let mut registry = Registry::new();
    registry
        .set_api_key("openai", "sk-canary-testkit")
        .set_base_url("openai", server.openai_base_url());
    registry
}

fn provider(registry: &Registry, id: &str) -> std::sync::Arc<dyn Provider> {
    registry.resolve(&ModelId::parse(id).unwrap()).unwrap()
}

/// Sends a request with `connection: close` and returns (status, headers, raw body, ended cleanly).
fn exchange(request: &http::Request<Bytes>) -> (u16, Vec<(String, String)>, Vec<u8>, bool) {
    let uri = request.uri();
    let address = format!("{}:{}", uri.host().unwrap(), uri.port_u16().unwrap());
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n",
        request.method(),
        uri.path(),
        request.body().len()
    );
    for (name, value) in request.headers() {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(request.body()).unwrap();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (0, Vec::new(), Vec::new(), false);
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v == "chunked");
    if !chunked {
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .unwrap()
            .1
            .parse()
            .unwrap();
        return (
            status,
            headers,
            rest[..rest.len().min(length)].to_vec(),
            rest.len() >= length,
        );
    }
    let (mut body, mut at, mut clean) = (Vec::new(), 0, false);
    while let Some(end) = rest[at..].windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[at..at + end]).unwrap(), 16).unwrap();
        at += end + 2;
        if size == 0 {
            clean = true;
            break;
        }
        if at + size > rest.len() {
            break;
        }
        body.extend_from_slice(&rest[at..at + size]);
        at += size + 2;
    }
    (status, headers, body, clean)
}

fn whole(request: &http::Request<Bytes>) -> http::Response<Bytes> {
    let (status, headers, body, _) = exchange(request);
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder.body(Bytes::from(body)).unwrap()
}

#[test]
fn openai_chat_echo_tool_call_and_error_statuses() {
    let server = FakeProvider::start();
    let registry = registry(&server);
    let openai = provider(&registry, "openai/gpt-4o-mini");
    let request = ChatRequest::new("openai/gpt-4o-mini").user("ping pong");

    let completion = openai
        .parse_chat(&whole(
            &openai.build_chat("gpt-4o-mini", &request, false).unwrap(),
        ))
        .unwrap();
    assert_eq!(completion.text(), "ping pong");
    assert_eq!(completion.model, "gpt-4o-mini");

    server.push(Reply::tool_call("get_weather", r#"{"city":"Paris"}"#));
    let completion = openai
        .parse_chat(&whole(
            &openai.build_chat("gpt-4o-mini", &request, false).unwrap(),
        ))
        .unwrap();
    let calls = completion.message().unwrap().tool_calls.clone().unwrap();
    assert_eq!(calls[0].function.name, "get_weather");

    server.push(Reply::status(429).header("retry-after", "2"));
    let error = openai
        .parse_chat(&whole(
            &openai.build_chat("gpt-4o-mini", &request, false).unwrap(),
        ))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimit);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(2)));

    server.push(Reply::status(400));
    let error = openai
        .parse_chat(&whole(
            &openai.build_chat("gpt-4o-mini", &request, false).unwrap(),
        ))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ContextWindowExceeded);

    let recorded = server.requests();
    assert_eq!(recorded.len(), 4);
    assert_eq!(recorded[0].path, "/v1/chat/completions");
    assert_eq!(recorded[0].header("authorization"), Some("[REDACTED]"));
    assert!(recorded[0].had_key);
    assert!(!format!("{recorded:?}").contains("sk-canary"));
    assert_eq!(recorded[0].json()["model"], "gpt-4o-mini");
}

#[test]
fn openai_stream_with_reasoning_and_tool_call_accumulates() {
    let server = FakeProvider::start();
    let registry = registry(&server);
    let openai = provider(&registry, "openai/gpt-4o-mini");
    let request = ChatRequest::new("openai/gpt-4o-mini").user("hi");
    server.push(
        Reply::text("one two three")
            .reasoning("think first")
            .usage(7, 3),
    );
    let (status, _, body, clean) =
        exchange(&openai.build_chat("gpt-4o-mini", &request, true).unwrap());
    assert_eq!((status, clean), (200, true));
    let mut decoder = openai.chat_stream_decoder("gpt-4o-mini");
    let mut acc = ChunkAccumulator::new();
    for piece in body.chunks(5) {
        decoder.push(piece);
        while let Some(chunk) = decoder.next_chunk() {
            acc.push(&chunk.unwrap());
        }
    }
    decoder.finish();
    assert!(decoder.next_chunk().is_none());
    assert!(decoder.is_complete());
    let completion = acc.completion();
    assert_eq!(completion.text(), "one two three");
    assert_eq!(
        completion.message().unwrap().reasoning_content.as_deref(),
        Some("think first")
    );
    assert_eq!(completion.usage.unwrap().total_tokens, 10);
}

#[test]
fn stream_faults_surface_as_typed_errors() {
    let server = FakeProvider::start();
    let registry = registry(&server);
    let openai = provider(&registry, "openai/gpt-4o-mini");
    let request = ChatRequest::new("openai/gpt-4o-mini").user("a b c d e f");
    for (fault, clean_http, kind) in [
        (Fault::Truncated, true, ErrorKind::Truncated),
        (Fault::MalformedJson, true, ErrorKind::Decode),
        (Fault::ResetMidStream, false, ErrorKind::Truncated),
    ] {
        server.push(Reply::fault(fault));
        let (_, _, body, clean) =
            exchange(&openai.build_chat("gpt-4o-mini", &request, true).unwrap());
        assert_eq!(clean, clean_http, "{fault:?}");
        let mut decoder = openai.chat_stream_decoder("gpt-4o-mini");
        decoder.push(&body);
        decoder.finish();
        let last = std::iter::from_fn(|| decoder.next_chunk()).last().unwrap();
        assert_eq!(last.unwrap_err().kind(), kind, "{fault:?}");
    }
    server.push(Reply::fault(Fault::ResetBeforeHeaders));
    let (status, _, _, _) = exchange(&openai.build_chat("gpt-4o-mini", &request, true).unwrap());
    assert_eq!(status, 0);
}

#[test]
fn embeddings_and_completions_routes() {
    let server = FakeProvider::start();
    let registry = registry(&server);
    let openai = provider(&registry, "openai/text-embedding-3-small");
    let request = onellm_core::EmbeddingRequest::new("openai/x", ["alpha", "beta"]);
    let embeddings = openai
        .parse_embeddings(&whole(&openai.build_embeddings("x", &request).unwrap()))
        .unwrap();
    assert_eq!(embeddings.data.len(), 2);
    let completion = onellm_core::CompletionRequest::new("openai/x", "complete me");
    let parsed = openai
        .parse_completions(&whole(&openai.build_completions("x", &completion).unwrap()))
        .unwrap();
    assert_eq!(parsed.text(), "complete me");
}

#[test]
fn server_stops_on_drop_and_closes_connections() {
    let server = FakeProvider::start();
    let address = server.url().trim_start_matches("http://").to_owned();
    server.push(Reply::fault(Fault::Hang));
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}")
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    drop(server);
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut buffer = [0u8; 16];
    assert_eq!(stream.read(&mut buffer).unwrap_or(0), 0);
    assert!(TcpStream::connect(&address).is_err());
}

#[test]
fn fail_model_names_answer_their_status() {
    let server = FakeProvider::start();
    let registry = registry(&server);
    let openai = provider(&registry, "openai/fail-401");
    let request = ChatRequest::new("openai/fail-401").user("hi");
    let error = openai
        .parse_chat(&whole(
            &openai.build_chat("fail-401", &request, false).unwrap(),
        ))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Authentication);
}

#[test]
fn anthropic_route_whole_and_streamed_agree() {
    let server = FakeProvider::start();
    let mut registry = registry(&server);
    registry
        .set_api_key("anthropic", "sk-ant-canary")
        .set_base_url("anthropic", server.anthropic_base_url());
    let anthropic = provider(&registry, "anthropic/claude-sonnet-4-5");
    let request = ChatRequest::new("anthropic/claude-sonnet-4-5")
        .system("s")
        .user("hello there");
    server.push(
        Reply::tool_call("lookup", r#"{"q":"x y"}"#)
            .reasoning("hmm, a tool")
            .usage(9, 4),
    );
    let whole_reply = anthropic
        .parse_chat(&whole(
            &anthropic
                .build_chat("claude-sonnet-4-5", &request, false)
                .unwrap(),
        ))
        .unwrap();
    server.push(
        Reply::tool_call("lookup", r#"{"q":"x y"}"#)
            .reasoning("hmm, a tool")
            .usage(9, 4),
    );
    let (status, _, body, clean) = exchange(
        &anthropic
            .build_chat("claude-sonnet-4-5", &request, true)
            .unwrap(),
    );
    assert_eq!((status, clean), (200, true));
    let mut decoder = anthropic.chat_stream_decoder("claude-sonnet-4-5");
    let mut acc = ChunkAccumulator::new();
    for piece in body.chunks(3) {
        decoder.push(piece);
        while let Some(chunk) = decoder.next_chunk() {
            acc.push(&chunk.unwrap());
        }
    }
    decoder.finish();
    assert!(decoder.next_chunk().is_none());
    let streamed = acc.completion();
    for completion in [&whole_reply, &streamed] {
        let message = completion.message().unwrap();
        assert_eq!(message.reasoning_content.as_deref(), Some("hmm, a tool"));
        let call = &message.tool_calls.as_ref().unwrap()[0];
        let arguments: serde_json::Value = serde_json::from_str(&call.function.arguments).unwrap();
        assert_eq!(arguments, serde_json::json!({"q": "x y"}));
        assert_eq!(completion.usage.as_ref().unwrap().total_tokens, 13);
    }
    assert_eq!(server.requests()[0].path, "/v1/messages");
    assert_eq!(server.requests()[0].header("x-api-key"), Some("[REDACTED]"));
    let echo = anthropic
        .parse_chat(&whole(
            &anthropic
                .build_chat("claude-sonnet-4-5", &request, false)
                .unwrap(),
        ))
        .unwrap();
    assert_eq!(echo.text(), "hello there");
}
