//! [`ChatStream`]: a streamed chat completion as a blocking iterator.

use std::fmt;
use std::iter::FusedIterator;

use onellm_core::client::{BlockingCall, Step};
use onellm_core::{ChatCompletion, ChatCompletionChunk, Error, ErrorKind};

use crate::Client;

/// The chunks of a streamed chat completion, from [`Client::chat_stream`].
///
/// Each `next` blocks until the next chunk arrives (retrying or falling back first, if the
/// call fails before any content was delivered). A failure is the last item. Once the
/// iterator returned `None` after a success, [`completion`](Self::completion) holds the
/// accumulated completion — what the non-streaming call would have returned.
///
/// Dropping the stream before its end cancels the call: the connection is closed, not
/// returned to the pool.
pub struct ChatStream {
    /// `None` once the stream ended, successfully or not.
    call: Option<Box<BlockingCall<Client, ChatCompletion>>>,
    completion: Option<ChatCompletion>,
}

impl ChatStream {
    pub(crate) fn new(call: BlockingCall<Client, ChatCompletion>) -> Self {
        ChatStream {
            call: Some(Box::new(call)),
            completion: None,
        }
    }

    /// The accumulated completion, once the stream ended successfully; `None` while it
    /// runs or after a failure (see [`Error::partial_completion`] there).
    pub fn completion(&self) -> Option<&ChatCompletion> {
        self.completion.as_ref()
    }

    /// Reads the stream without building its final completion: the chunks come as before,
    /// but their text, reasoning and tool-call arguments are not kept, so memory stays flat
    /// however long the stream. [`completion`](Self::completion) then has the model, usage,
    /// cost, finish reasons, tool calls' names and the report, with empty messages; the
    /// cache stores nothing for the call.
    ///
    /// ```no_run
    /// # let client = onellm_blocking::Client::from_env()?;
    /// use onellm_blocking::ChatRequest;
    ///
    /// let request = ChatRequest::new("openai/gpt-4o-mini").user("Write a long story");
    /// for chunk in client.chat_stream(request).without_completion() {
    ///     print!("{}", chunk?.text().unwrap_or_default());
    /// }
    /// # Ok::<(), onellm_blocking::Error>(())
    /// ```
    #[must_use = "the stream is returned, to be read"]
    pub fn without_completion(mut self) -> Self {
        if let Some(call) = &mut self.call {
            call.summary_only();
        }
        self
    }

    /// Consumes the rest of the stream and returns the accumulated completion.
    ///
    /// ```no_run
    /// # let client = onellm_blocking::Client::from_env()?;
    /// use onellm_blocking::ChatRequest;
    ///
    /// let stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("Hi"));
    /// let completion = stream.into_completion()?;
    /// # Ok::<(), onellm_blocking::Error>(())
    /// ```
    pub fn into_completion(mut self) -> Result<ChatCompletion, Error> {
        for item in &mut self {
            item?;
        }
        self.completion
            .ok_or_else(|| Error::new(ErrorKind::Decode, "the stream ended without a completion"))
    }
}

impl Iterator for ChatStream {
    type Item = Result<ChatCompletionChunk, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.call.as_mut()?.step() {
            Step::Chunk(chunk) => Some(Ok(chunk)),
            Step::Done(output) => {
                // The call is over: release its connection now, not when the stream is
                // dropped.
                self.call = None;
                match output {
                    Ok(completion) => {
                        self.completion = Some(completion);
                        None
                    }
                    Err(error) => Some(Err(error)),
                }
            }
        }
    }
}

impl FusedIterator for ChatStream {}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("running", &self.call.is_some())
            .finish_non_exhaustive()
    }
}
