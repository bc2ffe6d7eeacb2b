//! The one pooled HTTP client behind a [`Client`](crate::Client): hyper-util's legacy pooled
//! client over hyper 1, TLS by rustls (ring provider, Mozilla's roots from `webpki-roots`),
//! optionally through an HTTP `CONNECT` proxy.
//!
//! It is built once per `Client` and shared by every call and clone, so connections are
//! reused across calls. Callers may bring their own hyper-util client (a custom connector,
//! native roots, a SOCKS proxy, HTTP/2): [`HyperClient`] erases its connector type.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::{self, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};

use onellm_core::Error;

/// The request body type the HTTP client is built for: the core hands over whole request
/// bodies, so a single in-memory frame.
pub type RequestBody = Full<Bytes>;

/// How long an unused pooled connection is kept open. Providers close idle connections
/// after a minute or two; 90 s matches common client defaults.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Sends one request on a pooled connection. Implemented for every hyper-util legacy client,
/// whatever its connector, so the [`Client`](crate::Client) need not be generic.
trait HttpSend: Send + Sync {
    fn send(&self, request: http::Request<RequestBody>) -> ResponseFuture;
}

/// A hyper-util client of any connector, for
/// [`ClientBuilder::http_client`](onellm_core::client::ClientBuilder::http_client): every
/// `hyper_util::client::legacy::Client<C, RequestBody>` converts into one.
///
/// ```
/// use hyper_util::client::legacy::{connect::HttpConnector, Client as HyperUtilClient};
/// use hyper_util::rt::TokioExecutor;
/// use onellm_tokio::{Client, RequestBody};
///
/// // Plain HTTP only, e.g. for a local model server.
/// let hyper: HyperUtilClient<HttpConnector, RequestBody> =
///     HyperUtilClient::builder(TokioExecutor::new()).build(HttpConnector::new());
/// let client = Client::builder()
///     .base_url("ollama", "http://127.0.0.1:11434")
///     .http_client(hyper)
///     .build()?;
/// # Ok::<(), onellm_tokio::Error>(())
/// ```
#[derive(Clone)]
pub struct HyperClient(Arc<dyn HttpSend>);

impl HyperClient {
    pub(crate) fn send(&self, request: http::Request<RequestBody>) -> ResponseFuture {
        self.0.send(request)
    }
}

impl<C> From<legacy::Client<C, RequestBody>> for HyperClient
where
    C: Connect + Clone + Send + Sync + 'static,
{
    fn from(client: legacy::Client<C, RequestBody>) -> Self {
        HyperClient(Arc::new(client))
    }
}

impl<C> HttpSend for legacy::Client<C, RequestBody>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    fn send(&self, request: http::Request<RequestBody>) -> ResponseFuture {
        self.request(request)
    }
}

/// Builds the default client: plain TCP with `TCP_NODELAY` and a connect timeout, TLS for
/// `https://` (plain HTTP stays allowed for local servers such as Ollama or a test server),
/// HTTP/1.1, connections pooled per host.
pub(crate) fn build(connect_timeout: Duration, proxy: Option<&str>) -> Result<HyperClient, Error> {
    let mut tcp = HttpConnector::new();
    tcp.set_connect_timeout(Some(connect_timeout));
    tcp.set_nodelay(true);
    // The TLS layer decides the scheme; the TCP layer must accept `https://` URIs.
    tcp.enforce_http(false);

    // An explicit provider: never the process-wide default, which panics when more than one
    // provider (ring, aws-lc) is compiled into the program.
    let tls = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| Error::configuration(format!("TLS configuration: {e}")))?
        .https_or_http()
        .enable_http1();

    let mut builder = legacy::Client::builder(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT);

    Ok(match proxy {
        None => HyperClient::from(builder.build(tls.wrap_connector(tcp))),
        Some(url) => HyperClient::from(builder.build(tls.wrap_connector(tunnel(url, tcp)?))),
    })
}

/// An HTTP `CONNECT` tunnel through the proxy at `url` (`http://[user:password@]host:port`).
/// Every connection, to `https://` and `http://` origins alike, goes through the tunnel, so
/// the proxy never sees request headers (API keys) in clear.
fn tunnel(url: &str, tcp: HttpConnector) -> Result<Tunnel<HttpConnector>, Error> {
    let invalid = |why: &str| {
        // The URL may hold a password: say what is wrong without quoting it.
        Error::configuration(format!("invalid proxy URL: {why}"))
    };
    let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
    if uri.scheme_str() != Some("http") {
        return Err(invalid(
            "only http:// proxies (HTTP CONNECT) are supported; bring a hyper client with \
             ClientBuilder::http_client for others",
        ));
    }
    let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
    let (credentials, host) = match authority.as_str().rsplit_once('@') {
        Some((credentials, host)) => (Some(credentials), host),
        None => (None, authority.as_str()),
    };
    let proxy: http::Uri = format!("http://{host}")
        .parse()
        .map_err(|_| invalid("bad host"))?;
    let tunnel = Tunnel::new(proxy, tcp);
    Ok(match credentials {
        None => tunnel,
        Some(credentials) => {
            let decoded: Vec<u8> = percent_encoding::percent_decode_str(credentials).collect();
            let value = format!("Basic {}", BASE64.encode(decoded));
            let value = http::HeaderValue::from_str(&value)
                .map_err(|_| invalid("bad characters in the credentials"))?;
            tunnel.with_auth(value)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_are_checked_without_quoting_them() {
        let error = tunnel("socks5://u:secret@h:1", HttpConnector::new()).unwrap_err();
        assert_eq!(error.kind(), onellm_core::ErrorKind::Configuration);
        assert!(!error.to_string().contains("secret"));
        assert!(tunnel("http://u:secret@127.0.0.1:3128", HttpConnector::new()).is_ok());
        assert!(tunnel("http://127.0.0.1:3128", HttpConnector::new()).is_ok());
    }
}
