//! Soak test (issue 16 item 7): many calls at once, streamed and whole, with faults mixed
//! in, through each transport against the fake provider on loopback.
//!
//! Every call's fault and text come from its index ([`soak::call`]), so its outcome is known
//! in advance. The test checks that
//! - every call ends: none runs past its deadline + 1 s (a watchdog looks at the calls in
//!   flight every 50 ms, and each call's duration is checked when it ends);
//! - every successful call returns exactly the scripted text, and a stream's chunks add up
//!   to it (no chunk lost or delivered twice, one role delta at most);
//! - every failure has the kind its fault implies, a failed stream delivered a prefix of the
//!   text only, and an interrupted stream's partial completion holds what was delivered;
//! - the process's RSS after the run is within 10% of its RSS after a warm-up (both read
//!   while the workers wait between the two, so the same threads and tasks are alive);
//! - the connections open at the server come back to at most what the client's pool keeps,
//!   and to none once the client is dropped.
//!
//! Short form (CI, a debug build): `cargo test -p onellm-testkit --test soak`.
//! Long form, one transport per process so each has its own RSS:
//! `ONELLM_SOAK_CALLS=1000000 cargo test --release -p onellm-testkit --test soak
//! soak_blocking -- --nocapture --exact`, then the same with `soak_tokio`.
//! `ONELLM_SOAK_CALLS` counts the calls after the warm-up (default 20,000),
//! `ONELLM_SOAK_CONCURRENCY` the calls in flight (default 256), `ONELLM_SOAK_WARM_UP` the
//! warm-up calls the workers share (default 30,000). Figures are in tests/README.md.
//! Nothing about speed is asserted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use onellm_core::{ChatCompletion, ChatCompletionChunk, ChatRequest, Error, ErrorKind};
use onellm_testkit::soak::{self, Expected, SoakCall, SoakFault};
use onellm_testkit::FakeProvider;

/// Calls per transport when `ONELLM_SOAK_CALLS` is not set: what CI runs.
const DEFAULT_CALLS: u64 = 20_000;
/// Warm-up calls shared by the workers when `ONELLM_SOAK_WARM_UP` is not set (see
/// [`Run::warm_up`]).
const DEFAULT_SHARED_WARM_UP: u64 = 30_000;
/// Calls in flight at once when `ONELLM_SOAK_CONCURRENCY` is not set.
const DEFAULT_CONCURRENCY: usize = 256;
/// Each call's total deadline (the client's `timeout`). Far above what any scripted fault
/// takes, so reaching it means something hung.
const CALL_DEADLINE: Duration = Duration::from_secs(20);
/// How long past its deadline a call may take to end before it counts as hung.
const HANG_GRACE: Duration = Duration::from_secs(1);
/// Retries per call: faults that hit only the first attempt must then succeed.
const RETRIES: u32 = 1;
/// More stream items than any scripted reply has: a stream past this is runaway.
const MAX_STREAM_ITEMS: usize = 1_000;
/// RSS after the run may differ from RSS after the warm-up by this fraction at most.
const RSS_TOLERANCE: f64 = 0.10;
/// How long the connections get to come back to the pool after the last call.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);
/// Idle connections the blocking client keeps for one host: ureq's
/// `max_idle_connections_per_host(8)` in transports/blocking/src/client.rs.
const BLOCKING_POOL_PER_HOST: usize = 8;

/// Runs of at least this many calls print their progress every tenth of the calls.
const PROGRESS_FROM: u64 = 50_000;

/// The soak tests share the process's RSS and the machine's cores: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The size of the run, from the environment or the CI defaults.
#[derive(Debug, Clone, Copy)]
struct Size {
    /// Calls after the warm-up.
    calls: u64,
    concurrency: usize,
    /// Warm-up calls after each worker's own cycle (see [`Run::warm_up`]).
    shared_warm_up: u64,
}

