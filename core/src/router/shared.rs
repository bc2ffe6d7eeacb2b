//! The router's state in the [shared store](crate::store): its keys, the two Lua scripts
//! that read and update them atomically, and what their replies mean.
//!
//! # Keys
//!
//! Every key of a deployment shares the hash tag `{<deployment id>}` (its `model_info.id`,
//! else the id [`RouterConfig::checked`](super::RouterConfig::checked) gives it), so a
//! script's keys sit in one slot of a Redis Cluster:
//!
//! | key | holds | expires |
//! |---|---|---|
//! | `onellm:router:{id}:rpm:<minute>` | requests sent in that minute (Unix seconds / 60) | 120 s |
//! | `onellm:router:{id}:tpm:<minute>` | tokens answered in that minute | 120 s |
//! | `onellm:router:{id}:inflight` | calls in flight (with `max_parallel_requests` or `least-busy`) | 300 s after the last start |
//! | `onellm:router:{id}:fails` | failures that count towards a cooldown | `cooldown_time` after the first |
//! | `onellm:router:{id}:cooldown` | present while the deployment cools down | its cooldown |
//! | `onellm:router:{id}:latency` | average latency of answers, µs (written with `latency-based-routing`) | 1 h |
//!
//! Processes that share a Redis must give a deployment the same id (same `model_info.id`,
//! or the same configuration file): the id is what makes two processes' counters one.
//!
//! # Rules
//!
//! Which failures count, and the cooldown rule itself, are [`RouterState`]'s (see
//! `state.rs`); the finishing script applies the same rule to the shared counters:
//! more than `allowed_fails` counted failures within `cooldown_time` cool the deployment
//! down for `cooldown_time`, and a 429's `Retry-After` at once for at least that long.
//! A call dropped mid-attempt gives its slot back from its drive loop's `Drop`
//! (`TypedCall::ops_on_drop`: at once on onellm-blocking, spawned on the runtime on
//! onellm-tokio); a process that dies mid-call leaves its count to lapse with the key's
//! expiry.
//!
//! [`RouterState`]: super::RouterState

use std::time::Duration;

use super::config::{Deployment, RouterSettings, RoutingStrategy};
use super::state::SharedView;
use crate::error::{Error, ErrorKind};
use crate::store::{StoreOp, StoreReply};

/// How long an in-flight count outlives the last start (a process that died mid-call
/// leaves its count this long at most once the deployment goes quiet).
const IN_FLIGHT_TTL_SECS: u64 = 300;

/// Takes a slot on a deployment when it is not cooling down and under its limits.
///
/// KEYS: cooldown, rpm (this minute), tpm (this minute), inflight, latency.
/// ARGV: rpm limit, tpm limit, parallel limit (each -1 for none), in-flight TTL (s),
/// whether to count the call in flight (1/0).
/// Returns {verdict, cooldown ms left, requests this minute, tokens this minute, in flight,
/// average latency µs (0: none)}:
/// verdict 0 admitted (the counts include this call), 1 cooling down, 2 at rpm, 3 at tpm,
/// 4 at max_parallel_requests.
const ADMIT: &str = r"
local cooldown = redis.call('PTTL', KEYS[1])
if cooldown < 0 then cooldown = 0 end
local requests = tonumber(redis.call('GET', KEYS[2]) or '0')
local tokens = tonumber(redis.call('GET', KEYS[3]) or '0')
local inflight = tonumber(redis.call('GET', KEYS[4]) or '0')
local rpm, tpm, parallel = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local verdict = 0
if cooldown > 0 then verdict = 1
elseif rpm >= 0 and requests >= rpm then verdict = 2
elseif tpm >= 0 and tokens >= tpm then verdict = 3
elseif parallel >= 0 and inflight >= parallel then verdict = 4
else
  requests = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], 120)
  if ARGV[5] == '1' then
    inflight = redis.call('INCR', KEYS[4])
    redis.call('EXPIRE', KEYS[4], tonumber(ARGV[4]))
  end
end
local latency = tonumber(redis.call('GET', KEYS[5]) or '0')
return {verdict, cooldown, requests, tokens, inflight, latency}
";

