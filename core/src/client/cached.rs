//! The cache inside a client: what a call looks up before anything is sent, and what it
//! stores when it succeeded. Keys and entries are the [`cache`](crate::cache) module's; this
//! file decides when to read and write, in memory at once or in Redis through store
//! operations the drive loops run.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::cache::{
    decode, embedding_key, encode, request_key, seconds, CacheBackend, CacheSettings, Cached, Kind,
    MemoryCache, Tenant,
};
use crate::call::{Operation, Output};
use crate::error::Error;
use crate::store::{StoreOp, StoreReply};
use crate::types::{Embedding, EmbeddingInput, EmbeddingResponse};

/// An entry in memory: the answer and when it was stored (for `s-maxage`).
type Entry = (Cached, SystemTime);

/// A client's cache: its settings, and its entries when they are in memory.
pub(crate) struct Cache {
    settings: CacheSettings,
    memory: Option<Mutex<MemoryCache<Entry>>>,
}

impl Cache {
    pub(crate) fn new(settings: CacheSettings) -> Cache {
        let memory = match settings.backend {
            CacheBackend::Memory {
                max_entries,
                max_bytes,
            } => Some(Mutex::new(MemoryCache::new(max_entries, max_bytes))),
            CacheBackend::Redis(_) => None,
        };
        Cache { settings, memory }
    }

    pub(crate) fn settings(&self) -> &CacheSettings {
        &self.settings
    }

    fn memory(&self) -> Option<MutexGuard<'_, MemoryCache<Entry>>> {
        let memory = self.memory.as_ref()?;
        // Its updates are single operations on a map: a panic elsewhere cannot leave one
        // half made.
        Some(
            memory
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// What a call of `operation` to `target` (its resolved model, or its router group) by
    /// `tenant` does with the cache.
    pub(crate) fn plan(
        self: &Arc<Self>,
        operation: &Operation,
        target: &str,
        tenant: &Tenant,
    ) -> Option<Caching> {
        let control = operation.cache_control().cloned().unwrap_or_default();
        let namespace = control
            .namespace
            .as_deref()
            .or(self.settings.namespace.as_deref());
        let json = match operation {
            // A response may depend on state the provider keeps (`previous_response_id`,
            // `store`) and its events carry ids a replay could not honestly repeat: not
            // cached.
            Operation::Responses(_) => return None,
            Operation::Chat(request) => serde_json::to_value(request),
            Operation::Completions(request) => serde_json::to_value(request),
            Operation::Embeddings(request) => serde_json::to_value(request),
            // Media calls are not cached (see `types::media`).
            Operation::Media(_) => return None,
        }
        .ok()?;
        let lookup = match operation {
            Operation::Media(_) => return None,
            Operation::Chat(_) => Lookup::Whole {
                key: request_key("chat", json, target, tenant, namespace),
                kind: Kind::Chat,
            },
            Operation::Responses(_) => return None,
            Operation::Completions(_) => Lookup::Whole {
                key: request_key("completions", json, target, tenant, namespace),
                kind: Kind::Completions,
            },
            Operation::Embeddings(request) => {
                let inputs = inputs_of(&request.input);
                let keys = inputs
                    .iter()
                    .map(|input| embedding_key(&json, input, target, tenant, namespace))
                    .collect();
                Lookup::Embeddings(Pieces {
                    keys,
                    known: vec![None; inputs.len()],
                    asked: Vec::new(),
                })
            }
        };
        Some(Caching {
            cache: Arc::clone(self),
            lookup,
            read: !control.no_cache,
            write: !control.no_store,
            ttl: control.ttl.and_then(seconds).unwrap_or(self.settings.ttl),
            max_age: control.s_maxage.and_then(seconds),
            hit: None,
        })
    }
}

/// Each input of an embeddings request as JSON: one key per text (or token list).
fn inputs_of(input: &EmbeddingInput) -> Vec<Value> {
    match input {
        EmbeddingInput::One(text) => vec![Value::from(text.as_str())],
        EmbeddingInput::Many(texts) => texts
            .iter()
            .map(|text| Value::from(text.as_str()))
            .collect(),
        EmbeddingInput::Tokens(tokens) => vec![Value::from(tokens.clone())],
        EmbeddingInput::ManyTokens(lists) => lists
            .iter()
            .map(|tokens| Value::from(tokens.clone()))
            .collect(),
    }
}

/// What one call looks up and stores.
pub(crate) struct Caching {
    cache: Arc<Cache>,
    lookup: Lookup,
    /// Answer from the cache (not `no-cache`).
    pub read: bool,
    /// Store the answer (not `no-store`).
    write: bool,
    ttl: Duration,
    /// Only entries younger than this (`s-maxage`).
    max_age: Option<Duration>,
    /// Set when the cache answered the whole call.
    pub hit: Option<Hit>,
}

/// A call answered from the cache.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    /// What the answer cost when it was made (its `usage.cost` now says 0).
    pub original_cost: Option<f64>,
    pub stored_at: SystemTime,
}

