//! Structured output and the reading helpers, end to end: both transports (`onellm-blocking`
//! and `onellm-tokio`) call the fake provider on loopback through their public API, and the
//! replies come back through every family's real parser and stream decoder.
//!
//! - A JSON schema asked for with `ChatRequest::json_schema` reaches each family in its own
//!   form (OpenAI `response_format`, Anthropic and Bedrock a forced `json_response_…` tool,
//!   Gemini `responseSchema`, …) and the reply parses into a Rust struct with
//!   `ChatCompletion::parse`, streamed (on the accumulated completion) and not. The fake
//!   answers a forced tool as Anthropic and Bedrock do: with a tool-use block whose input is
//!   the JSON.
//! - A reply that does not match is a `Decode` error quoting it.
//! - A streamed tool call reads the same through `tool_call_deltas` and `tool_calls`, and its
//!   accumulated message serializes to the same JSON as the non-streamed one.

use onellm_core::{ChatCompletionChunk, ChatRequest, EmbeddingRequest, Error, ErrorKind, Tool};
use onellm_testkit::{FakeProvider, Reply};
use serde::Deserialize;
use serde_json::{json, Value};

const KEY: &str = "sk-structured-output-test";

/// Every chat family the fake speaks, with a model id for it.
const FAMILIES: [&str; 6] = [
    "openai/gpt-4o-mini",
    "anthropic/claude-sonnet-4-5",
    "bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0",
    "google/gemini-2.0-flash",
    "cohere/command-r-plus",
    "ollama/llama3.2",
];

#[derive(Debug, PartialEq, Deserialize)]
struct Person {
    name: String,
    age: u32,
    languages: Vec<String>,
}

fn ada() -> Person {
    Person {
        name: "Ada Lovelace".into(),
        age: 36,
        languages: vec!["English".into(), "French".into()],
    }
}

const ADA_JSON: &str = r#"{"name":"Ada Lovelace","age":36,"languages":["English","French"]}"#;

fn person_schema() -> Value {
    json!({"type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "languages": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["name", "age", "languages"],
        "additionalProperties": false})
}

fn person_request(model: &str) -> ChatRequest {
    ChatRequest::new(model)
        .user("Describe Ada Lovelace.")
        .json_schema("person", person_schema())
}

mod support;
use support::Driver;

/// Points either transport's builder at the fake.
fn configured<D: Driver>(server: &FakeProvider) -> D {
    build!(D, |builder| builder
        .api_key("openai", KEY)
        .base_url("openai", server.openai_base_url())
        .api_key("anthropic", KEY)
        .base_url("anthropic", server.anthropic_base_url())
        .api_key("cohere", KEY)
        .base_url("cohere", server.cohere_base_url())
        .base_url("ollama", server.ollama_base_url())
        .api_key("google", KEY)
        .base_url("google", server.gemini_base_url())
        .base_url("bedrock", server.url())
        .option("bedrock", "region", "us-east-1")
        .secret("bedrock", "access_key_id", "AKIDFAKEBEDROCK")
        .secret("bedrock", "secret_access_key", KEY))
    .unwrap()
}

fn chunks(items: Vec<Result<ChatCompletionChunk, Error>>) -> Vec<ChatCompletionChunk> {
    items
        .into_iter()
        .map(|item| item.expect("a good stream"))
        .collect()
}

/// The streamed text as a caller printing `chunk.text()` sees it; no empty pieces.
fn streamed_text(chunks: &[ChatCompletionChunk]) -> String {
    chunks
        .iter()
        .filter_map(|chunk| {
            let text = chunk.text();
            assert_ne!(text, Some(""), "text() yielded an empty piece");
            text
        })
        .collect()
}

// ---- scenarios ----

/// The done-when of issue 21: a schema round trip into a Rust struct on OpenAI and
/// Anthropic, streamed and not; and the same on every other family.
fn schema_round_trip_on_every_family<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server);
    for model in FAMILIES {
        server.push(Reply::text(ADA_JSON));
        let whole = driver.chat(person_request(model)).unwrap();
        assert_eq!(whole.parse::<Person>().unwrap(), ada(), "{model}");

        server.push(Reply::text(ADA_JSON));
        let (items, completion) = driver.stream_items(person_request(model).max_tokens(500));
        let chunks = chunks(items);
        assert_eq!(streamed_text(&chunks), ADA_JSON, "{model}: streamed text");
        let completion = completion.expect("a completion after a good stream");
        assert_eq!(
            completion.parse::<Person>().unwrap(),
            ada(),
            "{model}: streamed"
        );
        assert!(
            completion.tool_calls().is_empty(),
            "{model}: the JSON tool is not a call"
        );
        assert_eq!(
            completion.choices[0].finish_reason, whole.choices[0].finish_reason,
            "{model}"
        );
    }
}