/// Records how an admitted attempt ended.
///
/// KEYS: cooldown, fails, inflight, tpm (this minute), latency.
/// ARGV: release the in-flight slot (1/0), tokens used (0: none), the failure counts
/// towards a cooldown (1/0), allowed_fails, cooldown ms, Retry-After ms (-1: none),
/// latency µs (-1: none).
/// Returns the cooldown ms left (0: none).
const FINISH: &str = r"
if ARGV[1] == '1' then
  if redis.call('DECR', KEYS[3]) < 0 then redis.call('SET', KEYS[3], 0) end
end
local tokens = tonumber(ARGV[2])
if tokens > 0 then
  redis.call('INCRBY', KEYS[4], tokens)
  redis.call('EXPIRE', KEYS[4], 120)
end
local latency = tonumber(ARGV[7])
if latency >= 0 then
  local old = tonumber(redis.call('GET', KEYS[5]))
  if old then latency = math.floor((old * 3 + latency) / 4) end
  redis.call('SET', KEYS[5], latency, 'EX', 3600)
end
if ARGV[3] == '1' then
  local cooldown = tonumber(ARGV[5])
  local retry = tonumber(ARGV[6])
  if retry > 0 and redis.call('PTTL', KEYS[1]) < retry then
    redis.call('SET', KEYS[1], 1, 'PX', retry)
  end
  local fails = redis.call('INCR', KEYS[2])
  if fails == 1 then redis.call('PEXPIRE', KEYS[2], cooldown) end
  if fails > tonumber(ARGV[4]) then
    if redis.call('PTTL', KEYS[1]) < cooldown then
      redis.call('SET', KEYS[1], 1, 'PX', cooldown)
    end
    redis.call('DEL', KEYS[2])
  end
end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then left = 0 end
return left
";

/// What the store said of an admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Admitted,
    CoolingDown,
    AtRpm,
    AtTpm,
    AtParallel,
}

/// Whether calls to `deployment` are counted in flight in the store (only when something
/// reads the count: a `max_parallel_requests`, or `least-busy`).
pub(crate) fn counts_in_flight(deployment: &Deployment, settings: &RouterSettings) -> bool {
    deployment.max_parallel_requests.is_some() || settings.strategy == RoutingStrategy::LeastBusy
}

/// Whether answers' tokens go to the store (a `tpm`, or `usage-based-routing`).
pub(crate) fn counts_tokens(deployment: &Deployment, settings: &RouterSettings) -> bool {
    deployment.tpm.is_some() || settings.strategy == RoutingStrategy::UsageBased
}

/// Whether answers' latencies go to the store (`latency-based-routing`).
pub(crate) fn counts_latency(settings: &RouterSettings) -> bool {
    settings.strategy == RoutingStrategy::LatencyBased
}

fn key(deployment: &Deployment, what: &str) -> String {
    format!("onellm:router:{{{}}}:{what}", deployment.id)
}

fn limit(value: Option<u64>) -> String {
    value.map_or_else(|| "-1".to_owned(), |value| value.to_string())
}

/// The operation that takes a slot on `deployment` in `minute`.
pub(crate) fn admit(deployment: &Deployment, settings: &RouterSettings, minute: u64) -> StoreOp {
    let keys = [
        key(deployment, "cooldown"),
        key(deployment, &format!("rpm:{minute}")),
        key(deployment, &format!("tpm:{minute}")),
        key(deployment, "inflight"),
        key(deployment, "latency"),
    ];
    let args = [
        limit(deployment.rpm),
        limit(deployment.tpm),
        limit(deployment.max_parallel_requests.map(u64::from)),
        IN_FLIGHT_TTL_SECS.to_string(),
        if counts_in_flight(deployment, settings) {
            "1"
        } else {
            "0"
        }
        .to_owned(),
    ];
    StoreOp::eval(ADMIT, &keys, &args)
}

