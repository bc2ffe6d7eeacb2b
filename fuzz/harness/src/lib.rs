//! The fuzz targets' logic, shared by the cargo-fuzz binaries (`fuzz/fuzz_targets/`) and the
//! stable seed-replay test below. Each function takes the fuzzer's bytes and checks a
//! property; a panic is a bug (in the core, or in the property).

use bytes::Bytes;
use onellm_core::cache::CacheSettings;
use onellm_core::framing::{EventStreamDecoder, NdjsonDecoder, SseDecoder};
use onellm_core::router::RouterConfig;
use onellm_core::store::StoreReply;
use onellm_core::{
    CallOptions, ChatCompletion, ChatCompletionChunk, ChatRequest, ChunkAccumulator, Engine,
    ModelId, Registry, ResponseAccumulator, ResponseStreamEvent,
};
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

/// A provider stream decoder of either kind, so one loop feeds them all.
trait StreamDecoder {
    type Item;
    fn push(&mut self, bytes: &[u8]);
    fn finish(&mut self);
    fn next_item(&mut self) -> Option<Result<Self::Item, onellm_core::Error>>;
    fn is_complete(&self) -> bool;
}

impl StreamDecoder for Box<dyn onellm_core::ChatStreamDecoder> {
    type Item = ChatCompletionChunk;
    fn push(&mut self, bytes: &[u8]) {
        (**self).push(bytes)
    }
    fn finish(&mut self) {
        (**self).finish()
    }
    fn next_item(&mut self) -> Option<Result<ChatCompletionChunk, onellm_core::Error>> {
        self.next_chunk()
    }
    fn is_complete(&self) -> bool {
        (**self).is_complete()
    }
}

impl StreamDecoder for Box<dyn onellm_core::provider::ResponsesStreamDecoder> {
    type Item = ResponseStreamEvent;
    fn push(&mut self, bytes: &[u8]) {
        (**self).push(bytes)
    }
    fn finish(&mut self) {
        (**self).finish()
    }
    fn next_item(&mut self) -> Option<Result<ResponseStreamEvent, onellm_core::Error>> {
        self.next_event()
    }
    fn is_complete(&self) -> bool {
        (**self).is_complete()
    }
}

/// Pushes `parts` into `decoder` in turn, then finishes it: every item (errors as their
/// kind) and whether the decoder says the stream completed.
fn decode<D: StreamDecoder>(
    mut decoder: D,
    parts: Vec<&[u8]>,
) -> (Vec<Result<D::Item, String>>, bool) {
    let mut items = Vec::new();
    let drain = |decoder: &mut D, items: &mut Vec<_>| {
        while let Some(item) = decoder.next_item() {
            items.push(item.map_err(|e| e.kind().as_str().to_owned()));
        }
    };
    for part in parts {
        decoder.push(part);
        drain(&mut decoder, &mut items);
    }
    decoder.finish();
    drain(&mut decoder, &mut items);
    let complete = decoder.is_complete();
    (items, complete)
}

/// At most one error among a stream's items, and it is the last.
fn assert_error_last<T>(items: &[Result<T, String>]) {
    let errors = items.iter().filter(|item| item.is_err()).count();
    assert!(errors <= 1);
    if errors == 1 {
        assert!(
            items.last().is_some_and(Result::is_err),
            "an error must be the last item"
        );
    }
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
    let run = |parts: Vec<&[u8]>| decode(provider.chat_stream_decoder("m"), parts).0;
    let whole = run(vec![payload]);
    assert_eq!(whole, run(pieces(payload, &points)));
    assert_error_last(&whole);
    let errors = whole.iter().filter(|item| item.is_err()).count();
    assert_marker_if_ok(name, Reply::StreamEvent, errors == 0, payload);
    let mut accumulator = ChunkAccumulator::new();
    for chunk in whole.iter().flatten() {
        accumulator.push(chunk);
    }
    let _ = accumulator.completion();
}

