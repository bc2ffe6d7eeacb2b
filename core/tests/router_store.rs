//! The router's shared store through the engine, with the store's answers made up: what it
//! is asked before and after each attempt, a refusal skipping a deployment without sending,
//! and a store that fails or answers garbage never failing a call.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use onellm_core::call::Action;
use onellm_core::client::{CallOutput, Engine, TypedCall};
use onellm_core::router::RouterConfig;
use onellm_core::store::{StoreOp, StoreReply};
use onellm_core::{CallOptions, ChatRequest, Error, ErrorKind, Registry};

const CONFIG: &str = r#"{
  "model_list": [
    {"model_name": "smart", "litellm_params": {"model": "openai/gpt-4o", "api_key": "sk-east",
      "api_base": "https://east.example/v1", "rpm": 3, "order": 1}, "model_info": {"id": "east"}},
    {"model_name": "smart", "litellm_params": {"model": "openai/gpt-4o", "api_key": "sk-west",
      "api_base": "https://west.example/v1", "order": 2}, "model_info": {"id": "west"}}
  ],
  "router_settings": {"allowed_fails": 0, "cooldown_time": 60, "redis_url": "redis://:pw@127.0.0.1:1"}
}"#;

fn engine() -> Engine {
    let config: serde_json::Value = serde_json::from_str(CONFIG).unwrap();
    let config = RouterConfig::from_json(&config, &|_| None).unwrap();
    Engine::new(Registry::new(), CallOptions::default(), Some(3), None).with_router(config)
}

/// What the made-up store was asked: the script's first key, e.g.
/// `onellm:router:{east}:cooldown`, and the request hosts, in one log.
type Log = Vec<String>;

