//! Gzip-encoded replies on both transports: the request advertises gzip, and a compressed
//! whole reply or stream (compressed as it goes, flushed per event) is decoded — the stream
//! chunk by chunk, not at its end.

use onellm_core::ChatRequest;
use onellm_testkit::{FakeProvider, Reply};

mod support;
use support::Driver;

fn gzip_replies_are_decoded<D: Driver>() {
    let server = FakeProvider::start();
    let long = "compressed words ".repeat(200);
    server.push(Reply::text(long.clone()).gzip());
    server.push(Reply::text("one two three four five six").gzip());
    let client = build!(D, |builder| builder
        .api_key("openai", "sk-gzip")
        .base_url("openai", server.openai_base_url())
        .retries(0))
    .unwrap();
    let request = || ChatRequest::new("openai/gpt-4o-mini").user("Hi");
    assert_eq!(client.chat(request()).unwrap().text(), long);
    let streamed = client.stream(request()).unwrap();
    let text = streamed.text();
    let chunks = streamed
        .chunks
        .iter()
        .filter(|c| c.text().is_some())
        .count();
    assert_eq!(text, "one two three four five six");
    assert!(
        chunks > 1,
        "the stream was decoded as it came: {chunks} chunks"
    );
    for sent in server.requests() {
        let accepted = sent
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("accept-encoding"))
            .map(|(_, value)| value.as_str());
        assert!(
            accepted.is_some_and(|value| value.contains("gzip")),
            "{accepted:?}"
        );
    }
    // A cut gzip body is a clear error, not a hang or an empty answer.
    server.push(
        Reply::text(long)
            .gzip()
            .with_fault(onellm_testkit::Fault::Truncated),
    );
    let error = client.chat(request()).unwrap_err();
    assert!(
        matches!(
            error.kind(),
            onellm_core::ErrorKind::Decode
                | onellm_core::ErrorKind::Truncated
                | onellm_core::ErrorKind::Connection
        ),
        "{error}"
    );
}

on_both_transports!(gzip_replies_are_decoded);
