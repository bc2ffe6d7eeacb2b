//! Proxies on both transports, with the testkit's forward proxy on loopback: a plain-http
//! upstream is reached through the proxy in absolute form (with the proxy's credentials), and
//! an https one through a `CONNECT` tunnel, the request and its key
//! inside TLS where the proxy cannot see them. (The environment's variables are tested
//! through the `chat` examples: `chat_cli::check_proxy_story`.)

use onellm_core::{ChatRequest, Error};
use onellm_testkit::{Alpn, FakeProvider, ForwardProxy, TlsServer};

mod support;
use support::Driver;

fn proxied<D: Driver>(base_url: &str, proxy: &str, ca_pem: Option<&str>) -> Result<D, Error> {
    build!(D, |builder| {
        let builder = builder
            .api_key("openai", "sk-proxied")
            .base_url("openai", base_url)
            .proxy(proxy)
            .retries(0);
        match ca_pem {
            Some(pem) => builder.root_certificate_pem(pem),
            None => builder,
        }
    })
}

fn ask() -> ChatRequest {
    ChatRequest::new("openai/gpt-4o-mini").user("through the proxy")
}

fn plain_http_goes_in_absolute_form_with_credentials<D: Driver>() {
    let (server, proxy) = (FakeProvider::start(), ForwardProxy::start());
    let with_credentials = proxy.url().replace("http://", "http://user:p%40ss@");
    let client = proxied::<D>(&server.openai_base_url(), &with_credentials, None).unwrap();
    assert_eq!(client.chat(ask()).unwrap().text(), "through the proxy");
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "POST");
    let origin = server.openai_base_url();
    assert_eq!(seen[0].target, format!("{origin}/chat/completions"));
    // base64("user:p@ss")
    assert_eq!(seen[0].authorization.as_deref(), Some("Basic dXNlcjpwQHNz"));
    assert_eq!(server.requests().len(), 1);
    // The upstream got the request without the proxy's credentials, with its own Host.
    let upstream = &server.requests()[0];
    let header = |name: &str| {
        upstream
            .headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    assert_eq!(header("proxy-authorization"), None);
    let authority = origin.trim_start_matches("http://").split('/').next();
    assert_eq!(header("host"), authority);
    // A second call goes the same way.
    assert_eq!(client.chat(ask()).unwrap().text(), "through the proxy");
    let seen = proxy.requests();
    assert_eq!((seen.len(), seen[1].method.as_str()), (2, "POST"));
}

fn https_goes_through_a_connect_tunnel<D: Driver>() {
    let proxy = ForwardProxy::start();
    let client = proxied::<D>("https://api.openai.invalid/v1", &proxy.url(), None).unwrap();
    // The test proxy refuses tunnels to names (502): the call fails, after asking for one.
    let error = client.chat(ask()).unwrap_err();
    assert!(!error.to_string().contains("sk-proxied"), "{error}");
    let seen = proxy.requests();
    assert!(!seen.is_empty());
    assert!(seen
        .iter()
        .all(|request| request.method == "CONNECT" && request.target == "api.openai.invalid:443"));
}

fn https_through_the_tunnel_keeps_the_key_from_the_proxy<D: Driver>() {
    let (server, proxy) = (TlsServer::start(Alpn::Http2AndHttp1), ForwardProxy::start());
    let client = proxied::<D>(&server.base_url(), &proxy.url(), Some(server.ca_pem())).unwrap();
    assert!(client.chat(ask()).unwrap().text().starts_with("over HTTP/"));
    let seen = proxy.requests();
    let authority = server
        .base_url()
        .trim_start_matches("https://")
        .replace("/v1", "");
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].target.as_str()),
        ("CONNECT", authority.as_str())
    );
    // The proxy saw only the CONNECT head: the request and its key went inside TLS.
    assert!(!format!("{seen:?}").contains("sk-proxied"));
}

fn bad_proxy_urls_fail_the_build_without_quoting_them<D: Driver>() {
    let error = proxied::<D>("http://127.0.0.1:9/v1", "socks9://u:hunter2@h:1", None)
        .err()
        .expect("refused");
    assert_eq!(error.kind(), onellm_core::ErrorKind::Configuration);
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

on_both_transports!(
    plain_http_goes_in_absolute_form_with_credentials,
    https_goes_through_a_connect_tunnel,
    https_through_the_tunnel_keeps_the_key_from_the_proxy,
    bad_proxy_urls_fail_the_build_without_quoting_them,
);
