//! Unit tests of the decision table, the backoff and the jitter source. The machine itself is
//! tested through its public API with a virtual clock in `core/tests/call.rs` (that file may
//! take the one real `Instant` the virtual clock starts from; `core/src` never reads a clock).

use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode};

use super::decision::{decide, Decision};
use super::jitter::Jitter;
use super::options::{Backoff, CallOptions};
use crate::error::{Error, ErrorKind};

fn http_error(status: u16, headers: &[(&'static str, &str)], body: &str) -> Error {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    // An OpenAI-compatible adapter classifies the body the way a real call would.
    let provider = crate::Registry::new()
        .resolve(&crate::ModelId::parse("ollama_openai/llama3.2").unwrap())
        .unwrap();
    provider.parse_error(StatusCode::from_u16(status).unwrap(), &map, body.as_bytes())
}

fn decision(error: &Error, retries_used: u32) -> Decision {
    decide(
        error,
        retries_used,
        2,
        &CallOptions::default(),
        &mut Jitter::new(1),
    )
}

#[test]
fn retryable_errors_retry_until_the_retries_are_used_then_move_on() {
    for error in [
        http_error(
            429,
            &[],
            r#"{"error":{"message":"slow down","type":"requests"}}"#,
        ),
        http_error(500, &[], "oops"),
        http_error(503, &[], ""),
        http_error(
            529,
            &[],
            r#"{"type":"error","error":{"type":"overloaded_error"}}"#,
        ),
        http_error(408, &[], ""),
        http_error(409, &[], ""),
        Error::new(ErrorKind::Connection, "reset"),
        Error::new(ErrorKind::Timeout, "slow"),
        Error::truncated("cut"),
    ] {
        for used in 0..2 {
            assert!(
                matches!(decision(&error, used), Decision::RetrySameModel { .. }),
                "{error}"
            );
        }
        assert_eq!(decision(&error, 2), Decision::NextModel, "{error}");
    }
}

#[test]
fn fallback_errors_move_on_at_once_and_invalid_requests_fail() {
    let cases = [
        (http_error(401, &[], "bad key"), Decision::NextModel),
        (http_error(403, &[], "no"), Decision::NextModel),
        (http_error(404, &[], "no such model"), Decision::NextModel),
        (
            http_error(
                400,
                &[],
                r#"{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","code":"context_length_exceeded"}}"#,
            ),
            Decision::NextModel,
        ),
        (
            http_error(
                400,
                &[],
                r#"{"error":{"code":"content_filter","message":"x"}}"#,
            ),
            Decision::NextModel,
        ),
        (http_error(400, &[], "bad"), Decision::Fail),
        (http_error(402, &[], "pay"), Decision::Fail),
        (http_error(413, &[], "big"), Decision::Fail),
        (http_error(422, &[], "odd"), Decision::Fail),
        (
            http_error(413, &[], "prompt is too long: 300000 tokens"),
            Decision::NextModel,
        ),
    ];
    for (error, expected) in cases {
        assert_eq!(decision(&error, 0), expected, "{error}");
    }
}

#[test]
fn x_should_retry_overrides_the_kind() {
    let no = http_error(500, &[("x-should-retry", "false")], "");
    assert_eq!(decision(&no, 0), Decision::NextModel);
    let yes = http_error(400, &[("x-should-retry", "true")], "");
    assert!(matches!(decision(&yes, 0), Decision::RetrySameModel { .. }));
    // Out of retries, an invalid request still does not fall back.
    assert_eq!(decision(&yes, 2), Decision::Fail);
}

#[test]
fn retry_after_replaces_the_backoff_up_to_the_cap() {
    let asked = |headers: &[(&'static str, &str)]| decision(&http_error(429, headers, ""), 1);
    assert_eq!(
        asked(&[("retry-after", "2")]),
        Decision::RetrySameModel {
            wait: Duration::from_secs(2)
        }
    );
    // Below the backoff it would have computed, too: it replaces, it is not a floor.
    assert_eq!(
        asked(&[("retry-after-ms", "20")]),
        Decision::RetrySameModel {
            wait: Duration::from_millis(20)
        }
    );
    assert_eq!(
        asked(&[("retry-after", "0")]),
        Decision::RetrySameModel {
            wait: Duration::ZERO
        }
    );
    assert_eq!(
        asked(&[("retry-after", "60")]),
        Decision::RetrySameModel {
            wait: Duration::from_secs(60)
        }
    );
    assert_eq!(asked(&[("retry-after", "61")]), Decision::NextModel);
    // Above the cap on an error that may not fall back: fail.
    let invalid = http_error(
        400,
        &[("x-should-retry", "true"), ("retry-after", "600")],
        "",
    );
    assert_eq!(decision(&invalid, 0), Decision::Fail);
}

#[test]
fn backoff_waits_are_jittered_within_the_ceiling() {
    let options = CallOptions::default();
    let error = http_error(503, &[], "");
    let mut jitter = Jitter::new(99);
    for used in 0..12 {
        let ceiling = options.backoff.ceiling(used);
        for _ in 0..200 {
            match decide(&error, used, 100, &options, &mut jitter) {
                Decision::RetrySameModel { wait } => assert!(wait <= ceiling, "{wait:?}"),
                other => panic!("{other:?}"),
            }
        }
    }
}

#[test]
fn backoff_ceiling_grows_then_caps_and_never_panics() {
    let backoff = Backoff::default();
    let ceilings: Vec<u64> = (0..7).map(|n| backoff.ceiling(n).as_secs()).collect();
    assert_eq!(ceilings, [1, 2, 4, 8, 16, 30, 30]);
    assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(30));
    let odd = Backoff {
        base: Duration::MAX,
        factor: f64::NAN,
        cap: Duration::from_secs(5),
    };
    assert_eq!(odd.ceiling(3), Duration::from_secs(5));
    let huge = Backoff {
        base: Duration::MAX,
        factor: 10.0,
        cap: Duration::MAX,
    };
    assert_eq!(huge.ceiling(1000), Duration::MAX);
    let gentle = Backoff {
        base: Duration::from_millis(100),
        factor: 1.5,
        cap: Duration::from_secs(1),
    };
    assert_eq!(gentle.ceiling(2), Duration::from_millis(225));
}

#[test]
fn jitter_is_seeded_uniform_and_bounded() {
    let draw = |seed| {
        let mut jitter = Jitter::new(seed);
        (0..8)
            .map(|_| jitter.up_to(Duration::from_secs(1)))
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(5), draw(5));
    assert_ne!(draw(5), draw(6));

    let mut jitter = Jitter::new(0);
    assert_eq!(jitter.up_to(Duration::ZERO), Duration::ZERO);
    assert!(jitter.up_to(Duration::MAX) <= Duration::from_nanos(u64::MAX));
    // Spread: the mean of many draws in [0, 1 s] is near 0.5 s, and both halves are hit.
    let draws: Vec<Duration> = (0..10_000)
        .map(|_| jitter.up_to(Duration::from_secs(1)))
        .collect();
    let mean = draws.iter().map(Duration::as_secs_f64).sum::<f64>() / draws.len() as f64;
    assert!((0.45..0.55).contains(&mean), "{mean}");
    assert!(draws.iter().any(|d| *d < Duration::from_millis(10)));
    assert!(draws.iter().any(|d| *d > Duration::from_millis(990)));
}
