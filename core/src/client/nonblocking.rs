//! The drive loop for async transports, written once: [`AsyncDriver`] is what a transport
//! implements, [`AsyncCall`] runs a call on it. No runtime is named here: the driver's
//! futures are the runtime's (tokio's timers and sockets in `onellm-tokio`).

use std::future::Future;
use std::mem;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::blocking::{no_store, timed_out_or_failed};
use super::engine::{CallOutput, TypedCall};
use super::event::CallEvent;
use super::Step;
use crate::call::{Action, AttemptId, Outgoing};
use crate::error::{Error, ErrorKind};
use crate::store::{StoreOp, StoreReply};

/// What an async transport does for a call: start a request, await its head and body pieces
/// by a deadline, sleep, and tell the time. See the [module docs](super) for the contract.
pub trait AsyncDriver: Send + Sync {
    /// One request on the wire and its response.
    type Exchange: AsyncExchange;

    /// The monotonic time (`Instant::now()`).
    fn now(&self) -> Instant;

    /// Completes at `until`.
    fn sleep_until(&self, until: Instant) -> impl Future<Output = ()> + Send;

    /// Starts sending `request` (it may go out when the exchange is first awaited). Never
    /// follows a redirect; an error status is a response like any other.
    fn send(&self, request: http::Request<Bytes>, outgoing: &Outgoing) -> Self::Exchange;

    /// Runs `op` on the client's shared store ([`Engine::store`](super::Engine::store)) and
    /// returns its reply, bounded by the store's timeout (then an error). Only called for a
    /// client whose engine has a store; the default says there is none.
    fn store(&self, op: StoreOp) -> impl Future<Output = Result<StoreReply, Error>> + Send {
        let error = no_store(&op);
        async move { Err(error) }
    }

    /// Runs `ops` on the shared store, in order, without anyone awaiting them: for a call
    /// dropped before its drive loop ran them ([`TypedCall::ops_on_drop`]: reports, and the
    /// release of a slot still held). A transport spawns them on its runtime; the default
    /// drops them (a slot then lapses with its key's expiry).
    ///
    /// [`TypedCall::ops_on_drop`]: super::TypedCall::ops_on_drop
    fn store_detached(&self, ops: Vec<StoreOp>) {
        let _ = ops;
    }
}

