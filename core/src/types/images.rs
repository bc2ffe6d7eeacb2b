//! Image generation (`POST /images/generations`): request and response in OpenAI's shape.
//!
//! One request type serves `gpt-image-1` and `dall-e-2`/`dall-e-3`: the fields one model
//! family does not know are left `None` and never sent, so the provider is the judge of
//! which combinations it accepts (OneLLM does not second-guess, say, `style` on gpt-image-1).

use serde::{Deserialize, Serialize};

use super::media::call_fields;
use super::Extra;
use crate::error::{CallReport, ReportSlot};

/// An image generation request in OpenAI's shape.
///
/// ```
/// use onellm_core::ImageRequest;
///
/// let request = ImageRequest::new("openai/gpt-image-1", "a lighthouse at dusk").n(2);
/// assert_eq!(request.n, Some(2));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRequest {
    /// The model: a `provider/model` id, a bare name the catalog knows, or a router group.
    pub model: String,
    /// What to draw.
    pub prompt: String,
    /// How many images (dall-e-3: 1 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// `1024x1024`, `1536x1024`, `auto`, … (each model has its own list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// `standard`/`hd` (dall-e-3) or `low`/`medium`/`high`/`auto` (gpt-image-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    /// `vivid` or `natural` (dall-e-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// `url` or `b64_json` (dall-e; gpt-image-1 always answers base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<String>,
    /// `transparent`, `opaque` or `auto` (gpt-image-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// `png`, `jpeg` or `webp` (gpt-image-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<String>,
    /// 0–100, for `jpeg` and `webp` output (gpt-image-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_compression: Option<u32>,
    /// `low` or `auto` content moderation (gpt-image-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation: Option<String>,
    /// An id of the end user, for the provider's abuse monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// OneLLM: models to try, in order, when this one fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_models: Option<Vec<String>>,
    /// OneLLM: extra attempts per model on retryable errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// OneLLM: the total deadline of this call in seconds. Never sent to a provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// Parameters this version does not model, forwarded verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

call_fields!(ImageRequest);

impl ImageRequest {
    /// A request for one image of `prompt` with `model`.
    pub fn new(model: impl Into<String>, prompt: impl Into<String>) -> Self {
        ImageRequest {
            model: model.into(),
            prompt: prompt.into(),
            n: None,
            size: None,
            quality: None,
            style: None,
            response_format: None,
            background: None,
            output_format: None,
            output_compression: None,
            moderation: None,
            user: None,
            fallback_models: None,
            retries: None,
            timeout: None,
            extra: Extra::new(),
        }
    }

    /// Sets `n`, the number of images.
    pub fn n(mut self, n: u32) -> Self {
        self.n = Some(n);
        self
    }

    /// Sets `size` (`1024x1024`, …).
    pub fn size(mut self, size: impl Into<String>) -> Self {
        self.size = Some(size.into());
        self
    }

    /// Sets `response_format` (`url` or `b64_json`).
    pub fn response_format(mut self, format: impl Into<String>) -> Self {
        self.response_format = Some(format.into());
        self
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

/// The images a generation returned, in OpenAI's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagesResponse {
    /// When the images were made (Unix seconds).
    #[serde(default)]
    pub created: u64,
    /// One entry per image.
    #[serde(default)]
    pub data: Vec<Image>,
    /// Tokens used (gpt-image-1 only; dall-e reports none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<ImagesUsage>,
    /// Fields this version does not model (`background`, `output_format`, `size`,
    /// `quality`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
    /// How the call that produced this went; not part of the JSON.
    #[serde(skip)]
    pub report: ReportSlot,
}

impl ImagesResponse {
    /// How the call that produced this went; `None` for a value not returned by a call.
    pub fn report(&self) -> Option<&CallReport> {
        self.report.get()
    }
}

/// One generated image: a URL (valid for an hour at OpenAI) or base64 bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// Where to download the image (`response_format: url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The image file, base64 (`response_format: b64_json`, and always for gpt-image-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b64_json: Option<String>,
    /// The prompt dall-e-3 actually drew from, after rewriting yours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revised_prompt: Option<String>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Token usage of a gpt-image-1 generation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImagesUsage {
    /// Tokens of the prompt (text and image).
    #[serde(default)]
    pub input_tokens: u64,
    /// Image tokens generated.
    #[serde(default)]
    pub output_tokens: u64,
    /// Both.
    #[serde(default)]
    pub total_tokens: u64,
    /// What the call cost in USD, when the provider said (OneLLM prices no image models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Fields this version does not model (`input_tokens_details`, …), kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_body_leaves_out_onellm_fields_and_keeps_unknown_ones() {
        let mut request = ImageRequest::new("openai/dall-e-3", "a cat").retries(2);
        request.extra.insert("partial_images".into(), json!(1));
        let body = serde_json::to_value(request.for_provider("dall-e-3")).unwrap();
        assert_eq!(
            body,
            json!({"model": "dall-e-3", "prompt": "a cat", "partial_images": 1})
        );
    }

    #[test]
    fn a_response_keeps_unknown_fields_and_usage() {
        let raw = json!({
            "created": 1713833628,
            "data": [{"b64_json": "iVBORw0KGgo=", "revised_prompt": "a cat, photo"}],
            "usage": {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210,
                      "input_tokens_details": {"text_tokens": 50, "image_tokens": 0}},
            "output_format": "png"
        });
        let response: ImagesResponse = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(response.data[0].b64_json.as_deref(), Some("iVBORw0KGgo="));
        assert_eq!(response.usage.as_ref().unwrap().total_tokens, 4210);
        assert_eq!(serde_json::to_value(&response).unwrap(), raw);
    }
}
