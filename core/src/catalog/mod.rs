//! The model catalog: per model id its provider, mode, context window, prices and
//! capabilities, and the cost of a call from its usage.
//!
//! The built-in table (`table.rs`) is generated from LiteLLM's model map
//! (`model_prices_and_context_window.json`) by `core/catalog/generate.py`; prices are never
//! edited by hand. A newer map can be loaded at run time with [`Catalog::from_json`], and
//! entries added or overridden with [`Catalog::insert`].
//!
//! # Ids
//!
//! Entries are keyed the way OneLLM names models, `provider/model`, with LiteLLM's provider
//! names mapped to OneLLM's (`gemini` → `google`, `vertex_ai-*` → `vertexai`,
//! `bedrock_converse` → `bedrock`, `together_ai` → `together`, `fireworks_ai` → `fireworks`,
//! `text-completion-openai` → `openai`, `cohere_chat` → `cohere`, …; the others keep
//! LiteLLM's name). The model part is LiteLLM's key without its provider segment.
//!
//! **Bare names** (no provider): `gpt-4o-mini` is found too. A bare name belongs to the
//! model's maker when one serves it — the first of openai, anthropic, google, mistral,
//! cohere, deepseek, xai that has the model — else to the entry LiteLLM itself keys by the
//! bare name (Bedrock's `anthropic.claude-…`, Vertex AI's). Other hosts' models need their
//! prefix: a bare `llama-3.3-70b` is not guessed.
//!
//! **Aliases**: an id the map lacks is looked up again without a date suffix on its model
//! part — `-YYYY-MM-DD`, `-YYYYMMDD` or `@YYYYMMDD` (`gpt-4o-2024-08-06`,
//! `claude-3-5-sonnet-20241022`, `claude-3-5-sonnet@20240620`) — so the dated snapshot a
//! provider reports finds its undated entry. A dated id the map has keeps its own entry.
//!
//! # Lookup
//!
//! O(1): the built-in rows are a static slice, indexed once (the first lookup builds a
//! `HashMap` from each id and bare name to its row, in a `OnceLock`). A generated `match`
//! would need no index but makes a function of several thousand arms that is slow to
//! compile and cannot serve the bare-name and override rules; a sorted array would be
//! O(log n). Entries added at run time live in a map of their own, consulted first.
//!
//! # Cost
//!
//! See [`ModelPrices::cost`]; a reply's `service_tier` (`flex`, `priority`) picks that
//! tier's prices where the map has them ([`ModelInfo::cost_at`]). A model the catalog lacks,
//! or has without a token price, has no cost: `None`, never 0.

mod alias;
mod builtin;
mod litellm;
mod prices;
#[rustfmt::skip]
mod table;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

pub use self::prices::{ModelPrices, PriceTier, ServiceTier};
use crate::error::Error;
use crate::types::{EmbeddingUsage, Usage};

/// What kind of calls a model serves (LiteLLM's `mode`; only those OneLLM makes are kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Chat completions.
    Chat,
    /// Legacy text completions.
    Completion,
    /// Embeddings.
    Embedding,
    /// Served only by OpenAI's Responses API.
    Responses,
}

/// Capability flags from the map's `supports_*` fields, as a bitset. The map leaves most
/// flags out for most models, so [`ModelInfo`] keeps two sets: what the map claims
/// (`supports_x: true`) and what it denies (`supports_x: false`); a flag in neither is
/// unknown.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ModelCapabilities(u16);

