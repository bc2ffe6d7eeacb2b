//! llama.cpp in process (feature `llama`): a tiny GGUF model the test writes (random
//! weights from a seed, byte-fallback vocabulary, ChatML template) loaded and decoded by
//! the real engine through the blocking client.
#![cfg(feature = "llama")]

use std::path::PathBuf;
use std::time::Duration;

use onellm_blocking::llama::tiny_gguf::TinyModel;
use onellm_blocking::{
    ChatRequest, Client, EmbeddingRequest, EngineOptions, ErrorKind, LocalModels, ResponseFormat,
    Route,
};
use onellm_testkit::FakeProvider;

/// A tiny model written once per test binary.
fn model_file() -> PathBuf {
    static FILE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("onellm-tiny-{}.gguf", std::process::id()));
        TinyModel::default().write(&path).unwrap();
        path
    })
    .clone()
}

fn local(options: EngineOptions) -> Client {
    Client::builder()
        .seed(1)
        .build()
        .unwrap()
        .with_local_models(
            LocalModels::new()
                .model_file("tiny", model_file())
                .route(Route::Local)
                .options(options),
        )
}

fn options() -> EngineOptions {
    EngineOptions {
        threads: Some(1),
        ..EngineOptions::default()
    }
}

fn request() -> ChatRequest {
    ChatRequest::new("llama_cpp/tiny")
        .user("Say something")
        .max_tokens(24)
        .seed(42)
        .temperature(0.9)
}

#[test]
fn same_seed_same_text() {
    let client = local(options());
    let first = client.chat(request()).unwrap();
    let second = client.chat(request()).unwrap();
    assert!(!first.text().is_empty());
    assert_eq!(first.text(), second.text());
    let usage = first.usage.as_ref().unwrap();
    assert_eq!(usage.completion_tokens, 24);
    assert!(usage.prompt_tokens > 5);
    assert_eq!(
        first.choices[0].finish_reason.as_ref().unwrap().as_str(),
        "length"
    );
}

#[test]
fn streaming_equals_non_streaming() {
    let client = local(options());
    let whole = client.chat(request()).unwrap();
    let mut stream = client.chat_stream(request());
    let mut streamed = String::new();
    let mut chunks = 0;
    for chunk in &mut stream {
        streamed.push_str(chunk.unwrap().text().unwrap_or_default());
        chunks += 1;
    }
    assert!(chunks > 3, "{chunks} chunks");
    assert_eq!(streamed, whole.text());
    assert_eq!(stream.completion().unwrap().text(), whole.text());
}

#[test]
fn a_stop_sequence_cuts_the_text() {
    let client = local(options());
    let whole = client.chat(request()).unwrap().text().to_owned();
    let chars: Vec<char> = whole.chars().collect();
    assert!(chars.len() > 8, "{whole:?}");
    let stop: String = chars[5..7].iter().collect();
    let cut = &whole[..whole.find(&stop).unwrap()];
    let stopped = client.chat(request().stop(stop.clone())).unwrap();
    assert_eq!(stopped.text(), cut, "stop {stop:?}");
    assert_eq!(
        stopped.choices[0].finish_reason.as_ref().unwrap().as_str(),
        "stop"
    );
}

#[test]
fn json_schema_output_parses() {
    let client = local(options());
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
        "required": ["answer"],
        "additionalProperties": false,
    });
    let completion = client
        .chat(
            request()
                .max_tokens(64)
                .response_format(ResponseFormat::json_schema("answer", schema)),
        )
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&completion.text()).unwrap();
    assert!(["yes", "no"].contains(&value["answer"].as_str().unwrap()));
}

#[test]
fn a_prompt_longer_than_the_context_fails_before_decoding() {
    let client = local(EngineOptions {
        context_size: Some(32),
        ..options()
    });
    let error = client
        .chat(ChatRequest::new("llama_cpp/tiny").user("word ".repeat(40)))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ContextWindowExceeded, "{error}");
}

