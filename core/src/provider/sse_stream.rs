//! The one [`ChatStreamDecoder`] every SSE-speaking adapter uses: SSE framing from
//! [`crate::framing`], with a per-provider [`SseEventHandler`] that turns events into chunks.

use std::collections::VecDeque;
use std::fmt;

use crate::error::Error;
use crate::framing::{SseDecoder, SseEvent};
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

/// SSE bytes in, chunks out; sticky after the first error. Errors are redacted of the
/// provider's key here, once for every family, because in-stream error text comes from the
/// provider like any error body.
#[derive(Debug)]
pub(crate) struct SseChatStream<H> {
    sse: SseDecoder,
    handler: H,
    api_key: Option<ApiKey>,
    ready: VecDeque<ChatCompletionChunk>,
    /// The error to report once `ready` is drained; then the decoder is dead.
    failure: Option<Error>,
    failed: bool,
    done: bool,
    finished: bool,
}

impl<H: SseEventHandler> SseChatStream<H> {
    pub(crate) fn new(handler: H, api_key: Option<ApiKey>) -> Self {
        SseChatStream {
            sse: SseDecoder::new(),
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
            let Some(event) = self.sse.next_event() else {
                break;
            };
            match self.handler.on_event(&event, &mut self.ready) {
                Ok(StreamFlow::Continue) => {}
                Ok(StreamFlow::Done) => self.done = true,
                Err(error) => self.failure = Some(error),
            }
        }
    }
}

impl<H: SseEventHandler> ChatStreamDecoder for SseChatStream<H> {
    fn push(&mut self, bytes: &[u8]) {
        if self.done || self.failure.is_some() || self.failed || self.finished {
            return;
        }
        if let Err(error) = self.sse.push(bytes) {
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
        let discarded = self.sse.finish();
        self.drain_events();
        if !self.done && self.failure.is_none() {
            let detail = if discarded {
                " (the last event was cut off)"
            } else {
                ""
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
