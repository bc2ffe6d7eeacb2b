//! TLS and HTTP/2 on both transports, against the testkit's HTTPS server (a CA made per
//! server, a certificate for 127.0.0.1, HTTP/2 or HTTP/1.1 by ALPN):
//!
//! - the bundled roots refuse a private CA, before any request is sent;
//! - `root_certificate_pem` trusts it besides the bundled roots; a document without a
//!   certificate fails `build()`;
//! - onellm-tokio speaks HTTP/2 when offered (64 concurrent calls share one connection,
//!   several in flight at once) and HTTP/1.1 when not; onellm-blocking speaks HTTP/1.1.
//!
//! (With the transports' `platform-verifier` feature the system's verifier replaces the
//! bundled roots: each transport's `tests/platform_verifier.rs`.)

use onellm_core::{ChatRequest, Error, ErrorKind};
use onellm_testkit::{Alpn, TlsServer};

mod support;
use support::{Async, Blocking, Driver};

/// Whether a transport negotiates HTTP/2.
trait Speaks {
    const HTTP2: bool;
}

impl Speaks for Blocking {
    const HTTP2: bool = false;
}

impl Speaks for Async {
    const HTTP2: bool = true;
}

fn client<D: Driver>(base_url: &str, ca_pem: Option<&str>) -> Result<D, Error> {
    build!(D, |builder| {
        let builder = builder
            .api_key("openai", "sk-tls")
            .base_url("openai", base_url)
            .retries(0);
        match ca_pem {
            Some(pem) => builder.root_certificate_pem(pem),
            None => builder,
        }
    })
}

fn ask() -> ChatRequest {
    ChatRequest::new("openai/gpt-4o-mini").user("over TLS")
}

fn bundled_roots_refuse_a_private_ca<D: Driver + Speaks>() {
    let server = TlsServer::start(Alpn::Http2AndHttp1);
    let client = client::<D>(&server.base_url(), None).unwrap();
    let error = client.chat(ask()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Connection, "{error}");
    assert!(!error.to_string().contains("sk-tls"), "{error}");
    let counts = server.counts();
    assert!(counts.connections >= 1, "{counts:?}");
    assert_eq!(
        counts.http1_requests + counts.http2_requests,
        0,
        "{counts:?}"
    );
}

fn root_certificate_pem_trusts_a_private_ca<D: Driver + Speaks>() {
    let server = TlsServer::start(Alpn::Http2AndHttp1);
    let client = client::<D>(&server.base_url(), Some(server.ca_pem())).unwrap();
    let expected = if D::HTTP2 {
        "over HTTP/2"
    } else {
        "over HTTP/1.1"
    };
    assert_eq!(client.chat(ask()).unwrap().text(), expected);
    assert_eq!(client.chat(ask()).unwrap().text(), expected);
    // Both calls on one pooled connection.
    assert_eq!(server.counts().connections, 1);
}

fn http1_only_servers_are_spoken_to_in_http1<D: Driver + Speaks>() {
    let server = TlsServer::start(Alpn::Http1Only);
    let client = client::<D>(&server.base_url(), Some(server.ca_pem())).unwrap();
    assert_eq!(client.chat(ask()).unwrap().text(), "over HTTP/1.1");
    assert_eq!(server.counts().http2_requests, 0);
}

fn a_pem_without_a_certificate_fails_the_build<D: Driver + Speaks>() {
    let not_a_certificate = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    for pem in ["", "hello", not_a_certificate] {
        let error = client::<D>("https://127.0.0.1:9/v1", Some(pem))
            .err()
            .unwrap_or_else(|| panic!("{pem:?} accepted"));
        assert_eq!(error.kind(), ErrorKind::Configuration, "{error}");
        assert!(
            error.to_string().contains("root_certificate_pem"),
            "{error}"
        );
    }
}

on_both_transports!(
    bundled_roots_refuse_a_private_ca,
    root_certificate_pem_trusts_a_private_ca,
    http1_only_servers_are_spoken_to_in_http1,
    a_pem_without_a_certificate_fails_the_build,
);

/// After one call opens the HTTP/2 connection, 64 concurrent calls share it: one
/// connection in all, every request over HTTP/2, several in flight at once (over one
/// HTTP/1.1 connection there could never be more than one).
#[test]
fn sixty_four_concurrent_calls_share_one_http2_connection() {
    let server = TlsServer::start(Alpn::Http2AndHttp1);
    // Worker threads: the calls run in parallel, as a server's would.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let builder = onellm_tokio::Client::builder()
        .api_key("openai", "sk-tls")
        .base_url("openai", server.base_url())
        .root_certificate_pem(server.ca_pem())
        .retries(0);
    let client = runtime.block_on(async { builder.build() }).unwrap();
    runtime.block_on(async {
        assert_eq!(client.chat(ask()).await.unwrap().text(), "over HTTP/2");
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..64 {
            let client = client.clone();
            calls.spawn(async move { client.chat(ask()).await });
        }
        let mut answered = 0;
        while let Some(result) = calls.join_next().await {
            assert_eq!(result.unwrap().unwrap().text(), "over HTTP/2");
            answered += 1;
        }
        assert_eq!(answered, 64);
    });
    let counts = server.counts();
    assert_eq!(counts.connections, 1, "{counts:?}");
    assert_eq!(counts.http2_requests, 65, "{counts:?}");
    assert_eq!(counts.http1_requests, 0, "{counts:?}");
    assert!(counts.max_in_flight > 1, "{counts:?}");
}