/// What each family was sent for one `json_schema` call: the schema, in the family's form.
fn schema_reaches_each_family_in_its_form<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server);
    for model in FAMILIES {
        server.push(Reply::text(ADA_JSON));
        driver.chat(person_request(model)).unwrap();
    }
    let sent: Vec<Value> = server.requests().iter().map(|r| r.json()).collect();
    assert_eq!(
        sent[0]["response_format"],
        json!({"type": "json_schema",
            "json_schema": {"name": "person", "schema": person_schema(), "strict": true}})
    );
    let anthropic = &sent[1];
    assert_eq!(
        anthropic["tool_choice"],
        json!({"type": "tool", "name": "json_response_person"})
    );
    assert_eq!(anthropic["tools"][0]["name"], "json_response_person");
    assert_eq!(anthropic["tools"][0]["input_schema"], person_schema());
    let bedrock = &sent[2]["toolConfig"];
    assert_eq!(
        bedrock["toolChoice"],
        json!({"tool": {"name": "json_response_person"}})
    );
    assert_eq!(
        bedrock["tools"][0]["toolSpec"]["inputSchema"]["json"],
        person_schema()
    );
    assert_eq!(
        sent[3]["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert_eq!(sent[4]["response_format"]["type"], "json_object");
    assert_eq!(sent[5]["format"]["required"], person_schema()["required"]);
}

fn a_reply_of_another_shape_is_a_decode_error_quoting_it<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server);
    // Missing `languages`: JSON, but not a Person.
    let partial = r#"{"name":"Ada Lovelace","age":36}"#;
    for model in FAMILIES {
        server.push(Reply::text(partial));
        let error = driver
            .chat(person_request(model))
            .unwrap()
            .parse::<Person>()
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode, "{model}: {error}");
        assert!(error.message().contains("languages"), "{model}: {error}");
        assert_quotes_the_reply(model, &error, partial);

        server.push(Reply::text(partial));
        let (_, completion) = driver.stream_items(person_request(model));
        let error = completion.unwrap().parse::<Person>().unwrap_err();
        assert_eq!(
            error.kind(),
            ErrorKind::Decode,
            "{model}: streamed: {error}"
        );
        assert_quotes_the_reply(model, &error, partial);
    }
    // Prose where JSON was asked for (a model without strict mode, or a misbehaving server).
    server.push(Reply::text("Ada Lovelace, 36, spoke English and French."));
    let error = driver
        .chat(person_request("openai/gpt-4o-mini"))
        .unwrap()
        .parse::<Person>()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.message().contains("Ada Lovelace, 36"), "{error}");
}

/// The error quotes the reply: verbatim, or, where the reply was a forced tool's input
/// object (Anthropic, Bedrock), as that object written out again (the whole reply's input is
/// a JSON value, re-serialized; the streamed one is the raw `partial_json` text).
fn assert_quotes_the_reply(model: &str, error: &Error, reply: &str) {
    let rewritten = serde_json::from_str::<Value>(reply).unwrap().to_string();
    let message = error.message();
    assert!(
        message.contains(reply) || message.contains(&rewritten),
        "{model}: {error}"
    );
}

/// Gemini sends no call ids; the adapter makes them from the response id, which the fake
/// numbers per request. Blank those so two calls' messages compare.
fn without_synthetic_ids(mut message: Value) -> Value {
    for call in message["tool_calls"].as_array_mut().into_iter().flatten() {
        if call["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("call_gemini_"))
        {
            call["id"] = json!("");
        }
    }
    message
}

/// A tool-call reply read through the helpers, streamed and not, on every family: the
/// fragments join into the call, `tool_calls()` has it, and the accumulated message is the
/// same JSON as the whole one (so sending it back in the next turn sends the same bytes).
fn streamed_tool_calls_read_and_round_trip_like_whole_ones<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server);
    let arguments = r#"{"city":"Paris","unit":"celsius"}"#;
    let weather = Tool::function(
        "get_weather",
        "Weather for a city",
        json!({"type": "object", "properties": {"city": {"type": "string"},
            "unit": {"type": "string"}}, "required": ["city"]}),
    );
    for model in FAMILIES {
        let request = ChatRequest::new(model)
            .user("Weather in Paris?")
            .tool(weather.clone());
        server.push(Reply::tool_call("get_weather", arguments));
        let whole = driver.chat(request.clone()).unwrap();
        assert_eq!(whole.tool_calls().len(), 1, "{model}");
        assert_eq!(
            whole.tool_calls()[0].function.name,
            "get_weather",
            "{model}"
        );

        server.push(Reply::tool_call("get_weather", arguments));
        let (items, completion) = driver.stream_items(request);
        let chunks = chunks(items);
        assert_eq!(
            streamed_text(&chunks),
            "",
            "{model}: no text in a tool-call reply"
        );
        let mut names = Vec::new();
        let mut joined = String::new();
        for chunk in &chunks {
            for fragment in chunk.tool_call_deltas() {
                assert_eq!(fragment.index, 0, "{model}");
                if let Some(name) = fragment.name {
                    names.push(name);
                    assert!(
                        fragment.id.is_some(),
                        "{model}: the first fragment has the id"
                    );
                }
                joined.push_str(fragment.arguments);
            }
        }
        assert_eq!(names, ["get_weather"], "{model}");
        let joined: Value = serde_json::from_str(&joined).unwrap();
        assert_eq!(joined, serde_json::from_str::<Value>(arguments).unwrap());

        let streamed = completion.expect("a completion after a good stream");
        let (streamed, whole) = (streamed.message().unwrap(), whole.message().unwrap());
        assert_eq!(
            without_synthetic_ids(serde_json::to_value(streamed).unwrap()),
            without_synthetic_ids(serde_json::to_value(whole).unwrap()),
            "{model}: the streamed message differs from the whole one"
        );
        assert_eq!(
            serde_json::to_value(streamed).unwrap()["content"],
            Value::Null,
            "{model}"
        );
    }
}

