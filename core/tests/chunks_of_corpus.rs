//! `chunks_of` (what a cache hit streams) over recorded OpenAI-format completions from the
//! shared corpus: the chunks fold back, with a fresh accumulator, into a completion with the
//! same id, model, text, tool calls, finish reasons and usage, and folding is a fixed point
//! (the folded completion's chunks fold to it again). The exact field-by-field round trip,
//! with the exceptions listed on `chunks_of`, is the unit tests' (`core/src/types/replay.rs`).
//!
//! The corpus lives outside the repository (`../../shared/corpus` from this crate, or
//! `$ONELLM_CORPUS`); when it is absent the test says so and passes.

use std::path::PathBuf;

use onellm_core::{chunks_of, ChatCompletion, ChunkAccumulator};
use serde_json::Value;

fn fold(completion: &ChatCompletion) -> ChatCompletion {
    let mut accumulator = ChunkAccumulator::new();
    for chunk in chunks_of(completion) {
        // Through the chunk's JSON, as a stream would carry it.
        let text = serde_json::to_string(&chunk).unwrap();
        accumulator.push(&serde_json::from_str(&text).unwrap());
    }
    accumulator.completion()
}

/// What a reader of the completion sees, choice by choice (by index).
fn seen(completion: &ChatCompletion) -> Value {
    let mut choices: Vec<_> = completion.choices.iter().collect();
    choices.sort_by_key(|choice| choice.index);
    let choices: Vec<Value> = choices
        .into_iter()
        .map(|choice| {
            let calls = choice.message.tool_calls.as_deref().unwrap_or_default();
            serde_json::json!({
                "index": choice.index,
                "text": choice.message.content.as_ref().map(|c| c.text()).unwrap_or_default(),
                "tool_calls": serde_json::to_value(calls).unwrap(),
                "finish_reason": serde_json::to_value(&choice.finish_reason).unwrap(),
            })
        })
        .collect();
    serde_json::json!({
        "id": completion.id,
        "model": completion.model,
        "created": completion.created,
        "usage": serde_json::to_value(&completion.usage).unwrap(),
        "choices": choices,
    })
}

#[test]
fn recorded_completions_fold_back_from_their_chunks() {
    let root = std::env::var_os("ONELLM_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
        })
        .join("replay");
    let Ok(manifest) = std::fs::read_to_string(root.join("manifest.jsonl")) else {
        println!("corpus not found at {}; skipping", root.display());
        return;
    };
    let mut checked = 0;
    for line in manifest.lines().filter(|line| !line.trim().is_empty()) {
        let entry: Value = serde_json::from_str(line).unwrap();
        let wanted =
            entry["endpoint"] == "chat" && entry["stream"] == false && entry["status"] == 200;
        let Some(file) = entry["file"].as_str().filter(|_| wanted) else {
            continue;
        };
        let Ok(body) = std::fs::read_to_string(root.join(file)) else {
            continue;
        };
        // Native formats (Anthropic, Gemini, …) would parse too, all in `extra`: only
        // OpenAI-format bodies say what they are.
        match serde_json::from_str::<Value>(&body) {
            Ok(value) if value["object"] == "chat.completion" => {}
            _ => continue,
        }
        let Ok(original) = serde_json::from_str::<ChatCompletion>(&body) else {
            continue;
        };
        let folded = fold(&original);
        assert_eq!(seen(&folded), seen(&original), "{file}");
        assert_eq!(
            serde_json::to_value(fold(&folded)).unwrap(),
            serde_json::to_value(&folded).unwrap(),
            "{file}: folding again changed it"
        );
        checked += 1;
    }
    println!("{checked} recorded completions folded back from their chunks");
    assert!(
        checked > 0,
        "the corpus at {} has no OpenAI-format completion",
        root.display()
    );
}
