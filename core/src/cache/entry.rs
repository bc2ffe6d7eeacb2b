//! What the cache stores for an answer, and how it is read back: the OpenAI-format JSON of
//! the answer plus `onellm_cached_at` (see the [module docs](super#entries)).

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::types::{ChatCompletion, CompletionResponse, Embedding};

/// The largest entry read back: a stored value larger than this is not an answer of ours.
const MAX_ENTRY_BYTES: usize = 32 << 20;

/// The field that says when an entry was stored (Unix milliseconds).
const CACHED_AT: &str = "onellm_cached_at";

/// One cached answer.
#[derive(Debug, Clone)]
pub(crate) enum Cached {
    Chat(ChatCompletion),
    Completions(CompletionResponse),
    /// One input's embedding, and the model that made it.
    Embedding {
        embedding: Embedding,
        model: String,
    },
}

/// Which kind of answer a lookup expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Chat,
    Completions,
    Embedding,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Chat => "chat",
            Kind::Completions => "completions",
            Kind::Embedding => "embedding",
        }
    }
}

/// `cached` as stored, stamped `stored_at`.
pub(crate) fn encode(cached: &Cached, stored_at: SystemTime) -> Result<Vec<u8>, Error> {
    let mut value = match cached {
        Cached::Chat(completion) => serde_json::to_value(completion),
        Cached::Completions(response) => serde_json::to_value(response),
        Cached::Embedding { embedding, model } => {
            serde_json::to_value(embedding).map(|mut value| {
                if let Value::Object(fields) = &mut value {
                    fields.insert("model".to_owned(), Value::String(model.clone()));
                }
                value
            })
        }
    }
    .map_err(|error| {
        Error::new(
            ErrorKind::Decode,
            format!("cannot encode a cache entry: {error}"),
        )
    })?;
    let millis = stored_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    if let Value::Object(fields) = &mut value {
        fields.insert(CACHED_AT.to_owned(), Value::from(millis));
    }
    serde_json::to_vec(&value).map_err(|error| {
        Error::new(
            ErrorKind::Decode,
            format!("cannot encode a cache entry: {error}"),
        )
    })
}

/// An entry read back as an answer of `kind`, and when it was stored. Anything else — too large, not JSON, another kind — is a `Decode` error quoting
/// a bounded excerpt: the lookup counts it as a miss.
pub(crate) fn decode(bytes: &[u8], kind: Kind) -> Result<(Cached, SystemTime), Error> {
    let refused = |why: String| {
        Error::new(
            ErrorKind::Decode,
            format!(
                "a {} cache entry {why}: {}",
                kind.name(),
                crate::error::excerpt(bytes)
            ),
        )
    };
    if bytes.len() > MAX_ENTRY_BYTES {
        return Err(refused(format!(
            "of {} bytes is larger than any answer",
            bytes.len()
        )));
    }
    let mut value: Value =
        serde_json::from_slice(bytes).map_err(|error| refused(format!("is not JSON ({error})")))?;
    let stored_at = match &mut value {
        Value::Object(fields) => fields
            .remove(CACHED_AT)
            .and_then(|millis| millis.as_u64())
            .map(|millis| SystemTime::UNIX_EPOCH + Duration::from_millis(millis)),
        _ => None,
    }
    .ok_or_else(|| refused(format!("has no {CACHED_AT}")))?;
    let not = |error: serde_json::Error| refused(format!("does not parse ({error})"));
    let cached = match kind {
        Kind::Chat => Cached::Chat(serde_json::from_value(value).map_err(not)?),
        Kind::Completions => Cached::Completions(serde_json::from_value(value).map_err(not)?),
        Kind::Embedding => {
            let model = match &mut value {
                Value::Object(fields) => fields.remove("model"),
                _ => None,
            };
            let model = model
                .and_then(|model| model.as_str().map(str::to_owned))
                .unwrap_or_default();
            Cached::Embedding {
                embedding: serde_json::from_value(value).map_err(not)?,
                model,
            }
        }
    };
    Ok((cached, stored_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion() -> ChatCompletion {
        serde_json::from_str(
            r#"{"id":"c","object":"chat.completion","created":1,"model":"gpt-4o",
            "choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2,"cost":0.5}}"#,
        )
        .unwrap()
    }

    #[test]
    fn entries_round_trip_with_their_time() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let bytes = encode(&Cached::Chat(completion()), at).unwrap();
        let (back, stored_at) = decode(&bytes, Kind::Chat).unwrap();
        assert_eq!(stored_at, at);
        let Cached::Chat(back) = back else {
            panic!("a chat entry")
        };
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(completion()).unwrap()
        );
    }

    #[test]
    fn garbage_is_a_bounded_decode_error() {
        let like = Kind::Chat;
        for bytes in [
            &b"\xff\xfe not json"[..],
            b"{\"id\": 1}",
            b"[]",
            &[b'x'; 100_000][..],
        ] {
            let error = decode(bytes, like).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Decode);
            assert!(error.message().len() < 700, "{}", error.message());
        }
    }
}
