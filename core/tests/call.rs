//! The Call state machine driven through its public API with a virtual clock: one real
//! `Instant` is taken once as the origin, every other time is that origin plus a `Duration`,
//! and nothing sleeps. Providers are OpenAI-compatible profiles pointing at fake base URLs,
//! answered with hand-written bodies.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use onellm_core::call::{
    Action, AttemptId, Backoff, Call, CallOptions, Operation, Outgoing, Output, Wire,
};
use onellm_core::provider::profiles::Profile;
use onellm_core::{
    ChatCompletionChunk, ChatRequest, CompletionRequest, EmbeddingRequest, Error, ErrorKind,
    Registry, ResponseStreamEvent, ResponsesRequest,
};

mod clock {
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    /// The origin of the virtual clock, captured once.
    pub fn origin() -> Instant {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        *ORIGIN.get_or_init(Instant::now)
    }

    /// The virtual time `seconds` after the origin.
    pub fn at(seconds: f64) -> Instant {
        origin() + Duration::from_secs_f64(seconds)
    }
}
use clock::at;

fn secs(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds)
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .set_api_key("openai", "sk-openai-test")
        .set_base_url("openai", "http://openai.test/v1")
        .set_api_key("groq", "gsk-groq-test")
        .set_base_url("groq", "http://groq.test/v1")
        .set_api_key("anthropic", "sk-ant-test")
        .set_base_url("anthropic", "http://anthropic.test");
    registry.register_openai_compatible(Profile::new("fake", "http://fake.test/v1"));
    registry
}

fn chat(model: &str) -> ChatRequest {
    ChatRequest::new(model).user("Say hello")
}

fn stream_chat(model: &str) -> ChatRequest {
    let mut request = chat(model);
    request.stream = Some(true);
    request
}

fn start(request: impl Into<Operation>, options: CallOptions) -> Call {
    Call::new(&registry(), request.into(), options, 42, at(0.0))
}

fn completion_body(text: &str) -> String {
    format!(
        r#"{{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{{"index":0,"message":{{"role":"assistant","content":"{text}"}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}}}"#
    )
}

fn error_body(kind: &str, code: &str, message: &str) -> String {
    format!(r#"{{"error":{{"message":"{message}","type":"{kind}","param":null,"code":"{code}"}}}}"#)
}

/// An SSE event carrying a chunk of stream `id` with this delta.
fn sse_delta(id: &str, delta: &str) -> String {
    format!(
        "data: {{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":null}}]}}\n\n"
    )
}

fn sse_finish(id: &str) -> String {
    format!(
        "data: {{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}]}}\n\ndata: [DONE]\n\n"
    )
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn response(status: u16, pairs: &[(&'static str, &str)], body: &str) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from(body.to_owned()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    *response.headers_mut() = headers(pairs);
    response
}

fn expect_send(call: &mut Call, now: Instant) -> Outgoing {
    match call.poll(now) {
        Action::Send(outgoing) => outgoing,
        other => panic!("expected Send, got {other:?}"),
    }
}

/// Polls from `now`, following every `Wait` on the virtual clock, until a request is sent.
/// Returns it, the time it was sent and the waits followed.
fn next_send(call: &mut Call, mut now: Instant) -> (Outgoing, Instant, Vec<Duration>) {
    let mut waits = Vec::new();
    loop {
        match call.poll(now) {
            Action::Send(outgoing) => return (outgoing, now, waits),
            Action::Wait(until) => {
                assert!(until > now, "a Wait must be in the future");
                waits.push(until - now);
                now = until;
            }
            other => panic!("expected Send or Wait, got {other:?}"),
        }
    }
}

fn expect_done(call: &mut Call, now: Instant) -> Output {
    match call.poll(now) {
        Action::Done(output) => output,
        other => panic!("expected Done, got {other:?}"),
    }
}

fn expect_failed(call: &mut Call, now: Instant) -> Error {
    match call.poll(now) {
        Action::Failed(error) => error,
        other => panic!("expected Failed, got {other:?}"),
    }
}

fn chat_text(output: Output) -> String {
    match output {
        Output::Chat(completion) => completion.text(),
        other => panic!("expected a chat completion, got {other:?}"),
    }
}

fn host(outgoing: &Outgoing) -> &str {
    outgoing.request.uri().host().unwrap()
}

fn drain(call: &mut Call) -> Vec<ChatCompletionChunk> {
    std::iter::from_fn(|| call.poll_chunk()).collect()
}

#[test]
fn a_call_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<Call>();
    assert_send::<Action>();
}

#[test]
fn success_first_try() {
    let mut call = start(chat("openai/gpt-4o-mini"), CallOptions::default());
    let out = expect_send(&mut call, at(0.0));
    assert_eq!(out.request.uri(), "http://openai.test/v1/chat/completions");
    assert_eq!((out.number, out.stream), (1, false));
    assert_eq!(
        (out.model.as_str(), out.provider.as_str()),
        ("openai/gpt-4o-mini", "openai")
    );
    let body: serde_json::Value = serde_json::from_slice(out.request.body()).unwrap();
    assert_eq!(body["model"], "gpt-4o-mini");
    // Idempotent while awaiting the response: never sent twice.
    for _ in 0..3 {
        assert!(matches!(
            call.poll(at(0.1)),
            Action::Receive { attempt, deadline: None } if attempt == out.attempt
        ));
    }
    call.handle_response(
        out.attempt,
        response(200, &[], &completion_body("Hello!")),
        at(0.5),
    );
    assert!(call.is_terminal());
    assert_eq!(chat_text(expect_done(&mut call, at(0.5))), "Hello!");
    // Sticky.
    assert_eq!(chat_text(expect_done(&mut call, at(9.0))), "Hello!");
    let attempts = call.attempts();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].model, "openai/gpt-4o-mini");
    assert_eq!(attempts[0].provider, "openai");
    assert_eq!(attempts[0].status, Some(200));
    assert_eq!(attempts[0].error, None);
    assert_eq!(attempts[0].waited, Duration::ZERO);
}

