//! The non-streaming chat completion, finish reasons and token usage.

use super::extra::deserialize_keeping_extra;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::message::{Message, ToolCall};
use super::{open_string_enum, Extra};
use crate::error::{CallReport, Error, ErrorKind, ReportSlot};

/// A chat completion in OpenAI's shape, whichever provider produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatCompletion {
    /// The provider's id for the completion; empty when it sends none (Bedrock).
    pub id: String,
    /// Always `chat.completion`.
    pub object: String,
    /// When it was made, in Unix seconds, as the provider says; 0 when it does not (the core
    /// has no clock).
    pub created: u64,
    /// The model that answered, as the provider names it; empty when it does not say.
    pub model: String,
    /// The alternatives generated: one unless the request asked for more with `n`.
    pub choices: Vec<Choice>,
    /// The tokens used, and what they cost; `None` when the provider reports no usage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// OpenAI's id of the backend configuration that answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The processing tier that served the call (OpenAI: `default`, `flex`, `priority`); prices
    /// the cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Fields this version does not model, kept verbatim (and serialized back).
    #[serde(flatten)]
    pub extra: Extra,
    /// How the call that produced this went ([`report`](Self::report)); not part of the
    /// JSON.
    #[serde(skip)]
    pub report: ReportSlot,
}

deserialize_keeping_extra!(ChatCompletion {
    id: "id",
    object: "object" => { chat_completion_object() },
    created: "created",
    model: "model",
    choices: "choices",
    usage: "usage",
    system_fingerprint: "system_fingerprint",
    service_tier: "service_tier",
} not_in_json: report);

fn chat_completion_object() -> String {
    "chat.completion".to_owned()
}

impl ChatCompletion {
    /// How the call that produced this went: which provider and model answered, after which
    /// attempts (each with its model, outcome, status, time taken and the wait before it).
    /// `None` for a value not returned by a client call (parsed or built by hand).
    pub fn report(&self) -> Option<&CallReport> {
        self.report.get()
    }

    /// The first choice's text (what most callers want). Empty when there is none.
    pub fn text(&self) -> String {
        self.choices
            .first()
            .map(|choice| choice.message.text())
            .unwrap_or_default()
    }

    /// The first choice's message, if any.
    pub fn message(&self) -> Option<&Message> {
        self.choices.first().map(|choice| &choice.message)
    }

    /// The first choice's tool calls; empty when the model called none.
    ///
    /// ```
    /// use onellm_core::{ChatCompletion, Choice, FinishReason, Message, ToolCall};
    ///
    /// let mut message = Message::assistant("");
    /// message.content = None;
    /// message.tool_calls = Some(vec![ToolCall::function("call_1", "get_weather", r#"{"city":"Paris"}"#)]);
    /// let completion = ChatCompletion::from_message(message, FinishReason::ToolCalls);
    /// for call in completion.tool_calls() {
    ///     assert_eq!(call.function.name, "get_weather");
    /// }
    /// assert_eq!(completion.tool_calls().len(), 1);
    /// ```
    pub fn tool_calls(&self) -> &[ToolCall] {
        self.message()
            .and_then(|message| message.tool_calls.as_deref())
            .unwrap_or_default()
    }