/// Runs `typed` as a drive loop does, with `store` answering store operations and every
/// request answered with `status(host)`.
fn run<T: CallOutput>(
    mut typed: TypedCall<T>,
    now: Instant,
    log: &mut Log,
    store: &mut dyn FnMut(&StoreOp) -> Result<StoreReply, Error>,
    status: &dyn Fn(&str) -> u16,
) -> Result<T, Error> {
    let mut bounded = 0;
    let finish = |typed: &mut TypedCall<T>,
                  log: &mut Log,
                  store: &mut dyn FnMut(&StoreOp) -> Result<StoreReply, Error>| {
        while let Some(op) = typed.poll_store(now) {
            log.push(format!("store {}", key_of(&op)));
            let reply = store(&op);
            typed.handle_store(reply, now);
        }
    };
    loop {
        bounded += 1;
        assert!(bounded < 100, "the loop must end");
        if let Some(op) = typed.poll_store(now) {
            log.push(format!("store {}", key_of(&op)));
            let reply = store(&op);
            typed.handle_store(reply, now);
            continue;
        }
        match typed.poll(now) {
            Action::Admit { .. } => continue,
            Action::Send(outgoing) => {
                let host = outgoing.request.uri().host().unwrap_or_default().to_owned();
                log.push(format!("send {host}"));
                let status = status(&host);
                let body = if status == 200 {
                    r#"{"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                    "finish_reason": "stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}}"#
                } else {
                    r#"{"error": {"message": "down", "type": "server_error"}}"#
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
            Action::Done(output) => {
                let output = typed.output(output);
                finish(&mut typed, log, store);
                return output;
            }
            Action::Failed(error) => {
                finish(&mut typed, log, store);
                return Err(error);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The first key an operation names (its deployment and purpose).
fn key_of(op: &StoreOp) -> String {
    let command = op.command();
    String::from_utf8_lossy(command.get(3).map(Vec::as_slice).unwrap_or_default()).into_owned()
}

fn admitted(requests: i64) -> StoreReply {
    StoreReply::Array([0, 0, requests, 0, 0, 0].map(StoreReply::Integer).to_vec())
}

fn at_rpm() -> StoreReply {
    StoreReply::Array([2, 0, 3, 0, 0, 0].map(StoreReply::Integer).to_vec())
}

fn smart() -> ChatRequest {
    ChatRequest::new("smart").user("Hi")
}

#[test]
fn a_refusal_skips_the_deployment_without_sending_and_later_plans_leave_it_out() {
    let engine = engine();
    let now = Instant::now();
    let mut log = Log::new();
    let mut store = |op: &StoreOp| {
        Ok(if key_of(op).contains("{east}") {
            at_rpm()
        } else {
            admitted(1)
        })
    };
    let typed = engine.chat(smart(), now, SystemTime::now());
    let completion = run(typed, now, &mut log, &mut store, &|_| 200).unwrap();
    assert_eq!(
        log,
        [
            "store onellm:router:{east}:cooldown",
            "store onellm:router:{west}:cooldown",
            "send west.example"
        ]
    );
    let attempts = &completion.report().unwrap().attempts;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].deployment.as_deref(), Some("east"));
    assert_eq!(attempts[0].kind(), Some(ErrorKind::RateLimit));
    assert_eq!(attempts[0].status, None, "nothing was sent to east");
    assert!(attempts[0]
        .error
        .as_ref()
        .unwrap()
        .message()
        .contains("rpm"));

    // The process learnt east is at its rpm this minute: the next plan leaves it out
    // without asking the store about it.
    log.clear();
    let typed = engine.chat(smart(), now, SystemTime::now());
    run(typed, now, &mut log, &mut store, &|_| 200).unwrap();
    assert_eq!(
        log,
        ["store onellm:router:{west}:cooldown", "send west.example"]
    );
}

#[test]
fn a_failed_attempt_is_recorded_in_the_store_with_its_cooldown_rule() {
    let engine = engine();
    let now = Instant::now();
    let mut log = Log::new();
    let mut finishes = Vec::new();
    let mut store = |op: &StoreOp| {
        let script = String::from_utf8_lossy(&op.command()[1]).into_owned();
        if script.contains("DECR") {
            let args: Vec<String> = op.command()[3 + 5..]
                .iter()
                .map(|arg| String::from_utf8_lossy(arg).into_owned())
                .collect();
            finishes.push(args);
            Ok(StoreReply::Integer(60_000))
        } else {
            Ok(admitted(1))
        }
    };
    let typed = engine.chat(smart(), now, SystemTime::now());
    let status = |host: &str| if host == "east.example" { 503 } else { 200 };
    run(typed, now, &mut log, &mut store, &status).unwrap();
    assert_eq!(
        log,
        [
            "store onellm:router:{east}:cooldown",
            "send east.example",
            "store onellm:router:{east}:cooldown",
            "store onellm:router:{west}:cooldown",
            "send west.example",
        ]
    );
    // release (no in-flight count), tokens, failed, allowed_fails, cooldown ms,
    // Retry-After, latency.
    assert_eq!(finishes, [["0", "0", "1", "0", "60000", "-1", "-1"]]);
}

#[test]
fn a_store_that_fails_or_answers_garbage_never_fails_a_call() {
    for reply in [
        Err(Error::new(ErrorKind::Connection, "refused")),
        Ok(StoreReply::Bytes(b"\xff garbage".to_vec())),
        Ok(StoreReply::Array(vec![StoreReply::Integer(7)])),
    ] {
        let engine = engine();
        let now = Instant::now();
        let mut log = Log::new();
        let mut store = |_: &StoreOp| reply.clone();
        let typed = engine.chat(smart(), now, SystemTime::now());
        let completion = run(typed, now, &mut log, &mut store, &|_| 200).unwrap();
        assert_eq!(completion.text(), "hi");
        assert_eq!(
            log,
            ["store onellm:router:{east}:cooldown", "send east.example"],
            "{reply:?}: the process's own plan decides"
        );
        // The store rests for a second: the next call does not ask it.
        log.clear();
        let typed = engine.chat(smart(), now + Duration::from_millis(10), SystemTime::now());
        run(
            typed,
            now + Duration::from_millis(10),
            &mut log,
            &mut store,
            &|_| 200,
        )
        .unwrap();
        assert_eq!(log, ["send east.example"], "{reply:?}");
        // A second later it is asked again.
        log.clear();
        let later = now + Duration::from_secs(2);
        let typed = engine.chat(smart(), later, SystemTime::now());
        run(typed, later, &mut log, &mut store, &|_| 200).unwrap();
        assert_eq!(log[0], "store onellm:router:{east}:cooldown", "{reply:?}");
    }
}
