//! A budget shared through Redis, end to end on both transports: what one client spent
//! stops another client (another process, as far as the budget can tell) before it sends
//! anything. Needs a real `redis-server` (skipped with a message when not installed, failed
//! under `CI=true`).

use onellm_core::client::Budget;
use onellm_core::{ChatCompletion, ChatRequest, Error, ErrorKind};
use onellm_testkit::{FakeProvider, RedisServer, Reply};

trait Driver: Sized {
    fn new(server: &FakeProvider, redis: &str, budget: Budget) -> Self;
    fn chat(&self, request: ChatRequest) -> Result<ChatCompletion, Error>;
}

macro_rules! builder {
    ($builder:expr, $server:expr, $redis:expr, $budget:expr) => {
        $builder
            .api_key("openai", "sk-budget")
            .base_url("openai", $server.openai_base_url())
            .retries(0)
            .redis($redis)
            .budget($budget)
    };
}

struct Blocking(onellm_blocking::Client);

impl Driver for Blocking {
    fn new(server: &FakeProvider, redis: &str, budget: Budget) -> Self {
        let builder = builder!(onellm_blocking::Client::builder(), server, redis, budget);
        Blocking(builder.build().unwrap())
    }
    fn chat(&self, request: ChatRequest) -> Result<ChatCompletion, Error> {
        self.0.chat(request)
    }
}

struct Async {
    client: onellm_tokio::Client,
    runtime: tokio::runtime::Runtime,
}

impl Driver for Async {
    fn new(server: &FakeProvider, redis: &str, budget: Budget) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let builder = builder!(onellm_tokio::Client::builder(), server, redis, budget);
        let client = runtime.block_on(async { builder.build() }).unwrap();
        Async { client, runtime }
    }
    fn chat(&self, request: ChatRequest) -> Result<ChatCompletion, Error> {
        self.runtime.block_on(self.client.chat(request))
    }
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
    let first = D::new(&server, &redis.url(), Budget::new(limit).shared("team"));
    first.chat(ask()).unwrap();
    first.chat(ask()).unwrap();
    assert_eq!(server.requests().len(), 2);
    // A fresh client of the same team: refused before sending, by what the first spent.
    let second = D::new(&server, &redis.url(), Budget::new(limit).shared("team"));
    let error = second.chat(ask()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BudgetExceeded, "{error}");
    assert_eq!(server.requests().len(), 2, "nothing was sent");
    // Another team's budget is its own.
    let other = D::new(
        &server,
        &redis.url(),
        Budget::new(limit).shared("other team"),
    );
    other.chat(ask()).unwrap();
    assert_eq!(server.requests().len(), 3);
}

macro_rules! on_both_transports {
    ($($scenario:ident),+ $(,)?) => {
        mod on_blocking {
            $(#[test] fn $scenario() { super::$scenario::<super::Blocking>(); })+
        }
        mod on_tokio {
            $(#[test] fn $scenario() { super::$scenario::<super::Async>(); })+
        }
    };
}

on_both_transports!(one_limit_for_every_client);
