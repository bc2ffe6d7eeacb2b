//! llama.cpp in process (feature `llama`): a request the client's [`LocalModels`] claims
//! runs on tokio's blocking pool (`spawn_blocking`) instead of going on the wire, and its
//! response — the bytes a llama.cpp server would send — comes back through a bounded
//! channel as a [`LocalExchange`].
//!
//! The drive loop sees an exchange like any other: it awaits the head and each piece under
//! its deadlines, and dropping the exchange (a dropped call or stream) closes the channel,
//! which stops the generation before its next token. See `onellm_llama` for the seam.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use onellm_core::client::AsyncExchange;
use onellm_core::{Error, ErrorKind};
use onellm_llama::{Claim, Piece};
pub use onellm_llama::{EngineOptions, LocalModels, Route};
use tokio::sync::mpsc;

use crate::client::Client;
use crate::exchange::HyperExchange;

/// Pieces of a response the engine may run ahead of the reader: a bound on memory, and
/// how far generation goes on after the reader stopped reading (until it is dropped).
const AHEAD: usize = 16;

impl Client {
    /// This client with `models` as its in-process llama.cpp engine instead of the one
    /// [`LocalModels::from_lookup`] made from the environment when it was built
    /// (`LLAMA_CPP_MODEL_PATH`, `LLAMA_CPP_MODEL_DIR`, `ONELLM_LLAMA_ROUTE`). Models
    /// loaded are shared by the clones made afterwards and unloaded with the last of them.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), onellm_tokio::Error> {
    /// use onellm_tokio::{ChatRequest, Client, LocalModels, Route};
    ///
    /// let client = Client::from_env()?.with_local_models(
    ///     LocalModels::new().model_file("tiny", "/models/tiny.gguf").route(Route::Local),
    /// );
    /// let completion = client.chat(ChatRequest::new("llama_cpp/tiny").user("Hi")).await?;
    /// # Ok(()) }
    /// ```
    pub fn with_local_models(mut self, models: LocalModels) -> Client {
        self.local = Arc::new(models);
        self
    }
}

/// An exchange: on the wire, or with the engine.
pub enum Exchange {
    /// An HTTP exchange through hyper.
    Wire(HyperExchange),
    /// The in-process engine.
    Local(LocalExchange),
}

impl AsyncExchange for Exchange {
    async fn head(&mut self, deadline: Option<Instant>) -> Result<(StatusCode, HeaderMap), Error> {
        match self {
            Exchange::Wire(exchange) => exchange.head(deadline).await,
            Exchange::Local(exchange) => exchange.head(deadline).await,
        }
    }

    async fn next_piece(&mut self, deadline: Option<Instant>) -> Result<Option<Bytes>, Error> {
        match self {
            Exchange::Wire(exchange) => exchange.next_piece(deadline).await,
            Exchange::Local(exchange) => exchange.next_piece(deadline).await,
        }
    }

    async fn finish(self) {
        match self {
            Exchange::Wire(exchange) => exchange.finish().await,
            // Dropping it stops the generation.
            Exchange::Local(_) => {}
        }
    }
}

/// Sends `request` to the engine when `models` claims it, else on the wire through `wire`.
pub(crate) fn send(
    models: &Arc<LocalModels>,
    request: http::Request<Bytes>,
    wire: impl FnOnce(http::Request<Bytes>) -> HyperExchange,
) -> Exchange {
    match models.claim(&request) {
        None => Exchange::Wire(wire(request)),
        Some(claim) => Exchange::Local(LocalExchange::start(Arc::clone(models), claim)),
    }
}

/// The engine's answer to one request, received as it is generated.
pub struct LocalExchange {
    pieces: mpsc::Receiver<Result<Piece, Error>>,
}

impl LocalExchange {
    /// Loads the claim's model and runs it on the blocking pool (an error the claim
    /// already is comes back as the head).
    fn start(models: Arc<LocalModels>, claim: Result<Claim, Error>) -> Self {
        let (sender, pieces) = mpsc::channel(AHEAD);
        tokio::task::spawn_blocking(move || {
            let job = claim.and_then(|claim| models.start(claim));
            match job {
                Ok(job) => job.run(&|| sender.is_closed(), &mut |piece| {
                    sender.blocking_send(Ok(piece)).is_ok()
                }),
                Err(error) => {
                    let _ = sender.blocking_send(Err(error));
                }
            }
        });
        LocalExchange { pieces }
    }

    /// The next piece, until `deadline`; `None` at the end.
    async fn next(&mut self, deadline: Option<Instant>) -> Result<Option<Piece>, Error> {
        let received = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline.into(), self.pieces.recv())
                .await
                .map_err(|_| {
                    Error::new(
                        ErrorKind::Timeout,
                        "timed out waiting for the llama.cpp engine",
                    )
                })?,
            None => self.pieces.recv().await,
        };
        received.transpose()
    }

    async fn head(&mut self, deadline: Option<Instant>) -> Result<(StatusCode, HeaderMap), Error> {
        match self.next(deadline).await? {
            Some(Piece::Head(status, headers)) => Ok((status, headers)),
            _ => Err(Error::new(
                ErrorKind::Connection,
                "the llama.cpp engine stopped before answering",
            )),
        }
    }

    async fn next_piece(&mut self, deadline: Option<Instant>) -> Result<Option<Bytes>, Error> {
        loop {
            match self.next(deadline).await? {
                Some(Piece::Body(bytes)) => return Ok(Some(bytes)),
                Some(Piece::Head(..)) => continue,
                None => return Ok(None),
            }
        }
    }
}
