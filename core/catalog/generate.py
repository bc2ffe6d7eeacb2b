#!/usr/bin/env python3
"""Generates core/src/catalog/table.rs from LiteLLM's model map.

Usage (from the repository root; python3, standard library only):

    python3 core/catalog/generate.py [path/to/model_prices_and_context_window.json]

The map defaults to ../shared/data/model_prices_and_context_window.json (not committed: LiteLLM
publishes it, MIT-licensed). Prices are never edited by hand: drop in a newer map and run this
again. The rules here (which entries, how LiteLLM's provider names and keys become OneLLM ids)
are the ones `Catalog::from_json` applies at run time (core/src/catalog/litellm.rs); the test
`builtin_table_equals_from_json_of_the_same_map` holds the two together.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_MAP = os.path.join(REPO, "..", "shared", "data", "model_prices_and_context_window.json")
OUT = os.path.join(REPO, "core", "src", "catalog", "table.rs")

# Modes OneLLM can call (and so can cost); image, audio, video, rerank… entries are left out.
MODES = {"chat": "Chat", "completion": "Completion", "embedding": "Embedding", "responses": "Responses"}

# LiteLLM provider name -> OneLLM provider name, where they differ.
PROVIDERS = {
    "gemini": "google",
    "vertex_ai": "vertexai",
    "bedrock_converse": "bedrock",
    "azure_text": "azure",
    "text-completion-openai": "openai",
    "cohere_chat": "cohere",
    "together_ai": "together",
    "fireworks_ai": "fireworks",
    "fireworks_ai-embedding-models": "fireworks",
    "text-completion-codestral": "codestral",
}

# The `supports_*` flags kept, in bit order (Capabilities in core/src/catalog/mod.rs).
FLAGS = [
    "function_calling",
    "parallel_function_calling",
    "tool_choice",
    "vision",
    "response_schema",
    "reasoning",
    "prompt_caching",
    "system_messages",
    "pdf_input",
    "audio_input",
    "audio_output",
    "web_search",
    "computer_use",
    "native_streaming",
    "assistant_prefill",
]


def onellm_provider(litellm):
    if litellm.startswith("vertex_ai"):
        return "vertexai"
    return PROVIDERS.get(litellm, litellm)


def model_name(key, litellm):
    """The key without its provider segment, when its first segment names the provider."""
    prefix, slash, rest = key.partition("/")
    if slash and rest and (
        prefix == litellm
        or prefix == litellm.replace("_", "-")
        or litellm.startswith(prefix + "_")
        or litellm.startswith(prefix + "-")
    ):
        return rest, False
    return key, "/" not in key


def number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def tokens(value):
    value = number(value)
    if value is None or value < 0 or value != value:
        return None
    return min(int(value), 2**32 - 1)


def f64(value):
    """A price as a Rust literal; NaN stands for "not in the map"."""
    return "N" if value is None else repr(value)


def threshold(key, suffix=""):
    """`input_cost_per_token_above_200k_tokens{suffix}` -> 200000; None for other keys."""
    head = "input_cost_per_token_above_"
    tail = "_tokens" + suffix
    if not key.startswith(head) or not key.endswith(tail):
        return None
    text = key[len(head) : -len(tail)]
    scale = 1000 if text.endswith("k") else 1
    text = text[:-1] if text.endswith("k") else text
    return int(text) * scale if text.isdigit() else None


# Service tiers with prices of their own, by field suffix, in the order of ServiceTier
# (core/src/catalog/prices.rs).
SERVICE_TIERS = ["_flex", "_priority", "_batches"]


def range_prices(entry):
    """An entry priced by prompt-size ranges (`tiered_pricing`): the range from 0 is the
    base, each other range `[lo, hi]` a tier from token lo + 1 (prompts of lo < n <= hi).
    None without a range from 0. (`range_prices` in core/src/catalog/litellm.rs.)"""
    ranges = entry.get("tiered_pricing")
    if not isinstance(ranges, list):
        return None
    parsed = []
    for r in ranges:
        if not isinstance(r, dict) or not isinstance(r.get("range"), list) or not r["range"]:
            continue
        start = number(r["range"][0])
        if start is None or start < 0 or number(r.get("input_cost_per_token")) is None:
            continue
        parsed.append((start, r))
    parsed.sort(key=lambda item: item[0])
    if not parsed or parsed[0][0] != 0.0:
        return None
    first = parsed[0][1]
    price = lambda r, name: number(r.get(name))
    five = (
        price(first, "input_cost_per_token"),
        price(first, "output_cost_per_token") or 0.0,
        price(first, "cache_read_input_token_cost"),
        price(first, "cache_creation_input_token_cost"),
        price(first, "output_cost_per_reasoning_token"),
    )
    tiers = tuple(
        (
            int(start) + 1,
            price(r, "input_cost_per_token"),
            price(r, "output_cost_per_token"),
            price(r, "cache_read_input_token_cost"),
            price(r, "cache_creation_input_token_cost"),
            price(r, "output_cost_per_reasoning_token"),
        )
        for start, r in parsed[1:]
    )
    return five, tiers


def prices(entry, inclusive, suffix="", base=None):
    """(five prices, tiers) of an entry's fields ending in `suffix`, or None without an
    input price. A service tier's price the map lacks is the base one (`base`, the base
    tier's five prices); its long-prompt tiers are only its own."""
    field = lambda name: number(entry.get(name + suffix))
    input_price = field("input_cost_per_token")
    if input_price is None:
        return None
    tiers = []
    for key in entry:
        above = threshold(key, suffix)
        if above is None or number(entry[key]) is None:
            continue
        text = key[len("input_cost_per_token_above_") : -len("_tokens" + suffix)]
        at = lambda name: number(entry.get("%s_above_%s_tokens%s" % (name, text, suffix)))
        tiers.append(
            (
                above if inclusive else above + 1,
                number(entry[key]),
                at("output_cost_per_token"),
                at("cache_read_input_token_cost"),
                at("cache_creation_input_token_cost"),
                at("output_cost_per_reasoning_token"),
            )
        )
    tiers.sort(key=lambda tier: tuple(-1.0 if v is None else v for v in tier))
    pick = lambda name, i: field(name) if field(name) is not None else (base[i] if base else None)
    output = pick("output_cost_per_token", 1)
    five = (
        input_price,
        output or 0.0,
        pick("cache_read_input_token_cost", 2),
        pick("cache_creation_input_token_cost", 3),
        number(entry.get("output_cost_per_reasoning_token")),
    )
    return five, tuple(tiers)