impl Size {
    fn from_env() -> Size {
        let read = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("{name}={v}")))
        };
        Size {
            calls: read("ONELLM_SOAK_CALLS").unwrap_or(DEFAULT_CALLS),
            concurrency: read("ONELLM_SOAK_CONCURRENCY")
                .map(|c| c as usize)
                .unwrap_or(DEFAULT_CONCURRENCY)
                .max(1),
            shared_warm_up: read("ONELLM_SOAK_WARM_UP").unwrap_or(DEFAULT_SHARED_WARM_UP),
        }
    }
}

/// What came back from one call, as the transport delivered it.
enum Delivered {
    Whole(Result<ChatCompletion, Error>),
    Stream {
        items: Vec<Result<ChatCompletionChunk, Error>>,
        /// Whether the stream ended by itself (rather than at [`MAX_STREAM_ITEMS`]).
        ended: bool,
        completion: Option<ChatCompletion>,
    },
}

/// The outcome label a call is counted under (`text` or an error kind), or why it is wrong.
fn verdict(call: &SoakCall, delivered: &Delivered) -> Result<&'static str, String> {
    let expected_text = call.text();
    match delivered {
        Delivered::Whole(Ok(completion)) => {
            let text = completion.text();
            match call.expected() {
                Expected::Text if text == expected_text => Ok("text"),
                Expected::Text => Err(format!("text {text:?}, scripted {expected_text:?}")),
                Expected::Error(kind) => Err(format!("succeeded with {text:?}, expected {kind:?}")),
            }
        }
        Delivered::Whole(Err(error)) => check_error(call, error),
        Delivered::Stream {
            items,
            ended,
            completion,
        } => {
            if !ended {
                return Err(format!("runaway stream: over {MAX_STREAM_ITEMS} items"));
            }
            let errors = items.iter().filter(|item| item.is_err()).count();
            let last_is_error = items.last().is_some_and(Result::is_err);
            if errors > 1 || (errors == 1 && !last_is_error) {
                return Err(format!(
                    "{errors} errors, last item an error: {last_is_error}"
                ));
            }
            let chunks = || items.iter().filter_map(|item| item.as_ref().ok());
            let delivered: String = chunks().filter_map(ChatCompletionChunk::text).collect();
            let roles = chunks()
                .filter(|chunk| chunk.choices.iter().any(|c| c.delta.role.is_some()))
                .count();
            if roles > 1 {
                return Err(format!("{roles} role deltas"));
            }
            match items.last() {
                Some(Err(error)) => {
                    if !expected_text.starts_with(&delivered) {
                        return Err(format!(
                            "failed stream delivered {delivered:?}, not a prefix of {expected_text:?}"
                        ));
                    }
                    if completion.is_some() {
                        return Err("a failed stream has a completion".into());
                    }
                    if error.kind() == ErrorKind::StreamInterrupted {
                        let partial = error.partial_completion().map(ChatCompletion::text);
                        if partial.as_deref() != Some(delivered.as_str()) || delivered.is_empty() {
                            return Err(format!(
                                "interrupted after {delivered:?}, partial completion {partial:?}"
                            ));
                        }
                    }
                    check_error(call, error)
                }
                _ => {
                    let whole = completion.as_ref().map(ChatCompletion::text);
                    match call.expected() {
                        Expected::Text
                            if delivered == expected_text
                                && whole.as_deref() == Some(expected_text.as_str()) =>
                        {
                            Ok("text")
                        }
                        Expected::Text => Err(format!(
                            "streamed {delivered:?}, completion {whole:?}, scripted {expected_text:?}"
                        )),
                        Expected::Error(kind) => Err(format!(
                            "stream succeeded with {delivered:?}, expected {kind:?}"
                        )),
                    }
                }
            }
        }
    }
}

fn check_error(call: &SoakCall, error: &Error) -> Result<&'static str, String> {
    match call.expected() {
        Expected::Error(kind) if error.kind() == kind => Ok(kind.as_str()),
        expected => Err(format!(
            "{:?} ({error}), expected {expected:?}",
            error.kind()
        )),
    }
}

