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


def opt(value):
    return "None" if value is None else "Some(%r)" % value


def threshold(key):
    """`input_cost_per_token_above_200k_tokens` -> 200000; None for other keys."""
    head = "input_cost_per_token_above_"
    if not key.startswith(head) or not key.endswith("_tokens"):
        return None
    text = key[len(head) : -len("_tokens")]
    scale = 1000 if text.endswith("k") else 1
    text = text[:-1] if text.endswith("k") else text
    return int(text) * scale if text.isdigit() else None


def prices(entry, inclusive):
    base = number(entry.get("input_cost_per_token"))
    if base is None:
        return "None"
    output = number(entry.get("output_cost_per_token")) or 0.0
    tiers = []
    for key in entry:
        above = threshold(key)
        if above is None or number(entry[key]) is None:
            continue
        suffix = "_above_%s_tokens" % key[len("input_cost_per_token_above_") : -len("_tokens")]
        starts_at = above if inclusive else above + 1
        tiers.append(
            (
                starts_at,
                number(entry[key]),
                number(entry.get("output_cost_per_token" + suffix)),
                number(entry.get("cache_read_input_token_cost" + suffix)),
                number(entry.get("cache_creation_input_token_cost" + suffix)),
            )
        )
    tiers.sort()
    tier_text = "".join("t(%d, %s, %s, %s, %s), " % (s, opt(i), opt(o), opt(r), opt(c)) for s, i, o, r, c in tiers)
    return "Some(p(%r, %r, %s, %s, %s, &[%s]))" % (
        base,
        output,
        opt(number(entry.get("cache_read_input_token_cost"))),
        opt(number(entry.get("cache_creation_input_token_cost"))),
        opt(number(entry.get("output_cost_per_reasoning_token"))),
        tier_text.rstrip(", "),
    )


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MAP
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    rows = {}
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
        if model_id in rows:
            continue  # first in key order wins, as in from_json
        flags = 0
        for bit, flag in enumerate(FLAGS):
            if entry.get("supports_" + flag) is True:
                flags |= 1 << bit
        rows[model_id] = "r(%s, %s, %s, %s, %s, %s, %s, %s),\n" % (
            json.dumps(model_id),
            json.dumps(provider),
            "true" if bare else "false",
            mode,
            opt(tokens(entry.get("max_input_tokens"))),
            opt(tokens(entry.get("max_output_tokens"))),
            prices(entry, inclusive=litellm == "xai"),
            "0x%04x" % flags,
        )
    source = os.path.basename(path)
    with open(OUT, "w", encoding="utf-8") as out:
        out.write(
            "// @generated by core/catalog/generate.py from LiteLLM's %s (%d entries kept).\n"
            "// Do not edit: run `python3 core/catalog/generate.py [map.json]` to regenerate.\n"
            "// Prices from LiteLLM's model map (MIT License, copyright Berri AI).\n\n"
            "use super::builtin::{p, r, t, Row};\n"
            "use super::Mode::*;\n\n"
            "#[rustfmt::skip]\n"
            "pub(super) static ROWS: &[Row] = &[\n" % (source, len(rows))
        )
        for row in rows.values():
            out.write(row)
        out.write("];\n")
    print("wrote %s: %d rows" % (os.path.relpath(OUT, REPO), len(rows)))


if __name__ == "__main__":
    main()
