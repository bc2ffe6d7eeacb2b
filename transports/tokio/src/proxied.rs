//! Per-destination proxying by the client's [`ProxyRules`]: a destination the rules send
//! direct gets a plain TCP connection; an `https://` one behind a proxy a `CONNECT` tunnel
//! through it (TLS then runs end to end, so the proxy never sees the request or its key);
//! an `http://` one behind a proxy a connection to the proxy itself, marked as proxied so
//! hyper sends the request in absolute form (`GET http://host/path`), with the proxy's
//! credentials added by the client as `Proxy-Authorization`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use onellm_core::client::ProxyRules;
use onellm_core::Error;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A proxy from the rules, ready to connect through.
#[derive(Clone)]
struct Hop {
    /// `http://host:port` of the proxy, without credentials.
    address: http::Uri,
    /// `Basic …` for its credentials, if the URL had some.
    auth: Option<http::HeaderValue>,
}

/// Connects each destination as the rules say (see the module docs).
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    tcp: HttpConnector,
    rules: Arc<ProxyRules>,
}

impl ProxyConnector {
    /// Checks every proxy URL of `rules` now, so a bad one fails the client's build.
    pub(crate) fn new(tcp: HttpConnector, rules: ProxyRules) -> Result<ProxyConnector, Error> {
        for url in rules.urls() {
            hop(url)?;
        }
        Ok(ProxyConnector {
            tcp,
            rules: Arc::new(rules),
        })
    }
}

/// The proxy at `url` (`http://[user:password@]host:port`), checked without quoting it.
fn hop(url: &str) -> Result<Hop, Error> {
    let invalid = |why: &str| Error::configuration(format!("invalid proxy URL: {why}"));
    let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
    if uri.scheme_str() != Some("http") {
        return Err(invalid(
            "only http:// proxies are supported; bring a hyper client with \
             ClientBuilder::http_client for others",
        ));
    }
    let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
    let (credentials, host) = match authority.as_str().rsplit_once('@') {
        Some((credentials, host)) => (Some(credentials), host),
        None => (None, authority.as_str()),
    };
    let address: http::Uri = format!("http://{host}")
        .parse()
        .map_err(|_| invalid("bad host"))?;
    let auth = match credentials {
        None => None,
        Some(credentials) => {
            use base64::Engine as _;
            let decoded: Vec<u8> = percent_encoding::percent_decode_str(credentials).collect();
            let value = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(decoded)
            );
            Some(
                http::HeaderValue::from_str(&value)
                    .map_err(|_| invalid("bad characters in the credentials"))?,
            )
        }
    };
    Ok(Hop { address, auth })
}

/// The `Proxy-Authorization` a plain-http request to `uri` needs, when `rules` send it
/// through a proxy with credentials (an https request's goes on its `CONNECT` instead).
pub(crate) fn forward_auth(rules: &ProxyRules, uri: &http::Uri) -> Option<http::HeaderValue> {
    if uri.scheme_str() != Some("http") {
        return None;
    }
    hop(rules.proxy_for(uri)?).ok()?.auth
}

impl Service<http::Uri> for ProxyConnector {
    type Response = Proxied;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Proxied, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, destination: http::Uri) -> Self::Future {
        let mut tcp = self.tcp.clone();
        let hop = match self.rules.proxy_for(&destination).map(hop) {
            None => None,
            Some(Ok(hop)) => Some(hop),
            Some(Err(error)) => return Box::pin(async move { Err(error.into()) }),
        };
        Box::pin(async move {
            match hop {
                None => {
                    let io = tcp.call(destination).await?;
                    Ok(Proxied { io, proxied: false })
                }
                Some(hop) if destination.scheme_str() == Some("https") => {
                    let mut tunnel = Tunnel::new(hop.address, tcp);
                    if let Some(auth) = hop.auth {
                        tunnel = tunnel.with_auth(auth);
                    }
                    let io = tunnel.call(destination).await?;
                    Ok(Proxied { io, proxied: false })
                }
                Some(hop) => {
                    let io = tcp.call(hop.address).await?;
                    Ok(Proxied { io, proxied: true })
                }
            }
        })
    }
}

/// A connection to a destination or to a forward proxy (then hyper sends absolute-form
/// requests on it).
pub(crate) struct Proxied {
    io: TokioIo<TcpStream>,
    proxied: bool,
}

impl Connection for Proxied {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl Read for Proxied {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for Proxied {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_are_checked_without_quoting_them() {
        let bad = ProxyRules::all("socks5://u:secret@h:1");
        let error = ProxyConnector::new(HttpConnector::new(), bad)
            .err()
            .unwrap();
        assert_eq!(error.kind(), onellm_core::ErrorKind::Configuration);
        assert!(!error.to_string().contains("secret"));
        let good = ProxyRules::all("http://u:p%40ss@127.0.0.1:3128");
        let uri: http::Uri = "http://upstream/v1".parse().unwrap();
        let auth = forward_auth(&good, &uri).unwrap();
        assert_eq!(auth, "Basic dTpwQHNz"); // base64("u:p@ss")
        assert!(forward_auth(&good, &"https://upstream/".parse().unwrap()).is_none());
    }
}
