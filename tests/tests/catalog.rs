//! The model catalog end to end: both transports call the fake provider on loopback through
//! their public API, and
//!
//! - a completion's `usage.cost` is the map's prices applied to the reply's usage (1,000
//!   prompt tokens, 400 of them cached, 500 completion tokens for `openai/gpt-4o`), whole and
//!   on a stream's final usage chunk;
//! - a model the catalog lacks answers as before, without `cost`;
//! - bare names (`gpt-4o-mini`, `claude-sonnet-4-5`) reach OpenAI's and Anthropic's routes.
//!
//! Expected prices are read from `../shared/data/model_prices_and_context_window.json`
//! (LiteLLM's map, outside the repository); without it the price checks are skipped (and
//! said so), the presence checks still run.

use onellm_core::ChatRequest;
use onellm_testkit::{FakeProvider, Reply};
use serde_json::{json, Value};

const KEY: &str = "sk-catalog-test";

const MAP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/model_prices_and_context_window.json"
);

/// `(input, cache read, output)` prices of a map entry, if the map is here.
fn prices(key: &str) -> Option<(f64, f64, f64)> {
    let Ok(bytes) = std::fs::read(MAP) else {
        eprintln!("price check skipped: {MAP} is absent");
        return None;
    };
    let map: Value = serde_json::from_slice(&bytes).unwrap();
    let price = |field: &str| map[key][field].as_f64().unwrap();
    Some((
        price("input_cost_per_token"),
        price("cache_read_input_token_cost"),
        price("output_cost_per_token"),
    ))
}

fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= 1e-9,
        "cost {actual} != {expected}"
    );
}

/// OpenAI's reply with 1,000 prompt tokens (400 cached) and 500 completion tokens.
fn cached_reply(model: &str) -> Reply {
    let body = json!({
        "id": "chatcmpl-cost", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
            "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500,
            "prompt_tokens_details": {"cached_tokens": 400}}
    });
    Reply::status(200).body(body.to_string())
}

mod support;
use support::Driver;

fn client<D: Driver>(server: &FakeProvider) -> D {
    build!(D, |builder| builder
        .api_key("openai", KEY)
        .base_url("openai", server.openai_base_url())
        .api_key("anthropic", KEY)
        .base_url("anthropic", server.anthropic_base_url()))
    .unwrap()
}

fn completion_cost_is_the_maps_price<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    server.push(cached_reply("gpt-4o-2024-08-06"));
    let completion = client
        .chat(ChatRequest::new("openai/gpt-4o").user("Hi"))
        .unwrap();
    let cost = completion.usage.as_ref().unwrap().cost.expect("a cost");
    let json = serde_json::to_value(&completion).unwrap();
    assert_eq!(json["usage"]["cost"].as_f64(), Some(cost));
    if let Some((input, cache_read, output)) = prices("gpt-4o") {
        close(cost, 600.0 * input + 400.0 * cache_read + 500.0 * output);
    }
}

fn stream_final_usage_chunk_has_the_cost<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    server.push(Reply::text("Hello there").usage(1000, 500));
    let support::Streamed { chunks, completion } = client
        .stream(ChatRequest::new("openai/gpt-4o").user("Hi"))
        .unwrap();
    let last = chunks.last().unwrap();
    let cost = last
        .usage
        .as_ref()
        .and_then(|usage| usage.cost)
        .expect("the final usage chunk is priced");
    assert_eq!(completion.usage.unwrap().cost, Some(cost));
    if let Some((input, _, output)) = prices("gpt-4o") {
        close(cost, 1000.0 * input + 500.0 * output);
    }
}

fn uncatalogued_model_has_no_cost<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    server.push(Reply::text("Hi").usage(1000, 500));
    let completion = client
        .chat(ChatRequest::new("openai/my-fine-tune-xyz").user("Hi"))
        .unwrap();
    assert_eq!(completion.text(), "Hi");
    let usage = completion.usage.as_ref().unwrap();
    assert_eq!((usage.prompt_tokens, usage.cost), (1000, None));
    let json = serde_json::to_string(&completion).unwrap();
    assert!(!json.contains("\"cost\""), "{json}");
}

fn bare_names_reach_their_providers<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    server.push(Reply::text("from openai"));
    server.push(Reply::text("from anthropic"));
    let openai = client
        .chat(ChatRequest::new("gpt-4o-mini").user("Hi"))
        .unwrap();
    let anthropic = client
        .chat(ChatRequest::new("claude-sonnet-4-5").user("Hi"))
        .unwrap();
    assert_eq!(openai.report().unwrap().model(), Some("openai/gpt-4o-mini"));
    assert_eq!(
        anthropic.report().unwrap().model(),
        Some("anthropic/claude-sonnet-4-5")
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[0].path.ends_with("/chat/completions"),
        "{}",
        requests[0].path
    );
    assert_eq!(requests[0].json()["model"], "gpt-4o-mini");
    assert!(
        requests[1].path.ends_with("/messages"),
        "{}",
        requests[1].path
    );
    assert_eq!(requests[1].json()["model"], "claude-sonnet-4-5");
    // Both priced, as the catalog knows them.
    assert!(openai.usage.unwrap().cost.is_some());
    assert!(anthropic.usage.unwrap().cost.is_some());

    // An unknown bare name sends nothing and says to add the prefix.
    let error = client
        .chat(ChatRequest::new("no-such-model-xyz").user("Hi"))
        .unwrap_err();
    assert_eq!(error.kind(), onellm_core::ErrorKind::Configuration);
    assert!(error.message().contains("prefix"), "{error}");
    assert_eq!(server.requests().len(), 2);
}

on_both_transports!(
    completion_cost_is_the_maps_price,
    stream_final_usage_chunk_has_the_cost,
    uncatalogued_model_has_no_cost,
    bare_names_reach_their_providers,
);
