//! End-to-end overhead of OneLLM's clients over the bare HTTP client they are built on.
//!
//! Run: `cargo bench -p onellm-testkit --bench e2e` (`E2E_SECONDS=N` sets the measuring time
//! per scenario, default 3).
//!
//! Both sides talk to the same loopback server (`common::Server`: hyper, keep-alive, replies
//! from prebuilt bytes) and send the same bytes: the bare clients send the `http::Request`
//! that `onellm-core` builds for OneLLM's own request, so the difference is what OneLLM adds
//! per call (building the request, the call state machine, parsing or decoding the reply,
//! and its transport plumbing). The bare clients only read the reply's bytes; they do not
//! parse them.
//!
//! Calls alternate between the two sides (ABBA order), so a shared, noisy machine slows both
//! alike. Each scenario prints one Markdown table row: p50 and mean per call for OneLLM and
//! for the bare client, and the ratio OneLLM / bare. Nothing is asserted: these are reports.

mod common;

use std::future::poll_fn;
use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Replies, Reply, Server};
use futures_core::Stream;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use onellm_blocking::ureq;
use onellm_core::{ChatCompletion, ChatRequest, ChatStreamDecoder, ModelId, Provider, Registry};
use onellm_testkit::{Alpn, TlsServer};

const MODEL: &str = "openai/gpt-4o-mini";
/// Chunks in the streamed reply.
const STREAM_CHUNKS: usize = 1_000;
/// Calls in flight at once in the concurrent scenario.
const CONCURRENCY: usize = 64;

