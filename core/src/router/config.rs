//! The router's configuration: deployments grouped under the names callers use, and the
//! routing settings — LiteLLM's `config.yaml` shape, read in one place.

use std::fmt;
use std::time::Duration;

use super::node::{Node, Value};
use crate::api_key::ApiKey;
use crate::cache::{CacheBackend, CacheSettings};
use crate::client::Overrides;
use crate::error::Error;
use crate::model::ModelId;
use crate::store::StoreConfig;

/// One deployment of a group: a model at a provider, with its own key, base URL and limits
/// (LiteLLM's `model_list` entry).
#[derive(Clone)]
pub struct Deployment {
    /// The group callers ask for (`model_name`).
    pub group: String,
    /// The model, `provider/model` (`litellm_params.model`).
    pub model: String,
    /// How logs and reports name it: `model_info.id`, else `group#index` (never the key).
    pub id: String,
    /// The provider settings of this deployment (`api_key`, `api_base`, `api_version`,
    /// `aws_region_name`, `vertex_project`, `vertex_location`), over the client's.
    pub overrides: Overrides,
    /// Requests per minute it takes (`rpm`).
    pub rpm: Option<u64>,
    /// Tokens per minute it takes (`tpm`).
    pub tpm: Option<u64>,
    /// Its share in `simple-shuffle` (`weight`; else `rpm`, else `tpm`, else 1).
    pub weight: Option<f64>,
    /// Its tier (`order`): lower first; a higher tier only when every deployment of the
    /// lower ones is cooling down or at a limit.
    pub order: Option<u32>,
    /// Calls in flight at most (`max_parallel_requests`).
    pub max_parallel_requests: Option<u32>,
    /// The call's total deadline on this deployment (`timeout`, seconds).
    pub timeout: Option<Duration>,
    /// How long it is left out after too many failures (`cooldown_time`, seconds), over the
    /// router's.
    pub cooldown_time: Option<Duration>,
    /// A negotiated price (USD per prompt token) over the catalog's (`input_cost_per_token`).
    pub input_cost_per_token: Option<f64>,
    /// A negotiated price (USD per completion token) over the catalog's.
    pub output_cost_per_token: Option<f64>,
}

impl fmt::Debug for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The overrides may hold a key: their Debug redacts it.
        f.debug_struct("Deployment")
            .field("group", &self.group)
            .field("model", &self.model)
            .field("id", &self.id)
            .field("overrides", &self.overrides)
            .field("rpm", &self.rpm)
            .field("tpm", &self.tpm)
            .field("weight", &self.weight)
            .field("order", &self.order)
            .field("max_parallel_requests", &self.max_parallel_requests)
            .finish_non_exhaustive()
    }
}

impl Deployment {
    /// A deployment of `model` (`provider/model`) in `group`, with no settings of its own.
    pub fn new(group: impl Into<String>, model: impl Into<String>) -> Deployment {
        let group = group.into();
        Deployment {
            id: String::new(),
            group,
            model: model.into(),
            overrides: Overrides::new(),
            rpm: None,
            tpm: None,
            weight: None,
            order: None,
            max_parallel_requests: None,
            timeout: None,
            cooldown_time: None,
            input_cost_per_token: None,
            output_cost_per_token: None,
        }
    }

    /// The provider part of [`model`](Self::model).
    pub fn provider(&self) -> &str {
        self.model
            .split_once('/')
            .map_or("", |(provider, _)| provider)
    }

    /// Its share in `simple-shuffle`: `weight`, else `rpm`, else `tpm`, else 1.
    pub fn share(&self) -> f64 {
        let share = self
            .weight
            .or(self.rpm.map(|rpm| rpm as f64))
            .or(self.tpm.map(|tpm| tpm as f64))
            .unwrap_or(1.0);
        if share.is_finite() && share >= 0.0 {
            share
        } else {
            0.0
        }
    }
}

/// How a group's deployment is picked (`routing_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoutingStrategy {
    /// At random, by [`Deployment::share`] (LiteLLM's default).
    #[default]
    SimpleShuffle,
    /// The one with the fewest calls in flight.
    LeastBusy,
    /// The one with the lowest average latency (untried ones first).
    LatencyBased,
    /// The one with the most room left under its `tpm`/`rpm` this minute.
    UsageBased,
    /// The cheapest by the catalog's (or the deployment's) prices.
    CostBased,
}

