//! Micro-benchmarks of the sans-IO core: what OneLLM itself costs per request, per response
//! and per streamed byte, with no network in the way.
//!
//! Run: `cargo bench -p onellm-core --bench core` (see benches/README.md for the short
//! settings used for the published table).
//!
//! Groups:
//! - `build_chat`: a typical request (system prompt, 9 turns, 2 tools) to `http::Request`.
//! - `parse_chat`: a ~2 KB non-streaming completion body to `ChatCompletion`.
//! - `stream`: a whole streamed body (10,000 OpenAI chunks; the Anthropic equivalent) pushed
//!   in 4 KiB pieces through `chat_stream_decoder`, every chunk pulled out.
//! - `sse_framing` and `serde_json`: the two halves of that work measured alone over the same
//!   bytes, so the decoder's own share (`stream` minus both) is visible.
//!
//! - `catalog`: model catalog lookups (a full id, a bare name, a dated snapshot that falls
//!   back to its undated entry, a miss) in the built-in table, and one `usage.cost`.
//!
//! All payloads are generated here; nothing is read from disk.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use onellm_core::framing::SseDecoder;
use onellm_core::{
    CallOptions, ChatCompletionChunk, ChatRequest, Message, ModelId, Registry, Tool, ToolCall,
};
use serde_json::json;

/// Chunks in a generated stream.
const STREAM_CHUNKS: usize = 10_000;
/// Size of each `push` into a decoder: a typical socket read.
const PIECE: usize = 4096;

fn registry() -> Registry {
    Registry::from_lookup(|name| match name {
        "OPENAI_API_KEY" => Some("sk-bench".into()),
        "ANTHROPIC_API_KEY" => Some("sk-ant-bench".into()),
        _ => None,
    })
}

/// Ten messages (system, user/assistant turns, one tool call and its result) and two tools.
fn typical_request(model: &str) -> ChatRequest {
    let weather = Tool::function(
        "get_weather",
        "Current weather for a city",
        json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
            },
            "required": ["city"]
        }),
    );
    let search = Tool::function(
        "search_docs",
        "Full-text search over the product documentation",
        json!({
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50}
            },
            "required": ["query"]
        }),
    );
    let mut call = Message::assistant("");
    call.content = None;
    call.tool_calls = Some(vec![ToolCall::function(
        "call_1",
        "get_weather",
        r#"{"city":"Paris"}"#,
    )]);
    ChatRequest::new(model)
        .system("You are a helpful assistant. Answer briefly and cite the documentation.")
        .user("Hello! What can you do?")
        .assistant("I can look up the weather and search the documentation for you.")
        .user("What is the weather in Paris?")
        .message(call)
        .message(Message::tool("call_1", r#"{"temp_c":18,"sky":"cloudy"}"#))
        .assistant("It is 18 °C and cloudy in Paris.")
        .user("And how do I configure retries in the client?")
        .assistant("Use the `retries` option on the request or on the client builder.")
        .user("Show me an example with a fallback model too, please.")
        .tool(weather)
        .tool(search)
        .max_tokens(512)
        .temperature(0.2)
}

fn bench_build_chat(c: &mut Criterion) {
    let registry = registry();
    let mut group = c.benchmark_group("build_chat");
    for model in ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"] {
        let request = typical_request(model);
        let id = ModelId::parse(model).expect("valid model id");
        let provider = registry.resolve(&id).expect("provider resolves");
        let name = id.provider().to_owned();
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                provider
                    .build_chat(id.model(), black_box(&request), false)
                    .expect("request builds")
            })
        });
    }
    group.finish();
}

/// A ~2 KB assistant answer of ~1,800 characters of text.
fn answer_text() -> String {
    let sentence = "The client retries a failed call with exponential backoff, then tries \
                    each fallback model in order. ";
    sentence.repeat(18)
}

fn openai_completion_body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1_763_000_000u64,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": answer_text(), "refusal": null},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 412, "completion_tokens": 380, "total_tokens": 792},
        "system_fingerprint": "fp_bench"
    }))
    .expect("serializes")
}

fn anthropic_completion_body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": answer_text()}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": 412, "output_tokens": 380}
    }))
    .expect("serializes")
}