/// Every provider's Responses API stream decoder — OpenAI's native one, the others' chat
/// decoders with their chunks turned into events — and, for the first byte's odd values,
/// chat over OpenAI's native events (`chat_via_responses_decoder`): never panics, items are
/// split-independent, at most one error and it is last, sequence numbers only grow, and a
/// stream that ended well has a terminal event (`response.completed` or `.incomplete`),
/// which is its last event.
pub fn responses_bridges(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let registry = registry();
    let name = STREAM_PROVIDERS[usize::from(which / 2) % STREAM_PROVIDERS.len()];
    let Ok(provider) = registry.resolve(&ModelId::parse(&format!("{name}/m")).unwrap()) else {
        return;
    };
    let (points, payload) = split_points(rest);
    if which % 2 == 1 {
        let run = |parts: Vec<&[u8]>| {
            let decoder = onellm_core::provider::responses_bridge::chat_via_responses_decoder(
                provider.responses_stream_decoder("m"),
                "m",
            );
            decode(decoder, parts)
        };
        let (whole, complete) = run(vec![payload]);
        assert_eq!((whole.clone(), complete), run(pieces(payload, &points)));
        assert_error_last(&whole);
        let mut accumulator = ChunkAccumulator::new();
        for chunk in whole.iter().flatten() {
            accumulator.push(chunk);
        }
        let _ = accumulator.completion();
        return;
    }
    let run = |parts: Vec<&[u8]>| decode(provider.responses_stream_decoder("m"), parts);
    let (whole, complete) = run(vec![payload]);
    assert_eq!((whole.clone(), complete), run(pieces(payload, &points)));
    assert_error_last(&whole);
    let errors = whole.iter().filter(|item| item.is_err()).count();
    let events: Vec<&ResponseStreamEvent> = whole.iter().flatten().collect();
    if name != "openai" {
        // The bridge numbers its own events: strictly increasing from 0.
        let numbers: Vec<Option<u64>> = events.iter().map(|e| e.sequence_number()).collect();
        assert!(
            numbers
                .iter()
                .enumerate()
                .all(|(at, n)| *n == Some(at as u64)),
            "{numbers:?}"
        );
    }
    if complete && errors == 0 {
        assert!(
            events.last().is_some_and(|event| event.is_terminal()),
            "no terminal event"
        );
    }
    let mut accumulator = ResponseAccumulator::new();
    for event in &events {
        accumulator.push(event);
    }
    let _ = accumulator.response();
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

/// The multipart encoder over arbitrary parts: never panics; a form it encodes is within
/// its size limit, the same every time, and its boundary delimiter occurs exactly at the
/// part starts and the close (so no part's bytes or quoted name can end or forge a part).
///
/// Input: two bytes of size limit, then NUL-separated fields taken three at a time (name,
/// file name — empty for a text part —, body); a file part's type is `audio/wav` unless
/// the file name's first byte is `!`, when the next field is the type.
pub fn multipart_form(data: &[u8]) {
    use onellm_core::provider::multipart::Form;
    let Some((limit, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let limit = usize::from(u16::from_be_bytes(*limit)) * 4;
    let mut fields = rest.split(|&b| b == 0);
    let mut form = Form::new();
    let mut parts = 0usize;
    while let (Some(name), Some(filename), Some(body)) =
        (fields.next(), fields.next(), fields.next())
    {
        let name = String::from_utf8_lossy(name).into_owned();
        if filename.is_empty() {
            form = form.text(name, String::from_utf8_lossy(body).into_owned());
        } else if let Some(file) = filename.strip_prefix(b"!") {
            let content_type = String::from_utf8_lossy(body).into_owned();
            let body = fields.next().unwrap_or_default().to_vec();
            form = form.file(
                name,
                String::from_utf8_lossy(file).into_owned(),
                content_type,
                body,
            );
        } else {
            let filename = String::from_utf8_lossy(filename).into_owned();
            form = form.file(name, filename, "audio/wav", body.to_vec());
        }
        parts += 1;
    }
    let Ok(encoded) = form.encode(limit) else {
        return;
    };
    assert!(encoded.body.len() <= limit, "over the limit");
    assert_eq!(
        form.encode(limit).as_ref(),
        Ok(&encoded),
        "not deterministic"
    );
    assert!(encoded.boundary.len() <= 70);
    let delimiter = format!("--{}", encoded.boundary);
    let found = encoded
        .body
        .windows(delimiter.len())
        .filter(|window| *window == delimiter.as_bytes())
        .count();
    assert_eq!(found, parts + 1, "the delimiter occurs inside a part");
    assert!(encoded
        .body
        .ends_with(format!("{delimiter}--\r\n").as_bytes()));
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

/// What the `router_config` lookup answers for every environment variable it is asked for
/// (but those named `UNSET…`, which are missing): recognisable, so a leak shows.
const SECRET: &str = "sk-FUZZSECRET";
/// The same lookup's answer on the second reading, to tell what the lookup's value put in
/// the output from what the input spelt itself (a fuzzer can write `sk-FUZZSECRET` too).
const OTHER_SECRET: &str = "sk-OTHERSECRET";

/// The bound on a configuration error's message, whatever the input's size.
const MAX_CONFIG_ERROR: usize = 2_000;

/// Keys whose `os.environ/` value is a secret, or may hold one (a base URL, a Redis
/// address), wherever they are: never shown, in a configuration's `Debug` or in an error.
const SECRET_KEYS: &[&str] = &[
    "api_key",
    "api_base",
    "api_version",
    "aws_region_name",
    "aws_access_key_id",
    "aws_secret_access_key",
    "vertex_project",
    "vertex_location",
    "redis_url",
    "redis_host",
    "redis_password",
    "url",
    "host",
    "password",
    "master_key",
];

/// The sections whose mapping keys are data (group names), not field names.
const FALLBACK_KEYS: &[&str] = &[
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "default_fallbacks",
];

/// A configuration document, as far as where it reads variables goes.
enum Doc {
    /// An `os.environ/NAME` string.
    Variable,
    List(Vec<Doc>),
    Map(Vec<(String, Doc)>),
    Other,
}

impl Doc {
    /// The first YAML document of `text` the way the core's reader sees it (`None` where
    /// the core refuses the file before reading any value).
    fn yaml(text: &str) -> Option<Doc> {
        use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
        fn convert(node: &MarkedYaml<'_>, depth: usize) -> Option<Doc> {
            if depth > 40 {
                return None;
            }
            Some(match &node.data {
                YamlData::Value(Scalar::String(text)) => Doc::string(text),
                YamlData::Value(_) => Doc::Other,
                YamlData::Representation(text, _, _) => Doc::string(text),
                YamlData::Sequence(items) => Doc::List(
                    items
                        .iter()
                        .map(|item| convert(item, depth + 1))
                        .collect::<Option<_>>()?,
                ),
                YamlData::Mapping(entries) => {
                    let mut out = Vec::new();
                    for (key, value) in entries {
                        let name = match &key.data {
                            YamlData::Value(Scalar::String(text)) => text.to_string(),
                            YamlData::Value(Scalar::Integer(i)) => i.to_string(),
                            YamlData::Value(Scalar::Boolean(b)) => b.to_string(),
                            _ => return None,
                        };
                        out.push((name, convert(value, depth + 1)?));
                    }
                    Doc::Map(out)
                }
                YamlData::Tagged(_, inner) => convert(inner, depth + 1)?,
                YamlData::Alias(_) | YamlData::BadValue => return None,
            })
        }
        let documents = MarkedYaml::load_from_str(text).ok()?;
        convert(documents.first()?, 0)
    }

    /// A string: only whether it names a variable is kept (YAML aliases can make many
    /// copies of a long one).
    fn string(text: &str) -> Doc {
        if text.starts_with("os.environ/") {
            Doc::Variable
        } else {
            Doc::Other
        }
    }

    fn json(value: &serde_json::Value) -> Doc {
        match value {
            serde_json::Value::String(text) => Doc::string(text),
            serde_json::Value::Array(items) => Doc::List(items.iter().map(Doc::json).collect()),
            serde_json::Value::Object(map) => Doc::Map(
                map.iter()
                    .map(|(key, value)| (key.clone(), Doc::json(value)))
                    .collect(),
            ),
            _ => Doc::Other,
        }
    }

    /// Whether every `os.environ/` value of the document sits right under a key of
    /// [`SECRET_KEYS`], outside the fallback sections: then whatever the lookup answers is
    /// a secret, and must never be shown.
    fn reads_only_secrets(&self) -> bool {
        fn walk(doc: &Doc, key: Option<&str>, in_fallbacks: bool) -> bool {
            match doc {
                Doc::Variable => !in_fallbacks && key.is_some_and(|key| SECRET_KEYS.contains(&key)),
                Doc::Other => true,
                Doc::List(items) => items.iter().all(|item| walk(item, None, in_fallbacks)),
                Doc::Map(entries) => entries.iter().all(|(name, value)| {
                    let in_fallbacks = in_fallbacks || FALLBACK_KEYS.contains(&name.as_str());
                    walk(value, Some(name), in_fallbacks)
                }),
            }
        }
        walk(self, None, false)
    }
}

type ReadConfig<'a> =
    &'a dyn Fn(&dyn Fn(&str) -> Option<String>) -> Result<RouterConfig, onellm_core::Error>;

/// What a reading shows: the error's message and `Display`, or the configuration's `Debug`
/// whole and with the fields that name things (groups, models, ids, fallbacks, the cache's
/// namespace) emptied.
struct Shown {
    whole: String,
    without_names: String,
}

fn shown(result: &Result<RouterConfig, onellm_core::Error>) -> Shown {
    match result {
        Ok(config) => {
            let mut unnamed = config.clone();
            for deployment in &mut unnamed.deployments {
                deployment.group.clear();
                deployment.model.clear();
                deployment.id.clear();
            }
            let settings = &mut unnamed.settings;
            settings.fallbacks.clear();
            settings.context_window_fallbacks.clear();
            settings.content_policy_fallbacks.clear();
            settings.default_fallbacks.clear();
            if let Some(cache) = &mut unnamed.cache {
                cache.namespace = None;
            }
            Shown {
                whole: format!("{config:?}"),
                without_names: format!("{unnamed:?}"),
            }
        }
        Err(error) => Shown {
            whole: format!("{} | {error}", error.message()),
            without_names: String::new(),
        },
    }
}

/// The properties of one way of reading (`file` names it in errors): a `Configuration`
/// error that starts with the file's name and is bounded, or a configuration whose every
/// deployment has an id and that `checked()` accepts again with the same ids; and the
/// lookup's value never shown (see [`router_config`]).
fn check_config_reading(file: &str, read: ReadConfig<'_>, only_secrets: bool) {
    let lookup = |secret: &'static str| {
        move |name: &str| (!name.starts_with("UNSET")).then(|| secret.to_owned())
    };
    let result = read(&lookup(SECRET));
    // Read again with another secret: what the lookup's value put in the output shows as
    // more `SECRET`s in the first reading than in the second.
    let (first, second) = (shown(&result), shown(&read(&lookup(OTHER_SECRET))));
    assert_eq!(
        first.without_names.matches(SECRET).count(),
        second.without_names.matches(SECRET).count(),
        "the secret a lookup returned is shown: {}",
        excerpt_of(&first.without_names)
    );
    if only_secrets {
        assert_eq!(
            first.whole.matches(SECRET).count(),
            second.whole.matches(SECRET).count(),
            "the secret a lookup returned for a secret key is shown: {}",
            excerpt_of(&first.whole)
        );
    }
    match result {
        Err(error) => {
            assert_eq!(
                error.kind(),
                onellm_core::ErrorKind::Configuration,
                "{}",
                excerpt_of(error.message())
            );
            assert!(
                error.message().starts_with(&format!("{file}:")),
                "the error does not name {file}: {}",
                excerpt_of(error.message())
            );
            assert!(
                error.message().len() < MAX_CONFIG_ERROR,
                "a configuration error of {} bytes: {}",
                error.message().len(),
                excerpt_of(error.message())
            );
        }
        Ok(config) => {
            let ids: Vec<&str> = config.deployments.iter().map(|d| d.id.as_str()).collect();
            assert!(ids.iter().all(|id| !id.is_empty()), "an empty id: {ids:?}");
            let again = config
                .clone()
                .checked()
                .expect("a parsed configuration checks");
            let again: Vec<&str> = again.deployments.iter().map(|d| d.id.as_str()).collect();
            assert_eq!(ids, again, "checking again changed the ids");
        }
    }
}

/// The first 300 characters of `text`, for a panic message.
fn excerpt_of(text: &str) -> String {
    text.chars().take(300).collect()
}

/// The router's configuration (LiteLLM's `config.yaml`, and the same as JSON): never
/// panics; errors are `Configuration` errors naming the file (`fuzz.yaml`, or
/// `configuration` for JSON), under 2,000 bytes; a configuration that parses has every
/// deployment id and checks again with the same ids.
///
/// Secrets: every variable the file names (`os.environ/NAME`) reads as `sk-FUZZSECRET`
/// (`UNSET…` ones are missing). What a configuration shows by design — group names, model
/// ids, deployment ids, fallbacks, the cache's namespace — may come from a variable too,
/// so the property is in two parts: the `Debug` of a configuration with those fields
/// emptied never shows the lookup's value; and when every variable sits under a key that
/// holds a secret ([`SECRET_KEYS`], outside the fallback sections), neither the whole
/// `Debug` nor an error does.
pub fn router_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let only_secrets = Doc::yaml(&text).is_none_or(|doc| doc.reads_only_secrets());
    check_config_reading(
        "fuzz.yaml",
        &|lookup| RouterConfig::from_yaml(&text, "fuzz.yaml", lookup),
        only_secrets,
    );
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let only_secrets = Doc::json(&value).reads_only_secrets();
        check_config_reading(
            "configuration",
            &|lookup| RouterConfig::from_json(&value, lookup),
            only_secrets,
        );
    }
}

/// The text of the completion every request of `store_replies` is answered with.
const PROVIDER_TEXT: &str = "hi from the provider";

/// Reads `store_replies`' script: replies, call kinds and time steps, in order; a script
/// that ran out answers `Nil` (and zeros).
struct Script<'a> {
    data: &'a [u8],
}

