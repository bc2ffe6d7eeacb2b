//! Building the `http::Request`s the adapters send: base URLs, JSON POSTs and their header
//! templates, bodies, and the request-side checks several adapters share.

use std::fmt;

use bytes::Bytes;

use crate::error::Error;
use crate::settings::{ApiKey, ProviderSettings};
use crate::types::{ChatRequest, FunctionDefinition, Tool};

/// The configured base URL (else `default`) without trailing slashes and without the first
/// of `suffixes` it ends with, so a URL given with a version path the adapter adds itself
/// (`…/v1`, `…/api`) is accepted too.
pub(crate) fn base_url_without(
    settings: &ProviderSettings,
    default: &str,
    suffixes: &[&str],
) -> String {
    let base = settings
        .base_url
        .as_deref()
        .unwrap_or(default)
        .trim_end_matches('/');
    suffixes
        .iter()
        .find_map(|suffix| base.strip_suffix(suffix))
        .unwrap_or(base)
        .to_owned()
}

/// Builds a JSON POST request, turning header and URL problems into `Configuration` errors
/// instead of panics.
pub(crate) fn json_post(
    url: &str,
    headers: &[(&str, &str)],
    extra_headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<http::Request<Bytes>, Error> {
    let uri = parse_url(url)?;
    Ok(PostTemplate::new(headers, extra_headers)?.into_request(uri, body))
}

/// An `http` or `https` URL with a host, or a `Configuration` error.
pub(crate) fn parse_url(url: &str) -> Result<http::Uri, Error> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| Error::configuration(format!("invalid URL {url:?}: {e}")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return Err(Error::configuration(format!(
            "invalid URL {url:?}: want http:// or https:// with a host"
        )));
    }
    Ok(uri)
}

/// The headers of an adapter's JSON POSTs, checked and built once: an adapter that holds
/// one (the OpenAI-compatible ones do, being the most called) pays a clone per request
/// instead of validating every name and value again, which was about a quarter of
/// building a small chat request.
#[derive(Clone)]
pub(crate) struct PostTemplate {
    headers: http::HeaderMap,
}

impl PostTemplate {
    /// `content-type: application/json` plus `headers`, then `extra_headers` (which win).
    /// Credential headers are marked sensitive, so `http` and the transports never show them.
    pub(crate) fn new(
        headers: &[(&str, &str)],
        extra_headers: &[(String, String)],
    ) -> Result<Self, Error> {
        let mut map = http::HeaderMap::new();
        map.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        let all = headers
            .iter()
            .map(|(n, v)| (*n, *v))
            .chain(extra_headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        for (name, value) in all {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::configuration(format!("invalid header name {name:?}")))?;
            // The value may be a key: never quote it.
            let mut value = http::HeaderValue::from_str(value).map_err(|_| {
                Error::configuration(format!(
                    "invalid value for header {name}: control characters or non-ASCII"
                ))
            })?;
            if matches!(
                name.as_str(),
                "authorization" | "x-api-key" | "api-key" | "x-goog-api-key"
            ) {
                value.set_sensitive(true);
            }
            map.insert(name, value);
        }
        Ok(PostTemplate { headers: map })
    }

    /// A POST of `body` to `uri` with these headers, the template used up.
    fn into_request(self, uri: http::Uri, body: Vec<u8>) -> http::Request<Bytes> {
        let mut request = http::Request::new(Bytes::from(body));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = uri;
        *request.headers_mut() = self.headers;
        request
    }

    /// A POST of `body` to `uri` with these headers, plus an `accept` header unless the
    /// template's own headers (a user's, say) set one.
    pub(crate) fn request_accepting(
        &self,
        uri: http::Uri,
        accept: &'static str,
        body: Vec<u8>,
    ) -> http::Request<Bytes> {
        let mut request = self.clone().into_request(uri, body);
        request
            .headers_mut()
            .entry(http::header::ACCEPT)
            .or_insert(http::HeaderValue::from_static(accept));
        request
    }
}

impl fmt::Debug for PostTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: values may be credentials (sensitive ones print as `Sensitive`
        // anyway, but a name list is all a reader needs).
        f.debug_list().entries(self.headers.keys()).finish()
    }
}

/// Refuses `n > 1` for the providers that answer with one choice per request, rather than
/// silently returning fewer choices than asked for.
pub(crate) fn one_choice_only(provider: &str, request: &ChatRequest) -> Result<(), Error> {
    if request.n.is_some_and(|n| n > 1) {
        return Err(Error::unsupported(format!(
            "{provider} returns one choice per request: n > 1 is not supported"
        )));
    }
    Ok(())
}

/// The function a tool declares, or an `Unsupported` error for a tool of another type
/// (the native APIs take function tools only).
pub(crate) fn function_tool<'a>(
    tool: &'a Tool,
    provider: &str,
) -> Result<&'a FunctionDefinition, Error> {
    if tool.kind != "function" {
        return Err(Error::unsupported(format!(
            "tool type {:?} is not supported by {provider} (only function tools)",
            tool.kind
        )));
    }
    Ok(&tool.function)
}

/// A JSON POST accepting `accept`, with `authorization: Bearer <token>` when there is a
/// token: the request of the adapters whose only credential is a bearer token.
pub(crate) fn bearer_json_post(
    url: &str,
    accept: &str,
    token: Option<&ApiKey>,
    extra_headers: &[(String, String)],
    body: Vec<u8>,
) -> Result<http::Request<Bytes>, Error> {
    let bearer = token.map(|token| format!("Bearer {}", token.expose()));
    let mut headers = vec![("accept", accept)];
    if let Some(bearer) = &bearer {
        headers.push(("authorization", bearer.as_str()));
    }
    json_post(url, &headers, extra_headers, body)
}

/// A `data:<media type>;base64,<data>` URL's media type and data; `None` for any other URL
/// (or a data URL that is not base64). Adapters that send media inline share it.
pub(crate) fn data_url(url: &str) -> Option<(&str, &str)> {
    let (meta, data) = url.strip_prefix("data:")?.split_once(',')?;
    Some((meta.strip_suffix(";base64")?, data))
}

/// Serializes a request body; serialization of our own types cannot fail in practice but a
/// user's `extra` map could hold odd floats, so it is an error, not a panic.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    // Most bodies fit: growing an empty buffer by doubling cost a tenth of a small build.
    let mut body = Vec::with_capacity(1024);
    serde_json::to_writer(&mut body, value)
        .map(|()| body)
        .map_err(|e| {
            Error::new(
                crate::ErrorKind::InvalidRequest,
                format!("cannot serialize request: {e}"),
            )
        })
}
