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
//! Not here yet: the engine's use of a plan as a call's chain, and the shared store that lets
//! several processes keep one limit (Redis). See the router issue's notes.

mod config;
mod node;
mod state;
#[cfg(test)]
mod tests;
#[cfg(feature = "yaml")]
mod yaml;

pub use self::config::{Deployment, RouterConfig, RouterSettings, RoutingStrategy};
pub use self::state::{Outcome, RouterState};
