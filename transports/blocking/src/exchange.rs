//! One HTTP exchange on the wire: send an `http::Request` the core built through the ureq
//! [`Agent`], hand back the response head, then read the body in bounded pieces.
//!
//! Everything here maps ureq's world onto the core's: per-request timeouts come from the
//! deadlines the core decided, and every ureq failure becomes a core [`Error`] of kind
//! `Connection` or `Timeout` whose message cannot carry a credential.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use onellm_core::{Error, ErrorKind};
use ureq::{Agent, BodyReader};

/// The most bytes one read hands to the core: small enough that a slow stream is fed as it
/// arrives, large enough that a whole response takes few calls.
pub(crate) const PIECE: usize = 16 * 1024;

/// The time limits of one exchange, as ureq enforces them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Limits {
    /// Bounds the whole exchange, head and body (the core's attempt or total deadline).
    pub deadline: Option<Instant>,
    /// Bounds connection setup (DNS excluded), TLS handshake included.
    pub connect: Option<Duration>,
    /// Bounds the wait for the response head.
    pub first_byte: Option<Duration>,
    /// Bounds each read: the longest silence tolerated once the request is sent.
    pub per_read: Option<Duration>,
}

/// A response head, with the body still on the wire.
pub(crate) struct Head {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: BodyReader<'static>,
}

/// Sends `request` and waits for the response head.
///
/// Redirects are never followed and error statuses come back as responses, whatever the
/// agent was configured with: a 3xx or 4xx is for the core to judge, and following a
/// redirect could carry the API key to another host.
pub(crate) fn send(
    agent: &Agent,
    request: http::Request<Bytes>,
    limits: Limits,
    now: Instant,
) -> Result<Head, Error> {
    let secrets = Secrets::of(&request);
    let (parts, body) = request.into_parts();
    let request = http::Request::from_parts(parts, body.as_ref());
    // A deadline already passed still gets a (tiny) budget so ureq reports a timeout
    // rather than sending without one.
    let remaining = limits.deadline.map(|deadline| {
        deadline
            .saturating_duration_since(now)
            .max(Duration::from_millis(1))
    });
    let request = agent
        .configure_request(request)
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(remaining)
        .timeout_connect(limits.connect)
        .timeout_recv_response(limits.first_byte)
        .timeout_per_read(limits.per_read)
        .build();
    let response = agent
        .run(request)
        .map_err(|error| secrets.scrub(transport_error(error)))?;
    let (parts, body) = response.into_parts();
    Ok(Head {
        status: parts.status,
        headers: parts.headers,
        body: body.into_reader(),
    })
}

/// Reads the next piece of a body into `buf`; `Ok(0)` is the end of the body.
///
/// Blocks at most until the limits given to [`send`] expire.
pub(crate) fn read_piece(body: &mut BodyReader<'static>, buf: &mut [u8]) -> Result<usize, Error> {
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

/// Values that must never appear in an error message: sensitive header values (API keys)
/// and the query string (some providers take the key as `?key=`).
///
/// ureq's messages quote URIs in places (a bad URI, a proxy failure); rather than trusting
/// every path, each transport error is scrubbed of these.
pub(crate) struct Secrets(Vec<String>);

impl Secrets {
    /// The secrets a request carries.
    pub(crate) fn of<B>(request: &http::Request<B>) -> Self {
        let mut secrets: Vec<String> = request
            .headers()
            .values()
            .filter(|value| value.is_sensitive())
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| {
                // `Bearer sk-…`: the key alone may be quoted too.
                let key = value.rsplit(' ').next().unwrap_or(value);
                [value.to_owned(), key.to_owned()]
            })
            .collect();
        if let Some(query) = request.uri().query() {
            secrets.push(query.to_owned());
        }
        // Longest first, so a whole header value is replaced before the key inside it.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        Secrets(secrets)
    }

    /// The error with every secret replaced by `[REDACTED]`.
    pub(crate) fn scrub(&self, error: Error) -> Error {
        self.0
            .iter()
            .fold(error, |error, secret| error.redact(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_cover_sensitive_headers_and_query() {
        let mut value = http::HeaderValue::from_static("Bearer sk-canary-42");
        value.set_sensitive(true);
        let request = http::Request::post("http://example.invalid/v1/x?key=g-canary-7")
            .header("authorization", value)
            .header("content-type", "application/json")
            .body(())
            .unwrap();
        let secrets = Secrets::of(&request);
        let error = Error::new(
            ErrorKind::Connection,
            "failed http://example.invalid/v1/x?key=g-canary-7 with sk-canary-42 / application/json",
        );
        let shown = format!("{:?}", secrets.scrub(error));
        assert!(!shown.contains("sk-canary-42"), "{shown}");
        assert!(!shown.contains("g-canary-7"), "{shown}");
        assert!(shown.contains("application/json"), "{shown}");
    }

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
