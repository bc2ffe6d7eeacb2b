//! A spending limit for a client: calls are refused with `budget_exceeded` once what the
//! client's calls cost (their `usage.cost`) reaches it.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::error::{Error, ErrorKind};
use crate::store::StoreOp;

/// A client's spending limit in USD, for all time or per period (LiteLLM's `max_budget`
/// and `budget_duration`). Give it to [`ClientBuilder::budget`](super::ClientBuilder::budget).
///
/// - **What counts**: the `usage.cost` of every call the client (and every
///   [`with_overrides`](super::Engine::with_overrides) view of it) finishes — a whole reply,
///   or a stream's usage chunk as the caller receives it. A model the catalog does not
///   price costs nothing here, and a failed attempt, which reports no usage, neither.
/// - **When it stops**: a call that starts when the spend has reached the limit fails with
///   [`ErrorKind::BudgetExceeded`] before anything is sent. Calls already under way finish,
///   so the spend can pass the limit by what they cost.
/// - **Periods**: with [`per`](Self::per), the spend starts again from 0 every period,
///   counted from the first call (a call's cost belongs to the period it started in).
/// - **Scope**: one client (and its views). With [`shared`](Self::shared) and a client
///   that has a Redis ([the store](crate::store): the router's or the cache's), every
///   process and machine using the same name and Redis spends from one limit: each call
///   reads the shared spend before it starts and adds its cost after (`INCRBYFLOAT` on
///   `onellm:budget:<name>:<period>`). Periods of a shared budget are aligned to the Unix
///   epoch (whole periods since 1970-01-01), so every process agrees on them. A Redis that
///   is down leaves each process with its own spend.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use onellm_core::client::Budget;
///
/// let budget = Budget::new(5.0).per(Duration::from_secs(24 * 60 * 60));
/// let status = budget.status(SystemTime::now());
/// assert_eq!((status.limit, status.spent), (5.0, 0.0));
/// ```
pub struct Budget {
    limit: f64,
    period: Option<Duration>,
    /// The name its spend is shared under ([`shared`](Self::shared)).
    shared: Option<String>,
    spend: Mutex<Spend>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Spend {
    /// USD spent in the current period (by this process, or as the shared store last said
    /// when that is more).
    spent: f64,
    /// When the current period started (the first call's time, then whole periods on).
    since: Option<SystemTime>,
}

/// A [`Budget`]'s state at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetStatus {
    /// The limit in USD.
    pub limit: f64,
    /// What the client's calls cost so far (in the current period).
    pub spent: f64,
    /// When the spend starts again from 0 (for a budget per period that has begun).
    pub resets_at: Option<SystemTime>,
}

impl BudgetStatus {
    /// What is left before calls are refused (0 when the limit is reached).
    pub fn remaining(&self) -> f64 {
        (self.limit - self.spent).max(0.0)
    }
}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budget")
            .field("limit", &self.limit)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

impl Budget {
    /// A limit of `max_usd` for the client's lifetime. A limit that is not a finite number
    /// of 0 or more refuses every call.
    pub fn new(max_usd: f64) -> Budget {
        Budget {
            limit: max_usd,
            period: None,
            shared: None,
            spend: Mutex::new(Spend::default()),
        }
    }

    /// Shares the spend under `name` through the client's Redis (see the type docs): every
    /// client with this name and Redis spends from one limit. Without a Redis it stays the
    /// client's own.
    #[must_use]
    pub fn shared(mut self, name: impl Into<String>) -> Budget {
        self.shared = Some(name.into());
        self
    }

    /// The key of the shared spend of the period `at` falls in, if the budget is shared.
    pub(crate) fn shared_key(&self, at: SystemTime) -> Option<String> {
        let name = self.shared.as_deref()?;
        let window = match self.period {
            Some(period) => {
                let since = at
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default();
                (since.as_nanos() / period.as_nanos().max(1)).to_string()
            }
            None => "all".to_owned(),
        };
        Some(format!("onellm:budget:{{{name}}}:{window}"))
    }

    /// How long a shared period's key lives: its period (and a day past it), or for ever.
    pub(crate) fn shared_ttl(&self) -> Option<Duration> {
        self.period
            .map(|period| period.saturating_add(Duration::from_secs(86_400)))
    }

    /// The store operation that adds `cost` to the shared spend of the period `at` falls in
    /// (and answers the new total), if the budget is shared.
    pub(crate) fn spend_op(&self, cost: f64, at: SystemTime) -> Option<StoreOp> {
        const ADD: &str = "local total = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return total";
        if !(cost.is_finite() && cost > 0.0) {
            return None;
        }
        let key = self.shared_key(at)?;
        let ttl = self
            .shared_ttl()
            .map_or(0, |ttl| ttl.as_millis().min(u128::from(u64::MAX)) as u64);
        Some(StoreOp::eval(
            ADD,
            &[key],
            &[cost.to_string(), ttl.to_string()],
        ))
    }

    /// The shared store says `total` USD were spent in the period `at` falls in: the
    /// budget's spend becomes that, unless this process knows of more.
    pub(crate) fn observe_shared(&self, total: f64, at: SystemTime) {
        if !(total.is_finite() && total >= 0.0) {
            return;
        }
        let mut spend = self.lock();
        Self::roll(&mut spend, self.period, self.shared.is_some(), at);
        spend.spent = spend.spent.max(total);
    }

    /// The same limit for each `period` (a day, thirty days…), counted from the first
    /// call. A zero period is ignored.
    #[must_use]
    pub fn per(mut self, period: Duration) -> Budget {
        self.period = (!period.is_zero()).then_some(period);
        self
    }

