//! AWS Signature Version 4 for request headers, as a pure function of the request, the
//! credentials, the region, the service and the time (the core never reads a clock).
//!
//! What is signed: the method, the path (each byte outside the unreserved set
//! percent-encoded *again*: a path already encoded once for the wire, such as a Bedrock model
//! id `…v1%3A0` or an inference-profile ARN, is encoded twice in the canonical request, as the
//! AWS SDKs do for every service but S3), the query (decoded, re-encoded, sorted), every header
//! on the request except `authorization`, `user-agent`, `expect` and `x-amzn-trace-id`
//! (botocore's exclusions: proxies rewrite them), plus `host` from the URI, `x-amz-date` and,
//! for temporary credentials, `x-amz-security-token`. The payload hash is the body's SHA-256,
//! or the request's own `x-amz-content-sha256` when it has one.
//!
//! Signing again replaces the previous signature, so a request can be re-signed per attempt.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::header::{HeaderValue, AUTHORIZATION};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::settings::ApiKey;

/// AWS credentials: a key pair and, for temporary credentials (STS, SSO, instance roles), the
/// session token. `Debug` shows none of them.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    /// The access key id (`AWS_ACCESS_KEY_ID`), sent in the `Authorization` header's credential
    /// scope.
    pub access_key_id: String,
    /// The secret access key (`AWS_SECRET_ACCESS_KEY`): the signing key is derived from it; it
    /// is never sent.
    pub secret_access_key: ApiKey,
    /// The session token of temporary credentials (`AWS_SESSION_TOKEN`), sent as
    /// `x-amz-security-token`.
    pub session_token: Option<ApiKey>,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &"[REDACTED]")
            .field("session_token", &self.session_token.is_some())
            .finish_non_exhaustive()
    }
}

/// Where and when a request is signed.
#[derive(Debug, Clone, Copy)]
pub struct SigningScope<'a> {
    /// The AWS region of the endpoint (`us-east-1`, …).
    pub region: &'a str,
    /// The AWS service name in the credential scope (`bedrock` for Bedrock's runtime).
    pub service: &'a str,
    /// The signing time: `x-amz-date` and the scope's date. AWS refuses a signature more than
    /// about 5 minutes away from its own clock.
    pub time: SystemTime,
}

/// Headers never signed: intermediaries may change them.
const UNSIGNED: [&str; 4] = ["authorization", "user-agent", "expect", "x-amzn-trace-id"];

/// Signs `request` in place: sets `x-amz-date`, `x-amz-security-token` (when the
/// credentials have one) and `authorization`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use onellm_core::provider::bedrock::sigv4::{sign, AwsCredentials, SigningScope};
///
/// let mut request = http::Request::get("https://example.amazonaws.com/")
///     .body(bytes::Bytes::new())
///     .unwrap();
/// let credentials = AwsCredentials {
///     access_key_id: "AKIDEXAMPLE".into(),
///     secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
///     session_token: None,
/// };
/// let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
/// let scope = SigningScope { region: "us-east-1", service: "service", time };
/// sign(&mut request, &credentials, scope).unwrap();
/// // The AWS test suite's get-vanilla signature.
/// assert!(request.headers()["authorization"].to_str().unwrap()
///     .ends_with("Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
/// ```
pub fn sign(
    request: &mut http::Request<Bytes>,
    credentials: &AwsCredentials,
    scope: SigningScope<'_>,
) -> Result<(), Error> {
    let (date, amz_date) = amz_date(scope.time)?;
    let headers = request.headers_mut();
    headers.remove(AUTHORIZATION);
    headers.insert("x-amz-date", header_value(&amz_date)?);
    headers.remove("x-amz-security-token");
    if let Some(token) = &credentials.session_token {
        let mut value = header_value(token.expose())?;
        value.set_sensitive(true);
        headers.insert("x-amz-security-token", value);
    }

    let (canonical, signed_headers) = canonical_request(request)?;
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{credential_scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", credentials.secret_access_key.expose()).as_bytes(),
        date.as_bytes(),
    );
    for part in [scope.region, scope.service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    let mut authorization = header_value(&format!(
        "AWS4-HMAC-SHA256 Credential={}/{credential_scope}, SignedHeaders={signed_headers}, Signature={signature}",
        credentials.access_key_id
    ))?;
    authorization.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, authorization);
    Ok(())
}

