//! The drive loop for blocking transports, written once: [`BlockingDriver`] is what a
//! transport implements, [`BlockingCall`] runs a call on it.

use std::mem;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::engine::{CallOutput, TypedCall};
use super::event::CallEvent;
use super::Step;
use crate::call::{Action, AttemptId, Outgoing};
use crate::error::{Error, ErrorKind};
use crate::store::{StoreOp, StoreReply};

/// The most bytes one read hands to the core: small enough that a slow stream is fed as it
/// arrives, large enough that a whole response takes few reads.
const PIECE: usize = 16 * 1024;

/// What a blocking transport does for a call: send a request and wait for its head, read
/// its body in pieces, sleep, and tell the time. Everything else — which request, when,
/// what the bytes mean, what to log — is the core's. See the [module docs](super) for the
/// contract every driver keeps.
pub trait BlockingDriver {
    /// A response body still on the wire.
    type Body: BlockingBody;

    /// The monotonic time (`Instant::now()`).
    fn now(&self) -> Instant;

    /// Blocks the calling thread until `until`.
    fn sleep_until(&self, until: Instant);

    /// Sends `request` and blocks until its response head arrived, failed, or one of the
    /// limits in `outgoing` (its `deadline`, and for streams its `first_byte_timeout`)
    /// passed — then an error of kind `Timeout`. Never follows a redirect; an error status
    /// is a response like any other. Errors may quote anything: the core scrubs them of
    /// the request's secrets.
    fn send(
        &self,
        request: http::Request<Bytes>,
        outgoing: &Outgoing,
    ) -> Result<(StatusCode, HeaderMap, Self::Body), Error>;

    /// Runs `op` on the client's shared store ([`Engine::store`](super::Engine::store)) and
    /// returns its reply, bounded by the store's timeout (then an error). Only called for a
    /// client whose engine has a store; the default says there is none.
    fn store(&self, op: &StoreOp) -> Result<StoreReply, Error> {
        Err(no_store(op))
    }
}

/// The error of a driver asked to run `op` without a store.
pub(super) fn no_store(op: &StoreOp) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("this transport has no shared store to run {}", op.name()),
    )
}

/// A response body a [`BlockingDriver`] reads.
pub trait BlockingBody {
    /// Reads the next piece into `buf`; `Ok(0)` is the end of the body. Blocks at most until
    /// the limits given to [`BlockingDriver::send`] (the attempt's deadline, and for
    /// streams the idle timeout between reads) pass — then an error of kind `Timeout`.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error>;

    /// The core needs no more of this body: read what is left (bounded) so the connection
    /// can be reused, or close it. Dropping the body instead always closes the connection.
    fn finish(self);
}

/// A response body being received for one attempt.
struct OpenBody<B> {
    attempt: AttemptId,
    body: B,
    /// The `content-length` the response declared, if any.
    length: Option<usize>,
}

/// One call running on a [`BlockingDriver`], on the caller's thread.
///
/// Dropping it mid-body drops the driver's body, which closes the connection instead of
/// returning a half-read one to the pool: that is how a dropped stream cancels.
pub struct BlockingCall<D: BlockingDriver, T: CallOutput> {
    driver: D,
    call: TypedCall<T>,
    body: Option<OpenBody<D::Body>>,
    /// The read buffer, allocated at the first read.
    buf: Vec<u8>,
}

impl<D: BlockingDriver, T: CallOutput> BlockingCall<D, T> {
    /// Prepares `call` to run on `driver`; nothing is sent before [`step`](Self::step).
    pub fn new(driver: D, call: TypedCall<T>) -> Self {
        BlockingCall {
            driver,
            call,
            body: None,
            buf: Vec::new(),
        }
    }

    /// Runs the whole call and returns its output (chunks of a stream are folded into it).
    pub fn run(mut self) -> Result<T, Error> {
        loop {
            match self.step() {
                Step::Chunk(_) => continue,
                Step::Done(output) => return output,
            }
        }
    }

    /// Keeps only a summary of a stream instead of its final completion
    /// ([`TypedCall::summary_only`]).
    pub fn summary_only(&mut self) {
        self.call.summary_only();
    }

