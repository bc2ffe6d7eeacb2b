//! The one [`ChatStreamDecoder`] every streaming adapter uses: a framing from
//! [`crate::framing`] (SSE; NDJSON for Ollama; AWS eventstream for Bedrock) with a
//! per-provider handler that turns its events into chunks ([`SseEventHandler`] for SSE,
//! [`NdjsonLineHandler`] for NDJSON, [`EventHandler`] in general). The stream logic every
//! family shares lives here once: sticky errors, key redaction, framing errors as `Decode`,
//! and `Truncated` when the body ends before the family's terminal marker; and the end of a
//! stream that never showed its family's shape (see [`super::shape`]): `UnexpectedResponse`.

use std::collections::VecDeque;
use std::fmt;

use super::shape::{is_filler, never_shown, BodyHead, Marker};
use crate::error::Error;
use crate::framing::{
    EventStreamDecoder, EventStreamMessage, FramingError, NdjsonDecoder, SseDecoder, SseEvent,
};
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

    /// See [`EventHandler::complete_at_eof`].
    fn complete_at_eof(&self) -> bool {
        false
    }

    /// See [`EventHandler::at_eof`].
    fn at_eof(&mut self, _out: &mut VecDeque<ChatCompletionChunk>) -> Result<(), Error> {
        Ok(())
    }

    /// The marker of this family's stream events (see [`super::shape`]).
    fn stream_marker(&self) -> &'static Marker;

    /// Whether an event of the family's shape has arrived.
    fn shape_proven(&self) -> bool;
}

/// An incremental byte decoder of one framing: what [`FramedChatStream`] reads events from.
pub(crate) trait Framing: Send + fmt::Debug {
    type Event;
    fn push(&mut self, bytes: &[u8]) -> Result<(), FramingError>;
    fn next_event(&mut self) -> Option<Self::Event>;
    /// Takes back an event the handler is done with, for the framing to reuse its buffers.
    fn recycle(&mut self, _event: Self::Event) {}
    /// End of body: `Ok(true)` when an incomplete event was discarded, `Err` when the framing
    /// itself says the body was cut off.
    fn finish(&mut self) -> Result<bool, FramingError>;
}

impl Framing for SseDecoder {
    type Event = SseEvent;
    fn push(&mut self, bytes: &[u8]) -> Result<(), FramingError> {
        SseDecoder::push(self, bytes)
    }
    fn next_event(&mut self) -> Option<SseEvent> {
        SseDecoder::next_event(self)
    }
    fn recycle(&mut self, event: SseEvent) {
        SseDecoder::recycle(self, event);
    }
    fn finish(&mut self) -> Result<bool, FramingError> {
        Ok(SseDecoder::finish(self))
    }
}

impl Framing for EventStreamDecoder {
    type Event = EventStreamMessage;
    fn push(&mut self, bytes: &[u8]) -> Result<(), FramingError> {
        EventStreamDecoder::push(self, bytes)
    }
    fn next_event(&mut self) -> Option<EventStreamMessage> {
        self.next_message()
    }
    fn finish(&mut self) -> Result<bool, FramingError> {
        EventStreamDecoder::finish(self).map(|()| false)
    }
}

/// Translates one provider's events of framing `E` into OpenAI chunks.
pub(crate) trait EventHandler<E>: Send + fmt::Debug {
    /// Handles one event, appending the chunks it produces to `out`.
    fn on_event(
        &mut self,
        event: &E,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error>;

    /// The marker this family ends a stream with, for the `Truncated` message.
    fn terminal_marker(&self) -> &'static str;

    /// The marker of this family's stream events (see [`super::shape`]).
    fn stream_marker(&self) -> &'static Marker;

    /// Whether an event of the family's shape has arrived.
    fn shape_proven(&self) -> bool;

    /// Whether the body may end here without being `Truncated`: for families whose terminal
    /// marker may be followed by optional trailing events (Bedrock's `metadata` after
    /// `messageStop`), so the stream cannot stop reading at the marker.
    fn complete_at_eof(&self) -> bool {
        false
    }

    /// The body ended (after its last event, before the completeness check): appends what
    /// the handler still holds, such as a Gemini code execution whose result never came.
    fn at_eof(&mut self, _out: &mut VecDeque<ChatCompletionChunk>) -> Result<(), Error> {
        Ok(())
    }
}

impl<H: SseEventHandler> EventHandler<SseEvent> for H {
    fn on_event(
        &mut self,
        event: &SseEvent,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error> {
        SseEventHandler::on_event(self, event, out)
    }

    fn terminal_marker(&self) -> &'static str {
        SseEventHandler::terminal_marker(self)
    }

    fn complete_at_eof(&self) -> bool {
        SseEventHandler::complete_at_eof(self)
    }

    fn at_eof(&mut self, out: &mut VecDeque<ChatCompletionChunk>) -> Result<(), Error> {
        SseEventHandler::at_eof(self, out)
    }

    fn stream_marker(&self) -> &'static Marker {
        SseEventHandler::stream_marker(self)
    }

    fn shape_proven(&self) -> bool {
        SseEventHandler::shape_proven(self)
    }
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

    /// The marker of this family's stream events (see [`super::shape`]).
    fn stream_marker(&self) -> &'static Marker;

    /// Whether an event of the family's shape has arrived.
    fn shape_proven(&self) -> bool;
}