enum Lookup {
    /// One entry for the whole answer (chat, completions).
    Whole { key: String, kind: Kind },
    /// One entry per input (embeddings).
    Embeddings(Pieces),
}

/// An embeddings call's inputs, and the vectors already known.
struct Pieces {
    keys: Vec<String>,
    known: Vec<Option<(Embedding, String)>>,
    /// The inputs (by position) the request sent asks for, once some were known.
    asked: Vec<usize>,
}

/// What a lookup found.
pub(crate) enum Found {
    /// Nothing usable: send the call as it is.
    Nothing,
    /// The whole answer (boxed: a lookup's result is moved around once).
    Answer(Box<Output>),
    /// Some inputs of an embeddings call: send only the others (the request is already
    /// narrowed to them).
    Part,
}

impl Caching {
    fn fresh(&self, stored_at: SystemTime, now: SystemTime) -> bool {
        let age = now.duration_since(stored_at).unwrap_or_default();
        self.max_age.is_none_or(|max_age| age <= max_age)
    }

    /// Looks the call up in memory (a cache in memory only), at `now`.
    pub(crate) fn look_in_memory(&mut self, operation: &mut Operation, now: SystemTime) -> Found {
        if !self.read {
            return Found::Nothing;
        }
        let Some(mut memory) = self.cache.memory() else {
            return Found::Nothing;
        };
        let values: Vec<Option<Entry>> = match &self.lookup {
            Lookup::Whole { key, .. } => vec![memory.get(key, now).cloned()],
            Lookup::Embeddings(pieces) => pieces
                .keys
                .iter()
                .map(|key| memory.get(key, now).cloned())
                .collect(),
        };
        drop(memory);
        self.found(values, operation, now)
    }

    /// The store operation that looks the call up in Redis, if it reads from Redis.
    pub(crate) fn lookup_op(&self) -> Option<StoreOp> {
        if !self.read || self.cache.memory.is_some() {
            return None;
        }
        Some(match &self.lookup {
            Lookup::Whole { key, .. } => StoreOp::get(key),
            Lookup::Embeddings(pieces) => StoreOp::get_many(&pieces.keys),
        })
    }

