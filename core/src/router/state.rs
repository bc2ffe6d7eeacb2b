//! What the router remembers per deployment, and the plan it makes from it: every rule of
//! cooldowns, minute limits and strategies is in this file.

use std::time::{Duration, Instant, SystemTime};

use super::config::{Deployment, RouterConfig, RoutingStrategy};
use crate::call::jitter::Jitter;
use crate::catalog::Catalog;
use crate::error::{Error, ErrorKind};

/// How an attempt on a deployment ended, as the router needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// It answered, after `latency`, using `tokens` (prompt + completion; 0 when unknown).
    Answered {
        /// From sending the request to the end of its answer.
        latency: Duration,
        /// Prompt + completion tokens; 0 when unknown.
        tokens: u64,
    },
    /// It failed with an error of `kind`; `retry_after` is what a 429 said.
    Failed {
        /// The error's kind: whether it counts toward a cooldown.
        kind: ErrorKind,
        /// The wait a 429 asked for (`Retry-After`), which cools the deployment down at once.
        retry_after: Option<Duration>,
    },
}

/// A deployment's state across every process sharing the store, as an admission read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SharedView {
    /// How long it still cools down (zero: it does not).
    pub cooldown_left: Duration,
    /// Requests sent to it this minute.
    pub requests: u64,
    /// Tokens its answers used this minute.
    pub tokens: u64,
    /// Calls in flight on it (when counted).
    pub in_flight: u32,
    /// The average latency of its answers (when measured).
    pub latency: Option<Duration>,
}

/// The state of one deployment.
#[derive(Debug, Clone, Default)]
struct Track {
    /// Failures counted since `fails_since` (within one cooldown time).
    fails: u32,
    fails_since: Option<Instant>,
    /// Left out until then.
    cooldown_until: Option<Instant>,
    /// The wall-clock minute (Unix seconds / 60) `requests` and `tokens` count in.
    minute: u64,
    requests: u64,
    tokens: u64,
    in_flight: u32,
    /// Average latency of answers (exponentially weighted, 1/4 to the newest).
    latency: Option<Duration>,
}

/// Why a deployment is left out of a plan now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unavailable {
    CoolingDown(Instant),
    AtRpm,
    AtTpm,
    AtParallel,
}

/// Per-deployment failures, cooldowns, minute counters, calls in flight and latencies, for
/// one [`RouterConfig`] (deployments by their index in it). In memory and pure: times are
/// passed in.
///
/// A failure counts towards a cooldown when it says the deployment is unwell — 429, 401,
/// 403, 404, 408, 5xx, timeouts, connection failures, truncated or unexpected replies — not
/// when the request was at fault (400-class errors, context windows, content filters). More
/// than `allowed_fails` such failures within `cooldown_time` leave the deployment out for
/// `cooldown_time` (its own, else the router's); a 429 with `Retry-After` leaves it out for
/// at least that long at once, whatever the count.
#[derive(Debug, Clone)]
pub struct RouterState {
    tracks: Vec<Track>,
}

impl RouterState {
    /// Fresh state for `config`'s deployments.
    pub fn new(config: &RouterConfig) -> RouterState {
        RouterState {
            tracks: vec![Track::default(); config.deployments.len()],
        }
    }

