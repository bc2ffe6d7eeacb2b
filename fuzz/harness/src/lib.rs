//! The fuzz targets' logic, shared by the cargo-fuzz binaries (`fuzz/fuzz_targets/`) and the
//! stable seed-replay test below. Each function takes the fuzzer's bytes and checks a
//! property; a panic is a bug (in the core, or in the property).

use bytes::Bytes;
use onellm_core::framing::{EventStreamDecoder, NdjsonDecoder, SseDecoder};
use onellm_core::{ChatCompletionChunk, ChatRequest, ChunkAccumulator, ModelId, Registry};

/// Splits `data` into a control prefix and a payload: the first byte picks split points.
fn split_points(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&seed, payload)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let mut points = Vec::new();
    let mut at = 0usize;
    let step = usize::from(seed % 17) + 1;
    while at < payload.len() {
        at += step + (at % 5);
        points.push(at.min(payload.len()));
    }
    (points, payload)
}

fn pieces<'a>(payload: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for &end in points {
        if end > start && end <= payload.len() {
            out.push(&payload[start..end]);
            start = end;
        }
    }
    if start < payload.len() {
        out.push(&payload[start..]);
    }
    out
}

/// SSE: any split of the input gives the same events (and errors) as one push.
pub fn sse_decoder(data: &[u8]) {
    let (points, payload) = split_points(data);
    let run = |parts: Vec<&[u8]>| {
        let mut decoder = SseDecoder::new();
        let mut events = Vec::new();
        let mut failed = false;
        for part in parts {
            if decoder.push(part).is_err() {
                failed = true;
            }
            while let Some(event) = decoder.next_event() {
                events.push(event);
            }
        }
        let discarded = decoder.finish();
        while let Some(event) = decoder.next_event() {
            events.push(event);
        }
        (events, failed, discarded)
    };
    let whole = run(vec![payload]);
    let split = run(pieces(payload, &points));
    assert_eq!(whole, split);
}

/// NDJSON: any split of the input gives the same lines (and error) as one push, no line is
/// blank or longer than the bound, and none holds a line feed.
pub fn ndjson_decoder(data: &[u8]) {
    let (points, payload) = split_points(data);
    // A small bound so the fuzzer reaches the too-long path.
    let limit = usize::from(data.first().copied().unwrap_or(0)) + 1;
    let run = |parts: Vec<&[u8]>| {
        let mut decoder = NdjsonDecoder::with_max_line_bytes(limit);
        let mut lines = Vec::new();
        let mut failed = false;
        for part in parts {
            if decoder.push(part).is_err() {
                failed = true;
            }
            while let Some(line) = decoder.next_line() {
                lines.push(line);
            }
        }
        decoder.finish();
        while let Some(line) = decoder.next_line() {
            lines.push(line);
        }
        (lines, failed)
    };
    let whole = run(vec![payload]);
    assert_eq!(whole, run(pieces(payload, &points)));
    for line in &whole.0 {
        assert!(line.len() <= limit, "line over the bound");
        assert!(!line.contains(&b'\n'));
        assert!(!line.iter().all(u8::is_ascii_whitespace), "blank line");
    }
}

/// AWS event stream: any split of the input gives the same messages, error and EOF verdict
/// as one push.
pub fn eventstream_decoder(data: &[u8]) {
    let (points, payload) = split_points(data);
    let run = |parts: Vec<&[u8]>| {
        let mut decoder = EventStreamDecoder::new();
        let mut messages = Vec::new();
        let mut error = None;
        for part in parts {
            if let Err(e) = decoder.push(part) {
                error.get_or_insert(e);
            }
            while let Some(message) = decoder.next_message() {
                messages.push(message);
            }
        }
        let end = decoder.finish();
        (messages, error, end)
    };
    let whole = run(vec![payload]);
    let split = run(pieces(payload, &points));
    assert_eq!(whole, split);
}

fn registry() -> Registry {
    Registry::from_lookup(|name| match name {
        // Bedrock builds no URL without a region.
        "AWS_REGION" => Some("us-east-1".to_owned()),
        _ => name.ends_with("_API_KEY").then(|| "fuzz-key".to_owned()),
    })
}

const STREAM_PROVIDERS: &[&str] = &[
    "openai",
    "anthropic",
    "groq",
    "mistral",
    "cohere",
    "ollama",
    "google",
    "vertex",
    "bedrock",
];

