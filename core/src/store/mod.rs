//! The shared store: state that several processes — or machines — share through one Redis,
//! so that they keep one rate limit and see one cooldown (the [router](crate::router)'s
//! counters today).
//!
//! Sans-IO like the rest of the core. The core says *what* to run — a [`StoreOp`], one
//! Redis command, usually a Lua script that reads and updates a few keys atomically — and
//! reads the [`StoreReply`]; a transport runs the command (the `onellm-redis` crate: the
//! `redis` crate's sync API under `onellm-blocking`, its async API under `onellm-tokio`)
//! and bounds it by [`StoreConfig::timeout`]. The drive loops run a call's operations
//! through [`TypedCall::poll_store`](crate::client::TypedCall::poll_store).
//!
//! A store that is down, slow or answers garbage never fails or stalls a call: the
//! operation counts as not done, the call goes on with this process's own state, the first
//! failure is logged (once, until the store answers again), and [`StoreHealth`] keeps calls
//! from asking it again for [`RETRY_AFTER_FAILURE`].

use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::api_key::ApiKey;
use crate::error::{Error, ErrorKind};

/// How long one store operation may take, connecting included, unless configured: a store
/// slower than this is treated as down for that operation.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_millis(50);

/// After a failed operation, the store is left alone this long: a store that is down costs
/// one failed operation per second, not one per call.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Where the shared store is and how long an operation on it may take.
#[derive(Clone, PartialEq)]
pub struct StoreConfig {
    /// `redis://[user:password@]host:port[/db]` (or `rediss://`); it may hold a password,
    /// so it is kept like a key and never shown.
    pub url: ApiKey,
    /// The bound of one operation, connecting included ([`DEFAULT_STORE_TIMEOUT`]).
    pub timeout: Duration,
}

impl StoreConfig {
    /// A store at `url` with the default timeout.
    pub fn redis(url: impl Into<String>) -> StoreConfig {
        StoreConfig {
            url: ApiKey::new(url),
            timeout: DEFAULT_STORE_TIMEOUT,
        }
    }
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &"[REDACTED]")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The error of a transport built without its `redis` feature, for a configuration that
/// names a Redis store: the shared limits are not silently dropped.
pub fn needs_redis_feature(transport: &str) -> Error {
    Error::configuration(format!(
        "the router's configuration names a Redis store (redis_host or redis_url), but \
         {transport} was built without its `redis` feature"
    ))
}

/// One operation on the shared store: a Redis command, its name first.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreOp {
    args: Vec<Vec<u8>>,
    /// How many of the arguments after the script are keys (for `Debug`: keys are shown,
    /// values are not).
    keys: usize,
}

impl StoreOp {
    /// `EVAL script numkeys keys… args…`: the script runs atomically on the server, so two
    /// processes never both take the last slot of a limit.
    pub fn eval(script: &str, keys: &[String], args: &[String]) -> StoreOp {
        let mut all = Vec::with_capacity(3 + keys.len() + args.len());
        all.push(b"EVAL".to_vec());
        all.push(script.as_bytes().to_vec());
        all.push(keys.len().to_string().into_bytes());
        all.extend(keys.iter().map(|key| key.as_bytes().to_vec()));
        all.extend(args.iter().map(|arg| arg.as_bytes().to_vec()));
        StoreOp {
            args: all,
            keys: keys.len(),
        }
    }

    /// `GET key`.
    pub fn get(key: &str) -> StoreOp {
        StoreOp {
            args: vec![b"GET".to_vec(), key.as_bytes().to_vec()],
            keys: 1,
        }
    }

    /// `MGET key…`: one round trip for several keys (an embeddings batch).
    pub fn get_many(keys: &[String]) -> StoreOp {
        let mut args = Vec::with_capacity(1 + keys.len());
        args.push(b"MGET".to_vec());
        args.extend(keys.iter().map(|key| key.as_bytes().to_vec()));
        StoreOp {
            args,
            keys: keys.len(),
        }
    }

    /// `SET key value PX ttl`: `value` under `key` for `ttl` (at least 1 ms).
    pub fn set_for(key: &str, value: Vec<u8>, ttl: Duration) -> StoreOp {
        let millis = ttl.as_millis().clamp(1, u128::from(u64::MAX));
        StoreOp {
            args: vec![
                b"SET".to_vec(),
                key.as_bytes().to_vec(),
                value,
                b"PX".to_vec(),
                millis.to_string().into_bytes(),
            ],
            keys: 1,
        }
    }

    /// `GET key` read as a number of USD (a shared budget's spend).
    pub(crate) fn reply_number(reply: &StoreReply) -> Option<f64> {
        match reply {
            StoreReply::Nil => Some(0.0),
            StoreReply::Bytes(bytes) => std::str::from_utf8(bytes).ok()?.trim().parse().ok(),
            StoreReply::Status(text) => text.trim().parse().ok(),
            StoreReply::Integer(value) => Some(*value as f64),
            StoreReply::Double(value) => Some(*value),
            StoreReply::Array(_) => None,
        }
    }

    /// The command's name and arguments, as sent.
    pub fn command(&self) -> &[Vec<u8>] {
        &self.args
    }

    /// The command's name (`EVAL`, `GET`, …).
    pub fn name(&self) -> &str {
        self.args
            .first()
            .and_then(|name| std::str::from_utf8(name).ok())
            .unwrap_or_default()
    }
}

