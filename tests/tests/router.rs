//! The router end to end on both transports: deployments on separate fake providers on
//! loopback, configured with LiteLLM's YAML (read from a file by the client for one case).
//!
//! - weighted shuffle 3:1 over 40 calls lands 22–38 on the heavier deployment, and each
//!   deployment receives its own key;
//! - a deployment always answering 429 (`allowed_fails: 1`, `cooldown_time: 60`): 10 calls
//!   all succeed and it receives at most 3 requests;
//! - `rpm: 3`: of 12 calls it receives at most 3;
//! - a name that is neither a group nor a model fails naming it, sending nothing; a
//!   malformed file fails the client's build, naming the file and the line.
//!
//! With a real `redis-server` as the shared store (started per test; skipped with a message
//! when not installed, failed under `CI=true`):
//!
//! - two clients — each with its own state, as two processes have — keep one `rpm: 3`
//!   between them: of 8 calls the limited deployment gets exactly 3;
//! - a cooldown one client caused keeps the other client away from the deployment;
//! - Redis stopped mid-run, or never there: every call still succeeds.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use onellm_core::{CallEvent, ChatCompletion, ChatRequest, Error, ErrorKind};
use onellm_testkit::{key_fingerprint, FakeProvider, RedisServer, Reply};

fn config(east: &FakeProvider, west: &FakeProvider, extra: &str) -> String {
    format!(
        "model_list:
  - model_name: smart
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-east
      api_base: {}
      weight: 3
{extra}    model_info:
      id: east
  - model_name: smart
    litellm_params:
      model: openai/gpt-4o
      api_key: sk-west
      api_base: {}
      weight: 1
    model_info:
      id: west
router_settings:
  allowed_fails: 1
  cooldown_time: 60
",
        east.openai_base_url(),
        west.openai_base_url()
    )
}

type Events = Arc<Mutex<Vec<CallEvent>>>;

mod support;
use support::Driver;

fn parse(yaml: &str) -> Result<onellm_core::router::RouterConfig, Error> {
    onellm_core::router::RouterConfig::from_yaml(yaml, "test.yaml", &|_| None)
}

fn routed<D: Driver>(yaml: &str) -> Result<D, Error> {
    observed(yaml, Events::default())
}

/// A client whose call events go to `events`.
fn observed<D: Driver>(yaml: &str, events: Events) -> Result<D, Error> {
    let config = parse(yaml)?;
    build!(D, |builder| {
        let events = Arc::clone(&events);
        builder
            .retries(0)
            .on_event(move |event| events.lock().unwrap().push(event.clone()))
            .router(config.clone())
    })
}

fn read_config_file<D: Driver>(path: &str) -> Result<D, Error> {
    build!(D, |builder| builder.router_file(path))
}

fn smart() -> ChatRequest {
    ChatRequest::new("smart").user("Hi")
}

fn weighted_shuffle_with_each_deployments_key<D: Driver>() {
    let (east, west) = (FakeProvider::start(), FakeProvider::start());
    let client = routed::<D>(&config(&east, &west, "")).unwrap();
    for _ in 0..40 {
        let completion = client.chat(smart()).unwrap();
        assert_eq!(completion.text(), "Hi", "the fake echoes");
        let answered = completion
            .report()
            .unwrap()
            .attempts
            .last()
            .unwrap()
            .clone();
        assert!(matches!(
            answered.deployment.as_deref(),
            Some("east" | "west")
        ));
    }
    let (east_requests, west_requests) = (east.requests(), west.requests());
    assert_eq!(east_requests.len() + west_requests.len(), 40);
    assert!(
        (22..=38).contains(&east_requests.len()),
        "{} of 40 on east",
        east_requests.len()
    );
    assert!(east_requests
        .iter()
        .all(|r| r.key_fingerprint == Some(key_fingerprint("sk-east"))));
    assert!(west_requests
        .iter()
        .all(|r| r.key_fingerprint == Some(key_fingerprint("sk-west"))));
}

fn failing_deployment_cools_down<D: Driver>() {
    let (east, west) = (FakeProvider::start(), FakeProvider::start());
    for _ in 0..10 {
        east.push(Reply::status(429));
    }
    let client = routed::<D>(&config(&east, &west, "")).unwrap();
    for _ in 0..10 {
        let completion = client.chat(smart()).unwrap();
        assert_eq!(
            completion
                .report()
                .unwrap()
                .attempts
                .last()
                .unwrap()
                .deployment
                .as_deref(),
            Some("west")
        );
    }
    assert!(
        east.requests().len() <= 3,
        "east got {}",
        east.requests().len()
    );
}

fn rpm_limits_a_deployment<D: Driver>() {
    let (east, west) = (FakeProvider::start(), FakeProvider::start());
    let client = routed::<D>(&config(&east, &west, "      rpm: 3\n")).unwrap();
    for _ in 0..12 {
        client.chat(smart()).unwrap();
    }
    // 12 calls run well within a minute, unless the minute turns mid-test (then 6 at most).
    assert!(
        east.requests().len() <= 6,
        "east got {}",
        east.requests().len()
    );
    assert_eq!(east.requests().len() + west.requests().len(), 12);
}

