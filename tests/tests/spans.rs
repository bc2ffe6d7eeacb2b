//! The call's spans in OpenTelemetry's GenAI shape, captured on both transports: a streamed
//! call's span carries the operation, provider, models, usage, finish reasons, cost and the
//! time to its first chunk, with one child span per attempt; a failed call says its
//! `error.type`; no prompt or completion text is ever in a span.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use onellm_core::ChatRequest;
use onellm_testkit::{FakeProvider, Reply};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// One captured span: its name, parent's name and fields as text.
#[derive(Debug, Clone, Default)]
struct Captured {
    name: String,
    parent: Option<String>,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Spans(Arc<Mutex<BTreeMap<u64, Captured>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        let mut captured = Captured {
            name: attributes.metadata().name().to_owned(),
            ..Captured::default()
        };
        captured.parent = context
            .span(id)
            .and_then(|span| span.parent().map(|parent| parent.name().to_owned()));
        attributes.record(&mut Fields(&mut captured.fields));
        self.0.lock().unwrap().insert(id.into_u64(), captured);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(captured) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut captured.fields));
        }
    }
}

mod support;
use support::Driver;

fn field<'a>(span: &'a Captured, name: &str) -> &'a str {
    span.fields
        .get(name)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no {name} in {span:?}"))
}

fn streamed_call_span_has_the_genai_attributes<D: Driver>() {
    let server = FakeProvider::start();
    server.push(Reply::text("a secret answer").usage(1000, 200));
    server.push(Reply::status(401));
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let client = build!(D, |builder| builder
        .api_key("openai", "sk-span")
        .base_url("openai", server.openai_base_url())
        .retries(0))
    .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let prompt = ChatRequest::new("openai/gpt-4o-mini")
            .user("a private prompt")
            .max_tokens(300);
        assert_eq!(client.stream(prompt).unwrap().text(), "a secret answer");
        let error = client
            .chat(ChatRequest::new("openai/gpt-4o-mini").user("again"))
            .unwrap_err();
        assert_eq!(error.kind(), onellm_core::ErrorKind::Authentication);
    });
    let captured: Vec<Captured> = spans.0.lock().unwrap().values().cloned().collect();
    let calls: Vec<&Captured> = captured.iter().filter(|s| s.name == "gen_ai").collect();
    assert_eq!(calls.len(), 2, "{captured:#?}");
    let streamed = calls[0];
    for (name, value) in [
        ("otel.name", "chat openai/gpt-4o-mini"),
        ("otel.kind", "client"),
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.request.model", "openai/gpt-4o-mini"),
        ("gen_ai.request.max_tokens", "300"),
        ("gen_ai.provider.name", "openai"),
        ("gen_ai.response.model", "gpt-4o-mini"),
        ("gen_ai.usage.input_tokens", "1000"),
        ("gen_ai.usage.output_tokens", "200"),
        ("gen_ai.response.finish_reasons", "stop"),
        ("onellm.attempts", "1"),
        ("onellm.cached", "false"),
    ] {
        assert_eq!(field(streamed, name), value, "{name}");
    }
    // gpt-4o-mini: 1,000 × $0.15/M + 200 × $0.60/M.
    let cost: f64 = field(streamed, "gen_ai.usage.cost").parse().unwrap();
    assert!((cost - 0.00027).abs() < 1e-9, "{cost}");
    let first_chunk: f64 = field(streamed, "gen_ai.response.time_to_first_chunk")
        .parse()
        .unwrap();
    assert!(first_chunk > 0.0 && first_chunk < 60.0);
    assert!(!streamed.fields.contains_key("error.type"));
    let failed = calls[1];
    assert_eq!(field(failed, "error.type"), "authentication");
    // One attempt span per attempt, under its call's span.
    let attempts: Vec<&Captured> = captured
        .iter()
        .filter(|s| s.name == "gen_ai.attempt")
        .collect();
    assert_eq!(attempts.len(), 2);
    assert!(attempts
        .iter()
        .all(|a| a.parent.as_deref() == Some("gen_ai")));
    assert_eq!(field(attempts[0], "http.response.status_code"), "200");
    assert_eq!(field(attempts[0], "onellm.step"), "first");
    assert_eq!(field(attempts[1], "http.response.status_code"), "401");
    assert_eq!(field(attempts[1], "error.type"), "authentication");
    // Nothing of the conversation, and no key.
    let everything = format!("{captured:?}");
    for secret in ["a private prompt", "a secret answer", "sk-span"] {
        assert!(!everything.contains(secret), "{secret} in a span");
    }
}

on_both_transports!(streamed_call_span_has_the_genai_attributes);