/// One worker's call in flight, for the watchdog, and its warm-up.
#[derive(Default)]
struct Slot {
    /// Milliseconds from the run's start to this call's start, plus one; 0 when idle.
    started: AtomicU64,
    index: AtomicU64,
    /// Warm-up calls this worker has taken: worker `w` makes calls `w * CYCLE ..
    /// (w + 1) * CYCLE` itself.
    warmed_up: AtomicU64,
}

/// The calls of a run and the workers making them. The workers stop at `limit` and wait
/// there (parked) until it is raised, so RSS is read after the warm-up and after the run
/// with the same threads and tasks alive, and only the calls in between differ.
struct Run {
    /// The next call taken from the shared sequence (after each worker's own cycle).
    next: AtomicU64,
    /// The calls below this index may be made now; [`Run::warm_up`] during the warm-up.
    limit: AtomicU64,
    /// Warm-up calls. First every worker makes one call of each fault, streamed and whole
    /// ([`soak::CYCLE`] calls of its own), so every thread's stack has been as deep as these
    /// calls take it; then the workers share `shared_warm_up` more calls, so the pools and
    /// the allocator's arenas reach the size they keep under this load (in a release build
    /// RSS stops rising after about 30,000 calls) before the RSS baseline is read.
    warm_up: u64,
    /// Workers waiting at `limit`.
    parked: AtomicUsize,
    /// Workers not yet finished.
    running: AtomicUsize,
    /// Set after the last call: parked workers finish.
    closing: AtomicBool,
    /// Set when a hang is found: the workers stop taking calls.
    abort: AtomicBool,
    slots: Vec<Slot>,
}

/// What a worker does next.
enum Next {
    Call(SoakCall, Instant),
    /// No call below this limit is left: park until it is raised.
    Park(u64),
    Finish,
}

/// Everything counted over the whole run.
struct Tally {
    started: Instant,
    /// The calls of the whole run.
    total: u64,
    /// The call count last reported by [`Tally::report_progress`].
    reported: AtomicU64,
    outcomes: Mutex<BTreeMap<(&'static str, &'static str, &'static str), u64>>,
    calls: AtomicU64,
    /// The most connections seen open at the server (sampled every 50 ms).
    peak_open: AtomicUsize,
    mismatches: AtomicU64,
    first_mismatches: Mutex<Vec<String>>,
}

impl Tally {
    fn new(total: u64) -> Tally {
        Tally {
            started: Instant::now(),
            total,
            reported: AtomicU64::new(0),
            outcomes: Mutex::default(),
            calls: AtomicU64::new(0),
            peak_open: AtomicUsize::new(0),
            mismatches: AtomicU64::new(0),
            first_mismatches: Mutex::default(),
        }
    }

    fn record(&self, call: &SoakCall, delivered: &Delivered, took: Duration) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut outcome = verdict(call, delivered);
        if took > CALL_DEADLINE + HANG_GRACE {
            outcome = Err(format!("ended after {took:?}, past its deadline + 1 s"));
        }
        let mode = if call.streaming { "stream" } else { "whole" };
        let label = match &outcome {
            Ok(label) => label,
            Err(_) => "WRONG",
        };
        *self
            .outcomes
            .lock()
            .unwrap()
            .entry((call.fault.name(), mode, label))
            .or_default() += 1;
        if let Err(why) = outcome {
            self.mismatches.fetch_add(1, Ordering::Relaxed);
            let mut first = self.first_mismatches.lock().unwrap();
            if first.len() < 20 {
                first.push(format!("call {} ({:?}): {why}", call.id, call));
            }
        }
    }