/// A provider's stream decoder: never panics, items are split-independent, and at most one
/// error ends the items.
pub fn chat_stream(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let registry = registry();
    let name = STREAM_PROVIDERS[usize::from(which) % STREAM_PROVIDERS.len()];
    let Ok(provider) = registry.resolve(&ModelId::parse(&format!("{name}/m")).unwrap()) else {
        return; // The adapter is not registered in this build.
    };
    let (points, payload) = split_points(rest);
    let run = |parts: Vec<&[u8]>| {
        let mut decoder = provider.chat_stream_decoder("m");
        let mut items: Vec<Result<ChatCompletionChunk, String>> = Vec::new();
        for part in parts {
            decoder.push(part);
            while let Some(item) = decoder.next_chunk() {
                items.push(item.map_err(|e| e.kind().as_str().to_owned()));
            }
        }
        decoder.finish();
        while let Some(item) = decoder.next_chunk() {
            items.push(item.map_err(|e| e.kind().as_str().to_owned()));
        }
        items
    };
    let whole = run(vec![payload]);
    assert_eq!(whole, run(pieces(payload, &points)));
    let errors = whole.iter().filter(|item| item.is_err()).count();
    assert!(errors <= 1);
    if errors == 1 {
        assert!(
            whole.last().is_some_and(Result::is_err),
            "an error must be the last item"
        );
    }
    let mut accumulator = ChunkAccumulator::new();
    for chunk in whole.iter().flatten() {
        accumulator.push(chunk);
    }
    let _ = accumulator.completion();
}

const ALL_PROVIDERS: &[&str] = &[
    "openai",
    "anthropic",
    "groq",
    "mistral",
    "openrouter",
    "ollama",
    "cohere",
    "ollama_openai",
    "google",
    "vertex",
    "bedrock",
];

/// Whole-response and error parsing: status and body from the fuzzer; never panics; errors
/// quote a bounded excerpt.
pub fn parse_response(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let registry = registry();
    let name = ALL_PROVIDERS[usize::from(data[0]) % ALL_PROVIDERS.len()];
    let Ok(provider) = registry.resolve(&ModelId::parse(&format!("{name}/m")).unwrap()) else {
        return;
    };
    let status = 100 + u16::from_be_bytes([data[1], data[2]]) % 500;
    let body = Bytes::copy_from_slice(&data[3..]);
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    for result in [
        provider.parse_chat(&response).err(),
        provider.parse_embeddings(&response).err(),
        provider.parse_completions(&response).err(),
        Some(provider.parse_error(response.status(), response.headers(), response.body())),
    ]
    .into_iter()
    .flatten()
    {
        assert!(result.message().len() <= 4096, "unbounded error message");
    }
}

/// Request translation: arbitrary JSON as a `ChatRequest` to every provider builds a valid
/// request under the provider's base URL, or returns an error.
pub fn request_translation(data: &[u8]) {
    let Ok(request) = serde_json::from_slice::<ChatRequest>(data) else {
        return;
    };
    let registry = registry();
    for name in ALL_PROVIDERS {
        let Ok(provider) = registry.resolve(&ModelId::parse(&format!("{name}/m")).unwrap()) else {
            continue;
        };
        for stream in [false, true] {
            let model = request.model.rsplit('/').next().unwrap_or("m");
            if let Ok(built) = provider.build_chat(model, &request, stream) {
                // A dot segment would let the model id leave the provider's path once a
                // client or proxy resolves it (`a..b` inside a segment is harmless).
                let path = built.uri().path();
                assert!(
                    !path
                        .split('/')
                        .any(|segment| segment == "." || segment == ".."),
                    "path escapes: {path}"
                );
                assert!(built.uri().host().is_some());
                let _: serde_json::Value =
                    serde_json::from_slice(built.body()).expect("body is JSON");
            }
        }
    }
}

/// Retry-After parsing over arbitrary header values.
pub fn retry_after(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut headers = http::HeaderMap::new();
    let mut parts = text.splitn(3, '\n');
    for name in ["retry-after", "retry-after-ms", "date"] {
        if let Some(value) = parts
            .next()
            .and_then(|v| http::HeaderValue::from_str(v).ok())
        {
            headers.insert(name, value);
        }
    }
    let _ = onellm_core::error::retry_after(&headers);
}

/// Model-id parsing: never panics; a parsed id prints back to an equivalent id.
pub fn model_id(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(id) = ModelId::parse(&text) {
        let again = ModelId::parse(&id.to_string()).expect("printed id parses");
        assert_eq!(again, id);
        assert!(!id.model().is_empty());
    }
}

/// The accumulator over arbitrary chunk JSON lines.
pub fn accumulator(data: &[u8]) {
    let mut accumulator = ChunkAccumulator::new();
    for line in data.split(|&b| b == b'\n') {
        if let Ok(chunk) = serde_json::from_slice::<ChatCompletionChunk>(line) {
            accumulator.push(&chunk);
        }
    }
    let completion = accumulator.completion();
    let _ = serde_json::to_string(&completion).expect("completion serializes");
}