impl<'a> Script<'a> {
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn byte(&mut self) -> u8 {
        let Some((&first, rest)) = self.data.split_first() else {
            return 0;
        };
        self.data = rest;
        first
    }

    fn take(&mut self, len: usize) -> &'a [u8] {
        let (taken, rest) = self.data.split_at(len.min(self.data.len()));
        self.data = rest;
        taken
    }

    fn eight(&mut self) -> [u8; 8] {
        let mut bytes = [0; 8];
        let taken = self.take(8);
        bytes[..taken.len()].copy_from_slice(taken);
        bytes
    }

    /// One store reply: the tag's low three bits pick Nil, a small or a large Integer,
    /// Bytes (two length bytes, then the bytes), a Status, an Array of up to 8 replies,
    /// a Double, or a `Connection` error.
    fn reply(&mut self, tag: u8, depth: usize) -> Result<StoreReply, onellm_core::Error> {
        Ok(match tag % 8 {
            0 => StoreReply::Nil,
            1 => StoreReply::Integer(i64::from(self.byte() as i8)),
            2 => StoreReply::Integer(i64::from_le_bytes(self.eight())),
            3 => {
                let len = usize::from(u16::from_be_bytes([self.byte(), self.byte()]));
                StoreReply::Bytes(self.take(len).to_vec())
            }
            4 => {
                let len = usize::from(self.byte() % 32);
                StoreReply::Status(String::from_utf8_lossy(self.take(len)).into_owned())
            }
            5 if depth < 4 => {
                let count = usize::from(self.byte() % 9);
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    let tag = self.byte();
                    match self.reply(tag, depth + 1) {
                        Ok(item) => items.push(item),
                        // An error inside an array is a Nil there.
                        Err(_) => items.push(StoreReply::Nil),
                    }
                }
                StoreReply::Array(items)
            }
            5 => StoreReply::Nil,
            6 => StoreReply::Double(f64::from_le_bytes(self.eight())),
            _ => {
                return Err(onellm_core::Error::new(
                    onellm_core::ErrorKind::Connection,
                    "the fuzzer's store failed",
                ))
            }
        })
    }
}

