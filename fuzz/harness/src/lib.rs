//! The fuzz targets' logic, shared by the cargo-fuzz binaries (`fuzz/fuzz_targets/`) and the
//! stable seed-replay test below. Each function takes the fuzzer's bytes and checks a
//! property; a panic is a bug (in the core, or in the property).

use bytes::Bytes;
use onellm_core::framing::{EventStreamDecoder, NdjsonDecoder, SseDecoder};
use onellm_core::{ChatCompletionChunk, ChatRequest, ChunkAccumulator, ModelId, Registry};
use std::collections::BTreeMap;

use serde_json::value::RawValue;

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

/// The wire-protocol families, for the marker property: which fields prove a body is the
/// family's reply. Written here from the providers' documentation, independently of the
/// core's own checks (`core/src/provider/shape.rs` and each family's `response.rs`), so the
/// property can catch the core accepting something it should not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    OpenAi,
    Anthropic,
    Gemini,
    Cohere,
    Ollama,
    Bedrock,
}

/// Which reply a body was parsed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    Chat,
    Embeddings,
    Completions,
    StreamEvent,
}

fn family(provider: &str) -> Family {
    match provider {
        "anthropic" => Family::Anthropic,
        "google" | "vertex" => Family::Gemini,
        "cohere" => Family::Cohere,
        "ollama" => Family::Ollama,
        "bedrock" => Family::Bedrock,
        _ => Family::OpenAi,
    }
}

const ANTHROPIC_EVENTS: &[&str] = &[
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
];

const COHERE_EVENTS: &[&str] = &[
    "message-start",
    "content-start",
    "content-delta",
    "content-end",
    "tool-plan-delta",
    "tool-call-start",
    "tool-call-delta",
    "tool-call-end",
    "citation-start",
    "citation-end",
    "message-end",
    "debug",
];

const BEDROCK_EVENTS: &[&str] = &[
    "messageStart",
    "contentBlockStart",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
    "metadata",
];

/// Whether the JSON `payload` is an object carrying `family`'s marker for `reply`.
/// `text` with every `\uD800`–`\uDFFF` escape made a `?`: serde_json skips an ignored
/// field's string without checking that its escapes pair up, so the core may rightly accept
/// a body with a lone surrogate escape there, which a strict parse into `Value` refuses. The
/// marker fields are objects, arrays and type names, so nothing they hold is changed.
fn without_surrogate_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        // An escape: `\\`, `\"`, `\n`, … stay as they are; only `\uXXXX` is looked at.
        let Some(next) = chars.next() else {
            out.push(c);
            break;
        };
        if next != 'u' {
            out.push(c);
            out.push(next);
            continue;
        }
        let hex: String = chars.clone().take(4).collect();
        let surrogate = hex.len() == 4
            && u16::from_str_radix(&hex, 16).is_ok_and(|code| (0xD800..=0xDFFF).contains(&code));
        if surrogate {
            out.push('?');
            chars.nth(3);
        } else {
            out.push(c);
            out.push(next);
        }
    }
    out
}

/// The type of a JSON value, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Array,
    String,
    Bool,
    Null,
    Number,
}

impl Kind {
    fn of(raw: &RawValue) -> Kind {
        match raw.get().as_bytes().first() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            Some(b'"') => Kind::String,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'n') => Kind::Null,
            _ => Kind::Number,
        }
    }
}