impl RoutingStrategy {
    fn parse(name: &str) -> Option<RoutingStrategy> {
        Some(match name {
            "simple-shuffle" => RoutingStrategy::SimpleShuffle,
            "least-busy" => RoutingStrategy::LeastBusy,
            "latency-based-routing" => RoutingStrategy::LatencyBased,
            "usage-based-routing" | "usage-based-routing-v2" => RoutingStrategy::UsageBased,
            "cost-based-routing" => RoutingStrategy::CostBased,
            _ => return None,
        })
    }
}

/// The router's settings (`router_settings`, and the `litellm_settings` keys that overlap).
#[derive(Clone)]
pub struct RouterSettings {
    /// How a call picks among a group's deployments (`routing_strategy`; LiteLLM's default
    /// `simple-shuffle`).
    pub strategy: RoutingStrategy,
    /// Retries of a call, each on another deployment of the group where there is one
    /// (`num_retries`).
    pub num_retries: Option<u32>,
    /// A call's total deadline (`timeout`, or `litellm_settings.request_timeout`).
    pub timeout: Option<Duration>,
    /// Failures a deployment may have within `cooldown_time` before it cools down
    /// (`allowed_fails`; LiteLLM's default 3).
    pub allowed_fails: u32,
    /// How long a deployment cools down (`cooldown_time`; LiteLLM's default 5 s).
    pub cooldown_time: Duration,
    /// No cooldowns at all (`disable_cooldowns`).
    pub disable_cooldowns: bool,
    /// Groups to try, in order, when a group fails (`fallbacks`).
    pub fallbacks: Vec<(String, Vec<String>)>,
    /// The same for prompts too long for a group (`context_window_fallbacks`).
    pub context_window_fallbacks: Vec<(String, Vec<String>)>,
    /// The same for refusals by a content filter (`content_policy_fallbacks`).
    pub content_policy_fallbacks: Vec<(String, Vec<String>)>,
    /// Groups to try when a group without fallbacks of its own fails (`default_fallbacks`).
    pub default_fallbacks: Vec<String>,
    /// Where the shared state lives (`redis_url`, or `redis_host`/`redis_port`/
    /// `redis_password`); `None`: in memory, per client.
    pub redis_url: Option<ApiKey>,
}

impl fmt::Debug for RouterSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterSettings")
            .field("strategy", &self.strategy)
            .field("num_retries", &self.num_retries)
            .field("timeout", &self.timeout)
            .field("allowed_fails", &self.allowed_fails)
            .field("cooldown_time", &self.cooldown_time)
            .field("disable_cooldowns", &self.disable_cooldowns)
            .field("fallbacks", &self.fallbacks)
            .field("context_window_fallbacks", &self.context_window_fallbacks)
            .field("content_policy_fallbacks", &self.content_policy_fallbacks)
            .field("default_fallbacks", &self.default_fallbacks)
            // May hold a password.
            .field("redis_url", &self.redis_url.as_ref().map(|_| "[set]"))
            .finish()
    }
}

impl Default for RouterSettings {
    fn default() -> Self {
        RouterSettings {
            strategy: RoutingStrategy::default(),
            num_retries: None,
            timeout: None,
            allowed_fails: 3,
            cooldown_time: Duration::from_secs(5),
            disable_cooldowns: false,
            fallbacks: Vec::new(),
            context_window_fallbacks: Vec::new(),
            content_policy_fallbacks: Vec::new(),
            default_fallbacks: Vec::new(),
            redis_url: None,
        }
    }
}

/// Deployments and settings. Build one in Rust, or read LiteLLM's `config.yaml` with
/// [`from_yaml`](Self::from_yaml).
///
/// ```
/// use onellm_core::router::{Deployment, RouterConfig};
///
/// let mut config = RouterConfig::default();
/// config.deployments.push(Deployment { weight: Some(3.0), ..Deployment::new("smart", "openai/gpt-4o") });
/// config.deployments.push(Deployment::new("smart", "anthropic/claude-sonnet-4-5"));
/// let config = config.checked().unwrap();
/// assert_eq!(config.group("smart").count(), 2);
/// assert_eq!(config.deployments[1].id, "smart#1");
/// ```
#[derive(Debug, Clone, Default)]
pub struct RouterConfig {
    /// Every deployment (`model_list`), in file order; a group is the deployments sharing a
    /// `model_name`.
    pub deployments: Vec<Deployment>,
    /// The router's settings (`router_settings`).
    pub settings: RouterSettings,
    /// Keys of the file this version does not use, as `section.key` (logged once, at debug
    /// level, by the client that loads the file; never an error).
    pub ignored_keys: Vec<String>,
    /// The file's response cache (`litellm_settings: {cache: true, cache_params: …}`): the
    /// client's, not the router's, but it lives in the same file.
    pub cache: Option<CacheSettings>,
}