    /// Runs the call until it has something for the caller: the next streamed item (a
    /// chunk, an event), or its end. Must not be called again after [`Step::Done`].
    pub fn step(&mut self) -> Step<T> {
        // The call's events and attempt spans nest in its span.
        #[cfg(feature = "tracing")]
        let span = self.call.span().clone();
        #[cfg(feature = "tracing")]
        let _entered = span.enter();
        loop {
            if let Some(item) = self.call.poll_item() {
                return Step::Chunk(item);
            }
            let now = self.driver.now();
            if let Some(op) = self.call.poll_store(now) {
                let reply = self.driver.store(&op);
                self.call.handle_store(reply, self.driver.now());
                continue;
            }
            match self.call.poll(now) {
                Action::Send(outgoing) => self.send(outgoing),
                Action::Receive { attempt, deadline } => self.receive(attempt, deadline, now),
                // The store's admission is queued: `poll_store` runs it first.
                Action::Admit { .. } => continue,
                Action::Wait(until) => {
                    self.body = None;
                    let wait = self.call.call().pending_wait().unwrap_or_default();
                    self.call.emit(|call| CallEvent::waiting(call, wait));
                    self.driver.sleep_until(until);
                }
                Action::Done(output) => {
                    if let Some(open) = self.body.take() {
                        open.body.finish();
                    }
                    self.call.emit(|call| CallEvent::finished(call, None));
                    let output = self.call.output(output);
                    self.finish_store();
                    return Step::Done(output);
                }
                Action::Failed(error) => {
                    self.body = None;
                    self.call
                        .emit(|call| CallEvent::finished(call, Some(&error)));
                    self.finish_store();
                    return Step::Done(Err(error));
                }
            }
        }
    }

    /// Runs the store operations a finished call still has (what its last attempt did).
    fn finish_store(&mut self) {
        let now = self.driver.now();
        while let Some(op) = self.call.poll_store(now) {
            let reply = self.driver.store(&op);
            self.call.handle_store(reply, self.driver.now());
        }
    }

    fn send(&mut self, mut outgoing: Outgoing) {
        // A new attempt: whatever was left of the previous body is abandoned (and its
        // connection closed, since it was not read to the end).
        self.body = None;
        self.call.emit(|call| CallEvent::sending(call, &outgoing));
        let request = mem::take(&mut outgoing.request);
        let attempt = outgoing.attempt;
        let sent = self.driver.send(request, &outgoing);
        let now = self.driver.now();
        let call = self.call.call_mut();
        match sent {
            Ok((status, headers, body)) => {
                let length = headers
                    .get(http::header::CONTENT_LENGTH)
                    .and_then(|value| value.to_str().ok()?.parse().ok());
                call.handle_head(attempt, status, headers, now);
                self.body = Some(OpenBody {
                    attempt,
                    body,
                    length,
                });
            }
            Err(error) => timed_out_or_failed(call, attempt, outgoing.deadline, error, now),
        }
    }

    fn receive(&mut self, attempt: AttemptId, deadline: Option<Instant>, now: Instant) {
        let call = self.call.call_mut();
        if deadline.is_some_and(|deadline| now >= deadline) {
            self.body = None;
            call.handle_timeout(attempt, now);
            return;
        }
        let Some(open) = self.body.as_mut().filter(|open| open.attempt == attempt) else {
            // The core asked for a body we do not have: report it rather than spin.
            let error = Error::new(ErrorKind::Connection, "no response body to read");
            call.handle_transport_error(attempt, error, now);
            return;
        };
        // A body of known length needs a buffer of that size at most (plus one byte, so the
        // read that finds the end needs no second call): zeroing a 16 KiB buffer for a
        // 700-byte reply was a fifth of a small call's instructions.
        let wanted = open
            .length
            .map_or(PIECE, |length| length.saturating_add(1).min(PIECE));
        if self.buf.len() < wanted {
            self.buf.resize(wanted, 0);
        }
        let read = open.body.read(&mut self.buf);
        let now = self.driver.now();
        match read {
            Ok(0) => {
                // End of body: the connection has gone back to the pool.
                self.body = None;
                call.handle_eof(attempt, now);
            }
            Ok(n) => {
                let piece = self.buf.get(..n).unwrap_or_default();
                call.handle_body(attempt, piece, now);
            }
            Err(error) => {
                self.body = None;
                timed_out_or_failed(call, attempt, deadline, error, now);
            }
        }
    }
}

/// Feeds a failed send or read in: a timeout at or past the core's deadline is the core's
/// own limit (it names which one ran out); anything else is a transport failure.
pub(super) fn timed_out_or_failed(
    call: &mut crate::call::Call,
    attempt: AttemptId,
    deadline: Option<Instant>,
    error: Error,
    now: Instant,
) {
    if error.kind() == ErrorKind::Timeout && deadline.is_some_and(|deadline| now >= deadline) {
        call.handle_timeout(attempt, now);
    } else {
        call.handle_transport_error(attempt, error, now);
    }
}

impl<D: BlockingDriver, T: CallOutput> Drop for BlockingCall<D, T> {
    fn drop(&mut self) {
        if !self.call.call().is_terminal() {
            self.call.emit(CallEvent::cancelled);
        }
        // Each bounded like every store operation (50 ms by default); their answers are moot.
        for op in self.call.ops_on_drop(self.driver.now()) {
            let _ = self.driver.store(&op);
        }
    }
}
