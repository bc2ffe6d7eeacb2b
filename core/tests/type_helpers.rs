//! The convenience methods on the OpenAI-format types: structured-output requests and their
//! typed parse, tool calls and text of chunks and completions, embedding vectors, and the
//! request builders. Each checks the JSON a provider would see or the value a caller reads.

use std::time::Duration;

use onellm_core::{
    ChatCompletion, ChatCompletionChunk, ChatRequest, CompletionRequest, EmbeddingRequest,
    EmbeddingResponse, ErrorKind, FinishReason, JsonSchemaFormat, Message, ResponseFormat, Stop,
    ToolCall,
};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, PartialEq, Deserialize)]
struct Person {
    name: String,
    age: u32,
}

fn person_schema() -> Value {
    json!({"type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"], "additionalProperties": false})
}

fn reply(message: Message) -> ChatCompletion {
    ChatCompletion::from_message(message, FinishReason::Stop)
}

#[test]
fn json_schema_serializes_as_openai_response_format_strict_by_default() {
    let request = ChatRequest::new("openai/gpt-4o-mini")
        .user("Invent a person.")
        .json_schema("person", person_schema());
    let body = serde_json::to_value(request.for_provider("gpt-4o-mini")).unwrap();
    assert_eq!(
        body["response_format"],
        json!({"type": "json_schema",
            "json_schema": {"name": "person", "schema": person_schema(), "strict": true}})
    );
    // The same JSON deserializes back into the same request.
    let back: ChatRequest = serde_json::from_value(body).unwrap();
    assert_eq!(
        back.response_format,
        Some(ResponseFormat::json_schema("person", person_schema()))
    );
}

#[test]
fn json_schema_format_builder_sets_description_and_strictness() {
    let format: ResponseFormat = JsonSchemaFormat::new("person", person_schema())
        .description("A made-up person")
        .strict(false)
        .into();
    assert_eq!(
        serde_json::to_value(&format).unwrap()["json_schema"],
        json!({"name": "person", "description": "A made-up person",
            "schema": person_schema(), "strict": false})
    );
}

#[test]
fn parse_reads_the_first_choice_into_a_struct() {
    let completion = reply(Message::assistant(r#"{"name":"Ada","age":36}"#));
    assert_eq!(
        completion.parse::<Person>().unwrap(),
        Person {
            name: "Ada".into(),
            age: 36
        }
    );
}

#[test]
fn parse_of_a_reply_of_another_shape_is_a_decode_error_quoting_it() {
    let error = reply(Message::assistant(r#"{"name":"Ada","age":"old"}"#))
        .parse::<Person>()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.message().contains("structured output"), "{error}");
    assert!(error.message().contains(r#""age":"old""#), "{error}");
}

#[test]
fn parse_quotes_a_long_reply_bounded() {
    let long = format!("not json {}", "x".repeat(100_000));
    let error = reply(Message::assistant(long))
        .parse::<Person>()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.message().contains("not json"), "{error}");
    assert!(
        error.message().len() < 2_000,
        "{} bytes",
        error.message().len()
    );
}

#[test]
fn parse_of_a_reply_cut_at_the_token_limit_says_so() {
    let cut = ChatCompletion::from_message(
        Message::assistant(r#"{"name":"Ada","a"#),
        FinishReason::Length,
    );
    let error = cut.parse::<Person>().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.message().contains("token limit"), "{error}");
    assert!(error.message().contains(r#"{"name":"Ada","a"#), "{error}");
    let whole = reply(Message::assistant(r#"{"name":"Ada","a"#));
    assert!(!whole
        .parse::<Person>()
        .unwrap_err()
        .message()
        .contains("token limit"));
}

#[test]
fn parse_without_text_says_why() {
    let no_choices = ChatCompletion {
        choices: Vec::new(),
        ..reply(Message::assistant(""))
    };
    let error = no_choices.parse::<Person>().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.message().contains("no choices"), "{error}");

    let mut tools_only = Message::assistant("");
    tools_only.content = None;
    tools_only.tool_calls = Some(vec![ToolCall::function("c1", "lookup", "{}")]);
    let error = reply(tools_only).parse::<Person>().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.message().contains("lookup"), "{error}");

    let mut refused = Message::assistant("");
    refused.content = None;
    refused.refusal = Some("I can't help with that.".into());
    let error = reply(refused).parse::<Person>().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.message().contains("refused"), "{error}");
    assert!(error.message().contains("can't help"), "{error}");
}

#[test]
fn completion_tool_calls_is_empty_without_calls() {
    assert!(reply(Message::assistant("hi")).tool_calls().is_empty());
    let none = ChatCompletion {
        choices: Vec::new(),
        ..reply(Message::assistant(""))
    };
    assert!(none.tool_calls().is_empty());
}

#[test]
fn chunk_text_skips_the_empty_role_chunk_only() {
    let role: ChatCompletionChunk = serde_json::from_value(json!({
        "id": "c", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]
    }))
    .unwrap();
    assert_eq!(role.text(), None);
    let usage: ChatCompletionChunk =
        serde_json::from_value(json!({"id": "c", "choices": []})).unwrap();
    assert_eq!(usage.text(), None);
    let text: ChatCompletionChunk = serde_json::from_value(json!({
        "id": "c", "choices": [{"index": 0, "delta": {"content": " "}}]
    }))
    .unwrap();
    assert_eq!(text.text(), Some(" "), "whitespace is text");
}

#[test]
fn tool_call_deltas_fill_in_what_the_wire_leaves_out() {
    let chunk: ChatCompletionChunk = serde_json::from_value(json!({
        "id": "c", "choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 3, "id": "call_x", "type": "function",
                "function": {"name": "f", "arguments": {"a": 1}}},
            {"function": {"arguments": "{}"}},
            {"index": 4, "id": "", "function": {"name": ""}},
            {"index": 5}
        ]}}]
    }))
    .unwrap();
    let fragments: Vec<_> = chunk
        .tool_call_deltas()
        .map(|f| (f.index, f.id, f.name, f.arguments))
        .collect();
    assert_eq!(
        fragments,
        [
            (3, Some("call_x"), Some("f"), r#"{"a":1}"#),
            (1, None, None, "{}"),
            (4, None, None, ""),
            (5, None, None, ""),
        ]
    );
    let empty: ChatCompletionChunk = serde_json::from_value(json!({"choices": []})).unwrap();
    assert_eq!(empty.tool_call_deltas().count(), 0);
}

