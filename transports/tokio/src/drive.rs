//! The async drive loop: runs a [`Call`] by doing what its [`Action`]s say.
//!
//! All protocol decisions (which model, when to retry, how long to wait, what a byte means)
//! are the core's; this loop only moves bytes, reads the clock and sleeps. Every wait is
//! bounded by a deadline the core chose: `tokio::time::timeout_at` for sending and reading,
//! `tokio::time::sleep_until` for backoff.
//!
//! Cancellation is by drop. Dropping the future of [`Driver::step`] drops hyper's response
//! future or body, and hyper closes a connection whose response was not read to the end
//! instead of returning it to the pool. (After a success the rest of a body is read in the
//! background instead, so the connection is kept: see [`Exchange::finish`].)

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderValue;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as _, Incoming};

use hyper_util::client::legacy::ResponseFuture;
use onellm_core::call::{log, Action, AttemptId, Call, Outgoing, Output};
use onellm_core::{ChatCompletionChunk, Error, ErrorKind};

use crate::connector::HttpSend;

/// The most bytes of a *streamed* body handed to the core at once. The core decodes every
/// chunk in what it is given and holds them until the caller takes them, so this bounds
/// what an open stream keeps decoded: with 16 KiB (~78 chunks of a typical stream) 1,000
/// open streams took 131 KB more each than bare hyper-util holding the same responses,
/// with 1 KiB 6 KB more (memory bench). Slicing hyper's frames costs no copy. A whole
/// (non-streamed) body is handed over frame by frame: nothing is decoded before its end.
const STREAM_PIECE: usize = 1024;

/// Sent unless the provider adapter or the user's headers set another.
const USER_AGENT: &str = concat!("onellm-tokio/", env!("CARGO_PKG_VERSION"));

/// The most bytes, and the longest time, spent reading the rest of a body after the core
/// is done with it, to keep its connection for reuse.
const DRAIN_LIMIT: usize = 64 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(1);
/// The longest a finished call's caller waits for the rest of its body before leaving it to
/// a background task (the blocking transport waits the same).
const FINISH_WAIT: Duration = Duration::from_millis(50);

/// What one [`Driver::step`] produced.
pub(crate) enum Step {
    /// A streamed chunk for the caller.
    Chunk(ChatCompletionChunk),
    /// The call succeeded.
    Done(Output),
    /// The call failed for good.
    Failed(Error),
}

/// A call in progress: the core's state machine plus the current attempt's exchange.
pub(crate) struct Driver {
    call: Call,
    http: Arc<dyn HttpSend>,
    exchange: Option<Exchange>,
}

/// The current attempt on the wire.
struct Exchange {
    attempt: AttemptId,
    /// The response is a stream: its body goes to the core in [`STREAM_PIECE`] slices.
    stream: bool,
    state: ExchangeState,
}

enum ExchangeState {
    /// Sent (or about to be: hyper's future connects and writes when first polled); waiting
    /// for the response head.
    Head(ResponseFuture),
    /// Reading the body, with the part of hyper's last frame the core has not had yet.
    Body { incoming: Incoming, pending: Bytes },
}

impl Driver {
    pub(crate) fn new(call: Call, http: Arc<dyn HttpSend>) -> Self {
        Driver {
            call,
            http,
            exchange: None,
        }
    }

    /// Runs the call until it has a chunk for the caller, succeeded or failed. After `Done`
    /// or `Failed` it must not be called again.
    pub(crate) async fn step(&mut self) -> Step {
        loop {
            if let Some(chunk) = self.call.poll_chunk() {
                return Step::Chunk(chunk);
            }
            match self.call.poll(Instant::now()) {
                Action::Send(outgoing) => self.send(outgoing),
                Action::Receive { attempt, deadline } => self.receive(attempt, deadline).await,
                Action::Wait(until) => {
                    self.exchange = None;
                    log::waiting(&self.call, until.saturating_duration_since(Instant::now()));
                    tokio::time::sleep_until(until.into()).await;
                }
                Action::Done(output) => {
                    if let Some(exchange) = self.exchange.take() {
                        exchange.finish().await;
                    }
                    log::finished(&self.call, None);
                    return Step::Done(output);
                }
                Action::Failed(error) => {
                    self.exchange = None;
                    log::finished(&self.call, Some(&error));
                    return Step::Failed(error);
                }
            }
        }
    }

