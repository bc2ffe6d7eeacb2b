//! What a provider's response headers say about the next attempt and about the response:
//! how long to wait (`retry-after-ms`, `retry-after`, `date`), whether to retry at all
//! (`x-should-retry`), and the request id to quote in errors. Read by
//! [`Error::from_http`](crate::Error::from_http) for every error response.

use std::time::Duration;

use http::HeaderMap;

/// The most bytes of a request id kept.
const REQUEST_ID_LIMIT: usize = 256;

/// The wait a response asks for: `retry-after-ms` (milliseconds, may be fractional) wins over
/// `retry-after`, which is either delay-seconds or an HTTP date. A date is measured against
/// the response's own `Date` header (the core has no wall clock); without one it is ignored.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Duration::try_from_secs_f64(ms / 1000.0).ok();
        }
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::try_from_secs_f64(seconds).ok())
            .flatten();
    }
    let until = httpdate::parse_http_date(value).ok()?;
    let date = httpdate::parse_http_date(text("date")?).ok()?;
    Some(
        until
            .duration_since(date)
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs(u32::MAX.into())),
    )
}

/// `x-should-retry: true|false`, the providers' explicit override.
pub fn should_retry(headers: &HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry")?.to_str().ok()?.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The provider's request id: `x-request-id` (OpenAI family), `request-id` (Anthropic),
/// `x-amzn-requestid` (Bedrock).
pub fn request_id(headers: &HeaderMap) -> Option<String> {
    ["x-request-id", "request-id", "x-amzn-requestid"]
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok())
        .map(|id| {
            // Ids are short; a header value is not trusted to be.
            let mut end = id.len().min(REQUEST_ID_LIMIT);
            while !id.is_char_boundary(end) {
                end -= 1;
            }
            id.get(..end).unwrap_or_default().to_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2")])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(&headers(&[
                ("retry-after", "2"),
                ("retry-after-ms", "1500.5")
            ])),
            Some(Duration::from_micros(1_500_500))
        );
        assert_eq!(
            retry_after(&headers(&[
                ("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT"),
                ("date", "Wed, 21 Oct 2015 07:28:00 GMT")
            ])),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(&headers(&[(
                "retry-after",
                "Wed, 21 Oct 2015 07:28:30 GMT"
            )])),
            None
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
    }

    #[test]
    fn request_ids_are_bounded() {
        let long = "r".repeat(1000);
        let id = request_id(&headers(&[("x-request-id", &long)])).unwrap();
        assert_eq!(id.len(), REQUEST_ID_LIMIT);
        assert_eq!(
            should_retry(&headers(&[("x-should-retry", "false")])),
            Some(false)
        );
    }
}
