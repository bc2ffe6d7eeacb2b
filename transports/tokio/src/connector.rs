//! The one pooled HTTP client behind a [`Client`](crate::Client): hyper-util's legacy pooled
//! client over hyper 1, HTTP/2 or HTTP/1.1 by ALPN, TLS by rustls (ring provider, Mozilla's
//! roots from `webpki-roots` plus the builder's `root_certificate_pem`, or the system's
//! verifier with `platform-verifier`), through the proxies the client's rules name
//! (`proxied.rs`).
//!
//! It is built once per `Client` and shared by every call and clone, so connections are
//! reused across calls. Callers may bring their own hyper-util client (a custom connector,
//! client certificates, a SOCKS proxy): [`HyperClient`] erases its connector type.

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
/// HTTP/2 when the server offers it by ALPN (feature `http2`, on by default; one connection
/// per host then carries every concurrent call) and HTTP/1.1 otherwise, connections pooled
/// per host; through the proxies `proxies` names (see [`ProxyRules`]), per destination.
pub(crate) fn build(
    connect_timeout: Duration,
    proxies: ProxyRules,
    root_certificates: &[Vec<u8>],
) -> Result<HyperClient, Error> {
    let mut tcp = HttpConnector::new();
    tcp.set_connect_timeout(Some(connect_timeout));
    tcp.set_nodelay(true);
    // The TLS layer decides the scheme; the TCP layer must accept `https://` URIs.
    tcp.enforce_http(false);

    let tls = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(root_certificates)?)
        .https_or_http();
    #[cfg(feature = "http2")]
    let tls = tls.enable_all_versions();
    #[cfg(not(feature = "http2"))]
    let tls = tls.enable_http1();

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

/// The TLS settings: ring as the provider — explicitly, never the process-wide default,
/// which panics when more than one (ring, aws-lc) is compiled into the program — and the
/// bundled Mozilla roots plus `root_certificates`, or with the `platform-verifier` feature
/// the operating system's verifier.
fn tls_config(root_certificates: &[Vec<u8>]) -> Result<rustls::ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::configuration(format!("TLS configuration: {e}")))?;
    #[cfg(feature = "platform-verifier")]
    {
        if !root_certificates.is_empty() {
            return Err(platform_verifier_and_extra_roots());
        }
        let verifier = rustls_platform_verifier::Verifier::new(provider)
            .map_err(|e| Error::configuration(format!("the system's TLS verifier: {e}")))?;
        Ok(builder
            .dangerous() // Not dangerous: the system's own verification.
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth())
    }
    #[cfg(not(feature = "platform-verifier"))]
    {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for certificate in extra_roots(root_certificates)? {
            roots.add(certificate).map_err(|e| {
                Error::configuration(format!("root_certificate_pem: not a usable CA: {e}"))
            })?;
        }
        Ok(builder.with_root_certificates(roots).with_no_client_auth())
    }
}

/// The certificates of the PEM documents given to
/// [`root_certificate_pem`](onellm_core::client::ClientBuilder::root_certificate_pem).
#[cfg_attr(feature = "platform-verifier", allow(dead_code))]
fn extra_roots(
    documents: &[Vec<u8>],
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, Error> {
    use rustls::pki_types::pem::PemObject;
    let mut certificates = Vec::new();
    for document in documents {
        let before = certificates.len();
        for certificate in rustls::pki_types::CertificateDer::pem_slice_iter(document) {
            certificates.push(certificate.map_err(|e| {
                Error::configuration(format!("root_certificate_pem: bad PEM: {e}"))
            })?);
        }
        if certificates.len() == before {
            return Err(Error::configuration(
                "root_certificate_pem: the document holds no CERTIFICATE block",
            ));
        }
    }
    Ok(certificates)
}

#[cfg(feature = "platform-verifier")]
fn platform_verifier_and_extra_roots() -> Error {
    Error::configuration(
        "root_certificate_pem() with the platform-verifier feature: add the certificate to \
         the system's trust store instead",
    )
}
