//! Cache keys: the canonical form of a request, and the fingerprint of who asks. The rules
//! are in the [module docs](super#keys).

use std::fmt::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::settings::ProviderSettings;

/// Request fields that do not change the answer: left out of the key.
const NOT_SEMANTIC: [&str; 9] = [
    "model",
    "fallback_models",
    "retries",
    "timeout",
    "user",
    "metadata",
    "stream",
    "stream_options",
    "cache",
];

/// A one-way fingerprint of the settings a call would use: what keeps tenants apart.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Tenant([u8; 32]);

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tenant([fingerprint])")
    }
}

/// The fingerprint of the settings of each `(provider, settings)` a call may use, in the
/// order given (a group's deployments in configuration order).
pub(crate) fn tenant_fingerprint<'a>(
    providers: impl IntoIterator<Item = (&'a str, Option<&'a ProviderSettings>)>,
) -> Tenant {
    let mut hash = Sha256::new();
    // Every field is length-prefixed, so no two different settings hash the same text.
    let mut field = |text: &str| {
        hash.update((text.len() as u64).to_le_bytes());
        hash.update(text.as_bytes());
    };
    for (provider, settings) in providers {
        field(provider);
        let Some(settings) = settings else {
            field("-");
            continue;
        };
        field(settings.api_key.as_ref().map_or("", |key| key.expose()));
        field(settings.base_url.as_deref().unwrap_or(""));
        for (name, value) in &settings.headers {
            field(name);
            field(value);
        }
        field("|options");
        for (name, value) in &settings.options {
            field(name);
            field(value);
        }
        field("|secrets");
        for (name, value) in &settings.secrets {
            field(name);
            field(value.expose());
        }
    }
    Tenant(hash.finalize().into())
}

/// The key of a call of `kind` (`chat`, `completions`) with `request` (its JSON) to
/// `target`, for `tenant`, under `namespace`.
pub(crate) fn request_key(
    kind: &str,
    mut request: Value,
    target: &str,
    tenant: &Tenant,
    namespace: Option<&str>,
) -> String {
    if let Value::Object(fields) = &mut request {
        for name in NOT_SEMANTIC {
            fields.remove(name);
        }
    }
    key_of(kind, &request, target, tenant, namespace)
}

/// The key of one input of an embeddings call: `request` without its `input`, and `input`.
pub(crate) fn embedding_key(
    request: &Value,
    input: &Value,
    target: &str,
    tenant: &Tenant,
    namespace: Option<&str>,
) -> String {
    let mut request = request.clone();
    if let Value::Object(fields) = &mut request {
        for name in NOT_SEMANTIC {
            fields.remove(name);
        }
        fields.insert("input".to_owned(), input.clone());
    }
    key_of("embedding", &request, target, tenant, namespace)
}

fn key_of(
    kind: &str,
    request: &Value,
    target: &str,
    tenant: &Tenant,
    namespace: Option<&str>,
) -> String {
    let mut hash = Sha256::new();
    hash.update(b"onellm-cache-v1\n");
    hash.update(kind.as_bytes());
    hash.update(b"\n");
    hash.update(target.as_bytes());
    hash.update(b"\n");
    hash.update(tenant.0);
    hash.update(b"\n");
    hash.update(canonical_json(request).as_bytes());
    let digest = hash.finalize();
    let mut key = String::with_capacity(16 + namespace.map_or(0, |n| n.len() + 1) + 64);
    key.push_str("onellm:cache:");
    if let Some(namespace) = namespace {
        key.push_str(namespace);
        key.push(':');
    }
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(key, "{byte:02x}");
    }
    key
}

/// `value` as canonical JSON: object keys sorted at every depth, no whitespace, and every
/// number with an integral value (within ±2⁵³) written as an integer — so key order and
/// number formatting in a request's JSON (`1`, `1.0`, `1e0`) do not change its cache key.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(fields) => {
            let mut names: Vec<&String> = fields.keys().collect();
            names.sort();
            out.push('{');
            for (position, name) in names.into_iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_string(name, out);
                out.push(':');
                if let Some(field) = fields.get(name) {
                    write_canonical(field, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::String(text) => write_string(text, out),
        Value::Number(number) => {
            const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
            match (number.as_i64(), number.as_u64(), number.as_f64()) {
                (Some(whole), _, _) => {
                    let _ = write!(out, "{whole}");
                }
                (None, Some(whole), _) => {
                    let _ = write!(out, "{whole}");
                }
                (None, None, Some(float)) if float.fract() == 0.0 && float.abs() < EXACT => {
                    // `-0.0` is 0 too.
                    let _ = write!(out, "{}", float as i64);
                }
                _ => out.push_str(&number.to_string()),
            }
        }
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
    }
}