    /// The limit, the spend and the next reset at `now`.
    pub fn status(&self, now: SystemTime) -> BudgetStatus {
        let spend = self.current(now);
        BudgetStatus {
            limit: self.limit,
            spent: spend.spent,
            resets_at: self
                .period
                .zip(spend.since)
                .and_then(|(period, since)| since.checked_add(period)),
        }
    }

    /// Refuses a call starting at `now` when the limit is reached.
    pub(crate) fn check(&self, now: SystemTime) -> Result<(), Error> {
        let status = self.status(now);
        let usable = self.limit.is_finite() && self.limit >= 0.0;
        if usable && status.spent < self.limit {
            return Ok(());
        }
        let period = match status.resets_at {
            Some(at) => match at.duration_since(now) {
                Ok(left) => format!(" for this period (it resets in {}s)", left.as_secs()),
                Err(_) => String::new(),
            },
            None => String::new(),
        };
        Err(Error::new(
            ErrorKind::BudgetExceeded,
            format!(
                "the client's budget of ${} is spent{period}: ${:.6} so far; nothing was sent",
                self.limit, status.spent
            ),
        ))
    }

    /// Adds `cost` (USD) to the spend of the period `at` falls in.
    pub(crate) fn record(&self, cost: f64, at: SystemTime) {
        if !(cost.is_finite() && cost > 0.0) {
            return;
        }
        let mut spend = self.lock();
        Self::roll(&mut spend, self.period, self.shared.is_some(), at);
        spend.spent += cost;
    }

    /// The spend at `now`, with the period rolled on (and started at the first look).
    fn current(&self, now: SystemTime) -> Spend {
        let mut spend = self.lock();
        Self::roll(&mut spend, self.period, self.shared.is_some(), now);
        *spend
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Spend> {
        // A panic elsewhere while holding this lock cannot leave a half-made update (one
        // addition), so a poisoned lock is used as it is.
        self.spend
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts the period at the first call (a shared budget's at the whole period since the
    /// Unix epoch that holds it); moves it on by whole periods once `now` is past its end,
    /// with the spend back at 0.
    fn roll(spend: &mut Spend, period: Option<Duration>, aligned: bool, now: SystemTime) {
        let Some(period) = period else { return };
        let Some(since) = spend.since else {
            spend.since = Some(if aligned {
                let elapsed = now
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default();
                let whole = elapsed.as_nanos() / period.as_nanos().max(1) * period.as_nanos();
                SystemTime::UNIX_EPOCH
                    + Duration::new(
                        u64::try_from(whole / 1_000_000_000).unwrap_or(u64::MAX),
                        u32::try_from(whole % 1_000_000_000).unwrap_or(0),
                    )
            } else {
                now
            });
            return;
        };
        let Ok(elapsed) = now.duration_since(since) else {
            return; // The clock went back: stay in the current period.
        };
        if elapsed >= period {
            let periods = elapsed.as_nanos() / period.as_nanos();
            let skip = u32::try_from(periods)
                .ok()
                .and_then(|n| period.checked_mul(n));
            spend.since = Some(skip.and_then(|skip| since.checked_add(skip)).unwrap_or(now));
            spend.spent = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn refuses_once_spent_and_again_after_the_period() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let budget = Budget::new(1.0).per(DAY);
        assert!(budget.check(start).is_ok());
        budget.record(0.6, start);
        assert!(budget.check(start + Duration::from_secs(10)).is_ok());
        budget.record(0.5, start + Duration::from_secs(20));
        let error = budget.check(start + Duration::from_secs(30)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BudgetExceeded);
        assert!(error.message().contains("$1.100000 so far"), "{error}");
        let status = budget.status(start + Duration::from_secs(30));
        assert_eq!(status.resets_at, Some(start + DAY));
        assert_eq!(status.remaining(), 0.0);
        // Two and a half days on: the third period, spend back at 0.
        let later = start + DAY * 2 + DAY / 2;
        assert!(budget.check(later).is_ok());
        assert_eq!(budget.status(later).resets_at, Some(start + DAY * 3));
    }

    #[test]
    fn a_shared_budget_aligns_its_periods_and_takes_the_stores_total() {
        let at = SystemTime::UNIX_EPOCH + DAY * 100 + Duration::from_secs(3_600);
        let budget = Budget::new(1.0).per(DAY).shared("team");
        assert_eq!(
            budget.shared_key(at).as_deref(),
            Some("onellm:budget:{team}:100")
        );
        assert_eq!(
            budget.status(at).resets_at,
            Some(SystemTime::UNIX_EPOCH + DAY * 101)
        );
        budget.record(0.25, at);
        budget.observe_shared(0.9, at);
        assert_eq!(budget.status(at).spent, 0.9);
        budget.observe_shared(0.1, at);
        assert_eq!(budget.status(at).spent, 0.9, "never less than known");
        budget.observe_shared(1.2, at);
        assert!(budget.check(at).is_err());
        assert!(Budget::new(1.0).shared_key(at).is_none());
        assert_eq!(
            Budget::new(1.0).shared("x").shared_key(at).as_deref(),
            Some("onellm:budget:{x}:all")
        );
    }

    #[test]
    fn a_budget_without_period_never_resets_and_odd_limits_refuse() {
        let now = SystemTime::UNIX_EPOCH;
        let budget = Budget::new(0.01);
        budget.record(0.02, now);
        budget.record(f64::NAN, now);
        budget.record(-5.0, now);
        assert_eq!(budget.status(now).spent, 0.02);
        assert!(budget.check(now + DAY * 1000).is_err());
        for limit in [f64::NAN, -1.0, f64::INFINITY] {
            assert!(Budget::new(limit).check(now).is_err(), "{limit}");
        }
        assert!(
            Budget::new(0.0).check(now).is_err(),
            "a zero budget allows nothing"
        );
    }
}