fn bench_parse_chat(c: &mut Criterion) {
    let registry = registry();
    let mut group = c.benchmark_group("parse_chat");
    for (model, body) in [
        ("openai/gpt-4o-mini", openai_completion_body()),
        ("anthropic/claude-sonnet-4-5", anthropic_completion_body()),
    ] {
        let id = ModelId::parse(model).expect("valid model id");
        let provider = registry.resolve(&id).expect("provider resolves");
        let response = http::Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Bytes::from(body))
            .expect("valid response");
        group.throughput(Throughput::Bytes(response.body().len() as u64));
        group.bench_function(BenchmarkId::from_parameter(id.provider().to_owned()), |b| {
            b.iter(|| provider.parse_chat(black_box(&response)).expect("parses"))
        });
    }
    group.finish();
}

/// One generated stream: the SSE body, the `data` of each event (for the JSON-only baseline)
/// and how many chunks the decoder yields from it.
struct StreamPayload {
    provider: &'static str,
    model: &'static str,
    body: Vec<u8>,
    data: Vec<String>,
    chunks: usize,
}

fn token(i: usize) -> String {
    format!(" tok{i}")
}

/// OpenAI's `obfuscation` padding as current streams carry it on every chunk: a random
/// string of 0–15 letters and digits (deterministic here).
fn obfuscation(i: usize) -> &'static str {
    const PAD: &str = "r4N7vQ2mRvoJ43Ta";
    &PAD[..(i * 7) % PAD.len()]
}

fn openai_stream() -> StreamPayload {
    let mut data = Vec::with_capacity(STREAM_CHUNKS + 1);
    let head = r#"{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1763000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":"#;
    data.push(format!(
        r#"{head}{{"role":"assistant","content":""}},"logprobs":null,"finish_reason":null}}],"obfuscation":"{}"}}"#,
        obfuscation(0)
    ));
    for i in 1..STREAM_CHUNKS - 1 {
        let content = serde_json::to_string(&token(i)).expect("serializes");
        data.push(format!(
            r#"{head}{{"content":{content}}},"logprobs":null,"finish_reason":null}}],"obfuscation":"{}"}}"#,
            obfuscation(i)
        ));
    }
    data.push(format!(
        r#"{head}{{}},"logprobs":null,"finish_reason":"stop"}}],"usage":{{"prompt_tokens":412,"completion_tokens":9998,"total_tokens":10410}},"obfuscation":"{}"}}"#,
        obfuscation(STREAM_CHUNKS - 1)
    ));
    let mut body = Vec::new();
    for d in &data {
        body.extend_from_slice(b"data: ");
        body.extend_from_slice(d.as_bytes());
        body.extend_from_slice(b"\n\n");
    }
    body.extend_from_slice(b"data: [DONE]\n\n");
    let chunks = data.len();
    data.push("[DONE]".to_owned());
    StreamPayload {
        provider: "openai",
        model: "gpt-4o-mini",
        body,
        data,
        chunks,
    }
}

