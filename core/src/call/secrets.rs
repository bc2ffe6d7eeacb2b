//! The one place errors lose the secrets of the attempt they came from.
//!
//! Whatever fails during an attempt — the transport (whose messages may quote a URI), a
//! provider's error body (some echo the key back), a decoder — ends in
//! [`Call::attempt_failed`](super::Call), which scrubs the error of every secret the attempt's
//! request carried before anything else sees it. So per-call keys, refreshed AWS credentials
//! and keys in query strings are covered without each adapter or transport remembering to.

use crate::error::Error;

/// Values that must never appear in an error message: sensitive header values (API keys,
/// signatures, session tokens) and the query string (some providers take the key as `?key=`).
///
/// Taken for every attempt but read only when one fails, so taking them is cheap: the header
/// values are shared (a `HeaderValue` clone counts a reference), not copied into strings.
#[derive(Debug, Default)]
pub(crate) struct Secrets {
    headers: Vec<http::HeaderValue>,
    query: Option<String>,
}

impl Secrets {
    /// The secrets a request carries.
    pub(crate) fn of<B>(request: &http::Request<B>) -> Self {
        Secrets {
            headers: request
                .headers()
                .values()
                .filter(|value| value.is_sensitive())
                .cloned()
                .collect(),
            query: request.uri().query().map(str::to_owned),
        }
    }

    /// The error with every secret replaced by `[REDACTED]`.
    pub(crate) fn scrub(&self, error: Error) -> Error {
        let mut secrets: Vec<&str> = self
            .headers
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| {
                // `Bearer sk-…`: the key alone may be quoted too.
                [value, value.rsplit(' ').next().unwrap_or(value)]
            })
            .chain(self.query.as_deref())
            .collect();
        // Longest first, so a whole header value is replaced before the key inside it.
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets
            .into_iter()
            .fold(error, |error, secret| error.redact(secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

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
}