    /// In long runs, prints a line at every tenth of the calls: how RSS and the open
    /// connections evolve is the long form's main figure.
    fn report_progress(&self, server: &FakeProvider) {
        if self.total < PROGRESS_FROM {
            return;
        }
        let done = self.calls.load(Ordering::Relaxed);
        let step = self.total / 10;
        if done < self.reported.load(Ordering::Relaxed) + step {
            return;
        }
        self.reported.store(done - done % step, Ordering::Relaxed);
        println!(
            "  {done} calls, {:.0} s, RSS {} KiB, {} threads, {} connections open, {} accepted",
            self.started.elapsed().as_secs_f64(),
            rss_kib().unwrap_or(0),
            proc_status("Threads:").unwrap_or(0),
            server.open_connections(),
            server.connections()
        );
    }

    fn millis(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }
}

impl Run {
    /// A run whose workers stop after the warm-up.
    fn new(concurrency: usize, shared_warm_up: u64) -> Run {
        let own_cycles = concurrency as u64 * soak::CYCLE;
        let warm_up = own_cycles + shared_warm_up;
        Run {
            next: AtomicU64::new(own_cycles),
            limit: AtomicU64::new(warm_up),
            warm_up,
            parked: AtomicUsize::new(0),
            running: AtomicUsize::new(concurrency),
            closing: AtomicBool::new(false),
            abort: AtomicBool::new(false),
            slots: (0..concurrency).map(|_| Slot::default()).collect(),
        }
    }

    /// The next call for the worker in `slot` (marked in flight), or what to do instead.
    fn next(&self, slot: usize, tally: &Tally) -> Next {
        if self.abort.load(Ordering::SeqCst) {
            return Next::Finish;
        }
        let own = &self.slots[slot].warmed_up;
        if own.load(Ordering::Relaxed) < soak::CYCLE && !self.closing.load(Ordering::SeqCst) {
            let made = own.fetch_add(1, Ordering::Relaxed);
            return self.begin(slot, tally, slot as u64 * soak::CYCLE + made);
        }
        let mut index = self.next.load(Ordering::SeqCst);
        loop {
            if self.abort.load(Ordering::SeqCst) {
                return Next::Finish;
            }
            let limit = self.limit.load(Ordering::SeqCst);
            if index >= limit {
                if self.closing.load(Ordering::SeqCst) {
                    return Next::Finish;
                }
                return Next::Park(limit);
            }
            match self.next.compare_exchange_weak(
                index,
                index + 1,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return self.begin(slot, tally, index),
                Err(actual) => index = actual,
            }
        }
    }

    /// Marks call `index` in flight in `slot`.
    fn begin(&self, slot: usize, tally: &Tally, index: u64) -> Next {
        self.slots[slot].index.store(index, Ordering::Relaxed);
        self.slots[slot]
            .started
            .store(tally.millis() + 1, Ordering::Relaxed);
        Next::Call(soak::call(index), Instant::now())
    }

    /// Marks the worker in `slot` idle and counts its call.
    fn done(
        &self,
        slot: usize,
        tally: &Tally,
        call: &SoakCall,
        started: Instant,
        delivered: &Delivered,
    ) {
        let took = started.elapsed();
        self.slots[slot].started.store(0, Ordering::Relaxed);
        tally.record(call, delivered, took);
    }

    /// Whether a parked worker may go on: the limit moved, or the run closes or aborts.
    fn unparked(&self, parked_at: u64) -> bool {
        self.limit.load(Ordering::SeqCst) != parked_at
            || self.closing.load(Ordering::SeqCst)
            || self.abort.load(Ordering::SeqCst)
    }

    /// Whether every call below the limit was made and every worker waits at it.
    fn all_parked(&self) -> bool {
        self.parked.load(Ordering::SeqCst) == self.slots.len()
            && self.next.load(Ordering::SeqCst) >= self.limit.load(Ordering::SeqCst)
    }
}

/// How often a parked worker looks whether it may go on.
const PARKED_POLL: Duration = Duration::from_millis(10);

