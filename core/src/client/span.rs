//! A call as OpenTelemetry's GenAI semantic conventions see it, through `tracing` spans
//! (feature `tracing`): one span per call, one child span per attempt. Export them with
//! `tracing-opentelemetry` (the README shows how); without a subscriber that wants them
//! they cost a disabled-callsite check.
//!
//! # The call span (`gen_ai`, target `onellm`, level INFO)
//!
//! | field | value |
//! |---|---|
//! | `otel.name` | `"{operation} {model}"`, e.g. `chat openai/gpt-4o` |
//! | `otel.kind` | `client` |
//! | `gen_ai.operation.name` | `chat`, `embeddings` or `text_completion` |
//! | `gen_ai.request.model` | the model (or router group) asked for |
//! | `gen_ai.request.max_tokens`, `gen_ai.request.temperature` | when the request sets them |
//! | `gen_ai.provider.name` | the provider that answered (else the last tried) |
//! | `gen_ai.response.model`, `gen_ai.response.id` | as the answer says |
//! | `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens` | the answer's usage |
//! | `gen_ai.response.finish_reasons` | the choices' finish reasons, comma-separated |
//! | `gen_ai.usage.cost` | USD, from the catalog (OneLLM's) |
//! | `gen_ai.response.time_to_first_chunk` | seconds to the first streamed chunk (streams) |
//! | `onellm.attempts`, `onellm.cached` | attempts made; whether the cache answered |
//! | `error.type` | the error kind (`rate_limit`, `timeout`, …) of a call that failed |
//!
//! # The attempt spans (`gen_ai.attempt`, children of the call span)
//!
//! `onellm.attempt` (1, 2, …), `onellm.step` (`first`, `retry`, `fallback`), `onellm.waited`
//! (seconds waited before it), `gen_ai.provider.name`, `gen_ai.request.model` (the model
//! tried), `onellm.deployment` (a router deployment's id), `http.response.status_code`,
//! `error.type`. An attempt span lasts from its request to its end.
//!
//! No prompt, completion, header or key is ever recorded.

use std::time::Instant;

use tracing::field::Empty;
use tracing::Span;

use crate::call::{Operation, Outgoing, Output};
use crate::error::{Attempt, Error};

use super::event::AttemptStep;

/// The spans of one call.
#[derive(Debug)]
pub(crate) struct CallSpan {
    span: Span,
    /// The attempt in flight's span.
    attempt: Option<Span>,
    started: Instant,
    first_chunk: bool,
}

impl CallSpan {
    /// The span of a call of `operation` starting at `now`.
    pub(crate) fn new(operation: &Operation, now: Instant) -> CallSpan {
        let (name, max_tokens, temperature) = match operation {
            Operation::Chat(request) => (
                "chat",
                request.max_completion_tokens.or(request.max_tokens),
                request.temperature,
            ),
            Operation::Embeddings(_) => ("embeddings", None, None),
            Operation::Media(request) => (request.operation_name(), None, None),
            // The Responses API is chat under another shape: GenAI's `chat` operation.
            Operation::Responses(request) => {
                ("chat", request.max_output_tokens, request.temperature)
            }
            Operation::Completions(request) => {
                ("text_completion", request.max_tokens, request.temperature)
            }
        };
        let model = operation.model();
        let span = tracing::info_span!(
            target: "onellm",
            "gen_ai",
            otel.name = %format_args!("{name} {model}"),
            otel.kind = "client",
            gen_ai.operation.name = name,
            gen_ai.request.model = %model,
            gen_ai.request.max_tokens = max_tokens,
            gen_ai.request.temperature = temperature,
            gen_ai.provider.name = Empty,
            gen_ai.response.model = Empty,
            gen_ai.response.id = Empty,
            gen_ai.usage.input_tokens = Empty,
            gen_ai.usage.output_tokens = Empty,
            gen_ai.response.finish_reasons = Empty,
            gen_ai.usage.cost = Empty,
            gen_ai.response.time_to_first_chunk = Empty,
            onellm.attempts = Empty,
            onellm.cached = Empty,
            error.type = Empty,
        );
        CallSpan {
            span,
            attempt: None,
            started: now,
            first_chunk: false,
        }
    }

