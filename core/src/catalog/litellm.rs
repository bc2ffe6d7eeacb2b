//! LiteLLM's model map read at run time ([`Catalog::from_json`](super::Catalog::from_json)),
//! and the naming rules the generator (`core/catalog/generate.py`) applies the same way:
//! which entries are kept, how LiteLLM's provider names and keys become OneLLM ids, and
//! which bare names belong to which entry.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::{Map, Value};

use super::prices::{ModelPrices, PriceTier, ServiceTier};
use super::{Mode, ModelCapabilities, ModelInfo};
use crate::error::Error;

/// Providers that make the models they serve, in the order a bare name is given to them.
const MAKERS: &[&str] = &[
    "openai",
    "anthropic",
    "google",
    "mistral",
    "cohere",
    "deepseek",
    "xai",
];

/// The rank of an entry's claim on its bare model name (lower wins), or `None` when the
/// entry needs its prefix: a maker's entry first, then one LiteLLM keys by the bare name.
pub(super) fn bare_rank(provider: &str, litellm_bare: bool) -> Option<u8> {
    match MAKERS.iter().position(|maker| *maker == provider) {
        Some(position) => u8::try_from(position).ok(),
        None => litellm_bare.then_some(10),
    }
}

/// OneLLM's name for a LiteLLM provider.
pub(super) fn onellm_provider(litellm: &str) -> &str {
    if litellm.starts_with("vertex_ai") {
        return "vertexai";
    }
    match litellm {
        "gemini" => "google",
        "bedrock_converse" => "bedrock",
        "azure_text" => "azure",
        "text-completion-openai" => "openai",
        "cohere_chat" => "cohere",
        "together_ai" => "together",
        "fireworks_ai" | "fireworks_ai-embedding-models" => "fireworks",
        "text-completion-codestral" => "codestral",
        other => other,
    }
}

/// A LiteLLM key's model name (the key without a first segment naming the provider), and
/// whether the key is a bare name.
pub(super) fn model_name<'k>(key: &'k str, litellm: &str) -> (&'k str, bool) {
    if let Some((prefix, rest)) = key.split_once('/') {
        let names_provider = prefix == litellm
            || prefix == litellm.replace('_', "-")
            || litellm
                .strip_prefix(prefix)
                .is_some_and(|tail| tail.starts_with('_') || tail.starts_with('-'));
        if names_provider && !rest.is_empty() {
            return (rest, false);
        }
        return (key, false);
    }
    (key, true)
}

fn mode(text: &str) -> Option<Mode> {
    Some(match text {
        "chat" => Mode::Chat,
        "completion" => Mode::Completion,
        "embedding" => Mode::Embedding,
        "responses" => Mode::Responses,
        _ => return None,
    })
}

/// One kept entry of a map.
pub(super) struct Parsed {
    pub(super) id: String,
    pub(super) info: ModelInfo,
    pub(super) bare_rank: Option<u8>,
}

/// The kept entries of a LiteLLM map, in key order, the first of each id only.
pub(super) fn parse(bytes: &[u8]) -> Result<Vec<Parsed>, Error> {
    let map: Map<String, Value> = serde_json::from_slice(bytes).map_err(|error| {
        Error::configuration(format!(
            "the model map is not a JSON object of model entries: {error}"
        ))
    })?;
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    let mut seen = HashSet::new();
    let mut parsed = Vec::new();
    for key in keys {
        let Some(entry) = map.get(key).and_then(Value::as_object) else {
            continue;
        };
        if key == "sample_spec" {
            continue;
        }
        let Some(litellm) = entry.get("litellm_provider").and_then(Value::as_str) else {
            continue;
        };
        let Some(mode) = entry.get("mode").and_then(Value::as_str).and_then(mode) else {
            continue;
        };
        let provider = onellm_provider(litellm);
        let (model, litellm_bare) = model_name(key, litellm);
        let id = format!("{provider}/{model}");
        if !seen.insert(id.clone()) {
            continue;
        }
        let mut capabilities = ModelCapabilities::NONE;
        let mut lacks = ModelCapabilities::NONE;
        for (name, flag) in ModelCapabilities::KEYS {
            match entry.get(&format!("supports_{name}")) {
                Some(Value::Bool(true)) => capabilities = capabilities.with(*flag),
                Some(Value::Bool(false)) => lacks = lacks.with(*flag),
                _ => {}
            }
        }
        let info = ModelInfo {
            provider: Cow::Owned(provider.to_owned()),
            mode,
            max_input_tokens: tokens(entry.get("max_input_tokens")),
            max_output_tokens: tokens(entry.get("max_output_tokens")),
            prices: prices(entry, litellm == "xai"),
            capabilities,
            lacks,
        };
        parsed.push(Parsed {
            id,
            info,
            bare_rank: bare_rank(provider, litellm_bare),
        });
    }
    Ok(parsed)
}

fn number(value: Option<&Value>) -> Option<f64> {
    value
        .and_then(Value::as_f64)
        .filter(|value| value.is_finite())
}

fn tokens(value: Option<&Value>) -> Option<u32> {
    let value = number(value)?;
    // Saturating, as the generator: a window larger than u32 is "very large".
    // 0 is no limit anyone means: unknown, as in the generated table.
    (value >= 1.0).then(|| value.min(f64::from(u32::MAX)) as u32)
}

