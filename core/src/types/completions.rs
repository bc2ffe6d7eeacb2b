//! The legacy text-completions endpoint (`/v1/completions`).

use std::collections::BTreeMap;

use super::extra::deserialize_keeping_extra;
use crate::error::{CallReport, ReportSlot};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::request::{Stop, StreamOptions};
use super::response::{FinishReason, Usage};
use super::Extra;

/// A legacy completions request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompletionRequest {
    /// The model: a `provider/model` id, a bare model name the catalog knows, or a router
    /// group's name.
    pub model: String,
    /// The text (or texts) to complete.
    pub prompt: Prompt,
    /// Text that comes after the completion, for insertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// The most tokens the completion may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature: higher is more random.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling: only the tokens making up this much probability mass are drawn from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// How many completions to generate per prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Read so that an OpenAI request body parses, but never sent: legacy completions are made
    /// whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Never sent, like `stream`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// How many most likely tokens to return the log probabilities of, per position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<u32>,
    /// Whether the prompt is repeated before the completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo: Option<bool>,
    /// Sequences that end the completion where the model produces them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Penalizes tokens that already appeared, encouraging new topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Penalizes tokens by how often they appeared, discouraging repetition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Generates this many completions on the server and returns the `n` best.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_of: Option<u32>,
    /// Token id (as text) → bias added to its logit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<BTreeMap<String, f64>>,
    /// A seed for providers that sample deterministically given one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// An id of the end user, for the provider's abuse monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// OneLLM: models to try, in order, when this one fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_models: Option<Vec<String>>,
    /// OneLLM: extra attempts per model on retryable errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// OneLLM: the total deadline of this call in seconds, over every attempt and wait
    /// (beats the client's timeout and `ONELLM_TIMEOUT`). Never sent to a provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// OneLLM: this call's cache controls (`no-cache`, `no-store`, `ttl`, `s-maxage`,
    /// `namespace`, as LiteLLM spells them). Never sent to a provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<crate::cache::CacheControl>,
    /// Parameters this version does not model, forwarded verbatim to the provider.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CompletionRequest {
    /// A copy addressed to `model` (the provider's own model name) with OneLLM's fields
    /// (`fallback_models`, `retries`, `timeout`) removed: what an OpenAI-format provider is
    /// sent. Kept beside the fields so a new OneLLM field is cleared in one place.
    pub fn for_provider(&self, model: &str) -> Self {
        let mut body = self.clone();
        model.clone_into(&mut body.model);
        body.fallback_models = None;
        body.retries = None;
        body.timeout = None;
        body.cache = None;
        body
    }

    /// A request completing `prompt` with `model`.
    pub fn new(model: impl Into<String>, prompt: impl Into<String>) -> Self {
        CompletionRequest {
            model: model.into(),
            prompt: Prompt::One(prompt.into()),
            ..Default::default()
        }
    }

    /// Sets `max_tokens`.
    ///
    /// ```
    /// # use onellm_core::CompletionRequest;
    /// let request = CompletionRequest::new("openai/gpt-3.5-turbo-instruct", "Once").max_tokens(16);
    /// assert_eq!(request.max_tokens, Some(16));
    /// ```
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Sets `temperature`.
    ///
    /// ```
    /// # use onellm_core::CompletionRequest;
    /// let request = CompletionRequest::new("openai/gpt-3.5-turbo-instruct", "Once").temperature(0.0);
    /// assert_eq!(request.temperature, Some(0.0));
    /// ```
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets the fallback models, tried in order (OneLLM's `fallback_models`).
    ///
    /// ```
    /// # use onellm_core::CompletionRequest;
    /// let request = CompletionRequest::new("openai/gpt-3.5-turbo-instruct", "Once")
    ///     .fallback_models(["together/meta-llama/Llama-3-8b-hf"]);
    /// assert_eq!(request.fallback_models.unwrap().len(), 1);
    /// ```
    pub fn fallback_models<I, S>(mut self, models: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fallback_models = Some(models.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the extra attempts per model on retryable errors (OneLLM's `retries`).
    ///
    /// ```
    /// # use onellm_core::CompletionRequest;
    /// let request = CompletionRequest::new("openai/gpt-3.5-turbo-instruct", "Once").retries(2);
    /// assert_eq!(request.retries, Some(2));
    /// ```
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// Sets this call's total deadline (OneLLM's `timeout` field, in seconds).
    ///
    /// ```
    /// # use onellm_core::CompletionRequest;
    /// # use std::time::Duration;
    /// let request = CompletionRequest::new("openai/gpt-3.5-turbo-instruct", "Once")
    ///     .with_timeout(Duration::from_secs(10));
    /// assert_eq!(request.timeout, Some(10.0));
    /// ```
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout.as_secs_f64());
        self
    }
}

/// `prompt`: one text or several (token prompts are kept as JSON in `Other`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Prompt {
    /// One prompt.
    One(String),
    /// Several prompts, completed separately.
    Many(Vec<String>),
    /// Any other form (token arrays), sent as it is.
    Other(Value),
}

impl Default for Prompt {
    fn default() -> Self {
        Prompt::One(String::new())
    }
}

/// A legacy completions response (also the shape of each streamed completions chunk).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompletionResponse {
    /// The provider's id for the completion.
    pub id: String,
    /// Always `text_completion`.
    pub object: String,
    /// When it was made, in Unix seconds, as the provider says.
    pub created: u64,
    /// The model that answered, as the provider names it.
    pub model: String,
    /// The completions generated.
    pub choices: Vec<CompletionChoice>,
    /// The tokens used, and what they cost; `None` when the provider reports no usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// OpenAI's id of the backend configuration that answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// Fields this version does not model, kept verbatim (and serialized back).
    #[serde(flatten)]
    pub extra: Extra,
    /// How the call that produced this went ([`report`](Self::report)); not part of the
    /// JSON.
    #[serde(skip)]
    pub report: ReportSlot,
}

deserialize_keeping_extra!(CompletionResponse {
    id: "id",
    object: "object" => { text_completion_object() },
    created: "created",
    model: "model",
    choices: "choices",
    usage: "usage",
    system_fingerprint: "system_fingerprint",
} not_in_json: report);

fn text_completion_object() -> String {
    "text_completion".to_owned()
}

impl CompletionResponse {
    /// How the call that produced this went: which provider and model answered, after which
    /// attempts (each with its model, outcome, status, time taken and the wait before it).
    /// `None` for a value not returned by a client call (parsed or built by hand).
    pub fn report(&self) -> Option<&CallReport> {
        self.report.get()
    }

    /// The first choice's text.
    pub fn text(&self) -> &str {
        self.choices.first().map_or("", |choice| &choice.text)
    }
}

/// One completion alternative.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionChoice {
    /// The completion's text (after the prompt when `echo` was set).
    #[serde(default)]
    pub text: String,
    /// Its position among the choices.
    #[serde(default)]
    pub index: u32,
    /// The log probabilities of its tokens, as the provider sent them.
    #[serde(default)]
    pub logprobs: Option<Value>,
    /// Why the model stopped.
    #[serde(default)]
    pub finish_reason: Option<FinishReason>,
}
