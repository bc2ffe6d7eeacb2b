//! The model catalog against the LiteLLM map it was generated from, and `usage.cost` through
//! the engine: real provider reply bytes go through each family's parser (and the OpenAI
//! stream decoder), and the cost on the output equals the map's prices.
//!
//! The expected values are computed here from `../shared/data/model_prices_and_context_window.json`
//! itself, not from the generated table; when that file is absent those tests say so and
//! pass without checking.

use std::time::{Instant, SystemTime};

use bytes::Bytes;
use onellm_core::call::Action;
use onellm_core::catalog::{Catalog, ModelInfo, ModelPrices};
use onellm_core::client::{CallOutput, Engine, TypedCall};
use onellm_core::{CallOptions, ChatCompletionChunk, ChatRequest, EmbeddingRequest, Registry};
use proptest::prelude::*;
use serde_json::Value;

const MAP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/model_prices_and_context_window.json"
);

fn map() -> Option<Value> {
    match std::fs::read(MAP) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).expect("the map is JSON")),
        Err(_) => {
            eprintln!("skipped: {MAP} is absent (the model map lives outside the repository)");
            None
        }
    }
}

/// A price field of a map entry.
fn price(map: &Value, key: &str, field: &str) -> f64 {
    map[key][field]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} has no {field}"))
}

fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= 1e-9,
        "cost {actual} != expected {expected}"
    );
}

fn engine() -> Engine {
    let mut registry = Registry::new();
    for provider in ["openai", "anthropic", "google", "openrouter"] {
        registry.set_api_key(provider, "sk-test");
    }
    Engine::new(registry, CallOptions::default(), Some(7), None)
}