fn main() {
    // `cargo bench` passes `--bench`; an argument such as `tokio` or `blocking stream`
    // selects the scenarios whose group name contains it.
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    // Without `--bench` (`cargo test --benches`) every row runs briefly, as a smoke test.
    let default_seconds = if std::env::args().any(|a| a == "--bench") {
        3.0
    } else {
        0.05
    };
    let budget = Duration::from_secs_f64(
        std::env::var("E2E_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default_seconds),
    );

    let stream_body = common::openai_stream(STREAM_CHUNKS);
    let whole_body = common::openai_completion(400);
    println!(
        "reply sizes: whole {} bytes, stream {} bytes ({STREAM_CHUNKS} chunk events)",
        whole_body.len(),
        stream_body.len()
    );
    let server = Server::start(Replies {
        stream: Reply::Bytes {
            content_type: "text/event-stream",
            body: stream_body,
        },
        whole: Reply::Bytes {
            content_type: "application/json",
            body: whole_body,
        },
    });
    let base_url = server.openai_base_url();
    let request = ChatRequest::new(MODEL)
        .system("You are a helpful assistant.")
        .user("What is the capital of France?")
        .assistant("Paris.")
        .user("And of Italy? Answer in one word.");
    let bare_whole = bare_request(&base_url, &request, false);
    let bare_stream = bare_request(&base_url, &request, true);

    println!();
    println!("| scenario | onellm p50 | bare p50 | ratio p50 | onellm p90 | bare p90 | onellm mean | bare mean | ratio mean | pairs |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let run = |name: &str| filter.is_empty() || name.contains(&filter);

    // Blocking: onellm-blocking against the same ureq version it is built on.
    let client = onellm_blocking::Client::builder()
        .api_key("openai", "sk-bench")
        .base_url("openai", base_url.as_str())
        .build()
        .expect("blocking client");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let core = CoreOnly::new(&base_url);
    check_blocking(&client, &request);

    if run("blocking chat") {
        compare(
            "blocking chat, sequential",
            budget,
            || {
                let started = Instant::now();
                let completion = client.chat(request.clone()).expect("onellm chat");
                std::hint::black_box(completion);
                started.elapsed()
            },
            || {
                let started = Instant::now();
                let response = agent
                    .run(bare_whole.with_body(&bare_whole.body[..]))
                    .expect("ureq call");
                let body = response.into_body().read_to_vec().expect("ureq body");
                std::hint::black_box(body);
                started.elapsed()
            },
        );
    }
    if run("blocking chat") {
        compare(
            "blocking chat, sequential, vs ureq + core",
            budget,
            || {
                let started = Instant::now();
                let completion = client.chat(request.clone()).expect("onellm chat");
                std::hint::black_box(completion);
                started.elapsed()
            },
            || {
                let started = Instant::now();
                let (head, body) = core.build(&request, false).into_parts();
                let response = agent
                    .run(http::Request::from_parts(head, &body[..]))
                    .expect("ureq call");
                let (head, mut body) = response.into_parts();
                let body = body.read_to_vec().expect("ureq body");
                std::hint::black_box(core.parse(head, Bytes::from(body)));
                started.elapsed()
            },
        );
    }
    if run("blocking chat") {
        // onellm-blocking gives every call a deadline (`timeout_global`); with any timeout
        // set, ureq 3 resolves the host on a new thread per request, even for an IP literal
        // and a pooled connection. This row gives the bare side the same configuration, to
        // show how much of the gap that is.
        let timed: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(600)))
            .build()
            .into();
        compare(
            "blocking chat, sequential, vs ureq + core with a timeout set",
            budget,
            || {
                let started = Instant::now();
                let completion = client.chat(request.clone()).expect("onellm chat");
                std::hint::black_box(completion);
                started.elapsed()
            },
            || {
                let started = Instant::now();
                let (head, body) = core.build(&request, false).into_parts();
                let response = timed
                    .run(http::Request::from_parts(head, &body[..]))
                    .expect("ureq call");
                let (head, mut body) = response.into_parts();
                let body = body.read_to_vec().expect("ureq body");
                std::hint::black_box(core.parse(head, Bytes::from(body)));
                started.elapsed()
            },
        );
    }
    if run("blocking stream") {
        compare(
            "blocking stream, 1,000 chunks",
            budget,
            || {
                let started = Instant::now();
                let mut chunks = 0usize;
                for chunk in client.chat_stream(request.clone()) {
                    std::hint::black_box(chunk.expect("onellm chunk"));
                    chunks += 1;
                }
                std::hint::black_box(chunks);
                started.elapsed()
            },
            || {
                let started = Instant::now();
                let response = agent
                    .run(bare_stream.with_body(&bare_stream.body[..]))
                    .expect("ureq call");
                let mut reader = response.into_body().into_reader();
                let mut buf = [0u8; 16 * 1024];
                let mut total = 0usize;
                loop {
                    let n = reader.read(&mut buf).expect("ureq read");
                    if n == 0 {
                        break;
                    }
                    total += n;
                }
                std::hint::black_box(total);
                started.elapsed()
            },
        );
    }

    if run("blocking stream") {
        compare(
            "blocking stream, 1,000 chunks, vs ureq + core decoder",
            budget,
            || {
                let started = Instant::now();
                let mut chunks = 0usize;
                for chunk in client.chat_stream(request.clone()) {
                    std::hint::black_box(chunk.expect("onellm chunk"));
                    chunks += 1;
                }
                std::hint::black_box(chunks);
                started.elapsed()
            },
            || {
                let started = Instant::now();
                let (head, body) = core.build(&request, true).into_parts();
                let response = agent
                    .run(http::Request::from_parts(head, &body[..]))
                    .expect("ureq call");
                let mut decoder = core.provider.chat_stream_decoder(&core.model);
                let mut reader = response.into_body().into_reader();
                let mut buf = [0u8; 16 * 1024];
                let mut chunks = 0usize;
                loop {
                    let n = reader.read(&mut buf).expect("ureq read");
                    if n == 0 {
                        break;
                    }
                    chunks += CoreOnly::decode(decoder.as_mut(), &buf[..n]);
                }
                decoder.finish();
                chunks += CoreOnly::decode(decoder.as_mut(), &[]);
                std::hint::black_box(chunks);
                started.elapsed()
            },
        );
    }

    // Async: onellm-tokio against hyper-util's legacy client, on a current-thread runtime
    // (the server has its own thread).
    // The router: a group of two deployments on the same server, against the plain client
    // naming the model (both OneLLM). With Redis, each call's admission is one round trip
    // to a redis-server on loopback (started here; the rows are skipped without one).
    let redis = if [
        "blocking router",
        "tokio router",
        "blocking cache",
        "tokio cache",
    ]
    .iter()
    .any(|name| run(name))
    {
        onellm_testkit::RedisServer::start()
    } else {
        None
    };
    if run("blocking router") {
        for (label, store) in router_stores(redis.as_ref()) {
            let routed = onellm_blocking::Client::builder()
                .api_key("openai", "sk-bench")
                .router(router_config(&base_url, store.as_deref()))
                .build()
                .expect("blocking router client");
            let group = ChatRequest {
                model: "bench".to_owned(),
                ..request.clone()
            };
            routed.chat(group.clone()).expect("routed call");
            compare(
                &format!("blocking router ({label}) vs the plain client"),
                budget,
                || {
                    let started = Instant::now();
                    std::hint::black_box(routed.chat(group.clone()).expect("routed call"));
                    started.elapsed()
                },
                || {
                    let started = Instant::now();
                    std::hint::black_box(client.chat(request.clone()).expect("onellm chat"));
                    started.elapsed()
                },
            );
        }
    }

    if run("blocking cache") {
        for (label, settings) in cache_stores(redis.as_ref()) {
            let cached = onellm_blocking::Client::builder()
                .api_key("openai", "sk-bench")
                .base_url("openai", base_url.as_str())
                .cache(settings)
                .build()
                .expect("blocking cached client");
            cached
                .chat(request.clone())
                .expect("the call that fills the cache");
            compare(
                &format!("blocking cache hit ({label}) vs a call to the provider"),
                budget,
                || {
                    let started = Instant::now();
                    std::hint::black_box(cached.chat(request.clone()).expect("cache hit"));
                    started.elapsed()
                },
                || {
                    let started = Instant::now();
                    std::hint::black_box(client.chat(request.clone()).expect("onellm chat"));
                    started.elapsed()
                },
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let _guard = runtime.enter();
    let client = onellm_tokio::Client::builder()
        .api_key("openai", "sk-bench")
        .base_url("openai", base_url.as_str())
        .build()
        .expect("tokio client");
    let hyper: HyperClient =
        hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
    runtime.block_on(check_tokio(&client, &request));

    if run("tokio chat, sequential") {
        compare(
            "tokio chat, sequential",
            budget,
            || {
                runtime.block_on(async {
                    let started = Instant::now();
                    let completion = client.chat(request.clone()).await.expect("onellm chat");
                    std::hint::black_box(completion);
                    started.elapsed()
                })
            },
            || {
                runtime.block_on(async {
                    let started = Instant::now();
                    std::hint::black_box(hyper_call(&hyper, &bare_whole).await);
                    started.elapsed()
                })
            },
        );
    }
    if run("tokio chat, sequential") {
        compare(
            "tokio chat, sequential, vs hyper + core",
            budget,
            || {
                runtime.block_on(async {
                    let started = Instant::now();
                    let completion = client.chat(request.clone()).await.expect("onellm chat");
                    std::hint::black_box(completion);
                    started.elapsed()
                })
            },
            || {
                runtime.block_on(async {
                    let started = Instant::now();
                    let request = core.build(&request, false).map(Full::new);
                    let response = hyper.request(request).await.expect("hyper call");
                    let (head, body) = response.into_parts();
                    let body = body.collect().await.expect("hyper body").to_bytes();
                    std::hint::black_box(core.parse(head, body));
                    started.elapsed()
                })
            },
        );
    }
    if run("tokio router") {
        for (label, store) in router_stores(redis.as_ref()) {
            let routed = onellm_tokio::Client::builder()
                .api_key("openai", "sk-bench")
                .router(router_config(&base_url, store.as_deref()))
                .build()
                .expect("tokio router client");
            let group = ChatRequest {
                model: "bench".to_owned(),
                ..request.clone()
            };
            runtime
                .block_on(routed.chat(group.clone()))
                .expect("routed call");
            compare(
                &format!("tokio router ({label}) vs the plain client"),
                budget,
                || {
                    runtime.block_on(async {
                        let started = Instant::now();
                        let completion = routed.chat(group.clone()).await.expect("routed call");
                        std::hint::black_box(completion);
                        started.elapsed()
                    })
                },
                || {
                    runtime.block_on(async {
                        let started = Instant::now();
                        let completion = client.chat(request.clone()).await.expect("onellm chat");
                        std::hint::black_box(completion);
                        started.elapsed()
                    })
                },
            );
        }
    }
    if run("tokio cache") {
        for (label, settings) in cache_stores(redis.as_ref()) {
            let cached = onellm_tokio::Client::builder()
                .api_key("openai", "sk-bench")
                .base_url("openai", base_url.as_str())
                .cache(settings)
                .build()
                .expect("tokio cached client");
            runtime
                .block_on(cached.chat(request.clone()))
                .expect("the call that fills the cache");
            compare(
                &format!("tokio cache hit ({label}) vs a call to the provider"),
                budget,
                || {
                    runtime.block_on(async {
                        let started = Instant::now();
                        let completion = cached.chat(request.clone()).await.expect("cache hit");
                        std::hint::black_box(completion);
                        started.elapsed()
                    })
                },
                || {
                    runtime.block_on(async {
                        let started = Instant::now();
                        let completion = client.chat(request.clone()).await.expect("onellm chat");
                        std::hint::black_box(completion);
                        started.elapsed()
                    })
                },
            );
        }
    }
    if run("tokio chat, 64") {
        let client = Arc::new(client.clone());
        let shared_request = Arc::new(request.clone());
        let bare_whole = Arc::new(bare_request(&base_url, &request, false));
        let core = Arc::new(CoreOnly::new(&base_url));
        let onellm_batch = || {
            runtime.block_on(async {
                let started = Instant::now();
                let tasks: Vec<_> = (0..CONCURRENCY)
                    .map(|_| {
                        let client = Arc::clone(&client);
                        let request = Arc::clone(&shared_request);
                        tokio::spawn(async move {
                            client.chat((*request).clone()).await.expect("onellm chat")
                        })
                    })
                    .collect();
                for task in tasks {
                    std::hint::black_box(task.await.expect("task"));
                }
                started.elapsed()
            })
        };
        compare(
            "tokio chat, 64 concurrent (time per batch of 64)",
            budget,
            onellm_batch,
            || {
                runtime.block_on(async {
                    let started = Instant::now();
                    let tasks: Vec<_> = (0..CONCURRENCY)
                        .map(|_| {
                            let hyper = hyper.clone();
                            let request = Arc::clone(&bare_whole);
                            tokio::spawn(async move { hyper_call(&hyper, &request).await })
                        })
                        .collect();
                    for task in tasks {
                        std::hint::black_box(task.await.expect("task"));
                    }
                    started.elapsed()
                })
            },
        );
        compare(
            "tokio chat, 64 concurrent, vs hyper + core",
            budget,
            onellm_batch,
            || {
                runtime.block_on(async {
                    let started = Instant::now();
                    let tasks: Vec<_> = (0..CONCURRENCY)
                        .map(|_| {
                            let hyper = hyper.clone();
                            let core = Arc::clone(&core);
                            let request = Arc::clone(&shared_request);
                            tokio::spawn(async move {
                                let request = core.build(&request, false).map(Full::new);
                                let response = hyper.request(request).await.expect("hyper call");
                                let (head, body) = response.into_parts();
                                let body = body.collect().await.expect("hyper body").to_bytes();
                                core.parse(head, body)
                            })
                        })
                        .collect();
                    for task in tasks {
                        std::hint::black_box(task.await.expect("task"));
                    }
                    started.elapsed()
                })
            },
        );
    }
    if run("tokio https, 64") {
        // The same 64 concurrent calls over TLS: to a server offering HTTP/2 (one multiplexed
        // connection) and to one offering only HTTP/1.1 (a connection per call in flight).
        let h2 = TlsServer::start_with_pause(Alpn::Http2AndHttp1, Duration::ZERO);
        let h1 = TlsServer::start_with_pause(Alpn::Http1Only, Duration::ZERO);
        let https_client = |server: &TlsServer| {
            Arc::new(
                onellm_tokio::Client::builder()
                    .api_key("openai", "sk-bench")
                    .base_url("openai", server.base_url())
                    .root_certificate_pem(server.ca_pem())
                    .build()
                    .expect("https client"),
            )
        };
        let (over_h2, over_h1) = (https_client(&h2), https_client(&h1));
        let batch = |client: &Arc<onellm_tokio::Client>| {
            runtime.block_on(async {
                let started = Instant::now();
                let tasks: Vec<_> = (0..CONCURRENCY)
                    .map(|_| {
                        let client = Arc::clone(client);
                        let request = request.clone();
                        tokio::spawn(async move { client.chat(request).await.expect("https call") })
                    })
                    .collect();
                for task in tasks {
                    std::hint::black_box(task.await.expect("task"));
                }
                started.elapsed()
            })
        };
        // One call first, so the HTTP/2 connection exists before the first burst.
        runtime
            .block_on(over_h2.chat(request.clone()))
            .expect("https call");
        compare(
            "tokio https, 64 concurrent: HTTP/2 (one connection) vs HTTP/1.1 (pool)",
            budget,
            || batch(&over_h2),
            || batch(&over_h1),
        );
        println!(
            "connections: HTTP/2 server {:?}, HTTP/1.1 server {:?}",
            h2.counts(),
            h1.counts()
        );
    }
    if run("tokio stream") {
        compare(
            "tokio stream, 1,000 chunks",
            budget,
            || {
                runtime.block_on(async {
                    let started = Instant::now();
                    let mut stream = client.chat_stream(request.clone());
                    let mut chunks = 0usize;
                    while let Some(chunk) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await
                    {
                        std::hint::black_box(chunk.expect("onellm chunk"));
                        chunks += 1;
                    }
                    std::hint::black_box(chunks);
                    started.elapsed()
                })
            },
            || {
                runtime.block_on(async {
                    let started = Instant::now();
                    let request = bare_stream.with_body(Full::new(bare_stream.body.clone()));
                    let response = hyper.request(request).await.expect("hyper call");
                    let mut body = response.into_body();
                    let mut total = 0usize;
                    while let Some(frame) = body.frame().await {
                        if let Ok(data) = frame.expect("hyper frame").into_data() {
                            total += data.len();
                        }
                    }
                    std::hint::black_box(total);
                    started.elapsed()
                })
            },
        );
    }
    if run("tokio stream") {
        compare(
            "tokio stream, 1,000 chunks, vs hyper + core decoder",
            budget,
            || {
                runtime.block_on(async {
                    let started = Instant::now();
                    let mut stream = client.chat_stream(request.clone());
                    let mut chunks = 0usize;
                    while let Some(chunk) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await
                    {
                        std::hint::black_box(chunk.expect("onellm chunk"));
                        chunks += 1;
                    }
                    std::hint::black_box(chunks);
                    started.elapsed()
                })
            },
            || {
                runtime.block_on(async {
                    let started = Instant::now();
                    let request = core.build(&request, true).map(Full::new);
                    let response = hyper.request(request).await.expect("hyper call");
                    let mut decoder = core.provider.chat_stream_decoder(&core.model);
                    let mut body = response.into_body();
                    let mut chunks = 0usize;
                    while let Some(frame) = body.frame().await {
                        if let Ok(data) = frame.expect("hyper frame").into_data() {
                            chunks += CoreOnly::decode(decoder.as_mut(), &data);
                        }
                    }
                    decoder.finish();
                    chunks += CoreOnly::decode(decoder.as_mut(), &[]);
                    std::hint::black_box(chunks);
                    started.elapsed()
                })
            },
        );
    }
}

/// What a program using `onellm-core` directly over a bare client does per call: build the
/// request, and parse or decode the reply. The third kind of row compares OneLLM's client
/// with this, which leaves only the transport crate's own cost in the ratio.
struct CoreOnly {
    provider: Arc<dyn Provider>,
    model: String,
}

impl CoreOnly {
    fn new(base_url: &str) -> CoreOnly {
        let mut registry = Registry::new();
        registry
            .set_api_key("openai", "sk-bench")
            .set_base_url("openai", base_url);
        let id = ModelId::parse(MODEL).expect("model id");
        CoreOnly {
            provider: registry.resolve(&id).expect("provider"),
            model: id.model().to_owned(),
        }
    }

    fn build(&self, request: &ChatRequest, stream: bool) -> http::Request<Bytes> {
        let mut request = request.clone();
        if stream {
            request.stream = Some(true);
        }
        self.provider
            .build_chat(&self.model, &request, stream)
            .expect("request builds")
    }

    fn parse(&self, head: http::response::Parts, body: Bytes) -> ChatCompletion {
        self.provider
            .parse_chat(&http::Response::from_parts(head, body))
            .expect("completion parses")
    }

    /// Feeds one piece of a streamed body and counts the chunks it completes.
    fn decode(decoder: &mut dyn ChatStreamDecoder, piece: &[u8]) -> usize {
        decoder.push(piece);
        let mut chunks = 0;
        while let Some(chunk) = decoder.next_chunk() {
            std::hint::black_box(chunk.expect("chunk decodes"));
            chunks += 1;
        }
        chunks
    }
}

type HyperClient = hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>;

/// The request OneLLM sends, as `onellm-core` builds it, for the bare clients to send again.
/// (`http::Request` is not `Clone`: each call builds its request from these parts, as a
/// bare client's user would.)
struct Prebuilt {
    uri: http::Uri,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Prebuilt {
    fn with_body<B>(&self, body: B) -> http::Request<B> {
        let mut request = http::Request::new(body);
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// The router rows to run: in memory, and with the Redis at `redis` when there is one.
fn router_stores(
    redis: Option<&onellm_testkit::RedisServer>,
) -> Vec<(&'static str, Option<String>)> {
    let mut stores = vec![("in memory", None)];
    match redis {
        Some(redis) => stores.push(("Redis on loopback", Some(redis.url()))),
        None => println!("(router rows with Redis skipped: no redis-server)"),
    }
    stores
}

/// The cache rows to run: in memory, and on the Redis at `redis` when there is one.
fn cache_stores(
    redis: Option<&onellm_testkit::RedisServer>,
) -> Vec<(&'static str, onellm_core::cache::CacheSettings)> {
    let mut stores = vec![("memory", onellm_core::cache::CacheSettings::memory())];
    if let Some(redis) = redis {
        stores.push((
            "Redis on loopback",
            onellm_core::cache::CacheSettings::redis(redis.url()),
        ));
    }
    stores
}

/// A group `bench` of two deployments of the benchmark's model on the loopback server,
/// each under an rpm the run never reaches, with its state in `store` if given.
fn router_config(base_url: &str, store: Option<&str>) -> onellm_core::router::RouterConfig {
    let deployment = |id: &str| {
        format!(
            "  - model_name: bench\n    litellm_params:\n      model: {MODEL}\n      \
             api_base: {base_url}\n      rpm: 100000000\n    model_info:\n      id: {id}\n"
        )
    };
    let mut yaml = format!("model_list:\n{}{}", deployment("one"), deployment("two"));
    if let Some(url) = store {
        yaml.push_str(&format!("router_settings:\n  redis_url: {url}\n"));
    }
    onellm_core::router::RouterConfig::from_yaml(&yaml, "bench.yaml", &|_| None)
        .expect("the bench's router configuration")
}

fn bare_request(base_url: &str, request: &ChatRequest, stream: bool) -> Prebuilt {
    let mut registry = Registry::new();
    registry
        .set_api_key("openai", "sk-bench")
        .set_base_url("openai", base_url);
    let id = ModelId::parse(MODEL).expect("model id");
    let provider = registry.resolve(&id).expect("provider");
    let mut request = request.clone();
    if stream {
        request.stream = Some(true);
    }
    let (head, body) = provider
        .build_chat(id.model(), &request, stream)
        .expect("request builds")
        .into_parts();
    Prebuilt {
        uri: head.uri,
        headers: head.headers,
        body,
    }
}

async fn hyper_call(hyper: &HyperClient, request: &Prebuilt) -> Bytes {
    let response = hyper
        .request(request.with_body(Full::new(request.body.clone())))
        .await
        .expect("hyper call");
    response
        .into_body()
        .collect()
        .await
        .expect("hyper body")
        .to_bytes()
}

/// One call of each kind before measuring, so a broken set-up fails loudly, not as numbers.
fn check_blocking(client: &onellm_blocking::Client, request: &ChatRequest) {
    let completion = client.chat(request.clone()).expect("onellm-blocking chat");
    assert!(completion.text().starts_with("word"), "unexpected reply");
    let mut chunks = 0;
    for chunk in client.chat_stream(request.clone()) {
        chunk.expect("onellm-blocking chunk");
        chunks += 1;
    }
    println!("onellm-blocking: the stream yields {chunks} chunks");
}

async fn check_tokio(client: &onellm_tokio::Client, request: &ChatRequest) {
    let completion = client
        .chat(request.clone())
        .await
        .expect("onellm-tokio chat");
    assert!(completion.text().starts_with("word"), "unexpected reply");
    let mut stream = client.chat_stream(request.clone());
    let mut chunks = 0;
    while let Some(chunk) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
        chunk.expect("onellm-tokio chunk");
        chunks += 1;
    }
    println!("onellm-tokio: the stream yields {chunks} chunks");
}

/// Warms both sides up, then alternates them (A B B A …) until `budget` is spent, and prints
/// one table row.
fn compare(
    name: &str,
    budget: Duration,
    mut onellm: impl FnMut() -> Duration,
    mut bare: impl FnMut() -> Duration,
) {
    let warm_until = Instant::now() + budget / 5;
    while Instant::now() < warm_until {
        onellm();
        bare();
    }
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let until = Instant::now() + budget;
    let mut round = 0u64;
    while Instant::now() < until || ours.len() < 10 {
        if round.is_multiple_of(2) {
            ours.push(onellm());
            theirs.push(bare());
        } else {
            theirs.push(bare());
            ours.push(onellm());
        }
        round += 1;
    }
    let (p50_ours, p50_theirs) = (percentile(&mut ours, 0.5), percentile(&mut theirs, 0.5));
    let (p90_ours, p90_theirs) = (percentile(&mut ours, 0.9), percentile(&mut theirs, 0.9));
    let (mean_ours, mean_theirs) = (mean(&ours), mean(&theirs));
    println!(
        "| {name} | {} | {} | {:.3} | {} | {} | {} | {} | {:.3} | {} |",
        show(p50_ours),
        show(p50_theirs),
        p50_ours.as_secs_f64() / p50_theirs.as_secs_f64(),
        show(p90_ours),
        show(p90_theirs),
        show(mean_ours),
        show(mean_theirs),
        mean_ours.as_secs_f64() / mean_theirs.as_secs_f64(),
        ours.len()
    );
}

fn percentile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    let index = ((samples.len() - 1) as f64 * q).round() as usize;
    samples[index]
}

fn mean(samples: &[Duration]) -> Duration {
    samples.iter().sum::<Duration>() / samples.len() as u32
}

fn show(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros >= 10_000.0 {
        format!("{:.2} ms", micros / 1000.0)
    } else {
        format!("{micros:.1} µs")
    }
}