/// The canonical request and the signed-headers list.
fn canonical_request(request: &http::Request<Bytes>) -> Result<(String, String), Error> {
    let uri = request.uri();
    let host = match request.headers().get(http::header::HOST) {
        Some(host) => host.to_str().unwrap_or_default().to_owned(),
        None => {
            let authority = uri
                .authority()
                .ok_or_else(|| Error::configuration("cannot sign a request without a host"))?;
            let default_port = match uri.scheme_str() {
                Some("http") => 80,
                _ => 443,
            };
            match authority.port_u16() {
                Some(port) if port != default_port => {
                    format!("{}:{port}", authority.host())
                }
                _ => authority.host().to_owned(),
            }
        }
    };
    let mut headers: Vec<(String, String)> = vec![("host".to_owned(), host)];
    for name in request.headers().keys() {
        let name_str = name.as_str();
        if name_str == "host" || UNSIGNED.contains(&name_str) {
            continue;
        }
        let values: Vec<String> = request
            .headers()
            .get_all(name)
            .iter()
            .map(|value| {
                let text = String::from_utf8_lossy(value.as_bytes());
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            })
            .collect();
        headers.push((name_str.to_owned(), values.join(",")));
    }
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let payload_hash = match request.headers().get("x-amz-content-sha256") {
        Some(hash) => hash.to_str().unwrap_or_default().to_owned(),
        None => hex(&Sha256::digest(request.body())),
    };
    let path = match uri.path() {
        "" => "/".to_owned(),
        path => uri_encode(path.as_bytes(), false),
    };
    let canonical = format!(
        "{}\n{path}\n{}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        request.method(),
        canonical_query(uri.query().unwrap_or_default()),
    );
    Ok((canonical, signed_headers))
}

/// The query's parameters decoded, re-encoded the AWS way and sorted.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                uri_encode(&percent_decode(key), true),
                uri_encode(&percent_decode(value), true),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// AWS's URI encoding: unreserved bytes as they are, `/` kept unless `encode_slash`, the rest
/// as `%XX` (upper-case hex).
fn uri_encode(bytes: &[u8], encode_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b'/' if !encode_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_pair = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex_pair) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn header_value(text: &str) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(text).map_err(|_| {
        Error::configuration("AWS credentials contain characters not allowed in a header")
    })
}

