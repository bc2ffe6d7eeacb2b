//! Embeddings request and response.

use super::extra::deserialize_keeping_extra;
use serde::{Deserialize, Serialize};

use super::Extra;
use crate::error::{CallReport, Error, ReportSlot};

/// An embeddings request in OpenAI's shape.
///
/// ```
/// use onellm_core::EmbeddingRequest;
///
/// let request = EmbeddingRequest::new("openai/text-embedding-3-small", ["a", "b"]);
/// assert_eq!(request.input.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    /// The model: a `provider/model` id, a bare model name the catalog knows, or a router
    /// group's name.
    pub model: String,
    /// What to embed: one text, several, or token ids.
    pub input: EmbeddingInput,
    /// `float` or `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    /// The number of dimensions of each vector, for models that can shorten theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
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
    /// Parameters this version does not model, forwarded verbatim to OpenAI-format providers.
    #[serde(flatten)]
    pub extra: Extra,
}

impl EmbeddingRequest {
    /// The input texts, for a provider that embeds text and answers floats only (every
    /// native API but OpenAI's): token-array input or a non-float `encoding_format` is an
    /// `Unsupported` error naming `provider`, never a silent conversion.
    pub fn float_texts(&self, provider: &str) -> Result<Vec<&str>, Error> {
        let texts = self.input.texts().ok_or_else(|| {
            Error::unsupported(format!(
                "{provider} embeddings take texts, not token arrays"
            ))
        })?;
        if self
            .encoding_format
            .as_deref()
            .is_some_and(|format| format != "float")
        {
            return Err(Error::unsupported(format!(
                "{provider} returns float embeddings only (encoding_format)"
            )));
        }
        Ok(texts)
    }

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

    /// A request embedding each of `texts` with `model`.
    pub fn new<I, S>(model: impl Into<String>, texts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        EmbeddingRequest {
            model: model.into(),
            input: EmbeddingInput::Many(texts.into_iter().map(Into::into).collect()),
            encoding_format: None,
            dimensions: None,
            user: None,
            fallback_models: None,
            retries: None,
            timeout: None,
            cache: None,
            extra: Extra::new(),
        }
    }

    /// Sets `dimensions`: shorter vectors, for models that can cut theirs (OpenAI's
    /// `text-embedding-3-*`, Gemini, Cohere v4).
    ///
    /// ```
    /// # use onellm_core::EmbeddingRequest;
    /// let request = EmbeddingRequest::new("openai/text-embedding-3-small", ["a"]).dimensions(256);
    /// assert_eq!(request.dimensions, Some(256));
    /// ```
    pub fn dimensions(mut self, dimensions: u32) -> Self {
        self.dimensions = Some(dimensions);
        self
    }

    /// Sets the fallback models, tried in order (OneLLM's `fallback_models`).
    ///
    /// ```
    /// # use onellm_core::EmbeddingRequest;
    /// let request = EmbeddingRequest::new("openai/text-embedding-3-small", ["a"])
    ///     .fallback_models(["google/text-embedding-004"]);
    /// assert_eq!(request.fallback_models.unwrap(), ["google/text-embedding-004"]);
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
    /// # use onellm_core::EmbeddingRequest;
    /// let request = EmbeddingRequest::new("openai/text-embedding-3-small", ["a"]).retries(3);
    /// assert_eq!(request.retries, Some(3));
    /// ```
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// Sets this call's total deadline (OneLLM's `timeout` field, in seconds).
    ///
    /// ```
    /// # use onellm_core::EmbeddingRequest;
    /// # use std::time::Duration;
    /// let request = EmbeddingRequest::new("openai/text-embedding-3-small", ["a"])
    ///     .with_timeout(Duration::from_millis(2500));
    /// assert_eq!(request.timeout, Some(2.5));
    /// ```
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout.as_secs_f64());
        self
    }
}

/// `input`: one text, several texts, or pre-tokenized input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// One text.
    One(String),
    /// Several texts, one embedding each.
    Many(Vec<String>),
    /// One pre-tokenized input (OpenAI-format providers only).
    Tokens(Vec<u32>),
    /// Several pre-tokenized inputs (OpenAI-format providers only).
    ManyTokens(Vec<Vec<u32>>),
}

impl EmbeddingInput {
    /// How many embeddings the input asks for.
    pub fn len(&self) -> usize {
        match self {
            EmbeddingInput::One(_) | EmbeddingInput::Tokens(_) => 1,
            EmbeddingInput::Many(many) => many.len(),
            EmbeddingInput::ManyTokens(many) => many.len(),
        }
    }

    /// Whether the input asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The texts, or `None` for token input (which only OpenAI-format providers accept).
    pub fn texts(&self) -> Option<Vec<&str>> {
        match self {
            EmbeddingInput::One(one) => Some(vec![one.as_str()]),
            EmbeddingInput::Many(many) => Some(many.iter().map(String::as_str).collect()),
            _ => None,
        }
    }
}

/// An embeddings response in OpenAI's shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbeddingResponse {
    /// Always `list`.
    pub object: String,
    /// One embedding per input, each with the index of its input.
    pub data: Vec<Embedding>,
    /// The model that answered, as the provider names it.
    pub model: String,
    /// The tokens used, and what they cost; `None` when the provider reports no usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<EmbeddingUsage>,
    /// Fields this version does not model, kept verbatim (and serialized back).
    #[serde(flatten)]
    pub extra: Extra,
    /// How the call that produced this went ([`report`](Self::report)); not part of the
    /// JSON.
    #[serde(skip)]
    pub report: ReportSlot,
}

