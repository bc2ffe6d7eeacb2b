//! Moderation (`POST /moderations`): request and response in OpenAI's shape.
//!
//! Categories are maps keyed by OpenAI's category names (`harassment/threatening`,
//! `self-harm/intent`, …) rather than struct fields, so a category OpenAI adds is read
//! like the others instead of being lost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::audio::map_without_nulls;
use super::media::call_fields;
use super::{Extra, ImageUrl};
use crate::error::{CallReport, ReportSlot};

/// A moderation request in OpenAI's shape.
///
/// ```
/// use onellm_core::ModerationRequest;
///
/// let request = ModerationRequest::new("openai/omni-moderation-latest", "some text");
/// assert_eq!(request.model, "openai/omni-moderation-latest");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationRequest {
    /// The model (`openai/omni-moderation-latest`).
    pub model: String,
    /// What to classify: a text, several, or text and image parts (omni-moderation).
    pub input: ModerationInput,
    /// OneLLM: models to try, in order, when this one fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_models: Option<Vec<String>>,
    /// OneLLM: extra attempts per model on retryable errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// OneLLM: the total deadline of this call in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// Parameters this version does not model, forwarded verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

call_fields!(ModerationRequest);

impl ModerationRequest {
    /// A request to classify one text.
    pub fn new(model: impl Into<String>, input: impl Into<ModerationInput>) -> Self {
        ModerationRequest {
            model: model.into(),
            input: input.into(),
            fallback_models: None,
            retries: None,
            timeout: None,
            extra: Extra::new(),
        }
    }

    /// A copy addressed to `model` with OneLLM's own fields removed: the JSON body sent.
    pub fn for_provider(&self, model: &str) -> Self {
        let mut body = self.clone();
        model.clone_into(&mut body.model);
        body.fallback_models = None;
        body.retries = None;
        body.timeout = None;
        body
    }
}

/// `input`: one text, several texts (one result each), or parts of one multimodal input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ModerationInput {
    /// One text.
    One(String),
    /// Several texts, one result each.
    Many(Vec<String>),
    /// Text and image parts, classified together (omni-moderation).
    Parts(Vec<ModerationPart>),
}

impl From<&str> for ModerationInput {
    fn from(text: &str) -> Self {
        ModerationInput::One(text.to_owned())
    }
}

impl From<String> for ModerationInput {
    fn from(text: String) -> Self {
        ModerationInput::One(text)
    }
}

impl From<Vec<ModerationPart>> for ModerationInput {
    fn from(parts: Vec<ModerationPart>) -> Self {
        ModerationInput::Parts(parts)
    }
}

/// One part of a multimodal moderation input: `{"type": "text", "text": …}` or
/// `{"type": "image_url", "image_url": {"url": …}}`; another type is kept as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationPart {
    /// `text` or `image_url`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The image of an `image_url` part (an `https` or `data:` URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<ImageUrl>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ModerationPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        ModerationPart {
            kind: "text".into(),
            text: Some(text.into()),
            image_url: None,
            extra: Extra::new(),
        }
    }

    /// An image part.
    pub fn image_url(url: impl Into<String>) -> Self {
        ModerationPart {
            kind: "image_url".into(),
            text: None,
            image_url: Some(ImageUrl {
                url: url.into(),
                detail: None,
            }),
            extra: Extra::new(),
        }
    }
}

/// A moderation response in OpenAI's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationResponse {
    /// The response id (`modr-…`).
    #[serde(default)]
    pub id: String,
    /// The model that classified.
    #[serde(default)]
    pub model: String,
    /// One result per input text (one for a multimodal input).
    #[serde(default)]
    pub results: Vec<ModerationResult>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
    /// How the call that produced this went; not part of the JSON.
    #[serde(skip)]
    pub report: ReportSlot,
}

impl ModerationResponse {
    /// How the call that produced this went; `None` for a value not returned by a call.
    pub fn report(&self) -> Option<&CallReport> {
        self.report.get()
    }

    /// Whether any input was flagged.
    pub fn flagged(&self) -> bool {
        self.results.iter().any(|result| result.flagged)
    }
}

/// The classification of one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModerationResult {
    /// Whether any category was flagged.
    #[serde(default)]
    pub flagged: bool,
    /// Each category and whether it was flagged (`null` on the wire reads as `false`).
    #[serde(default, deserialize_with = "map_without_nulls")]
    pub categories: BTreeMap<String, bool>,
    /// Each category's score, 0 to 1 (`null` reads as 0).
    #[serde(default, deserialize_with = "map_without_nulls")]
    pub category_scores: BTreeMap<String, f64>,
    /// Which kinds of input (`text`, `image`) each category was judged on (omni-moderation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_applied_input_types: Option<BTreeMap<String, Vec<String>>>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inputs_serialize_as_openai_spells_them() {
        let parts = ModerationRequest::new(
            "m",
            vec![
                ModerationPart::text("hi"),
                ModerationPart::image_url("https://x/y.png"),
            ],
        );
        assert_eq!(
            serde_json::to_value(parts.for_provider("omni")).unwrap(),
            json!({"model": "omni", "input": [
                {"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}}
            ]})
        );
        let back: ModerationRequest =
            serde_json::from_value(json!({"model": "m", "input": ["a", "b"]})).unwrap();
        assert_eq!(
            back.input,
            ModerationInput::Many(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn a_response_reads_null_categories_and_keeps_new_ones() {
        let response: ModerationResponse = serde_json::from_value(json!({
            "id": "modr-1", "model": "omni-moderation-latest",
            "results": [{
                "flagged": true,
                "categories": {"violence": true, "illicit": null, "brand-new": false},
                "category_scores": {"violence": 0.9, "illicit": null},
                "category_applied_input_types": {"violence": ["text", "image"]}
            }]
        }))
        .unwrap();
        let result = &response.results[0];
        assert!(response.flagged());
        assert!(!result.categories["illicit"]);
        assert!(result.categories.contains_key("brand-new"));
        assert_eq!(result.category_scores["illicit"], 0.0);
        assert_eq!(
            result.category_applied_input_types.as_ref().unwrap()["violence"],
            ["text", "image"]
        );
    }
}