/// How far the clock moves before a store reply, by the reply tag's high five bits.
const STEPS_MS: [u64; 32] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 5, 10, 50, 100, 250, 500, 999, 1_000, 1_001, 1_500, 2_000, 5_000,
    10_000, 29_999, 30_000, 30_001, 59_999, 60_000, 61_000, 120_000, 300_000, 3_600_000,
];

/// The responses `store_replies` answers every request with: a chat completion, the same
/// as a stream, and embeddings.
fn provider_response(request: &http::Request<Bytes>) -> http::Response<Bytes> {
    let sent: serde_json::Value = serde_json::from_slice(request.body()).unwrap_or_default();
    let (content_type, body) = if request.uri().path().ends_with("/embeddings") {
        let inputs = match &sent["input"] {
            serde_json::Value::Array(items) => items.len(),
            _ => 1,
        };
        let data: Vec<serde_json::Value> = (0..inputs)
            .map(|index| {
                serde_json::json!({"object": "embedding", "index": index, "embedding": [0.5, index]})
            })
            .collect();
        let body = serde_json::json!({"object": "list", "data": data, "model": "fuzz-model",
            "usage": {"prompt_tokens": 2, "total_tokens": 2}});
        ("application/json", body.to_string())
    } else if sent["stream"] == serde_json::Value::Bool(true) {
        let chunk = |delta: &str, finish: &str, usage: &str| {
            format!(
                "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\
                 \"model\":\"fuzz-model\",\"choices\":[{{\"index\":0,\"delta\":{delta},\
                 \"finish_reason\":{finish}}}]{usage}}}\n\n"
            )
        };
        let mut body = chunk(
            &format!(r#"{{"role":"assistant","content":"{PROVIDER_TEXT}"}}"#),
            "null",
            "",
        );
        body.push_str(&chunk("{}", "\"stop\"", ""));
        body.push_str(
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\
             \"model\":\"fuzz-model\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\
             \"completion_tokens\":5,\"total_tokens\":10}}\n\ndata: [DONE]\n\n",
        );
        ("text/event-stream", body)
    } else {
        let body = serde_json::json!({"id": "c", "object": "chat.completion", "created": 1,
            "model": "fuzz-model", "choices": [{"index": 0, "message": {"role": "assistant",
            "content": PROVIDER_TEXT}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}});
        ("application/json", body.to_string())
    };
    http::Response::builder()
        .status(200)
        .header("content-type", content_type)
        .body(Bytes::from(body))
        .expect("a valid response")
}

/// The engine of `store_replies`: a group of two OpenAI deployments on made-up hosts with
/// `rpm` limits (and, by `flags`, a routing strategy, a `tpm` and a parallel limit, so
/// admissions and reports of every kind are asked), the router's retries 0, its state and
/// a response cache in Redis.
fn store_engine(flags: u8) -> Engine {
    let strategy = [
        "simple-shuffle",
        "least-busy",
        "latency-based-routing",
        "usage-based-routing-v2",
    ][usize::from(flags % 4)];
    let mut east = serde_json::json!({"model": "openai/fuzz-model", "api_key": "sk-east",
        "api_base": "https://east.fuzz.invalid/v1", "rpm": 3});
    if flags & 4 != 0 {
        east["tpm"] = serde_json::json!(40);
    }
    if flags & 8 != 0 {
        east["max_parallel_requests"] = serde_json::json!(1);
    }
    let config = serde_json::json!({
        "model_list": [
            {"model_name": "smart", "litellm_params": east, "model_info": {"id": "east"}},
            {"model_name": "smart", "litellm_params": {"model": "openai/fuzz-model",
              "api_key": "sk-west", "api_base": "https://west.fuzz.invalid/v1", "rpm": 5},
             "model_info": {"id": "west"}}
        ],
        "router_settings": {"routing_strategy": strategy, "num_retries": 0,
            "allowed_fails": u32::from(flags >> 4 & 1), "cooldown_time": 30,
            "redis_url": "redis://:pw@127.0.0.1:1"}
    });
    let config = RouterConfig::from_json(&config, &|_| None).expect("the fuzz router config");
    Engine::new(
        Registry::new(),
        CallOptions::default(),
        Some(u64::from(flags)),
        None,
    )
    .with_router(config)
    .with_cache(CacheSettings::redis("redis://127.0.0.1:2"))
}

/// The most sends one call of `store_replies` may make: its chain is the group's two
/// deployments, each tried once (a lone one gets the router's retries, 0), no fallbacks.
const MAX_SENDS_PER_CALL: usize = 2;

/// The bound on a call's drive loop: store operations (before, between and after attempts)
/// and polls.
const MAX_STEPS: usize = 200;

/// What one call of `store_replies` did.
struct Driven<T> {
    result: Result<T, onellm_core::Error>,
    chunks: Vec<ChatCompletionChunk>,
    sends: usize,
}

/// Drives `typed` as a transport's loop does, the store answered from `script`, every
/// request with [`provider_response`]; asserts the call ends within [`MAX_STEPS`], sends
/// at most [`MAX_SENDS_PER_CALL`] requests, only to the group's hosts, and that a wait
/// moves forward.
fn drive<T: onellm_core::client::CallOutput>(
    mut typed: onellm_core::client::TypedCall<T>,
    now: &mut std::time::Instant,
    script: &mut Script<'_>,
) -> Driven<T> {
    use onellm_core::Action;
    let mut steps = 0;
    let mut sends = 0;
    let mut chunks = Vec::new();
    let mut store = |typed: &mut onellm_core::client::TypedCall<T>,
                     now: &mut std::time::Instant,
                     steps: &mut usize| {
        let mut asked = false;
        while let Some(op) = typed.poll_store(*now) {
            *steps += 1;
            assert!(*steps < MAX_STEPS, "the call did not end: {op:?}");
            let tag = script.byte();
            *now += std::time::Duration::from_millis(STEPS_MS[usize::from(tag >> 3)]);
            let reply = script.reply(tag, 0);
            typed.handle_store(reply, *now);
            asked = true;
        }
        asked
    };
    let result = loop {
        steps += 1;
        assert!(steps < MAX_STEPS, "the call did not end");
        chunks.extend(std::iter::from_fn(|| typed.poll_chunk()));
        if store(&mut typed, now, &mut steps) {
            continue;
        }
        match typed.poll(*now) {
            Action::Admit { .. } => {}
            Action::Send(outgoing) => {
                sends += 1;
                assert!(
                    sends <= MAX_SENDS_PER_CALL,
                    "{sends} sends > {MAX_SENDS_PER_CALL}"
                );
                let host = outgoing.request.uri().host().unwrap_or_default();
                assert!(
                    host == "east.fuzz.invalid" || host == "west.fuzz.invalid",
                    "sent to {host}"
                );
                let response = provider_response(&outgoing.request);
                typed
                    .call_mut()
                    .handle_response(outgoing.attempt, response, *now);
            }
            // Every response is handed in whole at once: nothing is left to await, but a
            // deadline that passed may still be reported.
            Action::Receive { attempt, deadline } => {
                if let Some(deadline) = deadline {
                    *now = (*now).max(deadline);
                }
                typed.call_mut().handle_timeout(attempt, *now);
            }
            Action::Wait(until) => {
                assert!(until > *now, "a wait must move forward");
                *now = until;
            }
            Action::Done(output) => break typed.output(output),
            Action::Failed(error) => break Err(error),
            other => panic!("an action this harness does not know: {other:?}"),
        }
    };
    // What is left for the store once the call ended (reports, the cache write).
    store(&mut typed, now, &mut steps);
    chunks.extend(std::iter::from_fn(|| typed.poll_chunk()));
    Driven {
        result,
        chunks,
        sends,
    }
}

/// How one call of `store_replies` ended, for the harness's tests.
#[derive(Debug, Clone, PartialEq)]
struct CallSummary {
    /// `chat`, `stream` or `embeddings`.
    kind: &'static str,
    sends: usize,
    /// The cache answered it.
    cached: bool,
    /// How it failed, if it did.
    failed: Option<onellm_core::ErrorKind>,
    /// Embeddings returned, or streamed chunks received.
    items: usize,
}

/// Every store operation of engine calls (cache lookups, router admissions and reports,
/// cache writes) answered with replies decoded from the bytes, calls chat, streamed or
/// embeddings, the clock moved by the bytes. Never panics; every call ends, sends at most
/// twice and only to the group's hosts; an answer the cache did not give is the provider's;
/// streamed chunks fold.
pub fn store_replies(data: &[u8]) {
    run_store_replies(data);
}

fn run_store_replies(data: &[u8]) -> Vec<CallSummary> {
    use std::time::{Duration, SystemTime};
    static BASE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(std::time::Instant::now);
    let wall_base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    let mut script = Script { data };
    let engine = store_engine(script.byte());
    let mut now = base;
    let mut summaries = Vec::new();
    for _ in 0..6 {
        if script.is_empty() {
            break;
        }
        // Bits 0–1: chat, stream, embeddings (or chat); 2–3: the call's cache controls;
        // 5–7: the prompt (two of them, so calls repeat) or the number of inputs. Then how
        // far the clock moves before the call.
        let control = script.byte();
        now += Duration::from_millis(STEPS_MS[usize::from(script.byte() % 32)]);
        let wall = wall_base + now.duration_since(base);
        let cache = match control >> 2 & 3 {
            0 => serde_json::Value::Null,
            1 => serde_json::json!({"no-cache": true}),
            2 => serde_json::json!({"no-store": true}),
            _ => serde_json::json!({"s-maxage": 1, "ttl": 0.5}),
        };
        if control & 3 == 2 {
            let inputs: Vec<String> = (0..=usize::from(control >> 5))
                .map(|i| format!("text {i}"))
                .collect();
            let request: onellm_core::EmbeddingRequest = serde_json::from_value(
                serde_json::json!({"model": "smart", "input": inputs, "cache": cache}),
            )
            .expect("an embeddings request");
            let driven = drive(engine.embeddings(request, now, wall), &mut now, &mut script);
            let mut summary = CallSummary {
                kind: "embeddings",
                sends: driven.sends,
                cached: false,
                failed: None,
                items: 0,
            };
            match driven.result {
                Ok(response) => {
                    assert!(
                        response.data.len() <= inputs.len(),
                        "{} embeddings for {} inputs",
                        response.data.len(),
                        inputs.len()
                    );
                    let report = response.report().expect("a client call's report");
                    assert!(report.attempts.len() <= MAX_SENDS_PER_CALL);
                    summary.cached = report.cached.is_some();
                    summary.items = response.data.len();
                    let _ = serde_json::to_string(&response).expect("embeddings serialize");
                }
                Err(error) => {
                    assert!(error.attempts().len() <= MAX_SENDS_PER_CALL);
                    summary.failed = Some(error.kind());
                }
            }
            summaries.push(summary);
            continue;
        }
        let mut request = ChatRequest::new("smart").user(format!("prompt {}", control >> 5 & 1));
        request.cache = serde_json::from_value(cache).expect("cache controls");
        let stream = control & 3 == 1;
        let typed = if stream {
            engine.chat_stream(request, now, wall)
        } else {
            engine.chat(request, now, wall)
        };
        let driven = drive(typed, &mut now, &mut script);
        let mut accumulator = ChunkAccumulator::new();
        for chunk in &driven.chunks {
            accumulator.push(chunk);
        }
        let folded = accumulator.completion();
        let _ = serde_json::to_string(&folded).expect("folded chunks serialize");
        let mut summary = CallSummary {
            kind: if stream { "stream" } else { "chat" },
            sends: driven.sends,
            cached: false,
            failed: None,
            items: driven.chunks.len(),
        };
        match driven.result {
            Ok(completion) => {
                let report = completion.report().expect("a client call's report");
                assert!(report.attempts.len() <= MAX_SENDS_PER_CALL);
                summary.cached = report.cached.is_some();
                if !summary.cached {
                    assert_eq!(
                        completion.text(),
                        PROVIDER_TEXT,
                        "not the provider's answer"
                    );
                    if stream {
                        assert_eq!(folded.text(), PROVIDER_TEXT, "the chunks fold elsewhere");
                    }
                }
                let _ = serde_json::to_string(&completion).expect("a completion serializes");
            }
            Err(error) => {
                assert!(error.attempts().len() <= MAX_SENDS_PER_CALL);
                summary.failed = Some(error.kind());
            }
        }
        summaries.push(summary);
    }
    summaries
}

/// `canonical_json(value)` parses back to a value with the same canonical form.
fn assert_canonical_idempotent(value: &serde_json::Value) {
    let text = onellm_core::cache::canonical_json(value);
    let parsed: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("canonical JSON does not parse ({error}): {text}"));
    assert_eq!(
        onellm_core::cache::canonical_json(&parsed),
        text,
        "canonical JSON is not a fixed point"
    );
}

/// A stored completion replayed as chunks (what a cache hit streams) folds back without
/// panicking into a completion that serializes, with the same id, model and creation
/// time; canonical JSON (cache keys) is idempotent, over the completion and over any JSON.
pub fn cache_replay(data: &[u8]) {
    if let Ok(completion) = serde_json::from_slice::<ChatCompletion>(data) {
        let chunks = onellm_core::chunks_of(&completion);
        assert!(
            !chunks.is_empty(),
            "a completion replays as at least one chunk"
        );
        let mut accumulator = ChunkAccumulator::new();
        for chunk in &chunks {
            accumulator.push(chunk);
        }
        let folded = accumulator.completion();
        let _ = serde_json::to_string(&folded).expect("the folded completion serializes");
        assert_eq!(folded.id, completion.id);
        assert_eq!(folded.model, completion.model);
        assert_eq!(folded.created, completion.created);
        let value = serde_json::to_value(&completion).expect("a completion serializes");
        assert_canonical_idempotent(&value);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        assert_canonical_idempotent(&value);
    }
}

/// The Responses API event decoder (OpenAI's native one): any split of the bytes gives the
/// same events and errors, an error is the last item, events re-serialize and read back
/// equal, and the accumulator folds whatever came without panicking.
pub fn responses_stream(data: &[u8]) {
    let registry = registry();
    let Ok(provider) = registry.resolve(&ModelId::parse("openai/m").unwrap()) else {
        return;
    };
    let (points, payload) = split_points(data);
    let run = |parts: Vec<&[u8]>| decode(provider.responses_stream_decoder("m"), parts).0;
    let whole = run(vec![payload]);
    assert_eq!(whole, run(pieces(payload, &points)));
    assert_error_last(&whole);
    let mut accumulator = onellm_core::ResponseAccumulator::new();
    for event in whole.iter().flatten() {
        let json = serde_json::to_string(event).unwrap();
        let back: onellm_core::ResponseStreamEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, event);
        let _ = event.has_content();
        accumulator.push(event);
    }
    let _ = accumulator.response();
}

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// OpenAI's stream decoder against serde, one event at a time: the input is an SSE event's
/// data. Where serde reads it as a chunk with nothing in any `extra` — the chunks the decoder
/// may read without serde (`core/src/provider/openai/plain_chunk.rs`) — and the decoder
/// yields a chunk, it is exactly serde's.
pub fn openai_chunk(data: &[u8]) {
    compare_openai_chunk(data);
}