#[test]
fn vectors_come_in_input_order() {
    let response: EmbeddingResponse = serde_json::from_value(json!({
        "object": "list", "model": "m", "data": [
            {"object": "embedding", "index": 2, "embedding": [2.0]},
            {"object": "embedding", "index": 0, "embedding": [0.0]},
            {"object": "embedding", "index": 1, "embedding": [1.0]}
        ]
    }))
    .unwrap();
    assert_eq!(response.vectors().unwrap(), [[0.0], [1.0], [2.0]]);
    assert_eq!(response.data[0].vector(), Some(&[2.0][..]));
    assert_eq!(response.into_vectors().unwrap(), [[0.0], [1.0], [2.0]]);
}

#[test]
fn vectors_without_indexes_keep_the_listed_order() {
    let response: EmbeddingResponse = serde_json::from_value(json!({
        "data": [{"embedding": [5.0]}, {"embedding": [6.0]}, {"embedding": [7.0]}]
    }))
    .unwrap();
    assert_eq!(response.vectors().unwrap(), [[5.0], [6.0], [7.0]]);
}

#[test]
fn base64_vectors_are_an_error_naming_the_encoding() {
    let response: EmbeddingResponse = serde_json::from_value(json!({
        "data": [{"index": 0, "embedding": [1.0]}, {"index": 1, "embedding": "AACAPw=="}]
    }))
    .unwrap();
    assert_eq!(response.data[1].vector(), None);
    for error in [
        response.vectors().unwrap_err(),
        response.clone().into_vectors().unwrap_err(),
    ] {
        assert_eq!(error.kind(), ErrorKind::Unsupported);
        assert!(error.message().contains("base64"), "{error}");
    }
}

#[test]
fn chat_builders_set_the_openai_fields() {
    let request = ChatRequest::new("openai/gpt-4o-mini")
        .user("hi")
        .top_p(0.5)
        .seed(-7)
        .stop(["a", "b"])
        .reasoning_effort("high")
        .parallel_tool_calls(false)
        .max_completion_tokens(99);
    let body = serde_json::to_value(request.for_provider("gpt-4o-mini")).unwrap();
    for (field, want) in [
        ("top_p", json!(0.5)),
        ("seed", json!(-7)),
        ("stop", json!(["a", "b"])),
        ("reasoning_effort", json!("high")),
        ("parallel_tool_calls", json!(false)),
        ("max_completion_tokens", json!(99)),
    ] {
        assert_eq!(body[field], want, "{field}");
    }
    assert_eq!(
        ChatRequest::new("m").stop("END").stop,
        Some(Stop::One("END".into()))
    );
    assert_eq!(
        ChatRequest::new("m").stop(vec!["x".to_owned()]).stop,
        Some(Stop::Many(vec!["x".into()]))
    );
}

#[test]
fn embedding_and_completion_builders_set_onellm_fields_kept_from_providers() {
    let request = EmbeddingRequest::new("openai/text-embedding-3-small", ["a"])
        .dimensions(64)
        .retries(2)
        .fallback_models(["google/text-embedding-004"])
        .with_timeout(Duration::from_secs(3));
    assert_eq!(
        (
            request.retries,
            request.timeout,
            request.fallback_models.as_deref()
        ),
        (
            Some(2),
            Some(3.0),
            Some(&["google/text-embedding-004".to_owned()][..])
        )
    );
    let body = serde_json::to_value(request.for_provider("text-embedding-3-small")).unwrap();
    assert_eq!(body["dimensions"], 64);
    for field in ["retries", "fallback_models", "timeout"] {
        assert!(body.get(field).is_none(), "{field} sent to the provider");
    }

    let request = CompletionRequest::new("openai/gpt-3.5-turbo-instruct", "Once")
        .max_tokens(8)
        .temperature(0.0)
        .retries(1)
        .fallback_models(["together/x"])
        .with_timeout(Duration::from_millis(1500));
    assert_eq!(
        (
            request.max_tokens,
            request.temperature,
            request.retries,
            request.timeout
        ),
        (Some(8), Some(0.0), Some(1), Some(1.5))
    );
    assert_eq!(
        request.fallback_models.as_deref(),
        Some(&["together/x".to_owned()][..])
    );
}