/// Waits until `until` holds, checking every 50 ms that no call in flight has run longer
/// than `limit` (its deadline + 1 s). A hung call fails the test at once (its worker is left
/// behind; the test process ends anyway).
fn watch(
    run: &Run,
    tally: &Tally,
    server: &FakeProvider,
    limit: Duration,
    until: impl Fn(&Run) -> bool,
) {
    let limit = limit.as_millis() as u64;
    while !until(run) {
        std::thread::sleep(Duration::from_millis(50));
        tally
            .peak_open
            .fetch_max(server.open_connections(), Ordering::Relaxed);
        tally.report_progress(server);
        let now = tally.millis();
        for slot in &run.slots {
            let started = slot.started.load(Ordering::Relaxed);
            if started > 0 && now + 1 > started + limit {
                run.abort.store(true, Ordering::SeqCst);
                let call = soak::call(slot.index.load(Ordering::Relaxed));
                panic!("call {call:?} still running {limit} ms after it started: a hang");
            }
        }
    }
}

/// A transport under soak.
trait Soaked {
    /// Starts `run.slots.len()` workers making `run`'s calls; each counts itself in
    /// `run.parked` while parked and decrements `run.running` when done.
    fn start(&self, run: &Arc<Run>, tally: &Arc<Tally>);
    /// The most connections the client's pool may keep open after the calls end.
    fn pool_limit(&self, concurrency: usize) -> usize;
    /// Lets a transport's background tasks run while the connections settle.
    fn settle(&self, wait: Duration) {
        std::thread::sleep(wait);
    }
    fn name(&self) -> &'static str;
}

fn request(call: &SoakCall) -> ChatRequest {
    ChatRequest::new(call.model("openai")).user(format!("soak {}", call.id))
}

struct Blocking(onellm_blocking::Client);

impl Soaked for Blocking {
    fn start(&self, run: &Arc<Run>, tally: &Arc<Tally>) {
        for slot in 0..run.slots.len() {
            let (run, tally, client) = (Arc::clone(run), Arc::clone(tally), self.0.clone());
            std::thread::Builder::new()
                .name(format!("soak-{slot}"))
                .spawn(move || loop {
                    let (call, started) = match run.next(slot, &tally) {
                        Next::Call(call, started) => (call, started),
                        Next::Park(limit) => {
                            run.parked.fetch_add(1, Ordering::SeqCst);
                            while !run.unparked(limit) {
                                std::thread::sleep(PARKED_POLL);
                            }
                            run.parked.fetch_sub(1, Ordering::SeqCst);
                            continue;
                        }
                        Next::Finish => {
                            run.running.fetch_sub(1, Ordering::SeqCst);
                            return;
                        }
                    };
                    let delivered = if call.streaming {
                        let mut stream = client.chat_stream(request(&call));
                        let items: Vec<_> = stream.by_ref().take(MAX_STREAM_ITEMS + 1).collect();
                        Delivered::Stream {
                            ended: items.len() <= MAX_STREAM_ITEMS,
                            items,
                            completion: stream.completion().cloned(),
                        }
                    } else {
                        Delivered::Whole(client.chat(request(&call)))
                    };
                    run.done(slot, &tally, &call, started, &delivered);
                })
                .expect("spawn a soak worker");
        }
    }

    fn pool_limit(&self, _concurrency: usize) -> usize {
        BLOCKING_POOL_PER_HOST
    }

    fn name(&self) -> &'static str {
        "blocking"
    }
}

struct Tokio {
    client: onellm_tokio::Client,
    runtime: tokio::runtime::Runtime,
}

async fn next_item<S>(stream: &mut S) -> Option<S::Item>
where
    S: futures_core::Stream + Unpin,
{
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *stream).poll_next(cx)).await
}

