use std::borrow::Cow;

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::types::{CompletionTokensDetails, PromptTokensDetails};

fn usage(prompt: u64, cached: u64, creation: u64, completion: u64, reasoning: u64) -> Usage {
    Usage {
        prompt_tokens_details: Some(PromptTokensDetails {
            cached_tokens: Some(cached),
            cache_creation_tokens: Some(creation),
            ..Default::default()
        }),
        completion_tokens_details: Some(CompletionTokensDetails {
            reasoning_tokens: Some(reasoning),
            ..Default::default()
        }),
        ..Usage::new(prompt, completion)
    }
}

fn flat(input: f64, output: f64) -> ModelPrices {
    ModelPrices {
        input,
        output,
        cache_read: None,
        cache_creation: None,
        reasoning: None,
        tiers: Cow::Borrowed(&[]),
        service_tiers: Vec::new(),
    }
}

fn info(provider: &'static str, prices: Option<ModelPrices>) -> ModelInfo {
    ModelInfo {
        provider: Cow::Borrowed(provider),
        mode: Mode::Chat,
        max_input_tokens: None,
        max_output_tokens: None,
        prices,
        capabilities: ModelCapabilities::NONE,
        lacks: ModelCapabilities::NONE,
    }
}

#[test]
fn each_kind_of_token_has_its_price() {
    let prices = ModelPrices {
        cache_read: Some(0.1),
        cache_creation: Some(2.0),
        reasoning: Some(7.0),
        ..flat(1.0, 5.0)
    };
    // 100 prompt = 60 uncached + 30 read + 10 written; 50 completion = 20 text + 30 reasoning.
    let cost = prices.cost(&usage(100, 30, 10, 50, 30));
    assert_eq!(cost, 60.0 + 3.0 + 20.0 + 100.0 + 210.0);
    // Without cache or reasoning prices: input and output prices.
    let cost = flat(1.0, 5.0).cost(&usage(100, 30, 10, 50, 30));
    assert_eq!(cost, 100.0 + 250.0);
    // Counts that do not add up never go negative.
    assert_eq!(
        flat(1.0, 5.0).cost(&usage(10, 30, 10, 5, 30)),
        30.0 + 10.0 + 150.0
    );
}

#[test]
fn the_tier_a_prompt_reaches_prices_every_token() {
    static TIERS: &[PriceTier] = &[
        PriceTier {
            starts_at: 101,
            input: Some(2.0),
            output: Some(10.0),
            cache_read: None,
            cache_creation: None,
            reasoning: None,
        },
        PriceTier {
            starts_at: 1001,
            input: Some(3.0),
            output: None,
            cache_read: Some(0.5),
            cache_creation: None,
            reasoning: None,
        },
    ];
    let prices = ModelPrices {
        cache_read: Some(0.1),
        tiers: Cow::Borrowed(TIERS),
        service_tiers: Vec::new(),
        ..flat(1.0, 5.0)
    };
    assert_eq!(prices.cost(&usage(100, 0, 0, 1, 0)), 100.0 + 5.0);
    assert_eq!(prices.cost(&usage(101, 1, 0, 1, 0)), 200.0 + 0.1 + 10.0);
    // The second tier's unset output price is the base one.
    assert_eq!(prices.cost(&usage(1001, 1, 0, 1, 0)), 3000.0 + 0.5 + 5.0);
    let embedding = EmbeddingUsage {
        prompt_tokens: 500,
        total_tokens: 500,
        cost: None,
    };
    assert_eq!(prices.embedding_cost(&embedding), 1000.0);
}

#[test]
fn lookups_bare_names_and_aliases_in_the_builtin_table() {
    let catalog = Catalog::builtin();
    assert_eq!(
        catalog.resolve_bare("gpt-4o-mini").as_deref(),
        Some("openai/gpt-4o-mini")
    );
    assert_eq!(
        catalog.resolve_bare("claude-sonnet-4-5").as_deref(),
        Some("anthropic/claude-sonnet-4-5")
    );
    // LiteLLM keys it bare for Vertex AI; its maker serves it too, and wins.
    assert_eq!(
        catalog.resolve_bare("gemini-2.5-flash").as_deref(),
        Some("google/gemini-2.5-flash")
    );
    // A dated snapshot the map lacks keeps its date and finds its provider.
    assert_eq!(
        catalog.resolve_bare("gpt-4o-mini-2099-01-01").as_deref(),
        Some("openai/gpt-4o-mini-2099-01-01")
    );
    assert_eq!(catalog.resolve_bare("no-such-model"), None);
    assert_eq!(catalog.resolve_bare("openai/gpt-4o"), None);
    assert_eq!(catalog.provider_of("gemini-2.5-flash"), Some("google"));
    let mini = catalog.get("openai/gpt-4o-mini").unwrap();
    assert_eq!(mini.mode, Mode::Chat);
    assert!(mini
        .capabilities
        .contains(ModelCapabilities::FUNCTION_CALLING));
    assert_eq!(
        catalog.get("openai/gpt-4o-mini-2099-01-01"),
        Some(mini),
        "undated alias"
    );
    assert_eq!(catalog.get("gpt-4o-mini"), Some(mini));
    assert!(catalog.get("openai/").is_none());
    assert!(catalog.get("").is_none());
    assert!(Catalog::empty().get("openai/gpt-4o-mini").is_none());
    assert!(catalog.len() > 3000);
}

