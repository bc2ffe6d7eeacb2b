use bytes::Bytes;
use serde_json::{json, Value};

use super::*;
use crate::provider::profiles::{self, TokenField};
use crate::types::{ChatCompletionChunk, ChunkAccumulator, FinishReason, ResponseFormat, Tool};
use crate::ErrorKind;

fn provider(name: &str) -> OpenAiCompatible {
    let profile = profiles::builtin()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap();
    let settings = ProviderSettings {
        api_key: Some(ApiKey::new("sk-canary-0123456789")),
        ..Default::default()
    };
    OpenAiCompatible::new(profile, &settings).unwrap()
}

fn body_json(request: &http::Request<Bytes>) -> Value {
    serde_json::from_slice(request.body()).unwrap()
}

fn response(status: u16, body: &str) -> http::Response<Bytes> {
    http::Response::builder()
        .status(status)
        .header("x-request-id", "req_123")
        .body(Bytes::copy_from_slice(body.as_bytes()))
        .unwrap()
}

/// Decodes `body` pushed in pieces of `split` bytes (0 = one push).
fn decode(body: &[u8], split: usize) -> Vec<Result<ChatCompletionChunk, Error>> {
    let mut decoder = provider("openai").chat_stream_decoder("gpt-4o");
    let mut out = Vec::new();
    let pieces: Vec<&[u8]> = if split == 0 {
        vec![body]
    } else {
        body.chunks(split).collect()
    };
    for piece in pieces {
        decoder.push(piece);
        while let Some(item) = decoder.next_chunk() {
            out.push(item);
        }
    }
    decoder.finish();
    while let Some(item) = decoder.next_chunk() {
        out.push(item);
    }
    out
}

#[test]
fn chat_request_targets_model_and_strips_onellm_fields() {
    let request = ChatRequest::new("openai/gpt-4o")
        .system("be brief")
        .user("hi")
        .max_tokens(10)
        .fallback_models(["anthropic/claude"])
        .retries(3)
        .tool(Tool::function("f", "does f", json!({"type": "object"})))
        .response_format(ResponseFormat::JsonObject);
    let built = provider("openai")
        .build_chat("gpt-4o", &request, false)
        .unwrap();
    assert_eq!(built.uri(), "https://api.openai.com/v1/chat/completions");
    assert_eq!(built.method(), http::Method::POST);
    assert_eq!(
        built.headers()["authorization"],
        "Bearer sk-canary-0123456789"
    );
    assert!(!format!("{built:?}").contains("sk-canary"));
    let body = body_json(&built);
    assert_eq!(body["model"], "gpt-4o");
    assert_eq!(body["max_completion_tokens"], 10);
    assert!(body.get("max_tokens").is_none());
    assert!(body.get("fallback_models").is_none());
    assert!(body.get("retries").is_none());
    assert!(body.get("stream").is_none());
    assert_eq!(body["response_format"], json!({"type": "json_object"}));
    assert_eq!(body["tools"][0]["function"]["name"], "f");
}

#[test]
fn stream_request_asks_for_usage_where_the_profile_allows() {
    let request = ChatRequest::new("x/y").user("hi").max_tokens(5);
    let groq = body_json(
        &provider("groq")
            .build_chat("llama", &request, true)
            .unwrap(),
    );
    assert_eq!(groq["stream"], true);
    assert_eq!(groq["stream_options"], json!({"include_usage": true}));
    assert_eq!(groq["max_tokens"], 5);
    let mistral = provider("mistral").build_chat("m", &request, true).unwrap();
    assert_eq!(mistral.headers()["accept"], "text/event-stream");
    assert!(body_json(&mistral).get("stream_options").is_none());
    assert_eq!(
        provider("mistral").profile().token_field,
        TokenField::MaxTokens
    );
}