    /// What Redis answered the lookup. Garbage is an error (the store logs it once); the
    /// call then goes on as a miss.
    pub(crate) fn read_reply(
        &mut self,
        reply: &StoreReply,
        operation: &mut Operation,
        now: SystemTime,
    ) -> Result<Found, Error> {
        let replies: Vec<&StoreReply> = match (&self.lookup, reply) {
            (Lookup::Whole { .. }, reply) => vec![reply],
            (Lookup::Embeddings(pieces), StoreReply::Array(items))
                if items.len() == pieces.keys.len() =>
            {
                items.iter().collect()
            }
            (Lookup::Embeddings(_), other) => {
                return Err(Error::new(
                    crate::error::ErrorKind::Decode,
                    format!(
                        "the cache answered an MGET with {}",
                        crate::error::excerpt(format!("{other:?}").as_bytes())
                    ),
                ))
            }
        };
        let kind = match &self.lookup {
            Lookup::Whole { kind, .. } => *kind,
            Lookup::Embeddings(_) => Kind::Embedding,
        };
        let mut values = Vec::with_capacity(replies.len());
        for reply in replies {
            values.push(match reply {
                StoreReply::Nil => None,
                StoreReply::Bytes(bytes) => Some(decode(bytes, kind)?),
                other => {
                    return Err(Error::new(
                        crate::error::ErrorKind::Decode,
                        format!(
                            "the cache answered a lookup with {}",
                            crate::error::excerpt(format!("{other:?}").as_bytes())
                        ),
                    ))
                }
            });
        }
        Ok(self.found(values, operation, now))
    }

    /// Makes the lookup's result out of the entries found (with their storage times).
    fn found(
        &mut self,
        values: Vec<Option<Entry>>,
        operation: &mut Operation,
        now: SystemTime,
    ) -> Found {
        let values: Vec<Option<Entry>> = values
            .into_iter()
            .map(|value| value.filter(|(_, stored_at)| self.fresh(*stored_at, now)))
            .collect();
        match &mut self.lookup {
            Lookup::Whole { .. } => {
                let Some(Some((cached, stored_at))) = values.into_iter().next() else {
                    return Found::Nothing;
                };
                let (output, original_cost) = match cached {
                    Cached::Chat(mut completion) => {
                        let original = completion
                            .usage
                            .as_mut()
                            .and_then(|usage| usage.cost.replace(0.0));
                        (Output::Chat(completion), original)
                    }
                    Cached::Completions(mut response) => {
                        let original = response
                            .usage
                            .as_mut()
                            .and_then(|usage| usage.cost.replace(0.0));
                        (Output::Completions(response), original)
                    }
                    Cached::Embedding { .. } => return Found::Nothing,
                };
                self.hit = Some(Hit {
                    original_cost,
                    stored_at,
                });
                Found::Answer(Box::new(output))
            }
            Lookup::Embeddings(pieces) => {
                for (slot, value) in pieces.known.iter_mut().zip(values) {
                    if let Some((Cached::Embedding { embedding, model }, _)) = value {
                        *slot = Some((embedding, model));
                    }
                }
                let missing: Vec<usize> = pieces
                    .known
                    .iter()
                    .enumerate()
                    .filter(|(_, known)| known.is_none())
                    .map(|(position, _)| position)
                    .collect();
                if missing.len() == pieces.known.len() {
                    return Found::Nothing;
                }
                if missing.is_empty() {
                    let response = assemble(pieces, None);
                    self.hit = Some(Hit {
                        original_cost: None,
                        stored_at: now,
                    });
                    return Found::Answer(Box::new(Output::Embeddings(response)));
                }
                // Send only what is missing.
                if let Operation::Embeddings(request) = operation {
                    request.input = narrowed(&request.input, &missing);
                }
                pieces.asked = missing;
                Found::Part
            }
        }
    }

    /// An embeddings answer for the inputs asked, with the known ones put back in their
    /// places. Other outputs pass through.
    pub(crate) fn complete(&mut self, output: Output) -> Output {
        match (&mut self.lookup, output) {
            (Lookup::Embeddings(pieces), Output::Embeddings(fresh)) if !pieces.asked.is_empty() => {
                let response = fresh;
                Output::Embeddings(assemble(pieces, Some(response)))
            }
            (_, output) => output,
        }
    }

    /// Stores nothing, whatever the call's controls said (an answer without its text).
    pub(crate) fn skip_store(&mut self) {
        self.write = false;
    }

