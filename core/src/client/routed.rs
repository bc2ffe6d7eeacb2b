//! The router inside a client: a call to a group becomes a chain of that group's
//! deployments (then its fallbacks'), in the order [`RouterState::plan`] gives, each with
//! its own settings; what each attempt did goes back into the router's state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use crate::call::{ChainEntry, OnlyAfter, Operation, Routed};
use crate::catalog::{Catalog, Mode, ModelCapabilities, ModelInfo, ModelPrices};
use crate::error::ErrorKind;
use crate::error::{Attempt, Error};
use crate::registry::Registry;
use crate::router::shared::{self, Finish, Verdict};
use crate::router::Deployment;
use crate::router::{Outcome, RouterConfig, RouterState};
use crate::store::{SharedStore, StoreOp, StoreReply};

/// A client's router: its configuration, a registry per deployment (the client's, with the
/// deployment's key, base URL and options over it), and the shared state.
pub(crate) struct Router {
    config: RouterConfig,
    registries: Vec<Registry>,
    /// Per deployment, the catalog's entry with its own prices over it (`None`: it has
    /// none of its own, the catalog prices it).
    pricing: Vec<Option<ModelInfo>>,
    by_id: HashMap<String, usize>,
    state: Mutex<RouterState>,
    /// The client's shared store, when the router's state lives there (`redis_url`, or
    /// `redis_host`/`redis_port`).
    store: Option<Arc<SharedStore>>,
}

impl Router {
    pub(crate) fn new(
        config: RouterConfig,
        base: &Registry,
        catalog: &Catalog,
        store: Option<Arc<SharedStore>>,
    ) -> Router {
        let pricing = config
            .deployments
            .iter()
            .map(|deployment| own_pricing(deployment, catalog))
            .collect();
        let registries = config
            .deployments
            .iter()
            .map(|deployment| {
                let mut registry = base.clone();
                deployment.overrides.apply(&mut registry);
                registry
            })
            .collect();
        let by_id = config
            .deployments
            .iter()
            .enumerate()
            .map(|(index, deployment)| (deployment.id.clone(), index))
            .collect();
        Router {
            store,
            state: Mutex::new(RouterState::new(&config)),
            config,
            registries,
            pricing,
            by_id,
        }
    }

    pub(crate) fn config(&self) -> &RouterConfig {
        &self.config
    }

    fn state(&self) -> MutexGuard<'_, RouterState> {
        // Updates are single assignments: a panic elsewhere cannot leave one half made.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The shared store the router keeps its state in, if configured.
    pub(crate) fn store(&self) -> Option<&Arc<SharedStore>> {
        self.store.as_ref()
    }

    /// Whether operations should go to the shared store now (one is configured, and it is
    /// not resting after a failure).
    pub(crate) fn store_usable(&self, now: Instant) -> bool {
        self.store.as_ref().is_some_and(|store| store.usable(now))
    }

    /// Records how a store operation went: a failure rests the store and is logged once.
    pub(crate) fn store_answered(&self, result: Result<(), &Error>, now: Instant) {
        if let Some(store) = &self.store {
            store.answered(result, now);
        }
    }

