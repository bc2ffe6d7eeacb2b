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
use crate::settings::ApiKey;
use crate::types::{
    ChatCompletion, ChatCompletionChunk, ChatRequest, CompletionRequest, CompletionResponse,
    EmbeddingRequest, EmbeddingResponse, MediaOutput, MediaRequest, Response, ResponseStreamEvent,
    ResponsesRequest,
};

pub mod anthropic;
pub mod bedrock;
pub mod cohere;
pub mod gemini;
pub mod ollama;
pub mod openai;
/// Azure OpenAI's routing, part of the OpenAI adapter (see [`openai::azure`]).
pub use openai::azure;
mod framed_stream;
mod http_request;
pub mod multipart;
pub mod profiles;
pub mod responses_bridge;
mod server_tools;
pub(crate) mod shape;
mod turns;
mod url_path;

pub(crate) use framed_stream::{
    EventHandler, FramedChatStream, NdjsonChatStream, NdjsonLineHandler, SseChatStream,
    SseEventHandler, StreamFlow,
};
pub(crate) use http_request::{
    base_url_without, bearer_json_post, data_url, function_tool, json_post, one_choice_only,
    parse_url, to_json, PostTemplate,
};

/// What a provider can do, so a request it cannot serve fails before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Chat requests may be streamed.
    pub streaming: bool,
    /// Function tools (`tools`, `tool_choice`) are honoured.
    pub tools: bool,
    /// Image parts in user messages are sent.
    pub vision: bool,
    /// `response_format` (JSON object or JSON schema) is honoured.
    pub json_mode: bool,
    /// The provider serves embeddings requests.
    pub embeddings: bool,
    /// The provider serves legacy text completions.
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
        let needs = crate::needs::Needs::of(request, stream);
        let missing = [
            (needs.streaming && !self.streaming, "streaming"),
            (needs.tools && !self.tools, "tools"),
            (
                needs.json_mode && !self.json_mode,
                "JSON mode (response_format)",
            ),
            (
                needs.reasoning && !self.reasoning,
                "reasoning (reasoning_effort)",
            ),
            (needs.vision && !self.vision, "vision (image input)"),
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

    /// Builds a Responses API request (`POST /v1/responses`). `stream` selects the event
    /// stream. The request's `model` is ignored, as for chat.
    ///
    /// The default serves it through this provider's chat wire: the request is translated
    /// to a [`ChatRequest`] ([`responses_bridge`]) and built with
    /// [`build_chat`](Self::build_chat); what chat cannot express
    /// (`previous_response_id`, built-in tools, stored items) is an `Unsupported` error.
    /// Adapters whose server speaks the Responses API natively (OpenAI, Azure, profiles with
    /// `responses: true`) override all three Responses methods together.
    fn build_responses(
        &self,
        model: &str,
        request: &ResponsesRequest,
        stream: bool,
    ) -> Result<http::Request<Bytes>, Error> {
        responses_bridge::build_responses(self, model, request, stream)
    }

    /// Parses a whole (non-streaming) Responses API reply, error statuses included. The
    /// default parses the chat reply [`build_responses`](Self::build_responses)'s default
    /// asked for and translates it.
    fn parse_responses(&self, response: &http::Response<Bytes>) -> Result<Response, Error> {
        responses_bridge::parse_responses(self, response)
    }

    /// A decoder for a streamed Responses API reply (after a 2xx head). The default wraps
    /// [`chat_stream_decoder`](Self::chat_stream_decoder) and turns its chunks into the
    /// events OpenAI would have sent; errors pass through unchanged.
    fn responses_stream_decoder(&self, model: &str) -> Box<dyn ResponsesStreamDecoder> {
        responses_bridge::responses_stream_decoder(self, model)
    }

    /// Builds a media request: image generation, audio transcription or translation,
    /// speech, moderation ([`MediaRequest`]). The default answers `Unsupported` naming the
    /// operation, before anything is sent.
    fn build_media(
        &self,
        _model: &str,
        request: &MediaRequest,
    ) -> Result<http::Request<Bytes>, Error> {
        Err(Error::unsupported(format!(
            "{} does not offer {}",
            self.name(),
            request.what()
        )))
    }

    /// Parses a media response; `request` says which operation it answers (a
    /// transcription's reply is JSON or text depending on what it asked for).
    fn parse_media(
        &self,
        request: &MediaRequest,
        _response: &http::Response<Bytes>,
    ) -> Result<MediaOutput, Error> {
        Err(Error::unsupported(format!(
            "{} does not offer {}",
            self.name(),
            request.what()
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

/// An incremental decoder of one streamed Responses API reply: the counterpart of
/// [`ChatStreamDecoder`], with the same contract. Feed bytes with [`push`](Self::push) in
/// any split, pull events with [`next_event`](Self::next_event), call
/// [`finish`](Self::finish) at end of body. An error is the last item (sticky); a body that
/// ends before a terminal event (`response.completed` or `response.incomplete`) yields a
/// `Truncated` error after its last event; `response.failed` and `error` events are typed
/// errors.
pub trait ResponsesStreamDecoder: Send + fmt::Debug {
    /// Feeds body bytes.
    fn push(&mut self, bytes: &[u8]);

    /// Marks the end of the body.
    fn finish(&mut self);

    /// The next decoded event or error, if one is complete.
    fn next_event(&mut self) -> Option<Result<ResponseStreamEvent, Error>>;

    /// Whether a terminal event has been seen (the stream completed normally).
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
