//! The per-call API on both transports, against the fake provider on loopback: tenants with
//! their own keys over one client and one pool, a request's JSON that cannot redirect a
//! call or swap its key, and the report of who answered.

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use futures_core::Stream;
use onellm_core::client::Overrides;
use onellm_core::{ChatRequest, CompletionRequest, EmbeddingRequest, ErrorKind};
use onellm_testkit::{key_fingerprint, FakeProvider};

const CLIENT_KEY: &str = "sk-client-configured-key";
const TENANTS: [&str; 3] = ["sk-tenant-one", "sk-tenant-two", "sk-tenant-three"];
const CALLS_PER_TENANT: usize = 60;

/// Connections one client may open for three tenants calling at once: one each, and a few
/// more if the server closes some; far below one per call.
const A_HANDFUL: usize = 6;

fn request_of(tenant: usize, call: usize) -> ChatRequest {
    ChatRequest::new("openai/gpt-4o-mini").user(format!("tenant {tenant} call {call}"))
}

/// Which tenant a recorded request belongs to, by the text it echoes.
fn tenant_of(body: &serde_json::Value) -> Option<usize> {
    let text = body["messages"][0]["content"].as_str()?;
    text.strip_prefix("tenant ")?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

fn check_tenants(server: &FakeProvider) {
    let requests = server.requests();
    assert_eq!(requests.len(), TENANTS.len() * CALLS_PER_TENANT);
    for request in &requests {
        let tenant = tenant_of(&request.json()).expect("a tenant's request");
        assert_eq!(
            request.key_fingerprint,
            Some(key_fingerprint(TENANTS[tenant])),
            "tenant {tenant} called with another key"
        );
    }
    let connections = server.connections();
    assert!(
        connections <= A_HANDFUL,
        "{connections} connections for {} calls: the tenants did not share the pool",
        requests.len()
    );
}

fn tenant_overrides(tenant: usize) -> Overrides {
    Overrides::new().api_key("openai", TENANTS[tenant])
}

#[test]
fn blocking_tenants_share_one_client_and_pool_with_their_own_keys() {
    let server = FakeProvider::start();
    let client = onellm_blocking::Client::builder()
        .api_key("openai", CLIENT_KEY)
        .base_url("openai", server.openai_base_url())
        .build()
        .unwrap();
    std::thread::scope(|scope| {
        for tenant in 0..TENANTS.len() {
            let client = &client;
            scope.spawn(move || {
                for call in 0..CALLS_PER_TENANT {
                    // A view per request, as a gateway would make one.
                    let view = client.with_overrides(tenant_overrides(tenant));
                    let completion = view.chat(request_of(tenant, call)).unwrap();
                    assert_eq!(completion.text(), format!("tenant {tenant} call {call}"));
                }
            });
        }
    });
    check_tenants(&server);
}

#[test]
fn tokio_tenants_share_one_client_and_pool_with_their_own_keys() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = FakeProvider::start();
    let client = onellm_tokio::Client::builder()
        .api_key("openai", CLIENT_KEY)
        .base_url("openai", server.openai_base_url())
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..TENANTS.len())
            .map(|tenant| {
                let client = client.clone();
                tokio::spawn(async move {
                    for call in 0..CALLS_PER_TENANT {
                        let view = client.with_overrides(tenant_overrides(tenant));
                        let completion = view.chat(request_of(tenant, call)).await.unwrap();
                        assert_eq!(completion.text(), format!("tenant {tenant} call {call}"));
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    check_tenants(&server);
}

/// A request body as an untrusted caller of a gateway might send it: every field a client
/// library anywhere reads a destination or a key from.
fn hostile_request() -> ChatRequest {
    serde_json::from_value(serde_json::json!({
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": "hostile"}],
        "api_key": "sk-attacker",
        "api_base": "http://127.0.0.1:9/v1",
        "base_url": "http://127.0.0.1:9/v1",
        "headers": {"Authorization": "Bearer sk-attacker", "x-api-key": "sk-attacker"},
        "extra_headers": {"Authorization": "Bearer sk-attacker"},
        "custom_llm_provider": "anthropic",
    }))
    .unwrap()
}

fn check_not_redirected(server: &FakeProvider) {
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        2,
        "both calls reached the configured server"
    );
    for request in requests {
        assert_eq!(request.path, "/v1/chat/completions");
        assert_eq!(
            request.key_fingerprint,
            Some(key_fingerprint(CLIENT_KEY)),
            "the request's JSON swapped the key"
        );
        let authorizations = request
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .count();
        assert_eq!(authorizations, 1);
        assert!(request.header("x-api-key").is_none());
    }
}

#[test]
fn a_hostile_request_json_cannot_redirect_a_call_or_swap_its_key() {
    let server = FakeProvider::start();
    let blocking = onellm_blocking::Client::builder()
        .api_key("openai", CLIENT_KEY)
        .base_url("openai", server.openai_base_url())
        .build()
        .unwrap();
    assert_eq!(blocking.chat(hostile_request()).unwrap().text(), "hostile");
    let tokio_client = onellm_tokio::Client::builder()
        .api_key("openai", CLIENT_KEY)
        .base_url("openai", server.openai_base_url())
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let answer = runtime
        .block_on(tokio_client.chat(hostile_request()))
        .unwrap();
    assert_eq!(answer.text(), "hostile");
    check_not_redirected(&server);
}

/// The fake answers `openai/fail-401` with a 401, so the fallback answers.
fn fallback_request() -> ChatRequest {
    ChatRequest::new("openai/fail-401")
        .user("who answered?")
        .fallback_models(["anthropic/claude-sonnet-4-5"])
}

fn check_report(report: Option<&onellm_core::CallReport>) {
    let report = report.expect("a client call's output carries its report");
    assert_eq!(report.attempts.len(), 2);
    let first = &report.attempts[0];
    assert_eq!(first.model, "openai/fail-401");
    assert_eq!(first.kind(), Some(ErrorKind::Authentication));
    assert_eq!(first.status, Some(401));
    assert_eq!(report.model(), Some("anthropic/claude-sonnet-4-5"));
    assert_eq!(report.provider(), Some("anthropic"));
    assert!(report.fell_back());
    assert!(report
        .attempts
        .iter()
        .all(|a| a.took < Duration::from_secs(30)));
}

fn clients(server: &FakeProvider) -> (onellm_blocking::Client, onellm_tokio::Client) {
    macro_rules! build {
        ($builder:expr) => {
            $builder
                .api_key("openai", CLIENT_KEY)
                .base_url("openai", server.openai_base_url())
                .api_key("anthropic", CLIENT_KEY)
                .base_url("anthropic", server.anthropic_base_url())
                .build()
                .unwrap()
        };
    }
    (
        build!(onellm_blocking::Client::builder()),
        build!(onellm_tokio::Client::builder()),
    )
}

#[test]
fn every_operation_reports_who_answered_without_changing_its_json() {
    let server = FakeProvider::start();
    let (blocking, tokio_client) = clients(&server);

    let whole = blocking.chat(fallback_request()).unwrap();
    check_report(whole.report());
    let json = serde_json::to_value(&whole).unwrap();
    assert!(
        json.get("report").is_none(),
        "the report is not part of the JSON: {json}"
    );
    let mut stream = blocking.chat_stream(fallback_request());
    for chunk in &mut stream {
        chunk.unwrap();
    }
    check_report(stream.completion().and_then(|c| c.report()));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        check_report(
            tokio_client
                .chat(fallback_request())
                .await
                .unwrap()
                .report(),
        );
        let mut stream = tokio_client.chat_stream(fallback_request());
        while let Some(chunk) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
            chunk.unwrap();
        }
        check_report(stream.completion().and_then(|c| c.report()));
    });

    // Embeddings and legacy completions carry one too (one attempt, no fallback).
    let embeddings = blocking
        .embeddings(EmbeddingRequest::new(
            "openai/text-embedding-3-small",
            ["a"],
        ))
        .unwrap();
    let report = embeddings.report().unwrap();
    assert_eq!(report.attempts.len(), 1);
    assert!(!report.fell_back());
    let completions = runtime
        .block_on(tokio_client.completions(CompletionRequest::new(
            "openai/gpt-3.5-turbo-instruct",
            "Once",
        )))
        .unwrap();
    assert_eq!(
        completions.report().unwrap().model(),
        Some("openai/gpt-3.5-turbo-instruct")
    );
}

#[test]
fn a_typo_in_a_provider_fails_before_anything_is_sent() {
    let server = FakeProvider::start();
    let (blocking, tokio_client) = clients(&server);
    let request = ChatRequest::new("opnai/gpt-4o-mini")
        .user("x")
        .fallback_models(["anthropic/claude-sonnet-4-5"]);
    let error = blocking.chat(request.clone()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(error.to_string().contains("opnai"), "{error}");
    assert!(
        error.to_string().contains(r#"did you mean "openai""#),
        "{error}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let error = runtime.block_on(tokio_client.chat(request)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(server.requests().is_empty(), "nothing was sent");
}