fn anthropic_stream() -> StreamPayload {
    let mut events: Vec<(&str, String)> = Vec::with_capacity(STREAM_CHUNKS + 6);
    events.push((
        "message_start",
        r#"{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":412,"output_tokens":1}}}"#.to_owned(),
    ));
    events.push((
        "content_block_start",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#
            .to_owned(),
    ));
    events.push(("ping", r#"{"type": "ping"}"#.to_owned()));
    for i in 0..STREAM_CHUNKS {
        let text = serde_json::to_string(&token(i)).expect("serializes");
        events.push((
            "content_block_delta",
            format!(
                r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":{text}}}}}"#
            ),
        ));
    }
    events.push((
        "content_block_stop",
        r#"{"type":"content_block_stop","index":0}"#.to_owned(),
    ));
    events.push((
        "message_delta",
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":10000}}"#.to_owned(),
    ));
    events.push(("message_stop", r#"{"type":"message_stop"}"#.to_owned()));
    let mut body = Vec::new();
    for (event, d) in &events {
        body.extend_from_slice(b"event: ");
        body.extend_from_slice(event.as_bytes());
        body.extend_from_slice(b"\ndata: ");
        body.extend_from_slice(d.as_bytes());
        body.extend_from_slice(b"\n\n");
    }
    let mut payload = StreamPayload {
        provider: "anthropic",
        model: "claude-sonnet-4-5",
        body,
        data: events.into_iter().map(|(_, d)| d).collect(),
        chunks: 0,
    };
    payload.chunks = decode_stream(&registry(), &payload);
    payload
}

/// Decodes a whole stream the way a transport does: 4 KiB pushes, every ready chunk pulled
/// after each one, then `finish`. Returns the number of chunks.
fn decode_stream(registry: &Registry, payload: &StreamPayload) -> usize {
    let id = ModelId::parse(&format!("{}/{}", payload.provider, payload.model)).expect("id");
    let provider = registry.resolve(&id).expect("provider resolves");
    let mut decoder = provider.chat_stream_decoder(id.model());
    let mut chunks = 0;
    for piece in payload.body.chunks(PIECE) {
        decoder.push(piece);
        while let Some(chunk) = decoder.next_chunk() {
            black_box(chunk.expect("chunk decodes"));
            chunks += 1;
        }
    }
    decoder.finish();
    while let Some(chunk) = decoder.next_chunk() {
        black_box(chunk.expect("chunk decodes"));
        chunks += 1;
    }
    assert!(decoder.is_complete(), "stream completes");
    chunks
}

fn bench_streams(c: &mut Criterion) {
    let registry = registry();
    let payloads = [openai_stream(), anthropic_stream()];
    for p in &payloads {
        eprintln!(
            "payload {}: {} bytes, {} SSE events, {} chunks out of the decoder",
            p.provider,
            p.body.len(),
            p.data.len(),
            p.chunks
        );
    }

    let mut group = c.benchmark_group("stream");
    group.sample_size(20);
    for p in &payloads {
        assert_eq!(decode_stream(&registry, p), p.chunks);
        group.throughput(Throughput::ElementsAndBytes {
            elements: p.chunks as u64,
            bytes: p.body.len() as u64,
        });
        group.bench_function(BenchmarkId::from_parameter(p.provider), |b| {
            b.iter(|| decode_stream(&registry, p))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("sse_framing");
    group.sample_size(20);
    for p in &payloads {
        group.throughput(Throughput::ElementsAndBytes {
            elements: p.data.len() as u64,
            bytes: p.body.len() as u64,
        });
        group.bench_function(BenchmarkId::from_parameter(p.provider), |b| {
            b.iter(|| {
                let mut decoder = SseDecoder::new();
                let mut events = 0usize;
                for piece in p.body.chunks(PIECE) {
                    decoder.push(piece).expect("frames");
                    while let Some(event) = decoder.next_event() {
                        black_box(event);
                        events += 1;
                    }
                }
                decoder.finish();
                while let Some(event) = decoder.next_event() {
                    black_box(event);
                    events += 1;
                }
                events
            })
        });
    }
    group.finish();

    // serde_json alone over the same `data` payloads. OpenAI chunks are parsed into the
    // public `ChatCompletionChunk`, which is what the OpenAI decoder does; Anthropic's event
    // types are private to the adapter, so `serde_json::Value` stands in (a little dearer
    // than typed structs).
    let mut group = c.benchmark_group("serde_json");
    group.sample_size(20);
    for p in &payloads {
        let data_bytes: usize = p.data.iter().map(String::len).sum();
        group.throughput(Throughput::ElementsAndBytes {
            elements: p.data.len() as u64,
            bytes: data_bytes as u64,
        });
        group.bench_function(BenchmarkId::from_parameter(p.provider), |b| {
            b.iter(|| {
                for d in &p.data {
                    if p.provider == "openai" {
                        if d != "[DONE]" {
                            let chunk: ChatCompletionChunk =
                                serde_json::from_str(d).expect("chunk parses");
                            black_box(chunk);
                        }
                    } else {
                        let value: serde_json::Value =
                            serde_json::from_str(d).expect("event parses");
                        black_box(value);
                    }
                }
            })
        });
    }
    group.finish();
}

fn bench_catalog(c: &mut Criterion) {
    use onellm_core::catalog::Catalog;
    let catalog = Catalog::builtin();
    // Built once per process, at the first lookup: measured here apart from the lookups.
    let started = std::time::Instant::now();
    let _ = catalog.get("openai/gpt-4o");
    eprintln!("catalog index built in {:?}", started.elapsed());
    let mut group = c.benchmark_group("catalog");
    for (name, id) in [
        ("full_id", "openai/gpt-4o"),
        ("bare_name", "claude-sonnet-4-5"),
        ("dated_alias", "openai/gpt-4o-mini-2099-01-01"),
        ("miss", "openai/no-such-model"),
    ] {
        group.bench_function(name, |b| b.iter(|| catalog.get(black_box(id)).is_some()));
    }
    let usage: onellm_core::Usage = serde_json::from_value(json!({
        "prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500,
        "prompt_tokens_details": {"cached_tokens": 400}}))
    .unwrap();
    group.bench_function("cost", |b| {
        b.iter(|| {
            catalog
                .for_call(black_box("openai/gpt-4o"), black_box("gpt-4o-2024-08-06"))
                .and_then(|info| info.cost(&usage))
        })
    });
    group.finish();
}

/// What the checks before sending cost: starting a call with them and without (a typical
/// request, which the byte bound clears without counting), and counting a ~40,000-token
/// prompt exactly (OpenAI, with the `tokenizer` feature) and by estimate.
fn bench_tokens(c: &mut Criterion) {
    use onellm_core::client::Engine;
    use onellm_core::tokens::count_chat;
    use std::time::{Instant, SystemTime};
    let long = ChatRequest::new("openai/gpt-4o")
        .user("the quick brown fox jumps over the lazy dog ".repeat(4_445));
    for model in ["openai/gpt-4o", "openai/gpt-3.5-turbo"] {
        // The encoding is loaded at its first use in a process: measured apart.
        let started = Instant::now();
        let count = count_chat(model, &ChatRequest::new(model).user("Hi"));
        eprintln!(
            "{model}: first count (exact: {}) took {:?}",
            count.exact,
            started.elapsed()
        );
    }
    let mut group = c.benchmark_group("tokens");
    group.bench_function("count_40k_openai", |b| {
        b.iter(|| count_chat(black_box("openai/gpt-4o"), black_box(&long)))
    });
    group.bench_function("count_40k_estimate", |b| {
        b.iter(|| count_chat(black_box("anthropic/claude-sonnet-4-5"), black_box(&long)))
    });
    let engine = Engine::new(registry(), CallOptions::default(), Some(7), None);
    let unchecked = engine.clone().with_checks(false, false);
    let request = typical_request("openai/gpt-4o");
    let now = Instant::now();
    let wall = SystemTime::now();
    group.bench_function("start_call_checked", |b| {
        b.iter(|| engine.chat(black_box(request.clone()), now, wall))
    });
    group.bench_function("start_call_unchecked", |b| {
        b.iter(|| unchecked.chat(black_box(request.clone()), now, wall))
    });
    group.finish();
}

/// What the router adds to starting a call: planning a group of two deployments and
/// building the chain with their registries, against a call naming the model directly.
fn bench_router(c: &mut Criterion) {
    use onellm_core::client::Engine;
    use onellm_core::router::RouterConfig;
    use std::time::{Instant, SystemTime};
    let config = json!({"model_list": [
        {"model_name": "smart", "litellm_params": {"model": "openai/gpt-4o", "api_key": "sk-a", "weight": 3}},
        {"model_name": "smart", "litellm_params": {"model": "openai/gpt-4o", "api_key": "sk-b", "weight": 1}}
    ]});
    let config = RouterConfig::from_json(&config, &|_| None).unwrap();
    let engine = Engine::new(registry(), CallOptions::default(), Some(7), None).with_router(config);
    let now = Instant::now();
    let wall = SystemTime::now();
    let mut group = c.benchmark_group("router");
    for (name, model) in [
        ("start_call_group", "smart"),
        ("start_call_model", "openai/gpt-4o"),
    ] {
        let request = typical_request(model);
        group.bench_function(name, |b| {
            b.iter(|| engine.chat(black_box(request.clone()), now, wall))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_build_chat,
    bench_parse_chat,
    bench_streams,
    bench_catalog,
    bench_tokens,
    bench_router
);
/// `ONELLM_BENCH_DECODE_ONLY=<provider>` decodes that provider's stream 5 times and exits,
/// with no criterion around it: the run to put under `valgrind --tool=callgrind` for
/// instruction counts per chunk (see benches/README.md).
fn main() {
    if let Some(provider) = std::env::var_os("ONELLM_BENCH_DECODE_ONLY") {
        let payload = match provider.to_str() {
            Some("anthropic") => anthropic_stream(),
            _ => openai_stream(),
        };
        let registry = registry();
        let mut chunks = 0;
        for _ in 0..5 {
            chunks += decode_stream(&registry, &payload);
        }
        eprintln!("{}: {chunks} chunks decoded", payload.provider);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