/// Drives `typed` to its end, answering its one request with `body`; returns the chunks
/// handed out and the output.
fn run<T: CallOutput + std::fmt::Debug>(
    mut typed: TypedCall<T>,
    content_type: &str,
    body: &str,
) -> (Vec<ChatCompletionChunk>, T) {
    let now = Instant::now();
    let mut chunks = Vec::new();
    loop {
        while let Some(chunk) = typed.poll_chunk() {
            chunks.push(chunk);
        }
        match typed.call_mut().poll(now) {
            Action::Send(outgoing) => {
                let response = http::Response::builder()
                    .status(200)
                    .header("content-type", content_type)
                    .body(Bytes::from(body.to_owned()))
                    .unwrap();
                typed
                    .call_mut()
                    .handle_response(outgoing.attempt, response, now);
            }
            Action::Done(output) => {
                while let Some(chunk) = typed.poll_chunk() {
                    chunks.push(chunk);
                }
                return (chunks, typed.output(output).unwrap());
            }
            Action::Failed(error) => panic!("{error}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn chat(model: &str, body: &str) -> onellm_core::ChatCompletion {
    let request = ChatRequest::new(model).user("Hi");
    let typed = engine().chat(request, Instant::now(), SystemTime::now());
    run(typed, "application/json", body).1
}

fn openai_reply(model: &str, prompt: u64, cached: u64, completion: u64) -> String {
    serde_json::json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
            "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached}}
    })
    .to_string()
}

#[test]
fn gpt_4o_cost_equals_the_maps_prices() {
    let Some(map) = map() else { return };
    let expected = 600.0 * price(&map, "gpt-4o", "input_cost_per_token")
        + 400.0 * price(&map, "gpt-4o", "cache_read_input_token_cost")
        + 500.0 * price(&map, "gpt-4o", "output_cost_per_token");
    // OpenAI answers with the dated snapshot: it prices the same.
    let completion = chat(
        "openai/gpt-4o",
        &openai_reply("gpt-4o-2024-08-06", 1000, 400, 500),
    );
    close(completion.usage.as_ref().unwrap().cost.unwrap(), expected);
    let json = serde_json::to_value(&completion).unwrap();
    close(json["usage"]["cost"].as_f64().unwrap(), expected);
}

/// A reply processed at OpenAI's `flex` or `priority` tier costs that tier's prices; the
/// default tier, an unknown tier or no tier the base prices; a stream's usage chunk the same.
#[test]
fn service_tiers_have_their_own_prices() {
    let Some(map) = map() else { return };
    let cost_at = |suffix: &str| {
        600.0 * price(&map, "gpt-5", &format!("input_cost_per_token{suffix}"))
            + 400.0
                * price(
                    &map,
                    "gpt-5",
                    &format!("cache_read_input_token_cost{suffix}"),
                )
            + 500.0 * price(&map, "gpt-5", &format!("output_cost_per_token{suffix}"))
    };
    for (tier, suffix) in [
        (Some("flex"), "_flex"),
        (Some("priority"), "_priority"),
        (Some("default"), ""),
        (Some("scale"), ""),
        (None, ""),
    ] {
        let mut reply: Value =
            serde_json::from_str(&openai_reply("gpt-5-2025-08-07", 1000, 400, 500)).unwrap();
        if let Some(tier) = tier {
            reply["service_tier"] = tier.into();
        }
        let completion = chat("openai/gpt-5", &reply.to_string());
        close(
            completion.usage.as_ref().unwrap().cost.unwrap(),
            cost_at(suffix),
        );
    }
    assert!(cost_at("_flex") < cost_at("") && cost_at("") < cost_at("_priority"));

    let sse = sse("gpt-5", 1000, 400, 500, 0)
        .replace("\"model\":", "\"service_tier\":\"flex\",\"model\":");
    let request = ChatRequest::new("openai/gpt-5").user("Hi");
    let typed = engine().chat_stream(request, Instant::now(), SystemTime::now());
    let (chunks, completion) = run(typed, "text/event-stream", &sse);
    let last = chunks
        .iter()
        .rev()
        .find_map(|chunk| chunk.usage.as_ref())
        .unwrap();
    close(last.cost.unwrap(), cost_at("_flex"));
    close(completion.usage.unwrap().cost.unwrap(), cost_at("_flex"));
}

/// A model priced by prompt-size ranges (`tiered_pricing`, Alibaba's Qwen) costs the prices
/// of the range its prompt falls in, reasoning tokens included.
#[test]
fn range_priced_models_cost_their_ranges_prices() {
    let Some(map) = map() else { return };
    let key = "dashscope/qwen-plus-2025-07-28";
    let ranges = map[key]["tiered_pricing"].as_array().unwrap();
    let info = Catalog::builtin().get(key).cloned().expect("priced now");
    for prompt in [1_000u64, 256_000, 256_001, 900_000] {
        let range = ranges
            .iter()
            .find(|range| {
                let lo = range["range"][0].as_f64().unwrap() as u64;
                let hi = range["range"][1].as_f64().unwrap() as u64;
                (lo == 0 || prompt > lo) && prompt <= hi
            })
            .unwrap();
        let at = |field: &str| range[field].as_f64().unwrap();
        let mut usage = onellm_core::Usage::new(prompt, 500);
        usage.completion_tokens_details =
            serde_json::from_value(serde_json::json!({"reasoning_tokens": 200})).unwrap();
        let expected = prompt as f64 * at("input_cost_per_token")
            + 300.0 * at("output_cost_per_token")
            + 200.0 * at("output_cost_per_reasoning_token");
        close(info.cost(&usage).unwrap(), expected);
    }
}

#[test]
fn anthropic_cost_counts_cache_reads_and_writes() {
    let Some(map) = map() else { return };
    let key = "claude-sonnet-4-5";
    let expected = 400.0 * price(&map, key, "input_cost_per_token")
        + 400.0 * price(&map, key, "cache_read_input_token_cost")
        + 200.0 * price(&map, key, "cache_creation_input_token_cost")
        + 500.0 * price(&map, key, "output_cost_per_token");
    let body = r#"{"id": "msg_1", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5-20250929", "content": [{"type": "text", "text": "Hi"}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 400, "cache_creation_input_tokens": 200,
            "cache_read_input_tokens": 400, "output_tokens": 500}}"#;
    // A bare name reaches Anthropic.
    let completion = chat("claude-sonnet-4-5", body);
    assert_eq!(
        completion.report().unwrap().model(),
        Some("anthropic/claude-sonnet-4-5")
    );
    let usage = completion.usage.unwrap();
    assert_eq!(usage.prompt_tokens, 1000);
    close(usage.cost.unwrap(), expected);
}

