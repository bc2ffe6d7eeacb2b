//! The checks before sending and the budget, end to end on both transports against the fake
//! provider on loopback:
//!
//! - a ~40,000-token prompt to `openai/gpt-3.5-turbo` (a 16,385-token window) fails with
//!   `context_window_exceeded` and sends nothing; with `openai/gpt-4o` (128,000) as the
//!   fallback, the fallback answers and is the only request sent;
//! - a request needing what the catalog says a model lacks (image input to `o3-mini`,
//!   tools to `gpt-5-chat`) is refused with `unsupported` before sending, falls back, and is
//!   sent when the check is turned off;
//! - a client with a budget stops once its calls' `usage.cost` reaches it, whole or
//!   streamed, and says what it spent.

use onellm_core::{ChatRequest, Error, ErrorKind, Tool};
use onellm_testkit::{FakeProvider, Reply};

const KEY: &str = "sk-preflight-test";

/// What a test changes on the client.
#[derive(Default, Clone)]
struct Setup {
    budget: Option<f64>,
    capabilities_off: bool,
    cache: Option<onellm_core::cache::CacheSettings>,
}

mod support;
use support::Driver;

fn configured<D: Driver>(server: &FakeProvider, setup: Setup) -> D {
    build!(D, |builder| {
        let mut builder = builder
            .api_key("openai", KEY)
            .base_url("openai", server.openai_base_url())
            .retries(0);
        if let Some(usd) = setup.budget {
            builder = builder.max_budget(usd);
        }
        if setup.capabilities_off {
            builder = builder.check_capabilities(false);
        }
        if let Some(cache) = setup.cache.clone() {
            builder = builder.cache(cache);
        }
        builder
    })
    .unwrap()
}

/// About 40,000 tokens of English for OpenAI's encodings (and 40,000 words).
fn long_prompt() -> String {
    "the quick brown fox jumps over the lazy dog ".repeat(4_445)
}

fn long_prompt_is_refused_before_sending<D: Driver>() {
    let server = FakeProvider::start();
    let client = configured::<D>(&server, Setup::default());
    // What the check counts, as the client tells it (a bare name resolved first).
    let count = client.count_tokens(&ChatRequest::new("gpt-3.5-turbo").user(long_prompt()));
    assert!(count.exact);
    assert!((40_000..40_100).contains(&count.tokens), "{count:?}");
    let error = client
        .chat(ChatRequest::new("openai/gpt-3.5-turbo").user(long_prompt()))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ContextWindowExceeded, "{error}");
    let message = error.message();
    assert!(message.contains("16385"), "{message}");
    assert!(message.contains("counted exactly"), "{message}");
    assert!(message.contains("nothing was sent"), "{message}");
    let attempt = &error.attempts()[0];
    assert_eq!(
        (attempt.model.as_str(), attempt.status),
        ("openai/gpt-3.5-turbo", None)
    );
    assert!(
        server.requests().is_empty(),
        "a refused prompt is never sent"
    );

    // The same prompt with a larger-window fallback: the fallback answers, alone.
    server.push(Reply::text("summarized"));
    let completion = client
        .chat(
            ChatRequest::new("openai/gpt-3.5-turbo")
                .user(long_prompt())
                .fallback_models(["openai/gpt-4o"]),
        )
        .unwrap();
    assert_eq!(completion.text(), "summarized");
    let report = completion.report().unwrap();
    assert_eq!(report.model(), Some("openai/gpt-4o"));
    let refused = &report.attempts[0];
    assert_eq!(
        refused.error.as_ref().map(Error::kind),
        Some(ErrorKind::ContextWindowExceeded)
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].json()["model"], "gpt-4o");

    // A prompt that fits plus a max_tokens that does not: OpenAI's window holds both.
    let error = client
        .chat(
            ChatRequest::new("openai/gpt-3.5-turbo")
                .user("the quick brown fox ".repeat(2_000))
                .max_tokens(10_000),
        )
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ContextWindowExceeded, "{error}");
    assert!(
        error.message().contains("max_tokens asks for 10000"),
        "{error}"
    );
    // And a short prompt is sent as ever.
    server.push(Reply::text("ok"));
    let short = client.chat(ChatRequest::new("openai/gpt-3.5-turbo").user("Hi"));
    assert_eq!(short.unwrap().text(), "ok");
    assert_eq!(server.requests().len(), 2);
}

