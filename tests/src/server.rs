//! The loopback server: accept loop, one thread per connection, scripted replies.

use std::collections::{HashSet, VecDeque};
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http1::{self, Reader, Request};
use crate::render::{self, Rendered, Route};
use crate::reply::{Fault, Reply};
use crate::soak;

/// How often blocked reads and the accept loop look at the stop flag.
const TICK: Duration = Duration::from_millis(20);
/// An idle keep-alive connection is closed after this long.
const IDLE_LIMIT: Duration = Duration::from_secs(30);
/// A `Fault::Hang` reply gives up after this long.
const HANG_LIMIT: Duration = Duration::from_secs(60);
/// The most connections served at once; further ones are closed as soon as they are
/// accepted. Above the 256 calls a soak run makes at once, because a client may open its
/// next connection a moment before the server has seen its last one close.
const MAX_CONNECTIONS: usize = 1024;

/// A request as the server received it. API keys in `authorization`, `x-api-key`,
/// `api-key` and `x-goog-api-key` are replaced by `[REDACTED]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Whether the key header was present (its value is not kept).
    pub had_key: bool,
    /// A one-way fingerprint of the key it carried ([`key_fingerprint`]), so a test can tell
    /// which key a call used without the server keeping any.
    pub key_fingerprint: Option<u64>,
}

/// The fingerprint [`RecordedRequest::key_fingerprint`] holds for a request sent with `key`
/// (a `Bearer ` prefix is not part of the key).
pub fn key_fingerprint(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

impl RecordedRequest {
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct State {
    replies: VecDeque<Reply>,
    /// With no reply queued, answer like a model would (the demo) instead of echoing.
    demo: bool,
    requests: Vec<RecordedRequest>,
    /// Soak calls whose first attempt a *once* fault failed (see [`soak`]).
    soak_failed_once: HashSet<u64>,
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
    /// Whether requests are kept for [`FakeProvider::requests`].
    recording: AtomicBool,
    connections: AtomicUsize,
    open: AtomicUsize,
    serial: AtomicU64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panicking connection thread must not take the whole server down.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }
}

/// A fake LLM provider on 127.0.0.1. Stops when dropped.
pub struct FakeProvider {
    address: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeProvider")
            .field("address", &self.address)
            .finish()
    }
}

