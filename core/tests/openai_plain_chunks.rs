//! The OpenAI stream decoder reads the plain chunk shape without serde
//! (`core/src/provider/openai/plain_chunk.rs`); it must read every such chunk exactly as
//! serde does. Checked here on the recorded OpenAI-family streams of the shared corpus, in
//! any build (debug builds also compare the two inside the decoder on every chunk), and by
//! the `openai_chunk` fuzz target on made-up input.

use std::path::PathBuf;

use onellm_core::{ChatCompletionChunk, ModelId, Registry};

/// Providers whose streams are OpenAI's chunks.
const FAMILY: [&str; 6] = [
    "openai",
    "groq",
    "openrouter",
    "deepseek",
    "mistral",
    "together",
];

/// What OpenAI's decoder makes of one event carrying `data`: its first item.
fn decoded(data: &str) -> Option<ChatCompletionChunk> {
    let registry = Registry::from_lookup(|name| {
        name.ends_with("_API_KEY")
            .then(|| "sk-corpus-replay-dummy".to_owned())
    });
    let provider = registry
        .resolve(&ModelId::parse("openai/m").expect("a model id"))
        .expect("the openai adapter");
    let mut decoder = provider.chat_stream_decoder("m");
    decoder.push(format!("data: {data}\n\ndata: [DONE]\n\n").as_bytes());
    decoder.finish();
    decoder.next_chunk()?.ok()
}

#[test]
fn recorded_plain_chunks_decode_as_serde_reads_them() {
    let root = std::env::var_os("ONELLM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus").into());
    let Ok(manifest) = std::fs::read_to_string(root.join("replay/manifest.jsonl")) else {
        println!("corpus not found at {}; skipping", root.display());
        return;
    };
    let (mut chunks, mut plain) = (0, 0);
    for line in manifest.lines().filter(|line| !line.trim().is_empty()) {
        let entry: serde_json::Value = serde_json::from_str(line).expect("a manifest line");
        let openai_chat = entry["stream"] == true
            && entry["endpoint"] == "chat"
            && FAMILY.iter().any(|name| entry["provider"] == *name);
        let Some(file) = entry["file"].as_str().filter(|_| openai_chat) else {
            continue;
        };
        let body = std::fs::read_to_string(root.join("replay").join(file)).expect("a body");
        for data in body.lines().filter_map(|line| line.strip_prefix("data:")) {
            let data = data.trim();
            let Ok(expected) = serde_json::from_str::<ChatCompletionChunk>(data) else {
                continue;
            };
            chunks += 1;
            // Chunks with extension fields go to serde and are normalized after it.
            let has_extra = !expected.extra.is_empty()
                || expected
                    .choices
                    .iter()
                    .any(|choice| !choice.extra.is_empty() || !choice.delta.extra.is_empty());
            if has_extra {
                continue;
            }
            plain += 1;
            assert_eq!(decoded(data), Some(expected), "{file}: {data}");
        }
    }
    println!("{plain} of {chunks} recorded OpenAI-family chunks have the plain shape");
    assert!(chunks > 0, "no OpenAI-family chat stream in the corpus");
    assert!(
        plain * 4 > chunks,
        "only {plain} of {chunks} chunks were compared"
    );
}