#[test]
fn gemini_long_prompts_are_priced_at_the_tier_above_200k() {
    let Some(map) = map() else { return };
    let key = "gemini/gemini-2.5-pro";
    let body = |prompt: u64, cached: u64| {
        serde_json::json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]},
                "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": 1000,
                "thoughtsTokenCount": 200, "cachedContentTokenCount": cached,
                "totalTokenCount": prompt + 1200},
            "modelVersion": "gemini-2.5-pro"
        })
        .to_string()
    };
    let cost = |prompt, cached| {
        chat("google/gemini-2.5-pro", &body(prompt, cached))
            .usage
            .unwrap()
            .cost
            .unwrap()
    };
    // Above 200k: every token at the tier's prices (reasoning at the tier's output price,
    // as the model has no reasoning price).
    let above = |field: &str| price(&map, key, &format!("{field}_above_200k_tokens"));
    let expected = 200_000.0 * above("input_cost_per_token")
        + 50_000.0 * above("cache_read_input_token_cost")
        + 1200.0 * above("output_cost_per_token");
    close(cost(250_000, 50_000), expected);
    // At 200k exactly: the base prices.
    let expected = 150_000.0 * price(&map, key, "input_cost_per_token")
        + 50_000.0 * price(&map, key, "cache_read_input_token_cost")
        + 1200.0 * price(&map, key, "output_cost_per_token");
    close(cost(200_000, 50_000), expected);
}

/// Equal, but for prices within an ulp or two: serde_json (without its `float_roundtrip`
/// feature) may read a decimal one ulp away from Python's correctly rounded value.
fn same(a: &ModelInfo, b: &ModelInfo) -> bool {
    let near =
        |x: f64, y: f64| x == y || (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs());
    let near_opt = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => near(x, y),
        (x, y) => x == y,
    };
    fn same_prices(
        p: &ModelPrices,
        q: &ModelPrices,
        near: impl Fn(f64, f64) -> bool + Copy,
        near_opt: impl Fn(Option<f64>, Option<f64>) -> bool + Copy,
    ) -> bool {
        near(p.input, q.input)
            && near(p.output, q.output)
            && near_opt(p.cache_read, q.cache_read)
            && near_opt(p.cache_creation, q.cache_creation)
            && near_opt(p.reasoning, q.reasoning)
            && p.tiers.len() == q.tiers.len()
            && p.tiers.iter().zip(q.tiers.iter()).all(|(s, t)| {
                s.starts_at == t.starts_at
                    && near_opt(s.input, t.input)
                    && near_opt(s.output, t.output)
                    && near_opt(s.cache_read, t.cache_read)
                    && near_opt(s.cache_creation, t.cache_creation)
            })
            && p.service_tiers.len() == q.service_tiers.len()
            && p.service_tiers
                .iter()
                .zip(&q.service_tiers)
                .all(|((s, p), (t, q))| s == t && same_prices(p, q, near, near_opt))
    }
    let prices = match (&a.prices, &b.prices) {
        (Some(p), Some(q)) => same_prices(p, q, near, near_opt),
        (p, q) => p.is_none() && q.is_none(),
    };
    prices
        && a.provider == b.provider
        && a.mode == b.mode
        && a.max_input_tokens == b.max_input_tokens
        && a.max_output_tokens == b.max_output_tokens
        && a.capabilities == b.capabilities
        && a.lacks == b.lacks
}

