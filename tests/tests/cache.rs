//! The response cache end to end on both transports, against the fake provider on loopback:
//!
//! - three identical calls with a cache in memory: one request, three identical answers,
//!   the second and third reported as cached with `usage.cost` 0 and the original kept; a
//!   changed `max_tokens` misses;
//! - a stream asked twice: one request, the same text, the second replayed as chunks; a
//!   streamed answer serves a non-streamed call and the other way round;
//! - two tenants (per-call keys) asking the same thing never share an entry;
//! - `no-cache`, `no-store`, `s-maxage`;
//! - embeddings cached per input: a batch with known texts sends only the others and keeps
//!   the order;
//! - with a real `redis-server` (skipped with a message when not installed, failed under
//!   `CI=true`): a second client answered without a request, an entry past its `ttl` not
//!   served, and a Redis that is not there leaving every call answered.

use std::time::Duration;

use onellm_core::cache::{CacheControl, CacheSettings};
use onellm_core::client::Overrides;
use onellm_core::{ChatCompletion, ChatRequest, EmbeddingRequest, EmbeddingResponse};
use onellm_testkit::{FakeProvider, RedisServer, Reply};

const KEY: &str = "sk-cache-test";

mod support;
use support::Driver;

fn client<D: Driver>(server: &FakeProvider, cache: CacheSettings) -> D {
    build!(D, |builder| builder
        .api_key("openai", KEY)
        .base_url("openai", server.openai_base_url())
        .retries(0)
        .cache(cache.clone()))
    .unwrap()
}

/// A view of `client` with another OpenAI key (per-call keys, one cache).
fn with_key<D: Driver>(client: &D, key: &str) -> D {
    client.with_overrides(Overrides::new().api_key("openai", key))
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest::new("openai/gpt-4o-mini").user(text)
}

fn cached(completion: &ChatCompletion) -> bool {
    completion.report().unwrap().cached.is_some()
}

fn identical_calls_are_answered_once<D: Driver>() {
    let server = FakeProvider::start();
    server.push(Reply::text("Paris").usage(1000, 200));
    let client = client::<D>(&server, CacheSettings::memory());
    let first = client.chat(ask("capital of France?")).unwrap();
    let second = client.chat(ask("capital of France?")).unwrap();
    let third = client.chat(ask("capital of France?")).unwrap();
    assert_eq!(server.requests().len(), 1);
    for answer in [&first, &second, &third] {
        assert_eq!(answer.text(), "Paris");
    }
    assert!(!cached(&first) && cached(&second) && cached(&third));
    // The hit costs nothing; what the answer cost is kept in the report.
    let original = first.usage.as_ref().unwrap().cost.unwrap();
    assert!(original > 0.0);
    assert_eq!(second.usage.as_ref().unwrap().cost, Some(0.0));
    assert_eq!(
        second.report().unwrap().cached.unwrap().original_cost,
        Some(original)
    );
    assert!(second.report().unwrap().attempts.is_empty());
    // A changed max_tokens is another question.
    client
        .chat(ask("capital of France?").max_tokens(5))
        .unwrap();
    assert_eq!(server.requests().len(), 2);
}

fn streams_are_stored_and_replayed<D: Driver>() {
    let server = FakeProvider::start();
    server.push(Reply::text("streamed once").usage(10, 3));
    let client = client::<D>(&server, CacheSettings::memory());
    let first = client.stream(ask("tell me")).unwrap();
    let second = client.stream(ask("tell me")).unwrap();
    let (text, chunks) = (first.text(), first.chunks.len());
    let (again, replayed, completion) = (second.text(), second.chunks.len(), second.completion);
    assert_eq!(
        server.requests().len(),
        1,
        "the second stream is answered from the cache"
    );
    assert_eq!(
        (text.as_str(), again.as_str()),
        ("streamed once", "streamed once")
    );
    assert!(chunks > 0 && replayed > 0);
    assert!(cached(&completion));
    assert_eq!(completion.usage.as_ref().unwrap().completion_tokens, 3);
    // The non-streamed call finds the streamed answer, and a stream finds a whole one.
    assert_eq!(client.chat(ask("tell me")).unwrap().text(), "streamed once");
    server.push(Reply::text("whole first"));
    client.chat(ask("other")).unwrap();
    assert_eq!(client.stream(ask("other")).unwrap().text(), "whole first");
    assert_eq!(server.requests().len(), 2);
}

/// A stream read `without_completion` still delivers every chunk; its completion is a
/// summary (usage, finish reason, report, no text), and the cache stores nothing for it.
fn streams_read_without_their_completion<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server, CacheSettings::memory());
    for _ in 0..2 {
        server.push(Reply::text("a long answer").usage(10, 3));
        let streamed = client.stream_summary(ask("tell me")).unwrap();
        let (text, summary) = (streamed.text(), streamed.completion);
        assert_eq!(text, "a long answer");
        assert_eq!(summary.text(), "");
        assert_eq!(summary.usage.as_ref().unwrap().completion_tokens, 3);
        assert_eq!(
            summary.choices[0].finish_reason,
            Some(onellm_core::FinishReason::Stop)
        );
        assert!(!cached(&summary));
    }
    assert_eq!(server.requests().len(), 2, "nothing was stored");
}

