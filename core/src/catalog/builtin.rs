//! The built-in table: the generated rows (`table.rs`) and their index, built once.
//!
//! The rows are plain numbers — an id is an offset into one string, a provider and a price
//! set are numbers into deduplicated tables — so the table holds no pointer per row: a
//! pointer in a static costs a relocation entry (24 bytes in a position-independent binary)
//! on top of its 8, and the first generated form, a `ModelInfo` per row, added 840 KB to a
//! stripped release binary where this one adds about a quarter of that. The
//! [`ModelInfo`]s are made from the rows once, with the index, at the first lookup.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use super::litellm::bare_rank;
use super::prices::ServiceTier;
use super::prices::{ModelPrices, PriceTier};
use super::table::{IDS, PRICES, PROVIDERS, ROWS, SERVICE, TIERS};
use super::{Mode, ModelCapabilities, ModelInfo};

/// "Not in the map", for a price.
pub(super) const N: f64 = f64::NAN;

/// One generated entry.
pub(super) struct Row {
    id_offset: u32,
    max_input_tokens: u32,
    max_output_tokens: u32,
    id_len: u16,
    /// In [`PRICES`], plus one; 0 for none.
    prices: u16,
    capabilities: u16,
    /// The capabilities the map says the model lacks (`supports_*: false`).
    lacks: u16,
    provider: u8,
    mode: Mode,
    litellm_bare: bool,
}

/// A generated price set: input, output, cache read, cache creation, reasoning (NaN when
/// absent), and its tiers' range in [`TIERS`].
pub(super) struct Prices {
    values: [f64; 5],
    tiers_start: u16,
    tiers_len: u8,
}

/// A row (short, so the generated table stays small to read and compile). Token limits of
/// 0 are unknown.
#[allow(clippy::too_many_arguments)]
pub(super) const fn r(
    id_offset: u32,
    id_len: u16,
    provider: u8,
    litellm_bare: bool,
    mode: Mode,
    max_input_tokens: u32,
    max_output_tokens: u32,
    prices: u16,
    capabilities: u16,
    lacks: u16,
) -> Row {
    Row {
        id_offset,
        max_input_tokens,
        max_output_tokens,
        id_len,
        prices,
        capabilities,
        lacks,
        provider,
        mode,
        litellm_bare,
    }
}

/// A price set.
pub(super) const fn p(values: [f64; 5], tiers_start: u16, tiers_len: u8) -> Prices {
    Prices {
        values,
        tiers_start,
        tiers_len,
    }
}

/// A row's prices at a service tier.
pub(super) struct ServicePrices {
    row: u16,
    /// In [`ServiceTier::ALL`].
    tier: u8,
    /// In [`PRICES`], plus one.
    prices: u16,
}

/// A service-tier price set.
pub(super) const fn s(row: u16, tier: u8, prices: u16) -> ServicePrices {
    ServicePrices { row, tier, prices }
}

/// A price tier (NaN: the base price).
pub(super) const fn t(
    starts_at: u64,
    input: f64,
    output: f64,
    cache_read: f64,
    cache_creation: f64,
    reasoning: f64,
) -> PriceTier {
    PriceTier {
        starts_at,
        input: some(input),
        output: some(output),
        cache_read: some(cache_read),
        cache_creation: some(cache_creation),
        reasoning: some(reasoning),
    }
}

const fn some(price: f64) -> Option<f64> {
    if price.is_nan() {
        None
    } else {
        Some(price)
    }
}

/// The rows made into entries, and full ids and claimed bare names → entry numbers.
struct Index {
    entries: Vec<(&'static str, bool, ModelInfo)>,
    ids: HashMap<&'static str, usize>,
    bare: HashMap<&'static str, (u8, usize)>,
}

fn id_of(row: &Row) -> &'static str {
    let start = row.id_offset as usize;
    IDS.get(start..start + usize::from(row.id_len))
        .unwrap_or_default()
}

fn prices_of(number: usize, row: &Row) -> Option<ModelPrices> {
    let mut prices = price_set(row.prices)?;
    // SERVICE is ordered by row.
    let start = SERVICE.partition_point(|service| usize::from(service.row) < number);
    prices.service_tiers = SERVICE
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|service| usize::from(service.row) == number)
        .filter_map(|service| {
            let tier = *ServiceTier::ALL.get(usize::from(service.tier))?;
            Some((tier, price_set(service.prices)?))
        })
        .collect();
    Some(prices)
}

/// Price set `number` (plus one; 0 is none).
fn price_set(number: u16) -> Option<ModelPrices> {
    let set = PRICES.get(usize::from(number).checked_sub(1)?)?;
    let start = usize::from(set.tiers_start);
    let [input, output, cache_read, cache_creation, reasoning] = set.values;
    Some(ModelPrices {
        input,
        output,
        cache_read: some(cache_read),
        cache_creation: some(cache_creation),
        reasoning: some(reasoning),
        tiers: Cow::Borrowed(
            TIERS
                .get(start..start + usize::from(set.tiers_len))
                .unwrap_or_default(),
        ),
        service_tiers: Vec::new(),
    })
}

fn entry_of(number: usize, row: &Row) -> (&'static str, bool, ModelInfo) {
    let known = |tokens: u32| (tokens > 0).then_some(tokens);
    let provider = PROVIDERS
        .get(usize::from(row.provider))
        .copied()
        .unwrap_or_default();
    let info = ModelInfo {
        provider: Cow::Borrowed(provider),
        mode: row.mode,
        max_input_tokens: known(row.max_input_tokens),
        max_output_tokens: known(row.max_output_tokens),
        prices: prices_of(number, row),
        capabilities: ModelCapabilities::from_bits(row.capabilities),
        lacks: ModelCapabilities::from_bits(row.lacks),
    };
    (id_of(row), row.litellm_bare, info)
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let entries: Vec<_> = ROWS
            .iter()
            .enumerate()
            .map(|(number, row)| entry_of(number, row))
            .collect();
        let mut ids = HashMap::with_capacity(entries.len());
        let mut bare: HashMap<&'static str, (u8, usize)> = HashMap::new();
        for (number, (id, litellm_bare, info)) in entries.iter().enumerate() {
            ids.entry(*id).or_insert(number);
            let Some((_, model)) = id.split_once('/') else {
                continue;
            };
            let Some(rank) = bare_rank(&info.provider, *litellm_bare) else {
                continue;
            };
            match bare.get(model) {
                Some((taken, _)) if *taken <= rank => {}
                _ => {
                    bare.insert(model, (rank, number));
                }
            }
        }
        Index { entries, ids, bare }
    })
}

/// The entry for a full id.
pub(super) fn get(id: &str) -> Option<&'static ModelInfo> {
    let index = index();
    let number = *index.ids.get(id)?;
    index.entries.get(number).map(|(_, _, info)| info)
}

/// The full id a bare name stands for.
pub(super) fn resolve_bare(name: &str) -> Option<&'static str> {
    let index = index();
    let (_, number) = *index.bare.get(name)?;
    index.entries.get(number).map(|(id, _, _)| *id)
}

/// How many rows.
pub(super) fn len() -> usize {
    ROWS.len()
}

/// Every entry's id and info.
pub(super) fn rows() -> impl Iterator<Item = (&'static str, &'static ModelInfo)> {
    index().entries.iter().map(|(id, _, info)| (*id, info))
}
