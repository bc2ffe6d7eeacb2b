//! The one pooled HTTP client behind a [`Client`](crate::Client): hyper-util's legacy pooled
//! client over hyper 1, TLS by rustls (ring provider, Mozilla's roots from `webpki-roots`),
//! through the proxies the client's rules name (`proxied.rs`).
//!
//! It is built once per `Client` and shared by every call and clone, so connections are
//! reused across calls. Callers may bring their own hyper-util client (a custom connector,
//! native roots, a SOCKS proxy, HTTP/2): [`HyperClient`] erases its connector type.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::{self, ResponseFuture};
use hyper_util::rt::{TokioExecutor, TokioTimer};

use onellm_core::client::ProxyRules;
use onellm_core::Error;

use crate::proxied::ProxyConnector;

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
/// HTTP/1.1, connections pooled per host; through the proxies `proxies` names (see
/// [`ProxyRules`]), per destination.
pub(crate) fn build(connect_timeout: Duration, proxies: ProxyRules) -> Result<HyperClient, Error> {
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

    Ok(if proxies.is_empty() {
        HyperClient::from(builder.build(tls.wrap_connector(tcp)))
    } else {
        let connector = ProxyConnector::new(tcp, proxies)?;
        HyperClient::from(builder.build(tls.wrap_connector(connector)))
    })
}
