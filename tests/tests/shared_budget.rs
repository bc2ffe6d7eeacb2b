//! A budget shared through Redis, end to end on both transports: what one client spent
//! stops another client (another process, as far as the budget can tell) before it sends
//! anything. Needs a real `redis-server` (skipped with a message when not installed, failed
//! under `CI=true`).

use onellm_core::client::Budget;
use onellm_core::{ChatRequest, ErrorKind};
use onellm_testkit::{FakeProvider, RedisServer, Reply};

mod support;
use support::Driver;

/// A client with the budget `budget` makes (a budget holds its spend: one per client).
fn client<D: Driver>(server: &FakeProvider, redis: &str, budget: impl Fn() -> Budget) -> D {
    build!(D, |builder| builder
        .api_key("openai", "sk-budget")
        .base_url("openai", server.openai_base_url())
        .retries(0)
        .redis(redis)
        .budget(budget()))
    .unwrap()
}

fn ask() -> ChatRequest {
    ChatRequest::new("openai/gpt-4o-mini").user("Hi")
}

fn one_limit_for_every_client<D: Driver>() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let server = FakeProvider::start();
    for _ in 0..4 {
        server.push(Reply::text("ok").usage(1000, 200));
    }
    // gpt-4o-mini: 1,000 prompt and 200 completion tokens cost $0.00027.
    let limit = 0.0005;
    let first = client::<D>(&server, &redis.url(), || Budget::new(limit).shared("team"));
    first.chat(ask()).unwrap();
    first.chat(ask()).unwrap();
    assert_eq!(server.requests().len(), 2);
    // A fresh client of the same team: refused before sending, by what the first spent.
    let second = client::<D>(&server, &redis.url(), || Budget::new(limit).shared("team"));
    let error = second.chat(ask()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BudgetExceeded, "{error}");
    assert_eq!(server.requests().len(), 2, "nothing was sent");
    // Another team's budget is its own.
    let other = client::<D>(&server, &redis.url(), || {
        Budget::new(limit).shared("other team")
    });
    other.chat(ask()).unwrap();
    assert_eq!(server.requests().len(), 3);
}

on_both_transports!(one_limit_for_every_client);