impl RouterConfig {
    /// The deployments of `group`, in file order.
    pub fn group<'a>(
        &'a self,
        group: &'a str,
    ) -> impl Iterator<Item = (usize, &'a Deployment)> + 'a {
        self.deployments
            .iter()
            .enumerate()
            .filter(move |(_, deployment)| deployment.group == group)
    }

    /// Whether `name` is a group of this configuration.
    pub fn has_group(&self, name: &str) -> bool {
        self.deployments
            .iter()
            .any(|deployment| deployment.group == name)
    }

    /// The configuration with its rules checked — every model id well formed, fallbacks
    /// naming groups that exist — and ids given to deployments without one
    /// (`group#index`, the index within the group).
    pub fn checked(mut self) -> Result<RouterConfig, Error> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for deployment in &mut self.deployments {
            ModelId::parse(&deployment.model).map_err(|error| {
                Error::configuration(format!(
                    "deployment of group {:?}: {}",
                    deployment.group,
                    error.message()
                ))
            })?;
            let index = match counts
                .iter_mut()
                .find(|(group, _)| *group == deployment.group)
            {
                Some((_, count)) => {
                    *count += 1;
                    *count - 1
                }
                None => {
                    counts.push((deployment.group.clone(), 1));
                    0
                }
            };
            if deployment.id.is_empty() {
                deployment.id = format!("{}#{index}", deployment.group);
            }
        }
        let lists = [
            ("fallbacks", &self.settings.fallbacks),
            (
                "context_window_fallbacks",
                &self.settings.context_window_fallbacks,
            ),
            (
                "content_policy_fallbacks",
                &self.settings.content_policy_fallbacks,
            ),
        ];
        for (name, list) in lists {
            for (from, to) in list {
                for group in std::iter::once(from).chain(to) {
                    if !self.has_group(group) && !group.contains('/') {
                        return Err(Error::configuration(format!(
                            "{name} names {group:?}, which is neither a group of model_list \
                             nor a provider/model id"
                        )));
                    }
                }
            }
        }
        Ok(self)
    }

    /// Reads the configuration from a tree (the YAML reader's, or JSON's), `file` naming it
    /// in errors and `env` answering `os.environ/NAME` values.
    pub(crate) fn from_node(
        root: &Node,
        file: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RouterConfig, Error> {
        let reader = Reader { file, env };
        let mut config = RouterConfig::default();
        // The cache is read last: a Redis cache may take the router's address.
        let mut litellm_settings = None;
        let Value::Map(sections) = &root.value else {
            return Err(reader.fail(
                root,
                format!("expected a mapping of sections, found {}", root.kind()),
            ));
        };
        for (section, node) in sections {
            match section.as_str() {
                "model_list" => {
                    let Value::List(entries) = &node.value else {
                        return Err(reader.fail(
                            node,
                            format!("model_list must be a list, found {}", node.kind()),
                        ));
                    };
                    for entry in entries {
                        let deployment = reader.deployment(entry, &mut config.ignored_keys)?;
                        config.deployments.push(deployment);
                    }
                }
                "router_settings" => reader.settings(node, "router_settings", &mut config)?,
                "litellm_settings" => {
                    reader.settings(node, "litellm_settings", &mut config)?;
                    litellm_settings = Some(node);
                }
                other => config.ignored_keys.push(other.to_owned()),
            }
        }
        if let Some(node) = litellm_settings {
            config.cache = reader.cache(node, &config.settings)?;
        }
        config
            .checked()
            .map_err(|error| Error::configuration(format!("{file}: {}", error.message())))
    }

    /// Reads LiteLLM's `config.yaml`: `text` is the file's content, `file` its name (for
    /// errors, which say the line), `env` answers `os.environ/NAME` values (the transports
    /// pass `std::env::var`). Unknown keys are kept in
    /// [`ignored_keys`](Self::ignored_keys), never an error; a malformed file, a value of
    /// the wrong type, a missing variable or an unknown strategy is a `Configuration` error.
    ///
    /// ```
    /// use onellm_core::router::RouterConfig;
    ///
    /// let yaml = "
    /// model_list:
    ///   - model_name: smart
    ///     litellm_params:
    ///       model: openai/gpt-4o
    ///       api_key: os.environ/TEAM_OPENAI_KEY
    ///       rpm: 3
    /// router_settings:
    ///   routing_strategy: least-busy
    /// ";
    /// let env = |name: &str| (name == "TEAM_OPENAI_KEY").then(|| "sk-team".to_owned());
    /// let config = RouterConfig::from_yaml(yaml, "proxy.yaml", &env).unwrap();
    /// assert_eq!(config.deployments[0].rpm, Some(3));
    ///
    /// let error = RouterConfig::from_yaml("model_list:\n  - model_name: [", "bad.yaml", &env).unwrap_err();
    /// assert!(error.message().starts_with("bad.yaml:"), "{error}");
    /// ```
    #[cfg(feature = "yaml")]
    pub fn from_yaml(
        text: &str,
        file: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RouterConfig, Error> {
        let root = super::yaml::parse(text, file)?;
        RouterConfig::from_node(&root, file, env)
    }

    /// Reads the same configuration from JSON (LiteLLM's keys), without line numbers.
    pub fn from_json(
        value: &serde_json::Value,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RouterConfig, Error> {
        RouterConfig::from_node(&Node::from_json(value), "configuration", env)
    }
}

/// Reads values out of a tree, naming the file and line in every error.
struct Reader<'a> {
    file: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Reader<'_> {
    fn fail(&self, node: &Node, message: String) -> Error {
        if node.line > 0 {
            Error::configuration(format!("{}:{}: {message}", self.file, node.line))
        } else {
            Error::configuration(format!("{}: {message}", self.file))
        }
    }

    /// A string, with `os.environ/NAME` read from the environment.
    fn string(&self, node: &Node, key: &str) -> Result<String, Error> {
        let text = match &node.value {
            Value::Str(text) => text.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            _ => {
                return Err(self.fail(
                    node,
                    format!("{key} must be a string, found {}", node.kind()),
                ))
            }
        };
        match text.strip_prefix("os.environ/") {
            Some(name) => (self.env)(name.trim()).ok_or_else(|| {
                self.fail(
                    node,
                    format!("{key} names the environment variable {name}, which is not set"),
                )
            }),
            None => Ok(text),
        }
    }

    fn number(&self, node: &Node, key: &str) -> Result<f64, Error> {
        let number = match &node.value {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Str(_) => self.string(node, key)?.trim().parse().ok(),
            _ => None,
        };
        number
            .filter(|n: &f64| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| {
                self.fail(
                    node,
                    format!("{key} must be a number of 0 or more, found {}", node.kind()),
                )
            })
    }

    fn whole(&self, node: &Node, key: &str) -> Result<u64, Error> {
        let number = self.number(node, key)?;
        if number.fract() != 0.0 || number > u64::MAX as f64 {
            return Err(self.fail(
                node,
                format!("{key} must be a whole number, found {number}"),
            ));
        }
        Ok(number as u64)
    }

    fn small(&self, node: &Node, key: &str) -> Result<u32, Error> {
        let number = self.whole(node, key)?;
        u32::try_from(number).map_err(|_| self.fail(node, format!("{key} is too large: {number}")))
    }

    fn seconds(&self, node: &Node, key: &str) -> Result<Duration, Error> {
        let seconds = self.number(node, key)?;
        Duration::try_from_secs_f64(seconds).map_err(|_| {
            self.fail(
                node,
                format!("{key} is not a duration in seconds: {seconds}"),
            )
        })
    }

    fn boolean(&self, node: &Node, key: &str) -> Result<bool, Error> {
        match &node.value {
            Value::Bool(b) => Ok(*b),
            Value::Str(text) if text == "true" || text == "True" => Ok(true),
            Value::Str(text) if text == "false" || text == "False" => Ok(false),
            _ => Err(self.fail(
                node,
                format!("{key} must be true or false, found {}", node.kind()),
            )),
        }
    }

    fn strings(&self, node: &Node, key: &str) -> Result<Vec<String>, Error> {
        match &node.value {
            Value::List(items) => items.iter().map(|item| self.string(item, key)).collect(),
            Value::Str(_) => Ok(vec![self.string(node, key)?]),
            _ => Err(self.fail(
                node,
                format!("{key} must be a list of names, found {}", node.kind()),
            )),
        }
    }

    /// `[{"group": ["fallback", …]}, …]` (LiteLLM's shape), or one mapping of them.
    fn fallbacks(&self, node: &Node, key: &str) -> Result<Vec<(String, Vec<String>)>, Error> {
        let mut out = Vec::new();
        let maps: Vec<&Node> = match &node.value {
            Value::List(items) => items.iter().collect(),
            Value::Map(_) => vec![node],
            _ => {
                return Err(self.fail(
                    node,
                    format!(
                        "{key} must be a list of {{group: [fallbacks]}}, found {}",
                        node.kind()
                    ),
                ))
            }
        };
        for map in maps {
            let Value::Map(entries) = &map.value else {
                return Err(self.fail(
                    map,
                    format!(
                        "each {key} entry must be {{group: [fallbacks]}}, found {}",
                        map.kind()
                    ),
                ));
            };
            for (group, targets) in entries {
                out.push((group.clone(), self.strings(targets, key)?));
            }
        }
        Ok(out)
    }

    fn deployment(&self, entry: &Node, ignored: &mut Vec<String>) -> Result<Deployment, Error> {
        let Value::Map(fields) = &entry.value else {
            return Err(self.fail(
                entry,
                format!(
                    "a model_list entry must be a mapping, found {}",
                    entry.kind()
                ),
            ));
        };
        let group = match entry.get("model_name") {
            Some(node) => self.string(node, "model_name")?,
            None => return Err(self.fail(entry, "a model_list entry needs model_name".to_owned())),
        };
        let Some(params) = entry.get("litellm_params") else {
            return Err(self.fail(
                entry,
                format!("model_list entry {group:?} needs litellm_params"),
            ));
        };
        let Value::Map(params_entries) = &params.value else {
            return Err(self.fail(
                params,
                format!("litellm_params must be a mapping, found {}", params.kind()),
            ));
        };
        let Some(model_node) = params.get("model") else {
            return Err(self.fail(
                params,
                format!("litellm_params of {group:?} needs model (provider/model)"),
            ));
        };
        let model = self.string(model_node, "model")?;
        if let Err(error) = ModelId::parse(&model) {
            return Err(self.fail(model_node, error.message().to_owned()));
        }
        let mut deployment = Deployment::new(group, model);
        let provider = deployment.provider().to_owned();
        for (key, node) in params_entries {
            let overrides = std::mem::take(&mut deployment.overrides);
            deployment.overrides = match key.as_str() {
                "model" => overrides,
                "api_key" => overrides.api_key(&provider, ApiKey::new(self.string(node, key)?)),
                "api_base" => overrides.base_url(&provider, self.string(node, key)?),
                "api_version" => {
                    overrides.option(&provider, "api_version", self.string(node, key)?)
                }
                "aws_region_name" => overrides.option(&provider, "region", self.string(node, key)?),
                "vertex_project" => overrides.option(&provider, "project", self.string(node, key)?),
                "vertex_location" => {
                    overrides.option(&provider, "location", self.string(node, key)?)
                }
                other => {
                    match other {
                        "rpm" => deployment.rpm = Some(self.whole(node, key)?),
                        "tpm" => deployment.tpm = Some(self.whole(node, key)?),
                        "weight" => deployment.weight = Some(self.number(node, key)?),
                        "order" => deployment.order = Some(self.small(node, key)?),
                        "max_parallel_requests" => {
                            deployment.max_parallel_requests = Some(self.small(node, key)?)
                        }
                        "timeout" | "request_timeout" => {
                            deployment.timeout = Some(self.seconds(node, key)?)
                        }
                        "cooldown_time" => {
                            deployment.cooldown_time = Some(self.seconds(node, key)?)
                        }
                        "input_cost_per_token" => {
                            deployment.input_cost_per_token = Some(self.number(node, key)?)
                        }
                        "output_cost_per_token" => {
                            deployment.output_cost_per_token = Some(self.number(node, key)?)
                        }
                        _ => ignored.push(format!("litellm_params.{other}")),
                    }
                    overrides
                }
            };
        }
        if let Some(info) = entry.get("model_info") {
            if let Some(id) = info.get("id") {
                deployment.id = self.string(id, "model_info.id")?;
            }
        }
        for (key, _) in fields {
            if !matches!(key.as_str(), "model_name" | "litellm_params" | "model_info") {
                ignored.push(format!("model_list.{key}"));
            }
        }
        Ok(deployment)
    }

    fn settings(&self, node: &Node, section: &str, config: &mut RouterConfig) -> Result<(), Error> {
        let Value::Map(entries) = &node.value else {
            return Err(self.fail(
                node,
                format!("{section} must be a mapping, found {}", node.kind()),
            ));
        };
        let mut host = None;
        let mut port = None;
        let mut password = None;
        let settings = &mut config.settings;
        for (key, value) in entries {
            match key.as_str() {
                "routing_strategy" => {
                    let name = self.string(value, key)?;
                    settings.strategy = RoutingStrategy::parse(&name).ok_or_else(|| {
                        self.fail(
                            value,
                            format!(
                            "unknown routing_strategy {name:?}: use simple-shuffle, least-busy, \
                             latency-based-routing, usage-based-routing-v2 or cost-based-routing"
                        ),
                        )
                    })?;
                }
                "num_retries" => settings.num_retries = Some(self.small(value, key)?),
                "timeout" | "request_timeout" => settings.timeout = Some(self.seconds(value, key)?),
                "allowed_fails" => settings.allowed_fails = self.small(value, key)?,
                "cooldown_time" => settings.cooldown_time = self.seconds(value, key)?,
                "disable_cooldowns" => settings.disable_cooldowns = self.boolean(value, key)?,
                "fallbacks" => settings.fallbacks = self.fallbacks(value, key)?,
                "context_window_fallbacks" => {
                    settings.context_window_fallbacks = self.fallbacks(value, key)?
                }
                "content_policy_fallbacks" => {
                    settings.content_policy_fallbacks = self.fallbacks(value, key)?
                }
                "default_fallbacks" => settings.default_fallbacks = self.strings(value, key)?,
                "redis_url" => settings.redis_url = Some(ApiKey::new(self.string(value, key)?)),
                "redis_host" => host = Some(self.string(value, key)?),
                "redis_port" => port = Some(self.whole(value, key)?),
                "redis_password" => password = Some(self.string(value, key)?),
                // The cache's keys: read by `cache`.
                "cache" | "cache_params" if section == "litellm_settings" => {}
                other => config.ignored_keys.push(format!("{section}.{other}")),
            }
        }
        if let Some(host) = host {
            settings.redis_url = Some(redis_url(&host, port, password.as_deref()));
        }
        Ok(())
    }

    /// The response cache of `litellm_settings` (`cache: true` and `cache_params`), if on.
    /// A Redis cache without its own address uses the router's (`settings.redis_url`).
    fn cache(
        &self,
        node: &Node,
        settings: &RouterSettings,
    ) -> Result<Option<CacheSettings>, Error> {
        let Value::Map(entries) = &node.value else {
            return Ok(None);
        };
        let find = |name: &str| {
            entries
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, node)| node)
        };
        let on = match find("cache") {
            Some(flag) => self.boolean(flag, "cache")?,
            None => false,
        };
        if !on {
            return Ok(None);
        }
        let mut cache = CacheSettings::memory();
        let Some(params) = find("cache_params") else {
            return Ok(Some(cache));
        };
        let Value::Map(params_entries) = &params.value else {
            return Err(self.fail(
                params,
                format!("cache_params must be a mapping, found {}", params.kind()),
            ));
        };
        let (mut kind, mut url, mut host, mut port, mut password) = (None, None, None, None, None);
        for (key, value) in params_entries {
            match key.as_str() {
                "type" => kind = Some((self.string(value, key)?, value)),
                "url" | "redis_url" => url = Some(self.string(value, key)?),
                "host" => host = Some(self.string(value, key)?),
                "port" => port = Some(self.whole(value, key)?),
                "password" => password = Some(self.string(value, key)?),
                "ttl" => cache.ttl = self.seconds(value, key)?,
                "namespace" => cache.namespace = Some(self.string(value, key)?),
                // LiteLLM's `supported_call_types`, `mode`, … do not apply here.
                _ => {}
            }
        }
        match kind {
            None => {}
            Some((name, _)) if name == "local" || name == "in-memory" => {}
            Some((name, at)) if name == "redis" => {
                let url = match (url, host) {
                    (Some(url), _) => ApiKey::new(url),
                    (None, Some(host)) => redis_url(&host, port, password.as_deref()),
                    (None, None) => settings.redis_url.clone().ok_or_else(|| {
                        self.fail(
                            at,
                            "cache_params type redis needs host (or url), or router_settings' \
                             redis_host"
                                .to_owned(),
                        )
                    })?,
                };
                cache.backend = CacheBackend::Redis(StoreConfig {
                    url,
                    timeout: crate::store::DEFAULT_STORE_TIMEOUT,
                });
            }
            Some((name, at)) => {
                return Err(self.fail(
                    at,
                    format!("unknown cache type {name:?}: use local or redis"),
                ))
            }
        }
        Ok(Some(cache))
    }
}