#[test]
fn builtin_table_equals_from_json_of_the_same_map() {
    let Ok(bytes) = std::fs::read(MAP) else {
        eprintln!("skipped: {MAP} is absent");
        return;
    };
    let loaded = Catalog::from_json(&bytes).unwrap();
    let builtin = Catalog::builtin();
    assert_eq!(
        loaded.len(),
        builtin.len(),
        "regenerate table.rs from this map"
    );
    for (id, info) in builtin.iter() {
        let theirs = loaded.get(id).unwrap_or_else(|| panic!("{id} missing"));
        assert!(
            same(theirs, info),
            "{id}: {theirs:?} != {info:?}; regenerate table.rs"
        );
    }
    for id in [
        "openai/gpt-4o",
        "gpt-4o-mini",
        "claude-sonnet-4-5",
        "gemini-2.5-flash",
        "google/gemini-2.5-pro",
        "xai/grok-4.3",
        "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0",
        "openai/text-embedding-3-small",
        "gpt-4o-2024-08-06",
        "openai/gpt-4o-2099-01-01",
    ] {
        assert!(
            same(loaded.get(id).unwrap(), builtin.get(id).unwrap()),
            "{id}"
        );
        assert_eq!(loaded.resolve_bare(id), builtin.resolve_bare(id), "{id}");
    }
}

#[test]
fn every_builtin_entry_matches_the_map() {
    let Some(map) = map() else { return };
    let loaded = Catalog::from_json(&serde_json::to_vec(&map).unwrap()).unwrap();
    let builtin = Catalog::builtin();
    let mut checked = 0;
    for (key, entry) in map.as_object().unwrap() {
        let Some("chat" | "completion" | "embedding" | "responses") = entry["mode"].as_str() else {
            continue;
        };
        // The bare keys LiteLLM uses for OpenAI and Anthropic are OneLLM bare names too.
        if key.contains('/') {
            continue;
        }
        if let (Some(ours), Some(input)) =
            (builtin.get(key), entry["input_cost_per_token"].as_f64())
        {
            if ours.provider == "openai" || ours.provider == "anthropic" {
                let ours = ours.prices.as_ref().unwrap().input;
                assert!((ours - input).abs() <= 4.0 * f64::EPSILON * input, "{key}");
                checked += 1;
            }
        }
        match (builtin.get(key), loaded.get(key)) {
            (Some(ours), Some(theirs)) => assert!(same(ours, theirs), "{key}"),
            (ours, theirs) => assert_eq!(ours.is_none(), theirs.is_none(), "{key}"),
        }
    }
    assert!(checked > 100, "only {checked} entries checked");
}

#[test]
fn uncatalogued_models_have_no_cost_and_provider_costs_are_kept() {
    let completion = chat(
        "openai/my-fine-tune",
        &openai_reply("my-fine-tune", 1000, 0, 500),
    );
    let usage = completion.usage.as_ref().unwrap();
    assert_eq!(usage.cost, None);
    assert!(!serde_json::to_string(&completion)
        .unwrap()
        .contains("\"cost\""));

    // OpenRouter reports its own cost: kept as sent, even for a model the catalog prices.
    let mut reply: Value = serde_json::from_str(&openai_reply("gpt-4o", 1000, 0, 500)).unwrap();
    reply["usage"]["cost"] = serde_json::json!(0.0123);
    let completion = chat("openai/gpt-4o", &reply.to_string());
    assert_eq!(completion.usage.unwrap().cost, Some(0.0123));
}

#[test]
fn an_unknown_bare_name_says_to_add_the_prefix() {
    let request = ChatRequest::new("no-such-model-xyz").user("Hi");
    let mut typed = engine().chat(request, Instant::now(), SystemTime::now());
    let Action::Failed(error) = typed.call_mut().poll(Instant::now()) else {
        panic!("a bare unknown name must fail before sending");
    };
    assert_eq!(error.kind(), onellm_core::ErrorKind::Configuration);
    assert!(error.message().contains("prefix"), "{error}");
    // Bare fallbacks are completed too.
    let request = ChatRequest::new("gpt-4o-mini")
        .user("Hi")
        .fallback_models(["claude-sonnet-4-5"]);
    let typed = engine().chat(request, Instant::now(), SystemTime::now());
    assert!(!typed.call().is_terminal());
}