/// One 429 with the given headers, then success: returns the wait the machine asked for.
fn wait_after_429(pairs: &[(&'static str, &str)]) -> Duration {
    let mut call = start(chat("openai/gpt-4o"), CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    call.handle_response(first.attempt, response(429, pairs, "{}"), at(1.0));
    let Action::Wait(until) = call.poll(at(1.0)) else {
        panic!("expected a wait")
    };
    // Polling early changes nothing.
    let early = at(1.0) + (until - at(1.0)) / 2;
    assert!(matches!(call.poll(early), Action::Wait(same) if same == until));
    let second = expect_send(&mut call, until);
    assert_eq!(second.number, 2);
    call.handle_response(
        second.attempt,
        response(200, &[], &completion_body("ok")),
        until,
    );
    assert_eq!(chat_text(expect_done(&mut call, until)), "ok");
    let waited = until - at(1.0);
    assert_eq!(call.attempts()[1].waited, waited);
    assert_eq!(call.attempts()[0].kind(), Some(ErrorKind::RateLimit));
    waited
}

#[test]
fn retry_after_seconds_is_waited_exactly() {
    assert_eq!(wait_after_429(&[("retry-after", "2")]), secs(2.0));
}

#[test]
fn retry_after_http_date_is_measured_against_the_date_header() {
    assert_eq!(
        wait_after_429(&[
            ("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT"),
            ("date", "Wed, 21 Oct 2015 07:28:27 GMT"),
        ]),
        secs(3.0)
    );
}

#[test]
fn retry_after_ms_wins_and_replaces_the_backoff() {
    assert_eq!(
        wait_after_429(&[("retry-after-ms", "1500"), ("retry-after", "9")]),
        secs(1.5)
    );
    // Shorter than any backoff ceiling would be: it is not a floor.
    assert_eq!(wait_after_429(&[("retry-after-ms", "5")]), secs(0.005));
}

#[test]
fn retry_after_zero_retries_at_once_without_a_wait() {
    let mut call = start(chat("openai/gpt-4o"), CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    call.handle_response(
        first.attempt,
        response(503, &[("retry-after", "0")], ""),
        at(1.0),
    );
    let second = expect_send(&mut call, at(1.0));
    assert_ne!(second.attempt, first.attempt);
}

#[test]
fn retry_after_above_the_cap_moves_to_the_next_model_at_once() {
    let request = chat("openai/gpt-4o")
        .max_tokens(5)
        .fallback_models(["groq/llama-3.3-70b"]);
    let mut call = start(request, CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    call.handle_response(
        first.attempt,
        response(429, &[("retry-after", "3600")], "{}"),
        at(0.2),
    );
    let first_body: serde_json::Value = serde_json::from_slice(first.request.body()).unwrap();
    assert_eq!(first_body["max_completion_tokens"], 5);
    let second = expect_send(&mut call, at(0.2));
    assert_eq!(host(&second), "groq.test");
    // Built again by the fallback's adapter: its model name, its token field, its key.
    let body: serde_json::Value = serde_json::from_slice(second.request.body()).unwrap();
    assert_eq!(body["model"], "llama-3.3-70b");
    assert_eq!(body["max_tokens"], 5);
    assert!(body.get("max_completion_tokens").is_none());
    assert!(body.get("fallback_models").is_none());
    assert_eq!(
        second.request.headers()["authorization"],
        "Bearer gsk-groq-test"
    );
    call.handle_response(
        second.attempt,
        response(200, &[], &completion_body("hi")),
        at(0.4),
    );
    assert_eq!(chat_text(expect_done(&mut call, at(0.4))), "hi");
    assert_eq!(call.attempts()[1].waited, Duration::ZERO);
}

#[test]
fn server_errors_retry_with_backoff_then_fall_back() {
    let request = chat("openai/gpt-4o").fallback_models(["groq/llama-3.3-70b"]);
    let mut call = start(request, CallOptions::default());
    let mut now = at(0.0);
    let backoff = Backoff::default();
    for round in 0..3u32 {
        let (out, sent, waits) = next_send(&mut call, now);
        assert_eq!(host(&out), "openai.test");
        assert_eq!(out.number, round + 1);
        if round > 0 {
            let wait: Duration = waits.iter().sum();
            assert!(wait <= backoff.ceiling(round - 1), "{wait:?}");
            assert_eq!(
                call.attempts()[round as usize - 1]
                    .error
                    .as_ref()
                    .unwrap()
                    .status(),
                Some(500)
            );
        }
        now = sent + secs(0.1);
        call.handle_response(
            out.attempt,
            response(500, &[], &error_body("server_error", "", "boom")),
            now,
        );
    }
    // Retries used up: the fallback goes out at once.
    let fallback = expect_send(&mut call, now);
    assert_eq!(host(&fallback), "groq.test");
    assert_eq!(fallback.number, 4);
    call.handle_response(
        fallback.attempt,
        response(200, &[], &completion_body("saved")),
        now,
    );
    assert_eq!(chat_text(expect_done(&mut call, now)), "saved");
    let kinds: Vec<_> = call.attempts().iter().map(|a| a.kind()).collect();
    assert_eq!(
        kinds,
        [
            Some(ErrorKind::ServiceUnavailable),
            Some(ErrorKind::ServiceUnavailable),
            Some(ErrorKind::ServiceUnavailable),
            None
        ]
    );
    assert_eq!(call.attempts()[3].provider, "groq");
}

const ANTHROPIC_MESSAGE: &str = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"Bonjour"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":2}}"#;

fn anthropic_event(name: &str, data: &str) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn anthropic_start() -> String {
    anthropic_event(
        "message_start",
        r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}"#,
    )
}

fn anthropic_text_stream(text: &str) -> String {
    let mut body = anthropic_start();
    body += &anthropic_event(
        "content_block_start",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    );
    body += &anthropic_event(
        "content_block_delta",
        &format!(
            r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"{text}"}}}}"#
        ),
    );
    body += &anthropic_event(
        "content_block_stop",
        r#"{"type":"content_block_stop","index":0}"#,
    );
    body += &anthropic_event(
        "message_delta",
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}"#,
    );
    body + &anthropic_event("message_stop", r#"{"type":"message_stop"}"#)
}

