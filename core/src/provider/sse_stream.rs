//! The one [`ChatStreamDecoder`] every streaming adapter uses: a framing decoder from
//! [`crate::framing`] (SSE, NDJSON) under a per-provider handler that turns its events into
//! chunks ([`SseEventHandler`], [`NdjsonLineHandler`]). The stream logic every family shares
//! lives here once: sticky errors, key redaction, framing errors as `Decode`, and `Truncated`
//! when the body ends before the family's terminal marker.

use std::collections::VecDeque;
use std::fmt;

use crate::error::Error;
use crate::framing::{FramingError, NdjsonDecoder, SseDecoder, SseEvent};
use crate::settings::ApiKey;
use crate::types::ChatCompletionChunk;

use super::ChatStreamDecoder;

/// What an event meant for the stream as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamFlow {
    /// Keep reading.
    Continue,
    /// The terminal marker: the stream completed normally; later bytes are ignored.
    Done,
}

/// Translates one provider's SSE events into OpenAI chunks.
pub(crate) trait SseEventHandler: Send + fmt::Debug {
    /// Handles one event, appending the chunks it produces to `out`.
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error>;

    /// The marker this family ends a stream with, for the `Truncated` message.
    fn terminal_marker(&self) -> &'static str;
}

/// Translates one provider's NDJSON lines (one JSON value each) into OpenAI chunks.
pub(crate) trait NdjsonLineHandler: Send + fmt::Debug {
    /// Handles one non-blank line, appending the chunks it produces to `out`.
    fn on_line(
        &mut self,
        line: &[u8],
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error>;

    /// The marker this family ends a stream with, for the `Truncated` message.
    fn terminal_marker(&self) -> &'static str;
}

/// A byte framing under a chat stream: SSE events or NDJSON lines.
pub(crate) trait Framing: Send + fmt::Debug + Default {
    type Event;
    fn push(&mut self, bytes: &[u8]) -> Result<(), FramingError>;
    fn next_event(&mut self) -> Option<Self::Event>;
    /// End of input; `true` when a partial event was discarded.
    fn finish(&mut self) -> bool;
}

impl Framing for SseDecoder {
    type Event = SseEvent;
    fn push(&mut self, bytes: &[u8]) -> Result<(), FramingError> {
        SseDecoder::push(self, bytes)
    }
    fn next_event(&mut self) -> Option<SseEvent> {
        SseDecoder::next_event(self)
    }
    fn finish(&mut self) -> bool {
        SseDecoder::finish(self)
    }
}

impl Framing for NdjsonDecoder {
    type Event = Vec<u8>;
    fn push(&mut self, bytes: &[u8]) -> Result<(), FramingError> {
        NdjsonDecoder::push(self, bytes)
    }
    fn next_event(&mut self) -> Option<Vec<u8>> {
        self.next_line()
    }
    fn finish(&mut self) -> bool {
        // The last line without its newline is still a line (see the decoder's rules).
        NdjsonDecoder::finish(self);
        false
    }
}

/// A handler of one framing's events; implemented for every [`SseEventHandler`] and
/// [`NdjsonLineHandler`], so adapters implement only the trait of their framing.
pub(crate) trait EventHandler<E>: Send + fmt::Debug {
    fn handle(
        &mut self,
        event: &E,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error>;
    fn marker(&self) -> &'static str;
}

impl<H: SseEventHandler> EventHandler<SseEvent> for H {
    fn handle(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error> {
        self.on_event(event, out)
    }
    fn marker(&self) -> &'static str {
        self.terminal_marker()
    }
}

impl<H: NdjsonLineHandler> EventHandler<Vec<u8>> for H {
    fn handle(
        &mut self,
        line: &Vec<u8>,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error> {
        self.on_line(line, out)
    }
    fn marker(&self) -> &'static str {
        self.terminal_marker()
    }
}

/// SSE chat streams (most families).
pub(crate) type SseChatStream<H> = FramedChatStream<SseDecoder, H>;

/// NDJSON chat streams (Ollama's native API).
pub(crate) type NdjsonChatStream<H> = FramedChatStream<NdjsonDecoder, H>;

/// Framed bytes in, chunks out; sticky after the first error. Errors are redacted of the
/// provider's key here, once for every family, because in-stream error text comes from the
/// provider like any error body.
#[derive(Debug)]
pub(crate) struct FramedChatStream<F, H> {
    framing: F,
    handler: H,
    api_key: Option<ApiKey>,
    ready: VecDeque<ChatCompletionChunk>,
    /// The error to report once `ready` is drained; then the decoder is dead.
    failure: Option<Error>,
    failed: bool,
    done: bool,
    finished: bool,
}

impl<F: Framing, H: EventHandler<F::Event>> FramedChatStream<F, H> {
    pub(crate) fn new(handler: H, api_key: Option<ApiKey>) -> Self {
        FramedChatStream {
            framing: F::default(),
            handler,
            api_key,
            ready: VecDeque::new(),
            failure: None,
            failed: false,
            done: false,
            finished: false,
        }
    }

    fn drain_events(&mut self) {
        while !self.done && self.failure.is_none() {
            let Some(event) = self.framing.next_event() else {
                break;
            };
            match self.handler.handle(&event, &mut self.ready) {
                Ok(StreamFlow::Continue) => {}
                Ok(StreamFlow::Done) => self.done = true,
                Err(error) => self.failure = Some(error),
            }
        }
    }
}

impl<F: Framing, H: EventHandler<F::Event>> ChatStreamDecoder for FramedChatStream<F, H> {
    fn push(&mut self, bytes: &[u8]) {
        if self.done || self.failure.is_some() || self.failed || self.finished {
            return;
        }
        if let Err(error) = self.framing.push(bytes) {
            self.drain_events();
            if self.failure.is_none() {
                self.failure = Some(Error::new(crate::ErrorKind::Decode, error.to_string()));
            }
            return;
        }
        self.drain_events();
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.done || self.failure.is_some() || self.failed {
            return;
        }
        let discarded = self.framing.finish();
        self.drain_events();
        if !self.done && self.failure.is_none() {
            let detail = if discarded {
                " (the last event was cut off)"
            } else {
                ""
            };
            self.failure = Some(Error::truncated(format!(
                "stream ended without {}{detail}",
                self.handler.marker()
            )));
        }
    }

    fn next_chunk(&mut self) -> Option<Result<ChatCompletionChunk, Error>> {
        if let Some(chunk) = self.ready.pop_front() {
            return Some(Ok(chunk));
        }
        let error = self.failure.take()?;
        self.failed = true;
        Some(Err(error.without_key(self.api_key.as_ref())))
    }

    fn is_complete(&self) -> bool {
        self.done
    }
}