#[test]
fn insert_overrides_and_adds_without_taking_bare_names() {
    let mut catalog = Catalog::builtin();
    catalog.insert("openai/gpt-4o", info("openai", Some(flat(1.0, 2.0))));
    catalog.insert("azure/gpt-4o-mini", info("azure", Some(flat(3.0, 4.0))));
    catalog.insert("mycorp/my-model", info("mycorp", Some(flat(5.0, 6.0))));
    let own = catalog.get("gpt-4o").and_then(|info| info.prices.clone());
    assert_eq!(own.map(|prices| prices.input), Some(1.0));
    assert_eq!(
        catalog.resolve_bare("gpt-4o-mini").as_deref(),
        Some("openai/gpt-4o-mini")
    );
    assert_eq!(
        catalog.resolve_bare("my-model").as_deref(),
        Some("mycorp/my-model")
    );
    assert_eq!(
        catalog.for_call("mycorp/x", "my-model").unwrap().provider,
        "mycorp"
    );
    assert_eq!(catalog.len(), Catalog::builtin().len() + 1);
}

#[test]
fn from_json_applies_the_generators_rules() {
    let map = json!({
        "sample_spec": {"litellm_provider": "x", "mode": "chat"},
        "gemini-x": {"litellm_provider": "vertex_ai-language-models", "mode": "chat",
            "input_cost_per_token": 1.0},
        "gemini/gemini-x": {"litellm_provider": "gemini", "mode": "chat",
            "input_cost_per_token": 2.0, "output_cost_per_token": 3,
            "max_input_tokens": 1000, "max_output_tokens": "lots",
            "supports_vision": true, "supports_reasoning": "yes"},
        "xai/grok-x": {"litellm_provider": "xai", "mode": "chat", "input_cost_per_token": 1.0,
            "input_cost_per_token_above_128k_tokens": 2.0,
            "output_cost_per_token_above_128k_tokens": 4.0},
        "dall-e": {"litellm_provider": "openai", "mode": "image_generation"},
        "odd": [1, 2],
        "no-provider": {"mode": "chat"},
        "vertex_ai/claude-x@20250101": {"litellm_provider": "vertex_ai-anthropic_models",
            "mode": "chat", "input_cost_per_token": "free"},
    });
    let catalog = Catalog::from_json(map.to_string().as_bytes()).unwrap();
    assert_eq!(catalog.len(), 4);
    let google = catalog.get("gemini-x").unwrap();
    assert_eq!(google.provider, "google");
    assert_eq!(google.max_input_tokens, Some(1000));
    assert_eq!(google.max_output_tokens, None);
    assert_eq!(google.capabilities, ModelCapabilities::VISION);
    assert_eq!(google.prices.as_ref().unwrap().output, 3.0);
    assert_eq!(
        catalog.get("vertexai/gemini-x").unwrap().provider,
        "vertexai"
    );
    // xAI bills the tier from the threshold itself.
    let grok = catalog.get("xai/grok-x").unwrap().prices.clone().unwrap();
    assert_eq!(grok.tiers[0].starts_at, 128_000);
    assert_eq!(grok.cost(&Usage::new(128_000, 1)), 256_000.0 + 4.0);
    // A price of the wrong type is no price: no cost, but the model is known.
    let claude = catalog.get("vertexai/claude-x@20250101").unwrap();
    assert_eq!(claude.cost(&Usage::new(1, 1)), None);
    // Aliases strip dates from the id asked for, not from the map's keys.
    assert!(catalog.get("vertexai/claude-x").is_none());
    assert!(catalog.get("openai/dall-e").is_none());

    for junk in [&b"[]"[..], b"", b"{", b"null", b"\xff"] {
        let error = Catalog::from_json(junk).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Configuration);
    }
}

#[test]
fn capabilities_debug_names_the_flags() {
    let set = ModelCapabilities::VISION.with(ModelCapabilities::REASONING);
    assert_eq!(format!("{set:?}"), r#"{"vision", "reasoning"}"#);
    assert_eq!(ModelCapabilities::from_bits(set.bits()), set);
}

fn part() -> impl Strategy<Value = (u64, u64, u64, u64, u64)> {
    (0u64..1_000_000, 0u64..200_000).prop_flat_map(|(prompt, completion)| {
        (
            Just(prompt),
            0..=prompt,
            Just(completion),
            0..=completion,
            0u64..=100,
        )
            .prop_map(|(prompt, cached, completion, reasoning, creation_share)| {
                let creation = (prompt - cached) * creation_share / 100;
                (prompt, cached, creation, completion, reasoning)
            })
    })
}

proptest! {
    /// For prices without tiers, a stream's usage reported in parts costs the sum of the
    /// parts' costs: no token is billed twice or lost in the split.
    #[test]
    fn cost_is_additive_over_usage_parts(
        parts in prop::collection::vec(part(), 1..6),
        input in 1e-9f64..1e-4,
        output in 1e-9f64..1e-4,
        cache_read in prop::option::of(1e-10f64..1e-4),
        cache_creation in prop::option::of(1e-10f64..1e-4),
        reasoning in prop::option::of(1e-9f64..1e-4),
    ) {
        let prices = ModelPrices { cache_read, cache_creation, reasoning, ..flat(input, output) };
        let mut sum = (0, 0, 0, 0, 0);
        let mut parts_cost = 0.0;
        for (prompt, cached, creation, completion, reasoning) in parts {
            parts_cost += prices.cost(&usage(prompt, cached, creation, completion, reasoning));
            sum = (sum.0 + prompt, sum.1 + cached, sum.2 + creation, sum.3 + completion, sum.4 + reasoning);
        }
        let whole = prices.cost(&usage(sum.0, sum.1, sum.2, sum.3, sum.4));
        prop_assert!((whole - parts_cost).abs() <= 1e-9 * whole.max(1e-9), "{} vs {}", whole, parts_cost);
    }

    /// Any bytes: a catalog or a `Configuration` error, never a panic.
    #[test]
    fn from_json_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Catalog::from_json(&bytes);
    }
}