impl Soaked for Tokio {
    fn start(&self, run: &Arc<Run>, tally: &Arc<Tally>) {
        for slot in 0..run.slots.len() {
            let (run, tally, client) = (Arc::clone(run), Arc::clone(tally), self.client.clone());
            self.runtime.spawn(async move {
                loop {
                    let (call, started) = match run.next(slot, &tally) {
                        Next::Call(call, started) => (call, started),
                        Next::Park(limit) => {
                            run.parked.fetch_add(1, Ordering::SeqCst);
                            while !run.unparked(limit) {
                                tokio::time::sleep(PARKED_POLL).await;
                            }
                            run.parked.fetch_sub(1, Ordering::SeqCst);
                            continue;
                        }
                        Next::Finish => break,
                    };
                    let delivered = if call.streaming {
                        let mut stream = client.chat_stream(request(&call));
                        let mut items = Vec::new();
                        let mut ended = false;
                        while items.len() <= MAX_STREAM_ITEMS {
                            match next_item(&mut stream).await {
                                Some(item) => items.push(item),
                                None => {
                                    ended = true;
                                    break;
                                }
                            }
                        }
                        Delivered::Stream {
                            items,
                            ended,
                            completion: stream.completion().cloned(),
                        }
                    } else {
                        Delivered::Whole(client.chat(request(&call)).await)
                    };
                    run.done(slot, &tally, &call, started, &delivered);
                }
                run.running.fetch_sub(1, Ordering::SeqCst);
            });
        }
    }

    /// hyper-util's pool keeps every idle connection to a host (no per-host limit is set in
    /// transports/tokio/src/connector.rs, only a 90 s idle timeout), so the most it can
    /// hold is the most that were in use at once: one per call in flight.
    fn pool_limit(&self, concurrency: usize) -> usize {
        concurrency
    }

    fn settle(&self, wait: Duration) {
        self.runtime
            .block_on(async { tokio::time::sleep(wait).await });
    }

    fn name(&self) -> &'static str {
        "tokio"
    }
}

/// Points a builder of either transport at the fake provider.
macro_rules! configure {
    ($builder:expr, $server:expr) => {
        $builder
            .api_key("openai", "sk-soak")
            .base_url("openai", $server.openai_base_url())
            .retries(RETRIES)
            .timeout(CALL_DEADLINE)
            .seed(16)
    };
}

/// The process's resident set in KiB, from `/proc/self/status`; `None` where there is none.
fn rss_kib() -> Option<u64> {
    proc_status("VmRSS:")
}