#[test]
fn base_url_override_and_invalid_settings_are_errors_not_panics() {
    let profile = profiles::builtin()
        .into_iter()
        .find(|p| p.name == "custom")
        .unwrap();
    let settings = ProviderSettings {
        base_url: Some("http://127.0.0.1:9/v1/".into()),
        ..Default::default()
    };
    let custom = OpenAiCompatible::new(profile.clone(), &settings).unwrap();
    let request = ChatRequest::new("custom/m").user("hi");
    let built = custom.build_chat("m", &request, false).unwrap();
    assert_eq!(built.uri(), "http://127.0.0.1:9/v1/chat/completions");
    assert!(built.headers().get("authorization").is_none());

    let bad_key = ProviderSettings {
        base_url: Some("http://127.0.0.1:9/v1".into()),
        api_key: Some(ApiKey::new("sk-line\nbreak")),
        ..Default::default()
    };
    // Found when the adapter is made (its headers are built once), or else when building.
    let error = OpenAiCompatible::new(profile.clone(), &bad_key)
        .and_then(|adapter| adapter.build_chat("m", &request, false))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(!error.to_string().contains("sk-line"));

    let bad_url = ProviderSettings {
        base_url: Some("ftp://x".into()),
        ..Default::default()
    };
    let error = OpenAiCompatible::new(profile, &bad_url)
        .and_then(|adapter| adapter.build_chat("m", &request, false))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
}

#[test]
fn parses_completion_and_normalizes_reasoning() {
    let body = json!({"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "4",
            "reasoning": "2+2"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}});
    let completion = provider("groq")
        .parse_chat(&response(200, &body.to_string()))
        .unwrap();
    assert_eq!(completion.text(), "4");
    let message = completion.message().unwrap();
    assert_eq!(message.reasoning_content.as_deref(), Some("2+2"));
    assert!(!message.extra.contains_key("reasoning"));
}

