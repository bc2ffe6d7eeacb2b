//! Caller-controlled names in a URL path (model ids, Azure deployments, Vertex projects and
//! locations): each must stay exactly one path segment, whatever the caller wrote, so a
//! request can never be steered to another path of the provider's API (`..`, `/`, `?`, `#`
//! or an escaped form of them).

use crate::error::Error;

/// The longest name accepted: far above any provider's names, well below URL limits.
const MAX_LEN: usize = 256;

/// `value` unchanged, when it can stand as one segment as it is: letters, digits and
/// `-._~@` only, not empty, not `.` and without `..`. Everything else (`/`, `?`, `#`, `%`,
/// `:`, spaces, non-ASCII) is refused rather than escaped: no Gemini model, Vertex project
/// or location, or Azure deployment has such characters, and a refusal says more than the
/// 404 an escaped name would get.
pub(crate) fn plain_segment<'a>(
    provider: &str,
    what: &str,
    value: &'a str,
) -> Result<&'a str, Error> {
    let allowed = |byte: u8| byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte);
    let valid = !value.is_empty()
        && value.len() <= MAX_LEN
        && value != "."
        && !value.contains("..")
        && value.bytes().all(allowed);
    if !valid {
        return Err(Error::configuration(format!(
            "{provider} {what} {:?} cannot be used in a URL path: only letters, digits and -._~@ are allowed",
            crate::error::excerpt(value.as_bytes())
        )));
    }
    Ok(value)
}

/// `value` as one segment with every byte outside RFC 3986's unreserved set
/// percent-encoded, for names that hold `:` or `/` (Bedrock model ids and ARNs). `.` and
/// `..` are refused: they would survive encoding as dot segments, which URL parsers and
/// proxies resolve.
pub(crate) fn encoded_segment(provider: &str, what: &str, value: &str) -> Result<String, Error> {
    if matches!(value, "" | "." | "..") || value.len() > MAX_LEN * 8 {
        return Err(Error::configuration(format!(
            "{provider} {what} {:?} cannot be used in a URL path",
            crate::error::excerpt(value.as_bytes())
        )));
    }
    let mut segment = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("%{byte:02X}"));
        }
    }
    Ok(segment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn plain_segments_are_kept_or_refused_never_escaped() {
        for good in [
            "gpt-4.1_mini-2",
            "gemini-2.5-flash",
            "claude@20250514",
            "us-central1",
        ] {
            assert_eq!(plain_segment("p", "model", good).unwrap(), good);
        }
        let long = "a".repeat(MAX_LEN + 1);
        for bad in [
            "", ".", "..", "a..b", "a/b", "a?x=1", "a#b", "a%2fb", "a b", "é", &long,
        ] {
            let error = plain_segment("p", "model", bad).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Configuration, "{bad}");
        }
    }

    #[test]
    fn encoded_segments_escape_everything_but_unreserved_bytes() {
        assert_eq!(
            encoded_segment("p", "model", "arn:aws:bedrock:us-east-1:1:x/y").unwrap(),
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ax%2Fy"
        );
        assert_eq!(encoded_segment("p", "model", "a..b~c").unwrap(), "a..b~c");
        for bad in ["", ".", ".."] {
            assert!(encoded_segment("p", "model", bad).is_err(), "{bad}");
        }
    }
}
