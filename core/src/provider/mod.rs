//! Provider adapters: one per wire protocol, all behind the object-safe [`Provider`] trait.
//!
//! An adapter turns an OpenAI-format request into an `http::Request<Bytes>` for its
//! provider, and the provider's response (whole, or streamed bytes through a
//! [`ChatStreamDecoder`]) back into OpenAI-format values. It never does I/O.
//!
//! The OpenAI-compatible providers are rows of one table ([`profiles`]), not modules.

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::error::Error;
use crate::settings::{ApiKey, ProviderSettings};
use crate::types::{
    ChatCompletion, ChatCompletionChunk, ChatRequest, CompletionRequest, CompletionResponse,
    EmbeddingRequest, EmbeddingResponse, FunctionDefinition, Tool,
};

pub mod anthropic;
pub mod azure;
pub mod bedrock;
pub mod cohere;
pub mod gemini;
pub mod ollama;
pub mod openai;
pub mod profiles;
mod server_tools;
pub(crate) mod shape;
mod sse_stream;
mod turns;
mod url_path;

pub(crate) use sse_stream::{
    EventHandler, FramedChatStream, NdjsonChatStream, NdjsonLineHandler, SseChatStream,
    SseEventHandler, StreamFlow,
};

/// What a provider can do, so a request it cannot serve fails before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    pub streaming: bool,
    pub tools: bool,
    pub vision: bool,
    pub json_mode: bool,
    pub embeddings: bool,
    pub completions: bool,
    /// Reasoning controls (`reasoning_effort`) are honoured.
    pub reasoning: bool,
}

impl Capabilities {
    /// Every capability on: the OpenAI API's own set.
    pub const ALL: Capabilities = Capabilities {
        streaming: true,
        tools: true,
        vision: true,
        json_mode: true,
        embeddings: true,
        completions: true,
        reasoning: true,
    };

    /// Checks that a chat request asks only for what the provider can do. A request that
    /// needs a missing capability is an `Unsupported` error naming it, so nothing is
    /// silently dropped and no prompt is rewritten. The [`Call`](crate::Call) machine runs
    /// this before every chat attempt.
    pub fn check_chat(
        &self,
        provider: &str,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<(), Error> {
        let images = || {
            request.messages.iter().any(|message| {
                matches!(&message.content, Some(crate::types::Content::Parts(parts))
                    if parts.iter().any(|part| matches!(part, crate::types::ContentPart::ImageUrl { .. })))
            })
        };
        let json = request
            .response_format
            .as_ref()
            .is_some_and(|format| !matches!(format, crate::types::ResponseFormat::Text));
        let missing = [
            (stream && !self.streaming, "streaming"),
            (
                request.tools.as_ref().is_some_and(|t| !t.is_empty()) && !self.tools,
                "tools",
            ),
            (json && !self.json_mode, "JSON mode (response_format)"),
            (
                request.reasoning_effort.is_some() && !self.reasoning,
                "reasoning (reasoning_effort)",
            ),
            (!self.vision && images(), "vision (image input)"),
        ];
        match missing.iter().find(|(lacking, _)| *lacking) {
            Some((_, what)) => Err(Error::unsupported(format!(
                "{provider} does not support {what}"
            ))),
            None => Ok(()),
        }
    }
}

/// One provider's wire protocol. Object-safe: the registry holds `Arc<dyn Provider>`, and
/// users can register their own.
///
/// `model` arguments are the provider's model name (the part after `provider/`); the
/// request's own `model` field is ignored, so the same request can be re-targeted to a
/// fallback model.
pub trait Provider: Send + Sync + fmt::Debug {
    /// The provider name used in model ids (`openai`, `anthropic`, …).
    fn name(&self) -> &str;

    /// What this provider supports.
    fn capabilities(&self) -> Capabilities;

