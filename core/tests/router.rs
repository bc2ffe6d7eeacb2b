//! Calls to router groups through the engine, with answers made up per request: the
//! deployments' own keys and base URLs, weighted shuffle, cooldowns after 429s, `rpm`,
//! fallbacks to another group, the report naming the deployment, and groups that cannot
//! answer.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use onellm_core::call::Action;
use onellm_core::client::{CallOutput, Engine, TypedCall};
use onellm_core::router::RouterConfig;
use onellm_core::{CallOptions, ChatRequest, Error, ErrorKind, Registry};

const CONFIG: &str = r#"{
  "model_list": [
    {"model_name": "smart", "litellm_params": {"model": "openai/gpt-4o", "api_key": "sk-east",
      "api_base": "https://east.example/v1", "weight": 3}, "model_info": {"id": "east"}},
    {"model_name": "smart", "litellm_params": {"model": "openai/gpt-4o", "api_key": "sk-west",
      "api_base": "https://west.example/v1", "weight": 1}, "model_info": {"id": "west"}},
    {"model_name": "backup", "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "sk-backup",
      "api_base": "https://backup.example/v1"}}
  ],
  "router_settings": {"allowed_fails": 1, "cooldown_time": 60}
}"#;

fn engine(config: &str) -> Engine {
    let config: serde_json::Value = serde_json::from_str(config).unwrap();
    let config = RouterConfig::from_json(&config, &|_| None).unwrap();
    Engine::new(Registry::new(), CallOptions::default(), Some(11), None).with_router(config)
}

/// What the made-up server saw: host and key of each request.
#[derive(Debug, Default)]
struct Seen(Vec<(String, String)>);

