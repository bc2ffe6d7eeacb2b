//! Token prices and the one function that turns a usage into a cost.

use std::borrow::Cow;

use crate::types::{EmbeddingUsage, Usage};

/// A model's token prices in USD per token, as LiteLLM's map gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPrices {
    /// Prompt tokens (`input_cost_per_token`).
    pub input: f64,
    /// Completion tokens (`output_cost_per_token`; 0 when the map has none, as for
    /// embeddings).
    pub output: f64,
    /// Prompt tokens read from the provider's cache (`cache_read_input_token_cost`).
    pub cache_read: Option<f64>,
    /// Prompt tokens written to the cache (`cache_creation_input_token_cost`).
    pub cache_creation: Option<f64>,
    /// Reasoning tokens (`output_cost_per_reasoning_token`), when they cost more or less
    /// than other completion tokens.
    pub reasoning: Option<f64>,
    /// Higher prices for long prompts (`…_above_200k_tokens`), by ascending
    /// [`starts_at`](PriceTier::starts_at).
    pub tiers: Cow<'static, [PriceTier]>,
    /// Other prices for calls processed at another [`ServiceTier`] (the map's `…_flex`,
    /// `…_priority` and `…_batches` fields); empty for most models. See
    /// [`for_service_tier`](Self::for_service_tier).
    pub service_tiers: Vec<(ServiceTier, ModelPrices)>,
}

/// A processing tier priced apart from the default: OpenAI's `service_tier` of `flex`
/// (slower, cheaper) or `priority` (faster, dearer), and the Batch API's prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceTier {
    /// `service_tier: "flex"` (LiteLLM's `…_flex` prices).
    Flex,
    /// `service_tier: "priority"` (LiteLLM's `…_priority` prices).
    Priority,
    /// Calls made through a batch API (LiteLLM's `…_batches` prices).
    Batch,
}

impl ServiceTier {
    /// Every tier, in the order the catalog keeps them.
    pub const ALL: [ServiceTier; 3] =
        [ServiceTier::Flex, ServiceTier::Priority, ServiceTier::Batch];

    /// The tier a reply's `service_tier` names (`"flex"`, `"priority"`); `None` for the
    /// default tier (`"default"`, `"auto"`, `"scale"`, anything else).
    pub fn from_reply(service_tier: &str) -> Option<ServiceTier> {
        match service_tier {
            "flex" => Some(ServiceTier::Flex),
            "priority" => Some(ServiceTier::Priority),
            _ => None,
        }
    }

    /// The suffix of the map's fields for this tier.
    pub(crate) fn suffix(self) -> &'static str {
        match self {
            ServiceTier::Flex => "_flex",
            ServiceTier::Priority => "_priority",
            ServiceTier::Batch => "_batches",
        }
    }
}

/// The prices of a long-prompt tier (LiteLLM's `*_above_Nk_tokens` fields). A price the
/// tier does not set is the model's base price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceTier {
    /// The prompt size (in tokens) from which the tier applies: N + 1 for
    /// `_above_Nk_tokens`, N for xAI, which bills the tier from the threshold itself.
    pub starts_at: u64,
    /// Prompt tokens in this tier.
    pub input: Option<f64>,
    /// Completion tokens in this tier.
    pub output: Option<f64>,
    /// Prompt tokens read from the provider's cache in this tier.
    pub cache_read: Option<f64>,
    /// Prompt tokens written to the provider's cache in this tier.
    pub cache_creation: Option<f64>,
    /// Reasoning tokens in this tier (the ranges of a `tiered_pricing` list may price them).
    pub reasoning: Option<f64>,
}

/// The counts a cost is made of.
#[derive(Debug, Clone, Copy, Default)]
struct Tokens {
    prompt: u64,
    cached: u64,
    cache_creation: u64,
    completion: u64,
    reasoning: u64,
}

