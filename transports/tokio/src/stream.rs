//! [`CallStream`]: a streamed call as a `futures_core::Stream` — a chat reply's chunks
//! ([`ChatStream`]) or a Responses API reply's events ([`ResponseStream`]).

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::{FusedStream, Stream};

use onellm_core::client::{AsyncCall, CallOutput, Step};
use onellm_core::{ChatCompletion, Error, ErrorKind, Response};

use crate::Client;

/// The call a stream drives.
type Call<T> = AsyncCall<Client, T>;

/// The chunks of a streamed chat reply, from [`Client::chat_stream`](crate::Client::chat_stream).
///
/// Yields `Ok(chunk)` as they arrive, at most one `Err` (after which it ends), then `None`.
/// Once it ended without an error, [`completion`](Self::completion) holds every chunk folded
/// into the completion a non-streaming call would have returned. Dropping it early cancels
/// the call and closes the connection.
///
/// ```no_run
/// use std::io::Write;
/// use std::future::poll_fn;
/// use std::pin::Pin;
/// use futures_core::Stream;
/// use onellm_tokio::{ChatRequest, Client};
///
/// # async fn run() -> Result<(), onellm_tokio::Error> {
/// let client = Client::from_env()?;
/// let mut stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("Tell a joke"));
/// // With the `futures` crate: `while let Some(chunk) = stream.next().await`.
/// while let Some(chunk) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
///     print!("{}", chunk?.text().unwrap_or_default());
///     std::io::stdout().flush().ok();
/// }
/// let usage = stream.completion().and_then(|c| c.usage.clone());
/// # Ok(())
/// # }
/// ```
pub type ChatStream = CallStream<ChatCompletion>;

/// The events of a streamed Responses API reply, from
/// [`Client::responses_stream`](crate::Client::responses_stream): the same stream as
/// [`ChatStream`], yielding [`ResponseStreamEvent`](onellm_core::ResponseStreamEvent)s;
/// afterwards [`response`](CallStream::response) holds the response they built.
pub type ResponseStream = CallStream<Response>;

/// A streamed call: its items (`T::Item`) as they arrive, then its output `T`. See
/// [`ChatStream`] and [`ResponseStream`].
pub struct CallStream<T: CallOutput> {
    state: State<T>,
    output: Option<T>,
    /// [`without_completion`](ChatStream::without_completion) was asked while a step was
    /// running: applied when the call comes back.
    summary_only: bool,
}

// Nothing is pinned structurally: each step's future is boxed and owns the call, and the
// output is only moved out, so the stream may move whatever `T` is.
impl<T: CallOutput> Unpin for CallStream<T> {}

/// One step of the call, owning it: the call goes in and comes back out with the step.
type Stepping<T> = Pin<Box<dyn Future<Output = (Box<Call<T>>, Step<T>)> + Send>>;

/// The call is moved into one boxed future per step, and back out when it yields: a
/// `Stream` cannot hold a future that borrows from itself.
enum State<T: CallOutput> {
    Ready(Box<Call<T>>),
    Stepping(Stepping<T>),
    Finished,
}

impl<T: CallOutput + Send + 'static> CallStream<T> {
    pub(crate) fn new(call: Call<T>) -> Self {
        CallStream {
            state: State::Ready(Box::new(call)),
            output: None,
            summary_only: false,
        }
    }

    /// Consumes the rest of the stream and returns what it built.
    async fn into_output(mut self) -> Result<T, Error> {
        while let Some(item) = poll_fn(|cx| Pin::new(&mut self).poll_next(cx)).await {
            item?;
        }
        self.output
            .ok_or_else(|| Error::new(ErrorKind::Decode, "the stream ended without its output"))
    }
}

impl ChatStream {
    /// The accumulated completion, once the stream ended successfully (`None` before, and
    /// after an error).
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
    /// # async fn run(client: onellm_tokio::Client) -> Result<(), onellm_tokio::Error> {
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    /// use futures_core::Stream;
    /// use onellm_tokio::ChatRequest;
    ///
    /// let request = ChatRequest::new("openai/gpt-4o-mini").user("Write a long story");
    /// let mut stream = client.chat_stream(request).without_completion();
    /// while let Some(chunk) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
    ///     print!("{}", chunk?.text().unwrap_or_default());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use = "the stream is returned, to be read"]
    pub fn without_completion(mut self) -> Self {
        match &mut self.state {
            State::Ready(call) => call.summary_only(),
            State::Stepping(_) => self.summary_only = true,
            State::Finished => {}
        }
        self
    }

    /// Consumes the rest of the stream and returns the accumulated completion.
    ///
    /// ```no_run
    /// # async fn run(client: onellm_tokio::Client) -> Result<(), onellm_tokio::Error> {
    /// use onellm_tokio::ChatRequest;
    ///
    /// let stream = client.chat_stream(ChatRequest::new("openai/gpt-4o-mini").user("Hi"));
    /// let completion = stream.into_completion().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn into_completion(self) -> Result<ChatCompletion, Error> {
        self.into_output().await
    }
}

impl ResponseStream {
    /// The response the events built, once the stream ended successfully (`None` before,
    /// and after an error: see [`Error::partial_response`] there).
    pub fn response(&self) -> Option<&Response> {
        self.output.as_ref()
    }

    /// Consumes the rest of the stream and returns the response.
    pub async fn into_response(self) -> Result<Response, Error> {
        self.into_output().await
    }
}

impl<T: CallOutput + Send + 'static> Stream for CallStream<T> {
    type Item = Result<T::Item, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, State::Finished) {
                State::Finished => return Poll::Ready(None),
                State::Ready(mut call) => {
                    this.state = State::Stepping(Box::pin(async move {
                        let step = call.step().await;
                        (call, step)
                    }));
                }
                State::Stepping(mut step) => match step.as_mut().poll(cx) {
                    Poll::Pending => {
                        this.state = State::Stepping(step);
                        return Poll::Pending;
                    }
                    Poll::Ready((mut call, Step::Chunk(chunk))) => {
                        if std::mem::take(&mut this.summary_only) {
                            call.summary_only();
                        }
                        this.state = State::Ready(call);
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                    Poll::Ready((_, Step::Done(Ok(output)))) => {
                        this.output = Some(output);
                        return Poll::Ready(None);
                    }
                    Poll::Ready((_, Step::Done(Err(error)))) => {
                        return Poll::Ready(Some(Err(error)))
                    }
                },
            }
        }
    }
}

impl<T: CallOutput + Send + 'static> FusedStream for CallStream<T> {
    fn is_terminated(&self) -> bool {
        matches!(self.state, State::Finished)
    }
}

impl<T: CallOutput + fmt::Debug> fmt::Debug for CallStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Ready(_) => "ready",
            State::Stepping(_) => "receiving",
            State::Finished => "finished",
        };
        f.debug_struct("CallStream")
            .field("state", &state)
            .field("output", &self.output)
            .finish()
    }
}