    /// The settings of every deployment of `group`, for the cache's tenant fingerprint.
    pub(crate) fn group_settings<'a>(
        &'a self,
        group: &'a str,
    ) -> impl Iterator<Item = (&'a str, Option<&'a crate::ProviderSettings>)> + 'a {
        self.config.group(group).filter_map(|(index, deployment)| {
            let registry = self.registries.get(index)?;
            let provider = deployment.provider();
            Some((provider, registry.settings(provider)))
        })
    }

    /// The store operation that admits an attempt on deployment `index`.
    pub(crate) fn admission(&self, index: usize, wall_clock: SystemTime) -> Option<StoreOp> {
        let deployment = self.config.deployments.get(index)?;
        let minute = crate::router::minute_of(wall_clock);
        Some(shared::admit(deployment, &self.config.settings, minute))
    }

    /// What the store answered the admission of an attempt on deployment `index`:
    /// `Ok(true)` admitted, `Ok(false)` nothing to say (the store failed: the local state
    /// decided), `Err` the refusal to record as a skipped attempt. The local state learns
    /// the deployment's counts across every process.
    pub(crate) fn admitted(
        &self,
        index: usize,
        reply: Result<StoreReply, Error>,
        now: Instant,
        wall_clock: SystemTime,
    ) -> Result<bool, Error> {
        let read = reply.and_then(|reply| shared::read_admission(&reply));
        self.store_answered(read.as_ref().map(|_| ()), now);
        let Ok((verdict, view)) = read else {
            return Ok(false);
        };
        let Some(deployment) = self.config.deployments.get(index) else {
            return Ok(false);
        };
        // An admission's counts include the attempt it admitted, which the local state
        // counts itself when the attempt is sent (`started`): without this, each admitted
        // attempt counted twice here, and after one call a `max_parallel_requests: 1`
        // deployment looked busy to this process for good.
        let mut others = view;
        if verdict == Verdict::Admitted {
            others.requests = others.requests.saturating_sub(1);
            if shared::counts_in_flight(deployment, &self.config.settings) {
                others.in_flight = others.in_flight.saturating_sub(1);
            }
        }
        self.state().observe(index, &others, now, wall_clock);
        let why = match verdict {
            Verdict::Admitted => return Ok(true),
            Verdict::CoolingDown => format!(
                "is cooling down for {:.1}s more",
                view.cooldown_left.as_secs_f64()
            ),
            Verdict::AtRpm => format!("is at its rpm ({}) this minute", view.requests),
            Verdict::AtTpm => format!("is at its tpm ({}) this minute", view.tokens),
            Verdict::AtParallel => format!("has {} calls in flight", view.in_flight),
        };
        #[cfg(feature = "tracing")]
        tracing::debug!(
            target: "onellm",
            group = %deployment.group,
            deployment = %deployment.id,
            "router: skipped: {why} (shared store)"
        );
        Err(Error::new(
            ErrorKind::RateLimit,
            format!(
                "deployment {:?} of {:?} {why} across every process sharing the store",
                deployment.id, deployment.group
            ),
        ))
    }

    /// The store operation that records how an admitted attempt on deployment `index`
    /// ended (`tokens` its answer used), if there is anything to record.
    pub(crate) fn finishing(
        &self,
        index: usize,
        attempt: &Attempt,
        tokens: u64,
        wall_clock: SystemTime,
    ) -> Option<StoreOp> {
        let deployment = self.config.deployments.get(index)?;
        let settings = &self.config.settings;
        let failure = attempt.error.as_ref();
        let finish = Finish {
            release: shared::counts_in_flight(deployment, settings),
            tokens: if shared::counts_tokens(deployment, settings) {
                tokens
            } else {
                0
            },
            failed: failure.is_some_and(|error| {
                !settings.disable_cooldowns
                    && crate::router::counts_against_deployment(error.kind())
            }),
            retry_after: failure
                .filter(|error| error.kind() == ErrorKind::RateLimit)
                .and_then(Error::retry_after),
            latency: (failure.is_none() && shared::counts_latency(settings))
                .then_some(attempt.took),
        };
        let minute = crate::router::minute_of(wall_clock);
        (!finish.is_empty()).then(|| shared::finish(deployment, settings, &finish, minute))
    }

    /// Whether a call to `model` goes through the router.
    pub(crate) fn routes(&self, model: &str) -> bool {
        self.config.has_group(model)
    }

    /// The chain for a call to `names` (the requested group or model, then its fallbacks):
    /// each group's deployments in plan order, each other name as a model resolved with
    /// `registry`. A group with no deployment available adds nothing; if nothing at all is
    /// left, the first group's reason is the error.
    pub(crate) fn chain<'r>(
        &'r self,
        names: &[Name],
        registry: &'r Registry,
        catalog: &Catalog,
        now: Instant,
        wall_clock: SystemTime,
        seed: u64,
    ) -> Result<Vec<ChainEntry<'r>>, Error> {
        let mut chain = Vec::new();
        let mut first_refusal = None;
        let state = self.state();
        for (position, name) in names.iter().enumerate() {
            let only_after = name.only_after.map(|kind| OnlyAfter {
                kind,
                block: position,
            });
            if !self.config.has_group(&name.id) {
                chain.push(ChainEntry {
                    id: name.id.clone(),
                    deployment: None,
                    registry,
                    retries: None,
                    only_after,
                });
                continue;
            }
            let seed = crate::call::jitter::splitmix64(seed ^ position as u64);
            match state.plan(&self.config, catalog, &name.id, now, wall_clock, seed) {
                Ok(plan) => {
                    // Retries go to the group's other deployments first: each is tried once,
                    // a lone one gets the router's retries.
                    let lone = plan.len() == 1;
                    for index in plan {
                        let (Some(deployment), Some(registry)) = (
                            self.config.deployments.get(index),
                            self.registries.get(index),
                        ) else {
                            continue;
                        };
                        chain.push(ChainEntry {
                            id: deployment.model.clone(),
                            deployment: Some(Routed {
                                id: deployment.id.clone(),
                                group: deployment.group.clone(),
                                attempt_timeout: deployment.timeout,
                            }),
                            registry,
                            retries: if lone {
                                self.config.settings.num_retries
                            } else {
                                Some(0)
                            },
                            only_after,
                        });
                    }
                }
                Err(error) => {
                    first_refusal.get_or_insert(error);
                }
            }
        }
        match (chain.is_empty(), first_refusal) {
            (true, Some(error)) => Err(error),
            _ => Ok(chain),
        }
    }

    /// The group's fallbacks from the router's settings (`fallbacks`, else
    /// `default_fallbacks`).
    pub(crate) fn fallbacks_of(&self, group: &str) -> Vec<String> {
        let settings = &self.config.settings;
        let own: Vec<String> = settings
            .fallbacks
            .iter()
            .filter(|(from, _)| from == group)
            .flat_map(|(_, to)| to.iter().cloned())
            .collect();
        if own.is_empty() {
            settings.default_fallbacks.clone()
        } else {
            own
        }
    }

    /// The prices of `deployment` when it has its own (`input_cost_per_token`,
    /// `output_cost_per_token` in its `litellm_params`).
    pub(crate) fn deployment_pricing(&self, deployment: Option<&str>) -> Option<&ModelInfo> {
        self.pricing.get(self.index(deployment)?)?.as_ref()
    }

    pub(crate) fn index(&self, deployment: Option<&str>) -> Option<usize> {
        self.by_id.get(deployment?).copied()
    }

    /// An attempt was sent to `deployment`.
    pub(crate) fn started(
        &self,
        deployment: Option<&str>,
        wall_clock: SystemTime,
    ) -> Option<usize> {
        let index = self.index(deployment)?;
        self.state().started(index, wall_clock);
        Some(index)
    }

    /// A sent attempt on deployment `index` ended as `attempt` says.
    pub(crate) fn finished(
        &self,
        index: usize,
        attempt: &Attempt,
        now: Instant,
        wall_clock: SystemTime,
    ) {
        let outcome = match &attempt.error {
            None => Outcome::Answered {
                latency: attempt.took,
                tokens: 0,
            },
            Some(error) => Outcome::Failed {
                kind: error.kind(),
                retry_after: error.retry_after(),
            },
        };
        self.state()
            .finished(&self.config, index, outcome, now, wall_clock);
    }

    /// The operation that gives back deployment `index`'s shared in-flight slot for an
    /// attempt dropped before it ended: nothing else is recorded (no failure, no latency).
    pub(crate) fn releasing(&self, index: usize, wall_clock: SystemTime) -> Option<StoreOp> {
        let deployment = self.config.deployments.get(index)?;
        let settings = &self.config.settings;
        let finish = Finish {
            release: shared::counts_in_flight(deployment, settings),
            tokens: 0,
            failed: false,
            retry_after: None,
            latency: None,
        };
        let minute = crate::router::minute_of(wall_clock);
        (!finish.is_empty()).then(|| shared::finish(deployment, settings, &finish, minute))
    }

    /// A sent attempt on deployment `index` was dropped before it ended.
    pub(crate) fn abandoned(&self, index: usize) {
        self.state().abandoned(index);
    }

    /// Tokens deployment `index`'s answer used, for its `tpm`.
    pub(crate) fn used_tokens(&self, index: usize, tokens: u64, wall_clock: SystemTime) {
        self.state().used_tokens(index, tokens, wall_clock);
    }
}

