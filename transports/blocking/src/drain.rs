//! Reading the rest of a finished stream's body, so its connection goes back to the pool.
//!
//! A stream is done at its terminal marker (`[DONE]`, `message_stop`), usually a few bytes
//! before its HTTP body ends; reading those last bytes lets ureq pool the connection
//! instead of closing it. A blocking read could wait as long as the exchange's deadline if a
//! server is slow to end the body, so the rest is read on another thread: the caller waits
//! for it at most [`FINISH_WAIT`] (normally the end is already there and this takes
//! microseconds, so the connection is pooled before the next call), then leaves it to
//! finish alone, bounded by [`DRAIN_LIMIT`] bytes and the exchange's own timeouts.
//!
//! One thread per client does this, started at the first stream end and ending with the
//! client; starting a thread for every stream cost more than the rest of the hand-over. When
//! that thread is busy with a slow body, a short-lived thread takes the next one, so one slow
//! server never holds up the others.

use std::io::Read;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use ureq::BodyReader;

/// The longest a finished stream's caller waits for the rest of its body.
const FINISH_WAIT: Duration = Duration::from_millis(50);

/// The most bytes read after a stream's terminal marker to keep its connection.
const DRAIN_LIMIT: usize = 64 * 1024;

/// The drain's read buffer: what is left after a terminal marker is usually a few bytes.
const PIECE: usize = 16 * 1024;

/// A body to read to its end, and whom to tell when it is.
struct Job {
    reader: BodyReader<'static>,
    done: SyncSender<()>,
}

/// The client's draining thread, reached through a zero-capacity channel: a hand-over
/// succeeds only while the thread is idle, waiting for work.
#[derive(Default)]
pub(crate) struct Drainer {
    worker: Mutex<Option<SyncSender<Job>>>,
}

impl Drainer {
    /// Reads what is left of `reader` on another thread, waiting at most [`FINISH_WAIT`].
    pub(crate) fn finish(&self, reader: BodyReader<'static>) {
        let (done, finished) = mpsc::sync_channel(1);
        let job = Job { reader, done };
        let handed = match self.hand_over(job) {
            None => true,
            Some(job) => start(move || run(job, &mut vec![0; PIECE])),
        };
        if handed {
            let _ = finished.recv_timeout(FINISH_WAIT);
        }
    }

    /// Gives `job` to the idle worker (starting it the first time); the job comes back when
    /// the worker is busy or cannot be started.
    fn hand_over(&self, job: Job) -> Option<Job> {
        let Ok(mut worker) = self.worker.lock() else {
            return Some(job);
        };
        let sender = match &*worker {
            Some(sender) => sender,
            None => {
                let (sender, jobs) = mpsc::sync_channel(0);
                if !start(move || work(jobs)) {
                    return Some(job);
                }
                worker.insert(sender)
            }
        };
        match sender.try_send(job) {
            Ok(()) => None,
            Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) => Some(job),
        }
    }
}

/// Starts a draining thread; `false` if the system would not.
fn start(drainer: impl FnOnce() + Send + 'static) -> bool {
    thread::Builder::new()
        .name("onellm-drain".into())
        .spawn(drainer)
        .is_ok()
}

/// The worker: drains bodies, with one read buffer for all, until the client (the sender)
/// is gone.
fn work(jobs: Receiver<Job>) {
    let mut buf = vec![0; PIECE];
    while let Ok(job) = jobs.recv() {
        run(job, &mut buf);
    }
}

fn run(job: Job, buf: &mut [u8]) {
    drain(job.reader, buf);
    let _ = job.done.send(());
}

/// Reads a body to its end, or gives up after [`DRAIN_LIMIT`] bytes or an error (an
/// interrupted read included: nothing waits on this); dropping the reader then closes the
/// connection.
fn drain(mut reader: BodyReader<'static>, buf: &mut [u8]) {
    let mut left = DRAIN_LIMIT;
    while let Ok(n @ 1..) = reader.read(buf) {
        match left.checked_sub(n) {
            Some(rest) => left = rest,
            None => return,
        }
    }
}
