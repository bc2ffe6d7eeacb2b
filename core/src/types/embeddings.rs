//! Embeddings request and response.

use super::extra::deserialize_keeping_extra;
use serde::{Deserialize, Serialize};

use super::Extra;

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
    pub model: String,
    pub input: EmbeddingInput,
    /// `float` or `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
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
    #[serde(flatten)]
    pub extra: Extra,
}

impl EmbeddingRequest {
    /// The input texts, for a provider that embeds text and answers floats only (every
    /// native API but OpenAI's): token-array input or a non-float `encoding_format` is an
    /// `Unsupported` error naming `provider`, never a silent conversion.
    pub fn float_texts(&self, provider: &str) -> Result<Vec<&str>, crate::error::Error> {
        let texts = self.input.texts().ok_or_else(|| {
            crate::error::Error::unsupported(format!(
                "{provider} embeddings take texts, not token arrays"
            ))
        })?;
        if self
            .encoding_format
            .as_deref()
            .is_some_and(|format| format != "float")
        {
            return Err(crate::error::Error::unsupported(format!(
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
            extra: Extra::new(),
        }
    }
}

/// `input`: one text, several texts, or pre-tokenized input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    One(String),
    Many(Vec<String>),
    Tokens(Vec<u32>),
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
    pub object: String,
    pub data: Vec<Embedding>,
    pub model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<EmbeddingUsage>,
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_keeping_extra!(EmbeddingResponse {
    object: "object" => { list_object() },
    data: "data" => required,
    model: "model",
    usage: "usage",
});

fn list_object() -> String {
    "list".to_owned()
}

fn embedding_object() -> String {
    "embedding".to_owned()
}

/// One embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    #[serde(default = "embedding_object")]
    pub object: String,
    #[serde(default)]
    pub index: u32,
    pub embedding: EmbeddingVector,
}

/// The vector: floats, or base64 text when `encoding_format: base64` was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    Float(Vec<f32>),
    Base64(String),
}

/// Token usage of an embeddings call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
}
