//! [`ChatStream`]: a streamed chat completion as a blocking iterator.

use std::fmt;
use std::iter::FusedIterator;

use onellm_core::call::Output;
use onellm_core::{ChatCompletion, ChatCompletionChunk, Error, ErrorKind};

use crate::driver::{Driver, Event};

/// The chunks of a streamed chat completion, from [`Client::chat_stream`].
///
/// Each `next` blocks until the next chunk arrives (retrying or falling back first, if the
/// call fails before any content was delivered). A failure is the last item. Once the
/// iterator returned `None` after a success, [`completion`](Self::completion) holds the
/// accumulated completion — what the non-streaming call would have returned.
///
/// Dropping the stream before its end cancels the call: the connection is closed, not
/// returned to the pool.
///
/// [`Client::chat_stream`]: crate::Client::chat_stream
pub struct ChatStream {
    /// `None` once the stream ended, successfully or not.
    driver: Option<Box<Driver>>,
    completion: Option<ChatCompletion>,
}

impl ChatStream {
    pub(crate) fn new(driver: Driver) -> Self {
        ChatStream {
            driver: Some(Box::new(driver)),
            completion: None,
        }
    }

    /// The accumulated completion, once the stream ended successfully; `None` while it
    /// runs or after a failure (see [`Error::partial_completion`] there).
    pub fn completion(&self) -> Option<&ChatCompletion> {
        self.completion.as_ref()
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
        match self.completion {
            Some(completion) => Ok(completion),
            None => Err(Error::new(
                ErrorKind::Decode,
                "the stream ended without a completion",
            )),
        }
    }
}

impl Iterator for ChatStream {
    type Item = Result<ChatCompletionChunk, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let event = self.driver.as_mut()?.next_event();
        if !matches!(event, Event::Chunk(_)) {
            // The call is over: release its connection now, not when the stream is dropped.
            self.driver = None;
        }
        match event {
            Event::Chunk(chunk) => Some(Ok(chunk)),
            Event::Done(Output::Chat(completion)) => {
                self.completion = Some(completion);
                None
            }
            Event::Done(_) => Some(Err(Error::new(
                ErrorKind::Decode,
                "the stream ended with something other than a chat completion",
            ))),
            Event::Failed(error) => Some(Err(error)),
        }
    }
}

impl FusedIterator for ChatStream {}

impl fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatStream")
            .field("running", &self.driver.is_some())
            .finish_non_exhaustive()
    }
}