/// `(YYYYMMDD, YYYYMMDDTHHMMSSZ)` for a time after 1970.
fn amz_date(time: SystemTime) -> Result<(String, String), Error> {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::configuration("cannot sign with a clock before 1970"))?
        .as_secs();
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let date = format!("{year:04}{month:02}{day:02}");
    let stamp = format!(
        "{date}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    Ok((date, stamp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The credentials and time of the AWS SigV4 test suite.
    const SUITE_KEY_ID: &str = "AKIDEXAMPLE";
    const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SUITE_TIME: u64 = 1_440_938_160; // 2015-08-30T12:36:00Z
    const SUITE_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

    struct Vector {
        name: &'static str,
        method: &'static str,
        uri: &'static str,
        headers: &'static [(&'static str, &'static str)],
        body: &'static str,
        token: bool,
        signed_headers: &'static str,
        signature: &'static str,
    }

    /// Fixture data from the AWS Signature Version 4 test suite (formerly published at
    /// docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html, carried in
    /// awslabs/aws-c-auth `tests/aws-signing-test-suite` and in `@aws-sdk/signature-v4`'s
    /// `suite.fixture`): service `service`, region `us-east-1`.
    const VECTORS: &[Vector] = &[
        Vector {
            name: "get-vanilla",
            method: "GET",
            uri: "https://example.amazonaws.com/",
            headers: &[],
            body: "",
            token: false,
            signed_headers: "host;x-amz-date",
            signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        },
        Vector {
            name: "post-vanilla",
            method: "POST",
            uri: "https://example.amazonaws.com/",
            headers: &[],
            body: "",
            token: false,
            signed_headers: "host;x-amz-date",
            signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        },
        Vector {
            name: "get-vanilla-query-order-key-case",
            method: "GET",
            uri: "https://example.amazonaws.com/?Param2=value2&Param1=value1",
            headers: &[],
            body: "",
            token: false,
            signed_headers: "host;x-amz-date",
            signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        },
        Vector {
            name: "post-vanilla-query",
            method: "POST",
            uri: "https://example.amazonaws.com/?Param1=value1",
            headers: &[],
            body: "",
            token: false,
            signed_headers: "host;x-amz-date",
            signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        },
        Vector {
            name: "post-x-www-form-urlencoded",
            method: "POST",
            uri: "https://example.amazonaws.com/",
            headers: &[("content-type", "application/x-www-form-urlencoded")],
            body: "Param1=value1",
            token: false,
            signed_headers: "content-type;host;x-amz-date",
            signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
        },
        Vector {
            name: "get-header-value-trim",
            method: "GET",
            uri: "https://example.amazonaws.com/",
            headers: &[("my-header1", " value1"), ("my-header2", "\"a   b   c\"")],
            body: "",
            token: false,
            signed_headers: "host;my-header1;my-header2;x-amz-date",
            signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        },
        Vector {
            name: "post-header-value-case",
            method: "POST",
            uri: "https://example.amazonaws.com/",
            headers: &[("My-Header1", "VALUE1")],
            body: "",
            token: false,
            signed_headers: "host;my-header1;x-amz-date",
            signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
        },
        Vector {
            name: "post-sts-header-before",
            method: "POST",
            uri: "https://example.amazonaws.com/",
            headers: &[],
            body: "",
            token: true,
            signed_headers: "host;x-amz-date;x-amz-security-token",
            signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        },
    ];

    fn suite_credentials(token: Option<&str>) -> AwsCredentials {
        AwsCredentials {
            access_key_id: SUITE_KEY_ID.into(),
            secret_access_key: SUITE_SECRET.into(),
            session_token: token.map(ApiKey::from),
        }
    }

    #[test]
    fn aws_signature_v4_test_suite() {
        for vector in VECTORS {
            let mut builder = http::Request::builder()
                .method(vector.method)
                .uri(vector.uri);
            for (name, value) in vector.headers {
                builder = builder.header(*name, *value);
            }
            let mut request = builder
                .body(Bytes::from_static(vector.body.as_bytes()))
                .unwrap();
            let credentials = suite_credentials(vector.token.then_some(SUITE_TOKEN));
            let scope = SigningScope {
                region: "us-east-1",
                service: "service",
                time: UNIX_EPOCH + Duration::from_secs(SUITE_TIME),
            };
            sign(&mut request, &credentials, scope).unwrap();
            let want = format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders={}, Signature={}",
                vector.signed_headers, vector.signature
            );
            assert_eq!(
                request.headers()["authorization"],
                want.as_str(),
                "{}",
                vector.name
            );
            assert_eq!(request.headers()["x-amz-date"], "20150830T123600Z");
            assert!(request.headers()["authorization"].is_sensitive());
        }
    }

    /// A Bedrock Converse request signed by botocore 1.44.8 (`SigV4Auth(creds, "bedrock",
    /// "us-east-1").add_auth(...)` with `get_current_datetime` fixed at 2024-05-01T12:00:00Z
    /// and the `x-amz-content-sha256` header set before signing). The model id's `:` is
    /// `%3A` on the wire and `%253A` in the canonical request.
    #[test]
    fn matches_botocore_for_a_bedrock_request() {
        let body = r#"{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}"#;
        for (token, signed, signature) in [
            (
                None,
                "content-type;host;x-amz-content-sha256;x-amz-date",
                "4e54915b20ad9875ee983138e2b6e54752a7e56e05181fbf40538fc327afcecc",
            ),
            (
                Some("FQoGZXIvYXdzEXAMPLETOKEN"),
                "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token",
                "7001009e8094194e461eaaa72306ad3cda8b89629926339e08d074d20167b028",
            ),
        ] {
            let mut request = http::Request::post(
                "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse",
            )
            .header("content-type", "application/json")
            .header("x-amz-content-sha256", hex(&Sha256::digest(body.as_bytes())))
            .body(Bytes::from_static(body.as_bytes()))
            .unwrap();
            let scope = SigningScope {
                region: "us-east-1",
                service: "bedrock",
                time: UNIX_EPOCH + Duration::from_secs(1_714_564_800),
            };
            sign(&mut request, &suite_credentials(token), scope).unwrap();
            let want = format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240501/us-east-1/bedrock/aws4_request, SignedHeaders={signed}, Signature={signature}");
            assert_eq!(request.headers()["authorization"], want.as_str());
            assert_eq!(request.headers()["x-amz-date"], "20240501T120000Z");
            // Signing again (a retry) replaces, never duplicates.
            sign(&mut request, &suite_credentials(token), scope).unwrap();
            assert_eq!(request.headers().get_all("authorization").iter().count(), 1);
            assert_eq!(request.headers()["authorization"], want.as_str());
        }
    }

    #[test]
    fn path_is_encoded_again_and_dates_are_civil() {
        assert_eq!(
            uri_encode(b"/model/arn%3Aaws%3Abedrock%2Fx/converse", false),
            "/model/arn%253Aaws%253Abedrock%252Fx/converse"
        );
        assert_eq!(canonical_query("b=2&a=%20x&A=0"), "A=0&a=%20x&b=2");
        for (seconds, want) in [
            (0, "19700101T000000Z"),
            (951_782_400, "20000229T000000Z"),
            (1_709_251_199, "20240229T235959Z"),
            (4_102_444_800, "21000101T000000Z"),
        ] {
            let (_, stamp) = amz_date(UNIX_EPOCH + Duration::from_secs(seconds)).unwrap();
            assert_eq!(stamp, want);
        }
        let credentials = suite_credentials(Some("token"));
        assert!(!format!("{credentials:?}").contains(SUITE_SECRET));
        assert!(!format!("{credentials:?}").contains(SUITE_KEY_ID));
    }
}