impl FakeProvider {
    /// Binds a free port on 127.0.0.1 and starts serving.
    ///
    /// # Panics
    /// If no loopback port can be bound (a broken test machine).
    pub fn start() -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("local address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            stop: AtomicBool::new(false),
            recording: AtomicBool::new(true),
            connections: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            serial: AtomicU64::new(0),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("fake-provider-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("spawn accept thread");
        FakeProvider {
            address,
            shared,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The base URL to give an OpenAI-compatible provider (`…/v1`).
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The base URL to give the Anthropic provider (its adapter appends `/v1/messages`).
    pub fn anthropic_base_url(&self) -> String {
        self.url()
    }

    /// The base URL to give the Cohere provider (its adapter appends `/v2/chat`).
    pub fn cohere_base_url(&self) -> String {
        self.url()
    }

    /// The base URL to give the native Ollama provider (its adapter appends `/api/chat`).
    pub fn ollama_base_url(&self) -> String {
        self.url()
    }

    /// The base URL to give the Gemini provider on AI Studio (it appends
    /// `/models/{model}:generateContent`); Vertex AI's adapter takes [`url`](Self::url).
    pub fn gemini_base_url(&self) -> String {
        format!("{}/v1beta", self.url())
    }

    /// Queues a reply; replies are used in order by whichever requests come next.
    pub fn push(&self, reply: Reply) {
        self.shared.state().replies.push_back(reply);
    }

    /// With no reply queued, answer like a model would ([`demo_answer`]: a short reply that
    /// is not the prompt) instead of echoing the prompt — for demos (`chat --fake`).
    pub fn answer_like_a_model(&self) {
        self.shared.state().demo = true;
    }

    /// Every request received so far (while recording).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.state().requests.clone()
    }

    /// Whether to keep each request for [`requests`](Self::requests) (the default). A long
    /// run turns it off: kept requests grow the memory of the process the server runs in,
    /// which a soak run measures.
    pub fn record_requests(&self, on: bool) {
        self.shared.recording.store(on, Ordering::SeqCst);
    }

    /// How many TCP connections were accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// How many connections are open now.
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Waits (at most `limit`) until no connection is open; true if that happened.
    pub fn wait_until_idle(&self, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if self.open_connections() == 0 {
                return true;
            }
            thread::sleep(TICK);
        }
        false
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    while shared.running() {
        match listener.accept() {
            Ok((stream, _)) if shared.open.load(Ordering::SeqCst) < MAX_CONNECTIONS => {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                shared.open.fetch_add(1, Ordering::SeqCst);
                let connection_shared = Arc::clone(&shared);
                let spawned = thread::Builder::new()
                    .name("fake-provider-conn".into())
                    .spawn(move || {
                        let _ = serve_connection(&stream, &connection_shared);
                        let _ = stream.shutdown(Shutdown::Both);
                        connection_shared.open.fetch_sub(1, Ordering::SeqCst);
                    });
                match spawned {
                    Ok(handle) => workers.push(handle),
                    Err(_) => {
                        shared.open.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                workers.retain(|worker| !worker.is_finished());
            }
            Ok((stream, _)) => drop(stream),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(TICK / 4),
            Err(_) => thread::sleep(TICK),
        }
    }
    for worker in workers {
        let _ = worker.join();
    }
}

fn redact(headers: &[(String, String)]) -> (Vec<(String, String)>, bool, Option<u64>) {
    let mut had_key = false;
    let mut fingerprint = None;
    let headers = headers
        .iter()
        .map(|(name, value)| {
            let secret = ["authorization", "x-api-key", "api-key", "x-goog-api-key"]
                .iter()
                .any(|s| name.eq_ignore_ascii_case(s));
            had_key |= secret;
            if secret {
                let key = value.strip_prefix("Bearer ").unwrap_or(value);
                fingerprint = Some(key_fingerprint(key));
            }
            let value = if secret {
                "[REDACTED]".to_owned()
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect();
    (headers, had_key, fingerprint)
}

fn serve_connection(stream: &TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(TICK))?;
    let keep_going = || shared.running();
    let mut reader = Reader {
        stream,
        buffer: Vec::new(),
        keep_going: &keep_going,
        idle_limit: IDLE_LIMIT,
    };
    while shared.running() {
        let Some(request) = reader.read_request()? else {
            return Ok(());
        };
        let reply = {
            let mut state = shared.state();
            if shared.recording.load(Ordering::Relaxed) {
                let (headers, had_key, key_fingerprint) = redact(&request.headers);
                state.requests.push(RecordedRequest {
                    method: request.method.clone(),
                    path: request.path.clone(),
                    headers,
                    body: String::from_utf8_lossy(&request.body).into_owned(),
                    had_key,
                    key_fingerprint,
                });
            }
            match state.replies.pop_front() {
                Some(reply) => reply,
                None => default_reply(&request.path, &request.body, &mut state),
            }
        };
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if !respond(stream, shared, &request, &reply)? || close {
            return Ok(());
        }
    }
    Ok(())
}

/// The reply when none is queued: an echo, except that a model named `fail-NNN` (any
/// provider prefix: `openai/fail-401`) answers with HTTP status NNN, so a program can show a
/// fallback against the fake provider without scripting it, and a model named
/// `soak-{fault}-{id}` gets that call's reply (see [`soak`]). Gemini's model is in the path.
fn default_reply(path: &str, body: &[u8], state: &mut State) -> Reply {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let model = json
        .get("model")
        .and_then(Value::as_str)
        .or_else(|| render::gemini::model_of(path));
    if let Some((fault, id)) = model.and_then(soak::parse_model) {
        return soak::reply(fault, id, &mut state.soak_failed_once);
    }
    let status = model
        .and_then(|model| model.strip_prefix("fail-"))
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|code| (400..=599).contains(code));
    match status {
        Some(status) => Reply::status(status),
        None if state.demo => Reply::text(demo_answer(&render::last_user_text(&json))),
        None => Reply::echo(),
    }
}

/// A short, plausible reply to `prompt` for the offline demo: not the prompt, and honest
/// about where it comes from.
pub fn demo_answer(prompt: &str) -> String {
    let lower = prompt.to_lowercase();
    let words = prompt.split_whitespace().count();
    let greeting = ["hello", "hi", "hey", "bonjour", "hola"]
        .iter()
        .any(|word| {
            lower
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w == *word)
        });
    if greeting {
        "Hello! I'm OneLLM's offline fake provider: no model ran, but the client, its \
         retries, fallbacks and streaming did."
            .to_owned()
    } else if lower.contains("stream") {
        "Here is a reply streamed in pieces, chunk by chunk, as a provider would send it."
            .to_owned()
    } else if prompt.trim_end().ends_with('?') {
        format!(
            "A fine question of {words} words. An offline fake cannot answer it, but a real \
             model behind the same call would."
        )
    } else {
        format!(
            "Understood: {words} words received. This answer comes from OneLLM's offline fake \
             provider."
        )
    }
}

/// Sleeps `delay` in ticks, returning early (false) when the server stops.
fn pause(shared: &Shared, delay: Duration) -> bool {
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if !shared.running() {
            return false;
        }
        thread::sleep(TICK.min(until.saturating_duration_since(Instant::now())));
    }
    true
}

/// Writes the reply; returns whether the connection may be kept alive.
fn respond(
    stream: &TcpStream,
    shared: &Shared,
    request: &Request,
    reply: &Reply,
) -> io::Result<bool> {
    let fault = reply.fault;
    match fault {
        Some(Fault::ResetBeforeHeaders) => return Ok(false),
        Some(Fault::Hang) => {
            pause(shared, HANG_LIMIT);
            return Ok(false);
        }
        _ => {}
    }
    if !pause(shared, reply.slow_headers) {
        return Ok(false);
    }
    let mut json: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    // Gemini names the model in the path, not the body.
    if let (Some(model), Value::Object(body)) = (render::gemini::model_of(&request.path), &mut json)
    {
        body.entry("model").or_insert_with(|| model.into());
    }
    let serial = shared.serial.fetch_add(1, Ordering::SeqCst);
    let route = Route::of(&request.path);
    let (rendered, content_type) = match route {
        Route::Media(media) if reply.is_answer() => {
            let typed = render::media::render(
                media,
                &request.body,
                request.header("content-type"),
                &json,
                serial,
            );
            let (status, body) = (typed.status, typed.body);
            (Rendered::Whole { status, body }, typed.content_type)
        }
        _ => (
            render::render(route, &json, reply, serial),
            "application/json",
        ),
    };
    let mut headers = vec![("x-request-id".to_owned(), format!("req_fake_{serial}"))];
    headers.extend(reply.headers.iter().cloned());
    if reply.gzip {
        headers.push(("content-encoding".to_owned(), "gzip".to_owned()));
    }
    match rendered {
        Rendered::Whole { status, body } => {
            let body = if reply.gzip { gzip_whole(&body)? } else { body };
            let head = |length: usize| {
                http1::write_head(stream, status, content_type, Some(length), &headers)
            };
            match fault {
                Some(Fault::ResetAfterHeaders) => {
                    head(body.len())?;
                    return Ok(false);
                }
                Some(Fault::ResetMidStream) => {
                    head(body.len())?;
                    write_raw(stream, &body[..body.len() / 2])?;
                    pause(shared, reply.slow_body);
                    return Ok(false);
                }
                Some(Fault::Truncated) => {
                    let half = &body[..body.len() / 2];
                    head(half.len())?;
                    write_raw(stream, half)?;
                    return Ok(true);
                }
                _ => {}
            }
            head(body.len())?;
            if reply.slow_body.is_zero() {
                write_raw(stream, &body)?;
            } else {
                let (first, second) = body.split_at(body.len() / 2);
                write_raw(stream, first)?;
                if !pause(shared, reply.slow_body) {
                    return Ok(false);
                }
                write_raw(stream, second)?;
            }
            Ok(true)
        }
        Rendered::Stream { events, terminal } => {
            http1::write_head(stream, 200, route.stream_content_type(), None, &headers)?;
            if fault == Some(Fault::ResetAfterHeaders) {
                return Ok(false);
            }
            let cut = match fault {
                Some(Fault::ResetMidStream) => events.len() / 2 + 1,
                _ => events.len(),
            };
            let mut gzip = reply
                .gzip
                .then(|| flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
            // Each event as sent: compressed and flushed on its own when gzip is on.
            let mut encode = |event: &[u8]| -> io::Result<Vec<u8>> {
                use std::io::Write;
                match &mut gzip {
                    None => Ok(event.to_vec()),
                    Some(encoder) => {
                        encoder.write_all(event)?;
                        encoder.flush()?;
                        Ok(std::mem::take(encoder.get_mut()))
                    }
                }
            };
            for (i, event) in events.iter().enumerate() {
                if i == cut {
                    return Ok(false);
                }
                if i > 0 && !pause(shared, reply.slow_body) {
                    return Ok(false);
                }
                http1::write_chunk(stream, &encode(event)?)?;
            }
            if fault != Some(Fault::Truncated) {
                if !pause(shared, reply.slow_body) {
                    return Ok(false);
                }
                http1::write_chunk(stream, &encode(&terminal)?)?;
            }
            if let Some(encoder) = gzip {
                let rest = encoder.finish()?;
                if !rest.is_empty() {
                    http1::write_chunk(stream, &rest)?;
                }
            }
            http1::write_last_chunk(stream)?;
            Ok(true)
        }
    }
}

fn gzip_whole(body: &[u8]) -> io::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(body)?;
    encoder.finish()
}

fn write_raw(mut stream: &TcpStream, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    stream.write_all(bytes)?;
    stream.flush()
}