    /// The deployments of `group` in the order a call should try them: the lowest `order`
    /// tier with a deployment available first, each tier ordered by the strategy, leaving
    /// out deployments cooling down or at a limit (`rpm` or `tpm` this minute,
    /// `max_parallel_requests`). `seed` drives `simple-shuffle`'s draw.
    ///
    /// Errors: a group with no deployment (`NotFound`, naming it), or one whose every
    /// deployment is unavailable: `RateLimit` with [`Error::retry_after`] the time until
    /// the first comes back from its cooldown or the minute turns.
    pub fn plan(
        &self,
        config: &RouterConfig,
        catalog: &Catalog,
        group: &str,
        now: Instant,
        wall_clock: SystemTime,
        seed: u64,
    ) -> Result<Vec<usize>, Error> {
        let members: Vec<(usize, &Deployment)> = config.group(group).collect();
        if members.is_empty() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no deployment in the router's model_list has model_name {group:?}"),
            ));
        }
        let minute = minute_of(wall_clock);
        let mut available = Vec::new();
        let mut back_at: Option<Duration> = None;
        for (index, deployment) in &members {
            match self.unavailable(*index, deployment, now, minute) {
                None => available.push((*index, *deployment)),
                Some(reason) => {
                    let wait = match reason {
                        Unavailable::CoolingDown(until) => until.saturating_duration_since(now),
                        Unavailable::AtRpm | Unavailable::AtTpm => until_next_minute(wall_clock),
                        Unavailable::AtParallel => Duration::ZERO,
                    };
                    back_at = Some(back_at.map_or(wait, |soonest| soonest.min(wait)));
                }
            }
        }
        if available.is_empty() {
            let wait = back_at.unwrap_or_default();
            return Err(Error::new(
                ErrorKind::RateLimit,
                format!(
                    "every deployment of {group:?} is cooling down or at its limits; the \
                     first is available again in {:.1}s",
                    wait.as_secs_f64()
                ),
            )
            .with_retry_after(Some(wait)));
        }
        // Tiers by `order`: those without one after those with.
        available.sort_by_key(|(index, deployment)| (deployment.order.unwrap_or(u32::MAX), *index));
        let mut plan = Vec::with_capacity(available.len());
        let mut jitter = Jitter::new(seed);
        for tier in available.chunk_by(|a, b| a.1.order == b.1.order) {
            let mut tier: Vec<(usize, &Deployment)> = tier.to_vec();
            self.order_tier(
                config.settings.strategy,
                catalog,
                &mut tier,
                minute,
                &mut jitter,
            );
            plan.extend(tier.into_iter().map(|(index, _)| index));
        }
        Ok(plan)
    }

    fn unavailable(
        &self,
        index: usize,
        deployment: &Deployment,
        now: Instant,
        minute: u64,
    ) -> Option<Unavailable> {
        let track = self.tracks.get(index)?;
        if let Some(until) = track.cooldown_until.filter(|until| *until > now) {
            return Some(Unavailable::CoolingDown(until));
        }
        let (requests, tokens) = if track.minute == minute {
            (track.requests, track.tokens)
        } else {
            (0, 0)
        };
        if deployment.rpm.is_some_and(|rpm| requests >= rpm) {
            return Some(Unavailable::AtRpm);
        }
        if deployment.tpm.is_some_and(|tpm| tokens >= tpm) {
            return Some(Unavailable::AtTpm);
        }
        if deployment
            .max_parallel_requests
            .is_some_and(|max| track.in_flight >= max)
        {
            return Some(Unavailable::AtParallel);
        }
        None
    }

    fn order_tier(
        &self,
        strategy: RoutingStrategy,
        catalog: &Catalog,
        tier: &mut [(usize, &Deployment)],
        minute: u64,
        jitter: &mut Jitter,
    ) {
        let track = |index: usize| self.tracks.get(index).cloned().unwrap_or_default();
        match strategy {
            RoutingStrategy::SimpleShuffle => {
                // Weighted order without replacement (Efraimidis–Spirakis): each deployment
                // draws u^(1/share); the largest goes first. A share of 0 goes last.
                let mut keyed: Vec<(f64, (usize, &Deployment))> = tier
                    .iter()
                    .map(|&(index, deployment)| {
                        let u = (jitter.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                        let share = deployment.share();
                        let key = if share > 0.0 {
                            u.max(f64::MIN_POSITIVE).powf(1.0 / share)
                        } else {
                            -1.0
                        };
                        (key, (index, deployment))
                    })
                    .collect();
                keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
                for (slot, (_, entry)) in tier.iter_mut().zip(keyed) {
                    *slot = entry;
                }
            }
            RoutingStrategy::LeastBusy => {
                tier.sort_by_key(|(index, _)| (track(*index).in_flight, *index))
            }
            RoutingStrategy::LatencyBased => tier.sort_by_key(|(index, _)| {
                (track(*index).latency.unwrap_or(Duration::ZERO), *index)
            }),
            RoutingStrategy::UsageBased => {
                // The share of its limit used this minute (tokens, else requests); without
                // limits, the tokens used.
                let used = |index: usize, deployment: &Deployment| {
                    let track = track(index);
                    let (requests, tokens) = if track.minute == minute {
                        (track.requests, track.tokens)
                    } else {
                        (0, 0)
                    };
                    match (deployment.tpm, deployment.rpm) {
                        (Some(tpm), _) if tpm > 0 => tokens as f64 / tpm as f64,
                        (_, Some(rpm)) if rpm > 0 => requests as f64 / rpm as f64,
                        _ => tokens as f64,
                    }
                };
                tier.sort_by(|a, b| {
                    used(a.0, a.1)
                        .total_cmp(&used(b.0, b.1))
                        .then(a.0.cmp(&b.0))
                });
            }
            RoutingStrategy::CostBased => {
                // USD for a typical call (1,000 prompt and 1,000 completion tokens); unpriced
                // deployments last.
                let price = |deployment: &Deployment| {
                    let listed = catalog
                        .get(&deployment.model)
                        .and_then(|info| info.prices.as_ref());
                    let input = deployment.input_cost_per_token.or(listed.map(|p| p.input));
                    let output = deployment
                        .output_cost_per_token
                        .or(listed.map(|p| p.output));
                    match (input, output) {
                        (Some(input), Some(output)) => 1000.0 * (input + output),
                        _ => f64::INFINITY,
                    }
                };
                tier.sort_by(|a, b| price(a.1).total_cmp(&price(b.1)).then(a.0.cmp(&b.0)));
            }
        }
    }

    /// A call was sent to `deployment` at `wall_clock`: it counts in this minute's requests
    /// and in the calls in flight.
    pub fn started(&mut self, deployment: usize, wall_clock: SystemTime) {
        let minute = minute_of(wall_clock);
        if let Some(track) = self.tracks.get_mut(deployment) {
            track.roll(minute);
            track.requests += 1;
            track.in_flight = track.in_flight.saturating_add(1);
        }
    }

    /// The call sent to `deployment` ended with `outcome` at `now`.
    pub fn finished(
        &mut self,
        config: &RouterConfig,
        deployment: usize,
        outcome: Outcome,
        now: Instant,
        wall_clock: SystemTime,
    ) {
        let settings = &config.settings;
        let cooldown = config
            .deployments
            .get(deployment)
            .and_then(|deployment| deployment.cooldown_time)
            .unwrap_or(settings.cooldown_time);
        let Some(track) = self.tracks.get_mut(deployment) else {
            return;
        };
        track.in_flight = track.in_flight.saturating_sub(1);
        track.roll(minute_of(wall_clock));
        match outcome {
            Outcome::Answered { latency, tokens } => {
                track.tokens = track.tokens.saturating_add(tokens);
                track.latency = Some(match track.latency {
                    Some(average) => (average * 3 + latency) / 4,
                    None => latency,
                });
            }
            Outcome::Failed { kind, retry_after } => {
                if settings.disable_cooldowns || !counts_against_deployment(kind) {
                    return;
                }
                if let Some(wait) = retry_after.filter(|_| kind == ErrorKind::RateLimit) {
                    let until = now + wait.min(Duration::from_secs(24 * 60 * 60));
                    track.cooldown_until =
                        Some(track.cooldown_until.map_or(until, |at| at.max(until)));
                }
                let window_over = track
                    .fails_since
                    .is_none_or(|since| now.saturating_duration_since(since) > cooldown);
                if window_over {
                    track.fails = 0;
                    track.fails_since = Some(now);
                }
                track.fails += 1;
                if track.fails > settings.allowed_fails {
                    let until = now + cooldown;
                    track.cooldown_until =
                        Some(track.cooldown_until.map_or(until, |at| at.max(until)));
                    track.fails = 0;
                    track.fails_since = None;
                }
            }
        }
    }

    /// A call sent to `deployment` was dropped before it ended: it is no longer in flight,
    /// and counts neither as a success nor as a failure.
    pub fn abandoned(&mut self, deployment: usize) {
        if let Some(track) = self.tracks.get_mut(deployment) {
            track.in_flight = track.in_flight.saturating_sub(1);
        }
    }

    /// `tokens` more used by `deployment` this minute (an answer's usage, known after the
    /// attempt ended).
    pub fn used_tokens(&mut self, deployment: usize, tokens: u64, wall_clock: SystemTime) {
        if let Some(track) = self.tracks.get_mut(deployment) {
            track.roll(minute_of(wall_clock));
            track.tokens = track.tokens.saturating_add(tokens);
        }
    }

    /// What the shared store says of `deployment` at `now`: the local view takes its
    /// counts (they include this process's own calls), and its cooldown when it runs
    /// longer than the local one. Later plans of this process then leave out what other
    /// processes used up, without asking the store.
    pub fn observe(
        &mut self,
        deployment: usize,
        view: &SharedView,
        now: Instant,
        wall_clock: SystemTime,
    ) {
        let Some(track) = self.tracks.get_mut(deployment) else {
            return;
        };
        track.roll(minute_of(wall_clock));
        track.requests = view.requests;
        track.tokens = view.tokens;
        track.in_flight = view.in_flight;
        if view.latency.is_some() {
            track.latency = view.latency;
        }
        if !view.cooldown_left.is_zero() {
            let until = now + view.cooldown_left;
            track.cooldown_until = Some(track.cooldown_until.map_or(until, |at| at.max(until)));
        }
    }

    /// When `deployment`'s cooldown ends, if it is cooling down at `now`.
    pub fn cooling_down_until(&self, deployment: usize, now: Instant) -> Option<Instant> {
        self.tracks
            .get(deployment)?
            .cooldown_until
            .filter(|until| *until > now)
    }
}

impl Track {
    /// Starts the minute's counters afresh when the minute changed.
    fn roll(&mut self, minute: u64) {
        if self.minute != minute {
            self.minute = minute;
            self.requests = 0;
            self.tokens = 0;
        }
    }
}

/// Whether a failure of `kind` says the deployment is unwell (rather than the request).
pub(crate) fn counts_against_deployment(kind: ErrorKind) -> bool {
    use ErrorKind::*;
    matches!(
        kind,
        RateLimit
            | Authentication
            | PermissionDenied
            | NotFound
            | Timeout
            | ServiceUnavailable
            | Connection
            | Truncated
            | UnexpectedResponse
    )
}

/// The wall-clock minute (Unix seconds / 60): the window of `rpm` and `tpm`.
pub(crate) fn minute_of(wall_clock: SystemTime) -> u64 {
    wall_clock
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() / 60)
}

fn until_next_minute(wall_clock: SystemTime) -> Duration {
    let since = wall_clock
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let into_minute = Duration::new(since.as_secs() % 60, since.subsec_nanos());
    Duration::from_secs(60).saturating_sub(into_minute)
}