fn carries_marker(family: Family, reply: Reply, payload: &[u8]) -> bool {
    // Read lossily: serde_json skips the strings of fields a parser ignores without checking
    // their UTF-8, so the core may rightly accept a body whose ignored parts are not UTF-8;
    // the marker is what this property is about, not the bytes around it.
    let text = without_surrogate_escapes(&String::from_utf8_lossy(payload));
    // Only the top level is parsed; each field is kept as its raw text, skipped the way the
    // core skips what it ignores (serde_json does not check the range of a number it skips:
    // `77E7777711` in an ignored field is accepted by the core and refused by a strict
    // parse into `Value`). A marker field's type is then read from its first byte.
    let Ok(map) = serde_json::from_str::<BTreeMap<String, &RawValue>>(&text) else {
        return false;
    };
    let is = |key: &str, kind: Kind| map.get(key).is_some_and(|raw| Kind::of(raw) == kind);
    let type_among = |types: &[&str]| {
        map.get("type")
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
            .is_some_and(|kind| types.contains(&kind.as_str()))
    };
    let error = |map: &BTreeMap<String, &RawValue>| {
        map.get("error").is_some_and(|e| Kind::of(e) != Kind::Null)
    };
    match (family, reply) {
        (Family::OpenAi, Reply::Chat | Reply::Completions) => is("choices", Kind::Array),
        (Family::OpenAi, Reply::Embeddings) => is("data", Kind::Array),
        (Family::OpenAi, Reply::StreamEvent) => {
            is("choices", Kind::Array) || is("error", Kind::Object)
        }
        (Family::Anthropic, Reply::StreamEvent) => type_among(ANTHROPIC_EVENTS),
        (Family::Anthropic, _) => type_among(&["message"]) && is("content", Kind::Array),
        (Family::Gemini, Reply::Embeddings) => is("embeddings", Kind::Array),
        (Family::Gemini, reply) => {
            is("candidates", Kind::Array)
                || is("promptFeedback", Kind::Object)
                || (reply == Reply::StreamEvent && is("error", Kind::Object))
        }
        (Family::Cohere, Reply::Embeddings) => is("embeddings", Kind::Object),
        (Family::Cohere, Reply::StreamEvent) => type_among(COHERE_EVENTS),
        (Family::Cohere, _) => is("message", Kind::Object) && is("finish_reason", Kind::String),
        (Family::Ollama, Reply::Embeddings) => is("embeddings", Kind::Array),
        (Family::Ollama, reply) => {
            (is("message", Kind::Object) && is("done", Kind::Bool))
                || (reply == Reply::StreamEvent && error(&map))
        }
        (Family::Bedrock, Reply::Embeddings) => {
            map.contains_key("embedding") || map.contains_key("embeddings")
        }
        // A ConverseStream message's marker is in its headers: see `stream_holds_marker`.
        (Family::Bedrock, _) => is("output", Kind::Object),
    }
}

/// Whether a stream body holds at least one event of `family`'s shape, read with the
/// framing decoders (fuzzed on their own) and checked with [`carries_marker`].
fn stream_holds_marker(family: Family, body: &[u8]) -> bool {
    match family {
        Family::Bedrock => {
            let mut decoder = EventStreamDecoder::new();
            let _ = decoder.push(body);
            std::iter::from_fn(|| decoder.next_message()).any(|message| {
                message.message_type() == Some("event")
                    && message
                        .event_type()
                        .is_some_and(|kind| BEDROCK_EVENTS.contains(&kind))
            })
        }
        Family::Ollama => {
            let mut decoder = NdjsonDecoder::new();
            let _ = decoder.push(body);
            decoder.finish();
            std::iter::from_fn(|| decoder.next_line())
                .any(|line| carries_marker(family, Reply::StreamEvent, &line))
        }
        _ => {
            let mut decoder = SseDecoder::new();
            let _ = decoder.push(body);
            decoder.finish();
            std::iter::from_fn(|| decoder.next_event()).any(|event| {
                carries_marker(family, Reply::StreamEvent, event.data.trim().as_bytes())
            })
        }
    }
}

/// The marker property: a parse that succeeded had a body carrying the family's marker.
fn assert_marker_if_ok(provider: &str, reply: Reply, ok: bool, body: &[u8]) {
    if !ok {
        return;
    }
    let family = family(provider);
    let held = match reply {
        Reply::StreamEvent => stream_holds_marker(family, body),
        _ => carries_marker(family, reply, body),
    };
    assert!(
        held,
        "{provider} accepted a {reply:?} body without its family's marker: {:?}",
        String::from_utf8_lossy(&body[..body.len().min(300)])
    );
}