/// Operation sequences on the `Call` machine: arbitrary responses, body pieces, errors,
/// timeouts, cancels and clock jumps (backwards too). Never panics; a terminal action stays
/// terminal; waits move forward; sends are bounded by (retries + 1) × models.
pub fn call_machine(data: &[u8]) {
    use onellm_core::call::{Action, Call, CallOptions, Operation};
    use std::time::{Duration, Instant};

    let Some((&flags, script)) = data.split_first() else {
        return;
    };
    let mut registry = Registry::new();
    registry
        .set_api_key("openai", "k")
        .set_api_key("anthropic", "k")
        .set_api_key("groq", "k");
    let mut request = ChatRequest::new("openai/m").user("hi");
    request.stream = Some(flags & 1 == 1);
    request.retries = Some(u32::from(flags >> 1 & 3));
    request.fallback_models = Some(vec!["anthropic/c".into(), "groq/g".into()]);
    let max_sends = (request.retries.unwrap_or(0) as usize + 1) * 3;
    let options = CallOptions {
        total_timeout: (flags & 8 == 8).then(|| Duration::from_secs(30)),
        ..CallOptions::default()
    };
    let origin = Instant::now();
    let mut now = origin + Duration::from_secs(1000);
    let mut call = Call::new(
        &registry,
        Operation::Chat(request),
        options,
        u64::from(flags),
        now,
    );
    let (mut sends, mut terminal, mut last_wait) = (0usize, None::<String>, None::<Instant>);
    let bodies: [&[u8]; 6] = [
        br#"{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}]}"#,
        b"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n",
        b"data: [DONE]\n\n",
        b"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        br#"{"error":{"message":"slow","type":"rate_limit_error"}}"#,
        b"\xff\x00garbage",
    ];
    let mut attempt = None;
    for step in script.chunks(2).take(256) {
        let (op, arg) = (step[0], step.get(1).copied().unwrap_or(0));
        while call.poll_chunk().is_some() {}
        match call.poll(now) {
            Action::Send(outgoing) => {
                sends += 1;
                attempt = Some(outgoing.attempt);
            }
            Action::Receive {
                attempt: current,
                deadline,
            } => {
                attempt = Some(current);
                if let Some(deadline) = deadline {
                    assert!(deadline > now);
                }
            }
            Action::Wait(until) => {
                assert!(until > now, "a wait must move forward");
                if let Some(previous) = last_wait {
                    assert!(until >= previous || now > previous);
                }
                last_wait = Some(until);
            }
            Action::Done(_) => {
                terminal.get_or_insert_with(|| "done".into());
            }
            Action::Failed(error) => {
                terminal.get_or_insert_with(|| error.kind().as_str().to_owned());
            }
            other => panic!("an action this harness does not know: {other:?}"),
        }
        if let Some(first) = &terminal {
            let again = match call.poll(now) {
                Action::Done(_) => "done".to_owned(),
                Action::Failed(error) => error.kind().as_str().to_owned(),
                other => panic!("terminal state left: {other:?}"),
            };
            assert_eq!(&again, first);
        }
        assert!(sends <= max_sends, "{sends} sends > {max_sends}");
        let Some(id) = attempt else {
            now += Duration::from_millis(u64::from(arg) * 40);
            continue;
        };
        match op % 9 {
            0 => {
                let status = [200u16, 429, 500, 529, 401, 400, 404, 503][usize::from(arg) % 8];
                let mut headers = http::HeaderMap::new();
                if arg & 0x40 != 0 {
                    headers.insert("retry-after", http::HeaderValue::from(u32::from(arg % 5)));
                }
                call.handle_head(
                    id,
                    http::StatusCode::from_u16(status).unwrap(),
                    headers,
                    now,
                );
            }
            1 => call.handle_body(id, bodies[usize::from(arg) % bodies.len()], now),
            2 => call.handle_eof(id, now),
            3 => call.handle_transport_error(
                id,
                onellm_core::Error::new(onellm_core::ErrorKind::Connection, "reset"),
                now,
            ),
            4 => call.handle_timeout(id, now),
            5 => now += Duration::from_millis(u64::from(arg) * 100),
            6 => {
                now = now
                    .checked_sub(Duration::from_millis(u64::from(arg) * 10))
                    .unwrap_or(now)
            }
            7 if arg == 0xff => call.cancel(),
            _ => now += Duration::from_secs(u64::from(arg % 8)),
        }
    }
}

/// Every target, by name, for the seed-replay test and the fuzz binaries.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("sse_decoder", sse_decoder),
    ("ndjson_decoder", ndjson_decoder),
    ("eventstream_decoder", eventstream_decoder),
    ("chat_stream", chat_stream),
    ("parse_response", parse_response),
    ("request_translation", request_translation),
    ("retry_after", retry_after),
    ("model_id", model_id),
    ("accumulator", accumulator),
    ("call_machine", call_machine),
];

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Replays every committed seed and crash reproducer (`fuzz/seeds/<target>/*`) on stable.
    #[test]
    fn committed_seeds_replay() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../seeds");
        let mut replayed = 0;
        for (name, target) in super::TARGETS {
            let dir = root.join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let data = std::fs::read(entry.path()).unwrap();
                target(&data);
                replayed += 1;
            }
        }
        println!("replayed {replayed} seeds");
        assert!(replayed > 0, "no seeds found under {}", root.display());
    }

    #[test]
    fn empty_and_tiny_inputs() {
        for (_, target) in super::TARGETS {
            for data in [&b""[..], b"\x00", b"\xff\xff\xff", b"data: [DONE]\n\n"] {
                target(data);
            }
        }
    }
}
