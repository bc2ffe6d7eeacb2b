//! Plain-`http://` requests through an HTTP proxy, in absolute form.
//!
//! An HTTP proxy expects a plain-http request as `POST http://host:port/path HTTP/1.1`;
//! ureq 3 writes only origin-form request lines (`POST /path`) and reaches every upstream
//! behind a proxy through a `CONNECT` tunnel, which proxies commonly allow to port 443 only
//! (squid's default `http_access deny CONNECT !SSL_ports`). So such a request goes on a
//! separate agent ([`forwarding_agent`]): its URI is rewritten to the proxy's address, its
//! `Host` header names the upstream, the proxy's credentials ride as `Proxy-Authorization`,
//! and [`AbsoluteForm`] rewrites the request line as it leaves. Connections of that agent
//! are never reused, so each carries exactly one request whose head starts its first write.

use std::fmt;

use http::header::{HeaderValue, HOST, PROXY_AUTHORIZATION};
use onellm_core::Error;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, NextTimeout, TcpConnector, Transport,
};

/// The most bytes of a request head searched for its request line and `Host` header.
const HEAD_LIMIT: usize = 64 * 1024;

/// An agent for plain-http requests through a proxy: TCP to the proxy, [`AbsoluteForm`] on
/// top, no pool (see the module docs). `config` is the client agent's without its pool.
pub(crate) fn forwarding_agent(config: ureq::config::Config) -> ureq::Agent {
    ureq::Agent::with_parts(
        config,
        TcpConnector::default().chain(AbsoluteFormConnector),
        crate::resolver::Resolver::default(),
    )
}

/// `request`, readdressed to `proxy` for [`forwarding_agent`]: the URI names the proxy, the
/// `Host` header the upstream, and `Proxy-Authorization` carries the proxy URL's
/// credentials.
pub(crate) fn readdress(
    mut request: http::Request<bytes::Bytes>,
    proxy: &ureq::Proxy,
) -> Result<http::Request<bytes::Bytes>, Error> {
    let uri = request.uri();
    let upstream = uri
        .authority()
        .ok_or_else(|| Error::configuration("a request URL without a host"))?
        .as_str()
        .to_owned();
    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    let via: http::Uri = format!("http://{}:{}{path}", proxy.host(), proxy.port())
        .parse()
        .map_err(|_| Error::configuration("invalid proxy host"))?;
    *request.uri_mut() = via;
    let host = HeaderValue::from_str(&upstream)
        .map_err(|_| Error::configuration("a request URL with an invalid host"))?;
    request.headers_mut().insert(HOST, host);
    if let Some(user) = proxy.username() {
        use base64::Engine as _;
        let credentials = format!("{user}:{}", proxy.password().unwrap_or_default());
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
            .map_err(|_| Error::configuration("invalid proxy credentials"))?;
        value.set_sensitive(true);
        request.headers_mut().insert(PROXY_AUTHORIZATION, value);
    }
    Ok(request)
}

/// Wraps each new connection in [`AbsoluteForm`].
#[derive(Debug)]
struct AbsoluteFormConnector;

impl<In: Transport> Connector<In> for AbsoluteFormConnector {
    type Out = AbsoluteForm<In>;

    fn connect(
        &self,
        _: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        Ok(chained.map(|inner| AbsoluteForm {
            inner,
            rewritten: false,
        }))
    }
}

/// A connection whose first write — the request head — leaves with its request line in
/// absolute form, `http://` + the `Host` header + the origin-form target.
struct AbsoluteForm<T> {
    inner: T,
    rewritten: bool,
}

impl<T> fmt::Debug for AbsoluteForm<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbsoluteForm")
            .field("rewritten", &self.rewritten)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Transport for AbsoluteForm<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        if self.rewritten {
            return self.inner.transmit_output(amount, timeout);
        }
        self.rewritten = true;
        let written = &self.inner.buffers().output()[..amount];
        let rewritten = absolute_form(written).ok_or_else(|| {
            ureq::Error::Io(std::io::Error::other(
                "the request head to the proxy has no request line or Host header",
            ))
        })?;
        // Back through the inner buffer, in as many writes as its size needs.
        let mut rest = rewritten.as_slice();
        while !rest.is_empty() {
            let output = self.inner.buffers().output();
            let take = output.len().min(rest.len());
            output[..take].copy_from_slice(&rest[..take]);
            self.inner.transmit_output(take, timeout)?;
            rest = &rest[take..];
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }
}

/// `written` (a request head and maybe some body) with its request line's origin-form
/// target made absolute from the `Host` header; `None` when either is missing.
fn absolute_form(written: &[u8]) -> Option<Vec<u8>> {
    let head_end = written[..written.len().min(HEAD_LIMIT)]
        .windows(4)
        .position(|window| window == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&written[..head_end]).ok()?;
    let (request_line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let host = headers.split("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("host")
            .then(|| value.trim())
    })?;
    let mut parts = request_line.splitn(3, ' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if !target.starts_with('/') {
        return None;
    }
    let line = format!("{method} http://{host}{target} {version}");
    let mut out = Vec::with_capacity(written.len() + host.len() + 7);
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(&written[request_line.len()..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::absolute_form;

    #[test]
    fn the_request_line_becomes_absolute_and_the_rest_stays() {
        let head =
            b"POST /v1/chat?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(
            absolute_form(head).unwrap(),
            b"POST http://127.0.0.1:8080/v1/chat?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-length: 2\r\n\r\n{}"
        );
    }

    #[test]
    fn heads_without_a_host_or_an_end_are_refused() {
        assert!(absolute_form(b"GET / HTTP/1.1\r\naccept: */*\r\n\r\n").is_none());
        assert!(absolute_form(b"GET / HTTP/1.1\r\nhost: a\r\n").is_none());
        assert!(absolute_form(b"GET http://a/ HTTP/1.1\r\nhost: a\r\n\r\n").is_none());
    }
}