/// A number from a line of `/proc/self/status` (`VmRSS:`, `Threads:`), unit dropped.
fn proc_status(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Waits (at most [`SETTLE_LIMIT`]) until the server has at most `limit` connections open;
/// returns how many are open then.
fn settle_connections(server: &FakeProvider, transport: &dyn Soaked, limit: usize) -> usize {
    let started = Instant::now();
    while server.open_connections() > limit && started.elapsed() < SETTLE_LIMIT {
        transport.settle(Duration::from_millis(50));
    }
    server.open_connections()
}

fn soak(server: &FakeProvider, transport: &dyn Soaked) {
    let size = Size::from_env();
    let run = Arc::new(Run::new(size.concurrency, size.shared_warm_up));
    let total = run.warm_up + size.calls;
    let tally = Arc::new(Tally::new(total));
    let pool_limit = transport.pool_limit(size.concurrency);
    let hang_limit = CALL_DEADLINE + HANG_GRACE;
    transport.start(&run, &tally);
    watch(&run, &tally, server, hang_limit, Run::all_parked);
    settle_connections(server, transport, pool_limit);
    let rss_warm = rss_kib();

    let measured_from = Instant::now();
    run.limit.store(total, Ordering::SeqCst);
    watch(&run, &tally, server, hang_limit, Run::all_parked);
    let measured = measured_from.elapsed();
    let open_at_last_call = server.open_connections();
    let open_after = settle_connections(server, transport, pool_limit);
    let rss_after = rss_kib();

    run.closing.store(true, Ordering::SeqCst);
    watch(&run, &tally, server, hang_limit, |run| {
        run.running.load(Ordering::SeqCst) == 0
    });

    let calls = tally.calls.load(Ordering::SeqCst);
    println!(
        "soak {}: {calls} calls ({} after a warm-up of {}), {} at once; {:.1} s after the \
         warm-up ({:.0} calls/s); {} connections accepted, at most {} open at once; \
         {open_at_last_call} open at the last call's end, {open_after} after settling (pool limit {pool_limit})",
        transport.name(),
        size.calls,
        run.warm_up,
        size.concurrency,
        measured.as_secs_f64(),
        size.calls as f64 / measured.as_secs_f64().max(1e-9),
        server.connections(),
        tally.peak_open.load(Ordering::SeqCst),
    );
    for ((fault, mode, label), count) in tally.outcomes.lock().unwrap().iter() {
        println!("  {fault:>26} {mode:>6} -> {label}: {count}");
    }

    assert_eq!(calls, total, "every call was made and ended");
    let mismatches = tally.mismatches.load(Ordering::SeqCst);
    assert!(
        mismatches == 0,
        "{mismatches} calls ended wrongly; the first:\n{}",
        tally.first_mismatches.lock().unwrap().join("\n")
    );
    assert!(
        open_after <= pool_limit,
        "{open_after} connections open {SETTLE_LIMIT:?} after the last call; the pool keeps \
         at most {pool_limit}"
    );
    match (rss_warm, rss_after) {
        (Some(warm), Some(after)) => {
            let change = (after as f64 - warm as f64) / warm as f64;
            println!(
                "  RSS {:.1} MiB after the warm-up, {:.1} MiB after the run ({:+.1}%)",
                warm as f64 / 1024.0,
                after as f64 / 1024.0,
                change * 100.0
            );
            assert!(
                change.abs() <= RSS_TOLERANCE,
                "RSS went from {warm} KiB after the warm-up to {after} KiB after the run"
            );
        }
        _ => println!("  no /proc/self/status: RSS not checked (Linux only)"),
    }
}

#[test]
fn soak_blocking() {
    let _one = one_at_a_time();
    let server = FakeProvider::start();
    server.record_requests(false);
    let client = configure!(onellm_blocking::Client::builder(), server)
        .build()
        .expect("blocking client");
    let transport = Blocking(client);
    soak(&server, &transport);
    drop(transport);
    assert!(
        server.wait_until_idle(SETTLE_LIMIT),
        "{} connections still open after the client was dropped",
        server.open_connections()
    );
}

#[test]
fn soak_tokio() {
    let _one = one_at_a_time();
    let server = FakeProvider::start();
    server.record_requests(false);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let client = runtime
        .block_on(async { configure!(onellm_tokio::Client::builder(), server).build() })
        .expect("tokio client");
    let transport = Tokio { client, runtime };
    soak(&server, &transport);
    // The connections close as the runtime drops the pool's tasks.
    let Tokio { client, runtime } = transport;
    drop(client);
    runtime.block_on(async { tokio::time::sleep(Duration::from_millis(100)).await });
    drop(runtime);
    assert!(
        server.wait_until_idle(SETTLE_LIMIT),
        "{} connections still open after the client was dropped",
        server.open_connections()
    );
}

/// The wrong-shape fault alone, whole and streamed, on both transports: a failure here
/// names each transport and mode at once, where the soak reports the first few calls.
/// (Before the parsers checked the family's marker, issue 16 items 1-2, a whole reply ended
/// in `Decode` and a stream in `Truncated` after a retry.)
#[test]
fn wrong_shape_reply_is_unexpected_response() {
    let _one = one_at_a_time();
    let server = FakeProvider::start();
    let whole = SoakCall {
        id: 1,
        fault: SoakFault::WrongShape,
        streaming: false,
    };
    let streamed = SoakCall {
        streaming: true,
        ..whole
    };
    let blocking = configure!(onellm_blocking::Client::builder(), server)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tokio_client = runtime
        .block_on(async { configure!(onellm_tokio::Client::builder(), server).build() })
        .unwrap();
    let kinds = [
        ("blocking whole", blocking.chat(request(&whole)).err()),
        (
            "blocking stream",
            blocking
                .chat_stream(request(&streamed))
                .find_map(Result::err),
        ),
        (
            "tokio whole",
            runtime.block_on(tokio_client.chat(request(&whole))).err(),
        ),
        (
            "tokio stream",
            runtime.block_on(async {
                let mut stream = tokio_client.chat_stream(request(&streamed));
                while let Some(item) = next_item(&mut stream).await {
                    if let Err(error) = item {
                        return Some(error);
                    }
                }
                None
            }),
        ),
    ];
    let wrong: Vec<String> = kinds
        .iter()
        .filter(|(_, error)| error.as_ref().map(Error::kind) != Some(ErrorKind::UnexpectedResponse))
        .map(|(what, error)| format!("{what}: {:?}", error.as_ref().map(|e| e.to_string())))
        .collect();
    assert!(
        wrong.is_empty(),
        "not UnexpectedResponse:\n{}",
        wrong.join("\n")
    );
}

/// The watchdog fails the test on a call in flight past its limit.
#[test]
#[should_panic(expected = "a hang")]
fn watchdog_catches_a_call_past_its_limit() {
    let _one = one_at_a_time();
    let server = FakeProvider::start();
    let tally = Tally::new(1);
    let run = Run::new(1, 0);
    // A call that started and never ends; its worker never finishes either.
    assert!(matches!(run.next(0, &tally), Next::Call(..)));
    watch(&run, &tally, &server, Duration::from_millis(100), |run| {
        run.running.load(Ordering::SeqCst) == 0
    });
}

/// The checks themselves: each kind of wrong delivery is caught.
#[test]
fn verdict_catches_lost_duplicated_and_misclassified_outcomes() {
    let clean = soak::call(0);
    assert_eq!(clean.fault, SoakFault::None);
    let text = clean.text();
    let words: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
    let chunk = |piece: &str| {
        Ok(ChatCompletionChunk::new("c", "m", 0).with_delta(0, onellm_core::Delta::text(piece)))
    };
    let completion = |text: &str| -> ChatCompletion {
        serde_json::from_value(serde_json::json!({
            "id": "c", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                "finish_reason": "stop"}]
        }))
        .unwrap()
    };
    let stream = |pieces: &[String], whole: &str| Delivered::Stream {
        items: pieces.iter().map(|p| chunk(p)).collect(),
        ended: true,
        completion: Some(completion(whole)),
    };

    assert_eq!(verdict(&clean, &stream(&words, &text)), Ok("text"));
    let mut duplicated = words.clone();
    duplicated.insert(1, words[1].clone());
    assert!(verdict(&clean, &stream(&duplicated, &text)).is_err());
    let lost = words[1..].to_vec();
    assert!(verdict(&clean, &stream(&lost, &text)).is_err());
    assert!(verdict(&clean, &stream(&words, "other")).is_err());
    let runaway = Delivered::Stream {
        items: Vec::new(),
        ended: false,
        completion: None,
    };
    assert!(verdict(&clean, &runaway).is_err());

    assert_eq!(
        verdict(&clean, &Delivered::Whole(Ok(completion(&text)))),
        Ok("text")
    );
    assert!(verdict(&clean, &Delivered::Whole(Ok(completion("")))).is_err());
    let connection = || Error::new(ErrorKind::Connection, "reset");
    assert!(verdict(&clean, &Delivered::Whole(Err(connection()))).is_err());

    let rate_limited = (0..18)
        .map(soak::call)
        .find(|c| c.fault == SoakFault::RateLimited && !c.streaming)
        .unwrap();
    assert!(verdict(
        &rate_limited,
        &Delivered::Whole(Ok(completion(&rate_limited.text())))
    )
    .is_err());
    assert!(verdict(&rate_limited, &Delivered::Whole(Err(connection()))).is_err());
    assert_eq!(
        verdict(
            &rate_limited,
            &Delivered::Whole(Err(Error::new(ErrorKind::RateLimit, "429")))
        ),
        Ok("rate_limit")
    );
}