fn write_string(text: &str, out: &mut String) {
    // serde_json's escaping is canonical: one spelling per string.
    out.push_str(&Value::String(text.to_owned()).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn tenant() -> Tenant {
        tenant_fingerprint([("openai", None)])
    }

    fn key(request: Value) -> String {
        request_key("chat", request, "openai/gpt-4o", &tenant(), None)
    }

    #[test]
    fn order_and_number_spelling_do_not_matter() {
        let a: Value = serde_json::from_str(
            r#"{"messages":[{"role":"user","content":"hi"}],"temperature":1,"extra":{"b":2,"a":1.0}}"#,
        )
        .unwrap();
        let b: Value = serde_json::from_str(
            r#"{"extra":{"a":1,"b":2e0},"temperature":1.0,"messages":[{"content":"hi","role":"user"}]}"#,
        )
        .unwrap();
        assert_eq!(key(a), key(b));
        assert_eq!(
            canonical_json(&json!({"b": [1.5, -0.0], "a": null})),
            r#"{"a":null,"b":[1.5,0]}"#
        );
    }

    /// Found by the `cache_replay` fuzz target (`fuzz/seeds/cache_replay/crash-numbers-at-
    /// the-edges.json`): without serde_json's `float_roundtrip`, `-1e-30` read back from its
    /// canonical text as `-9.999999999999999e-31`, and the two spellings of one number below
    /// made two keys.
    #[test]
    fn numbers_read_exactly_so_canonical_text_is_a_fixed_point() {
        let spellings = ["1e-30", "0.000000000000000000000000000001", "10e-31"];
        let texts: Vec<String> = spellings
            .iter()
            .map(|text| canonical_json(&serde_json::from_str(text).unwrap()))
            .collect();
        assert!(texts.iter().all(|text| *text == texts[0]), "{texts:?}");
        for text in [
            "[-1e-30,1844674407370950,18446744073709551616]",
            "0.1",
            "-2.5e-308",
        ] {
            let once = canonical_json(&serde_json::from_str(text).unwrap());
            let twice = canonical_json(&serde_json::from_str(&once).unwrap());
            assert_eq!(once, twice, "{text}");
        }
    }

    #[test]
    fn tenants_targets_kinds_and_namespaces_are_kept_apart() {
        let request = json!({"messages": [{"role": "user", "content": "hi"}]});
        let base = key(request.clone());
        let keyed = |key: &str| ProviderSettings {
            api_key: Some(crate::ApiKey::new(key)),
            ..Default::default()
        };
        let a = tenant_fingerprint([("openai", Some(&keyed("sk-a")))]);
        let b = tenant_fingerprint([("openai", Some(&keyed("sk-b")))]);
        assert_ne!(a, b);
        let with =
            |tenant: &Tenant| request_key("chat", request.clone(), "openai/gpt-4o", tenant, None);
        assert_ne!(with(&a), with(&b));
        assert_ne!(
            base,
            request_key(
                "chat",
                request.clone(),
                "openai/gpt-4o-mini",
                &tenant(),
                None
            )
        );
        assert_ne!(
            base,
            request_key(
                "completions",
                request.clone(),
                "openai/gpt-4o",
                &tenant(),
                None
            )
        );
        let spaced = request_key("chat", request, "openai/gpt-4o", &tenant(), Some("evals"));
        assert!(spaced.starts_with("onellm:cache:evals:"), "{spaced}");
        assert!(base.starts_with("onellm:cache:") && base.len() == 13 + 64);
        assert!(!format!("{a:?}").contains("sk-"));
    }

    /// A request with every semantic field set, as JSON.
    fn full_request() -> Value {
        json!({
            "model": "openai/gpt-4o",
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.5, "top_p": 0.9, "max_tokens": 100, "max_completion_tokens": 90,
            "stop": ["x"], "n": 1, "seed": 7, "presence_penalty": 0.1, "frequency_penalty": 0.2,
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
            "tool_choice": "auto", "response_format": {"type": "json_object"},
            "reasoning_effort": "low", "logprobs": true, "top_logprobs": 2,
            "parallel_tool_calls": false, "service_tier": "flex", "provider_option": {"k": 1},
        })
    }

    const SEMANTIC: [&str; 19] = [
        "messages",
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "n",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "tools",
        "tool_choice",
        "response_format",
        "reasoning_effort",
        "logprobs",
        "top_logprobs",
        "parallel_tool_calls",
        "service_tier",
        "provider_option",
    ];

    /// `value` with its object keys in an order given by `seed` (serde_json keeps
    /// insertion order only with `preserve_order`; the canonical form must not care).
    fn shuffled(value: &Value, seed: u64) -> Value {
        match value {
            Value::Object(fields) => {
                let mut entries: Vec<(&String, &Value)> = fields.iter().collect();
                let len = entries.len().max(1);
                entries.rotate_left((seed as usize) % len);
                if seed % 2 == 1 {
                    entries.reverse();
                }
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(name, field)| (name.clone(), shuffled(field, seed / 2)))
                        .collect(),
                )
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|item| shuffled(item, seed)).collect())
            }
            other => other.clone(),
        }
    }

    proptest! {
        #[test]
        fn the_key_ignores_order_and_non_semantic_fields_and_follows_semantic_ones(
            seed in any::<u64>(),
            user in "[a-z]{0,8}",
            retries in 0u32..5,
            stream in any::<bool>(),
            field in 0usize..19,
            nudge in 1i64..1000,
        ) {
            let base = key(full_request());
            // Reordered, and with every non-semantic field set to something: same key.
            let mut noisy = shuffled(&full_request(), seed);
            if let Value::Object(fields) = &mut noisy {
                fields.insert("user".into(), json!(user));
                fields.insert("retries".into(), json!(retries));
                fields.insert("stream".into(), json!(stream));
                fields.insert("stream_options".into(), json!({"include_usage": true}));
                fields.insert("fallback_models".into(), json!(["anthropic/claude"]));
                fields.insert("timeout".into(), json!(30));
                fields.insert("metadata".into(), json!({"trace": user}));
                fields.insert("cache".into(), json!({"no-store": true}));
                fields.insert("model".into(), json!("anything"));
            }
            prop_assert_eq!(key(noisy), base.clone());
            // Any semantic field changed: another key.
            let mut changed = full_request();
            if let Value::Object(fields) = &mut changed {
                let name = SEMANTIC[field];
                let old = fields.get(name).cloned().unwrap_or(Value::Null);
                fields.insert(name.to_owned(), json!([old, nudge]));
            }
            prop_assert_ne!(key(changed), base.clone());
            // And one removed.
            let mut removed = full_request();
            if let Value::Object(fields) = &mut removed {
                fields.remove(SEMANTIC[field]);
            }
            prop_assert_ne!(key(removed), base);
        }
    }
}