/// [`openai_chunk`]; whether the two were compared.
fn compare_openai_chunk(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    if text.contains(['\n', '\r']) {
        return false; // One data line.
    }
    let Ok(expected) = serde_json::from_str::<ChatCompletionChunk>(text.trim()) else {
        return false;
    };
    let plain = expected.extra.is_empty()
        && expected
            .choices
            .iter()
            .all(|choice| choice.extra.is_empty() && choice.delta.extra.is_empty());
    if !plain {
        return false;
    }
    let registry = registry();
    let provider = registry
        .resolve(&ModelId::parse("openai/m").unwrap())
        .unwrap();
    let body = format!("data: {text}\n\ndata: [DONE]\n\n");
    let (items, _) = decode(provider.chat_stream_decoder("m"), vec![body.as_bytes()]);
    let Some(Ok(chunk)) = items.first() else {
        return false;
    };
    assert_eq!(chunk, &expected, "the decoder and serde disagree on {text}");
    true
}

/// Every target, by name, for the seed-replay test and the fuzz binaries.
pub const TARGETS: &[(&str, Target)] = &[
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
    ("router_config", router_config),
    ("store_replies", store_replies),
    ("cache_replay", cache_replay),
    ("multipart_form", multipart_form),
    ("responses_bridges", responses_bridges),
    ("responses_stream", responses_stream),
    ("openai_chunk", openai_chunk),
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

    /// The committed seeds of `target`, by file name, sorted.
    fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../seeds")
            .join(target);
        let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                (name, std::fs::read(entry.path()).unwrap())
            })
            .collect();
        seeds.sort();
        seeds
    }

    /// Every `openai_chunk` seed is a plain chunk the target compares (it does not return
    /// early on them), so the property is checked on them.
    #[test]
    fn openai_chunk_seeds_are_compared() {
        for (name, data) in seeds("openai_chunk") {
            assert!(
                super::compare_openai_chunk(&data),
                "{name} was not compared"
            );
        }
        // And a chunk with an extension field is not (serde alone reads it).
        assert!(!super::compare_openai_chunk(
            br#"{"id":"c","x_groq":{},"choices":[]}"#
        ));
    }

    /// The `router_config` seeds replay, and read as their names say: `bad-*` files are
    /// refused, the others are LiteLLM configurations that parse (crash reproducers are
    /// replayed by `committed_seeds_replay` only).
    #[test]
    fn router_config_seeds_replay_and_read_as_named() {
        use onellm_core::router::RouterConfig;
        let lookup = |name: &str| (!name.starts_with("UNSET")).then(|| super::SECRET.to_owned());
        let mut read = 0;
        for (name, data) in seeds("router_config") {
            if name.starts_with("crash-") {
                continue;
            }
            super::router_config(&data);
            let text = String::from_utf8(data.clone()).unwrap();
            let yaml = RouterConfig::from_yaml(&text, "fuzz.yaml", &lookup);
            let json = serde_json::from_slice::<serde_json::Value>(&data)
                .ok()
                .map(|value| RouterConfig::from_json(&value, &lookup));
            if name.starts_with("bad-") {
                assert!(yaml.is_err(), "{name} parsed");
                assert!(
                    json.is_none_or(|json| json.is_err()),
                    "{name} parsed as JSON"
                );
            } else {
                let config = yaml.unwrap_or_else(|error| panic!("{name}: {error}"));
                assert!(!config.deployments.is_empty(), "{name}");
                assert!(config.cache.is_some(), "{name} has a cache");
                if let Some(json) = json {
                    json.unwrap_or_else(|error| panic!("{name} as JSON: {error}"));
                }
            }
            read += 1;
        }
        assert!(read >= 10, "{read} seeds");
    }

    #[test]
    fn only_variables_under_secret_keys_are_secrets() {
        let secret = |yaml: &str| super::Doc::yaml(yaml).unwrap().reads_only_secrets();
        assert!(secret(
            "model_list:\n  - model_name: a\n    litellm_params: {model: openai/x, api_key: os.environ/K}\nrouter_settings: {redis_password: os.environ/P}"
        ));
        assert!(secret("plain: text"));
        assert!(!secret("model_list:\n  - model_name: os.environ/GROUP"));
        assert!(!secret(
            "litellm_settings: {cache_params: {namespace: os.environ/NS}}"
        ));
        // In the fallbacks, keys are group names: `api_key` there is one.
        assert!(!secret(
            "router_settings: {fallbacks: [{api_key: os.environ/K}]}"
        ));
        assert!(!secret(
            "router_settings: {default_fallbacks: [os.environ/K]}"
        ));
        // Quoted and tagged strings are strings too.
        assert!(!secret(
            "router_settings: {routing_strategy: !!str \"os.environ/K\"}"
        ));
        let json = serde_json::json!({"model_list": [{"model_name": "os.environ/G"}]});
        assert!(!super::Doc::json(&json).reads_only_secrets());
    }

    #[test]
    #[should_panic(expected = "the secret a lookup returned for a secret key is shown")]
    fn the_secret_property_can_fail() {
        let leaky = |lookup: &dyn Fn(&str) -> Option<String>| {
            Err(onellm_core::Error::configuration(format!(
                "fuzz.yaml: {}",
                lookup("KEY").unwrap()
            )))
        };
        super::check_config_reading("fuzz.yaml", &leaky, true);
    }

    #[test]
    #[should_panic(expected = "a configuration error of 2000 bytes")]
    fn the_error_bound_can_fail() {
        let long = |_: &dyn Fn(&str) -> Option<String>| {
            Err(onellm_core::Error::configuration(format!(
                "fuzz.yaml: {}",
                "x".repeat(1989)
            )))
        };
        super::check_config_reading("fuzz.yaml", &long, true);
    }

    /// The `store_replies` seeds replay, and reach what their names say: misses stored,
    /// hits on chat, stream and embeddings calls, refusals failing a call without sending,
    /// a store that fails, part of an embeddings call answered from the cache.
    #[test]
    fn store_replies_seeds_replay_and_reach_their_paths() {
        use onellm_core::ErrorKind;
        let seeds = seeds("store_replies");
        let run = |name: &str| {
            let (_, data) = seeds
                .iter()
                .find(|(seed, _)| seed == name)
                .unwrap_or_else(|| panic!("no seed {name}"));
            super::run_store_replies(data)
        };
        for (name, data) in &seeds {
            let calls = super::run_store_replies(data);
            assert!(!calls.is_empty(), "{name}");
        }
        let kinds = |calls: &[super::CallSummary]| -> Vec<(&str, usize, bool)> {
            calls
                .iter()
                .map(|call| (call.kind, call.sends, call.cached))
                .collect()
        };
        let misses = run("misses-admitted-stored");
        assert_eq!(
            kinds(&misses),
            [
                ("chat", 1, false),
                ("stream", 1, false),
                ("embeddings", 1, false)
            ]
        );
        assert_eq!(misses[2].items, 3);
        let hits = run("hits-chat-and-stream");
        assert_eq!(
            kinds(&hits),
            [("chat", 0, true), ("stream", 0, true), ("stream", 0, true)]
        );
        assert!(hits[1].items > 0, "a stream hit replays chunks");
        let refused = run("refused-both");
        assert_eq!(refused[0].sends, 0);
        assert_eq!(refused[0].failed, Some(ErrorKind::AllFailed));
        assert_eq!(refused[1].failed, None);
        let partial = run("embeddings-partial-hit");
        assert_eq!(
            kinds(&partial),
            [("embeddings", 1, false), ("embeddings", 0, true)]
        );
        assert_eq!((partial[0].items, partial[1].items), (3, 3));
        let down = run("store-down-then-back");
        assert!(down
            .iter()
            .all(|call| call.sends == 1 && call.failed.is_none()));
    }

    /// The `cache_replay` seeds replay; the completion ones parse as completions.
    #[test]
    fn cache_replay_seeds_replay() {
        let seeds = seeds("cache_replay");
        for (name, data) in &seeds {
            super::cache_replay(data);
            if !name.starts_with("json-") && !name.starts_with("crash-") {
                serde_json::from_slice::<onellm_core::ChatCompletion>(data)
                    .unwrap_or_else(|error| panic!("{name}: {error}"));
            }
        }
        assert!(seeds.len() >= 6);
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