/// A provider's stream decoder: never panics, items are split-independent, at most one
/// error ends the items, and a stream that ends without an error held at least one event of
/// the family's shape.
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
    assert_marker_if_ok(name, Reply::StreamEvent, errors == 0, payload);
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
/// quote a bounded excerpt; a reply that parsed carried the family's marker.
pub fn parse_response(data: &[u8]) {
    if data.len() < 3 {
        return;
    }
    let registry = registry();
    let name = ALL_PROVIDERS[usize::from(data[0]) % ALL_PROVIDERS.len()];
    let Ok(provider) = registry.resolve(&ModelId::parse(&format!("{name}/m")).unwrap()) else {
        return;
    };
    // Mostly 200, so the fuzzer spends its time where replies are parsed.
    let status = match u16::from_be_bytes([data[1], data[2]]) % 1000 {
        n @ 0..=499 => 100 + n,
        _ => 200,
    };
    let body = Bytes::copy_from_slice(&data[3..]);
    let mut response = http::Response::new(body);
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    let chat = provider.parse_chat(&response);
    let embeddings = provider.parse_embeddings(&response);
    let completions = provider.parse_completions(&response);
    assert_marker_if_ok(name, Reply::Chat, chat.is_ok(), &data[3..]);
    assert_marker_if_ok(name, Reply::Embeddings, embeddings.is_ok(), &data[3..]);
    assert_marker_if_ok(name, Reply::Completions, completions.is_ok(), &data[3..]);
    for result in [
        chat.err(),
        embeddings.err(),
        completions.err(),
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

    #[test]
    fn surrogate_escapes_are_neutralized_and_nothing_else() {
        let text = r#"{"a": "\ud800 \\ud800 \u00e9 \"q\" \uDC00x"}"#;
        let cleaned = super::without_surrogate_escapes(text);
        assert_eq!(cleaned, r#"{"a": "? \\ud800 \u00e9 \"q\" ?x"}"#);
        assert!(serde_json::from_str::<serde_json::Value>(&cleaned).is_ok());
    }

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

    /// The marker property holds for the families' own replies and can fail: a body without
    /// the marker that a parser accepted trips it.
    #[test]
    fn marker_property_accepts_real_replies() {
        let openai = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]}"#;
        super::assert_marker_if_ok("groq", super::Reply::Chat, true, openai);
        let anthropic = br#"{"type":"message","content":[{"type":"text","text":"hi"}]}"#;
        super::assert_marker_if_ok("anthropic", super::Reply::Chat, true, anthropic);
        let stream = b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n";
        super::assert_marker_if_ok("anthropic", super::Reply::StreamEvent, true, stream);
        let lines = b"{\"message\":{\"content\":\"a\"},\"done\":true}\n";
        super::assert_marker_if_ok("ollama", super::Reply::StreamEvent, true, lines);
        // Failed parses say nothing.
        super::assert_marker_if_ok("google", super::Reply::Chat, false, b"{}");
    }

    /// serde_json skips a number in a field nobody reads without checking its range, so the
    /// core rightly accepts `77E7777711` there; the property must too (found by
    /// `parse_response` at 720,000 executions).
    #[test]
    fn marker_property_ignores_numbers_out_of_range_elsewhere() {
        let cohere = br#"{"finish_reason": "COMPLETE", "message": {"role": "assistant", "content": []}, "usage": {"tokens": {"output_tokens": 77E7777711}}}"#;
        assert!(serde_json::from_slice::<serde_json::Value>(cohere).is_err());
        super::assert_marker_if_ok("cohere", super::Reply::Chat, true, cohere);
    }

    #[test]
    #[should_panic(expected = "without its family's marker")]
    fn marker_property_can_fail() {
        super::assert_marker_if_ok("google", super::Reply::Chat, true, b"{}");
    }

    #[test]
    #[should_panic(expected = "without its family's marker")]
    fn marker_property_can_fail_for_streams() {
        super::assert_marker_if_ok(
            "openai",
            super::Reply::StreamEvent,
            true,
            b"data: [DONE]\n\n",
        );
    }

    /// The property over every family's wrong-shape bodies, through the targets themselves:
    /// before issue 16 these were ok verdicts (Anthropic, Gemini, Cohere, Ollama read `{}`
    /// as an empty reply) and the targets panicked on them.
    #[test]
    fn wrong_shape_bodies_hold_the_property() {
        for provider in 0..=255u8 {
            for body in [&b"{}"[..], b"[]", b"null", br#"{"detail":"Not Found"}"#] {
                let mut data = vec![provider, 0, 200];
                data.extend_from_slice(body);
                super::parse_response(&data);
                let mut stream = vec![provider, 0];
                stream.extend_from_slice(b"data: ");
                stream.extend_from_slice(body);
                stream.extend_from_slice(b"\n\ndata: [DONE]\n\n");
                super::chat_stream(&stream);
            }
        }
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
