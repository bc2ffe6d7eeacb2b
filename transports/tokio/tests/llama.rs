//! llama.cpp in process (feature `llama`) through the tokio client: a tiny GGUF model the
//! test writes, run on tokio's blocking pool.
#![cfg(feature = "llama")]

use std::future::poll_fn;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use futures_core::Stream;

use onellm_testkit::FakeProvider;
use onellm_tokio::llama::tiny_gguf::TinyModel;
use onellm_tokio::{
    ChatRequest, Client, EmbeddingRequest, EngineOptions, ErrorKind, LocalModels, Route,
};

fn model_file() -> PathBuf {
    static FILE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let path =
            std::env::temp_dir().join(format!("onellm-tiny-tokio-{}.gguf", std::process::id()));
        TinyModel::default().write(&path).unwrap();
        path
    })
    .clone()
}

fn models() -> LocalModels {
    LocalModels::new()
        .model_file("tiny", model_file())
        .options(EngineOptions {
            threads: Some(1),
            ..EngineOptions::default()
        })
}

fn request() -> ChatRequest {
    ChatRequest::new("llama_cpp/tiny")
        .user("Say something")
        .max_tokens(16)
        .seed(7)
        .temperature(0.9)
}

#[tokio::test]
async fn seeded_chat_repeats_and_streams_the_same_text() {
    let client = Client::builder()
        .build()
        .unwrap()
        .with_local_models(models().route(Route::Local));
    let first = client.chat(request()).await.unwrap();
    let second = client.chat(request()).await.unwrap();
    assert!(!first.text().is_empty());
    assert_eq!(first.text(), second.text());
    let mut stream = client.chat_stream(request());
    let mut streamed = String::new();
    while let Some(chunk) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
        streamed.push_str(chunk.unwrap().text().unwrap_or_default());
    }
    assert_eq!(streamed, first.text());
}

#[tokio::test]
async fn a_missing_model_is_a_configuration_error() {
    let client = Client::builder()
        .build()
        .unwrap()
        .with_local_models(models().route(Route::Local));
    let error = client
        .chat(ChatRequest::new("llama_cpp/nothing").user("Hi"))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration, "{error}");
}

#[tokio::test]
async fn a_failing_cloud_model_falls_back_to_the_local_one() {
    let server = FakeProvider::start();
    let client = Client::builder()
        .api_key("openai", "sk-test-0123456789")
        .base_url("openai", server.openai_base_url())
        .build()
        .unwrap()
        .with_local_models(models());
    let completion = client
        .chat(
            ChatRequest::new("openai/fail-401")
                .user("Hi")
                .max_tokens(8)
                .fallback_models(["llama_cpp/tiny"]),
        )
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 1);
    assert_eq!(completion.usage.as_ref().unwrap().completion_tokens, 8);
}

#[tokio::test]
async fn embeddings_come_from_the_local_model() {
    let client = Client::builder()
        .build()
        .unwrap()
        .with_local_models(models().route(Route::Local));
    let response = client
        .embeddings(EmbeddingRequest::new("llama_cpp/tiny", ["Hello", "world"]))
        .await
        .unwrap();
    let vectors = response.vectors().unwrap();
    assert_eq!(vectors.len(), 2);
    assert_eq!(
        vectors[0].len(),
        TinyModel::default().embedding_length as usize
    );
    assert_ne!(vectors[0], vectors[1]);
}

#[tokio::test]
async fn the_calls_deadline_ends_a_long_prompt_with_a_timeout() {
    // A model large enough that ~1,750 prompt tokens take seconds on one thread.
    let path = std::env::temp_dir().join(format!("onellm-slow-tokio-{}.gguf", std::process::id()));
    TinyModel::slow().write(&path).unwrap();
    let client = Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap()
        .with_local_models(
            LocalModels::new()
                .model_file("slow", &path)
                .route(Route::Local)
                .options(EngineOptions {
                    threads: Some(1),
                    batch_size: 32,
                    ..EngineOptions::default()
                }),
        );
    let error = client
        .chat(
            ChatRequest::new("llama_cpp/slow")
                .user("word ".repeat(350))
                .max_tokens(1),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
    std::fs::remove_file(path).ok();
}

#[test]
fn the_chat_example_answers_from_a_gguf_file() {
    onellm_testkit::chat_cli::check_local_model_story(
        env!("CARGO_MANIFEST_DIR"),
        "onellm-tokio",
        &|path| TinyModel::default().write(path).unwrap(),
    );
}