fn bad_names_and_files_send_nothing<D: Driver>() {
    let (east, west) = (FakeProvider::start(), FakeProvider::start());
    let yaml = config(&east, &west, "");
    let client = routed::<D>(&yaml).unwrap();
    let error = client
        .chat(ChatRequest::new("smrt").user("Hi"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(error.message().contains("\"smrt\""), "{error}");
    assert!(east.requests().is_empty() && west.requests().is_empty());

    // The same configuration from a file, read by the client when built.
    let dir = std::env::temp_dir().join(format!(
        "onellm-router-{}-{}",
        std::process::id(),
        std::any::type_name::<D>().len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("proxy.yaml");
    std::fs::write(&good, &yaml).unwrap();
    let from_file = read_config_file::<D>(good.to_str().unwrap()).unwrap();
    from_file.chat(smart()).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, yaml.replace("weight: 1", "weight: heavy")).unwrap();
    let error = read_config_file::<D>(bad.to_str().unwrap())
        .err()
        .expect("a malformed file fails the build");
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(
        error
            .message()
            .contains("bad.yaml:15: weight must be a number"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(east.requests().len() + west.requests().len(), 1);
}

/// `config` with its state in the Redis on `port`.
fn shared_config(east: &FakeProvider, west: &FakeProvider, extra: &str, port: u16) -> String {
    format!(
        "{}  redis_host: 127.0.0.1\n  redis_port: {port}\n",
        config(east, west, extra)
    )
}

/// Waits out the last seconds of a wall-clock minute, so a test's calls fall in one `rpm`
/// window.
fn within_one_minute() {
    let second = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second >= 55 {
        std::thread::sleep(Duration::from_secs(61 - second));
    }
}

fn deployment_of(completion: &ChatCompletion) -> String {
    let report = completion.report().unwrap();
    let answered = report.attempts.last().unwrap();
    answered.deployment.clone().unwrap_or_default()
}

fn shared_rpm_across_clients<D: Driver>() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (east, west) = (FakeProvider::start(), FakeProvider::start());
    // East comes first (order 1) until its 3 requests of the minute are used.
    let yaml = shared_config(&east, &west, "      rpm: 3\n      order: 1\n", redis.port());
    let (first, second) = (routed::<D>(&yaml).unwrap(), routed::<D>(&yaml).unwrap());
    within_one_minute();
    for _ in 0..4 {
        for client in [&first, &second] {
            let completion = client.chat(smart()).unwrap();
            assert_eq!(completion.text(), "Hi");
        }
    }
    // Each client alone would have sent 3 to east: 6 in all.
    assert_eq!(
        east.requests().len(),
        3,
        "east is held to rpm 3 across both"
    );
    assert_eq!(west.requests().len(), 5);
}

/// A stream dropped after its first chunk gives its deployment's shared in-flight slot back
/// at once (not when the key expires): with `max_parallel_requests: 1` on east, four
/// dropped streams in a row all go to east, and so does another client's call after them.
fn dropped_streams_give_back_their_shared_slot<D: Driver>() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (east, west) = (FakeProvider::start(), FakeProvider::start());
    let extra = "      max_parallel_requests: 1\n      order: 1\n";
    let yaml = shared_config(&east, &west, extra, redis.port());
    let (first, second) = (routed::<D>(&yaml).unwrap(), routed::<D>(&yaml).unwrap());
    for round in 0..4 {
        // Read whole before the drop (the attempt ended: its report is still to send), or
        // with pauses between events (the attempt is still in flight: its slot to give back).
        let story = Reply::text("a story told in several pieces");
        east.push(match round % 2 {
            0 => story,
            _ => story.slow_body(Duration::from_millis(50)),
        });
        // The first chunk released: the call has content and is bound to east.
        first.first_chunk_then_drop(smart()).unwrap();
        first.settle();
    }
    assert_eq!(
        east.requests().len(),
        4,
        "each dropped stream's slot came back"
    );
    let answer = second.chat(smart()).unwrap();
    assert_eq!(deployment_of(&answer), "east");
    assert_eq!(west.requests().len(), 0);
}

fn shared_cooldown_across_clients<D: Driver>() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (east, west) = (FakeProvider::start(), FakeProvider::start());
    for _ in 0..10 {
        east.push(Reply::status(429));
    }
    let yaml = shared_config(&east, &west, "      order: 1\n", redis.port());
    let first = routed::<D>(&yaml).unwrap();
    // allowed_fails: 1 — the second failure cools east down (for 60 s).
    for _ in 0..2 {
        assert_eq!(deployment_of(&first.chat(smart()).unwrap()), "west");
    }
    assert_eq!(east.requests().len(), 2);
    let second = routed::<D>(&yaml).unwrap();
    for _ in 0..5 {
        let completion = second.chat(smart()).unwrap();
        assert_eq!(deployment_of(&completion), "west");
        let attempts = &completion.report().unwrap().attempts;
        // East is skipped: refused by the store (a recorded attempt, nothing sent), or
        // left out of the plan once this client learnt of the cooldown.
        assert!(attempts.iter().all(
            |attempt| attempt.status.is_none() || attempt.deployment.as_deref() == Some("west")
        ));
    }
    assert_eq!(
        east.requests().len(),
        2,
        "the second client sent nothing to east"
    );
}

fn store_going_away_keeps_calls_working<D: Driver>() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let (east, west) = (FakeProvider::start(), FakeProvider::start());
    let yaml = shared_config(&east, &west, "      rpm: 100\n", redis.port());
    let client = routed::<D>(&yaml).unwrap();
    for _ in 0..3 {
        client.chat(smart()).unwrap();
    }
    redis.stop();
    for _ in 0..6 {
        assert_eq!(client.chat(smart()).unwrap().text(), "Hi");
    }
    // A store that was never there: built fine, and every call answered.
    let absent = routed::<D>(&yaml).unwrap();
    for _ in 0..3 {
        assert_eq!(absent.chat(smart()).unwrap().text(), "Hi");
    }
    assert_eq!(east.requests().len() + west.requests().len(), 12);
}

fn deployment_timeout_and_events_name_the_deployment<D: Driver>() {
    let (east, west) = (FakeProvider::start(), FakeProvider::start());
    // East answers after 3 s; its own `timeout` gives it 0.3 s, then west answers.
    east.push(Reply::echo().slow_headers(Duration::from_secs(3)));
    let events = Events::default();
    let yaml = config(&east, &west, "      timeout: 0.3\n      order: 1\n");
    let client = observed::<D>(&yaml, Arc::clone(&events)).unwrap();
    let completion = client.chat(smart()).unwrap();
    assert_eq!(deployment_of(&completion), "west");
    let attempts = &completion.report().unwrap().attempts;
    assert_eq!(attempts[0].deployment.as_deref(), Some("east"));
    assert_eq!(attempts[0].kind(), Some(ErrorKind::Timeout), "{attempts:?}");
    let events = events.lock().unwrap();
    let sent: Vec<(Option<&str>, Option<&str>)> = events
        .iter()
        .filter_map(|event| match event {
            CallEvent::Sending {
                group, deployment, ..
            } => Some((group.as_deref(), deployment.as_deref())),
            _ => None,
        })
        .collect();
    assert_eq!(
        sent,
        [(Some("smart"), Some("east")), (Some("smart"), Some("west"))]
    );
    assert!(events.iter().any(|event| matches!(
        event,
        CallEvent::Succeeded { deployment: Some(answered), .. } if answered == "west"
    )));
    // Nothing an event says shows a key.
    assert!(!format!("{events:?}").contains("sk-"));
}

fn error_reply(code: &str) -> Reply {
    Reply::status(400).body(format!(
        r#"{{"error":{{"message":"refused ({code})","type":"invalid_request_error","code":"{code}"}}}}"#
    ))
}

fn kind_specific_fallbacks_apply_only_to_their_errors<D: Driver>() {
    let (main, safe, big) = (
        FakeProvider::start(),
        FakeProvider::start(),
        FakeProvider::start(),
    );
    let entry = |group: &str, fake: &FakeProvider, id: &str| {
        format!(
            "  - model_name: {group}\n    litellm_params:\n      model: openai/gpt-4o\n      \
             api_key: sk-{id}\n      api_base: {}\n    model_info:\n      id: {id}\n",
            fake.openai_base_url()
        )
    };
    let yaml = format!(
        "model_list:\n{}{}{}router_settings:\n  content_policy_fallbacks: [{{smart: [safe]}}]\n  \
         context_window_fallbacks: [{{smart: [big]}}]\n",
        entry("smart", &main, "main"),
        entry("safe", &safe, "safe"),
        entry("big", &big, "big"),
    );
    let client = routed::<D>(&yaml).unwrap();
    main.push(error_reply("content_policy_violation"));
    assert_eq!(deployment_of(&client.chat(smart()).unwrap()), "safe");
    main.push(error_reply("context_length_exceeded"));
    assert_eq!(deployment_of(&client.chat(smart()).unwrap()), "big");
    // Any other refusal: neither block is for it, and there is no general fallback.
    main.push(Reply::status(401));
    let error = client.chat(smart()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Authentication, "{error}");
    assert_eq!(error.attempts().len(), 1);
    assert_eq!(
        (
            main.requests().len(),
            safe.requests().len(),
            big.requests().len()
        ),
        (3, 1, 1)
    );
}

on_both_transports!(
    weighted_shuffle_with_each_deployments_key,
    failing_deployment_cools_down,
    rpm_limits_a_deployment,
    bad_names_and_files_send_nothing,
    shared_rpm_across_clients,
    shared_cooldown_across_clients,
    dropped_streams_give_back_their_shared_slot,
    store_going_away_keeps_calls_working,
    deployment_timeout_and_events_name_the_deployment,
    kind_specific_fallbacks_apply_only_to_their_errors,
);
