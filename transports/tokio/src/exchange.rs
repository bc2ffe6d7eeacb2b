//! One HTTP exchange on hyper: the [`AsyncExchange`] the core's drive loop awaits.
//!
//! Every wait is bounded by the deadline the core chose (`tokio::time::timeout_at`), and a
//! deadline that passes is reported as a `Timeout` error, which the loop turns into the
//! core's own timeout (naming the limit that ran out).
//!
//! Cancellation is by drop: dropping the exchange drops hyper's response future or body,
//! and hyper closes a connection whose response was not read to the end instead of returning
//! it to the pool. (After a success the rest of a body is read in the background instead, so
//! the connection is kept: see [`HyperExchange::finish`].)

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};
use hyper_util::client::legacy::ResponseFuture;
use onellm_core::client::AsyncExchange;
use onellm_core::{Error, ErrorKind};

use crate::gunzip::Gunzip;

/// The most bytes of a *streamed* body handed to the core at once. The core decodes every
/// chunk in what it is given and holds them until the caller takes them, so this bounds
/// what an open stream keeps decoded: with 16 KiB (~78 chunks of a typical stream) 1,000
/// open streams took 131 KB more each than bare hyper-util holding the same responses,
/// with 1 KiB 6 KB more (memory bench). Slicing hyper's frames costs no copy. A whole
/// (non-streamed) body is handed over frame by frame: nothing is decoded before its end.
const STREAM_PIECE: usize = 1024;

/// The most bytes, and the longest time, spent reading the rest of a body after the core
/// is done with it, to keep its connection for reuse.
const DRAIN_LIMIT: usize = 64 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(1);
/// The longest a finished call's caller waits for the rest of its body before leaving it to
/// a background task (the blocking transport waits the same).
const FINISH_WAIT: Duration = Duration::from_millis(50);

/// The current attempt on the wire.
pub struct HyperExchange {
    /// The response is a stream: its body goes to the core in [`STREAM_PIECE`] slices.
    stream: bool,
    state: State,
}

enum State {
    /// Sent (or about to be: hyper's future connects and writes when first polled); waiting
    /// for the response head.
    Head(ResponseFuture),
    /// Reading the body, with the part of hyper's last frame the core has not had yet
    /// (decompressed, for a gzip-encoded body).
    Body {
        incoming: Incoming,
        pending: Bytes,
        gunzip: Option<Box<Gunzip>>,
    },
    /// The head future failed or the body ended.
    Over,
}

impl HyperExchange {
    pub(crate) fn new(response: ResponseFuture, stream: bool) -> Self {
        HyperExchange {
            stream,
            state: State::Head(response),
        }
    }
}

impl AsyncExchange for HyperExchange {
    async fn head(&mut self, deadline: Option<Instant>) -> Result<(StatusCode, HeaderMap), Error> {
        let State::Head(response) = &mut self.state else {
            return Err(Error::new(
                ErrorKind::Connection,
                "no response head awaited",
            ));
        };
        let response = within(deadline, response).await;
        match response {
            Some(Ok(response)) => {
                let (mut head, incoming) = response.into_parts();
                // A gzip body reaches the core decompressed: its length and encoding no
                // longer describe what the core reads.
                let gunzip = Gunzip::applies(&head.headers).then(|| {
                    head.headers.remove(http::header::CONTENT_ENCODING);
                    head.headers.remove(http::header::CONTENT_LENGTH);
                    Box::new(Gunzip::new())
                });
                self.state = State::Body {
                    incoming,
                    pending: Bytes::new(),
                    gunzip,
                };
                Ok((head.status, head.headers))
            }
            Some(Err(error)) => {
                self.state = State::Over;
                Err(transport_error(&error))
            }
            None => Err(deadline_passed()),
        }
    }

    async fn next_piece(&mut self, deadline: Option<Instant>) -> Result<Option<Bytes>, Error> {
        let State::Body {
            incoming,
            pending,
            gunzip,
        } = &mut self.state
        else {
            return Ok(None);
        };
        while pending.is_empty() {
            if let Some(gunzip) = gunzip {
                match gunzip.next() {
                    Ok(Some(decoded)) => {
                        *pending = decoded;
                        break;
                    }
                    Ok(None) => {}
                    Err(error) => {
                        self.state = State::Over;
                        return Err(error);
                    }
                }
            }
            match within(deadline, incoming.frame()).await {
                // Trailers carry nothing the core reads.
                Some(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        match gunzip {
                            Some(gunzip) => gunzip.push(data),
                            None => *pending = data,
                        }
                    }
                }
                Some(None) => {
                    let rest = gunzip.as_mut().map(|gunzip| gunzip.finish());
                    match rest {
                        Some(Ok(Some(decoded))) => {
                            *pending = decoded;
                            break;
                        }
                        Some(Err(error)) => {
                            self.state = State::Over;
                            return Err(error);
                        }
                        Some(Ok(None)) | None => {}
                    }
                    self.state = State::Over;
                    return Ok(None);
                }
                Some(Some(Err(error))) => {
                    self.state = State::Over;
                    return Err(transport_error(&error));
                }
                None => return Err(deadline_passed()),
            }
        }
        let size = if self.stream {
            STREAM_PIECE
        } else {
            pending.len()
        };
        Ok(Some(pending.split_to(pending.len().min(size))))
    }

    /// Reads what is left of a body the core no longer needs (a stream's bytes after its
    /// terminal marker, usually just the end of the chunked encoding): a connection whose
    /// body was read to the end goes back to the pool, one dropped mid-body is closed. The
    /// caller waits at most [`FINISH_WAIT`] (normally the end is already there, so the
    /// connection is pooled before the caller's next request); a slower end is read by a
    /// background task. Bounded in bytes and time.
    async fn finish(self) {
        let State::Body { mut incoming, .. } = self.state else {
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

/// What a wait cut short by the core's deadline reports; the core names the limit.
fn deadline_passed() -> Error {
    Error::new(ErrorKind::Timeout, "the deadline passed")
}

/// The core's view of an I/O failure: `Timeout` when the connect timeout fired, otherwise
/// `Connection`, with the error chain as the message.
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
