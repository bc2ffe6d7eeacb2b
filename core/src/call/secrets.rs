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
#[derive(Debug, Default)]
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