class Table:
    """Deduplicating tables: the generated source holds each string and price set once, and
    rows refer to them by number, so the table needs no pointer (and no relocation) per row."""

    def __init__(self):
        self.ids = []
        self.ids_len = 0
        self.providers = {}
        self.prices = {}
        self.tiers = []
        self.rows = []
        self.service = []

    def provider(self, name):
        return self.providers.setdefault(name, len(self.providers))

    def price(self, priced):
        if priced is None:
            return 0
        if priced not in self.prices:
            five, tiers = priced
            start = len(self.tiers)
            self.tiers.extend(tiers)
            self.prices[priced] = (len(self.prices) + 1, five, start, len(tiers))
        return self.prices[priced][0]

    def id(self, text):
        offset = self.ids_len
        self.ids.append(text)
        self.ids_len += len(text.encode("utf-8"))
        return offset, len(text.encode("utf-8"))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MAP
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    table = Table()
    seen = set()
    for key in sorted(data):
        entry = data[key]
        if key == "sample_spec" or not isinstance(entry, dict):
            continue
        litellm = entry.get("litellm_provider")
        mode = MODES.get(entry.get("mode"))
        if not isinstance(litellm, str) or mode is None:
            continue
        provider = onellm_provider(litellm)
        model, bare = model_name(key, litellm)
        model_id = "%s/%s" % (provider, model)
        if model_id in seen:
            continue  # first in key order wins, as in from_json
        seen.add(model_id)
        flags = lacks = 0
        for bit, flag in enumerate(FLAGS):
            if entry.get("supports_" + flag) is True:
                flags |= 1 << bit
            elif entry.get("supports_" + flag) is False:
                lacks |= 1 << bit
        offset, length = table.id(model_id)
        base = prices(entry, inclusive=litellm == "xai") or range_prices(entry)
        if base is not None:
            for kind, suffix in enumerate(SERVICE_TIERS):
                tier = prices(entry, litellm == "xai", suffix, base[0])
                if tier is not None:
                    table.service.append((len(table.rows), kind, table.price(tier)))
        table.rows.append(
            "r(%d, %d, %d, %s, %s, %d, %d, %d, 0x%04x, 0x%04x),\n"
            % (
                offset,
                length,
                table.provider(provider),
                "true" if bare else "false",
                mode,
                tokens(entry.get("max_input_tokens")) or 0,
                tokens(entry.get("max_output_tokens")) or 0,
                table.price(base),
                flags,
                lacks,
            )
        )
    source = os.path.basename(path)
    ids = "".join(table.ids)
    with open(OUT, "w", encoding="utf-8") as out:
        out.write(
            "// @generated by core/catalog/generate.py from LiteLLM's %s (%d entries kept).\n"
            "// Do not edit: run `python3 core/catalog/generate.py [map.json]` to regenerate.\n"
            "// Prices from LiteLLM's model map (MIT License, copyright Berri AI).\n\n"
            "use super::builtin::{p, r, s, t, Prices, Row, ServicePrices, N};\n"
            "use super::prices::PriceTier;\n"
            "use super::Mode::*;\n\n" % (source, len(table.rows))
        )
        out.write("/// Every id, one after the other; rows give offset and length.\n")
        out.write("pub(super) static IDS: &str = concat!(\n")
        for i in range(0, len(table.ids), 8):
            out.write("    %s,\n" % ", ".join(json.dumps(x) for x in table.ids[i : i + 8]))
        out.write(");\n\n")
        out.write("/// Provider names, by number.\npub(super) static PROVIDERS: &[&str] = &[\n")
        for name in table.providers:
            out.write("    %s,\n" % json.dumps(name))
        out.write("];\n\n")
        out.write(
            "/// Price sets, by number - 1 (0 is \"no prices\"): input, output, cache read, cache\n"
            "/// creation, reasoning (NaN: not in the map), and a range of TIERS.\n"
            "pub(super) static PRICES: &[Prices] = &[\n"
        )
        for _, five, start, count in table.prices.values():
            out.write("p([%s], %d, %d),\n" % (", ".join(f64(v) for v in five), start, count))
        out.write("];\n\n/// Long-prompt tiers.\npub(super) static TIERS: &[PriceTier] = &[\n")
        for starts_at, i, o, r, c, reasoning in table.tiers:
            out.write("t(%d, %s, %s, %s, %s, %s),\n" % (starts_at, f64(i), f64(o), f64(r), f64(c), f64(reasoning)))
        out.write(
            "];\n\n/// Service-tier price sets: row, tier (flex, priority, batch), price set; by row.\n"
            "pub(super) static SERVICE: &[ServicePrices] = &[\n"
        )
        for row, kind, price in table.service:
            out.write("s(%d, %d, %d),\n" % (row, kind, price))
        out.write("];\n\n/// The entries, in id order.\npub(super) static ROWS: &[Row] = &[\n")
        for row in table.rows:
            out.write(row)
        out.write("];\n")
    assert len(ids.encode("utf-8")) == table.ids_len
    print("wrote %s: %d rows, %d price sets, %d tiers, %d service-tier prices" % (os.path.relpath(OUT, REPO), len(table.rows), len(table.prices), len(table.tiers), len(table.service)))


if __name__ == "__main__":
    main()
