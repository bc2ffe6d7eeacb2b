//! The [`Registry`]: the built-in provider table, the providers' settings, and the
//! resolution of a `provider/model` id to a configured adapter.
//!
//! Settings never come from `std::env` here: the transports pass a lookup closure
//! (`|name| std::env::var(name).ok()`), tests pass a map. For a provider `P` (upper-cased,
//! e.g. `OPENAI`, `LLAMA_CPP`) these variables are read, first found wins:
//!
//! | setting | variables |
//! |---|---|
//! | API key | `ONELLM_PROVIDERS__P__API_KEY`, `P_API_KEY` (plus per-provider aliases) |
//! | base URL | `ONELLM_PROVIDERS__P__API_BASE`, `P_BASE_URL`, `P_API_BASE` |
//! | timeout (seconds) | `ONELLM_PROVIDERS__P__TIMEOUT` |
//! | retries | `ONELLM_PROVIDERS__P__MAX_RETRIES` |
//!
//! and `ONELLM_TIMEOUT` (seconds) for the total deadline of every call. Settings given
//! explicitly ([`Registry::set_api_key`], …) beat the environment.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::api_key::ApiKey;
use crate::error::Error;
use crate::model::ModelId;
use crate::provider::anthropic::Anthropic;
use crate::provider::bedrock::Bedrock;
use crate::provider::cohere::Cohere;
use crate::provider::gemini::Gemini;
use crate::provider::ollama::Ollama;
use crate::provider::openai::OpenAiCompatible;
use crate::provider::profiles::{self, Profile};
use crate::provider::Provider;
use crate::settings::ProviderSettings;

/// A provider-specific setting a built-in provider reads from the environment: stored under
/// `name` in [`ProviderSettings::options`] (or [`ProviderSettings::secrets`] when `secret`),
/// from the first of `vars` that is set, after `ONELLM_PROVIDERS__P__NAME`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OptionVar {
    pub name: &'static str,
    pub vars: &'static [&'static str],
    pub secret: bool,
}

/// Makes a built-in adapter from its name and settings.
type BuildAdapter = fn(&str, &ProviderSettings) -> Result<Arc<dyn Provider>, Error>;

/// How the registry makes an adapter for a provider name.
#[derive(Clone)]
enum Spec {
    OpenAiCompatible(Profile),
    Builtin(Builtin),
    Instance(Arc<dyn Provider>),
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spec::OpenAiCompatible(profile) => write!(f, "OpenAiCompatible({})", profile.name),
            Spec::Builtin(_) => f.write_str("Builtin"),
            Spec::Instance(provider) => write!(f, "Instance({})", provider.name()),
        }
    }
}

/// A built-in adapter that is not an OpenAI-compatible profile.
#[derive(Clone, Copy)]
pub(crate) struct Builtin {
    /// Whether [`Registry::resolve`] refuses the provider without an API key. Providers that
    /// authenticate otherwise (Vertex AI tokens, AWS credentials) say `false` and check in
    /// `build`.
    pub key_required: bool,
    /// Extra variables that hold the key, after `P_API_KEY`.
    pub key_aliases: &'static [&'static str],
    /// Provider-specific settings read from the environment.
    pub options: &'static [OptionVar],
    pub build: BuildAdapter,
}

/// Known providers and their settings; resolves `provider/model` ids to adapters.
///
/// ```
/// use onellm_core::{ModelId, Registry};
///
/// let env = |name: &str| (name == "OPENAI_API_KEY").then(|| "sk-test".to_owned());
/// let registry = Registry::from_lookup(env);
/// let provider = registry.resolve(&ModelId::parse("openai/gpt-4o-mini").unwrap()).unwrap();
/// assert_eq!(provider.name(), "openai");
/// // A provider without a key says which variable to set.
/// let error = registry.resolve(&ModelId::parse("groq/llama-3.3-70b").unwrap()).unwrap_err();
/// assert!(error.to_string().contains("GROQ_API_KEY"));
/// ```
#[derive(Debug, Clone)]
pub struct Registry {
    specs: BTreeMap<String, Spec>,
    settings: BTreeMap<String, ProviderSettings>,
    timeout: Option<Duration>,
    adapters: AdapterCache,
}