/// A deployment's negotiated prices over the catalog's entry for its model (or over no
/// entry: then a price it does not give is 0).
fn own_pricing(deployment: &Deployment, catalog: &Catalog) -> Option<ModelInfo> {
    if deployment.input_cost_per_token.is_none() && deployment.output_cost_per_token.is_none() {
        return None;
    }
    let listed = catalog.get(&deployment.model);
    let mut info = listed.cloned().unwrap_or(ModelInfo {
        provider: deployment.provider().to_owned().into(),
        mode: Mode::Chat,
        max_input_tokens: None,
        max_output_tokens: None,
        prices: None,
        capabilities: ModelCapabilities::NONE,
        lacks: ModelCapabilities::NONE,
    });
    let base = info.prices.take();
    let input = deployment
        .input_cost_per_token
        .or(base.as_ref().map(|prices| prices.input))
        .unwrap_or(0.0);
    let output = deployment
        .output_cost_per_token
        .or(base.as_ref().map(|prices| prices.output))
        .unwrap_or(0.0);
    // Negotiated prices replace the list's: no tiers or service tiers of the list apply.
    info.prices = Some(ModelPrices {
        input,
        output,
        cache_read: base.as_ref().and_then(|prices| prices.cache_read),
        cache_creation: base.as_ref().and_then(|prices| prices.cache_creation),
        reasoning: None,
        tiers: Vec::new().into(),
        service_tiers: Vec::new(),
    });
    Some(info)
}