#[test]
fn error_bodies_map_to_kinds() {
    let openai = provider("openai");
    let cases = [
        (
            401,
            r#"{"error":{"message":"Incorrect API key provided: sk-canary-0123456789","type":"invalid_request_error","code":"invalid_api_key"}}"#,
            ErrorKind::Authentication,
        ),
        (
            404,
            r#"{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#,
            ErrorKind::NotFound,
        ),
        (
            400,
            r#"{"error":{"message":"This model's maximum context length is 128000 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}"#,
            ErrorKind::ContextWindowExceeded,
        ),
        (
            429,
            r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#,
            ErrorKind::RateLimit,
        ),
        (500, "<html>oops</html>", ErrorKind::ServiceUnavailable),
        (422, r#"{"detail":"bad field"}"#, ErrorKind::InvalidRequest),
        (
            400,
            r#"{"object":"error","message":"bad","type":"BadRequestError","code":400}"#,
            ErrorKind::InvalidRequest,
        ),
    ];
    for (status, body, kind) in cases {
        let error = openai.parse_chat(&response(status, body)).unwrap_err();
        assert_eq!(error.kind(), kind, "{status} {body}");
        assert_eq!(error.status(), Some(status));
        assert_eq!(error.request_id(), Some("req_123"));
        assert!(
            !format!("{error} {error:?}").contains("sk-canary"),
            "{error}"
        );
    }
}

#[test]
fn two_hundred_with_error_envelope_or_garbage_is_an_error() {
    let openai = provider("openai");
    let envelope = openai
        .parse_chat(&response(
            200,
            r#"{"error":{"message":"upstream overloaded","type":"server_error"}}"#,
        ))
        .unwrap_err();
    assert_eq!(envelope.kind(), ErrorKind::ServiceUnavailable);
    let garbage = openai
        .parse_chat(&response(200, "{\"id\": tru"))
        .unwrap_err();
    assert_eq!(garbage.kind(), ErrorKind::Truncated, "JSON cut short");
    assert!(garbage.message().contains("{\"id\": tru"));
    let malformed = openai
        .parse_chat(&response(200, "{\"id\": nope}"))
        .unwrap_err();
    assert_eq!(malformed.kind(), ErrorKind::Decode);
    let no_choices = openai
        .parse_chat(&response(200, r#"{"id": "c", "choices": []}"#))
        .unwrap_err();
    assert_eq!(no_choices.kind(), ErrorKind::Decode);
    // Not an OpenAI reply at all: the wrong kind of server.
    let empty = openai.parse_chat(&response(200, "{}")).unwrap_err();
    assert_eq!(empty.kind(), ErrorKind::UnexpectedResponse);
    assert_eq!(empty.status(), Some(200));
}

const STREAM: &str = concat!(
    ": keep-alive comment\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Héllo \"}}]}\r\n\r\n",
    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\n",
    "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n",
    "event: unknown_extension\ndata: {\"ignored\":true}\n\n",
    "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}}\n\n",
    "data: [DONE]\n\n",
);

#[test]
fn stream_decodes_identically_at_every_split() {
    let whole = decode(STREAM.as_bytes(), 0);
    assert_eq!(whole.len(), 5);
    assert!(whole.iter().all(Result::is_ok));
    for split in 1..=STREAM.len() {
        assert_eq!(decode(STREAM.as_bytes(), split), whole, "split {split}");
    }
    let mut acc = ChunkAccumulator::new();
    for chunk in whole.iter().flatten() {
        acc.push(chunk);
    }
    let done = acc.completion();
    assert_eq!(done.text(), "Héllo ");
    let calls = done.choices[0].message.tool_calls.as_ref().unwrap();
    assert_eq!(calls[0].function.arguments, "{\"a\":1}");
    assert_eq!(done.choices[0].finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(done.usage.unwrap().total_tokens, 12);
}

#[test]
fn stream_without_done_is_truncated() {
    let cut = STREAM.replace("data: [DONE]\n\n", "");
    let items = decode(cut.as_bytes(), 3);
    assert_eq!(items.iter().filter(|i| i.is_ok()).count(), 5);
    let last = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(last.kind(), ErrorKind::Truncated);
    assert!(last.message().contains("[DONE]"));
}

#[test]
fn in_stream_errors_are_typed_and_final() {
    let groq = concat!(
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n",
        "event: error\n",
        "data: {\"error\":{\"message\":\"Tool call validation failed\",\"type\":\"invalid_request_error\",\"code\":\"tool_use_failed\",\"status_code\":400}}\n\n",
        "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"never\"}}]}\n\n",
    );
    let items = decode(groq.as_bytes(), 0);
    assert_eq!(items.len(), 2);
    let error = items[1].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    assert_eq!(error.status(), Some(400));

    let openrouter = "data: {\"id\":\"g\",\"choices\":[],\"error\":{\"code\":502,\"message\":\"Provider returned error\"}}\n\n";
    let items = decode(openrouter.as_bytes(), 0);
    let error = items[0].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);

    let garbage = "data: {\"id\": nope}\n\ndata: [DONE]\n\n";
    let items = decode(garbage.as_bytes(), 0);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::Decode);
}

#[test]
fn embeddings_and_completions() {
    let openai = provider("openai");
    let request = crate::EmbeddingRequest::new("openai/text-embedding-3-small", ["a"]);
    let built = openai
        .build_embeddings("text-embedding-3-small", &request)
        .unwrap();
    assert_eq!(built.uri(), "https://api.openai.com/v1/embeddings");
    assert_eq!(body_json(&built)["model"], "text-embedding-3-small");
    let parsed = openai
        .parse_embeddings(&response(
            200,
            r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-1.0]}],"model":"m","usage":{"prompt_tokens":1,"total_tokens":1}}"#,
        ))
        .unwrap();
    assert_eq!(parsed.data.len(), 1);
    let error = provider("groq")
        .build_embeddings("x", &request)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported);

    let completion = crate::CompletionRequest::new("openai/gpt-3.5-turbo-instruct", "Say");
    let built = openai
        .build_completions("gpt-3.5-turbo-instruct", &completion)
        .unwrap();
    assert_eq!(built.uri(), "https://api.openai.com/v1/completions");
    let parsed = openai
        .parse_completions(&response(
            200,
            r#"{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"text":" hi","index":0,"logprobs":null,"finish_reason":"stop"}]}"#,
        ))
        .unwrap();
    assert_eq!(parsed.text(), " hi");
}

#[test]
fn server_tool_calls_are_not_sent_to_openai_compatible_servers() {
    let mut assistant = crate::types::Message::assistant("It is 42.");
    assistant.server_tool_calls = Some(vec![crate::types::ServerToolCall::new(
        Some("srvtoolu_1".into()),
        "code_execution",
        Some(json!({"code": "print(6*7)"})),
    )]);
    assistant.reasoning_content = Some("kept".into());
    let request = ChatRequest::new("mistral/mistral-large-latest")
        .user("6*7?")
        .message(assistant)
        .user("Thanks");
    let provider = provider("mistral");
    let body = body_json(
        &provider
            .build_chat("mistral-large-latest", &request, false)
            .unwrap(),
    );
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": "It is 42.", "reasoning_content": "kept"})
    );
}
