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

trait Driver: Sized {
    /// Whether the transport negotiates HTTP/2.
    const SPEAKS_HTTP2: bool;
    fn new(base_url: &str, ca_pem: Option<&str>) -> Result<Self, Error>;
    fn chat(&self, request: ChatRequest) -> Result<String, Error>;
}

struct Blocking(onellm_blocking::Client);

impl Driver for Blocking {
    const SPEAKS_HTTP2: bool = false;
    fn new(base_url: &str, ca_pem: Option<&str>) -> Result<Self, Error> {
        let mut builder = onellm_blocking::Client::builder()
            .api_key("openai", "sk-tls")
            .base_url("openai", base_url)
            .retries(0);
        if let Some(pem) = ca_pem {
            builder = builder.root_certificate_pem(pem);
        }
        Ok(Blocking(builder.build()?))
    }
    fn chat(&self, request: ChatRequest) -> Result<String, Error> {
        Ok(self.0.chat(request)?.text().to_owned())
    }
}

struct Async {
    client: onellm_tokio::Client,
    runtime: tokio::runtime::Runtime,
}

impl Driver for Async {
    const SPEAKS_HTTP2: bool = true;
    fn new(base_url: &str, ca_pem: Option<&str>) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut builder = onellm_tokio::Client::builder()
            .api_key("openai", "sk-tls")
            .base_url("openai", base_url)
            .retries(0);
        if let Some(pem) = ca_pem {
            builder = builder.root_certificate_pem(pem);
        }
        let client = runtime.block_on(async { builder.build() })?;
        Ok(Async { client, runtime })
    }
    fn chat(&self, request: ChatRequest) -> Result<String, Error> {
        Ok(self
            .runtime
            .block_on(self.client.chat(request))?
            .text()
            .to_owned())
    }
}

fn ask() -> ChatRequest {
    ChatRequest::new("openai/gpt-4o-mini").user("over TLS")
}

fn bundled_roots_refuse_a_private_ca<D: Driver>() {
    let server = TlsServer::start(Alpn::Http2AndHttp1);
    let client = D::new(&server.base_url(), None).unwrap();
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

fn root_certificate_pem_trusts_a_private_ca<D: Driver>() {
    let server = TlsServer::start(Alpn::Http2AndHttp1);
    let client = D::new(&server.base_url(), Some(server.ca_pem())).unwrap();
    let expected = if D::SPEAKS_HTTP2 {
        "over HTTP/2"
    } else {
        "over HTTP/1.1"
    };
    assert_eq!(client.chat(ask()).unwrap(), expected);
    assert_eq!(client.chat(ask()).unwrap(), expected);
    // Both calls on one pooled connection.
    assert_eq!(server.counts().connections, 1);
}

fn http1_only_servers_are_spoken_to_in_http1<D: Driver>() {
    let server = TlsServer::start(Alpn::Http1Only);
    let client = D::new(&server.base_url(), Some(server.ca_pem())).unwrap();
    assert_eq!(client.chat(ask()).unwrap(), "over HTTP/1.1");
    assert_eq!(server.counts().http2_requests, 0);
}

fn a_pem_without_a_certificate_fails_the_build<D: Driver>() {
    let not_a_certificate = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    for pem in ["", "hello", not_a_certificate] {
        let error = D::new("https://127.0.0.1:9/v1", Some(pem))
            .err()
            .unwrap_or_else(|| panic!("{pem:?} accepted"));
        assert_eq!(error.kind(), ErrorKind::Configuration, "{error}");
        assert!(
            error.to_string().contains("root_certificate_pem"),
            "{error}"
        );
    }
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
    let Async { client, runtime } = Async::new(&server.base_url(), Some(server.ca_pem())).unwrap();
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
