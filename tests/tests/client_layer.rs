//! The client layer is written once, so both transports must report a call alike: one
//! scripted scenario — a retry after `Retry-After`, a fallback, a stream that recovers from a
//! reset, an attempt timeout — runs through `onellm-blocking` and `onellm-tokio`, and each
//! gives the same sequence of [`CallEvent`]s and the same results.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_core::Stream;
use onellm_core::call::Backoff;
use onellm_core::client::event::{AttemptEnd, AttemptStep};
use onellm_core::client::CallEvent;
use onellm_core::{ChatRequest, ErrorKind};
use onellm_testkit::{FakeProvider, Fault, Reply};

const KEY: &str = "sk-client-layer-canary";

/// What one transport saw: the events, and per call its text (or error kind).
#[derive(Debug, PartialEq)]
struct Run {
    events: Vec<CallEvent>,
    results: Vec<Result<String, ErrorKind>>,
}

/// Scripts the fake provider for the scenario's four calls, in order.
fn script(server: &FakeProvider) {
    // 1. chat: 503 with a Retry-After, then 401 (so the fallback), then the fallback answers.
    server.push(Reply::status(503).header("retry-after-ms", "20"));
    server.push(Reply::status(401));
    server.push(Reply::text("from the fallback"));
    // 2. stream: reset before any byte, then a whole stream.
    server.push(Reply::fault(Fault::ResetBeforeHeaders));
    server.push(Reply::text("streamed after a reset"));
    // 3. chat: the attempt times out waiting for the head, the retry answers.
    server.push(Reply::text("too late").slow_headers(Duration::from_secs(3)));
    server.push(Reply::text("on time"));
    // 4. chat: a request that fails fast (422 is neither retried nor worth a fallback).
    server.push(Reply::status(422));
}

fn requests() -> [ChatRequest; 4] {
    [
        ChatRequest::new("openai/gpt-4o-mini")
            .user("one")
            .fallback_models(["anthropic/claude-sonnet-4-5"]),
        ChatRequest::new("openai/gpt-4o-mini").user("two"),
        ChatRequest::new("openai/gpt-4o-mini").user("three"),
        ChatRequest::new("openai/gpt-4o-mini").user("four"),
    ]
}

/// Points a builder of either transport (same setters: one builder) at the server, with an
/// observer that records events.
macro_rules! configure {
    ($builder:expr, $server:expr, $events:expr) => {{
        let events = Arc::clone(&$events);
        $builder
            .api_key("openai", KEY)
            .base_url("openai", $server.openai_base_url())
            .api_key("anthropic", KEY)
            .base_url("anthropic", $server.anthropic_base_url())
            .attempt_timeout(Duration::from_millis(300))
            .backoff(Backoff {
                base: Duration::from_millis(10),
                ..Backoff::default()
            })
            .seed(11)
            .on_event(move |event| events.lock().unwrap().push(event.clone()))
            .build()
            .unwrap()
    }};
}

fn outcome(result: Result<String, onellm_core::Error>) -> Result<String, ErrorKind> {
    result.map_err(|error| error.kind())
}

fn run_blocking() -> Run {
    let server = FakeProvider::start();
    script(&server);
    let events = Arc::new(Mutex::new(Vec::new()));
    let client = configure!(onellm_blocking::Client::builder(), server, events);
    let [one, two, three, four] = requests();
    let results = vec![
        outcome(client.chat(one).map(|c| c.text().to_owned())),
        outcome(
            client
                .chat_stream(two)
                .into_completion()
                .map(|c| c.text().to_owned()),
        ),
        outcome(client.chat(three).map(|c| c.text().to_owned())),
        outcome(client.chat(four).map(|c| c.text().to_owned())),
    ];
    let events = events.lock().unwrap().clone();
    Run { events, results }
}

fn run_tokio() -> Run {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = FakeProvider::start();
        script(&server);
        let events = Arc::new(Mutex::new(Vec::new()));
        let client = configure!(onellm_tokio::Client::builder(), server, events);
        let [one, two, three, four] = requests();
        let mut results = vec![outcome(client.chat(one).await.map(|c| c.text().to_owned()))];
        let mut stream = client.chat_stream(two);
        let mut failed = None;
        while let Some(item) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
            if let Err(error) = item {
                failed = Some(error);
            }
        }
        results.push(match failed {
            Some(error) => Err(error.kind()),
            None => Ok(stream
                .completion()
                .map(|c| c.text().to_owned())
                .unwrap_or_default()),
        });
        results.push(outcome(
            client.chat(three).await.map(|c| c.text().to_owned()),
        ));
        results.push(outcome(
            client.chat(four).await.map(|c| c.text().to_owned()),
        ));
        let events = events.lock().unwrap().clone();
        Run { events, results }
    })
}

fn sending(
    attempt: u32,
    step: AttemptStep,
    provider: &str,
    stream: bool,
    after: Option<AttemptEnd>,
) -> CallEvent {
    let model = match provider {
        "anthropic" => "anthropic/claude-sonnet-4-5",
        _ => "openai/gpt-4o-mini",
    };
    CallEvent::Sending {
        attempt,
        step,
        provider: provider.to_owned(),
        model: model.to_owned(),
        group: None,
        deployment: None,
        stream,
        after,
    }
}

fn after(kind: ErrorKind, status: Option<u16>) -> Option<AttemptEnd> {
    Some(AttemptEnd {
        kind: Some(kind),
        status,
    })
}

#[test]
fn both_transports_report_the_same_events_and_results() {
    let blocking = run_blocking();
    let tokio = run_tokio();
    assert_eq!(blocking, tokio, "the transports disagree");

    assert_eq!(
        blocking.results,
        vec![
            Ok("from the fallback".to_owned()),
            Ok("streamed after a reset".to_owned()),
            Ok("on time".to_owned()),
            Err(ErrorKind::InvalidRequest),
        ]
    );
    // The retry and fallback story of the first call, exactly; the others by shape (their
    // backoff waits are jittered, though the same on both transports since the seed is).
    let first: Vec<_> = blocking.events.iter().take(5).cloned().collect();
    let unavailable = after(ErrorKind::ServiceUnavailable, Some(503));
    assert_eq!(
        first,
        vec![
            sending(1, AttemptStep::First, "openai", false, None),
            CallEvent::Waiting {
                wait: Duration::from_millis(20),
                model: Some("openai/gpt-4o-mini".to_owned()),
                after: unavailable,
            },
            sending(2, AttemptStep::Retry, "openai", false, unavailable),
            sending(
                3,
                AttemptStep::Fallback,
                "anthropic",
                false,
                after(ErrorKind::Authentication, Some(401))
            ),
            CallEvent::Succeeded {
                attempts: 3,
                model: Some("anthropic/claude-sonnet-4-5".to_owned()),
                deployment: None,
            },
        ]
    );
    let names: Vec<&str> = blocking
        .events
        .iter()
        .skip(5)
        .map(|event| match event {
            CallEvent::Sending { stream: true, .. } => "send stream",
            CallEvent::Sending {
                after: Some(end), ..
            } if end.kind == Some(ErrorKind::Timeout) => "send after timeout",
            CallEvent::Sending { .. } => "send",
            CallEvent::Waiting { .. } => "wait",
            CallEvent::Succeeded { .. } => "ok",
            CallEvent::Failed { .. } => "failed",
            _ => "other",
        })
        .collect();
    assert_eq!(
        names,
        [
            "send stream",
            "wait",
            "send stream",
            "ok", // the stream after a reset
            "send",
            "wait",
            "send after timeout",
            "ok", // the timed-out attempt
            "send",
            "failed", // 422: no retry
        ]
    );
}
