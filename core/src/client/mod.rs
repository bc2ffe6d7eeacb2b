//! The client layer, written once for every transport: the builder, the engine that starts
//! typed calls, the drive loops, and the events a call reports.
//!
//! A transport crate (`onellm-blocking`, `onellm-tokio`, or one of your own) is a *driver*:
//! it moves bytes and time. Everything above the wire lives here, pure like the rest of the
//! core:
//!
//! - [`ClientBuilder`]: every setting and its documentation, once. Each transport names it
//!   `ClientBuilder` (`onellm_blocking::ClientBuilder = ClientBuilder<Blocking>`), and its
//!   [`Transport`] impl builds the real client around an [`Engine`].
//! - [`Engine`]: owns the registry, the [model catalog](crate::catalog), the call defaults,
//!   the jitter seeds, the event observer and the [`Budget`]; completes bare model names,
//!   checks each model's context window and capabilities before sending (`preflight.rs`),
//!   refuses calls once the budget is spent, and prices every output's usage;
//!   [`Engine::chat`], [`chat_stream`](Engine::chat_stream),
//!   [`embeddings`](Engine::embeddings) and [`completions`](Engine::completions) start a
//!   [`TypedCall`] whose output has the operation's type.
//! - [`BlockingCall`] and [`AsyncCall`]: the drive loop over [`Call::poll`](crate::Call::poll),
//!   once per flavour, on a [`BlockingDriver`] or an [`AsyncDriver`].
//! - [`CallEvent`]: each step of a call as a value, given to the
//!   [observer](ClientBuilder::on_event) and logged (the [log table](event#logs)).
//!
//! # The driver contract
//!
//! A driver implements [`BlockingDriver`] (with a [`BlockingBody`]) or [`AsyncDriver`] (with
//! an [`AsyncExchange`]). It promises:
//!
//! 1. **Send what it is given, as given**: the request the core built, never following a
//!    redirect (a `3xx` is a response for the core to judge; following it could carry the
//!    key to another host), and returning error statuses as responses.
//! 2. **Keep the core's deadlines, and only those**: every wait is bounded by the deadline
//!    the core handed over (the `Receive` deadline, or for a blocking send the
//!    [`Outgoing`](crate::call::Outgoing)'s `deadline`, `first_byte_timeout` and
//!    `idle_timeout`); when one passes, it answers with an error of kind `Timeout`, and the
//!    loop tells the core which limit ran out. Opening a connection may have its own,
//!    shorter bound ([`ClientBuilder::connect_timeout`]).
//! 3. **Bound what it reads**: body pieces of a few KiB, handed over as they arrive; the core
//!    counts them against the body limit.
//! 4. **Close on drop**: dropping a body or exchange mid-way closes its connection;
//!    `finish` may read the rest (bounded in bytes and time) to keep it pooled.
//! 5. **Say nothing secret**: its errors may quote URLs or anything else — the core scrubs
//!    every error of the attempt's secrets in one place — but it logs no request, header or
//!    body of its own.
//!
//! A driver whose client has a [shared store](crate::store) (Redis, for the router's state
//! and the cache) also runs the store operations [`TypedCall::poll_store`] hands out
//! ([`BlockingDriver::store`], [`AsyncDriver::store`]), each bounded by the store's timeout.
//!
//! The loops do the rest: they run the call's store operations first (a cache lookup, a
//! router deployment's admission after [`Action::Admit`](crate::Action::Admit), what an
//! ended attempt did), poll the call, feed in what the driver reports, emit the events and
//! unpack the typed output. A third transport (reqwest, a WASM fetch, an
//! in-process model) is a driver of a few dozen lines plus its [`Transport`] impl.

mod batches;
mod blocking;
mod budget;
mod builder;
mod cached;
mod config;
mod engine;
pub mod event;
mod media;
mod nonblocking;
mod overrides;
mod preflight;
pub mod proxies;
mod routed;
mod seed;
#[cfg(feature = "tracing")]
pub mod span;
mod surface;

pub use self::batches::{Batching, EmbeddingBatches};
pub use self::blocking::{BlockingBody, BlockingCall, BlockingDriver};
pub use self::budget::{Budget, BudgetStatus};
pub use self::builder::{ClientBuilder, HttpSetup, Transport};
pub use self::config::{ClientConfig, RouterSource, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
pub use self::engine::{CallOutput, Engine, EventObserver, TypedCall};
pub use self::event::CallEvent;
pub use self::nonblocking::{AsyncCall, AsyncDriver, AsyncExchange};
pub use self::overrides::Overrides;
pub use self::proxies::ProxyRules;
pub use self::seed::SeedSequence;

use crate::error::Error;

/// What a drive loop's `step` produced.
// A chunk is handed straight to the caller: boxing it would cost an allocation per chunk
// to shrink a value that lives for one return.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Step<T: CallOutput> {
    /// A streamed item for the caller (a chat chunk, a Responses event); the call goes on.
    Chunk(T::Item),
    /// The call ended: its output, or the error it failed with.
    Done(Result<T, Error>),
}
