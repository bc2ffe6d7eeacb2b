//! Scripted replies and faults.

use std::time::Duration;

/// What the fake provider answers to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub(crate) body: ReplyBody,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) slow_headers: Duration,
    pub(crate) slow_body: Duration,
    pub(crate) usage: (u64, u64),
    pub(crate) reasoning: Option<String>,
    pub(crate) fault: Option<Fault>,
    /// Send the body gzip-encoded (`content-encoding: gzip`); a stream is compressed as it
    /// goes, flushed after every event.
    pub(crate) gzip: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReplyBody {
    Text(String),
    Echo,
    ToolCall { name: String, arguments: String },
    Status { status: u16, body: Option<String> },
    StreamException { code: String, message: String },
}

/// Ways a provider or the network can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Close the connection after reading the request, before any response byte.
    ResetBeforeHeaders,
    /// Send a 200 head, then close before the body.
    ResetAfterHeaders,
    /// Send half of the (streamed or whole) body, then close without finishing it.
    ResetMidStream,
    /// Finish the HTTP body cleanly but leave out the protocol's terminal marker
    /// (`[DONE]`, `message_stop`); a whole body is cut in half.
    Truncated,
    /// A 200 whose JSON (or stream event) is malformed.
    MalformedJson,
    /// A 200 whose body is this many bytes long.
    Oversized(usize),
    /// Read the request and never answer (until the server stops, at most 60 s).
    Hang,
}

impl Reply {
    /// Whether the reply is a successful answer (not an error status or stream exception).
    pub(crate) fn is_answer(&self) -> bool {
        !matches!(
            self.body,
            ReplyBody::Status { .. } | ReplyBody::StreamException { .. }
        )
    }

    fn new(body: ReplyBody) -> Self {
        Reply {
            body,
            headers: Vec::new(),
            slow_headers: Duration::ZERO,
            slow_body: Duration::ZERO,
            usage: (10, 5),
            reasoning: None,
            fault: None,
            gzip: false,
        }
    }

    /// Sends the body gzip-encoded, as a server does for a client that advertised it (a
    /// stream compressed incrementally, flushed after every event).
    pub fn gzip(mut self) -> Self {
        self.gzip = true;
        self
    }

    /// Reply with this text.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(ReplyBody::Text(text.into()))
    }

    /// Reply with the text of the last user message (the default when nothing is queued).
    pub fn echo() -> Self {
        Self::new(ReplyBody::Echo)
    }

    /// Reply with one tool call.
    pub fn tool_call(name: impl Into<String>, arguments: impl Into<String>) -> Self {
        Self::new(ReplyBody::ToolCall {
            name: name.into(),
            arguments: arguments.into(),
        })
    }

    /// Reply with an HTTP error status; the body is the route's usual error JSON unless
    /// [`Reply::body`] sets one.
    pub fn status(status: u16) -> Self {
        Self::new(ReplyBody::Status { status, body: None })
    }

    /// A 200 stream that fails before any content with the route's in-stream error (a
    /// Bedrock exception frame of type `code`, an Anthropic `event: error`, …).
    pub fn stream_exception(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ReplyBody::StreamException {
            code: code.into(),
            message: message.into(),
        })
    }

    /// Fail in the given way (while echoing the prompt, for faults that send some content).
    pub fn fault(fault: Fault) -> Self {
        Self::echo().with_fault(fault)
    }

    /// Sends this reply but fails in the given way, e.g. text cut off mid-stream.
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// Sets the body of a [`Reply::status`] reply.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        if let ReplyBody::Status { body: slot, .. } = &mut self.body {
            *slot = Some(body.into());
        }
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Waits this long before sending the response head.
    pub fn slow_headers(mut self, delay: Duration) -> Self {
        self.slow_headers = delay;
        self
    }

    /// Waits this long between streamed events (or body halves).
    pub fn slow_body(mut self, delay: Duration) -> Self {
        self.slow_body = delay;
        self
    }

    /// Sets the usage reported (prompt, completion tokens).
    pub fn usage(mut self, prompt_tokens: u64, completion_tokens: u64) -> Self {
        self.usage = (prompt_tokens, completion_tokens);
        self
    }

    /// Adds reasoning text (OpenAI-family `reasoning_content`, Anthropic thinking block).
    pub fn reasoning(mut self, text: impl Into<String>) -> Self {
        self.reasoning = Some(text.into());
        self
    }
}
