//! The engine on its own: a tiny GGUF model written by the test, claimed and run as the
//! transports run it, its pieces checked as the bytes a llama.cpp server sends.
#![cfg(feature = "engine")]

use std::path::PathBuf;

use bytes::Bytes;
use onellm_llama::tiny_gguf::TinyModel;
use onellm_llama::{EngineOptions, LocalModels, Piece, Route};

fn model_file(name: &str, model: TinyModel) -> PathBuf {
    let path = std::env::temp_dir().join(format!("onellm-{name}-{}.gguf", std::process::id()));
    model.write(&path).unwrap();
    path
}

fn models(path: PathBuf) -> LocalModels {
    LocalModels::new()
        .model_file("tiny", path)
        .route(Route::Local)
        .options(EngineOptions {
            threads: Some(1),
            ..EngineOptions::default()
        })
}

fn request(body: serde_json::Value) -> http::Request<Bytes> {
    http::Request::post("http://localhost:8080/v1/chat/completions")
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

fn chat(stream: bool) -> serde_json::Value {
    serde_json::json!({
        "model": "tiny",
        "messages": [{"role": "user", "content": "Hello"}],
        "max_tokens": 12,
        "seed": 3,
        "stream": stream,
        "stream_options": {"include_usage": true},
    })
}

/// Runs `request` as a transport does, to the end: the status and the body bytes.
fn run_request(models: &LocalModels, request: &http::Request<Bytes>) -> (u16, Vec<u8>) {
    let job = models
        .start(models.claim(request).unwrap().unwrap())
        .unwrap();
    let mut status = 0;
    let mut bytes = Vec::new();
    job.run(&|| false, &mut |piece| {
        match piece {
            Piece::Head(code, _) => status = code.as_u16(),
            Piece::Body(piece) => bytes.extend_from_slice(&piece),
        }
        true
    });
    (status, bytes)
}

/// Runs a chat `body` to the end: the status and the body.
fn run(models: &LocalModels, body: serde_json::Value) -> (u16, String) {
    let (status, bytes) = run_request(models, &request(body));
    (status, String::from_utf8(bytes).unwrap())
}

#[test]
fn stream_and_body_carry_the_same_text_in_the_servers_format() {
    let models = models(model_file("engine", TinyModel::default()));
    let (status, body) = run(&models, chat(false));
    assert_eq!(status, 200, "{body}");
    let completion: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(completion["object"], "chat.completion");
    assert_eq!(completion["usage"]["completion_tokens"], 12);
    let text = completion["choices"][0]["message"]["content"]
        .as_str()
        .unwrap();

    let (status, sse) = run(&models, chat(true));
    assert_eq!(status, 200);
    assert!(sse.ends_with("data: [DONE]\n\n"), "{sse}");
    let mut streamed = String::new();
    let mut usage = None;
    for event in sse
        .split("\n\n")
        .filter(|e| !e.is_empty() && *e != "data: [DONE]")
    {
        let chunk: serde_json::Value =
            serde_json::from_str(event.strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!(chunk["object"], "chat.completion.chunk");
        if let Some(content) = chunk["choices"][0]["delta"]["content"].as_str() {
            streamed.push_str(content);
        }
        if !chunk["usage"].is_null() {
            usage = Some(chunk["usage"].clone());
        }
    }
    assert_eq!(streamed, text);
    assert_eq!(usage.unwrap()["completion_tokens"], 12);
}

#[test]
fn generation_stops_when_the_caller_is_gone() {
    let models = models(model_file("cancel", TinyModel::default()));
    let mut body = chat(true);
    body["max_tokens"] = 200.into();
    let job = models
        .start(models.claim(&request(body)).unwrap().unwrap())
        .unwrap();
    let mut pieces = 0;
    job.run(&|| false, &mut |_| {
        pieces += 1;
        pieces < 4
    });
    assert_eq!(pieces, 4);
}

#[test]
fn a_model_without_a_template_falls_back_to_chatml() {
    let models = models(model_file(
        "plain",
        TinyModel {
            chat_template: None,
            ..TinyModel::default()
        },
    ));
    let (status, body) = run(&models, chat(false));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn requests_for_other_urls_and_names_are_not_claimed() {
    let models = LocalModels::new().model_file("tiny", "/nonexistent/tiny.gguf");
    let other = http::Request::post("https://api.openai.com/v1/chat/completions")
        .body(Bytes::from(chat(false).to_string()))
        .unwrap();
    assert!(models.claim(&other).is_none());
    let mut body = chat(false);
    body["model"] = "../tiny".into();
    assert!(models.claim(&request(body)).is_none());
    let server = LocalModels::new()
        .model_file("tiny", "/nonexistent/tiny.gguf")
        .route(Route::Server);
    assert!(server.claim(&request(chat(false))).is_none());
}

fn embeddings_request(body: serde_json::Value) -> http::Request<Bytes> {
    http::Request::post("http://localhost:8080/v1/embeddings")
        .body(Bytes::from(body.to_string()))
        .unwrap()
}

/// Runs an embeddings request to the end: the status and the parsed body.
fn embed(models: &LocalModels, body: serde_json::Value) -> (u16, serde_json::Value) {
    let (status, bytes) = run_request(models, &embeddings_request(body));
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[test]
fn embeddings_are_unit_vectors_one_per_input_independent_of_the_others() {
    let tiny = TinyModel::default();
    let width = tiny.embedding_length as usize;
    let models = models(model_file("embed", tiny));
    let (status, body) = embed(
        &models,
        serde_json::json!({"model": "tiny", "input": ["Hello", "a different text", "Hello"]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "list");
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    let vectors: Vec<Vec<f64>> = data
        .iter()
        .enumerate()
        .map(|(index, item)| {
            assert_eq!(item["index"], index);
            assert_eq!(item["object"], "embedding");
            item["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    for vector in &vectors {
        assert_eq!(vector.len(), width);
        let norm = vector.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "norm {norm}");
    }
    // The same text gives the same vector wherever it stands; another text another one.
    assert_eq!(vectors[0], vectors[2]);
    assert_ne!(vectors[0], vectors[1]);
    assert!(body["usage"]["prompt_tokens"].as_u64().unwrap() >= 3);

    // Alone, the first input's vector is the one it had among the others.
    let (_, alone) = embed(
        &models,
        serde_json::json!({"model": "tiny", "input": "Hello"}),
    );
    assert_eq!(alone["data"][0]["embedding"], data[0]["embedding"]);
}

#[test]
fn embedding_inputs_the_engine_cannot_serve_are_refused_clearly() {
    let models = models(model_file("embed-refusals", TinyModel::default()));
    for (body, says) in [
        (serde_json::json!({"model": "tiny", "input": ""}), "empty"),
        (
            serde_json::json!({"model": "tiny", "input": [7, 1_000_000]}),
            "no token id",
        ),
        (
            serde_json::json!({"model": "tiny", "input": {"a": 1}}),
            "must be a string",
        ),
        (
            serde_json::json!({"model": "tiny", "input": "x", "encoding_format": "base64"}),
            "base64",
        ),
        (
            serde_json::json!({"model": "tiny", "input": "x", "dimensions": 3}),
            "cannot be shortened",
        ),
    ] {
        let (status, error) = embed(&models, body);
        assert_eq!(status, 400, "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message}");
    }
    let long = "word ".repeat(5000);
    let (status, error) = embed(&models, serde_json::json!({"model": "tiny", "input": long}));
    assert_eq!(status, 400);
    assert_eq!(
        error["error"]["type"], "exceed_context_size_error",
        "{error}"
    );
}
