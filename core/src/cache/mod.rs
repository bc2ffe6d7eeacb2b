//! The response cache: identical calls answered once — in this process's memory, or shared
//! by every process and machine pointing at one Redis.
//!
//! Pure like the rest of the core. This module computes the *key* of a call
//! ([`key`](self#keys)), holds the in-memory store ([`MemoryCache`]), and encodes what is
//! stored ([`entry`](self#entries)); the client layer ([`Engine`](crate::client::Engine))
//! looks calls up before sending and stores what succeeded, through the same
//! [shared store](crate::store) operations the router uses when the cache is on Redis.
//!
//! # Keys
//!
//! A key is `onellm:cache:[<namespace>:]<sha-256 hex>`. What is hashed is everything that
//! changes an answer and nothing that does not:
//!
//! - the target: the resolved `provider/model`, or the router group's name;
//! - the tenant: a one-way fingerprint of the settings the call would use for that target
//!   (key, base URL, headers, options and secrets of the provider; for a group, of every
//!   deployment) — two tenants asking the same thing never share an entry, and the key
//!   itself cannot be read back from it;
//! - the request in canonical JSON (keys sorted at every depth, integral numbers written as
//!   integers) without the fields that do not change the answer: `model` (replaced by the
//!   target), `fallback_models`, `retries`, `timeout`, `user`, `metadata`, `stream`,
//!   `stream_options` and `cache` itself. Messages, tools, tool choice, response format,
//!   temperature, top_p, max tokens, stop, seed, reasoning effort, `n` and every
//!   provider-specific field count.
//!
//! A streamed and a non-streamed call share their entries: a stream that misses is stored
//! as its final completion, and one that hits is replayed as chunks
//! ([`chunks_of`](crate::types::chunks_of)). Embeddings are cached per input text.
//!
//! # Entries
//!
//! The OpenAI-format JSON of the answer, with one extra top-level field,
//! `onellm_cached_at` (Unix milliseconds), for `s-maxage`. Only successful answers are
//! stored. An entry that does not parse is a miss.

mod entry;
mod key;
mod memory;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store::StoreConfig;

pub(crate) use self::entry::{decode, encode, Cached, Kind};
pub use self::key::canonical_json;
pub(crate) use self::key::{embedding_key, request_key, tenant_fingerprint, Tenant};
pub use self::memory::MemoryCache;

/// How long an entry lives unless the call or the configuration says otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);

/// Where a client's cache keeps its entries, and for how long.
#[derive(Clone, PartialEq)]
pub struct CacheSettings {
    /// In this process's memory, or in Redis.
    pub backend: CacheBackend,
    /// How long an entry lives (`ttl`; a call's own `ttl` beats it).
    pub ttl: Duration,
    /// Prefixes every key (`namespace`; a call's own beats it): separate caches in one Redis.
    pub namespace: Option<String>,
}

/// Where the entries live.
#[derive(Clone, PartialEq)]
pub enum CacheBackend {
    /// In memory, per client: at most `max_entries` entries and `max_bytes` bytes, the least
    /// recently used going first.
    Memory {
        /// The most entries kept.
        max_entries: usize,
        /// The most bytes the entries may take together (keys and stored answers).
        max_bytes: usize,
    },
    /// In Redis, shared by every client pointing at it.
    Redis(StoreConfig),
}

impl CacheSettings {
    /// A cache in memory: 1,000 entries and 64 MiB at most, entries living 10 minutes.
    pub fn memory() -> CacheSettings {
        CacheSettings {
            backend: CacheBackend::Memory {
                max_entries: 1_000,
                max_bytes: 64 << 20,
            },
            ttl: DEFAULT_TTL,
            namespace: None,
        }
    }

    /// A cache in the Redis at `url` (`redis://[user:password@]host:port[/db]`), entries
    /// living 10 minutes.
    pub fn redis(url: impl Into<String>) -> CacheSettings {
        CacheSettings {
            backend: CacheBackend::Redis(StoreConfig::redis(url)),
            ttl: DEFAULT_TTL,
            namespace: None,
        }
    }

    /// With entries living `ttl`.
    pub fn ttl(mut self, ttl: Duration) -> CacheSettings {
        self.ttl = ttl;
        self
    }

    /// With every key under `namespace`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> CacheSettings {
        self.namespace = Some(namespace.into());
        self
    }

    /// The Redis store it needs, if it is on Redis.
    pub fn store(&self) -> Option<&StoreConfig> {
        match &self.backend {
            CacheBackend::Redis(store) => Some(store),
            CacheBackend::Memory { .. } => None,
        }
    }
}

impl fmt::Debug for CacheSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match &self.backend {
            CacheBackend::Memory {
                max_entries,
                max_bytes,
            } => format!("memory ({max_entries} entries, {max_bytes} bytes)"),
            // The URL may hold a password.
            CacheBackend::Redis(_) => "redis".to_owned(),
        };
        f.debug_struct("CacheSettings")
            .field("backend", &backend)
            .field("ttl", &self.ttl)
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// A call's own cache controls, spelt as LiteLLM spells them (`"cache": {"no-cache": true}`
/// in the request's JSON, beside `fallback_models` and `retries`); never sent to a provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheControl {
    /// Do not answer from the cache (the fresh answer is still stored, unless `no-store`).
    #[serde(rename = "no-cache", default, skip_serializing_if = "is_false")]
    pub no_cache: bool,
    /// Do not store this call's answer.
    #[serde(rename = "no-store", default, skip_serializing_if = "is_false")]
    pub no_store: bool,
    /// How long this call's answer lives in the cache, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<f64>,
    /// Only answer from an entry stored at most this many seconds ago.
    #[serde(rename = "s-maxage", default, skip_serializing_if = "Option::is_none")]
    pub s_maxage: Option<f64>,
    /// This call's namespace (beats the client's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A duration from a number of seconds a caller gave, if it is one (finite, not negative).
pub(crate) fn seconds(value: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(value).ok()
}
