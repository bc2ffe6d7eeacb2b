//! OpenAI's Responses API end to end on both transports, against the fake provider on
//! loopback:
//!
//! - natively on OpenAI: a call with a function tool answered by a function call, its
//!   output sent back as `function_call_output`, and the final text — whole and streamed
//!   (events in order, with sequence numbers, folded into the response);
//! - the same program pointed at an Anthropic model, bridged through its chat wire;
//! - a chat call to a model only the Responses API serves goes to `/v1/responses` and comes
//!   back as a chat completion, whole and streamed;
//! - a failing OpenAI model falls back to an Anthropic one within one Responses call;
//! - an in-stream failure (`error`, then `response.failed`) is a typed error;
//! - what a chat wire cannot carry (`previous_response_id`) is `Unsupported`, nothing sent.

use onellm_core::{
    ChatRequest, ErrorKind, InputItem, Response, ResponseStreamEvent, ResponseTool,
    ResponsesRequest,
};
use onellm_testkit::{FakeProvider, Reply};
use serde_json::{json, Value};

mod support;
use support::Driver;

const KEY: &str = "sk-responses-test";

fn client<D: Driver>(server: &FakeProvider) -> D {
    build!(D, |builder| builder
        .api_key("openai", KEY)
        .base_url("openai", server.openai_base_url())
        .api_key("anthropic", KEY)
        .base_url("anthropic", server.anthropic_base_url())
        .retries(0))
    .unwrap()
}

fn weather_tool() -> ResponseTool {
    ResponseTool::function(
        "get_weather",
        "The weather in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}},
            "required": ["city"]}),
    )
}

fn ask(model: &str) -> ResponsesRequest {
    ResponsesRequest::new(model, vec![InputItem::user("Weather in Paris?")])
        .instructions("Answer briefly.")
        .tool(weather_tool())
}

/// The request body the server received last, as JSON.
fn last_body(server: &FakeProvider) -> (String, Value) {
    let request = server
        .requests()
        .pop()
        .expect("a request reached the server");
    let body = serde_json::from_str(&request.body).expect("a JSON body");
    (request.path, body)
}

/// One turn with a tool: the model calls it, the program answers with
/// `function_call_output`, the model's final text comes back.
fn tool_round_trip<D: Driver>(client: &D, server: &FakeProvider, model: &str) -> Response {
    server.push(Reply::tool_call("get_weather", r#"{"city":"Paris"}"#).usage(20, 5));
    let first = client.responses(ask(model)).unwrap();
    let call = first
        .function_calls()
        .next()
        .expect("a function call")
        .clone();
    assert_eq!(call.name, "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(&call.arguments).unwrap(),
        json!({"city": "Paris"})
    );
    assert_eq!(first.output_text(), "");
    server.push(Reply::text("Sunny, 21 °C.").usage(30, 6));
    let mut follow_up = ask(model);
    follow_up.input = vec![
        InputItem::user("Weather in Paris?"),
        InputItem::function_call(call.call_id.clone(), "get_weather", call.arguments.clone()),
        InputItem::function_call_output(call.call_id.clone(), r#"{"sky":"sunny","c":21}"#),
    ]
    .into();
    let last = client.responses(follow_up).unwrap();
    assert_eq!(last.output_text(), "Sunny, 21 °C.");
    let usage = last.usage.as_ref().expect("usage");
    assert_eq!((usage.input_tokens, usage.output_tokens), (30, 6));
    last
}

fn native_on_openai_with_a_function_tool<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    let response = tool_round_trip(&client, &server, "openai/gpt-4o-mini");
    assert!(
        response.usage.as_ref().unwrap().cost.unwrap() > 0.0,
        "priced"
    );
    assert_eq!(response.report().unwrap().attempts.len(), 1);
    let (path, body) = last_body(&server);
    assert_eq!(path, "/v1/responses");
    assert_eq!(body["model"], "gpt-4o-mini", "the provider's model name");
    assert_eq!(body["instructions"], "Answer briefly.");
    assert_eq!(body["tools"][0]["name"], "get_weather");
    assert_eq!(body["input"][2]["type"], "function_call_output");
    for field in ["fallback_models", "retries", "timeout"] {
        assert!(body.get(field).is_none(), "{field} never goes on the wire");
    }
}

fn bridged_on_anthropic_with_the_same_program<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    let response = tool_round_trip(&client, &server, "anthropic/claude-sonnet-4-5");
    assert_eq!(response.status_str(), "completed");
    let (path, body) = last_body(&server);
    assert_eq!(path, "/v1/messages", "sent as an Anthropic message");
    assert_eq!(body["system"], "Answer briefly.");
    assert_eq!(body["tools"][0]["name"], "get_weather");
    let turns = body["messages"].as_array().unwrap();
    let last = turns.last().unwrap();
    assert_eq!(last["role"], "user");
    assert_eq!(last["content"][0]["type"], "tool_result");
}

/// The text deltas of a stream, joined.
fn streamed_text(events: &[Result<ResponseStreamEvent, onellm_core::Error>]) -> String {
    events
        .iter()
        .filter_map(|event| event.as_ref().ok()?.text_delta())
        .collect()
}

fn streams_natively_and_bridged<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    for model in ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"] {
        server.push(Reply::text("one two three").usage(12, 3));
        let (events, response) = client.responses_stream(ask(model));
        assert!(events.iter().all(Result::is_ok), "{model}: {events:?}");
        assert_eq!(streamed_text(&events), "one two three", "{model}");
        let kinds: Vec<&str> = events
            .iter()
            .map(|event| event.as_ref().unwrap().kind())
            .collect();
        assert_eq!(
            kinds.first(),
            Some(&"response.created"),
            "{model}: {kinds:?}"
        );
        assert_eq!(
            kinds.last(),
            Some(&"response.completed"),
            "{model}: {kinds:?}"
        );
        let numbers: Vec<u64> = events
            .iter()
            .filter_map(|event| event.as_ref().unwrap().sequence_number())
            .collect();
        assert!(
            numbers.windows(2).all(|pair| pair[0] < pair[1]),
            "{model}: {numbers:?}"
        );
        let response = response.expect("the response the events built");
        assert_eq!(response.output_text(), "one two three", "{model}");
        assert_eq!(response.usage.as_ref().unwrap().output_tokens, 3, "{model}");
        assert!(response.report().is_some(), "{model}");
    }
}

