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
//! With a shared store (`redis_url`, or `redis_host`/`redis_port`/`redis_password`), several
//! processes keep one state: before each attempt on a deployment the call stops with
//! [`Action::Admit`](crate::Action::Admit) and the engine asks the store (one Lua script,
//! atomic) whether the deployment may take the attempt; after it, a second script records
//! what it did. The keys, scripts and rules are in `shared.rs`; the operations are
//! [`store`](crate::store) values the transports run. `context_window_fallbacks` and
//! `content_policy_fallbacks` are blocks of the chain entered only after their kind of error.

mod config;
mod node;
pub(crate) mod shared;
mod state;
#[cfg(feature = "yaml")]
mod yaml;

pub use self::config::{Deployment, RouterConfig, RouterSettings, RoutingStrategy};
pub(crate) use self::state::{counts_against_deployment, minute_of};
pub use self::state::{Outcome, RouterState, SharedView};