impl fmt::Debug for StoreOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An EVAL's keys follow its script and key count; other commands' follow the name.
        let first = if self.name() == "EVAL" { 3 } else { 1 };
        let keys: Vec<_> = self
            .args
            .iter()
            .skip(first)
            .take(self.keys)
            .map(|key| String::from_utf8_lossy(key))
            .collect();
        f.debug_struct("StoreOp")
            .field("command", &self.name())
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

/// What the store answered, in Redis's reply types.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreReply {
    /// No value (a missing key).
    Nil,
    /// An integer.
    Integer(i64),
    /// A floating-point number (RESP3).
    Double(f64),
    /// A string of bytes.
    Bytes(Vec<u8>),
    /// A status such as `OK`.
    Status(String),
    /// Several replies.
    Array(Vec<StoreReply>),
}

impl StoreReply {
    /// An array of integers (what the router's scripts return), or a `Decode` error quoting
    /// what came instead, bounded.
    pub(crate) fn integers(&self, what: &str) -> Result<Vec<i64>, Error> {
        let unexpected = || {
            let mut shown = format!("{self:?}");
            if shown.len() > 120 {
                let cut = (0..=120).rev().find(|&at| shown.is_char_boundary(at));
                shown.truncate(cut.unwrap_or(0));
                shown.push('…');
            }
            Error::new(
                ErrorKind::Decode,
                format!("the shared store answered {what} with {shown}, not integers"),
            )
        };
        match self {
            StoreReply::Array(items) => items
                .iter()
                .map(|item| match item {
                    StoreReply::Integer(value) => Ok(*value),
                    _ => Err(unexpected()),
                })
                .collect(),
            StoreReply::Integer(value) => Ok(vec![*value]),
            _ => Err(unexpected()),
        }
    }
}

/// Whether the store is worth asking now, and the one log line per outage.
#[derive(Debug, Default)]
pub struct StoreHealth {
    /// After a failure: not asked again before this.
    resting_until: Option<Instant>,
    /// The failure was logged (reset when the store answers again).
    warned: bool,
}

impl StoreHealth {
    /// Whether operations should go to the store at `now`.
    pub fn usable(&self, now: Instant) -> bool {
        self.resting_until.is_none_or(|until| now >= until)
    }

    /// An operation failed with `error` at `now`: rest the store, and log the first failure
    /// of an outage.
    pub fn failed(&mut self, error: &Error, now: Instant) {
        self.resting_until = now.checked_add(RETRY_AFTER_FAILURE);
        if !self.warned {
            self.warned = true;
            #[cfg(feature = "tracing")]
            tracing::warn!(
                target: "onellm",
                error = %error,
                "the shared store (Redis) failed; calls go on with this process's own state \
                 and try it again every {}s (logged once until it answers)",
                RETRY_AFTER_FAILURE.as_secs()
            );
            #[cfg(not(feature = "tracing"))]
            let _ = error;
        }
    }

    /// An operation succeeded.
    pub fn answered(&mut self) {
        if self.warned {
            #[cfg(feature = "tracing")]
            tracing::info!(target: "onellm", "the shared store (Redis) answers again");
        }
        self.warned = false;
        self.resting_until = None;
    }
}

/// A client's store and whether it answers, shared by the router and the cache (one Redis
/// per client).
#[derive(Debug)]
pub(crate) struct SharedStore {
    pub(crate) config: StoreConfig,
    health: Mutex<StoreHealth>,
}

impl SharedStore {
    pub(crate) fn new(config: StoreConfig) -> SharedStore {
        SharedStore {
            config,
            health: Mutex::default(),
        }
    }

    fn health(&self) -> MutexGuard<'_, StoreHealth> {
        // Its updates are single assignments: a panic elsewhere cannot leave one half made.
        self.health
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether operations should go to the store at `now`.
    pub(crate) fn usable(&self, now: Instant) -> bool {
        self.health().usable(now)
    }

    /// Records how an operation went: a failure rests the store and is logged once.
    pub(crate) fn answered(&self, result: Result<(), &Error>, now: Instant) {
        let mut health = self.health();
        match result {
            Ok(()) => health.answered(),
            Err(error) => health.failed(error, now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_lays_out_script_keys_then_args() {
        let op = StoreOp::eval("return 1", &["a".into(), "b".into()], &["7".into()]);
        let command: Vec<&[u8]> = op.command().iter().map(Vec::as_slice).collect();
        assert_eq!(
            command,
            [&b"EVAL"[..], b"return 1", b"2", b"a", b"b", b"7"].to_vec()
        );
        assert_eq!(
            format!("{op:?}"),
            r#"StoreOp { command: "EVAL", keys: ["a", "b"], .. }"#
        );
    }

    #[test]
    fn integers_rejects_other_replies_with_a_bounded_excerpt() {
        let reply = StoreReply::Array(vec![StoreReply::Integer(1), StoreReply::Integer(-2)]);
        assert_eq!(reply.integers("x").unwrap(), vec![1, -2]);
        let garbage = StoreReply::Bytes(vec![b'z'; 10_000]);
        let error = garbage.integers("the admission").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode);
        assert!(error.message().len() < 300, "{}", error.message());
    }

    #[test]
    fn config_debug_hides_the_url() {
        let config = StoreConfig::redis("redis://:hunter2@127.0.0.1:6379");
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