    /// The first choice's text parsed as JSON into `T`: the typed end of structured output
    /// ([`ChatRequest::json_schema`](crate::ChatRequest::json_schema)). Works the same
    /// for every family, streamed (on the accumulated completion) or not, since each adapter
    /// puts the JSON reply in `content` (Anthropic's and Bedrock's forced tool included).
    ///
    /// A reply that is not JSON of that shape, a refusal and a reply without text (no
    /// choices, or only tool calls) are `Decode` errors that quote a bounded excerpt of
    /// what came back; when the reply stopped at the token limit the error says that first.
    /// The text is parsed as it is: no code fences or prose are stripped, which a model in
    /// strict mode does not add.
    ///
    /// ```
    /// use onellm_core::{ChatCompletion, ErrorKind, FinishReason, Message};
    /// use serde::Deserialize;
    ///
    /// #[derive(Debug, Deserialize)]
    /// struct Person {
    ///     name: String,
    ///     age: u32,
    /// }
    ///
    /// let reply = Message::assistant(r#"{"name": "Ada", "age": 36}"#);
    /// let completion = ChatCompletion::from_message(reply, FinishReason::Stop);
    /// let person: Person = completion.parse().unwrap();
    /// assert_eq!((person.name.as_str(), person.age), ("Ada", 36));
    ///
    /// let prose = Message::assistant("Ada, aged 36.");
    /// let error = ChatCompletion::from_message(prose, FinishReason::Stop)
    ///     .parse::<Person>()
    ///     .unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::Decode);
    /// assert!(error.message().contains("Ada, aged 36."));
    /// ```
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let Some(choice) = self.choices.first() else {
            return Err(Error::new(
                ErrorKind::Decode,
                "structured output: the completion has no choices, so no JSON to parse",
            ));
        };
        choice.message.parse().map_err(|error| {
            if choice.finish_reason == Some(FinishReason::Length) {
                // The likeliest cause by far, and one the caller can fix: say so first.
                Error::new(
                    ErrorKind::Decode,
                    format!(
                        "structured output: the reply stopped at the token limit \
                         (finish_reason: length), so its JSON may be cut short; {}",
                        error.message()
                    ),
                )
            } else {
                error
            }
        })
    }

    /// A one-choice completion carrying `message` (for tests, caches and fakes that need a
    /// completion without a provider). `id` and `model` are empty, `created` is 0.
    ///
    /// ```
    /// use onellm_core::{ChatCompletion, FinishReason, Message};
    ///
    /// let completion = ChatCompletion::from_message(Message::assistant("hi"), FinishReason::Stop);
    /// assert_eq!(completion.text(), "hi");
    /// ```
    pub fn from_message(message: Message, finish_reason: FinishReason) -> Self {
        ChatCompletion {
            id: String::new(),
            object: chat_completion_object(),
            created: 0,
            model: String::new(),
            choices: vec![Choice {
                index: 0,
                message,
                finish_reason: Some(finish_reason),
                logprobs: None,
                extra: Extra::new(),
            }],
            usage: None,
            system_fingerprint: None,
            service_tier: None,
            extra: Extra::new(),
            report: Default::default(),
        }
    }
}

/// One alternative of a completion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    /// Its position among the choices.
    pub index: u32,
    /// The assistant message generated.
    pub message: Message,
    /// Why the model stopped.
    pub finish_reason: Option<FinishReason>,
    /// The log probabilities of its tokens, as the provider sent them (when asked for with
    /// `logprobs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
    /// Fields this version does not model, kept verbatim (and serialized back).
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_keeping_extra!(Choice {
    index: "index",
    message: "message" => required,
    finish_reason: "finish_reason",
    logprobs: "logprobs",
});

open_string_enum! {
    /// Why the model stopped. Open: other providers' reasons that have no OpenAI equivalent
    /// are kept as `Other`.
    FinishReason {
        /// Natural end or a stop sequence.
        Stop => "stop",
        /// The token limit.
        Length => "length",
        /// The model called tools.
        ToolCalls => "tool_calls",
        /// Output was withheld by a safety filter.
        ContentFilter => "content_filter",
        /// Legacy function call.
        FunctionCall => "function_call",
    }
}

/// Token usage. Other providers' counts are mapped here: cached prompt tokens into
/// `prompt_tokens_details.cached_tokens`, reasoning/thinking tokens into
/// `completion_tokens_details.reasoning_tokens`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Tokens of the prompt, those read from or written to the provider's cache included.
    pub prompt_tokens: u64,
    /// Tokens of the reply, reasoning included.
    pub completion_tokens: u64,
    /// Prompt plus completion tokens.
    pub total_tokens: u64,
    /// What the prompt tokens were: cached, written to the cache, audio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    /// What the completion tokens were: reasoning, audio, predictions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
    /// What the call cost in USD: the provider's own figure when it reports one
    /// (OpenRouter's `usage.cost`, kept as sent), else computed by the client from the
    /// [model catalog](crate::catalog) for a model it prices. Absent (never 0) otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Fields this version does not model, kept verbatim (and serialized back).
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_keeping_extra!(Usage {
    prompt_tokens: "prompt_tokens",
    completion_tokens: "completion_tokens",
    total_tokens: "total_tokens",
    prompt_tokens_details: "prompt_tokens_details",
    completion_tokens_details: "completion_tokens_details",
    cost: "cost" via lenient_cost,
});

