//! The router: one logical model (a *group*) spread over several *deployments* — keys,
//! regions, providers — with LiteLLM's configuration (`config.yaml`'s `model_list` and
//! `router_settings`), so an existing LiteLLM file works unchanged.
//!
//! This module holds the pure parts, like the rest of the core:
//!
//! - [`RouterConfig`]: the deployments and settings, built in Rust or read from LiteLLM's
//!   YAML ([`RouterConfig::from_yaml`], feature `yaml`) with every error naming the file and
//!   the line, before anything is sent.
//! - [`RouterState`]: what the router remembers per deployment — failures and cooldowns,
//!   requests and tokens in the current minute, calls in flight, latency — with the time
//!   passed in.
//! - [`RouterState::plan`]: the deployments of a group in the order a call should try them,
//!   by the routing strategy, leaving out those cooling down or at their limits.
//!
//! The client layer uses them ([`Engine::with_router`](crate::client::Engine::with_router),
//! [`ClientBuilder::router`](crate::client::ClientBuilder::router) and
//! [`router_file`](crate::client::ClientBuilder::router_file)): a call whose model names a
//! group becomes a chain of the group's deployments in plan order — each tried once, a lone
//! one with the router's `num_retries` — then the group's fallbacks (the request's, else
//! `fallbacks`, else `default_fallbacks`), each deployment resolved with its own key, base
//! URL and options; each attempt's start and end update the state; a deployment's own
//! `input_cost_per_token`/`output_cost_per_token` price its answers over the catalog; the
//! call's report names the deployment of each attempt ([`Attempt::deployment`]).
//!
//! [`Attempt::deployment`]: crate::Attempt::deployment
//!
//! Not here yet: state shared between processes (Redis; the state is per client, in
//! memory), `content_policy_fallbacks` (read, not applied: every fallback-worthy error moves
//! down the one chain), `context_window_fallbacks` for a provider's own context-window
//! refusal (they apply when the check before sending finds the prompt too long for every
//! deployment of the group: they are tried right after it), a deployment's own `timeout`
//! (read, not applied), and the benchmark of the router's cost per call.

mod config;
mod node;
pub(crate) mod shared;
mod state;
#[cfg(feature = "yaml")]
mod yaml;

pub use self::config::{Deployment, RouterConfig, RouterSettings, RoutingStrategy};
pub(crate) use self::state::{counts_against_deployment, minute_of};
pub use self::state::{Outcome, RouterState, SharedView};