    /// Builds the chat request. `stream` selects the streaming endpoint or flag.
    fn build_chat(
        &self,
        model: &str,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<http::Request<Bytes>, Error>;

    /// Parses a whole (non-streaming) chat response, error statuses included.
    fn parse_chat(&self, response: &http::Response<Bytes>) -> Result<ChatCompletion, Error>;

    /// A decoder for a streamed chat response body (after a 2xx head).
    fn chat_stream_decoder(&self, model: &str) -> Box<dyn ChatStreamDecoder>;

    /// The error an error response (non-2xx) means.
    fn parse_error(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error;

    /// Adds what authenticates a built request when that depends on the time of sending:
    /// AWS SigV4 signatures, short-lived tokens. `wall_clock` is the current UTC time, given
    /// by the caller (the core never reads a clock); `None` when the caller did not say,
    /// which a provider that needs it reports as a `Configuration` error. Runs after every
    /// `build_*`, once per attempt. Most providers put a static key in `build_*` and keep
    /// this default.
    fn authorize(
        &self,
        _request: &mut http::Request<Bytes>,
        _wall_clock: Option<SystemTime>,
    ) -> Result<(), Error> {
        Ok(())
    }

    /// Builds an embeddings request.
    fn build_embeddings(
        &self,
        _model: &str,
        _request: &EmbeddingRequest,
    ) -> Result<http::Request<Bytes>, Error> {
        Err(Error::unsupported(format!(
            "{} does not offer embeddings",
            self.name()
        )))
    }

    /// Parses an embeddings response.
    fn parse_embeddings(
        &self,
        _response: &http::Response<Bytes>,
    ) -> Result<EmbeddingResponse, Error> {
        Err(Error::unsupported(format!(
            "{} does not offer embeddings",
            self.name()
        )))
    }

    /// Builds a legacy completions request.
    fn build_completions(
        &self,
        _model: &str,
        _request: &CompletionRequest,
    ) -> Result<http::Request<Bytes>, Error> {
        Err(Error::unsupported(format!(
            "{} does not offer legacy completions",
            self.name()
        )))
    }

    /// Parses a legacy completions response.
    fn parse_completions(
        &self,
        _response: &http::Response<Bytes>,
    ) -> Result<CompletionResponse, Error> {
        Err(Error::unsupported(format!(
            "{} does not offer legacy completions",
            self.name()
        )))
    }
}

/// An incremental decoder of one streamed chat response body.
///
/// Feed bytes with [`push`](Self::push) as they arrive, in any split; pull chunks with
/// [`next_chunk`](Self::next_chunk); call [`finish`](Self::finish) at end of body. Items come
/// out in wire order. An error is the last item: after it `next_chunk` returns `None` and
/// further input is ignored (sticky, like h11). A body that ends without the protocol's
/// terminal marker yields a `Truncated` error after its last chunk.
pub trait ChatStreamDecoder: Send + fmt::Debug {
    /// Feeds body bytes.
    fn push(&mut self, bytes: &[u8]);

    /// Marks the end of the body.
    fn finish(&mut self);

    /// The next decoded chunk or error, if one is complete.
    fn next_chunk(&mut self) -> Option<Result<ChatCompletionChunk, Error>>;

    /// Whether the terminal marker has been seen (the stream completed normally).
    fn is_complete(&self) -> bool;
}

/// Checks a non-streaming response's status and hands 2xx bodies to `parse`; other statuses
/// go to the provider's error parser. Shared by every adapter. An error `parse` returns (a
/// body of the wrong shape, a malformed one, an error envelope sent with a 2xx) carries the
/// response's status and request id, as an error status's error does.
pub(crate) fn parse_whole<T>(
    provider: &dyn Provider,
    response: &http::Response<Bytes>,
    parse: impl FnOnce(&[u8]) -> Result<T, Error>,
) -> Result<T, Error> {
    let status = response.status();
    if !status.is_success() {
        return Err(provider.parse_error(status, response.headers(), response.body()));
    }
    parse(response.body()).map_err(|error| error.with_response_head(status, response.headers()))
}

/// [`parse_whole`] for an adapter holding `key`: any error, whether from the status or from
/// `parse` (whose excerpt may quote the body), has the key redacted.
pub(crate) fn parse_whole_without_key<T>(
    provider: &dyn Provider,
    key: Option<&ApiKey>,
    response: &http::Response<Bytes>,
    parse: impl FnOnce(&[u8]) -> Result<T, Error>,
) -> Result<T, Error> {
    parse_whole(provider, response, parse).map_err(|error| error.without_key(key))
}

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

/// Deserializes a response body or stream payload. Valid UTF-8 (nearly every body) is
/// checked once up front and then read as `str`, which spares serde_json checking each
/// string again: about a seventh of parsing a small completion. Anything else goes through
/// `from_slice`, whose error says where the bad byte is.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    }
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

/// Helpers the adapters' stream tests share.
#[cfg(test)]
pub(crate) mod stream_tests {
    use super::ChatStreamDecoder;
    use crate::error::Error;
    use crate::types::{ChatCompletion, ChatCompletionChunk, ChunkAccumulator};

    /// Feeds `body` to `decoder` in pieces of `split` bytes (at least one), draining after
    /// each and after the end: every item, and whether the stream completed.
    pub(crate) fn decode_in_pieces(
        mut decoder: impl ChatStreamDecoder,
        body: &[u8],
        split: usize,
    ) -> (Vec<Result<ChatCompletionChunk, Error>>, bool) {
        let mut items = Vec::new();
        for piece in body.chunks(split.max(1)) {
            decoder.push(piece);
            items.extend(std::iter::from_fn(|| decoder.next_chunk()));
        }
        decoder.finish();
        items.extend(std::iter::from_fn(|| decoder.next_chunk()));
        (items, decoder.is_complete())
    }

    /// The completion the chunks fold into; panics on an error item.
    pub(crate) fn fold(items: &[Result<ChatCompletionChunk, Error>]) -> ChatCompletion {
        let mut accumulator = ChunkAccumulator::new();
        for item in items {
            accumulator.push(item.as_ref().unwrap());
        }
        accumulator.completion()
    }
}

#[cfg(test)]
mod tests {
    use super::Capabilities;
    use crate::{ChatRequest, ErrorKind, Tool};

    #[test]
    fn a_missing_capability_is_an_unsupported_error_naming_it() {
        let text_only = Capabilities {
            streaming: false,
            tools: false,
            vision: false,
            json_mode: false,
            embeddings: false,
            completions: false,
            reasoning: false,
        };
        let plain = ChatRequest::new("p/m").user("hi");
        assert!(text_only.check_chat("p", &plain, false).is_ok());
        assert!(Capabilities::ALL.check_chat("p", &plain, true).is_ok());
        let mut reasoning = plain.clone();
        reasoning.reasoning_effort = Some("high".into());
        let cases = [
            (plain.clone(), true, "streaming"),
            (
                plain
                    .clone()
                    .tool(Tool::function("f", "", serde_json::json!({}))),
                false,
                "tools",
            ),
            (plain.clone().json_mode(), false, "JSON mode"),
            (reasoning, false, "reasoning"),
            (
                ChatRequest::new("p/m").user_with_image("what?", "https://x/y.png"),
                false,
                "vision",
            ),
        ];
        for (request, stream, what) in cases {
            let error = text_only.check_chat("p", &request, stream).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Unsupported);
            assert!(error.to_string().contains(what), "{error} / {what}");
            assert!(Capabilities::ALL.check_chat("p", &request, stream).is_ok());
        }
    }
}
