//! [`CallStream`]: a streamed call as a blocking iterator — a chat completion's chunks
//! ([`ChatStream`]) or a Responses API reply's events ([`ResponseStream`]).

use std::fmt;
use std::iter::FusedIterator;

use onellm_core::client::{BlockingCall, CallOutput, Step};
use onellm_core::{ChatCompletion, Error, ErrorKind, Response};

use crate::Client;

/// The chunks of a streamed chat completion, from [`Client::chat_stream`].
///
/// Each `next` blocks until the next chunk arrives (retrying or falling back first, if the
/// call fails before any content was delivered). A failure is the last item. Once the
/// iterator returned `None` after a success, [`completion`](CallStream::completion) holds
/// the accumulated completion — what the non-streaming call would have returned.
///
/// Dropping the stream before its end cancels the call: the connection is closed, not
/// returned to the pool.
pub type ChatStream = CallStream<ChatCompletion>;

/// The events of a streamed Responses API reply, from [`Client::responses_stream`]: the
/// same iterator as [`ChatStream`], yielding [`ResponseStreamEvent`](onellm_core::ResponseStreamEvent)s;
/// afterwards [`response`](CallStream::response) holds the response they built.
pub type ResponseStream = CallStream<Response>;

/// A streamed call: its items (`T::Item`) as they arrive, then its output `T`. See
/// [`ChatStream`] and [`ResponseStream`].
pub struct CallStream<T: CallOutput> {
    /// `None` once the stream ended, successfully or not.
    call: Option<Box<BlockingCall<Client, T>>>,
    output: Option<T>,
}

impl<T: CallOutput> CallStream<T> {
    pub(crate) fn new(call: BlockingCall<Client, T>) -> Self {
        CallStream {
            call: Some(Box::new(call)),
            output: None,
        }
    }

    /// Consumes the rest of the stream and returns what it built.
    fn into_output(mut self) -> Result<T, Error> {
        for item in &mut self {
            item?;
        }
        self.output
            .ok_or_else(|| Error::new(ErrorKind::Decode, "the stream ended without its output"))
    }
}

impl ChatStream {
    /// The accumulated completion, once the stream ended successfully; `None` while it
    /// runs or after a failure (see [`Error::partial_completion`] there).
    pub fn completion(&self) -> Option<&ChatCompletion> {
        self.output.as_ref()
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
    pub fn into_completion(self) -> Result<ChatCompletion, Error> {
        self.into_output()
    }
}

impl ResponseStream {
    /// The response the events built, once the stream ended successfully; `None` while it
    /// runs or after a failure (see [`Error::partial_response`] there).
    pub fn response(&self) -> Option<&Response> {
        self.output.as_ref()
    }

    /// Consumes the rest of the stream and returns the response.
    pub fn into_response(self) -> Result<Response, Error> {
        self.into_output()
    }
}

impl<T: CallOutput> Iterator for CallStream<T> {
    type Item = Result<T::Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.call.as_mut()?.step() {
            Step::Chunk(item) => Some(Ok(item)),
            Step::Done(output) => {
                // The call is over: release its connection now, not when the stream is
                // dropped.
                self.call = None;
                match output {
                    Ok(output) => {
                        self.output = Some(output);
                        None
                    }
                    Err(error) => Some(Err(error)),
                }
            }
        }
    }
}

impl<T: CallOutput> FusedIterator for CallStream<T> {}

impl<T: CallOutput> fmt::Debug for CallStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallStream")
            .field("running", &self.call.is_some())
            .finish_non_exhaustive()
    }
}