/// A reported `usage.cost`: a number, or a number in a string (gateways differ); anything
/// else is no cost rather than a failed reply — the tokens are what matters.
pub(crate) fn lenient_cost(value: Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
    .filter(|cost: &f64| cost.is_finite())
}

/// Breakdown of prompt tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PromptTokensDetails {
    /// Tokens read from the provider's prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Tokens written to the prompt cache (Anthropic, Bedrock); an extension field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_creation_tokens: Option<u64>,
    /// Audio input tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
    /// Fields this version does not model, kept verbatim (and serialized back).
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_keeping_extra!(PromptTokensDetails {
    cached_tokens: "cached_tokens",
    cache_creation_tokens: "cache_creation_tokens",
    audio_tokens: "audio_tokens",
});

/// Breakdown of completion tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CompletionTokensDetails {
    /// Tokens the model spent reasoning (thinking) before its answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Audio output tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
    /// Tokens of a predicted output (OpenAI's `prediction`) that appeared in the reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_prediction_tokens: Option<u64>,
    /// Tokens of a predicted output that did not appear in the reply (still billed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_prediction_tokens: Option<u64>,
    /// Fields this version does not model, kept verbatim (and serialized back).
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_keeping_extra!(CompletionTokensDetails {
    reasoning_tokens: "reasoning_tokens",
    audio_tokens: "audio_tokens",
    accepted_prediction_tokens: "accepted_prediction_tokens",
    rejected_prediction_tokens: "rejected_prediction_tokens",
});

impl Usage {
    /// Usage with the three totals set (total = prompt + completion).
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
            ..Default::default()
        }
    }

    /// Cached prompt tokens, 0 when not reported.
    pub fn cached_tokens(&self) -> u64 {
        self.prompt_tokens_details
            .as_ref()
            .and_then(|details| details.cached_tokens)
            .unwrap_or(0)
    }

    /// Reasoning tokens, 0 when not reported.
    pub fn reasoning_tokens(&self) -> u64 {
        self.completion_tokens_details
            .as_ref()
            .and_then(|details| details.reasoning_tokens)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openai_completion_round_trips() {
        let raw = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000,
            "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi",
                "refusal": null, "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                    "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
            "service_tier": "default", "system_fingerprint": "fp_1"
        });
        let completion: ChatCompletion = serde_json::from_value(raw).unwrap();
        assert_eq!(completion.text(), "Hi");
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::Stop)
        );
        let again = serde_json::to_value(&completion).unwrap();
        let back: ChatCompletion = serde_json::from_value(again).unwrap();
        assert_eq!(back, completion);
    }

    #[test]
    fn a_reported_cost_is_read_leniently() {
        let cost = |value: Value| {
            let usage: Usage = serde_json::from_value(json!({"prompt_tokens": 1,
                "completion_tokens": 1, "total_tokens": 2, "cost": value}))
            .unwrap();
            usage.cost
        };
        assert_eq!(cost(json!(0.0125)), Some(0.0125));
        assert_eq!(cost(json!(" 0.5 ")), Some(0.5));
        for unusable in [
            json!(null),
            json!("free"),
            json!({"total": 1}),
            json!("NaN"),
        ] {
            assert_eq!(cost(unusable.clone()), None, "{unusable}");
        }
        let usage = Usage::new(1, 1);
        assert!(!serde_json::to_string(&usage).unwrap().contains("cost"));
    }

    #[test]
    fn finish_reason_is_open() {
        let reason: FinishReason = serde_json::from_value(json!("eos")).unwrap();
        assert_eq!(reason, FinishReason::Other("eos".into()));
    }
}
