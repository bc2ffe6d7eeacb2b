//! Streamed chunks on their way to the caller: what may be handed out, and when.
//!
//! Retry and fallback stay possible until the first chunk with content (text, reasoning, a
//! refusal, a tool call) is released; a role-only or usage-only chunk does not count. So
//! content-less chunks are held back until the attempt's first content chunk and released
//! with it, and dropped if the attempt fails first: the next attempt's stream starts from its
//! own beginning and the caller never sees a chunk twice.

use std::collections::VecDeque;

use crate::types::{ChatCompletionChunk, ChunkAccumulator};

/// Streamed chunks on their way to the caller.
#[derive(Debug, Default)]
pub(super) struct StreamOutput {
    /// Content-less chunks of the current attempt, waiting for its first content chunk.
    pub(super) held: Vec<ChatCompletionChunk>,
    /// Released chunks the caller has not taken yet.
    pub(super) ready: VecDeque<ChatCompletionChunk>,
    /// Every released chunk, folded.
    pub(super) accumulator: ChunkAccumulator,
    /// Content was released: the call is bound to the current attempt.
    pub(super) committed: bool,
}

impl StreamOutput {
    pub(super) fn push(&mut self, chunk: ChatCompletionChunk) {
        if !self.committed && !chunk.has_content() {
            self.held.push(chunk);
            return;
        }
        self.committed = true;
        self.release_held();
        self.accumulator.push(&chunk);
        self.ready.push_back(chunk);
    }

    pub(super) fn release_held(&mut self) {
        for chunk in self.held.drain(..) {
            self.accumulator.push(&chunk);
            self.ready.push_back(chunk);
        }
    }
}