fn tenants_never_share_entries<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server, CacheSettings::memory());
    let (alice, bob) = (with_key(&client, "sk-alice"), with_key(&client, "sk-bob"));
    alice.chat(ask("secret plans")).unwrap();
    assert!(!cached(&bob.chat(ask("secret plans")).unwrap()));
    assert!(cached(&alice.chat(ask("secret plans")).unwrap()));
    assert!(cached(&bob.chat(ask("secret plans")).unwrap()));
    assert_eq!(server.requests().len(), 2);
}

fn per_call_controls<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server, CacheSettings::memory());
    let with = |control: CacheControl| {
        let mut request = ask("controlled");
        request.cache = Some(control);
        request
    };
    // no-store: answered, not kept.
    client
        .chat(with(CacheControl {
            no_store: true,
            ..Default::default()
        }))
        .unwrap();
    client.chat(ask("controlled")).unwrap();
    assert_eq!(server.requests().len(), 2);
    // no-cache: sent even though an entry exists (and the fresh answer stored).
    let fresh = client
        .chat(with(CacheControl {
            no_cache: true,
            ..Default::default()
        }))
        .unwrap();
    assert!(!cached(&fresh));
    assert_eq!(server.requests().len(), 3);
    // s-maxage: an entry older than allowed is not served.
    std::thread::sleep(Duration::from_millis(30));
    let strict = client
        .chat(with(CacheControl {
            s_maxage: Some(0.01),
            ..Default::default()
        }))
        .unwrap();
    assert!(!cached(&strict));
    let lenient = client
        .chat(with(CacheControl {
            s_maxage: Some(60.0),
            ..Default::default()
        }))
        .unwrap();
    assert!(cached(&lenient));
    assert_eq!(server.requests().len(), 4);
    // Never sent to the provider.
    assert!(server
        .requests()
        .iter()
        .all(|request| !request.body.contains("no-store") && !request.body.contains("s-maxage")));
}

fn embeddings_are_cached_per_input<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server, CacheSettings::memory());
    let model = "openai/text-embedding-3-small";
    let first = client
        .embeddings(EmbeddingRequest::new(model, ["alpha", "beta"]))
        .unwrap();
    let second = client
        .embeddings(EmbeddingRequest::new(model, ["beta", "gamma", "alpha"]))
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let sent: serde_json::Value = serde_json::from_str(&requests[1].body).unwrap();
    assert_eq!(
        sent["input"],
        serde_json::json!(["gamma"]),
        "only the unknown text is sent"
    );
    let vector = |response: &EmbeddingResponse, at: usize| response.data[at].embedding.clone();
    assert_eq!(second.data.len(), 3);
    assert_eq!(
        second.data.iter().map(|e| e.index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(vector(&second, 0), vector(&first, 1), "beta");
    assert_eq!(vector(&second, 2), vector(&first, 0), "alpha");
    // All known: nothing sent.
    let third = client
        .embeddings(EmbeddingRequest::new(model, ["gamma", "beta"]))
        .unwrap();
    assert_eq!(server.requests().len(), 2);
    assert_eq!(vector(&third, 0), vector(&second, 1));
}

fn shared_through_redis<D: Driver>() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = FakeProvider::start();
    server.push(Reply::text("from the provider"));
    let settings = CacheSettings::redis(redis.url());
    let first = client::<D>(&server, settings.clone());
    let second = client::<D>(&server, settings);
    assert!(!cached(&first.chat(ask("shared")).unwrap()));
    let answer = second.chat(ask("shared")).unwrap();
    assert!(cached(&answer));
    assert_eq!(answer.text(), "from the provider");
    assert_eq!(server.requests().len(), 1, "the second client sent nothing");
    // A stream replays what Redis holds.
    assert_eq!(
        second.stream(ask("shared")).unwrap().text(),
        "from the provider"
    );
    // An entry past its ttl is not served.
    let mut short = ask("short-lived");
    short.cache = Some(CacheControl {
        ttl: Some(0.2),
        ..Default::default()
    });
    first.chat(short.clone()).unwrap();
    assert!(cached(&second.chat(short.clone()).unwrap()));
    std::thread::sleep(Duration::from_millis(400));
    assert!(!cached(&second.chat(short).unwrap()));
    assert_eq!(server.requests().len(), 3);
    // Embeddings per input through MGET.
    let model = "openai/text-embedding-3-small";
    first
        .embeddings(EmbeddingRequest::new(model, ["x", "y"]))
        .unwrap();
    second
        .embeddings(EmbeddingRequest::new(model, ["y", "z"]))
        .unwrap();
    let requests = server.requests();
    let sent: serde_json::Value = serde_json::from_str(&requests.last().unwrap().body).unwrap();
    assert_eq!(sent["input"], serde_json::json!(["z"]));
}

fn redis_away_never_fails_a_call<D: Driver>() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let server = FakeProvider::start();
    let client = client::<D>(&server, CacheSettings::redis(redis.url()));
    client.chat(ask("before")).unwrap();
    assert!(cached(&client.chat(ask("before")).unwrap()));
    redis.stop();
    for round in 0..4 {
        let answer = client.chat(ask("after")).unwrap();
        assert_eq!(answer.text(), "after", "round {round}");
        let text = client.stream(ask("after")).unwrap().text();
        assert_eq!(text, "after");
    }
    assert_eq!(server.requests().len(), 1 + 8);
}

on_both_transports!(
    identical_calls_are_answered_once,
    streams_are_stored_and_replayed,
    streams_read_without_their_completion,
    tenants_never_share_entries,
    per_call_controls,
    embeddings_are_cached_per_input,
    shared_through_redis,
    redis_away_never_fails_a_call,
);