    /// The call's span, to enter while the call runs.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// An attempt is sent: its span starts.
    pub(crate) fn sending(
        &mut self,
        outgoing: &Outgoing,
        previous: Option<&Attempt>,
        deployment: Option<&str>,
    ) {
        if self.span.is_disabled() {
            return;
        }
        let step = match previous {
            None => AttemptStep::First,
            Some(previous) if previous.model == outgoing.model => AttemptStep::Retry,
            Some(_) => AttemptStep::Fallback,
        };
        self.span
            .record("gen_ai.provider.name", outgoing.provider.as_str());
        self.attempt = Some(tracing::info_span!(
            target: "onellm",
            parent: &self.span,
            "gen_ai.attempt",
            onellm.attempt = outgoing.number,
            onellm.step = step.as_str(),
            onellm.waited = Empty,
            gen_ai.provider.name = %outgoing.provider,
            gen_ai.request.model = %outgoing.model,
            onellm.deployment = deployment,
            http.response.status_code = Empty,
            error.type = Empty,
        ));
    }

    /// An attempt ended as `attempt` says (sent or not): its span gets its status and
    /// closes.
    pub(crate) fn attempt_ended(&mut self, attempt: &Attempt) {
        let Some(span) = self.attempt.take() else {
            return;
        };
        span.record("onellm.waited", attempt.waited.as_secs_f64());
        if let Some(status) = attempt.status {
            span.record("http.response.status_code", status);
        }
        if let Some(kind) = attempt.kind() {
            span.record("error.type", kind.as_str());
        }
    }

    /// A streamed chunk reached the caller at `now`.
    pub(crate) fn chunk(&mut self, now: Instant) {
        if !self.first_chunk {
            self.first_chunk = true;
            let seconds = now.saturating_duration_since(self.started).as_secs_f64();
            self.span
                .record("gen_ai.response.time_to_first_chunk", seconds);
        }
    }

    /// What the call cost (USD), once priced.
    pub(crate) fn cost(&self, cost: Option<f64>) {
        if let Some(cost) = cost {
            self.span.record("gen_ai.usage.cost", cost);
        }
    }

    /// The call succeeded with `output` after `attempts` attempts.
    pub(crate) fn succeeded(&self, output: &Output, attempts: usize, cached: bool) {
        if self.span.is_disabled() {
            return;
        }
        let span = &self.span;
        span.record("onellm.attempts", attempts);
        span.record("onellm.cached", cached);
        match output {
            Output::Chat(completion) => {
                span.record("gen_ai.response.model", completion.model.as_str());
                span.record("gen_ai.response.id", completion.id.as_str());
                if let Some(usage) = &completion.usage {
                    span.record("gen_ai.usage.input_tokens", usage.prompt_tokens);
                    span.record("gen_ai.usage.output_tokens", usage.completion_tokens);
                }
                let reasons: Vec<&str> = completion
                    .choices
                    .iter()
                    .filter_map(|choice| {
                        choice.finish_reason.as_ref().map(|reason| reason.as_str())
                    })
                    .collect();
                span.record("gen_ai.response.finish_reasons", reasons.join(",").as_str());
            }
            Output::Completions(response) => {
                span.record("gen_ai.response.model", response.model.as_str());
                span.record("gen_ai.response.id", response.id.as_str());
                if let Some(usage) = &response.usage {
                    span.record("gen_ai.usage.input_tokens", usage.prompt_tokens);
                    span.record("gen_ai.usage.output_tokens", usage.completion_tokens);
                }
            }
            Output::Media(_) => {}
            Output::Responses(response) => {
                span.record("gen_ai.response.model", response.model.as_str());
                span.record("gen_ai.response.id", response.id.as_str());
                if let Some(usage) = &response.usage {
                    span.record("gen_ai.usage.input_tokens", usage.input_tokens);
                    span.record("gen_ai.usage.output_tokens", usage.output_tokens);
                }
                span.record("gen_ai.response.finish_reasons", response.status_str());
            }
            Output::Embeddings(response) => {
                span.record("gen_ai.response.model", response.model.as_str());
                if let Some(usage) = &response.usage {
                    span.record("gen_ai.usage.input_tokens", usage.prompt_tokens);
                }
            }
        }
    }

    /// The call failed with `error` after `attempts` attempts.
    pub(crate) fn failed(&self, error: &Error, attempts: usize) {
        self.span.record("onellm.attempts", attempts);
        self.span.record("error.type", error.kind().as_str());
    }
}