#[test]
fn embeddings_are_priced_by_their_prompt_tokens() {
    let Some(map) = map() else { return };
    let expected = 1234.0 * price(&map, "text-embedding-3-small", "input_cost_per_token");
    let body = r#"{"object": "list", "model": "text-embedding-3-small",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
        "usage": {"prompt_tokens": 1234, "total_tokens": 1234}}"#;
    let request = EmbeddingRequest::new("text-embedding-3-small", ["hello"]);
    let typed = engine().embeddings(request, Instant::now(), SystemTime::now());
    let (_, response) = run(typed, "application/json", body);
    close(response.usage.unwrap().cost.unwrap(), expected);
}

fn sse(model: &str, prompt: u64, cached: u64, completion: u64, reasoning: u64) -> String {
    let chunk = |rest: Value| {
        let mut value = serde_json::json!({"id": "c1", "object": "chat.completion.chunk",
            "created": 1, "model": model});
        value
            .as_object_mut()
            .unwrap()
            .extend(rest.as_object().unwrap().clone());
        format!("data: {value}\n\n")
    };
    let mut body = String::new();
    body += &chunk(serde_json::json!({"choices": [{"index": 0,
        "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]}));
    body += &chunk(
        serde_json::json!({"choices": [{"index": 0, "delta": {"content": "Hi"},
        "finish_reason": null}]}),
    );
    body += &chunk(serde_json::json!({"choices": [{"index": 0, "delta": {},
        "finish_reason": "stop"}]}));
    body += &chunk(
        serde_json::json!({"choices": [], "usage": usage(prompt, cached, completion, reasoning)}),
    );
    body + "data: [DONE]\n\n"
}

fn usage(prompt: u64, cached: u64, completion: u64, reasoning: u64) -> Value {
    serde_json::json!({"prompt_tokens": prompt, "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": reasoning}})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// A stream's final usage chunk, the completion its chunks fold into and the same reply
    /// not streamed all cost the same, and that is the prices applied to the counts.
    #[test]
    fn streamed_and_whole_replies_cost_the_same(
        prompt in 0u64..120_000,
        cached_share in 0u64..=100,
        completion in 0u64..20_000,
        reasoning_share in 0u64..=100,
    ) {
        let cached = prompt * cached_share / 100;
        let reasoning = completion * reasoning_share / 100;
        let model = "openai/o3-mini";
        let request = ChatRequest::new(model).user("Hi");
        let typed = engine().chat_stream(request.clone(), Instant::now(), SystemTime::now());
        let (chunks, streamed) =
            run(typed, "text/event-stream", &sse("o3-mini-2025-01-31", prompt, cached, completion, reasoning));
        let last_usage = chunks.iter().rev().find_map(|chunk| chunk.usage.clone()).unwrap();

        let mut whole: Value = serde_json::from_str(&openai_reply("o3-mini-2025-01-31", prompt, cached, completion)).unwrap();
        whole["usage"] = usage(prompt, cached, completion, reasoning);
        let typed = engine().chat(request, Instant::now(), SystemTime::now());
        let (_, whole) = run(typed, "application/json", &whole.to_string());

        let prices = Catalog::builtin().get(model).unwrap().prices.clone().unwrap();
        let expected = (prompt - cached) as f64 * prices.input
            + cached as f64 * prices.cache_read.unwrap()
            + (completion - reasoning) as f64 * prices.output
            + reasoning as f64 * prices.reasoning.unwrap_or(prices.output);
        let whole_cost = whole.usage.unwrap().cost.unwrap();
        prop_assert_eq!(last_usage.cost, Some(whole_cost));
        prop_assert_eq!(streamed.usage.unwrap().cost, Some(whole_cost));
        prop_assert!((whole_cost - expected).abs() <= 1e-12 * expected.max(1.0));
    }
}