macro_rules! capabilities {
    ($($(#[$doc:meta])* $name:ident = $bit:literal, $key:literal;)+) => {
        impl ModelCapabilities {
            $($(#[$doc])* pub const $name: ModelCapabilities = ModelCapabilities(1 << $bit);)+

            /// The `supports_*` field names, by bit (without the `supports_` prefix).
            const KEYS: &'static [(&'static str, ModelCapabilities)] = &[$(($key, ModelCapabilities::$name),)+];
        }
    };
}

capabilities! {
    /// Tool (function) calling.
    FUNCTION_CALLING = 0, "function_calling";
    /// Several tool calls in one reply.
    PARALLEL_FUNCTION_CALLING = 1, "parallel_function_calling";
    /// `tool_choice`.
    TOOL_CHOICE = 2, "tool_choice";
    /// Image input.
    VISION = 3, "vision";
    /// Structured output with a JSON schema.
    RESPONSE_SCHEMA = 4, "response_schema";
    /// Reasoning (thinking) output.
    REASONING = 5, "reasoning";
    /// Prompt caching.
    PROMPT_CACHING = 6, "prompt_caching";
    /// System messages.
    SYSTEM_MESSAGES = 7, "system_messages";
    /// PDF input.
    PDF_INPUT = 8, "pdf_input";
    /// Audio input.
    AUDIO_INPUT = 9, "audio_input";
    /// Audio output.
    AUDIO_OUTPUT = 10, "audio_output";
    /// Built-in web search.
    WEB_SEARCH = 11, "web_search";
    /// Computer use.
    COMPUTER_USE = 12, "computer_use";
    /// Native streaming.
    NATIVE_STREAMING = 13, "native_streaming";
    /// Assistant prefill.
    ASSISTANT_PREFILL = 14, "assistant_prefill";
}

impl ModelCapabilities {
    /// No capabilities.
    pub const NONE: ModelCapabilities = ModelCapabilities(0);

    /// The set with these bits (bit order as the constants).
    pub const fn from_bits(bits: u16) -> Self {
        ModelCapabilities(bits)
    }

    /// The bits.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether every capability in `other` is in `self`.
    pub const fn contains(self, other: ModelCapabilities) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` with `other` added.
    #[must_use]
    pub const fn with(self, other: ModelCapabilities) -> Self {
        ModelCapabilities(self.0 | other.0)
    }
}

impl fmt::Debug for ModelCapabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = ModelCapabilities::KEYS
            .iter()
            .filter(|(_, flag)| self.contains(*flag))
            .map(|(name, _)| name);
        f.debug_set().entries(names).finish()
    }
}

/// What the catalog knows about one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// OneLLM's provider name (`openai`, `google`, `bedrock`, …).
    pub provider: Cow<'static, str>,
    /// What the model serves (the map's `mode`): chat, legacy completions, embeddings or only
    /// the Responses API.
    pub mode: Mode,
    /// The context window (prompt tokens), if the map gives it (and not as 0).
    pub max_input_tokens: Option<u32>,
    /// The most tokens one reply may have, if the map gives it (and not as 0).
    pub max_output_tokens: Option<u32>,
    /// Token prices; `None` for a model priced otherwise (per character, tiered ranges) or
    /// not at all, which then has no cost.
    pub prices: Option<ModelPrices>,
    /// What the map says the model can do (`supports_*: true`).
    pub capabilities: ModelCapabilities,
    /// What the map says the model cannot do (`supports_*: false`): a request that needs
    /// one of these is refused before sending (see
    /// [`ClientBuilder::check_capabilities`](crate::client::ClientBuilder::check_capabilities)).
    pub lacks: ModelCapabilities,
}

impl ModelInfo {
    /// The cost of a chat or completion call's `usage` in USD; `None` without prices.
    pub fn cost(&self, usage: &Usage) -> Option<f64> {
        self.prices.as_ref().map(|prices| prices.cost(usage))
    }

    /// The cost of a call's `usage` processed at `service_tier` (the reply's
    /// `service_tier`: `"flex"` and `"priority"` have prices of their own where the map
    /// gives them; anything else is the default tier).
    pub fn cost_at(&self, usage: &Usage, service_tier: Option<&str>) -> Option<f64> {
        let tier = service_tier.and_then(ServiceTier::from_reply);
        self.prices
            .as_ref()
            .map(|prices| prices.for_service_tier(tier).cost(usage))
    }

    /// The cost of an embeddings call's `usage` in USD; `None` without prices.
    pub fn embedding_cost(&self, usage: &EmbeddingUsage) -> Option<f64> {
        self.prices
            .as_ref()
            .map(|prices| prices.embedding_cost(usage))
    }
}

/// Model ids → [`ModelInfo`]: the built-in table, a map loaded at run time, or both with
/// entries added by the program. See the [module docs](self) for ids, bare names, aliases
/// and cost.
///
/// ```
/// use onellm_core::catalog::Catalog;
/// use onellm_core::Usage;
///
/// let catalog = Catalog::builtin();
/// let info = catalog.get("openai/gpt-4o-2024-08-06").unwrap();
/// assert_eq!(info.provider, "openai");
/// assert_eq!(catalog.provider_of("claude-sonnet-4-5"), Some("anthropic"));
/// let cost = info.cost(&Usage::new(1_000, 500)).unwrap();
/// assert!(cost > 0.0);
/// assert!(catalog.get("openai/no-such-model").is_none());
/// ```
#[derive(Clone, Default)]
pub struct Catalog {
    /// Whether the built-in table is consulted (after `own`).
    builtin: bool,
    /// Entries loaded or added at run time, by full id.
    own: HashMap<String, ModelInfo>,
    /// Bare names of `own` entries → the rank of their claim (lower wins) and their full
    /// ids.
    own_bare: HashMap<String, (u8, String)>,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("builtin", &self.builtin)
            .field("own_entries", &self.own.len())
            .finish()
    }
}

impl Catalog {
    /// The built-in table, generated from the LiteLLM map the project ships with. Cheap:
    /// nothing is copied.
    pub fn builtin() -> Self {
        Catalog {
            builtin: true,
            ..Catalog::default()
        }
    }

    /// A catalog with no entries: every model is unknown (and has no cost).
    pub fn empty() -> Self {
        Catalog::default()
    }

    /// A catalog from a LiteLLM model map (`model_prices_and_context_window.json`, the
    /// bytes of the file), with the same rules as the built-in table, which it replaces:
    /// for a newer map than the one built in. Entries OneLLM cannot call (image, audio,
    /// rerank…) are skipped; a field of an unexpected type is treated as absent. Not a
    /// JSON object: a `Configuration` error.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let mut catalog = Catalog::empty();
        for entry in litellm::parse(bytes)? {
            catalog.add(entry.id, entry.info, entry.bare_rank);
        }
        Ok(catalog)
    }

    /// Adds or replaces the entry for `id` (`provider/model`). Its bare name (the model
    /// part) finds it too, unless the bare name already belongs to another entry.
    pub fn insert(&mut self, id: impl Into<String>, info: ModelInfo) -> &mut Self {
        self.add(id.into(), info, Some(u8::MAX));
        self
    }

    fn add(&mut self, id: String, info: ModelInfo, bare_rank: Option<u8>) {
        if let (Some(rank), Some((_, model))) = (bare_rank, id.split_once('/')) {
            if !model.is_empty() && !model.contains('/') {
                // A name the built-in table gives away is taken for good (rank 0).
                let taken = self.own_bare.get(model).map(|(rank, _)| *rank).or_else(|| {
                    (self.builtin && builtin::resolve_bare(model).is_some()).then_some(0)
                });
                if taken.is_none_or(|taken| rank < taken) {
                    self.own_bare.insert(model.to_owned(), (rank, id.clone()));
                }
            }
        }
        self.own.insert(id, info);
    }

    /// The entry for `id`: a full `provider/model` id or a bare model name, else the same
    /// without a date suffix (see the [module docs](self)).
    pub fn get(&self, id: &str) -> Option<&ModelInfo> {
        self.exact(id).or_else(|| self.exact(&alias::undated(id)?))
    }

    fn exact(&self, id: &str) -> Option<&ModelInfo> {
        if let Some(info) = self.own.get(id) {
            return Some(info);
        }
        if !id.contains('/') {
            let full = self.resolve_bare_exact(id)?;
            return self.own.get(full).or_else(|| builtin::get(full));
        }
        self.builtin.then(|| builtin::get(id)).flatten()
    }

    fn resolve_bare_exact(&self, name: &str) -> Option<&str> {
        if let Some((_, full)) = self.own_bare.get(name) {
            return Some(full);
        }
        self.builtin.then(|| builtin::resolve_bare(name)).flatten()
    }

    /// The full `provider/model` id a bare model name stands for (dated snapshots of a
    /// known model included), or `None` when the catalog does not know the name.
    pub fn resolve_bare(&self, name: &str) -> Option<String> {
        if name.contains('/') {
            return None;
        }
        if let Some(full) = self.resolve_bare_exact(name) {
            return Some(full.to_owned());
        }
        // A dated snapshot of a known model keeps its date: the provider is the same.
        let undated = alias::undated(name)?;
        let full = self.resolve_bare_exact(&undated)?;
        let (provider, _) = full.split_once('/')?;
        Some(format!("{provider}/{name}"))
    }

    /// The provider a bare model name belongs to (see [`resolve_bare`](Self::resolve_bare)).
    pub fn provider_of(&self, name: &str) -> Option<&str> {
        let info = self.get(name)?;
        (!name.contains('/')).then_some(&*info.provider)
    }

    /// The entry pricing a call to `model_id` (`provider/model`, as requested) that the
    /// provider answered as `returned_model` (its own name for the model, which may be a
    /// dated snapshot, or for Azure the model behind a deployment): `provider/returned_model`
    /// first, then `model_id`.
    pub fn for_call(&self, model_id: &str, returned_model: &str) -> Option<&ModelInfo> {
        let provider = model_id.split_once('/').map(|(provider, _)| provider);
        let returned = match provider {
            Some(provider) if !returned_model.is_empty() => {
                self.get(&format!("{provider}/{returned_model}"))
            }
            _ => None,
        };
        returned.or_else(|| self.get(model_id))
    }

    /// Every entry, by full id: own entries first (in no particular order), then the
    /// built-in rows they do not override (in id order).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ModelInfo)> {
        let own = self.own.iter().map(|(id, info)| (id.as_str(), info));
        let builtin = self
            .builtin
            .then(builtin::rows)
            .into_iter()
            .flatten()
            .filter(|(id, _)| !self.own.contains_key(*id))
            .map(|(id, info): (&str, &ModelInfo)| (id, info));
        own.chain(builtin)
    }

    /// How many entries the catalog has (built-in rows plus own entries not overriding one).
    pub fn len(&self) -> usize {
        let builtin = if self.builtin { builtin::len() } else { 0 };
        let new = self
            .own
            .keys()
            .filter(|id| !self.builtin || builtin::get(id).is_none())
            .count();
        builtin + new
    }

    /// Whether the catalog has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