    /// Starts one attempt's request. Its deadline (`outgoing.deadline`) is also in every
    /// `Receive` deadline the core gives while the attempt runs, so it is enforced there,
    /// together with the stricter first-byte timeout of streams.
    fn send(&mut self, outgoing: Outgoing) {
        log::sending(&self.call, &outgoing);
        let mut request = outgoing.request.map(Full::new);
        request
            .headers_mut()
            .entry(http::header::USER_AGENT)
            .or_insert(HeaderValue::from_static(USER_AGENT));
        // Replacing a previous attempt's exchange drops it, which closes its connection.
        self.exchange = Some(Exchange {
            attempt: outgoing.attempt,
            stream: outgoing.stream,
            state: ExchangeState::Head(self.http.send(request)),
        });
    }

    /// Waits for what happens next to the attempt (its head, the next piece of its body,
    /// of at most [`STREAM_PIECE`] bytes for a stream, its end, a failure, or the deadline)
    /// and feeds it in.
    async fn receive(&mut self, attempt: AttemptId, deadline: Option<Instant>) {
        let Some(exchange) = self.exchange.as_mut().filter(|e| e.attempt == attempt) else {
            // The core asked about a request it never had sent: report rather than hang.
            let error = Error::new(ErrorKind::Connection, "no request in flight");
            self.call
                .handle_transport_error(attempt, error, Instant::now());
            return;
        };
        match &mut exchange.state {
            ExchangeState::Head(response) => {
                let response = within(deadline, response).await;
                let now = Instant::now();
                match response {
                    Some(Ok(response)) => {
                        let (head, incoming) = response.into_parts();
                        exchange.state = ExchangeState::Body {
                            incoming,
                            pending: Bytes::new(),
                        };
                        self.call
                            .handle_head(attempt, head.status, head.headers, now);
                    }
                    Some(Err(error)) => {
                        self.exchange = None;
                        let error = transport_error(&error);
                        self.call.handle_transport_error(attempt, error, now);
                    }
                    None => {
                        self.exchange = None;
                        self.call.handle_timeout(attempt, now);
                    }
                }
            }
            ExchangeState::Body { incoming, pending } => {
                if pending.is_empty() {
                    let frame = within(deadline, incoming.frame()).await;
                    let now = Instant::now();
                    match frame {
                        Some(Some(Ok(frame))) => {
                            // Trailers carry nothing the core reads.
                            if let Ok(data) = frame.into_data() {
                                *pending = data;
                            }
                        }
                        Some(None) => {
                            self.exchange = None;
                            self.call.handle_eof(attempt, now);
                            return;
                        }
                        Some(Some(Err(error))) => {
                            self.exchange = None;
                            let error = transport_error(&error);
                            self.call.handle_transport_error(attempt, error, now);
                            return;
                        }
                        None => {
                            self.exchange = None;
                            self.call.handle_timeout(attempt, now);
                            return;
                        }
                    }
                }
                if !pending.is_empty() {
                    let size = if exchange.stream {
                        STREAM_PIECE
                    } else {
                        pending.len()
                    };
                    let piece = pending.split_to(pending.len().min(size));
                    self.call.handle_body(attempt, &piece, Instant::now());
                }
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        log::dropped(&self.call);
    }
}

impl Exchange {
    /// Reads what is left of a body the core no longer needs (a stream's bytes after its
    /// terminal marker, usually just the end of the chunked encoding): a connection whose
    /// body was read to the end goes back to the pool, one dropped mid-body is closed. The
    /// caller waits at most [`FINISH_WAIT`] (normally the end is already there, so the
    /// connection is pooled before the caller's next request); a slower end is read by a
    /// background task. Bounded in bytes and time.
    async fn finish(self) {
        let ExchangeState::Body { mut incoming, .. } = self.state else {
            return;
        };
        if incoming.is_end_stream() {
            return;
        }
        let mut drain = Box::pin(async move {
            let mut left = DRAIN_LIMIT;
            let read = async {
                while let Some(Ok(frame)) = incoming.frame().await {
                    let len = frame.data_ref().map_or(0, Bytes::len);
                    match left.checked_sub(len) {
                        Some(rest) => left = rest,
                        None => return,
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIME, read).await;
        });
        if tokio::time::timeout(FINISH_WAIT, &mut drain).await.is_err() {
            tokio::spawn(drain);
        }
    }
}

/// Runs `future` until `deadline`; `None` if the deadline passed first.
async fn within<F: Future>(deadline: Option<Instant>, future: F) -> Option<F::Output> {
    match deadline {
        None => Some(future.await),
        Some(deadline) => tokio::time::timeout_at(deadline.into(), future).await.ok(),
    }
}

/// The core's view of an I/O failure: `Timeout` when the connect timeout fired, otherwise
/// `Connection`, with the error chain as the message (hyper's messages hold no headers, so
/// no keys).
fn transport_error(error: &(dyn std::error::Error + 'static)) -> Error {
    let mut message = error.to_string();
    let mut kind = ErrorKind::Connection;
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                kind = ErrorKind::Timeout;
            }
        }
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::new(kind, message)
}