/// One name in a routed call's chain: a group or a model, and the error it is kept for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Name {
    pub id: String,
    /// Tried only after an error of this kind (`context_window_fallbacks`,
    /// `content_policy_fallbacks`); `None` after any error that moves a call on.
    pub only_after: Option<ErrorKind>,
}

/// The names a call to `operation` tries, in order: the group, its
/// `context_window_fallbacks` (only after a prompt too long for it), its
/// `content_policy_fallbacks` (only after a content filter refused it), then the request's
/// or client's fallbacks, else the router's (`fallbacks`, else `default_fallbacks`).
pub(crate) fn names(router: &Router, operation: &Operation, fallbacks: &[String]) -> Vec<Name> {
    let group = operation.model();
    let settings = &router.config.settings;
    let kept_for = |table: &[(String, Vec<String>)], kind: ErrorKind| {
        table
            .iter()
            .filter(|(from, _)| from == group)
            .flat_map(|(_, to)| to.iter().cloned())
            .map(move |id| Name {
                id,
                only_after: Some(kind),
            })
            .collect::<Vec<_>>()
    };
    let general = if fallbacks.is_empty() {
        router.fallbacks_of(group)
    } else {
        fallbacks.to_vec()
    };
    std::iter::once(Name {
        id: group.to_owned(),
        only_after: None,
    })
    .chain(kept_for(
        &settings.context_window_fallbacks,
        ErrorKind::ContextWindowExceeded,
    ))
    .chain(kept_for(
        &settings.content_policy_fallbacks,
        ErrorKind::ContentFilter,
    ))
    .chain(general.into_iter().map(|id| Name {
        id,
        only_after: None,
    }))
    .collect()
}

/// What a routed call keeps to report back: the router, and the deployment its attempt in
/// flight was sent to.
pub(crate) struct Tracking {
    pub router: Arc<Router>,
    pub in_flight: Option<usize>,
    /// The deployment whose slot in the store the current attempt holds.
    pub holds_slot: Option<usize>,
}

impl Tracking {
    pub(crate) fn new(router: &Arc<Router>) -> Tracking {
        Tracking {
            router: Arc::clone(router),
            in_flight: None,
            holds_slot: None,
        }
    }
}