#[test]
fn missing_and_foreign_files_are_configuration_errors() {
    let client = local(options());
    let error = client
        .chat(ChatRequest::new("llama_cpp/nothing").user("Hi"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration, "{error}");

    let not_gguf = std::env::temp_dir().join(format!("onellm-not-{}.gguf", std::process::id()));
    std::fs::write(&not_gguf, b"not a model").unwrap();
    let client = Client::builder().build().unwrap().with_local_models(
        LocalModels::new()
            .model_file("bad", &not_gguf)
            .model_file("gone", "/nonexistent/gone.gguf"),
    );
    let error = client
        .chat(ChatRequest::new("llama_cpp/bad").user("Hi"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration, "{error}");
    assert!(error.to_string().contains("not a GGUF file"), "{error}");
    let error = client
        .chat(ChatRequest::new("llama_cpp/gone").user("Hi"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration, "{error}");
    assert!(error.to_string().contains("gone.gguf"), "{error}");
    std::fs::remove_file(not_gguf).ok();
}

#[test]
fn a_dropped_stream_leaves_the_model_usable() {
    let client = local(options());
    let mut stream = client.chat_stream(request().max_tokens(200));
    assert!(stream.next().unwrap().is_ok());
    drop(stream);
    let completion = client.chat(request()).unwrap();
    assert!(!completion.text().is_empty());
}

#[test]
fn a_failing_cloud_model_falls_back_to_the_local_one() {
    let server = FakeProvider::start();
    let client = Client::builder()
        .api_key("openai", "sk-test-0123456789")
        .base_url("openai", server.openai_base_url())
        .seed(1)
        .build()
        .unwrap()
        .with_local_models(LocalModels::new().model_file("tiny", model_file()));
    let completion = client
        .chat(
            ChatRequest::new("openai/fail-401")
                .user("Hi")
                .max_tokens(8)
                .fallback_models(["llama_cpp/tiny"]),
        )
        .unwrap();
    assert_eq!(server.requests().len(), 1);
    assert_eq!(completion.usage.as_ref().unwrap().completion_tokens, 8);
}

#[test]
fn embeddings_come_from_the_local_model() {
    let client = local(options());
    let response = client
        .embeddings(EmbeddingRequest::new(
            "llama_cpp/tiny",
            ["Hello", "world", "Hello"],
        ))
        .unwrap();
    let vectors = response.vectors().unwrap();
    assert_eq!(vectors.len(), 3);
    assert_eq!(
        vectors[0].len(),
        TinyModel::default().embedding_length as usize
    );
    assert_eq!(vectors[0], vectors[2]);
    assert_ne!(vectors[0], vectors[1]);
    let norm: f32 = vectors[1].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-3, "{norm}");
    assert!(response.usage.as_ref().unwrap().prompt_tokens >= 3);
}

/// A model large enough that a long prompt takes far longer than the call's deadline.
fn slow_model_file() -> PathBuf {
    let path = std::env::temp_dir().join(format!("onellm-slow-{}.gguf", std::process::id()));
    TinyModel::slow().write(&path).unwrap();
    path
}

#[test]
fn the_calls_deadline_ends_a_long_prompt_with_a_timeout() {
    let path = slow_model_file();
    let client = Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap()
        .with_local_models(
            LocalModels::new()
                .model_file("slow", &path)
                .route(Route::Local)
                .options(EngineOptions {
                    batch_size: 32,
                    ..options()
                }),
        );
    // ~1,750 prompt tokens through 4 layers of width 256 on one thread: seconds of work,
    // decoded 32 tokens at a time (the engine checks between batches that the call is
    // still waiting).
    let error = client
        .chat(
            ChatRequest::new("llama_cpp/slow")
                .user("word ".repeat(350))
                .max_tokens(1),
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    std::fs::remove_file(path).ok();
}

#[test]
fn the_chat_example_answers_from_a_gguf_file() {
    onellm_testkit::chat_cli::check_local_model_story(
        env!("CARGO_MANIFEST_DIR"),
        "onellm-blocking",
        &|path| TinyModel::default().write(path).unwrap(),
    );
}