/// `input_cost_per_token_above_200k_tokens{suffix}` → `("200k", 200000)`.
fn threshold<'k>(key: &'k str, suffix: &str) -> Option<(&'k str, u64)> {
    let text = key
        .strip_suffix(suffix)?
        .strip_prefix("input_cost_per_token_above_")?
        .strip_suffix("_tokens")?;
    let (digits, scale) = match text.strip_suffix('k') {
        Some(digits) => (digits, 1000),
        None => (text, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    Some((text, value.checked_mul(scale)?))
}

/// An entry's token prices, with those of each service tier it prices. xAI bills a tier
/// from its threshold on (LiteLLM's inclusive providers); everyone else from the token
/// after it.
fn prices(entry: &Map<String, Value>, inclusive: bool) -> Option<ModelPrices> {
    let mut base =
        prices_with_suffix(entry, inclusive, "", None).or_else(|| range_prices(entry))?;
    base.service_tiers = ServiceTier::ALL
        .iter()
        .filter_map(|tier| {
            let prices = prices_with_suffix(entry, inclusive, tier.suffix(), Some(&base))?;
            Some((*tier, prices))
        })
        .collect();
    Some(base)
}

/// The prices of an entry priced by prompt-size ranges (`tiered_pricing: [{range: [0,
/// 32000], input_cost_per_token, …}, {range: [32000, 128000], …}]`, Alibaba's and
/// ByteDance's models) instead of flat prices: the range from 0 is the base, each other range
/// a tier from the token after its start (a range `[lo, hi]` holds prompts of `lo < n ≤ hi`
/// tokens, as those providers publish them). `None` without a range from 0.
fn range_prices(entry: &Map<String, Value>) -> Option<ModelPrices> {
    let ranges = entry.get("tiered_pricing")?.as_array()?;
    let mut parsed: Vec<(f64, &Map<String, Value>)> = ranges
        .iter()
        .filter_map(|range| {
            let range = range.as_object()?;
            let bounds = range.get("range")?.as_array()?;
            let start = number(bounds.first())?;
            number(range.get("input_cost_per_token"))?;
            (start >= 0.0).then_some((start, range))
        })
        .collect();
    parsed.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (&(first_start, first), rest) = parsed.split_first()?;
    if first_start != 0.0 {
        return None;
    }
    let price = |range: &Map<String, Value>, name: &str| number(range.get(name));
    Some(ModelPrices {
        input: price(first, "input_cost_per_token")?,
        output: price(first, "output_cost_per_token").unwrap_or(0.0),
        cache_read: price(first, "cache_read_input_token_cost"),
        cache_creation: price(first, "cache_creation_input_token_cost"),
        reasoning: price(first, "output_cost_per_reasoning_token"),
        tiers: rest
            .iter()
            .map(|&(start, range)| PriceTier {
                // Token counts are integers: the tier starts at the first one above `start`.
                starts_at: (start.floor() as u64).saturating_add(1),
                input: price(range, "input_cost_per_token"),
                output: price(range, "output_cost_per_token"),
                cache_read: price(range, "cache_read_input_token_cost"),
                cache_creation: price(range, "cache_creation_input_token_cost"),
                reasoning: price(range, "output_cost_per_reasoning_token"),
            })
            .collect::<Vec<_>>()
            .into(),
        service_tiers: Vec::new(),
    })
}

/// The prices of the fields ending in `suffix` (`""`, `"_flex"`, …); a service tier's
/// price the map does not give is the base price (as LiteLLM falls back), its long-prompt
/// tiers are only its own.
fn prices_with_suffix(
    entry: &Map<String, Value>,
    inclusive: bool,
    suffix: &str,
    base: Option<&ModelPrices>,
) -> Option<ModelPrices> {
    let field = |name: &str| number(entry.get(&format!("{name}{suffix}")));
    let input = field("input_cost_per_token")?;
    let mut tiers: Vec<PriceTier> = entry
        .iter()
        .filter_map(|(key, value)| {
            let (text, above) = threshold(key, suffix)?;
            let tier_input = number(Some(value))?;
            let at = |name: &str| number(entry.get(&format!("{name}_above_{text}_tokens{suffix}")));
            Some(PriceTier {
                starts_at: if inclusive {
                    above
                } else {
                    above.saturating_add(1)
                },
                input: Some(tier_input),
                output: at("output_cost_per_token"),
                cache_read: at("cache_read_input_token_cost"),
                cache_creation: at("cache_creation_input_token_cost"),
                reasoning: at("output_cost_per_reasoning_token"),
            })
        })
        .collect();
    tiers.sort_by(|a, b| {
        (
            a.starts_at,
            a.input,
            a.output,
            a.cache_read,
            a.cache_creation,
        )
            .partial_cmp(&(
                b.starts_at,
                b.input,
                b.output,
                b.cache_read,
                b.cache_creation,
            ))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    Some(ModelPrices {
        input,
        output: field("output_cost_per_token")
            .or(base.map(|base| base.output))
            .unwrap_or(0.0),
        cache_read: field("cache_read_input_token_cost").or(base.and_then(|base| base.cache_read)),
        cache_creation: field("cache_creation_input_token_cost")
            .or(base.and_then(|base| base.cache_creation)),
        // The map prices reasoning tokens only at the base tier.
        reasoning: number(entry.get("output_cost_per_reasoning_token")),
        tiers: tiers.into(),
        service_tiers: Vec::new(),
    })
}
