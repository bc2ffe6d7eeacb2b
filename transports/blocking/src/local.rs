//! llama.cpp in process (feature `llama`): a request the client's [`LocalModels`] claims
//! runs on a thread of its own instead of going on the wire, and its response — the bytes a
//! llama.cpp server would send — comes back through a bounded channel as a [`LocalBody`].
//!
//! The drive loop sees an exchange like any other: the deadline and, for streams, the
//! first-byte and idle timeouts bound each wait (then a `Timeout` error), and dropping the
//! body stops the generation before its next token. See `onellm_llama` for the seam.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use http::{HeaderMap, StatusCode};
use onellm_core::call::Outgoing;
use onellm_core::client::BlockingBody;
use onellm_core::{Error, ErrorKind};
use onellm_llama::{Claim, Piece};
pub use onellm_llama::{EngineOptions, LocalModels, Route};

use crate::client::Client;
use crate::exchange::UreqBody;

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
    /// use onellm_blocking::{ChatRequest, Client, LocalModels, Route};
    ///
    /// let client = Client::from_env()?.with_local_models(
    ///     LocalModels::new().model_file("tiny", "/models/tiny.gguf").route(Route::Local),
    /// );
    /// let completion = client.chat(ChatRequest::new("llama_cpp/tiny").user("Hi"))?;
    /// # Ok::<(), onellm_blocking::Error>(())
    /// ```
    pub fn with_local_models(mut self, models: LocalModels) -> Client {
        self.local = Arc::new(models);
        self
    }
}

/// A response body: from the wire, or from the engine.
pub enum Body {
    /// An HTTP exchange through ureq.
    Wire(UreqBody),
    /// The in-process engine.
    Local(LocalBody),
}

impl BlockingBody for Body {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        match self {
            Body::Wire(body) => body.read(buf),
            Body::Local(body) => body.read(buf),
        }
    }

    fn finish(self) {
        match self {
            Body::Wire(body) => body.finish(),
            // Dropping it stops the generation.
            Body::Local(_) => {}
        }
    }
}

/// Sends `request` to the engine when `models` claims it, else on the wire through `wire`.
pub(crate) fn send(
    models: &Arc<LocalModels>,
    request: http::Request<Bytes>,
    outgoing: &Outgoing,
    wire: impl FnOnce(http::Request<Bytes>) -> Result<(StatusCode, HeaderMap, UreqBody), Error>,
) -> Result<(StatusCode, HeaderMap, Body), Error> {
    match models.claim(&request) {
        None => wire(request).map(|(status, headers, body)| (status, headers, Body::Wire(body))),
        Some(claim) => start(Arc::clone(models), claim?, outgoing)
            .map(|(status, headers, body)| (status, headers, Body::Local(body))),
    }
}

/// The engine's answer to one request, read as it is generated.
pub struct LocalBody {
    pieces: Receiver<Result<Piece, Error>>,
    /// Set when the body is dropped: the generation stops before its next token.
    dropped: Arc<AtomicBool>,
    /// Bytes of the last piece not yet read.
    rest: Bytes,
    deadline: Option<Instant>,
    idle_timeout: Option<Duration>,
}

impl Drop for LocalBody {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::Relaxed);
    }
}

/// Loads the claim's model and runs it on a thread of its own; waits for the head.
fn start(
    models: Arc<LocalModels>,
    claim: Claim,
    outgoing: &Outgoing,
) -> Result<(StatusCode, HeaderMap, LocalBody), Error> {
    let (sender, pieces) = mpsc::sync_channel(AHEAD);
    let dropped = Arc::new(AtomicBool::new(false));
    let stop = Arc::clone(&dropped);
    std::thread::Builder::new()
        .name("onellm-llama".into())
        .spawn(move || match models.start(claim) {
            Ok(job) => job.run(&|| stop.load(Ordering::Relaxed), &mut |piece| {
                sender.send(Ok(piece)).is_ok()
            }),
            Err(error) => {
                let _ = sender.send(Err(error));
            }
        })
        .map_err(|error| {
            Error::new(
                ErrorKind::Connection,
                format!("cannot start the llama.cpp thread: {error}"),
            )
        })?;
    let mut body = LocalBody {
        pieces,
        dropped,
        rest: Bytes::new(),
        deadline: outgoing.deadline,
        idle_timeout: outgoing.idle_timeout,
    };
    match body.next(outgoing.first_byte_timeout)? {
        Some(Piece::Head(status, headers)) => Ok((status, headers, body)),
        _ => Err(Error::new(
            ErrorKind::Connection,
            "the llama.cpp engine stopped before answering",
        )),
    }
}

impl LocalBody {
    /// The next piece, waiting at most `timeout` and until the deadline; `None` at the end.
    fn next(&mut self, timeout: Option<Duration>) -> Result<Option<Piece>, Error> {
        let now = Instant::now();
        let until = [
            self.deadline,
            timeout.and_then(|timeout| now.checked_add(timeout)),
        ]
        .into_iter()
        .flatten()
        .min();
        let received = match until {
            Some(until) => self
                .pieces
                .recv_timeout(until.saturating_duration_since(now)),
            None => self
                .pieces
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(piece) => piece.map(Some),
            Err(RecvTimeoutError::Disconnected) => Ok(None),
            Err(RecvTimeoutError::Timeout) => Err(Error::new(
                ErrorKind::Timeout,
                "timed out waiting for the llama.cpp engine",
            )),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        while self.rest.is_empty() {
            match self.next(self.idle_timeout)? {
                Some(Piece::Body(bytes)) => self.rest = bytes,
                Some(Piece::Head(..)) => continue,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.rest.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.rest.advance(n);
        Ok(n)
    }
}
