//! One HTTP exchange on the wire: send an `http::Request` the core built through the ureq
//! [`Agent`], hand back the response head, then read the body in bounded pieces.
//!
//! Everything here maps ureq's world onto the core's: per-request timeouts come from the
//! limits the core decided, and every ureq failure becomes a core [`Error`] of kind
//! `Connection` or `Timeout` (the core scrubs its message of the request's secrets).

use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use onellm_core::call::Outgoing;
use onellm_core::client::{BlockingBody, ProxyRules};
use onellm_core::{Error, ErrorKind};
use ureq::{Agent, BodyReader};

use crate::drain::Drainer;

/// A response body on the wire, read by the core's loop through [`BlockingBody`].
pub struct UreqBody {
    reader: BodyReader<'static>,
    /// The client's draining thread, for [`BlockingBody::finish`].
    drainer: Arc<Drainer>,
}

impl BlockingBody for UreqBody {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        read_piece(&mut self.reader, buf)
    }

    fn finish(self) {
        self.drainer.finish(self.reader);
    }
}

/// Sends `request` and waits for the response head, under the limits the core decided for
/// the attempt: its deadline bounds the whole exchange (head and body), and for a stream its
/// first-byte timeout bounds the wait for the head and its idle timeout each read. ureq
/// takes its timeouts up front, per request, so they are set here rather than per read.
///
/// Redirects are never followed and error statuses come back as responses, whatever the
/// agent was configured with: a 3xx or 4xx is for the core to judge, and following a
/// redirect could carry the API key to another host.
///
/// Through a proxy, as the client's rules say: an `https://` request on `agent` through a
/// `CONNECT` tunnel, a plain-`http://` one on `forwarding` in absolute form (`forward.rs`).
pub(crate) fn send(
    agent: &Agent,
    forwarding: Option<&Agent>,
    drainer: &Arc<Drainer>,
    proxies: &Proxies,
    request: http::Request<Bytes>,
    outgoing: &Outgoing,
    now: Instant,
) -> Result<(StatusCode, HeaderMap, UreqBody), Error> {
    let proxy = proxies.for_request(request.uri());
    let (agent, request, proxy) = match (proxy, forwarding) {
        (Some(proxy), Some(forwarding)) if request.uri().scheme_str() == Some("http") => (
            forwarding,
            crate::forward::readdress(request, &proxy)?,
            None,
        ),
        (proxy, _) => (agent, request, proxy),
    };
    let (parts, body) = request.into_parts();
    let request = http::Request::from_parts(parts, body.as_ref());
    // A deadline already passed still gets a (tiny) budget so ureq reports a timeout
    // rather than sending without one.
    let remaining = outgoing.deadline.map(|deadline| {
        deadline
            .saturating_duration_since(now)
            .max(Duration::from_millis(1))
    });
    let request = agent
        .configure_request(request)
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(remaining)
        .timeout_recv_response(outgoing.first_byte_timeout)
        .timeout_per_read(outgoing.idle_timeout)
        .proxy(proxy)
        .build();
    let response = agent.run(request).map_err(transport_error)?;
    let (parts, body) = response.into_parts();
    let body = UreqBody {
        reader: body.into_reader(),
        drainer: Arc::clone(drainer),
    };
    Ok((parts.status, parts.headers, body))
}

/// The client's proxy rules with their URLs parsed once, when the client is built.
#[derive(Debug, Default)]
pub(crate) struct Proxies {
    rules: ProxyRules,
    /// Each of the rules' URLs and what ureq made of it.
    parsed: Vec<(String, ureq::Proxy)>,
}

impl Proxies {
    /// Parses every URL `rules` name; one ureq cannot read is a configuration error.
    pub(crate) fn parse(rules: ProxyRules) -> Result<Proxies, Error> {
        let parsed = rules
            .urls()
            .map(|url| {
                let proxy = ureq::Proxy::new(url).map_err(|_| {
                    // The URL may hold a password: not quoted.
                    Error::configuration("invalid proxy URL given to the client")
                })?;
                Ok((url.to_owned(), proxy))
            })
            .collect::<Result<_, Error>>()?;
        Ok(Proxies { rules, parsed })
    }

    /// The proxy a request to `uri` goes through, if any.
    fn for_request(&self, uri: &http::Uri) -> Option<ureq::Proxy> {
        let url = self.rules.proxy_for(uri)?;
        self.parsed
            .iter()
            .find(|(parsed, _)| parsed == url)
            .map(|(_, proxy)| proxy.clone())
    }
}

/// Reads the next piece of a body into `buf`; `Ok(0)` is the end of the body.
///
/// Blocks at most until the limits given to [`send`] expire.
fn read_piece(body: &mut BodyReader<'static>, buf: &mut [u8]) -> Result<usize, Error> {
    loop {
        match body.read(buf) {
            Ok(n) => return Ok(n),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(io_error(error)),
        }
    }
}

/// The core error for a failed ureq call.
fn transport_error(error: ureq::Error) -> Error {
    use ureq::Error as U;
    match error {
        U::Timeout(which) => Error::new(
            ErrorKind::Timeout,
            format!("timed out ({which}) waiting for the provider"),
        ),
        U::Io(error) => io_error(error),
        U::HostNotFound => Error::new(ErrorKind::Connection, "host not found"),
        other => Error::new(ErrorKind::Connection, format!("request failed: {other}")),
    }
}

/// The core error for an I/O error from a body read (ureq wraps its own errors in
/// `io::Error` there).
fn io_error(error: io::Error) -> Error {
    let is_ureq = error
        .get_ref()
        .is_some_and(|inner| inner.is::<ureq::Error>());
    if is_ureq {
        if let Some(inner) = error.into_inner() {
            if let Ok(error) = inner.downcast::<ureq::Error>() {
                return transport_error(*error);
            }
        }
        return Error::new(ErrorKind::Connection, "request failed");
    }
    match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::new(
            ErrorKind::Timeout,
            format!("timed out waiting for the provider: {error}"),
        ),
        io::ErrorKind::UnexpectedEof => Error::new(
            ErrorKind::Connection,
            "the provider closed the connection early",
        ),
        _ => Error::new(ErrorKind::Connection, format!("connection failed: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_map_to_connection_or_timeout() {
        let timeout = io_error(io::Error::new(io::ErrorKind::TimedOut, "slow"));
        assert_eq!(timeout.kind(), ErrorKind::Timeout);
        let wrapped = io_error(ureq::Error::Timeout(ureq::Timeout::RecvBody).into_io());
        assert_eq!(wrapped.kind(), ErrorKind::Timeout);
        let reset = io_error(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
        assert_eq!(reset.kind(), ErrorKind::Connection);
    }
}