fn embedding_vectors_and_dimensions<D: Driver>() {
    let server = FakeProvider::start();
    let driver = configured::<D>(&server);
    let texts = ["first", "second", "third"];
    let response = driver
        .embeddings(
            EmbeddingRequest::new("openai/text-embedding-3-small", texts)
                .dimensions(8)
                .retries(1),
        )
        .unwrap();
    let sent = server.requests()[0].json();
    assert_eq!(sent["dimensions"], 8);
    assert!(sent.get("retries").is_none(), "OneLLM's field sent");
    let vectors = response.vectors().unwrap();
    assert_eq!(vectors.len(), texts.len());
    for (at, vector) in vectors.iter().enumerate() {
        assert_eq!(Some(*vector), response.data[at].vector());
        assert!(!vector.is_empty());
    }
    assert_ne!(vectors[0], vectors[1], "each input has its own vector");
}

/// Posts `body` to the fake's Anthropic route over a bare socket and returns the raw reply.
fn post_anthropic(server: &FakeProvider, body: &Value) -> String {
    use std::io::{Read, Write};
    let address = server.url().trim_start_matches("http://").to_owned();
    let mut socket = std::net::TcpStream::connect(address).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let body = body.to_string();
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-api-key: {KEY}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).unwrap();
    socket.write_all(body.as_bytes()).unwrap();
    let mut reply = String::new();
    socket.read_to_string(&mut reply).unwrap();
    reply
}

/// The fake answers a forced tool as Anthropic does, with a `tool_use` block whose input is
/// the scripted JSON, whole and streamed; so the scenarios above go through the adapter's
/// forced-tool path, not a plain text block. Text that is not a JSON object stays text.
#[test]
fn fake_anthropic_answers_a_forced_tool_with_tool_use() {
    let server = FakeProvider::start();
    let request = json!({"model": "claude-sonnet-4-5", "max_tokens": 100,
        "messages": [{"role": "user", "content": "Describe Ada."}],
        "tools": [{"name": "json_response_person", "input_schema": person_schema()}],
        "tool_choice": {"type": "tool", "name": "json_response_person"}});

    server.push(Reply::text(ADA_JSON));
    let reply = post_anthropic(&server, &request);
    let body: Value = serde_json::from_str(reply.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["content"][0]["type"], "tool_use", "{body}");
    assert_eq!(body["content"][0]["name"], "json_response_person");
    assert_eq!(
        body["content"][0]["input"],
        serde_json::from_str::<Value>(ADA_JSON).unwrap()
    );
    assert_eq!(body["stop_reason"], "tool_use");

    server.push(Reply::text(ADA_JSON));
    let mut streamed = request.clone();
    streamed["stream"] = json!(true);
    let reply = post_anthropic(&server, &streamed);
    assert!(reply.contains(r#""type":"tool_use""#), "{reply}");
    assert!(reply.contains("input_json_delta"), "{reply}");
    assert!(!reply.contains("text_delta"), "{reply}");

    server.push(Reply::text("not JSON"));
    let reply = post_anthropic(&server, &request);
    assert!(reply.contains(r#""type":"text""#), "{reply}");
}

on_both_transports!(
    schema_round_trip_on_every_family,
    schema_reaches_each_family_in_its_form,
    a_reply_of_another_shape_is_a_decode_error_quoting_it,
    streamed_tool_calls_read_and_round_trip_like_whole_ones,
    embedding_vectors_and_dimensions,
);
