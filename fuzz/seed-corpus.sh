#!/usr/bin/env bash
# Builds starting corpora for the fuzz targets from the committed seeds and the recorded
# provider responses in ../shared/corpus (copied into fuzz/corpus/, which git ignores: the
# shared recordings are never committed here).
set -euo pipefail
cd "$(dirname "$0")"
shared="${ONELLM_CORPUS:-../../shared/corpus}"
for dir in seeds/*/; do
  target=$(basename "$dir")
  mkdir -p "corpus/$target"
  cp "$dir"* "corpus/$target/"
done
if [ -f "$shared/replay/manifest.jsonl" ]; then
  python3 - "$shared" <<'PY'
import json, os, sys
shared = sys.argv[1]
# chat_stream indexes STREAM_PROVIDERS (responses_bridges twice that), parse_response the longer
# ALL_PROVIDERS (harness/src/lib.rs).
family = {"openai": 0, "anthropic": 1, "groq": 2, "mistral": 3, "cohere": 4, "google": 6, "vertex": 7, "bedrock": 8}
whole = {"openai": 0, "anthropic": 1, "groq": 2, "mistral": 3, "openrouter": 4, "ollama": 5, "cohere": 6, "google": 8, "vertex": 9, "bedrock": 10}
for line in open(os.path.join(shared, "replay/manifest.jsonl")):
    entry = json.loads(line)
    body = open(os.path.join(shared, "replay", entry["file"]), "rb").read()
    name = os.path.basename(entry["file"])
    provider = entry["provider"]
    if provider not in family and provider not in whole:
        continue
    if entry["stream"] and provider in family:
        for target in ("chat_stream",):
            open(f"corpus/{target}/{name}", "wb").write(bytes([family[provider]]) + body)
        # responses_bridges: even first bytes pick a provider's Responses stream decoder,
        # odd ones chat over (OpenAI's) Responses events.
        os.makedirs("corpus/responses_bridges", exist_ok=True)
        open(f"corpus/responses_bridges/{name}", "wb").write(bytes([2 * family[provider]]) + body)
        if entry["endpoint"] == "responses":
            open(f"corpus/responses_bridges/chat-{name}", "wb").write(b"\x01" + body)
        framing = "eventstream_decoder" if provider == "bedrock" else "sse_decoder"
        open(f"corpus/{framing}/{name}", "wb").write(b"\x07" + body)
    elif not entry["stream"] and provider in whole:
        status = (entry["status"] - 100) % 500
        open(f"corpus/parse_response/{name}", "wb").write(bytes([whole[provider]]) + status.to_bytes(2, "big") + body)
PY
  echo "corpora built from $shared and seeds/"
else
  echo "no shared corpus at $shared; corpora hold the committed seeds only"
fi
