//! Streamed items on their way to the caller: what may be handed out, and when.
//!
//! A call streams chat chunks ([`ChatCompletionChunk`]) or, for the Responses API, events
//! ([`ResponseStreamEvent`]); the rules are the same for both. Retry and fallback stay
//! possible until the first item with content (text, reasoning, a refusal, a tool call) is
//! released; an item without (a role-only or usage-only chunk, `response.created`) does not
//! count. So content-less items are held back until the attempt's first content item and
//! released with it, and dropped if the attempt fails first: the next attempt's stream starts
//! from its own beginning and the caller never sees an item twice.

use std::collections::VecDeque;

use crate::provider::{ChatStreamDecoder, ResponsesStreamDecoder};
use crate::types::{
    ChatCompletion, ChatCompletionChunk, ChunkAccumulator, Response, ResponseAccumulator,
    ResponseStreamEvent,
};

/// One streamed item: a chat chunk, or a Responses API event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamItem {
    /// A chat completion chunk (a chat call).
    Chunk(ChatCompletionChunk),
    /// A Responses API event (a Responses call).
    Event(ResponseStreamEvent),
}

impl StreamItem {
    /// Whether the item carries output: once one is released the call is bound to its
    /// attempt.
    fn has_content(&self) -> bool {
        match self {
            StreamItem::Chunk(chunk) => chunk.has_content(),
            StreamItem::Event(event) => event.has_content(),
        }
    }
}

/// An attempt's stream decoder: the provider's chat decoder, or its Responses one.
#[derive(Debug)]
pub(super) enum StreamDecoder {
    Chat(Box<dyn ChatStreamDecoder>),
    Responses(Box<dyn ResponsesStreamDecoder>),
}

impl StreamDecoder {
    pub(super) fn push(&mut self, bytes: &[u8]) {
        match self {
            StreamDecoder::Chat(decoder) => decoder.push(bytes),
            StreamDecoder::Responses(decoder) => decoder.push(bytes),
        }
    }

    pub(super) fn finish(&mut self) {
        match self {
            StreamDecoder::Chat(decoder) => decoder.finish(),
            StreamDecoder::Responses(decoder) => decoder.finish(),
        }
    }

    pub(super) fn next_item(&mut self) -> Option<Result<StreamItem, crate::Error>> {
        match self {
            StreamDecoder::Chat(decoder) => Some(decoder.next_chunk()?.map(StreamItem::Chunk)),
            StreamDecoder::Responses(decoder) => Some(decoder.next_event()?.map(StreamItem::Event)),
        }
    }

    pub(super) fn is_complete(&self) -> bool {
        match self {
            StreamDecoder::Chat(decoder) => decoder.is_complete(),
            StreamDecoder::Responses(decoder) => decoder.is_complete(),
        }
    }
}

/// What the released items fold into: the completion, or the response.
#[derive(Debug)]
pub(super) enum Folded {
    Chat(ChunkAccumulator),
    Responses(ResponseAccumulator),
}

impl Default for Folded {
    fn default() -> Self {
        Folded::Chat(ChunkAccumulator::new())
    }
}

/// Streamed items on their way to the caller.
#[derive(Debug, Default)]
pub(super) struct StreamOutput {
    /// Content-less items of the current attempt, waiting for its first content item.
    pub(super) held: Vec<StreamItem>,
    /// Released items the caller has not taken yet.
    pub(super) ready: VecDeque<StreamItem>,
    /// Every released item, folded.
    pub(super) folded: Folded,
    /// Content was released: the call is bound to the current attempt.
    pub(super) committed: bool,
}

impl StreamOutput {
    /// Items of a Responses call: events, folded into a [`Response`].
    pub(super) fn for_responses() -> StreamOutput {
        StreamOutput {
            folded: Folded::Responses(ResponseAccumulator::new()),
            ..StreamOutput::default()
        }
    }

    pub(super) fn push(&mut self, item: StreamItem) {
        if !self.committed && !item.has_content() {
            self.held.push(item);
            return;
        }
        self.committed = true;
        self.release_held();
        self.fold(&item);
        self.ready.push_back(item);
    }

    pub(super) fn release_held(&mut self) {
        let held = std::mem::take(&mut self.held);
        for item in held {
            self.fold(&item);
            self.ready.push_back(item);
        }
    }

    fn fold(&mut self, item: &StreamItem) {
        match (&mut self.folded, item) {
            (Folded::Chat(accumulator), StreamItem::Chunk(chunk)) => accumulator.push(chunk),
            (Folded::Responses(accumulator), StreamItem::Event(event)) => accumulator.push(event),
            // A decoder yields its call's kind of item only.
            _ => {}
        }
    }

    /// Keeps only a summary of a chat stream ([`ChunkAccumulator::summary_only`]).
    pub(super) fn summary_only(&mut self) {
        if let Folded::Chat(accumulator) = &mut self.folded {
            accumulator.summary_only();
        }
    }

    /// What the released items fold into so far: the completion of a chat stream.
    pub(super) fn completion(&self) -> Option<ChatCompletion> {
        match &self.folded {
            Folded::Chat(accumulator) => Some(accumulator.completion()),
            Folded::Responses(_) => None,
        }
    }

    /// The response of a Responses stream, as far as it came.
    pub(super) fn response(&self) -> Option<Response> {
        match &self.folded {
            Folded::Responses(accumulator) => accumulator.response(),
            Folded::Chat(_) => None,
        }
    }
}