fn missing_capability_is_refused_before_sending<D: Driver>() {
    let server = FakeProvider::start();
    let client = configured::<D>(&server, Setup::default());
    let picture =
        || ChatRequest::new("openai/o3-mini").user_with_image("What is it?", "https://x/y.png");
    let error = client.chat(picture()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unsupported, "{error}");
    assert!(error.message().contains("image input"), "{error}");
    assert!(server.requests().is_empty());

    // Tools to a model without function calling fall back to one with it.
    server.push(Reply::text("called"));
    let tools = ChatRequest::new("openai/gpt-5-chat")
        .user("Weather?")
        .tool(Tool::function(
            "weather",
            "The weather",
            serde_json::json!({"type": "object"}),
        ))
        .fallback_models(["openai/gpt-4o"]);
    let completion = client.chat(tools).unwrap();
    assert_eq!(completion.report().unwrap().model(), Some("openai/gpt-4o"));
    assert_eq!(server.requests().len(), 1);

    // With the check off (the catalog may be wrong), the request goes out.
    let unchecked = configured::<D>(
        &server,
        Setup {
            capabilities_off: true,
            ..Setup::default()
        },
    );
    server.push(Reply::text("a cat"));
    assert_eq!(unchecked.chat(picture()).unwrap().text(), "a cat");
    assert_eq!(server.requests().len(), 2);
}

fn budget_stops_calls_once_spent<D: Driver>() {
    let server = FakeProvider::start();
    // gpt-4o: 1,000 prompt and 500 completion tokens cost $0.0075 at the map's prices.
    let client = configured::<D>(
        &server,
        Setup {
            budget: Some(0.01),
            ..Setup::default()
        },
    );
    assert_eq!(client.spent(), 0.0);
    server.push(Reply::text("one").usage(1000, 500));
    let first = client
        .chat(ChatRequest::new("openai/gpt-4o").user("Hi"))
        .unwrap();
    let cost = first.usage.unwrap().cost.expect("priced");
    assert!((client.spent() - cost).abs() < 1e-12);
    // A stream's cost counts too, once.
    server.push(Reply::text("two").usage(1000, 500));
    let second = client
        .stream(ChatRequest::new("openai/gpt-4o").user("Hi"))
        .unwrap();
    assert_eq!(second.text(), "two");
    let stream_cost = second.completion.usage.unwrap().cost.expect("priced");
    assert!(
        (client.spent() - (cost + stream_cost)).abs() < 1e-12,
        "{}",
        client.spent()
    );
    // Spent: the next call, whole or streamed, is refused without sending.
    for streamed in [false, true] {
        let request = ChatRequest::new("openai/gpt-4o").user("Hi");
        let error = if streamed {
            client.stream(request).map(|streamed| streamed.completion)
        } else {
            client.chat(request)
        }
        .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BudgetExceeded, "{error}");
        assert!(error.message().contains("budget of $0.01"), "{error}");
        assert!(error.attempts().is_empty());
    }
    assert_eq!(server.requests().len(), 2);
}

/// A spent budget refuses calls that would send, not answers the cache has: a hit costs
/// nothing. In memory, and through Redis (where the hit is known only after the lookup).
fn a_spent_budget_still_gets_cached_answers<D: Driver>() {
    let redis = onellm_testkit::RedisServer::start();
    let mut caches = vec![onellm_core::cache::CacheSettings::memory()];
    caches.extend(
        redis
            .as_ref()
            .map(|redis| onellm_core::cache::CacheSettings::redis(redis.url())),
    );
    for cache in caches {
        let server = FakeProvider::start();
        let client = configured::<D>(
            &server,
            Setup {
                budget: Some(0.01),
                cache: Some(cache),
                ..Setup::default()
            },
        );
        // gpt-4o: 1,000 prompt and 2,000 completion tokens cost $0.0225: spent at once.
        server.push(Reply::text("priced").usage(1000, 2000));
        let ask = |text: &str| ChatRequest::new("openai/gpt-4o").user(text);
        client.chat(ask("Hi")).unwrap();
        assert!(client.spent() > 0.01);
        let again = client.chat(ask("Hi")).unwrap();
        assert_eq!(again.text(), "priced");
        assert!(again.report().unwrap().cached.is_some());
        let error = client.chat(ask("Something new")).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BudgetExceeded, "{error}");
        assert_eq!(server.requests().len(), 1);
    }
}

on_both_transports!(
    long_prompt_is_refused_before_sending,
    missing_capability_is_refused_before_sending,
    budget_stops_calls_once_spent,
    a_spent_budget_still_gets_cached_answers,
);
