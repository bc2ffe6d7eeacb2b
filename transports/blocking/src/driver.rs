//! The drive loop: a [`Call`] decides, this module does what it says on the calling thread.
//!
//! All retry, fallback, deadline and parsing logic lives in the core's `Call`; here we only
//! send requests, read bodies in pieces, sleep, read the clock, and log each decision.

use std::sync::Arc;
use std::time::Instant;

use onellm_core::call::{log, Action, AttemptId, Call, Outgoing, Output};
use onellm_core::{ChatCompletionChunk, Error, ErrorKind};
use ureq::BodyReader;

use crate::client::Inner;
use crate::exchange::{self, Limits, PIECE};

/// What the loop hands its caller.
pub(crate) enum Event {
    /// A streamed chunk, to be yielded before anything else happens.
    Chunk(ChatCompletionChunk),
    /// The call succeeded.
    Done(Output),
    /// The call failed for good.
    Failed(Error),
}

/// A response body being received for one attempt.
struct OpenBody {
    attempt: AttemptId,
    reader: BodyReader<'static>,
    /// The `content-length` the response declared, if any.
    length: Option<usize>,
}

/// One call in progress: the core's state machine plus the I/O it asked for.
///
/// Dropping it mid-body drops the ureq body reader, which closes the connection instead of
/// returning a half-read one to the pool: that is how a dropped stream cancels.
pub(crate) struct Driver {
    client: Arc<Inner>,
    call: Call,
    body: Option<OpenBody>,
    /// The read buffer, allocated at the first read.
    buf: Vec<u8>,
}

impl Driver {
    pub(crate) fn new(client: Arc<Inner>, call: Call) -> Self {
        Driver {
            client,
            call,
            body: None,
            buf: Vec::new(),
        }
    }

    /// Runs the call until it has something for the caller.
    pub(crate) fn next_event(&mut self) -> Event {
        loop {
            if let Some(chunk) = self.call.poll_chunk() {
                return Event::Chunk(chunk);
            }
            let now = Instant::now();
            match self.call.poll(now) {
                Action::Send(outgoing) => self.send(outgoing, now),
                Action::Receive { attempt, deadline } => self.receive(attempt, deadline, now),
                Action::Wait(until) => self.wait(until, now),
                Action::Done(output) => {
                    self.finish_body();
                    log::finished(&self.call, None);
                    return Event::Done(output);
                }
                Action::Failed(error) => {
                    self.body = None;
                    log::finished(&self.call, Some(&error));
                    return Event::Failed(error);
                }
            }
        }
    }

    /// Hands the rest of a finished body to the client's [`Drainer`](crate::drain::Drainer),
    /// so its connection is pooled.
    fn finish_body(&mut self) {
        if let Some(body) = self.body.take() {
            self.client.drainer.finish(body.reader);
        }
    }

    fn send(&mut self, outgoing: Outgoing, now: Instant) {
        // A new attempt: whatever was left of the previous body is abandoned (and its
        // connection closed, since it was not read to the end).
        self.body = None;
        log::sending(&self.call, &outgoing);
        let options = &self.client.options;
        let limits = Limits {
            deadline: outgoing.deadline,
            connect: self.client.connect_timeout,
            first_byte: if outgoing.stream {
                options.first_byte_timeout
            } else {
                None
            },
            per_read: if outgoing.stream {
                options.idle_timeout
            } else {
                None
            },
        };
        let attempt = outgoing.attempt;
        match exchange::send(&self.client.agent, outgoing.request, limits, now) {
            Ok(head) => {
                let now = Instant::now();
                let length = head
                    .headers
                    .get(http::header::CONTENT_LENGTH)
                    .and_then(|value| value.to_str().ok()?.parse().ok());
                self.call
                    .handle_head(attempt, head.status, head.headers, now);
                self.body = Some(OpenBody {
                    attempt,
                    reader: head.body,
                    length,
                });
            }
            Err(error) => {
                self.call
                    .handle_transport_error(attempt, error, Instant::now());
            }
        }
    }

    fn receive(&mut self, attempt: AttemptId, deadline: Option<Instant>, now: Instant) {
        if deadline.is_some_and(|deadline| now >= deadline) {
            self.body = None;
            self.call.handle_timeout(attempt, now);
            return;
        }
        let Some(body) = self.body.as_mut().filter(|body| body.attempt == attempt) else {
            // The core asked for a body we do not have: report it rather than spin.
            let error = Error::new(ErrorKind::Connection, "no response body to read");
            self.call.handle_transport_error(attempt, error, now);
            return;
        };
        // A body of known length needs a buffer of that size at most (plus one byte, so the
        // read that finds the end needs no second call): zeroing a 16 KiB buffer for a
        // 700-byte reply was a fifth of a small call's instructions.
        let wanted = body
            .length
            .map_or(PIECE, |length| length.saturating_add(1).min(PIECE));
        if self.buf.len() < wanted {
            self.buf.resize(wanted, 0);
        }
        let read = exchange::read_piece(&mut body.reader, &mut self.buf);
        let now = Instant::now();
        match read {
            Ok(0) => {
                // End of body: the connection has gone back to the pool.
                self.body = None;
                self.call.handle_eof(attempt, now);
            }
            Ok(n) => {
                let piece = self.buf.get(..n).unwrap_or_default();
                self.call.handle_body(attempt, piece, now);
            }
            Err(error) => {
                self.body = None;
                if error.kind() == ErrorKind::Timeout
                    && deadline.is_some_and(|deadline| now >= deadline)
                {
                    self.call.handle_timeout(attempt, now);
                } else {
                    self.call.handle_transport_error(attempt, error, now);
                }
            }
        }
    }

    fn wait(&mut self, until: Instant, now: Instant) {
        let wait = until.saturating_duration_since(now);
        log::waiting(&self.call, wait);
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        log::dropped(&self.call);
    }
}