/// Runs `typed`, answering each request with `answer(host)`'s status.
fn run<T: CallOutput>(
    mut typed: TypedCall<T>,
    seen: &mut Seen,
    answer: impl Fn(&str) -> u16,
) -> Result<T, Error> {
    // A made-up clock: a wait (a retry's backoff) moves it on.
    let mut now = Instant::now();
    loop {
        match typed.poll(now) {
            Action::Send(outgoing) => {
                let host = outgoing.request.uri().host().unwrap_or_default().to_owned();
                let key = outgoing.request.headers()["authorization"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                seen.0.push((host.clone(), key));
                let status = answer(&host);
                let body = if status == 200 {
                    format!(
                        r#"{{"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o",
                        "choices": [{{"index": 0, "message": {{"role": "assistant", "content": "from {host}"}},
                        "finish_reason": "stop"}}], "usage": {{"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}}}}"#
                    )
                } else {
                    r#"{"error": {"message": "slow down", "type": "rate_limit"}}"#.to_owned()
                };
                let response = http::Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(Bytes::from(body))
                    .unwrap();
                typed
                    .call_mut()
                    .handle_response(outgoing.attempt, response, now);
            }
            Action::Done(output) => return typed.output(output),
            Action::Failed(error) => return Err(error),
            Action::Wait(until) => now = until,
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn smart() -> ChatRequest {
    ChatRequest::new("smart").user("Hi")
}

#[test]
fn weighted_shuffle_sends_each_deployment_its_own_key() {
    let engine = engine(CONFIG);
    let mut seen = Seen::default();
    for _ in 0..40 {
        let typed = engine.chat(smart(), Instant::now(), SystemTime::now());
        let completion = run(typed, &mut seen, |_| 200).unwrap();
        let report = completion.report().unwrap();
        let answered = report.attempts.last().unwrap();
        assert_eq!(answered.model, "openai/gpt-4o");
        let deployment = answered.deployment.as_deref().unwrap();
        assert_eq!(completion.text(), format!("from {deployment}.example"));
    }
    let east = seen
        .0
        .iter()
        .filter(|(host, _)| host == "east.example")
        .count();
    assert!(
        (22..=38).contains(&east),
        "{east} of 40 on the 3:1 deployment"
    );
    for (host, key) in &seen.0 {
        let expected = if host == "east.example" {
            "Bearer sk-east"
        } else {
            "Bearer sk-west"
        };
        assert_eq!(key, expected);
    }
}

#[test]
fn a_deployment_answering_429_cools_down_and_the_calls_succeed() {
    let engine = engine(CONFIG);
    let mut seen = Seen::default();
    for _ in 0..10 {
        let typed = engine.chat(smart(), Instant::now(), SystemTime::now());
        let status = |host: &str| if host == "east.example" { 429 } else { 200 };
        let completion = run(typed, &mut seen, status).unwrap();
        assert_eq!(completion.text(), "from west.example");
    }
    let east = seen
        .0
        .iter()
        .filter(|(host, _)| host == "east.example")
        .count();
    assert!(east <= 3, "the failing deployment got {east} requests");
}

#[test]
fn rpm_sends_the_rest_elsewhere_and_groups_fall_back() {
    let config = CONFIG
        .replace(r#""weight": 3}"#, r#""weight": 3, "rpm": 3}"#)
        .replace(
            r#""router_settings": {"#,
            r#""router_settings": {"fallbacks": [{"smart": ["backup"]}], "#,
        );
    let engine = engine(&config);
    let mut seen = Seen::default();
    for _ in 0..12 {
        let typed = engine.chat(smart(), Instant::now(), SystemTime::now());
        run(typed, &mut seen, |_| 200).unwrap();
    }
    let east = seen
        .0
        .iter()
        .filter(|(host, _)| host == "east.example")
        .count();
    assert!(east <= 3, "rpm 3, got {east}");

    // Both of smart's deployments failing: the group's fallback answers.
    let typed = engine.chat(smart(), Instant::now(), SystemTime::now());
    let status = |host: &str| if host == "backup.example" { 200 } else { 500 };
    let completion = run(typed, &mut Seen::default(), status).unwrap();
    assert_eq!(completion.text(), "from backup.example");
    let deployments: Vec<_> = completion
        .report()
        .unwrap()
        .attempts
        .iter()
        .map(|a| a.deployment.clone())
        .collect();
    assert_eq!(deployments.last().unwrap().as_deref(), Some("backup#0"));
}

#[test]
fn groups_that_cannot_answer_fail_before_sending() {
    let engine = engine(CONFIG);
    let mut seen = Seen::default();
    // Not a group, not a model: named in the error, nothing sent.
    let error = run(
        engine.chat(
            ChatRequest::new("smrt").user("Hi"),
            Instant::now(),
            SystemTime::now(),
        ),
        &mut seen,
        |_| 200,
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(error.message().contains("\"smrt\""), "{error}");
    // Every deployment of backup cooling down: a rate-limit error saying when.
    for _ in 0..2 {
        let typed = engine.chat(
            ChatRequest::new("backup").user("Hi"),
            Instant::now(),
            SystemTime::now(),
        );
        let _ = run(typed, &mut seen, |_| 503);
    }
    let sent = seen.0.len();
    let typed = engine.chat(
        ChatRequest::new("backup").user("Hi"),
        Instant::now(),
        SystemTime::now(),
    );
    let error = run(typed, &mut seen, |_| 200).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimit, "{error}");
    assert!(error.retry_after().unwrap() > Duration::from_secs(50));
    assert_eq!(seen.0.len(), sent, "nothing sent");
}

#[test]
fn a_deployments_own_prices_override_the_catalog() {
    let config = CONFIG.replace(
        r#""weight": 1}"#,
        r#""weight": 1, "input_cost_per_token": 0.000001, "output_cost_per_token": 0.000002}"#,
    );
    let engine = engine(&config);
    let mut by_deployment = std::collections::HashMap::new();
    for _ in 0..20 {
        let typed = engine.chat(smart(), Instant::now(), SystemTime::now());
        let completion = run(typed, &mut Seen::default(), |_| 200).unwrap();
        let deployment = completion
            .report()
            .unwrap()
            .attempts
            .last()
            .unwrap()
            .deployment
            .clone()
            .unwrap();
        by_deployment.insert(deployment, completion.usage.unwrap().cost.unwrap());
    }
    // 5 prompt and 5 completion tokens at the negotiated prices.
    let west = by_deployment["west"];
    assert!(
        (west - (5.0 * 0.000001 + 5.0 * 0.000002)).abs() < 1e-12,
        "{west}"
    );
    // East has no prices of its own: the catalog's gpt-4o prices (not the same).
    assert!((by_deployment["east"] - west).abs() > 1e-9);
}

#[test]
fn context_window_fallbacks_take_prompts_too_long_for_the_group() {
    let config = r#"{
      "model_list": [
        {"model_name": "small", "litellm_params": {"model": "openai/gpt-3.5-turbo", "api_key": "sk-s",
          "api_base": "https://small.example/v1"}},
        {"model_name": "large", "litellm_params": {"model": "openai/gpt-4o", "api_key": "sk-l",
          "api_base": "https://large.example/v1"}}
      ],
      "router_settings": {"context_window_fallbacks": [{"small": ["large"]}], "num_retries": 0}
    }"#;
    let engine = engine(config);
    let long = "the quick brown fox jumps over the lazy dog ".repeat(4_445);
    let mut seen = Seen::default();
    let typed = engine.chat(
        ChatRequest::new("small").user(long),
        Instant::now(),
        SystemTime::now(),
    );
    let completion = run(typed, &mut seen, |_| 200).unwrap();
    assert_eq!(completion.text(), "from large.example");
    let hosts: Vec<_> = seen.0.iter().map(|(host, _)| host.as_str()).collect();
    assert_eq!(hosts, ["large.example"], "nothing sent to the small model");
    let refused = &completion.report().unwrap().attempts[0];
    assert_eq!(refused.kind(), Some(ErrorKind::ContextWindowExceeded));

    // A prompt that fits stays on the group; another failure does not reach the window's
    // fallbacks.
    let mut seen = Seen::default();
    let typed = engine.chat(
        ChatRequest::new("small").user("Hi"),
        Instant::now(),
        SystemTime::now(),
    );
    assert_eq!(
        run(typed, &mut seen, |_| 200).unwrap().text(),
        "from small.example"
    );
    let typed = engine.chat(
        ChatRequest::new("small").user("Hi"),
        Instant::now(),
        SystemTime::now(),
    );
    let error = run(typed, &mut seen, |_| 500).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ServiceUnavailable, "{error}");
    assert!(seen.0.iter().all(|(host, _)| host == "small.example"));
}

/// The drive loops take the finished output out of the call rather than copying it: the
/// call has nothing left afterwards (and says so if polled again), and the router still
/// counts the answer's tokens against the deployment's `tpm`.
#[test]
fn the_output_is_handed_over_once_and_its_tokens_still_count() {
    let engine = engine(
        r#"{"model_list": [{"model_name": "solo", "litellm_params": {"model": "openai/gpt-4o",
            "api_key": "sk-solo", "api_base": "https://solo.example/v1", "tpm": 10}}]}"#,
    );
    let mut seen = Seen::default();
    let solo = || ChatRequest::new("solo").user("Hi");
    let now = Instant::now();

    let mut typed = engine.chat(solo(), now, SystemTime::now());
    let Action::Send(outgoing) = typed.poll(now) else {
        panic!("expected the request")
    };
    let body = r#"{"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
        "finish_reason": "stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}}"#;
    let response = http::Response::builder()
        .status(200)
        .body(Bytes::from(body))
        .unwrap();
    typed
        .call_mut()
        .handle_response(outgoing.attempt, response, now);
    let Action::Done(output) = typed.poll(now) else {
        panic!("expected the answer")
    };
    assert!(typed.call().output().is_none(), "handed over, not copied");
    match typed.poll(now) {
        Action::Failed(error) => assert!(error.message().contains("already handed over")),
        other => panic!("expected nothing left, got {other:?}"),
    }
    assert_eq!(typed.output(output).unwrap().text(), "hi");

    // The 10 tokens used up the deployment's minute: the next call finds nothing free.
    let error = run(
        engine.chat(solo(), now, SystemTime::now()),
        &mut seen,
        |_| 200,
    )
    .unwrap_err();
    assert!(
        seen.0.is_empty(),
        "sent to a deployment over its tpm: {seen:?}"
    );
    assert_eq!(error.kind(), ErrorKind::RateLimit, "{error}");
}