impl Framing for NdjsonDecoder {
    type Event = Vec<u8>;
    fn push(&mut self, bytes: &[u8]) -> Result<(), FramingError> {
        NdjsonDecoder::push(self, bytes)
    }
    fn next_event(&mut self) -> Option<Vec<u8>> {
        self.next_line()
    }
    fn finish(&mut self) -> Result<bool, FramingError> {
        // The last line without its newline is still a line (see the decoder's rules).
        NdjsonDecoder::finish(self);
        Ok(false)
    }
}

impl<H: NdjsonLineHandler> EventHandler<Vec<u8>> for H {
    fn on_event(
        &mut self,
        line: &Vec<u8>,
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error> {
        self.on_line(line, out)
    }

    fn terminal_marker(&self) -> &'static str {
        NdjsonLineHandler::terminal_marker(self)
    }

    fn stream_marker(&self) -> &'static Marker {
        NdjsonLineHandler::stream_marker(self)
    }

    fn shape_proven(&self) -> bool {
        NdjsonLineHandler::shape_proven(self)
    }
}

/// NDJSON chat streams (Ollama's native API).
pub(crate) type NdjsonChatStream<H> = FramedChatStream<NdjsonDecoder, H>;

impl<H: EventHandler<Vec<u8>>> FramedChatStream<NdjsonDecoder, H> {
    pub(crate) fn new(handler: H, api_key: Option<ApiKey>) -> Self {
        Self::with_framing(NdjsonDecoder::new(), handler, api_key)
    }
}

/// SSE chat streams: the framed stream over SSE.
pub(crate) type SseChatStream<H> = FramedChatStream<SseDecoder, H>;

/// Framed bytes in, chunks out; sticky after the first error. Errors are redacted of the
/// provider's key here, once for every family, because in-stream error text comes from the
/// provider like any error body.
#[derive(Debug)]
pub(crate) struct FramedChatStream<F, H> {
    framing: F,
    handler: H,
    api_key: Option<ApiKey>,
    /// The start of the body, quoted when the stream never shows its family's shape.
    head: BodyHead,
    ready: VecDeque<ChatCompletionChunk>,
    /// The error to report once `ready` is drained; then the decoder is dead.
    failure: Option<Error>,
    failed: bool,
    done: bool,
    finished: bool,
}

impl<H: EventHandler<SseEvent>> FramedChatStream<SseDecoder, H> {
    pub(crate) fn new(handler: H, api_key: Option<ApiKey>) -> Self {
        Self::with_framing(SseDecoder::new(), handler, api_key)
    }
}

impl<F: Framing, H: EventHandler<F::Event>> FramedChatStream<F, H> {
    pub(crate) fn with_framing(framing: F, handler: H, api_key: Option<ApiKey>) -> Self {
        FramedChatStream {
            framing,
            handler,
            api_key,
            head: BodyHead::default(),
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
            let flow = self.handler.on_event(&event, &mut self.ready);
            self.framing.recycle(event);
            match flow {
                Ok(StreamFlow::Continue) => {}
                // The terminal marker alone (`data: [DONE]` and nothing else) proves nothing:
                // it would be an empty success.
                Ok(StreamFlow::Done) => match self.never_proven() {
                    Some(error) => self.failure = Some(error),
                    None => self.done = true,
                },
                Err(error) => self.failure = Some(error),
            }
        }
    }

    /// The error for a stream that has shown nothing of its family's shape (its body's start
    /// is quoted), or `None` once it has.
    fn never_proven(&self) -> Option<Error> {
        if self.handler.shape_proven() {
            return None;
        }
        Some(never_shown(self.handler.stream_marker(), self.head.bytes()))
    }
}

impl<F: Framing, H: EventHandler<F::Event>> ChatStreamDecoder for FramedChatStream<F, H> {
    fn push(&mut self, bytes: &[u8]) {
        if self.done || self.failure.is_some() || self.failed || self.finished {
            return;
        }
        self.head.keep(bytes);
        if let Err(error) = self.framing.push(bytes) {
            self.drain_events();
            if self.failure.is_none() {
                // Bytes that are not even this family's framing, before any event of its
                // shape: another kind of server, not a broken stream.
                let foreign = error.is_foreign().then(|| self.never_proven()).flatten();
                self.failure =
                    Some(foreign.unwrap_or_else(|| {
                        Error::new(crate::ErrorKind::Decode, error.to_string())
                    }));
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
            if let Err(error) = self.handler.at_eof(&mut self.ready) {
                self.failure = Some(error);
            }
        }
        if !self.done
            && self.failure.is_none()
            && discarded == Ok(false)
            && self.handler.complete_at_eof()
        {
            self.done = true;
        }
        if !self.done && self.failure.is_none() {
            // A frame of this framing cut off, or a body of nothing but blank lines and SSE
            // comments, is a truncated stream even before any event arrived; anything else
            // that never showed the family's shape is not its stream.
            let cut_frame = matches!(&discarded, Err(error) if !error.is_foreign());
            let truncated = cut_frame || is_filler(self.head.bytes());
            if let Some(error) = self.never_proven().filter(|_| !truncated) {
                self.failure = Some(error);
                return;
            }
            let detail = match discarded {
                Ok(true) => " (the last event was cut off)".to_owned(),
                Ok(false) => String::new(),
                Err(error) => format!(" ({error})"),
            };
            self.failure = Some(Error::truncated(format!(
                "stream ended without {}{detail}",
                self.handler.terminal_marker()
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