impl ModelPrices {
    /// The prices of `tier` (`None`: the default tier), or these when the map gives none
    /// for it.
    pub fn for_service_tier(&self, tier: Option<ServiceTier>) -> &ModelPrices {
        tier.and_then(|tier| {
            self.service_tiers
                .iter()
                .find(|(priced, _)| *priced == tier)
                .map(|(_, prices)| prices)
        })
        .unwrap_or(self)
    }

    /// The cost in USD of a call that used `usage`, by LiteLLM's rules
    /// (`generic_cost_per_token`):
    ///
    /// - **Tier**: the last tier whose `starts_at` the prompt (`prompt_tokens`, cached
    ///   tokens included) reaches prices *every* token of the call; no tier, the base
    ///   prices. So a call is not priced in parts, and cost is additive only over calls
    ///   in the same tier.
    /// - **Prompt**: `prompt_tokens − cached − cache_creation` at the input price, cached
    ///   tokens (`prompt_tokens_details.cached_tokens`) at the cache-read price, cache
    ///   creation tokens (`prompt_tokens_details.cache_creation_tokens`, which OneLLM
    ///   counts inside `prompt_tokens`, as Anthropic bills them) at the cache-creation
    ///   price.
    /// - **Completion**: with reasoning tokens reported,
    ///   `completion_tokens − reasoning` at the output price and the reasoning tokens at
    ///   the reasoning price (the output price when the map has none); without, every
    ///   completion token at the output price.
    ///
    /// Where LiteLLM bills cached or cache-creation tokens at 0 because the map gives no
    /// price for them, this bills them at the input price: a provider that reports cache
    /// hits without a discount charges them as input, and a cost should not be low.
    /// Audio, image and per-request charges and the Anthropic one-hour cache price are not
    /// applied. These are the default tier's prices: a reply processed at another service
    /// tier is priced with [`for_service_tier`](Self::for_service_tier) first (the engine
    /// does so from the reply's `service_tier`).
    pub fn cost(&self, usage: &Usage) -> f64 {
        let details = usage.prompt_tokens_details.as_ref();
        self.cost_of(Tokens {
            prompt: usage.prompt_tokens,
            cached: usage.cached_tokens(),
            cache_creation: details
                .and_then(|details| details.cache_creation_tokens)
                .unwrap_or(0),
            completion: usage.completion_tokens,
            reasoning: usage.reasoning_tokens(),
        })
    }

    /// The cost in USD of an embeddings call: its prompt tokens at the input price (of its
    /// tier).
    pub fn embedding_cost(&self, usage: &EmbeddingUsage) -> f64 {
        self.cost_of(Tokens {
            prompt: usage.prompt_tokens,
            ..Tokens::default()
        })
    }

    fn cost_of(&self, tokens: Tokens) -> f64 {
        let tier = self
            .tiers
            .iter()
            .rev()
            .find(|tier| tokens.prompt >= tier.starts_at);
        let pick = |field: fn(&PriceTier) -> Option<f64>| tier.and_then(field);
        let input = pick(|tier| tier.input).unwrap_or(self.input);
        let output = pick(|tier| tier.output).unwrap_or(self.output);
        let cache_read = pick(|tier| tier.cache_read)
            .or(self.cache_read)
            .unwrap_or(input);
        let cache_creation = pick(|tier| tier.cache_creation)
            .or(self.cache_creation)
            .unwrap_or(input);
        let reasoning = pick(|tier| tier.reasoning)
            .or(self.reasoning)
            .unwrap_or(output);

        let uncached = tokens
            .prompt
            .saturating_sub(tokens.cached)
            .saturating_sub(tokens.cache_creation);
        let text_out = tokens.completion.saturating_sub(tokens.reasoning);
        // Token counts are far below 2^53, so each conversion is exact.
        uncached as f64 * input
            + tokens.cached as f64 * cache_read
            + tokens.cache_creation as f64 * cache_creation
            + text_out as f64 * output
            + tokens.reasoning as f64 * reasoning
    }
}