/// Adapters already built by [`Registry::resolve`], so a call does not rebuild its provider's
/// adapter (profile and settings copies) every time. Emptied by every change to the
/// registry, and not shared with clones, so an adapter always matches the settings.
#[derive(Default)]
struct AdapterCache(std::sync::Mutex<BTreeMap<String, Arc<dyn Provider>>>);

impl AdapterCache {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<dyn Provider>>> {
        // A panic elsewhere while holding the lock leaves a usable map: at worst a rebuild.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn clear(&mut self) {
        self.0
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }
}

impl Clone for AdapterCache {
    fn clone(&self) -> Self {
        AdapterCache::default()
    }
}

impl fmt::Debug for AdapterCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdapterCache")
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// The built-in providers with no settings.
    pub fn new() -> Self {
        let mut specs = BTreeMap::new();
        for profile in profiles::builtin() {
            specs.insert(profile.name.clone(), Spec::OpenAiCompatible(profile));
        }
        // Gemini on AI Studio: `google` (OneLLM's name), `gemini` an alias.
        let google = Builtin {
            key_required: true,
            key_aliases: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
            options: &[],
            build: |name, settings| Ok(Arc::new(Gemini::ai_studio(settings).with_name(name))),
        };
        // Gemini on Vertex AI: `vertexai` (OneLLM's name), `vertex` an alias.
        let vertex = Builtin {
            key_required: false,
            key_aliases: &["VERTEX_API_KEY"],
            options: &[
                OptionVar {
                    name: "project",
                    vars: &["VERTEX_PROJECT", "GOOGLE_CLOUD_PROJECT"],
                    secret: false,
                },
                OptionVar {
                    name: "location",
                    vars: &["VERTEX_LOCATION", "GOOGLE_CLOUD_LOCATION"],
                    secret: false,
                },
                OptionVar {
                    name: "access_token",
                    vars: &["VERTEX_ACCESS_TOKEN"],
                    secret: true,
                },
            ],
            build: |name, settings| Ok(Arc::new(Gemini::vertex(settings)?.with_name(name))),
        };
        let builtins: [(&str, Builtin); 9] = [
            (
                "anthropic",
                Builtin {
                    key_required: true,
                    key_aliases: &[],
                    options: &[],
                    build: |_, settings| Ok(Arc::new(Anthropic::new(settings))),
                },
            ),
            (
                "azure",
                Builtin {
                    // A key, an Entra ID token or the config file: checked when built.
                    key_required: false,
                    key_aliases: &["AZURE_OPENAI_API_KEY"],
                    options: &[
                        OptionVar {
                            name: "endpoint",
                            vars: &["AZURE_OPENAI_ENDPOINT"],
                            secret: false,
                        },
                        OptionVar {
                            name: "api_version",
                            vars: &["AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION"],
                            secret: false,
                        },
                        OptionVar {
                            name: "ad_token",
                            vars: &["AZURE_OPENAI_AD_TOKEN"],
                            secret: true,
                        },
                    ],
                    build: |_, settings| Ok(Arc::new(OpenAiCompatible::azure(settings)?)),
                },
            ),
            (
                "cohere",
                Builtin {
                    key_required: true,
                    key_aliases: &["CO_API_KEY"],
                    options: &[],
                    build: |_, settings| Ok(Arc::new(Cohere::new(settings))),
                },
            ),
            (
                // Native `/api/chat`; the OpenAI-compatible `/v1` is the `ollama_openai` profile.
                "ollama",
                Builtin {
                    key_required: false,
                    key_aliases: &[],
                    options: &[],
                    build: |_, settings| Ok(Arc::new(Ollama::new(settings))),
                },
            ),
            ("google", google),
            ("gemini", google),
            ("vertexai", vertex),
            ("vertex", vertex),
            (
                "bedrock",
                Builtin {
                    // SigV4 key pairs are the usual credentials; a Bedrock API key is the
                    // alternative. `Bedrock::new` says which variables to set.
                    key_required: false,
                    key_aliases: &["AWS_BEARER_TOKEN_BEDROCK"],
                    options: &[
                        OptionVar {
                            name: "region",
                            vars: &["AWS_REGION", "AWS_DEFAULT_REGION"],
                            secret: false,
                        },
                        OptionVar {
                            name: "access_key_id",
                            vars: &["AWS_ACCESS_KEY_ID"],
                            secret: true,
                        },
                        OptionVar {
                            name: "secret_access_key",
                            vars: &["AWS_SECRET_ACCESS_KEY"],
                            secret: true,
                        },
                        OptionVar {
                            name: "session_token",
                            vars: &["AWS_SESSION_TOKEN"],
                            secret: true,
                        },
                    ],
                    build: |_, settings| Ok(Arc::new(Bedrock::new(settings)?)),
                },
            ),
        ];
        for (name, builtin) in builtins {
            specs.insert(name.to_owned(), Spec::Builtin(builtin));
        }
        Registry {
            specs,
            settings: BTreeMap::new(),
            timeout: None,
            adapters: AdapterCache::default(),
        }
    }

    /// The built-in providers with settings read through `lookup` (see the module docs).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let mut registry = Self::new();
        registry.apply_lookup(lookup);
        registry
    }

    /// Fills every setting not yet set from `lookup`, for every registered provider.
    /// Register custom providers before calling this so their variables are read too.
    pub fn apply_lookup(&mut self, lookup: impl Fn(&str) -> Option<String>) {
        self.adapters.clear();
        let read = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if self.timeout.is_none() {
            self.timeout = read("ONELLM_TIMEOUT").and_then(|v| parse_seconds(&v));
        }
        let names: Vec<(String, Vec<String>, &'static [OptionVar])> = self
            .specs
            .iter()
            .map(|(name, spec)| (name.clone(), spec_key_aliases(spec), spec_options(spec)))
            .collect();
        for (name, aliases, options) in names {
            let upper = name.to_ascii_uppercase().replace('-', "_");
            let prefixed = |field: &str| format!("ONELLM_PROVIDERS__{upper}__{field}");
            let settings = self.settings.entry(name).or_default();
            if settings.api_key.is_none() {
                let mut candidates = vec![prefixed("API_KEY"), format!("{upper}_API_KEY")];
                candidates.extend(aliases);
                settings.api_key = candidates.iter().find_map(|v| read(v)).map(ApiKey::new);
            }
            if settings.base_url.is_none() {
                settings.base_url = [
                    prefixed("API_BASE"),
                    format!("{upper}_BASE_URL"),
                    format!("{upper}_API_BASE"),
                ]
                .iter()
                .find_map(|v| read(v));
            }
            if settings.timeout.is_none() {
                settings.timeout = read(&prefixed("TIMEOUT")).and_then(|v| parse_seconds(&v));
            }
            if settings.max_retries.is_none() {
                settings.max_retries = read(&prefixed("MAX_RETRIES")).and_then(|v| v.parse().ok());
            }
            for option in options {
                let known = if option.secret {
                    settings.secrets.contains_key(option.name)
                } else {
                    settings.options.contains_key(option.name)
                };
                if known {
                    continue;
                }
                let own = prefixed(&option.name.to_ascii_uppercase());
                let value = std::iter::once(own.as_str())
                    .chain(option.vars.iter().copied())
                    .find_map(&read);
                if let Some(value) = value {
                    if option.secret {
                        settings
                            .secrets
                            .insert(option.name.to_owned(), ApiKey::new(value));
                    } else {
                        settings.options.insert(option.name.to_owned(), value);
                    }
                }
            }
        }
    }

    /// Reads the settings that live in files named by environment variables: today Azure's
    /// `AZURE_OPENAI_CONFIG_PATH` (see [`crate::provider::azure`]). The core does no I/O:
    /// `read_file` does (the transports pass `std::fs::read_to_string`). A variable that names
    /// a file that cannot be read is a `Configuration` error, so a typo surfaces when the
    /// client is built rather than as a missing key later.
    pub fn apply_config_files(
        &mut self,
        lookup: impl Fn(&str) -> Option<String>,
        read_file: impl Fn(&str) -> std::io::Result<String>,
    ) -> Result<(), Error> {
        use crate::provider::azure::CONFIG_PATH_VAR;
        let known = self
            .settings("azure")
            .is_some_and(|s| s.secret("config_json").is_some());
        let path = lookup(CONFIG_PATH_VAR).filter(|p| !p.trim().is_empty());
        if let (false, Some(path)) = (known, path) {
            let text = read_file(path.trim()).map_err(|e| {
                Error::configuration(format!("cannot read {CONFIG_PATH_VAR} file {path:?}: {e}"))
            })?;
            self.set_secret("azure", "config_json", text);
        }
        Ok(())
    }

    /// Sets a provider-specific setting such as Vertex AI's `project` (beats the environment).
    pub fn set_option(
        &mut self,
        provider: &str,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> &mut Self {
        self.settings_mut(provider)
            .options
            .insert(name.into(), value.into());
        self
    }

    /// Sets a provider-specific secret such as Bedrock's `secret_access_key` (beats the
    /// environment).
    pub fn set_secret(
        &mut self,
        provider: &str,
        name: impl Into<String>,
        value: impl Into<ApiKey>,
    ) -> &mut Self {
        self.settings_mut(provider)
            .secrets
            .insert(name.into(), value.into());
        self
    }

    /// Sets a provider's API key (beats the environment).
    pub fn set_api_key(&mut self, provider: &str, key: impl Into<ApiKey>) -> &mut Self {
        self.settings_mut(provider).api_key = Some(key.into());
        self
    }

    /// Sets a provider's base URL (beats the environment).
    pub fn set_base_url(&mut self, provider: &str, base_url: impl Into<String>) -> &mut Self {
        self.settings_mut(provider).base_url = Some(base_url.into());
        self
    }

    /// Adds a header sent on every request to a provider.
    pub fn add_header(
        &mut self,
        provider: &str,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> &mut Self {
        self.settings_mut(provider)
            .headers
            .push((name.into(), value.into()));
        self
    }

    /// Sets the total deadline for every call (beats `ONELLM_TIMEOUT`).
    pub fn set_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = Some(timeout);
        self
    }

    /// The total deadline for calls, if configured.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// A provider's settings, created empty if absent.
    pub fn settings_mut(&mut self, provider: &str) -> &mut ProviderSettings {
        self.adapters.clear();
        self.settings
            .entry(provider.to_ascii_lowercase())
            .or_default()
    }

    /// A provider's settings, if any were given.
    pub fn settings(&self, provider: &str) -> Option<&ProviderSettings> {
        self.settings.get(provider)
    }

    /// Registers (or replaces) an OpenAI-compatible provider described by a profile.
    pub fn register_openai_compatible(&mut self, profile: Profile) -> &mut Self {
        self.adapters.clear();
        self.specs
            .insert(profile.name.clone(), Spec::OpenAiCompatible(profile));
        self
    }

    /// Registers (or replaces) a provider implemented by the caller.
    pub fn register(&mut self, provider: Arc<dyn Provider>) -> &mut Self {
        self.adapters.clear();
        self.specs.insert(
            provider.name().to_ascii_lowercase(),
            Spec::Instance(provider),
        );
        self
    }

    /// The names of all known providers, sorted.
    pub fn provider_names(&self) -> Vec<&str> {
        self.specs.keys().map(String::as_str).collect()
    }

    /// Checks that `id` is a `provider/model` id of a provider this registry knows — not that
    /// the provider is usable (its key may be missing): a program bug, which a call reports
    /// before sending anything, rather than a deployment matter, which makes a skipped
    /// attempt. The error names the id and the closest known provider.
    ///
    /// ```
    /// use onellm_core::Registry;
    ///
    /// let registry = Registry::new();
    /// assert!(registry.check_model_id("openai/gpt-4o-mini").is_ok());
    /// let typo = registry.check_model_id("opnai/gpt-4o-mini").unwrap_err();
    /// assert!(typo.to_string().contains("did you mean \"openai\""), "{typo}");
    /// ```
    pub fn check_model_id(&self, id: &str) -> Result<(), Error> {
        let parsed = ModelId::parse(id)?;
        match self.specs.contains_key(parsed.provider()) {
            true => Ok(()),
            false => Err(self.unknown_provider(&parsed)),
        }
    }

    /// The `Configuration` error for a model id whose provider is not registered.
    fn unknown_provider(&self, id: &ModelId) -> Error {
        let name = id.provider();
        let closest = self
            .specs
            .keys()
            .map(|known| (edit_distance(name, known), known))
            .filter(|(distance, known)| *distance <= known.len().max(name.len()) / 2)
            .min();
        let hint = match closest {
            Some((_, known)) => format!("did you mean {known:?}? "),
            None => String::new(),
        };
        Error::configuration(format!(
            "unknown provider {name:?} in model id {id}; {hint}known providers: {}",
            self.provider_names().join(", ")
        ))
    }

    /// The adapter for a model id's provider, configured with its settings.
    pub fn resolve(&self, id: &ModelId) -> Result<Arc<dyn Provider>, Error> {
        let name = id.provider();
        let Some(spec) = self.specs.get(name) else {
            return Err(self.unknown_provider(id));
        };
        let empty = ProviderSettings::default();
        let settings = self.settings.get(name).unwrap_or(&empty);
        let key_required = match spec {
            Spec::OpenAiCompatible(profile) => profile.key_required,
            Spec::Builtin(builtin) => builtin.key_required,
            Spec::Instance(_) => false,
        };
        if key_required && settings.api_key.is_none() {
            let upper = name.to_ascii_uppercase().replace('-', "_");
            let mut vars = vec![format!("{upper}_API_KEY")];
            for alias in spec_key_aliases(spec) {
                if !vars.contains(&alias) {
                    vars.push(alias);
                }
            }
            vars.push(format!("ONELLM_PROVIDERS__{upper}__API_KEY"));
            return Err(Error::configuration(format!(
                "no API key for provider {name}: set {} or configure one on the client",
                vars.join(" or ")
            ))
            .with_origin(name, id.model()));
        }
        if let Some(adapter) = self.adapters.map().get(name) {
            return Ok(Arc::clone(adapter));
        }
        let adapter: Arc<dyn Provider> = match spec {
            Spec::OpenAiCompatible(profile) => {
                Arc::new(OpenAiCompatible::new(profile.clone(), settings)?)
            }
            Spec::Builtin(builtin) => (builtin.build)(name, settings)?,
            Spec::Instance(provider) => Arc::clone(provider),
        };
        self.adapters
            .map()
            .insert(name.to_owned(), Arc::clone(&adapter));
        Ok(adapter)
    }
}

/// The variables read for a provider's key after `P_API_KEY`, in order.
fn spec_key_aliases(spec: &Spec) -> Vec<String> {
    match spec {
        Spec::Builtin(builtin) => builtin
            .key_aliases
            .iter()
            .map(|alias| (*alias).to_owned())
            .collect(),
        Spec::OpenAiCompatible(profile) => profile.key_aliases.clone(),
        Spec::Instance(_) => Vec::new(),
    }
}

fn spec_options(spec: &Spec) -> &'static [OptionVar] {
    match spec {
        Spec::Builtin(builtin) => builtin.options,
        _ => &[],
    }
}