deserialize_keeping_extra!(EmbeddingResponse {
    object: "object" => { list_object() },
    data: "data" => required,
    model: "model",
    usage: "usage",
} not_in_json: report);

impl EmbeddingResponse {
    /// How the call that produced this went: which provider and model answered, after which
    /// attempts (each with its model, outcome, status, time taken and the wait before it).
    /// `None` for a value not returned by a client call (parsed or built by hand).
    pub fn report(&self) -> Option<&CallReport> {
        self.report.get()
    }

    /// The vectors in input order: the `n`th is the `n`th input's, whatever order the
    /// provider listed them in (each carries its input's `index`; entries are sorted by it).
    ///
    /// An `Unsupported` error when an embedding is base64 text (the request asked for
    /// `encoding_format: base64`), which has no float slice to lend.
    ///
    /// ```
    /// use onellm_core::EmbeddingResponse;
    /// use serde_json::json;
    ///
    /// let response: EmbeddingResponse = serde_json::from_value(json!({
    ///     "object": "list", "model": "text-embedding-3-small",
    ///     "data": [
    ///         {"object": "embedding", "index": 1, "embedding": [0.0, 1.0]},
    ///         {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]}
    ///     ]
    /// })).unwrap();
    /// let vectors = response.vectors().unwrap();
    /// assert_eq!(vectors, [[1.0, 0.0], [0.0, 1.0]]);
    /// ```
    pub fn vectors(&self) -> Result<Vec<&[f32]>, Error> {
        self.in_input_order()
            .into_iter()
            .map(Embedding::float_slice)
            .collect()
    }

    /// The vectors in input order, taken out of the response (see
    /// [`vectors`](Self::vectors)), for a caller that keeps them.
    ///
    /// ```
    /// use onellm_core::EmbeddingResponse;
    /// use serde_json::json;
    ///
    /// let response: EmbeddingResponse = serde_json::from_value(json!({
    ///     "data": [{"index": 0, "embedding": [0.5, 0.5]}]
    /// })).unwrap();
    /// let vectors: Vec<Vec<f32>> = response.into_vectors().unwrap();
    /// assert_eq!(vectors, [[0.5, 0.5]]);
    /// ```
    pub fn into_vectors(self) -> Result<Vec<Vec<f32>>, Error> {
        let mut data = self.data;
        data.sort_by_key(|embedding| embedding.index);
        data.into_iter()
            .map(|embedding| match embedding.embedding {
                EmbeddingVector::Float(vector) => Ok(vector),
                EmbeddingVector::Base64(_) => Err(base64_vector_error(embedding.index)),
            })
            .collect()
    }

    /// The entries sorted by `index`; a stable sort, so a provider that leaves `index` out
    /// (every entry then reads as 0) keeps its own order, which is the input's.
    fn in_input_order(&self) -> Vec<&Embedding> {
        let mut entries: Vec<&Embedding> = self.data.iter().collect();
        entries.sort_by_key(|embedding| embedding.index);
        entries
    }
}

fn base64_vector_error(index: u32) -> Error {
    Error::unsupported(format!(
        "embedding {index} is base64 text (encoding_format: base64), not floats; \
         ask for encoding_format float to read vectors"
    ))
}

fn list_object() -> String {
    "list".to_owned()
}

fn embedding_object() -> String {
    "embedding".to_owned()
}

/// One embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// Always `embedding`.
    #[serde(default = "embedding_object")]
    pub object: String,
    /// The position of its input in the request.
    #[serde(default)]
    pub index: u32,
    /// The vector.
    pub embedding: EmbeddingVector,
}

impl Embedding {
    /// The vector as floats; `None` when it is base64 text (`encoding_format: base64`).
    ///
    /// ```
    /// use onellm_core::{Embedding, EmbeddingVector};
    ///
    /// let embedding = Embedding {
    ///     object: "embedding".into(),
    ///     index: 0,
    ///     embedding: EmbeddingVector::Float(vec![0.6, 0.8]),
    /// };
    /// let norm: f32 = embedding.vector().unwrap().iter().map(|x| x * x).sum();
    /// assert!((norm - 1.0).abs() < 1e-6);
    /// ```
    pub fn vector(&self) -> Option<&[f32]> {
        self.embedding.as_slice()
    }

    fn float_slice(&self) -> Result<&[f32], Error> {
        self.vector().ok_or_else(|| base64_vector_error(self.index))
    }
}

/// The vector: floats, or base64 text when `encoding_format: base64` was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    /// The vector's components.
    Float(Vec<f32>),
    /// The components as little-endian `f32` bytes in base64, as `encoding_format: base64`
    /// returns them.
    Base64(String),
}

impl EmbeddingVector {
    /// The floats; `None` for base64 text.
    ///
    /// ```
    /// use onellm_core::EmbeddingVector;
    ///
    /// assert_eq!(EmbeddingVector::Float(vec![1.0]).as_slice(), Some(&[1.0][..]));
    /// assert_eq!(EmbeddingVector::Base64("AACAPw==".into()).as_slice(), None);
    /// ```
    pub fn as_slice(&self) -> Option<&[f32]> {
        match self {
            EmbeddingVector::Float(vector) => Some(vector),
            EmbeddingVector::Base64(_) => None,
        }
    }
}

/// Token usage of an embeddings call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingUsage {
    /// Tokens of the input.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// All tokens billed (for embeddings, the input's).
    #[serde(default)]
    pub total_tokens: u64,
    /// What the call cost in USD, as for [`Usage::cost`](crate::Usage::cost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}
