//! The built-in table: the generated rows (`table.rs`) and their index, built once.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use super::litellm::bare_rank;
use super::prices::{ModelPrices, PriceTier};
use super::{Mode, ModelCapabilities, ModelInfo};

/// One generated entry: its id, whether LiteLLM keys it by its bare model name, and what
/// is known about it.
pub(super) struct Row {
    pub(super) id: &'static str,
    pub(super) litellm_bare: bool,
    pub(super) info: ModelInfo,
}

/// A row (short, so the generated table stays small to read and compile).
#[allow(clippy::too_many_arguments)]
pub(super) const fn r(
    id: &'static str,
    provider: &'static str,
    litellm_bare: bool,
    mode: Mode,
    max_input_tokens: Option<u32>,
    max_output_tokens: Option<u32>,
    prices: Option<ModelPrices>,
    capabilities: u16,
) -> Row {
    Row {
        id,
        litellm_bare,
        info: ModelInfo {
            provider: Cow::Borrowed(provider),
            mode,
            max_input_tokens,
            max_output_tokens,
            prices,
            capabilities: ModelCapabilities::from_bits(capabilities),
        },
    }
}

/// A row's prices.
pub(super) const fn p(
    input: f64,
    output: f64,
    cache_read: Option<f64>,
    cache_creation: Option<f64>,
    reasoning: Option<f64>,
    tiers: &'static [PriceTier],
) -> ModelPrices {
    ModelPrices {
        input,
        output,
        cache_read,
        cache_creation,
        reasoning,
        tiers: Cow::Borrowed(tiers),
    }
}

/// A price tier.
pub(super) const fn t(
    starts_at: u64,
    input: Option<f64>,
    output: Option<f64>,
    cache_read: Option<f64>,
    cache_creation: Option<f64>,
) -> PriceTier {
    PriceTier {
        starts_at,
        input,
        output,
        cache_read,
        cache_creation,
    }
}

/// Full ids and claimed bare names → row numbers.
struct Index {
    ids: HashMap<&'static str, u32>,
    bare: HashMap<&'static str, (u8, u32)>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let rows = super::table::ROWS;
        let mut ids = HashMap::with_capacity(rows.len());
        let mut bare: HashMap<&'static str, (u8, u32)> = HashMap::new();
        for (number, row) in (0u32..).zip(rows) {
            ids.entry(row.id).or_insert(number);
            let Some((_, model)) = row.id.split_once('/') else {
                continue;
            };
            let Some(rank) = bare_rank(&row.info.provider, row.litellm_bare) else {
                continue;
            };
            match bare.get(model) {
                Some((taken, _)) if *taken <= rank => {}
                _ => {
                    bare.insert(model, (rank, number));
                }
            }
        }
        Index { ids, bare }
    })
}

fn row(number: u32) -> Option<&'static Row> {
    super::table::ROWS.get(usize::try_from(number).ok()?)
}

/// The row for a full id.
pub(super) fn get(id: &str) -> Option<&'static ModelInfo> {
    let number = *index().ids.get(id)?;
    row(number).map(|row| &row.info)
}

/// The full id a bare name stands for.
pub(super) fn resolve_bare(name: &str) -> Option<&'static str> {
    let (_, number) = *index().bare.get(name)?;
    row(number).map(|row| row.id)
}

/// How many rows.
pub(super) fn len() -> usize {
    super::table::ROWS.len()
}

/// Every row's id and info.
pub(super) fn rows() -> impl Iterator<Item = (&'static str, &'static ModelInfo)> {
    super::table::ROWS.iter().map(|row| (row.id, &row.info))
}