/// The Levenshtein distance between two provider names (short ASCII strings), for
/// suggesting the one a typo meant.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            let insert = current[j] + 1;
            let delete = previous[j + 1] + 1;
            current.push(substitute.min(insert).min(delete));
        }
        previous = current;
    }
    previous[b.len()]
}

fn parse_seconds(text: &str) -> Option<Duration> {
    let seconds: f64 = text.parse().ok()?;
    (seconds.is_finite() && seconds > 0.0)
        .then(|| Duration::try_from_secs_f64(seconds).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn env_precedence_and_explicit_override() {
        let mut registry = Registry::from_lookup(lookup(&[
            ("OPENAI_API_KEY", "sk-env"),
            ("ONELLM_PROVIDERS__OPENAI__API_KEY", "sk-onellm"),
            ("OPENAI_API_BASE", "http://b/v1"),
            ("GROQ_BASE_URL", "http://g/v1"),
            ("ONELLM_TIMEOUT", "2.5"),
            ("ONELLM_PROVIDERS__GROQ__MAX_RETRIES", "4"),
        ]));
        let openai = registry.settings("openai").unwrap();
        assert_eq!(openai.api_key.as_ref().unwrap().expose(), "sk-onellm");
        assert_eq!(openai.base_url.as_deref(), Some("http://b/v1"));
        assert_eq!(registry.timeout(), Some(Duration::from_millis(2500)));
        assert_eq!(registry.settings("groq").unwrap().max_retries, Some(4));
        registry.set_api_key("openai", "sk-explicit");
        assert_eq!(
            registry
                .settings("openai")
                .unwrap()
                .api_key
                .as_ref()
                .unwrap()
                .expose(),
            "sk-explicit"
        );
    }

    #[test]
    fn unknown_provider_lists_known_ones() {
        let error = Registry::new()
            .resolve(&ModelId::parse("nope/x").unwrap())
            .unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Configuration);
        assert!(error.message().contains("groq"));
        assert!(error.message().contains("openai"));
        assert!(error.message().contains("anthropic"));
    }

    #[test]
    fn local_servers_need_no_key_and_custom_needs_a_base_url() {
        let registry = Registry::new();
        assert!(registry
            .resolve(&ModelId::parse("ollama/llama3.2").unwrap())
            .is_ok());
        let error = registry
            .resolve(&ModelId::parse("custom/my-model").unwrap())
            .unwrap_err();
        assert!(error.message().contains("CUSTOM_BASE_URL"), "{error}");
    }

    #[test]
    fn adapters_are_reused_until_settings_change() {
        let mut registry = Registry::from_lookup(lookup(&[("OPENAI_API_KEY", "sk-1")]));
        let id = ModelId::parse("openai/gpt-4o").unwrap();
        let first = registry.resolve(&id).unwrap();
        assert!(Arc::ptr_eq(&first, &registry.resolve(&id).unwrap()));
        let clone = registry.clone();
        assert!(!Arc::ptr_eq(&first, &clone.resolve(&id).unwrap()));
        registry.set_base_url("openai", "http://127.0.0.1:9/v1");
        let changed = registry.resolve(&id).unwrap();
        assert!(!Arc::ptr_eq(&first, &changed));
        let request = crate::ChatRequest::new("openai/gpt-4o").user("x");
        let built = changed.build_chat("gpt-4o", &request, false).unwrap();
        assert_eq!(built.uri(), "http://127.0.0.1:9/v1/chat/completions");
    }

    #[test]
    fn profile_key_aliases_are_read_after_the_litellm_name_and_named_in_errors() {
        // NVIDIA's own variable is enough for `nvidia_nim`.
        let registry = Registry::from_lookup(lookup(&[("NVIDIA_API_KEY", "nvapi-own")]));
        let settings = registry.settings("nvidia_nim").unwrap();
        assert_eq!(settings.api_key.as_ref().unwrap().expose(), "nvapi-own");
        // `<NAME>_API_KEY` (LiteLLM's) comes first when both are set.
        let registry = Registry::from_lookup(lookup(&[
            ("NVIDIA_API_KEY", "nvapi-own"),
            ("NVIDIA_NIM_API_KEY", "nvapi-litellm"),
        ]));
        let settings = registry.settings("nvidia_nim").unwrap();
        assert_eq!(settings.api_key.as_ref().unwrap().expose(), "nvapi-litellm");
        // Without a key, the error names every variable that would do.
        let error = Registry::new()
            .resolve(&ModelId::parse("friendliai/meta-llama-3.1-8b-instruct").unwrap())
            .unwrap_err();
        assert!(error.message().contains("FRIENDLIAI_API_KEY"), "{error}");
        assert!(error.message().contains("FRIENDLI_TOKEN"), "{error}");
        // OVHcloud's AI Endpoints answer without a key (rate-limited).
        assert!(Registry::new()
            .resolve(&ModelId::parse("ovhcloud/gpt-oss-120b").unwrap())
            .is_ok());
    }

    #[test]
    fn api_key_debug_is_redacted() {
        let registry = Registry::from_lookup(lookup(&[("OPENAI_API_KEY", "sk-canary-123")]));
        let shown = format!("{registry:?}");
        assert!(!shown.contains("sk-canary-123"));
        let provider = registry
            .resolve(&ModelId::parse("openai/gpt-4o").unwrap())
            .unwrap();
        assert!(!format!("{provider:?}").contains("sk-canary-123"));
    }
}