/// The admission's verdict and the deployment's state across every process.
pub(crate) fn read_admission(reply: &StoreReply) -> Result<(Verdict, SharedView), Error> {
    let values = reply.integers("an admission")?;
    let [verdict, cooldown_ms, requests, tokens, in_flight, latency_us] = values[..] else {
        return Err(Error::new(
            ErrorKind::Decode,
            format!(
                "the shared store answered an admission with {} integers, not 6",
                values.len()
            ),
        ));
    };
    let verdict = match verdict {
        0 => Verdict::Admitted,
        1 => Verdict::CoolingDown,
        2 => Verdict::AtRpm,
        3 => Verdict::AtTpm,
        4 => Verdict::AtParallel,
        other => {
            return Err(Error::new(
                ErrorKind::Decode,
                format!("the shared store answered an admission with verdict {other}"),
            ))
        }
    };
    let whole = |value: i64| u64::try_from(value).unwrap_or(0);
    Ok((
        verdict,
        SharedView {
            cooldown_left: Duration::from_millis(whole(cooldown_ms)),
            requests: whole(requests),
            tokens: whole(tokens),
            in_flight: u32::try_from(whole(in_flight)).unwrap_or(u32::MAX),
            latency: Some(Duration::from_micros(whole(latency_us))).filter(|l| !l.is_zero()),
        },
    ))
}

/// How an admitted attempt ended, as the finishing script records it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Finish {
    /// Give back the in-flight slot the admission took.
    pub release: bool,
    /// Tokens the answer used (0: none or not counted).
    pub tokens: u64,
    /// The failure counts towards a cooldown.
    pub failed: bool,
    /// A 429's `Retry-After`.
    pub retry_after: Option<Duration>,
    /// The answer's latency (`latency-based-routing` only).
    pub latency: Option<Duration>,
}

impl Finish {
    /// Whether there is anything to record.
    pub(crate) fn is_empty(&self) -> bool {
        !self.release && self.tokens == 0 && !self.failed && self.latency.is_none()
    }
}

/// The operation that records `finish` for `deployment` (tokens in `minute`).
pub(crate) fn finish(
    deployment: &Deployment,
    settings: &RouterSettings,
    finish: &Finish,
    minute: u64,
) -> StoreOp {
    let cooldown = deployment.cooldown_time.unwrap_or(settings.cooldown_time);
    let keys = [
        key(deployment, "cooldown"),
        key(deployment, "fails"),
        key(deployment, "inflight"),
        key(deployment, &format!("tpm:{minute}")),
        key(deployment, "latency"),
    ];
    let flag = |on: bool| if on { "1" } else { "0" }.to_owned();
    // A cooldown of 0 ms would be an error for PEXPIRE/SET PX: at least 1 ms.
    let millis = |duration: Duration| {
        duration
            .as_millis()
            .clamp(1, u128::from(u32::MAX))
            .to_string()
    };
    let args = [
        flag(finish.release),
        finish.tokens.to_string(),
        flag(finish.failed),
        settings.allowed_fails.to_string(),
        millis(cooldown),
        finish
            .retry_after
            .filter(|wait| !wait.is_zero())
            .map_or_else(|| "-1".to_owned(), millis),
        finish.latency.map_or_else(
            || "-1".to_owned(),
            |latency| latency.as_micros().min(u128::from(u32::MAX)).to_string(),
        ),
    ];
    StoreOp::eval(FINISH, &keys, &args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_replies_are_read_or_refused_clearly() {
        let reply = StoreReply::Array([0, 0, 3, 10, 1, 0].map(StoreReply::Integer).to_vec());
        let (verdict, view) = read_admission(&reply).unwrap();
        assert_eq!(verdict, Verdict::Admitted);
        assert_eq!((view.requests, view.tokens, view.in_flight), (3, 10, 1));
        let short = StoreReply::Array(vec![StoreReply::Integer(0)]);
        assert_eq!(
            read_admission(&short).unwrap_err().kind(),
            ErrorKind::Decode
        );
        let odd = StoreReply::Array([9, 0, 0, 0, 0, 0].map(StoreReply::Integer).to_vec());
        assert_eq!(read_admission(&odd).unwrap_err().kind(), ErrorKind::Decode);
        assert!(read_admission(&StoreReply::Status("OK".into())).is_err());
    }

    #[test]
    fn keys_share_the_deployment_hash_tag() {
        let mut deployment = Deployment::new("smart", "openai/gpt-4o");
        deployment.id = "east".into();
        deployment.rpm = Some(3);
        let op = admit(&deployment, &RouterSettings::default(), 29_000_000);
        let debug = format!("{op:?}");
        assert!(
            debug.contains("onellm:router:{east}:rpm:29000000"),
            "{debug}"
        );
        assert!(debug.contains("onellm:router:{east}:cooldown"), "{debug}");
    }
}
