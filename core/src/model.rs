//! Model ids: `provider/model`.

use crate::error::Error;

/// A parsed model id. Everything after the first `/` is the provider's own model name,
/// verbatim: `openrouter/anthropic/claude-3.5-sonnet` is provider `openrouter`, model
/// `anthropic/claude-3.5-sonnet`.
///
/// ```
/// use onellm_core::ModelId;
///
/// let id = ModelId::parse("openrouter/anthropic/claude-3.5-sonnet").unwrap();
/// assert_eq!(id.provider(), "openrouter");
/// assert_eq!(id.model(), "anthropic/claude-3.5-sonnet");
/// assert!(ModelId::parse("gpt-4o").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModelId {
    provider: String,
    model: String,
}

impl ModelId {
    /// Parses `provider/model`. The provider part is matched case-insensitively (stored in
    /// lower case); the model part is kept exactly as given.
    pub fn parse(id: &str) -> Result<ModelId, Error> {
        let Some((provider, model)) = id.split_once('/') else {
            return Err(Error::configuration(format!(
                "model id {id:?} has no provider prefix and is not a model the catalog knows: \
                 add the prefix, as provider/model (e.g. openai/{id})"
            )));
        };
        let provider = provider.trim();
        if provider.is_empty() || model.is_empty() {
            return Err(Error::configuration(format!(
                "model id {id:?} must be provider/model with both parts non-empty"
            )));
        }
        if model.chars().any(char::is_control) {
            return Err(Error::configuration(format!(
                "model id {id:?} contains control characters"
            )));
        }
        Ok(ModelId {
            provider: provider.to_ascii_lowercase(),
            model: model.to_owned(),
        })
    }

    /// The provider name, lower case.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The provider's model name.
    pub fn model(&self) -> &str {
        &self.model
    }
}

impl std::fmt::Display for ModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.provider, self.model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let id = ModelId::parse("OpenAI/gpt-4o").unwrap();
        assert_eq!((id.provider(), id.model()), ("openai", "gpt-4o"));
        assert_eq!(id.to_string(), "openai/gpt-4o");
        for bad in ["", "/", "openai/", "/gpt", "gpt-4o", "openai/a\nb"] {
            assert!(ModelId::parse(bad).is_err(), "{bad:?}");
        }
        let bedrock =
            ModelId::parse("bedrock/us.anthropic.claude-3-5-sonnet-20241022-v2:0").unwrap();
        assert_eq!(
            bedrock.model(),
            "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
        );
    }
}
