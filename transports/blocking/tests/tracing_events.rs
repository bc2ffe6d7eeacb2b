//! The client's `tracing` events: one per send (with retry and fallback steps), per wait,
//! and per outcome, under target `onellm` — and never a key.

use std::fmt;
use std::sync::{Arc, Mutex};

use onellm_blocking::{ChatRequest, Client};
use onellm_testkit::{FakeProvider, Reply};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const KEY: &str = "sk-canary-tracing-0123456789";

/// Records every event as `target level message field=value …`.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut line = Line(format!("{} {}", metadata.target(), metadata.level()));
        event.record(&mut line);
        self.0.lock().unwrap().push(line.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn sends_waits_and_outcomes_are_logged_without_keys() {
    let server = FakeProvider::start();
    server.push(Reply::status(429).header("retry-after", "0.05"));
    let client = Client::builder()
        .api_key("openai", KEY)
        .base_url("openai", server.openai_base_url())
        .retries(1)
        .build()
        .unwrap();
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        client
            .chat(
                ChatRequest::new("openai/gpt-4o-mini")
                    .user("Hi")
                    .retries(1)
                    .fallback_models(["openai/gpt-4o"]),
            )
            .unwrap();
        // A model that fails, then the fallback.
        client
            .chat(
                ChatRequest::new("openai/fail-401")
                    .user("Hi")
                    .fallback_models(["openai/gpt-4o"]),
            )
            .unwrap();
    });
    let lines = capture.0.lock().unwrap().clone();
    let all = lines.join("\n");
    eprintln!("{all}");
    assert!(
        lines.iter().all(|line| line.starts_with("onellm ")),
        "{all}"
    );
    assert!(!all.contains(KEY) && !all.contains("0123456789"), "{all}");
    let sends: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("sending request"))
        .collect();
    assert_eq!(sends.len(), 4, "{all}");
    assert!(sends[0].contains("step=\"first\"") && sends[0].contains("model=openai/gpt-4o-mini"));
    assert!(sends[1].contains("step=\"retry\"") && sends[1].contains("after_status=429"));
    assert!(sends[3].contains("step=\"fallback\"") && sends[3].contains("model=openai/gpt-4o"));
    assert!(
        sends[3].contains("after_kind=\"authentication\""),
        "{}",
        sends[3]
    );
    let wait = lines.iter().find(|l| l.contains("waiting")).expect(&all);
    assert!(
        wait.contains("after_kind=\"rate_limit\"") && wait.contains("wait_ms="),
        "{wait}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("call succeeded"))
            .count(),
        2
    );
}