fn chat_to_a_responses_only_model<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    // o3-pro: the catalog says only the Responses API serves it.
    server.push(Reply::text("deep thought").usage(8, 2));
    let completion = client
        .chat(ChatRequest::new("openai/o3-pro").user("Think"))
        .unwrap();
    assert_eq!(completion.text(), "deep thought");
    assert_eq!(completion.usage.as_ref().unwrap().completion_tokens, 2);
    let (path, body) = last_body(&server);
    assert_eq!(path, "/v1/responses");
    assert_eq!(body["input"][0]["role"], "user");
    // Streamed: chat chunks made from the events.
    server.push(Reply::text("streamed thought").usage(8, 2));
    let streamed = client
        .stream(ChatRequest::new("openai/o3-pro").user("Think"))
        .unwrap();
    assert_eq!(streamed.text(), "streamed thought");
    assert_eq!(streamed.completion.text(), "streamed thought");
    assert_eq!(last_body(&server).0, "/v1/responses");
    // Any other model keeps the chat endpoint.
    client
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"))
        .unwrap();
    assert_eq!(last_body(&server).0, "/v1/chat/completions");
}

fn falls_back_from_openai_to_anthropic<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    server.push(Reply::status(500));
    server.push(Reply::text("from claude"));
    let request = ResponsesRequest::new("openai/gpt-4o-mini", "Hi")
        .fallback_models(["anthropic/claude-sonnet-4-5"]);
    let response = client.responses(request).unwrap();
    assert_eq!(response.output_text(), "from claude");
    let attempts = &response.report().unwrap().attempts;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status, Some(500));
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/v1/responses", "/v1/messages"]);
}

fn in_stream_failure_is_typed<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    server.push(Reply::stream_exception("rate_limit_exceeded", "slow down"));
    let (events, response) =
        client.responses_stream(ResponsesRequest::new("openai/gpt-4o-mini", "Hi"));
    assert!(response.is_none());
    let error = events
        .into_iter()
        .find_map(Result::err)
        .expect("the stream ends in an error");
    assert_eq!(error.kind(), ErrorKind::RateLimit, "{error}");
    assert!(error.message().contains("slow down"), "{error}");
}

fn unbridgeable_state_is_unsupported<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    let mut request = ResponsesRequest::new("anthropic/claude-sonnet-4-5", "And then?");
    request.previous_response_id = Some("resp_123".into());
    let error = client.responses(request).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported, "{error}");
    assert!(error.message().contains("previous_response_id"), "{error}");
    assert!(server.requests().is_empty(), "nothing was sent");
}

on_both_transports!(
    native_on_openai_with_a_function_tool,
    bridged_on_anthropic_with_the_same_program,
    streams_natively_and_bridged,
    chat_to_a_responses_only_model,
    falls_back_from_openai_to_anthropic,
    in_stream_failure_is_typed,
    unbridgeable_state_is_unsupported,
);