/// One request of an [`AsyncDriver`] and its response. Dropping it mid-way closes the
/// connection. Errors may quote anything: the core scrubs them of the request's secrets.
pub trait AsyncExchange: Send {
    /// Awaits the response head until `deadline` (then an error of kind `Timeout`).
    fn head(
        &mut self,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<(StatusCode, HeaderMap), Error>> + Send;

    /// Awaits the next piece of the body until `deadline` (then an error of kind
    /// `Timeout`); `None` at its end.
    fn next_piece(
        &mut self,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<Option<Bytes>, Error>> + Send;

    /// The core needs no more of this body: read what is left (bounded) so the connection
    /// can be reused, or close it.
    fn finish(self) -> impl Future<Output = ()> + Send;
}

/// The current attempt on the wire.
struct Open<E> {
    attempt: AttemptId,
    exchange: E,
    /// Whether the head arrived (then `Receive` means the next body piece).
    head: bool,
}

/// One call running on an [`AsyncDriver`].
///
/// Cancellation is by drop: dropping the future of [`step`](Self::step) (or the whole call)
/// drops the exchange, which closes a connection whose response was not read to the end.
pub struct AsyncCall<D: AsyncDriver, T: CallOutput> {
    driver: D,
    call: TypedCall<T>,
    open: Option<Open<D::Exchange>>,
}

impl<D: AsyncDriver, T: CallOutput> AsyncCall<D, T> {
    /// Prepares `call` to run on `driver`; nothing is sent before [`step`](Self::step).
    pub fn new(driver: D, call: TypedCall<T>) -> Self {
        AsyncCall {
            driver,
            call,
            open: None,
        }
    }

    /// Runs the whole call and returns its output (chunks of a stream are folded into it).
    pub async fn run(mut self) -> Result<T, Error> {
        loop {
            match self.step().await {
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
    pub async fn step(&mut self) -> Step<T> {
        // The call's events and attempt spans nest in its span, entered only while this
        // step is polled.
        #[cfg(feature = "tracing")]
        {
            use tracing::Instrument as _;
            let span = self.call.span().clone();
            self.step_inside().instrument(span).await
        }
        #[cfg(not(feature = "tracing"))]
        self.step_inside().await
    }

    async fn step_inside(&mut self) -> Step<T> {
        loop {
            if let Some(item) = self.call.poll_item() {
                return Step::Chunk(item);
            }
            let now = self.driver.now();
            if let Some(op) = self.call.poll_store(now) {
                let reply = self.driver.store(op).await;
                self.call.handle_store(reply, self.driver.now());
                continue;
            }
            match self.call.poll(now) {
                Action::Send(outgoing) => self.send(outgoing),
                Action::Receive { attempt, deadline } => self.receive(attempt, deadline).await,
                // The store's admission is queued: `poll_store` runs it first.
                Action::Admit { .. } => continue,
                Action::Wait(until) => {
                    self.open = None;
                    let wait = self.call.call().pending_wait().unwrap_or_default();
                    self.call.emit(|call| CallEvent::waiting(call, wait));
                    self.driver.sleep_until(until).await;
                }
                Action::Done(output) => {
                    if let Some(open) = self.open.take() {
                        open.exchange.finish().await;
                    }
                    self.call.emit(|call| CallEvent::finished(call, None));
                    let output = self.call.output(output);
                    self.finish_store().await;
                    return Step::Done(output);
                }
                Action::Failed(error) => {
                    self.open = None;
                    self.call
                        .emit(|call| CallEvent::finished(call, Some(&error)));
                    self.finish_store().await;
                    return Step::Done(Err(error));
                }
            }
        }
    }

    /// Runs the store operations a finished call still has (what its last attempt did).
    async fn finish_store(&mut self) {
        let now = self.driver.now();
        while let Some(op) = self.call.poll_store(now) {
            let reply = self.driver.store(op).await;
            self.call.handle_store(reply, self.driver.now());
        }
    }

    /// Starts one attempt's request. Its deadline is also in every `Receive` deadline the
    /// core gives while the attempt runs, so it is enforced there, with the stricter
    /// first-byte and idle limits of streams.
    fn send(&mut self, mut outgoing: Outgoing) {
        self.call.emit(|call| CallEvent::sending(call, &outgoing));
        let request = mem::take(&mut outgoing.request);
        // Replacing a previous attempt's exchange drops it, which closes its connection.
        self.open = Some(Open {
            attempt: outgoing.attempt,
            exchange: self.driver.send(request, &outgoing),
            head: false,
        });
    }

    /// Awaits what happens next to the attempt (its head, the next piece of its body, its
    /// end, a failure, or the deadline) and feeds it in.
    async fn receive(&mut self, attempt: AttemptId, deadline: Option<Instant>) {
        let Some(open) = self.open.as_mut().filter(|open| open.attempt == attempt) else {
            // The core asked about a request it never had sent: report rather than hang.
            let error = Error::new(ErrorKind::Connection, "no request in flight");
            let now = self.driver.now();
            self.call
                .call_mut()
                .handle_transport_error(attempt, error, now);
            return;
        };
        if !open.head {
            let head = open.exchange.head(deadline).await;
            let now = self.driver.now();
            let call = self.call.call_mut();
            match head {
                Ok((status, headers)) => {
                    open.head = true;
                    call.handle_head(attempt, status, headers, now);
                }
                Err(error) => {
                    self.open = None;
                    timed_out_or_failed(call, attempt, deadline, error, now);
                }
            }
            return;
        }
        let piece = open.exchange.next_piece(deadline).await;
        let now = self.driver.now();
        let call = self.call.call_mut();
        match piece {
            Ok(Some(bytes)) => call.handle_body(attempt, &bytes, now),
            Ok(None) => {
                self.open = None;
                call.handle_eof(attempt, now);
            }
            Err(error) => {
                self.open = None;
                timed_out_or_failed(call, attempt, deadline, error, now);
            }
        }
    }
}

impl<D: AsyncDriver, T: CallOutput> Drop for AsyncCall<D, T> {
    fn drop(&mut self) {
        if !self.call.call().is_terminal() {
            self.call.emit(CallEvent::cancelled);
        }
        let ops = self.call.ops_on_drop(self.driver.now());
        if !ops.is_empty() {
            self.driver.store_detached(ops);
        }
    }
}