#[test]
fn fallback_to_another_wire_protocol_translates_the_request_again() {
    let request = chat("openai/gpt-4o")
        .system("Answer in French.")
        .max_tokens(50)
        .retries(0)
        .fallback_models(["anthropic/claude-x"]);
    let mut call = start(request, CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    call.handle_response(first.attempt, response(503, &[], ""), at(0.1));
    let second = expect_send(&mut call, at(0.1));
    assert_eq!(second.request.uri(), "http://anthropic.test/v1/messages");
    assert_eq!(second.request.headers()["x-api-key"], "sk-ant-test");
    assert!(second.request.headers().get("authorization").is_none());
    let body: serde_json::Value = serde_json::from_slice(second.request.body()).unwrap();
    assert_eq!(body["model"], "claude-x");
    assert_eq!(body["max_tokens"], 50);
    assert_eq!(body["system"], "Answer in French.");
    call.handle_response(
        second.attempt,
        response(200, &[], ANTHROPIC_MESSAGE),
        at(0.2),
    );
    assert_eq!(chat_text(expect_done(&mut call, at(0.2))), "Bonjour");
    assert_eq!(call.attempts()[1].provider, "anthropic");
}

#[test]
fn anthropic_overloaded_event_before_content_is_retried_like_a_529() {
    let mut call = start(stream_chat("anthropic/claude-x"), CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    let mut body = anthropic_start();
    body += &anthropic_event(
        "error",
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    );
    call.handle_response(first.attempt, response(200, &[], &body), at(0.1));
    assert!(
        drain(&mut call).is_empty(),
        "the held role chunk is dropped"
    );
    assert_eq!(
        call.attempts()[0].kind(),
        Some(ErrorKind::ServiceUnavailable)
    );
    let (second, sent, _) = next_send(&mut call, at(0.1));
    assert_eq!(second.provider, "anthropic");
    call.handle_response(
        second.attempt,
        response(200, &[], &anthropic_text_stream("Salut")),
        sent,
    );
    let chunks = drain(&mut call);
    let roles = chunks
        .iter()
        .filter(|c| c.choices.iter().any(|choice| choice.delta.role.is_some()))
        .count();
    assert_eq!(roles, 1, "one role chunk, from the second attempt");
    let text: String = chunks.iter().filter_map(|c| c.text()).collect();
    assert_eq!(text, "Salut");
    assert_eq!(chat_text(expect_done(&mut call, sent)), "Salut");
}

#[test]
fn authentication_error_falls_back_without_retry() {
    let request = chat("openai/gpt-4o").fallback_models(["groq/llama-3.3-70b"]);
    let mut call = start(request, CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    call.handle_response(
        first.attempt,
        response(
            401,
            &[],
            &error_body(
                "invalid_request_error",
                "invalid_api_key",
                "Incorrect API key provided: sk-openai-test",
            ),
        ),
        at(0.1),
    );
    let second = expect_send(&mut call, at(0.1));
    assert_eq!(host(&second), "groq.test");
    call.handle_response(
        second.attempt,
        response(200, &[], &completion_body("hi")),
        at(0.2),
    );
    expect_done(&mut call, at(0.2));
    let first_error = call.attempts()[0].error.clone().unwrap();
    assert_eq!(first_error.kind(), ErrorKind::Authentication);
    assert_eq!(first_error.provider(), Some("openai"));
    assert!(!first_error.to_string().contains("sk-openai-test"));
}

#[test]
fn invalid_request_fails_at_once_with_its_own_error() {
    let request = chat("openai/gpt-4o").fallback_models(["groq/llama-3.3-70b"]);
    let mut call = start(request, CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    call.handle_response(
        first.attempt,
        response(
            400,
            &[("x-request-id", "req_123")],
            &error_body("invalid_request_error", "", "temperature must be at most 2"),
        ),
        at(0.1),
    );
    let error = expect_failed(&mut call, at(0.1));
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(error.status(), Some(400));
    assert_eq!(error.request_id(), Some("req_123"));
    assert_eq!(error.provider(), Some("openai"));
    assert_eq!(error.model(), Some("gpt-4o"));
    assert_eq!(error.attempts().len(), 1);
    // Sticky, and later input changes nothing.
    call.handle_response(
        first.attempt,
        response(200, &[], &completion_body("x")),
        at(0.2),
    );
    assert_eq!(expect_failed(&mut call, at(5.0)), error);
}

#[test]
fn context_window_exceeded_falls_back() {
    let request = chat("openai/gpt-4o").fallback_models(["groq/llama-3.3-70b"]);
    let mut call = start(request, CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    call.handle_response(
        first.attempt,
        response(
            400,
            &[],
            &error_body(
                "invalid_request_error",
                "context_length_exceeded",
                "This model's maximum context length is 128000 tokens.",
            ),
        ),
        at(0.1),
    );
    let second = expect_send(&mut call, at(0.1));
    assert_eq!(host(&second), "groq.test");
    assert_eq!(
        call.attempts()[0].kind(),
        Some(ErrorKind::ContextWindowExceeded)
    );
}

#[test]
fn a_wait_past_the_deadline_fails_with_timeout_without_sleeping() {
    let options = CallOptions {
        total_timeout: Some(secs(1.5)),
        ..CallOptions::default()
    };
    let mut call = start(chat("openai/gpt-4o"), options);
    let first = expect_send(&mut call, at(0.0));
    assert_eq!(first.deadline, Some(at(1.5)));
    call.handle_response(
        first.attempt,
        response(429, &[("retry-after", "2")], "{}"),
        at(0.1),
    );
    // No Wait: the machine fails right away.
    let error = expect_failed(&mut call, at(0.1));
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(error.attempts().len(), 1);
    assert_eq!(error.attempts()[0].kind(), Some(ErrorKind::RateLimit));
    assert!(error.message().contains("rate"), "{error}");
}

#[test]
fn computed_backoff_past_the_deadline_fails_with_timeout() {
    // Every ceiling is 10 s; with 1 s left, only a draw under 0.9 s could be waited.
    let options = CallOptions {
        total_timeout: Some(secs(1.0)),
        backoff: Backoff {
            base: secs(10.0),
            factor: 1.0,
            cap: secs(10.0),
        },
        ..CallOptions::default()
    };
    for seed in 0..50 {
        let mut call = Call::new(
            &registry(),
            chat("openai/gpt-4o").into(),
            options.clone(),
            seed,
            at(0.0),
        );
        let first = expect_send(&mut call, at(0.0));
        call.handle_response(first.attempt, response(503, &[], ""), at(0.1));
        match call.poll(at(0.1)) {
            Action::Wait(until) => assert!(until < at(1.0)),
            Action::Failed(error) => assert_eq!(error.kind(), ErrorKind::Timeout),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn total_deadline_bounds_an_attempt_in_flight() {
    let options = CallOptions {
        total_timeout: Some(secs(5.0)),
        attempt_timeout: Some(secs(2.0)),
        ..CallOptions::default()
    };
    let mut call = start(chat("openai/gpt-4o"), options);
    let first = expect_send(&mut call, at(0.0));
    assert_eq!(first.deadline, Some(at(2.0)));
    assert!(matches!(
        call.poll(at(1.0)),
        Action::Receive { deadline: Some(d), .. } if d == at(2.0)
    ));
    // The attempt timeout passes: poll handles it and retries.
    let (second, sent, _) = next_send(&mut call, at(2.0));
    assert_eq!(call.attempts()[0].kind(), Some(ErrorKind::Timeout));
    assert!(second.deadline.unwrap() <= at(5.0));
    // The total deadline passes during the second attempt.
    assert!(sent < at(5.0));
    // No time is left: neither a wait nor a send, the call fails.
    let error = expect_failed(&mut call, at(5.0));
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(error.attempts().len(), 2);
}

#[test]
fn stream_failing_before_content_falls_back_and_streams_from_the_start() {
    let request = stream_chat("openai/gpt-4o")
        .fallback_models(["groq/llama-3.3-70b"])
        .retries(0);
    let mut call = start(request, CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    assert!(first.stream);
    let body: serde_json::Value = serde_json::from_slice(first.request.body()).unwrap();
    assert_eq!(body["stream"], true);
    call.handle_head(
        first.attempt,
        StatusCode::OK,
        headers(&[("content-type", "text/event-stream")]),
        at(0.1),
    );
    call.handle_body(
        first.attempt,
        sse_delta("first", r#"{"role":"assistant","content":""}"#).as_bytes(),
        at(0.2),
    );
    // The role-only chunk is held back.
    assert!(drain(&mut call).is_empty());
    call.handle_transport_error(
        first.attempt,
        Error::new(ErrorKind::Connection, "connection reset"),
        at(0.3),
    );
    let second = expect_send(&mut call, at(0.3));
    assert_eq!(host(&second), "groq.test");
    let mut stream = String::new();
    stream += &sse_delta("second", r#"{"role":"assistant","content":""}"#);
    stream += &sse_delta("second", r#"{"content":"Hel"}"#);
    stream += &sse_delta("second", r#"{"content":"lo"}"#);
    stream += &sse_finish("second");
    call.handle_head(second.attempt, StatusCode::OK, HeaderMap::new(), at(0.4));
    // Fed one byte at a time.
    for byte in stream.as_bytes() {
        call.handle_body(second.attempt, std::slice::from_ref(byte), at(0.5));
    }
    let chunks = drain(&mut call);
    assert!(chunks.iter().all(|c| c.id == "second"));
    assert_eq!(chunks.len(), 4);
    let text: String = chunks.iter().filter_map(|c| c.text()).collect();
    assert_eq!(text, "Hello");
    // Done at the terminal marker, before the end of the body.
    assert_eq!(chat_text(expect_done(&mut call, at(0.5))), "Hello");
    call.handle_eof(second.attempt, at(0.6));
    assert_eq!(call.attempts().len(), 2);
    assert_eq!(call.attempts()[0].kind(), Some(ErrorKind::Connection));
    assert_eq!(call.attempts()[0].status, Some(200));
}

#[test]
fn stream_failing_after_content_is_interrupted_with_the_partial_text() {
    let request = stream_chat("openai/gpt-4o").fallback_models(["groq/llama-3.3-70b"]);
    let mut call = start(request, CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    call.handle_head(first.attempt, StatusCode::OK, HeaderMap::new(), at(0.1));
    let mut body = sse_delta("s", r#"{"role":"assistant","content":""}"#);
    body += &sse_delta("s", r#"{"content":"Hel"}"#);
    call.handle_body(first.attempt, body.as_bytes(), at(0.2));
    let chunks = drain(&mut call);
    assert_eq!(
        chunks.len(),
        2,
        "the held role chunk comes with the first content"
    );
    assert!(!call.is_terminal());
    // The connection drops without [DONE].
    call.handle_eof(first.attempt, at(0.3));
    let error = expect_failed(&mut call, at(0.3));
    assert_eq!(error.kind(), ErrorKind::StreamInterrupted);
    assert_eq!(error.partial_completion().unwrap().text(), "Hel");
    assert_eq!(error.attempts().len(), 1);
    assert_eq!(error.attempts()[0].kind(), Some(ErrorKind::Truncated));
    assert!(drain(&mut call).is_empty());
}

#[test]
fn stream_idle_timeout_after_content_is_interrupted() {
    let options = CallOptions {
        first_byte_timeout: Some(secs(5.0)),
        idle_timeout: Some(secs(2.0)),
        ..CallOptions::default()
    };
    let mut call = start(stream_chat("openai/gpt-4o"), options);
    let first = expect_send(&mut call, at(0.0));
    assert!(matches!(
        call.poll(at(0.0)),
        Action::Receive { deadline: Some(d), .. } if d == at(5.0)
    ));
    call.handle_head(first.attempt, StatusCode::OK, HeaderMap::new(), at(1.0));
    call.handle_body(
        first.attempt,
        sse_delta("s", r#"{"content":"Hi"}"#).as_bytes(),
        at(1.5),
    );
    assert!(matches!(
        call.poll(at(1.5)),
        Action::Receive { deadline: Some(d), .. } if d == at(3.5)
    ));
    let error = expect_failed(&mut call, at(3.5));
    assert_eq!(error.kind(), ErrorKind::StreamInterrupted);
    assert!(error.message().contains("idle"), "{error}");
    assert_eq!(error.partial_completion().unwrap().text(), "Hi");
    assert_eq!(drain(&mut call).len(), 1);
}

#[test]
fn first_byte_timeout_retries_the_stream() {
    let options = CallOptions {
        first_byte_timeout: Some(secs(3.0)),
        ..CallOptions::default()
    };
    let mut call = start(stream_chat("openai/gpt-4o"), options);
    let first = expect_send(&mut call, at(0.0));
    call.handle_head(first.attempt, StatusCode::OK, HeaderMap::new(), at(0.5));
    call.handle_timeout(first.attempt, at(3.0));
    let (second, _, _) = next_send(&mut call, at(3.0));
    assert_ne!(second.attempt, first.attempt);
    let error = call.attempts()[0].error.clone().unwrap();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(error.message().contains("first-byte"), "{error}");
}

#[test]
fn done_may_come_before_the_chunks_are_drained() {
    let mut call = start(stream_chat("openai/gpt-4o"), CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    let mut body = sse_delta("s", r#"{"role":"assistant"}"#);
    body += &sse_delta("s", r#"{"content":"A"}"#);
    body += &sse_delta("s", r#"{"content":"B"}"#);
    body += &sse_finish("s");
    call.handle_response(first.attempt, response(200, &[], &body), at(0.1));
    // Done is already known; the chunks are still queued and come out in order.
    assert_eq!(chat_text(expect_done(&mut call, at(0.1))), "AB");
    let chunks = drain(&mut call);
    assert_eq!(chunks.len(), 4);
    let text: String = chunks.iter().filter_map(|c| c.text()).collect();
    assert_eq!(text, "AB");
    assert!(call.poll_chunk().is_none());
}

#[test]
fn in_stream_errors_before_content_are_classified_like_statuses() {
    // A rate-limit error event is retried on the same model.
    let mut call = start(stream_chat("openai/gpt-4o"), CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    let mut body = sse_delta("s", r#"{"role":"assistant","content":""}"#);
    body += "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}\n\n";
    call.handle_response(first.attempt, response(200, &[], &body), at(0.1));
    let (second, _, _) = next_send(&mut call, at(0.1));
    assert_eq!(host(&second), "openai.test");
    assert_eq!(call.attempts()[0].kind(), Some(ErrorKind::RateLimit));
    assert!(drain(&mut call).is_empty());

    // A context-window error event goes to the fallback.
    let request = stream_chat("openai/gpt-4o").fallback_models(["groq/llama-3.3-70b"]);
    let mut call = start(request, CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    let body = "event: error\ndata: {\"error\":{\"message\":\"Please reduce the length of the messages\",\"type\":\"invalid_request_error\",\"code\":\"context_length_exceeded\"}}\n\n";
    call.handle_response(first.attempt, response(200, &[], body), at(0.1));
    let second = expect_send(&mut call, at(0.1));
    assert_eq!(host(&second), "groq.test");
    assert_eq!(
        call.attempts()[0].kind(),
        Some(ErrorKind::ContextWindowExceeded)
    );
}

#[test]
fn streaming_error_status_reads_the_error_body() {
    let request = stream_chat("openai/gpt-4o").retries(0);
    let mut call = start(request, CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    call.handle_head(
        first.attempt,
        StatusCode::TOO_MANY_REQUESTS,
        headers(&[("retry-after", "1")]),
        at(0.1),
    );
    let body = error_body("requests", "rate_limit_exceeded", "Rate limit reached");
    let (a, b) = body.as_bytes().split_at(10);
    call.handle_body(first.attempt, a, at(0.2));
    call.handle_body(first.attempt, b, at(0.3));
    call.handle_eof(first.attempt, at(0.4));
    let error = expect_failed(&mut call, at(0.4));
    assert_eq!(error.kind(), ErrorKind::RateLimit);
    assert_eq!(error.message(), "Rate limit reached");
    assert_eq!(error.retry_after(), Some(secs(1.0)));
    assert_eq!(error.attempts()[0].status, Some(429));
}

#[test]
fn stale_attempt_input_is_ignored() {
    let mut call = start(chat("openai/gpt-4o"), CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    call.handle_timeout(first.attempt, at(1.0));
    let (second, sent, _) = next_send(&mut call, at(1.0));
    // The first attempt's late answer (and its errors) are ignored.
    call.handle_response(
        first.attempt,
        response(200, &[], &completion_body("late")),
        sent,
    );
    call.handle_transport_error(first.attempt, Error::new(ErrorKind::Connection, "x"), sent);
    call.handle_timeout(first.attempt, sent);
    assert!(matches!(
        call.poll(sent),
        Action::Receive { attempt, .. } if attempt == second.attempt
    ));
    call.handle_response(
        second.attempt,
        response(200, &[], &completion_body("fresh")),
        sent,
    );
    assert_eq!(chat_text(expect_done(&mut call, sent)), "fresh");
    assert_eq!(call.attempts().len(), 2);
}

#[test]
fn clock_going_backwards_is_clamped() {
    let mut call = start(chat("openai/gpt-4o"), CallOptions::default());
    let first = expect_send(&mut call, at(10.0));
    call.handle_response(
        first.attempt,
        response(503, &[("retry-after", "2")], ""),
        at(10.0),
    );
    let Action::Wait(until) = call.poll(at(3.0)) else {
        panic!("expected a wait")
    };
    assert_eq!(until, at(12.0));
    let second = expect_send(&mut call, at(12.0));
    call.handle_response(
        second.attempt,
        response(200, &[], &completion_body("ok")),
        at(1.0),
    );
    assert_eq!(chat_text(expect_done(&mut call, at(0.0))), "ok");
    assert_eq!(call.attempts()[1].waited, secs(2.0));
}

/// The waits a call with three 503s in a row asks for, under `seed`.
fn waits_for_seed(seed: u64) -> Vec<Duration> {
    let mut call = Call::new(
        &registry(),
        chat("openai/gpt-4o").retries(3).into(),
        CallOptions::default(),
        seed,
        at(0.0),
    );
    let mut now = at(0.0);
    for _ in 0..4 {
        let (out, sent, _) = next_send(&mut call, now);
        now = sent;
        call.handle_response(out.attempt, response(503, &[], ""), now);
    }
    expect_failed(&mut call, now);
    call.attempts().iter().map(|a| a.waited).collect()
}

#[test]
fn the_same_seed_gives_the_same_waits_and_different_seeds_differ() {
    assert_eq!(waits_for_seed(1), waits_for_seed(1));
    assert_ne!(waits_for_seed(1), waits_for_seed(2));
}

#[test]
fn jittered_waits_stay_within_the_computed_backoff() {
    let backoff = Backoff::default();
    for seed in 0..200 {
        let waits = waits_for_seed(seed);
        assert_eq!(waits[0], Duration::ZERO);
        for (retry, wait) in waits[1..].iter().enumerate() {
            assert!(
                *wait <= backoff.ceiling(retry as u32),
                "seed {seed}: {waits:?}"
            );
        }
    }
}

#[test]
fn x_should_retry_false_on_a_500_is_not_retried() {
    let mut call = start(chat("openai/gpt-4o"), CallOptions::default());
    let first = expect_send(&mut call, at(0.0));
    call.handle_response(
        first.attempt,
        response(500, &[("x-should-retry", "false")], "oops"),
        at(0.1),
    );
    let error = expect_failed(&mut call, at(0.1));
    assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
    assert_eq!(error.attempts().len(), 1);
}

#[test]
fn exhaustion_of_several_models_is_all_failed_with_every_attempt() {
    let request = chat("openai/gpt-4o")
        .fallback_models(["groq/llama-3.3-70b", "fake/m"])
        .retries(1);
    let mut call = start(request, CallOptions::default());
    let mut now = at(0.0);
    for _ in 0..6 {
        let (out, sent, _) = next_send(&mut call, now);
        now = sent;
        call.handle_transport_error(
            out.attempt,
            Error::new(ErrorKind::Connection, "refused"),
            now,
        );
    }
    let error = expect_failed(&mut call, now);
    assert_eq!(error.kind(), ErrorKind::AllFailed);
    let providers: Vec<&str> = error
        .attempts()
        .iter()
        .map(|a| a.provider.as_str())
        .collect();
    assert_eq!(
        providers,
        ["openai", "openai", "groq", "groq", "fake", "fake"]
    );
    assert!(error.to_string().contains("refused"), "{error}");
}

#[test]
fn misconfigured_ids_fail_fast_and_keyless_providers_are_skipped() {
    // A typo in a provider name or a malformed id, anywhere in the chain, is a bug in the
    // program: the call fails at once, naming the id, with nothing sent.
    for (request, named) in [
        (
            chat("opnai/gpt-4o").fallback_models(["openai/gpt-4o"]),
            "opnai",
        ),
        (
            chat("openai/gpt-4o").fallback_models(["no-slash"]),
            "no-slash",
        ),
        (
            chat("openai/gpt-4o").fallback_models(["anthropc/claude"]),
            "anthropc",
        ),
    ] {
        let mut call = start(request, CallOptions::default());
        let error = expect_failed(&mut call, at(0.0));
        assert_eq!(error.kind(), ErrorKind::Configuration);
        assert!(error.message().contains(named), "{error}");
        assert!(error.attempts().is_empty(), "nothing was tried");
    }
    let mut call = start(chat("opnai/gpt-4o"), CallOptions::default());
    let typo = expect_failed(&mut call, at(0.0));
    assert!(
        typo.message().contains(r#"did you mean "openai""#),
        "{typo}"
    );

    // A provider that exists but has no key is a deployment matter: a skipped attempt
    // naming the variable to set, and the fallback answers.
    let mut keyless = Registry::new();
    keyless
        .set_api_key("openai", "sk-openai-test")
        .set_base_url("openai", "http://openai.test/v1");
    let request = chat("groq/llama-3.3-70b").fallback_models(["openai/gpt-4o"]);
    let mut call = Call::new(&keyless, request.into(), CallOptions::default(), 0, at(0.0));
    let out = expect_send(&mut call, at(0.0));
    assert_eq!(host(&out), "openai.test");
    assert_eq!(out.number, 2);
    call.handle_response(
        out.attempt,
        response(200, &[], &completion_body("ok")),
        at(0.1),
    );
    expect_done(&mut call, at(0.1));
    let attempts = call.attempts();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].kind(), Some(ErrorKind::Configuration));
    assert_eq!(attempts[0].model, "groq/llama-3.3-70b");
    assert!(attempts[0]
        .error
        .as_ref()
        .is_some_and(|error| error.message().contains("GROQ_API_KEY")));
    assert!(attempts[1].error.is_none());
}

#[test]
fn request_fields_beat_options_and_provider_settings_beat_the_default() {
    // The request says no fallbacks and one retry; the options say otherwise.
    let options = CallOptions {
        fallback_models: vec!["groq/llama-3.3-70b".into()],
        retries: 5,
        ..CallOptions::default()
    };
    let mut request = chat("openai/gpt-4o").retries(1);
    request.fallback_models = Some(Vec::new());
    let mut call = start(request, options.clone());
    let mut now = at(0.0);
    for _ in 0..2 {
        let (out, sent, _) = next_send(&mut call, now);
        now = sent;
        call.handle_response(out.attempt, response(502, &[], ""), now);
    }
    assert_eq!(expect_failed(&mut call, now).attempts().len(), 2);

    // Without the request fields, the options' fallbacks apply, and groq's max_retries (0)
    // beats the options' retries.
    let mut registry = registry();
    registry.settings_mut("groq").max_retries = Some(0);
    let mut call = Call::new(&registry, chat("groq/llama").into(), options, 0, at(0.0));
    let out = expect_send(&mut call, at(0.0));
    assert_eq!(host(&out), "groq.test");
    call.handle_response(out.attempt, response(502, &[], ""), at(0.1));
    let out = expect_send(&mut call, at(0.1));
    assert_eq!(host(&out), "groq.test", "the fallback from the options");
    call.handle_response(out.attempt, response(502, &[], ""), at(0.2));
    let error = expect_failed(&mut call, at(0.2));
    assert_eq!(error.kind(), ErrorKind::AllFailed);
    assert_eq!(error.attempts().len(), 2);
}

#[test]
fn registry_timeout_is_the_default_total_deadline() {
    let mut registry = registry();
    registry.set_timeout(secs(30.0));
    registry.settings_mut("openai").timeout = Some(secs(10.0));
    let mut call = Call::new(
        &registry,
        chat("openai/gpt-4o").into(),
        CallOptions::default(),
        0,
        at(0.0),
    );
    let out = expect_send(&mut call, at(0.0));
    assert_eq!(
        out.deadline,
        Some(at(10.0)),
        "the provider's timeout bounds the attempt"
    );
    call.handle_timeout(out.attempt, at(10.0));
    assert_eq!(call.attempts()[0].kind(), Some(ErrorKind::Timeout));
}

#[test]
fn the_request_timeout_beats_the_client_and_registry_timeouts() {
    let mut registry = registry();
    registry.set_timeout(secs(30.0));
    let options = CallOptions {
        total_timeout: Some(secs(20.0)),
        ..CallOptions::default()
    };
    let request = chat("openai/gpt-4o").with_timeout(secs(2.5));
    let mut call = Call::new(&registry, request.into(), options, 0, at(0.0));
    let out = expect_send(&mut call, at(0.0));
    assert_eq!(out.deadline, Some(at(2.5)));
    let body: serde_json::Value = serde_json::from_slice(out.request.body()).unwrap();
    assert!(body.get("timeout").is_none(), "OneLLM's field is not sent");
    call.handle_timeout(out.attempt, at(2.5));
    assert_eq!(expect_failed(&mut call, at(2.5)).kind(), ErrorKind::Timeout);
}

#[test]
fn embeddings_through_the_machine() {
    let request = EmbeddingRequest::new("openai/text-embedding-3-small", ["a", "b"]);
    let mut call = start(request, CallOptions::default());
    let out = expect_send(&mut call, at(0.0));
    assert_eq!(out.request.uri(), "http://openai.test/v1/embeddings");
    call.handle_response(
        out.attempt,
        response(503, &[("retry-after", "1")], ""),
        at(0.0),
    );
    let (out, sent, waits) = next_send(&mut call, at(0.0));
    assert_eq!(waits, [secs(1.0)]);
    let body = r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]},{"object":"embedding","index":1,"embedding":[0.3,0.4]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":2,"total_tokens":2}}"#;
    call.handle_response(out.attempt, response(200, &[], body), sent);
    match expect_done(&mut call, sent) {
        Output::Embeddings(embeddings) => assert_eq!(embeddings.data.len(), 2),
        other => panic!("{other:?}"),
    }

    // A provider without embeddings is skipped for the fallback.
    let mut request = EmbeddingRequest::new("groq/any", ["a"]);
    request.fallback_models = Some(vec!["openai/text-embedding-3-small".into()]);
    let mut call = start(request, CallOptions::default());
    let out = expect_send(&mut call, at(0.0));
    assert_eq!(host(&out), "openai.test");
    assert_eq!(call.attempts()[0].kind(), Some(ErrorKind::Unsupported));
}

#[test]
fn completions_through_the_machine() {
    let request = CompletionRequest::new("fake/babbage", "Say this is a test");
    let mut call = start(request, CallOptions::default());
    let out = expect_send(&mut call, at(0.0));
    assert_eq!(out.request.uri(), "http://fake.test/v1/completions");
    let body = r#"{"id":"cmpl-1","object":"text_completion","created":1,"model":"babbage","choices":[{"text":"This is a test.","index":0,"logprobs":null,"finish_reason":"stop"}]}"#;
    call.handle_response(out.attempt, response(200, &[], body), at(0.1));
    match expect_done(&mut call, at(0.1)) {
        Output::Completions(completion) => assert_eq!(completion.text(), "This is a test."),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cancel_ends_the_call_and_sticks() {
    let mut call = start(chat("openai/gpt-4o"), CallOptions::default());
    let out = expect_send(&mut call, at(0.0));
    call.cancel();
    assert!(call.is_terminal());
    let error = expect_failed(&mut call, at(0.1));
    assert_eq!(error.kind(), ErrorKind::Cancelled);
    assert_eq!(error.attempts().len(), 1);
    assert_eq!(error.attempts()[0].kind(), Some(ErrorKind::Cancelled));
    call.handle_response(
        out.attempt,
        response(200, &[], &completion_body("late")),
        at(0.2),
    );
    call.cancel();
    assert_eq!(expect_failed(&mut call, at(0.3)), error);

    // Cancelling a streamed call after content keeps the partial completion.
    let mut call = start(stream_chat("openai/gpt-4o"), CallOptions::default());
    let out = expect_send(&mut call, at(0.0));
    call.handle_head(out.attempt, StatusCode::OK, HeaderMap::new(), at(0.1));
    call.handle_body(
        out.attempt,
        sse_delta("s", r#"{"content":"par"}"#).as_bytes(),
        at(0.2),
    );
    call.cancel();
    let error = expect_failed(&mut call, at(0.3));
    assert_eq!(error.kind(), ErrorKind::Cancelled);
    assert_eq!(error.partial_completion().unwrap().text(), "par");

    // Cancelling during a wait records no extra attempt.
    let mut call = start(chat("openai/gpt-4o"), CallOptions::default());
    let out = expect_send(&mut call, at(0.0));
    call.handle_response(
        out.attempt,
        response(429, &[("retry-after", "5")], ""),
        at(0.0),
    );
    assert!(matches!(call.poll(at(0.0)), Action::Wait(_)));
    call.cancel();
    assert_eq!(expect_failed(&mut call, at(0.0)).attempts().len(), 1);
}

#[test]
fn oversized_bodies_are_decode_errors() {
    let options = CallOptions {
        max_body_bytes: 64,
        ..CallOptions::default()
    };
    let request = chat("openai/gpt-4o").fallback_models(["groq/llama-3.3-70b"]);
    let mut call = start(request, options);
    let out = expect_send(&mut call, at(0.0));
    call.handle_response(
        out.attempt,
        response(200, &[], &completion_body("x".repeat(100).as_str())),
        at(0.1),
    );
    let error = call.attempts()[0].error.clone().unwrap();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.message().contains("body too large"), "{error}");
    assert_eq!(error.status(), Some(200));
    // Decode errors fall back.
    assert_eq!(host(&expect_send(&mut call, at(0.1))), "groq.test");
}

#[test]
fn eof_before_the_head_is_a_connection_error() {
    let mut call = start(chat("openai/gpt-4o"), CallOptions::default());
    let out = expect_send(&mut call, at(0.0));
    // Body bytes before any head are ignored; the end of it is a connection failure.
    call.handle_body(out.attempt, b"garbage", at(0.1));
    call.handle_eof(out.attempt, at(0.1));
    assert_eq!(call.attempts()[0].kind(), Some(ErrorKind::Connection));
    assert_eq!(call.attempts()[0].status, None);
}

#[test]
fn an_unparseable_success_body_falls_back() {
    let request = chat("openai/gpt-4o").fallback_models(["groq/llama-3.3-70b"]);
    let mut call = start(request, CallOptions::default());
    let out = expect_send(&mut call, at(0.0));
    call.handle_response(
        out.attempt,
        response(200, &[], "<html>oops</html>"),
        at(0.1),
    );
    // Not an OpenAI reply at all (a portal's page, a wrong base URL): no retry, a fallback.
    assert_eq!(
        call.attempts()[0].kind(),
        Some(ErrorKind::UnexpectedResponse)
    );
    assert_eq!(host(&expect_send(&mut call, at(0.1))), "groq.test");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Target {
        Current,
        Stale(u8),
    }

    #[derive(Debug, Clone)]
    enum Input {
        Poll,
        Advance(u16),
        Back(u16),
        Response(Target, u16, u8, bool),
        Head(Target, u16),
        Body(Target, u8),
        Eof(Target),
        TransportError(Target, bool),
        Timeout(Target),
        TakeChunk,
        /// Cancels only when the value is below 4: a cancel ends the run, so keep it rare.
        Cancel(u8),
    }

    fn target() -> impl Strategy<Value = Target> {
        prop_oneof![4 => Just(Target::Current), 1 => any::<u8>().prop_map(Target::Stale)]
    }

    fn input() -> impl Strategy<Value = Input> {
        prop_oneof![
            6 => Just(Input::Poll),
            3 => any::<u16>().prop_map(Input::Advance),
            1 => any::<u16>().prop_map(Input::Back),
            4 => (target(), prop_oneof![Just(200u16), Just(400), Just(401), Just(408), Just(429), Just(500), Just(529), 100u16..600], any::<u8>(), any::<bool>())
                .prop_map(|(t, s, b, r)| Input::Response(t, s, b, r)),
            2 => (target(), prop_oneof![Just(200u16), 100u16..600]).prop_map(|(t, s)| Input::Head(t, s)),
            4 => (target(), any::<u8>()).prop_map(|(t, b)| Input::Body(t, b)),
            1 => target().prop_map(Input::Eof),
            1 => (target(), any::<bool>()).prop_map(|(t, k)| Input::TransportError(t, k)),
            1 => target().prop_map(Input::Timeout),
            2 => Just(Input::TakeChunk),
            1 => any::<u8>().prop_map(Input::Cancel),
        ]
    }

    /// Bodies and body pieces: good and broken, whole and streamed.
    const PIECES: &[&str] = &[
        r#"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#,
        r#"{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}"#,
        r#"{"error":{"message":"maximum context length","code":"context_length_exceeded"}}"#,
        "data: {\"id\":\"s\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n",
        "data: {\"id\":\"s\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n",
        "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n",
        "data: [DONE]\n\n",
        "data: {not json\n\n",
        "da",
        "ta: {\"choices\":[{\"delta\":{\"content\":\"y\"}}]}\n",
        "\n",
        "",
        "<html>",
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"z\"}}\n\n",
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        r#"{"id":"msg","type":"message","role":"assistant","content":[{"type":"text","text":"a"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}"#,
    ];

    fn piece(n: u8) -> &'static str {
        PIECES[n as usize % PIECES.len()]
    }

    fn run(inputs: Vec<Input>, stream: bool, seed: u64, total: Option<u16>) {
        let retries = 2;
        let models = 3;
        let mut request = chat("openai/gpt-4o")
            .fallback_models(["groq/llama", "anthropic/claude-x"])
            .retries(retries);
        request.stream = Some(stream);
        let options = CallOptions {
            total_timeout: total.map(|ms| Duration::from_millis(ms.into()) * 10),
            attempt_timeout: Some(secs(30.0)),
            first_byte_timeout: Some(secs(10.0)),
            idle_timeout: Some(secs(5.0)),
            max_body_bytes: 4096,
            ..CallOptions::default()
        };
        let mut call = Call::new(&registry(), request.into(), options, seed, at(0.0));
        let mut now = at(0.0);
        let mut latest = now;
        let mut current: Option<AttemptId> = None;
        let mut stale: Vec<AttemptId> = Vec::new();
        let mut sends = 0u32;
        let mut last_wait: Option<Instant> = None;
        let mut terminal: Option<String> = None;
        let mut delivered = String::new();
        let pick = |t: &Target, current: Option<AttemptId>, stale: &[AttemptId]| match t {
            Target::Current => current,
            Target::Stale(n) if !stale.is_empty() => Some(stale[*n as usize % stale.len()]),
            Target::Stale(_) => current,
        };
        for input in inputs {
            match &input {
                Input::Poll => {
                    let action = call.poll(now);
                    latest = latest.max(now);
                    match action {
                        Action::Send(out) => {
                            assert!(terminal.is_none());
                            sends += 1;
                            if let Some(old) = current.replace(out.attempt) {
                                stale.push(old);
                            }
                            assert_eq!(out.stream, stream);
                            if let Some(deadline) = out.deadline {
                                assert!(deadline > latest);
                            }
                        }
                        Action::Receive { attempt, deadline } => {
                            assert_eq!(Some(attempt), current);
                            if let Some(deadline) = deadline {
                                assert!(deadline > latest, "a passed deadline is handled by poll");
                            }
                        }
                        Action::Wait(until) => {
                            assert!(until > latest, "Wait must be in the future");
                            if let Some(previous) = last_wait {
                                assert!(until >= previous, "waits never go backwards");
                            }
                            last_wait = Some(until);
                        }
                        Action::Done(output) => {
                            let shown = format!("done {output:?}");
                            if let Some(previous) = &terminal {
                                assert_eq!(previous, &shown, "terminal states are sticky");
                            }
                            terminal = Some(shown);
                            assert!(call.is_terminal());
                        }
                        Action::Failed(error) => {
                            let shown = format!("failed {error:?}");
                            if let Some(previous) = &terminal {
                                assert_eq!(previous, &shown, "terminal states are sticky");
                            }
                            terminal = Some(shown);
                            assert!(call.is_terminal());
                            assert!(
                                !error.attempts().is_empty()
                                    || error.kind() == ErrorKind::Timeout
                                    || error.kind() == ErrorKind::Cancelled
                            );
                        }
                        other => panic!("an action this test does not know: {other:?}"),
                    }
                }
                Input::Advance(ms) => now += Duration::from_millis(u64::from(*ms)) * 3,
                Input::Back(ms) => {
                    now = now
                        .checked_sub(Duration::from_millis(u64::from(*ms)))
                        .unwrap_or(now)
                }
                Input::Response(t, status, body, retry_after) => {
                    if let Some(id) = pick(t, current, &stale) {
                        let pairs: &[(&'static str, &str)] = if *retry_after {
                            &[("retry-after", "1"), ("x-should-retry", "true")]
                        } else {
                            &[]
                        };
                        let mut body_text = piece(*body).to_owned();
                        if stream && *body % 2 == 0 {
                            body_text = format!("{}{}{}", piece(3), piece(4), piece(6));
                        }
                        let response = response(
                            StatusCode::from_u16(*status)
                                .map(|s| s.as_u16())
                                .unwrap_or(200),
                            pairs,
                            &body_text,
                        );
                        call.handle_response(id, response, now);
                    }
                }
                Input::Head(t, status) => {
                    if let Some(id) = pick(t, current, &stale) {
                        let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
                        call.handle_head(id, status, HeaderMap::new(), now);
                    }
                }
                Input::Body(t, n) => {
                    if let Some(id) = pick(t, current, &stale) {
                        call.handle_body(id, piece(*n).as_bytes(), now);
                    }
                }
                Input::Eof(t) => {
                    if let Some(id) = pick(t, current, &stale) {
                        call.handle_eof(id, now);
                    }
                }
                Input::TransportError(t, timeout) => {
                    if let Some(id) = pick(t, current, &stale) {
                        let kind = if *timeout {
                            ErrorKind::Timeout
                        } else {
                            ErrorKind::Connection
                        };
                        call.handle_transport_error(id, Error::new(kind, "transport"), now);
                    }
                }
                Input::Timeout(t) => {
                    if let Some(id) = pick(t, current, &stale) {
                        call.handle_timeout(id, now);
                    }
                }
                Input::TakeChunk => {
                    if let Some(chunk) = call.poll_chunk() {
                        delivered.extend(chunk.text());
                    }
                }
                Input::Cancel(n) => {
                    if *n < 4 {
                        call.cancel()
                    }
                }
            }
            if terminal.is_some() {
                assert!(call.is_terminal(), "terminal states are sticky");
            }
            assert!(sends <= (retries + 1) * models, "{sends} sends");
            assert!(call.attempts().len() as u32 <= (retries + 1) * models);
        }
        // No chunk is delivered twice or lost: what the caller got adds up to the result.
        while let Some(chunk) = call.poll_chunk() {
            delivered.extend(chunk.text());
        }
        if !stream {
            assert!(delivered.is_empty());
        }
        match call.poll(now) {
            Action::Done(Output::Chat(completion)) if stream => {
                assert_eq!(completion.text(), delivered)
            }
            Action::Failed(error) => match error.partial_completion() {
                Some(partial) => assert_eq!(partial.text(), delivered),
                None => assert!(delivered.is_empty(), "{error:?}"),
            },
            _ => {}
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn random_inputs_keep_the_invariants(
            inputs in proptest::collection::vec(input(), 0..120),
            stream in any::<bool>(),
            seed in any::<u64>(),
            total in proptest::option::of(any::<u16>()),
        ) {
            run(inputs, stream, seed, total);
        }
    }
}

/// A provider that delegates to the OpenAI adapter but authenticates with the wall-clock
/// time, like a SigV4 signer, and serves no tools.
#[derive(Debug)]
struct Stamped(std::sync::Arc<dyn onellm_core::Provider>);

impl onellm_core::Provider for Stamped {
    fn name(&self) -> &str {
        "stamped"
    }
    fn capabilities(&self) -> onellm_core::Capabilities {
        onellm_core::Capabilities {
            tools: false,
            ..onellm_core::Capabilities::ALL
        }
    }
    fn build_chat(
        &self,
        model: &str,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<http::Request<Bytes>, Error> {
        self.0.build_chat(model, request, stream)
    }
    fn authorize(
        &self,
        request: &mut http::Request<Bytes>,
        wall_clock: Option<std::time::SystemTime>,
    ) -> Result<(), Error> {
        let now = wall_clock.ok_or_else(|| Error::configuration("no wall clock"))?;
        let seconds = now
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        request
            .headers_mut()
            .insert("x-signed-at", seconds.to_string().parse().unwrap());
        Ok(())
    }
    fn parse_chat(
        &self,
        response: &http::Response<Bytes>,
    ) -> Result<onellm_core::ChatCompletion, Error> {
        self.0.parse_chat(response)
    }
    fn chat_stream_decoder(&self, model: &str) -> Box<dyn onellm_core::ChatStreamDecoder> {
        self.0.chat_stream_decoder(model)
    }
    fn parse_error(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
        self.0.parse_error(status, headers, body)
    }
}

fn stamped_registry() -> Registry {
    let mut registry = registry();
    let inner = registry
        .resolve(&onellm_core::ModelId::parse("fake/m").unwrap())
        .unwrap();
    registry.register(std::sync::Arc::new(Stamped(inner)));
    registry
}

#[test]
fn authorize_gets_the_wall_clock_advanced_by_the_monotonic_time_since_start() {
    let options = CallOptions {
        wall_clock: Some(std::time::UNIX_EPOCH + secs(1_000.0)),
        ..CallOptions::default()
    };
    let mut call = Call::new(
        &stamped_registry(),
        chat("stamped/m").into(),
        options,
        42,
        at(0.0),
    );
    let first = expect_send(&mut call, at(0.5));
    assert_eq!(first.request.headers()["x-signed-at"], "1000.5");
    call.handle_response(
        first.attempt,
        response(503, &[("retry-after", "2")], "busy"),
        at(1.0),
    );
    let (second, sent_at, _) = next_send(&mut call, at(1.0));
    assert_eq!(sent_at, at(3.0));
    // Signed when sent, not when the call started: a retried signature is fresh.
    assert_eq!(second.request.headers()["x-signed-at"], "1003");
}

#[test]
fn authorize_errors_and_missing_capabilities_fail_the_attempt_before_sending() {
    let mut unclocked = Call::new(
        &stamped_registry(),
        chat("stamped/m").into(),
        CallOptions::default(),
        42,
        at(0.0),
    );
    let error = expect_failed(&mut unclocked, at(0.0));
    assert_eq!(error.kind(), ErrorKind::Configuration, "{error}");
    let tools = chat("stamped/m").tool(onellm_core::Tool::function(
        "f",
        "d",
        serde_json::json!({"type": "object"}),
    ));
    let options = CallOptions {
        wall_clock: Some(std::time::UNIX_EPOCH),
        ..CallOptions::default()
    };
    let mut call = Call::new(&stamped_registry(), tools.into(), options, 42, at(0.0));
    let error = expect_failed(&mut call, at(0.0));
    assert_eq!(error.kind(), ErrorKind::Unsupported, "{error}");
    assert!(error.to_string().contains("tools"), "{error}");
}

// ---- the Responses API through the same machine ----

fn responses_request(model: &str, stream: bool) -> ResponsesRequest {
    let mut request = ResponsesRequest::new(model, "Say hello");
    request.stream = stream.then_some(true);
    request
}

/// One Responses stream event as OpenAI frames it (`event:` repeats the JSON's `type`).
fn sse_event(json: &str) -> String {
    let kind = serde_json::from_str::<serde_json::Value>(json).unwrap()["type"]
        .as_str()
        .unwrap()
        .to_owned();
    format!("event: {kind}\ndata: {json}\n\n")
}

fn created(id: &str) -> String {
    sse_event(&format!(
        r#"{{"type":"response.created","sequence_number":0,"response":{{"id":"{id}","object":"response","created_at":1,"status":"in_progress","model":"m","output":[]}}}}"#
    ))
}

fn message_added(id: &str) -> String {
    sse_event(&format!(
        r#"{{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{{"id":"msg_{id}","type":"message","status":"in_progress","role":"assistant","content":[]}}}}"#
    ))
}

fn text_delta(id: &str, sequence: u64, text: &str) -> String {
    sse_event(&format!(
        r#"{{"type":"response.output_text.delta","sequence_number":{sequence},"item_id":"msg_{id}","output_index":0,"content_index":0,"delta":"{text}"}}"#
    ))
}

fn events(call: &mut Call) -> Vec<ResponseStreamEvent> {
    std::iter::from_fn(|| call.poll_event()).collect()
}

#[test]
fn responses_stream_retries_before_content_and_is_interrupted_after() {
    let mut call = start(
        responses_request("openai/gpt-4o", true),
        CallOptions::default(),
    );
    let first = expect_send(&mut call, at(0.0));
    assert_eq!(first.request.uri().path(), "/v1/responses");
    call.handle_head(first.attempt, StatusCode::OK, HeaderMap::new(), at(0.1));
    call.handle_body(first.attempt, created("a").as_bytes(), at(0.2));
    assert!(
        events(&mut call).is_empty(),
        "response.created is held back"
    );
    call.handle_eof(first.attempt, at(0.3));
    // Nothing with content was released: retried from the start.
    let (second, now, _) = next_send(&mut call, at(0.3));
    call.handle_head(second.attempt, StatusCode::OK, HeaderMap::new(), now);
    let mut body = created("b");
    body += &message_added("b");
    body += &text_delta("b", 2, "Hel");
    call.handle_body(second.attempt, body.as_bytes(), now);
    let delivered = events(&mut call);
    let kinds: Vec<&str> = delivered.iter().map(ResponseStreamEvent::kind).collect();
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.output_item.added",
            "response.output_text.delta"
        ],
        "the second attempt's events, each once"
    );
    call.handle_eof(second.attempt, now);
    let error = expect_failed(&mut call, now);
    assert_eq!(error.kind(), ErrorKind::StreamInterrupted);
    let partial = error.partial_response().expect("the partial response");
    assert_eq!(partial.output_text(), "Hel");
    assert!(error.partial_completion().is_none());
    assert_eq!(error.attempts().len(), 2);
}

#[test]
fn responses_whole_natively_and_through_a_chat_wire() {
    let mut call = start(
        responses_request("openai/gpt-4o", false),
        CallOptions::default(),
    );
    let sent = expect_send(&mut call, at(0.0));
    assert_eq!(sent.request.uri().path(), "/v1/responses");
    let body = r#"{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"gpt-4o","output":[{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hello!","annotations":[]}]}],"usage":{"input_tokens":3,"output_tokens":2,"total_tokens":5}}"#;
    call.handle_response(sent.attempt, response(200, &[], body), at(0.1));
    match expect_done(&mut call, at(0.1)) {
        Output::Responses(reply) => assert_eq!(reply.output_text(), "Hello!"),
        other => panic!("expected a response, got {other:?}"),
    }
    // Anthropic has no Responses API: the same request goes out as a message.
    let mut call = start(
        responses_request("anthropic/claude-sonnet-4-5", false),
        CallOptions::default(),
    );
    let sent = expect_send(&mut call, at(0.0));
    assert_eq!(sent.request.uri().path(), "/v1/messages");
    let body = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Bonjour"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}"#;
    call.handle_response(sent.attempt, response(200, &[], body), at(0.1));
    match expect_done(&mut call, at(0.1)) {
        Output::Responses(reply) => {
            assert_eq!(reply.output_text(), "Bonjour");
            assert_eq!(reply.usage.unwrap().output_tokens, 1);
        }
        other => panic!("expected a response, got {other:?}"),
    }
}

#[test]
fn a_chat_call_admitted_over_the_responses_wire_goes_there() {
    let mut call = Call::with_admission(
        &registry(),
        chat("openai/o3-pro").into(),
        CallOptions::default(),
        7,
        at(0.0),
        |_, _| Ok(Wire::ChatOverResponses),
    );
    let sent = expect_send(&mut call, at(0.0));
    assert_eq!(sent.request.uri().path(), "/v1/responses");
    let sent_body: serde_json::Value = serde_json::from_slice(sent.request.body()).unwrap();
    assert_eq!(sent_body["model"], "o3-pro");
    assert_eq!(sent_body["input"][0]["role"], "user");
    let body = r#"{"id":"resp_1","object":"response","created_at":1,"status":"completed","model":"o3-pro","output":[{"id":"msg_1","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Deep","annotations":[]}]}],"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}}"#;
    call.handle_response(sent.attempt, response(200, &[], body), at(0.1));
    let completion = match expect_done(&mut call, at(0.1)) {
        Output::Chat(completion) => completion,
        other => panic!("expected a chat completion, got {other:?}"),
    };
    assert_eq!(completion.text(), "Deep");
    assert_eq!(completion.usage.unwrap().completion_tokens, 1);
    // Streamed: chat chunks from the events.
    let mut request = chat("openai/o3-pro");
    request.stream = Some(true);
    let mut call = Call::with_admission(
        &registry(),
        request.into(),
        CallOptions::default(),
        7,
        at(0.0),
        |_, _| Ok(Wire::ChatOverResponses),
    );
    let sent = expect_send(&mut call, at(0.0));
    assert_eq!(sent.request.uri().path(), "/v1/responses");
    call.handle_head(sent.attempt, StatusCode::OK, HeaderMap::new(), at(0.1));
    let mut body = created("c");
    body += &message_added("c");
    body += &text_delta("c", 2, "Dee");
    body += &text_delta("c", 3, "p");
    body += &sse_event(
        r#"{"type":"response.completed","sequence_number":4,"response":{"id":"c","object":"response","created_at":1,"status":"completed","model":"o3-pro","output":[{"id":"msg_c","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Deep","annotations":[]}]}],"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}}}"#,
    );
    call.handle_body(sent.attempt, body.as_bytes(), at(0.2));
    call.handle_eof(sent.attempt, at(0.3));
    let text: String = drain(&mut call)
        .iter()
        .filter_map(ChatCompletionChunk::text)
        .collect();
    assert_eq!(text, "Deep");
    assert_eq!(chat_text(expect_done(&mut call, at(0.3))), "Deep");
}