    /// What to store of a successful (and [completed](Self::complete)) `output` at `now`:
    /// in memory at once (nothing back), or the Redis operations that store it. Nothing for a call the cache answered, a
    /// `no-store` call, or an output that does not encode.
    pub(crate) fn store(&mut self, output: &Output, now: SystemTime) -> Vec<StoreOp> {
        if !self.write || self.hit.is_some() {
            return Vec::new();
        }
        let entries: Vec<(String, Cached)> = match (&self.lookup, output) {
            (Lookup::Whole { key, .. }, Output::Chat(completion)) => {
                vec![(key.clone(), Cached::Chat(completion.clone()))]
            }
            (Lookup::Whole { key, .. }, Output::Completions(response)) => {
                vec![(key.clone(), Cached::Completions(response.clone()))]
            }
            // The completed response: `index` is each input's position; the inputs that
            // came from the cache are not stored again.
            (Lookup::Embeddings(pieces), Output::Embeddings(response)) => response
                .data
                .iter()
                .filter_map(|embedding| {
                    let position = usize::try_from(embedding.index).ok()?;
                    if pieces.known.get(position)?.is_some() {
                        return None;
                    }
                    let key = pieces.keys.get(position)?;
                    Some((
                        key.clone(),
                        Cached::Embedding {
                            embedding: embedding.clone(),
                            model: response.model.clone(),
                        },
                    ))
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut ops = Vec::new();
        for (key, cached) in entries {
            let Ok(bytes) = encode(&cached, now) else {
                continue;
            };
            match self.cache.memory() {
                Some(mut memory) => {
                    let expires = now.checked_add(self.ttl).unwrap_or(now);
                    memory.insert(key, (cached, now), bytes.len(), expires, now);
                }
                None => ops.push(StoreOp::set_for(&key, bytes, self.ttl)),
            }
        }
        ops
    }
}

/// `input` with only the items at `positions`.
fn narrowed(input: &EmbeddingInput, positions: &[usize]) -> EmbeddingInput {
    match input {
        EmbeddingInput::Many(texts) => EmbeddingInput::Many(
            positions
                .iter()
                .filter_map(|&at| texts.get(at).cloned())
                .collect(),
        ),
        EmbeddingInput::ManyTokens(lists) => EmbeddingInput::ManyTokens(
            positions
                .iter()
                .filter_map(|&at| lists.get(at).cloned())
                .collect(),
        ),
        // One input: narrowing it leaves it whole (it is missing, or the call was answered).
        other => other.clone(),
    }
}

/// The response for every input: the known vectors and, for the inputs asked, `fresh`'s
/// (its `index` counts within what was asked), each with its position as `index`.
fn assemble(pieces: &mut Pieces, fresh: Option<EmbeddingResponse>) -> EmbeddingResponse {
    let mut response = fresh.unwrap_or_else(|| EmbeddingResponse {
        object: "list".to_owned(),
        data: Vec::new(),
        model: String::new(),
        usage: None,
        extra: Default::default(),
        report: Default::default(),
    });
    let mut data = Vec::with_capacity(pieces.known.len());
    let mut model = String::new();
    for (position, known) in pieces.known.iter().enumerate() {
        if let Some((embedding, cached_model)) = known {
            let mut embedding = embedding.clone();
            embedding.index = u32::try_from(position).unwrap_or(u32::MAX);
            data.push(embedding);
            if model.is_empty() {
                model.clone_from(cached_model);
            }
            continue;
        }
        let asked = pieces.asked.iter().position(|&at| at == position);
        let found = asked.and_then(|asked| {
            response
                .data
                .iter()
                .find(|embedding| usize::try_from(embedding.index).ok() == Some(asked))
                .cloned()
        });
        if let Some(mut embedding) = found {
            embedding.index = u32::try_from(position).unwrap_or(u32::MAX);
            data.push(embedding);
        }
    }
    if response.model.is_empty() {
        response.model = model;
    }
    response.data = data;
    response
}
