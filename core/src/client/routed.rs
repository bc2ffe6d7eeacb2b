//! The router inside a client: a call to a group becomes a chain of that group's
//! deployments (then its fallbacks'), in the order [`RouterState::plan`] gives, each with
//! its own settings; what each attempt did goes back into the router's state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use crate::call::{ChainEntry, Operation};
use crate::catalog::{Catalog, Mode, ModelCapabilities, ModelInfo, ModelPrices};
use crate::error::{Attempt, Error};
use crate::registry::Registry;
use crate::router::Deployment;
use crate::router::{Outcome, RouterConfig, RouterState};

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
}

impl Router {
    pub(crate) fn new(config: RouterConfig, base: &Registry, catalog: &Catalog) -> Router {
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
        names: &[String],
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
            if !self.config.has_group(name) {
                chain.push(ChainEntry {
                    id: name.clone(),
                    deployment: None,
                    registry,
                    retries: None,
                });
                continue;
            }
            let seed = crate::call::jitter::splitmix64(seed ^ position as u64);
            match state.plan(&self.config, catalog, name, now, wall_clock, seed) {
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
                            deployment: Some(deployment.id.clone()),
                            registry,
                            retries: if lone {
                                self.config.settings.num_retries
                            } else {
                                Some(0)
                            },
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

    /// The groups and models to try for `group` when a prompt is too long for all its
    /// deployments (`context_window_fallbacks`).
    pub(crate) fn context_window_fallbacks_of(&self, group: &str) -> Vec<String> {
        self.config
            .settings
            .context_window_fallbacks
            .iter()
            .filter(|(from, _)| from == group)
            .flat_map(|(_, to)| to.iter().cloned())
            .collect()
    }

    fn index(&self, deployment: Option<&str>) -> Option<usize> {
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

    /// A sent attempt on deployment `index` was dropped before it ended.
    pub(crate) fn abandoned(&self, index: usize) {
        self.state().abandoned(index);
    }

    /// Tokens a deployment's answer used, for its `tpm`.
    pub(crate) fn used_tokens(
        &self,
        deployment: Option<&str>,
        tokens: u64,
        wall_clock: SystemTime,
    ) {
        if let Some(index) = self.index(deployment) {
            self.state().used_tokens(index, tokens, wall_clock);
        }
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

/// The names a call to `operation` tries, with the router's fallbacks for a group that has
/// none of its own.
pub(crate) fn names(router: &Router, operation: &Operation, fallbacks: &[String]) -> Vec<String> {
    let model = operation.model().to_owned();
    let extra = if fallbacks.is_empty() {
        router.fallbacks_of(&model)
    } else {
        fallbacks.to_vec()
    };
    std::iter::once(model).chain(extra).collect()
}

/// What a routed call keeps to report back: the router, and the deployment its attempt in
/// flight was sent to.
pub(crate) struct Tracking {
    pub router: Arc<Router>,
    pub in_flight: Option<usize>,
    /// Attempts already reported.
    pub seen: usize,
}