/// `redis://[:password@]host:port`, the password percent-encoded where a URL needs it.
fn redis_url(host: &str, port: Option<u64>, password: Option<&str>) -> ApiKey {
    let auth = password
        .map(|password| {
            let mut encoded = String::with_capacity(password.len() + 2);
            for c in password.chars() {
                match c {
                    '%' | '@' | ':' | '/' | '?' | '#' => {
                        encoded.push_str(&format!("%{:02X}", u32::from(c)));
                    }
                    c => encoded.push(c),
                }
            }
            format!(":{encoded}@")
        })
        .unwrap_or_default();
    let port = port.unwrap_or(6379);
    ApiKey::new(format!("redis://{auth}{host}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CacheBackend;

    fn read(json: serde_json::Value) -> Result<RouterConfig, Error> {
        RouterConfig::from_json(&json, &|name| {
            (name == "REDIS_PW").then(|| "p@ss".to_owned())
        })
    }

    #[test]
    fn litellm_settings_turn_the_cache_on() {
        let off = read(serde_json::json!({"litellm_settings": {"num_retries": 2}})).unwrap();
        assert!(off.cache.is_none());
        let local = read(serde_json::json!({"litellm_settings": {"cache": true}})).unwrap();
        assert!(matches!(
            local.cache.unwrap().backend,
            CacheBackend::Memory { .. }
        ));
        let redis = read(
            serde_json::json!({"litellm_settings": {"cache": true, "cache_params": {
            "type": "redis", "host": "cache.internal", "port": 6380,
            "password": "os.environ/REDIS_PW", "ttl": 60, "namespace": "evals"}}}),
        )
        .unwrap()
        .cache
        .unwrap();
        let CacheBackend::Redis(store) = &redis.backend else {
            panic!("a Redis cache")
        };
        assert_eq!(store.url.expose(), "redis://:p%40ss@cache.internal:6380");
        assert_eq!(redis.ttl, Duration::from_secs(60));
        assert_eq!(redis.namespace.as_deref(), Some("evals"));
        assert!(!format!("{redis:?}").contains("p@ss"));
    }

    #[test]
    fn a_redis_cache_without_an_address_takes_the_routers_or_fails() {
        let shared = read(serde_json::json!({
            "router_settings": {"redis_host": "r", "redis_port": 1},
            "litellm_settings": {"cache": true, "cache_params": {"type": "redis"}}}))
        .unwrap();
        assert_eq!(
            shared.cache.unwrap().store().unwrap().url.expose(),
            "redis://r:1"
        );
        let error = read(serde_json::json!({
            "litellm_settings": {"cache": true, "cache_params": {"type": "redis"}}}))
        .unwrap_err();
        assert!(error.message().contains("needs host"), "{error}");
        let error = read(serde_json::json!({
            "litellm_settings": {"cache": true, "cache_params": {"type": "s3"}}}))
        .unwrap_err();
        assert!(
            error.message().contains("unknown cache type \"s3\""),
            "{error}"
        );
    }
}
