//! Incremental decoder for `text/event-stream` (server-sent events).
//!
//! Most providers stream completions as server-sent events, so this decoder
//! sits on the hot path of every streamed response. It follows the WHATWG
//! HTML "event stream interpretation" rules exactly, so that any chunking of
//! the same bytes by the transport yields the same events, and it is bounded
//! (see [`SseLimits`]) so a peer that never sends a line end cannot make it
//! buffer without limit.
//!
//! The decoder is sans-IO: feed it whatever bytes arrive with
//! [`SseDecoder::push`], pull complete events with [`SseDecoder::next_event`],
//! and call [`SseDecoder::finish`] when the transport reports end of stream.
//!
//! ```
//! use onellm_core::framing::SseDecoder;
//!
//! let mut decoder = SseDecoder::new();
//! // Chunk boundaries may fall anywhere, even inside a line or a CRLF.
//! decoder.push(b"event: delta\ndata: hel").unwrap();
//! assert!(decoder.next_event().is_none());
//! decoder.push(b"lo\r").unwrap();
//! decoder.push(b"\n\r\n").unwrap();
//!
//! let event = decoder.next_event().unwrap();
//! assert_eq!(event.event.as_deref(), Some("delta"));
//! assert_eq!(event.data, "hello");
//! assert!(decoder.next_event().is_none());
//!
//! // Nothing was left half-received.
//! assert!(!decoder.finish());
//! ```

use std::collections::VecDeque;
use std::fmt;

use super::error::FramingError;

/// How many handed-back `data` buffers a decoder keeps for later events (see
/// [`SseDecoder::recycle`]): enough for the events one large read completes at once.
const SPARE_BUFFERS: usize = 32;

/// The largest handed-back `data` buffer kept, so the spares hold at most
/// `SPARE_BUFFERS × SPARE_BUFFER_BYTES` (512 KiB) however large the events were.
const SPARE_BUFFER_BYTES: usize = 16 * 1024;

/// The UTF-8 encoding of U+FEFF, which the spec strips once from the start
/// of a stream.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// One dispatched SSE event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field. `None` when absent or empty, which the spec treats
    /// as the default type `"message"`; providers use this field to tell
    /// event kinds apart (e.g. Anthropic's `message_start`).
    pub event: Option<String>,
    /// All `data:` lines of the event joined by `'\n'` (the spec removes the
    /// final trailing LF). Invalid UTF-8 is replaced with U+FFFD, as the spec
    /// decodes the stream lossily.
    pub data: String,
    /// The stream's last event ID at dispatch time (the spec's "last event ID
    /// buffer"), which persists across events until the server changes it.
    /// `None` if never set or reset by an empty `id:`, because the spec
    /// treats an empty ID as "no ID" (no `Last-Event-ID` on reconnect).
    pub id: Option<String>,
    /// The `retry:` reconnection delay in milliseconds, if this event's block
    /// carried a valid one (ASCII digits only, fitting in a `u64`).
    pub retry: Option<u64>,
}

/// Memory bounds for [`SseDecoder`].
///
/// Without bounds a peer that never ends a line, or never ends an event,
/// would make the decoder buffer the whole stream. The defaults are far above
/// anything a model provider legitimately sends in one line or one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseLimits {
    /// Longest accepted line in raw bytes, excluding its line terminator.
    pub max_line_bytes: usize,
    /// Largest accepted event data in bytes, measured after UTF-8 decoding
    /// with the data lines joined by `'\n'` (i.e. `SseEvent::data.len()`).
    pub max_event_bytes: usize,
}

impl Default for SseLimits {
    fn default() -> Self {
        Self {
            max_line_bytes: 1024 * 1024,
            max_event_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Progress matching the optional byte order mark at the start of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BomState {
    /// Still at the start of the stream; this many BOM bytes have been held
    /// back, because they may yet turn out to be a BOM.
    Pending(u8),
    /// The start of the stream has been decided; no more stripping.
    Done,
}

/// Incremental, bounded server-sent-events decoder.
///
/// Bytes are scanned exactly once: complete lines are parsed straight out of
/// the pushed slice, and only the unterminated tail of a push is copied into
/// an internal buffer, so a large push costs no extra copy and no allocation
/// per line.
pub struct SseDecoder {
    limits: SseLimits,
    /// Raw bytes of the current, not yet terminated line. Never contains CR
    /// or LF, so it never needs rescanning.
    line: Vec<u8>,
    /// The previous push ended in CR; an LF starting the next push belongs to
    /// the same line end.
    skip_lf: bool,
    bom: BomState,
    /// The spec's data buffer: every data line followed by LF.
    data: String,
    /// The spec's event type buffer.
    event_type: String,
    /// The spec's last event ID buffer.
    last_id: String,
    /// Valid `retry:` seen in the current event block.
    block_retry: Option<u64>,
    /// Latest valid `retry:` seen anywhere (the spec's reconnection time).
    reconnection_time: Option<u64>,
    /// Dispatched events not yet pulled.
    ready: VecDeque<SseEvent>,
    /// Emptied `data` buffers of events already handled, reused for the next events' data
    /// so a stream does not allocate a buffer per event (bounded, see [`SPARE_BUFFERS`]).
    spare: Vec<String>,
    /// Sticky error; once set the decoder accepts no more input.
    error: Option<FramingError>,
}

impl fmt::Debug for SseDecoder {
    // Sizes only: buffered payload may be large or sensitive.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseDecoder")
            .field("limits", &self.limits)
            .field("buffered_line_bytes", &self.line.len())
            .field("buffered_data_bytes", &self.data.len())
            .field("skip_lf", &self.skip_lf)
            .field("bom", &self.bom)
            .field("ready_events", &self.ready.len())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SseDecoder {
    /// A decoder with the default [`SseLimits`], suitable for provider streams.
    pub fn new() -> Self {
        Self::with_limits(SseLimits::default())
    }

    /// A decoder with custom bounds, for callers that need tighter memory
    /// control or expect unusually large events.
    pub fn with_limits(limits: SseLimits) -> Self {
        Self {
            limits,
            line: Vec::new(),
            skip_lf: false,
            bom: BomState::Pending(0),
            data: String::new(),
            event_type: String::new(),
            last_id: String::new(),
            block_retry: None,
            reconnection_time: None,
            ready: VecDeque::new(),
            spare: Vec::new(),
            error: None,
        }
    }

    /// Feed the next chunk of the stream, split anywhere the transport likes.
    ///
    /// Events completed by this chunk become available from
    /// [`next_event`](Self::next_event). On a limit violation the decoder
    /// stops at the offending byte: events completed before it stay
    /// available, nothing after it is decoded, and every later push returns
    /// the same error, so a broken stream cannot silently resume mid-event.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), FramingError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let result = self.take_bom(bytes).and_then(|rest| self.feed(rest));
        if let Err(err) = &result {
            self.fail(err.clone());
        }
        result
    }

    /// Pull the next complete event, oldest first.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        self.ready.pop_front()
    }

    /// Hand back an event that has been handled, so its `data` buffer carries a later
    /// event's data instead of a new allocation (the chat stream decoders, which only read
    /// each event, do this for every event).
    pub(crate) fn recycle(&mut self, event: SseEvent) {
        let mut data = event.data;
        if self.spare.len() < SPARE_BUFFERS && data.capacity() <= SPARE_BUFFER_BYTES {
            data.clear();
            self.spare.push(data);
        }
    }

    /// Signal end of input.
    ///
    /// The spec discards an event that was not terminated by a blank line, so
    /// a truncated stream never yields a half-received event. Returns `true`
    /// if anything was discarded that way (a partial line, or data lines
    /// without the closing blank line), so callers can report truncation.
    ///
    /// Already dispatched events stay available. The decoder is then ready
    /// for a fresh stream (e.g. after a reconnect), keeping the last event ID
    /// and reconnection time as the spec does across reconnections. After an
    /// error this does nothing and returns `false`: the error already
    /// reported the loss.
    pub fn finish(&mut self) -> bool {
        if self.error.is_some() {
            return false;
        }
        let held_bom = matches!(self.bom, BomState::Pending(n) if n > 0);
        let discarded = held_bom || !self.line.is_empty() || !self.data.is_empty();
        self.line.clear();
        self.data.clear();
        self.event_type.clear();
        self.block_retry = None;
        self.skip_lf = false;
        self.bom = BomState::Pending(0);
        discarded
    }

    /// The stream's current last event ID, for a `Last-Event-ID` header when
    /// reconnecting; it can change without an event being dispatched.
    pub fn last_event_id(&self) -> Option<&str> {
        (!self.last_id.is_empty()).then_some(self.last_id.as_str())
    }

    /// The latest valid `retry:` value (milliseconds) seen on the stream,
    /// including in blocks that dispatched no event (e.g. `retry: 5000\n\n`).
    pub fn reconnection_time(&self) -> Option<u64> {
        self.reconnection_time
    }

    /// Enter the sticky error state and release buffered memory.
    fn fail(&mut self, err: FramingError) {
        self.error = Some(err);
        self.line = Vec::new();
        self.data = String::new();
        self.spare = Vec::new();
        self.event_type = String::new();
        self.block_retry = None;
    }

    /// Strip a BOM at the very start of the stream, holding back a possible
    /// BOM prefix until enough bytes arrive to decide.
    fn take_bom<'a>(&mut self, mut input: &'a [u8]) -> Result<&'a [u8], FramingError> {
        while let BomState::Pending(matched) = self.bom {
            let Some((&byte, tail)) = input.split_first() else {
                break;
            };
            let held = usize::from(matched);
            if BOM.get(held) == Some(&byte) {
                input = tail;
                self.bom = if held + 1 >= BOM.len() {
                    BomState::Done
                } else {
                    BomState::Pending(matched + 1)
                };
            } else {
                // Not a BOM after all: the held-back bytes are content.
                self.bom = BomState::Done;
                self.feed(BOM.get(..held).unwrap_or_default())?;
            }
        }
        Ok(input)
    }

    /// Split `input` into lines, parsing each complete one and buffering the
    /// unterminated tail.
    fn feed(&mut self, mut input: &[u8]) -> Result<(), FramingError> {
        if self.skip_lf {
            match input.split_first() {
                None => return Ok(()),
                Some((&b'\n', tail)) => input = tail,
                Some(_) => {}
            }
            self.skip_lf = false;
        }
        while let Some(pos) = memchr::memchr2(b'\r', b'\n', input) {
            let Some((content, rest)) = input.split_at_checked(pos) else {
                break;
            };
            let Some((&terminator, rest)) = rest.split_first() else {
                break;
            };
            self.complete_line(content)?;
            input = rest;
            if terminator == b'\r' {
                match input.split_first() {
                    Some((&b'\n', tail)) => input = tail,
                    Some(_) => {}
                    // The LF of a CRLF may start the next push.
                    None => self.skip_lf = true,
                }
            }
        }
        self.extend_line(input)
    }

    /// Append unterminated bytes to the current line, enforcing the line
    /// limit before copying so memory stays bounded.
    fn extend_line(&mut self, bytes: &[u8]) -> Result<(), FramingError> {
        let limit = self.limits.max_line_bytes;
        if self.line.len().saturating_add(bytes.len()) > limit {
            return Err(FramingError::LineTooLong { limit });
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// A line end arrived; `tail` is the part of the line in this push.
    fn complete_line(&mut self, tail: &[u8]) -> Result<(), FramingError> {
        if self.line.is_empty() {
            // Common case: the whole line is in this push, parse it in place.
            let limit = self.limits.max_line_bytes;
            if tail.len() > limit {
                return Err(FramingError::LineTooLong { limit });
            }
            return self.process_line(tail);
        }
        self.extend_line(tail)?;
        // Detach the buffer to parse it while mutating `self`; no allocation.
        let line = std::mem::take(&mut self.line);
        let result = self.process_line(&line);
        self.line = line;
        self.line.clear();
        result
    }

    /// Interpret one complete line (without terminator) per the spec.
    ///
    /// Working on raw bytes is equivalent to the spec's decode-then-parse:
    /// CR, LF, `:` and space are ASCII, which UTF-8 (lossy) decoding never
    /// merges into a multi-byte sequence, and the field names compared
    /// against are ASCII.
    fn process_line(&mut self, line: &[u8]) -> Result<(), FramingError> {
        let (field, value) = match memchr::memchr(b':', line) {
            // A leading colon marks a comment.
            Some(0) => return Ok(()),
            Some(colon) => {
                let field = line.get(..colon).unwrap_or_default();
                let value = line.get(colon + 1..).unwrap_or_default();
                (field, value.strip_prefix(b" ").unwrap_or(value))
            }
            None if line.is_empty() => {
                self.dispatch();
                return Ok(());
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => return self.append_data(value),
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&String::from_utf8_lossy(value));
            }
            // An id containing NUL is ignored entirely.
            b"id" if memchr::memchr(0, value).is_none() => {
                self.last_id.clear();
                self.last_id.push_str(&String::from_utf8_lossy(value));
            }
            b"retry" => {
                if let Some(ms) = parse_retry(value) {
                    self.block_retry = Some(ms);
                    self.reconnection_time = Some(ms);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Append one data line, enforcing the event size limit before growing.
    fn append_data(&mut self, value: &[u8]) -> Result<(), FramingError> {
        // `from_utf8` first: it is several times faster than the lossy conversion's
        // chunk-by-chunk walk, and a valid line (nearly all of them) needs nothing else.
        let text = match std::str::from_utf8(value) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(value),
        };
        // The buffered trailing LF becomes the joiner, so this is exactly the
        // dispatched `data` length if the event ended after this line.
        let size = self.data.len().saturating_add(text.len());
        let limit = self.limits.max_event_bytes;
        if size > limit {
            return Err(FramingError::EventTooLarge { limit });
        }
        // A new event's buffer was handed out with the last one: take a handed-back one
        // (see `recycle`), and size it once for its (usually only) line instead of growing
        // it from nothing, a realloc per doubling.
        if self.data.is_empty() {
            if self.data.capacity() == 0 {
                self.data = self.spare.pop().unwrap_or_default();
            }
            self.data.reserve_exact(text.len() + 1);
        }
        self.data.push_str(&text);
        self.data.push('\n');
        Ok(())
    }

    /// A blank line ends the event block.
    fn dispatch(&mut self) {
        let retry = self.block_retry.take();
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        if self.data.ends_with('\n') {
            self.data.pop();
        }
        let event = if self.event_type.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.event_type))
        };
        let id = self.last_event_id().map(str::to_owned);
        self.ready.push_back(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
            id,
            retry,
        });
    }
}

/// A `retry:` value counts only if it is non-empty ASCII digits; a value too
/// large for `u64` is ignored rather than saturated, as it is not a usable
/// delay.
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &byte| {
        if !byte.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(byte - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ev(data: &str) -> SseEvent {
        SseEvent {
            data: data.to_owned(),
            ..SseEvent::default()
        }
    }

    fn typed(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: Some(event.to_owned()),
            data: data.to_owned(),
            ..SseEvent::default()
        }
    }

    fn drain(decoder: &mut SseDecoder, out: &mut Vec<SseEvent>) {
        while let Some(event) = decoder.next_event() {
            out.push(event);
        }
    }

    /// Decode `chunks` as consecutive pushes, draining after each; returns
    /// the events, the `finish()` result and the first error (pushing stops
    /// at it).
    fn decode_chunks_with(
        limits: SseLimits,
        chunks: &[&[u8]],
    ) -> (Vec<SseEvent>, bool, Option<FramingError>) {
        let mut decoder = SseDecoder::with_limits(limits);
        let mut events = Vec::new();
        for chunk in chunks {
            let result = decoder.push(chunk);
            drain(&mut decoder, &mut events);
            if let Err(err) = result {
                return (events, false, Some(err));
            }
        }
        let truncated = decoder.finish();
        drain(&mut decoder, &mut events);
        (events, truncated, None)
    }

    fn decode_chunks(chunks: &[&[u8]]) -> (Vec<SseEvent>, bool) {
        let (events, truncated, err) = decode_chunks_with(SseLimits::default(), chunks);
        assert_eq!(err, None);
        (events, truncated)
    }

    fn decode(input: &[u8]) -> Vec<SseEvent> {
        decode_chunks(&[input]).0
    }

    /// Feed `input` split at every single point (two pushes) and one byte
    /// at a time; every way must agree with a single push. Returns the
    /// single-push result.
    fn assert_split_invariant_with(
        limits: SseLimits,
        input: &[u8],
    ) -> (Vec<SseEvent>, bool, Option<FramingError>) {
        let whole = decode_chunks_with(limits, &[input]);
        for split in 0..=input.len() {
            let (a, b) = input.split_at(split);
            assert_eq!(
                decode_chunks_with(limits, &[a, b]),
                whole,
                "split at {split} of {input:?}"
            );
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(
            decode_chunks_with(limits, &bytes),
            whole,
            "byte at a time: {input:?}"
        );
        whole
    }

    fn assert_split_invariant(input: &[u8]) -> Vec<SseEvent> {
        let (events, _, err) = assert_split_invariant_with(SseLimits::default(), input);
        assert_eq!(err, None);
        events
    }

    /// A deliberately naive model of the spec, straight from its prose:
    /// decode the whole stream, strip one BOM, split lines, interpret.
    fn reference(input: &[u8]) -> (Vec<SseEvent>, bool) {
        let decoded = String::from_utf8_lossy(input);
        let mut rest: &str = decoded.strip_prefix('\u{FEFF}').unwrap_or(&decoded);
        let (mut events, mut data, mut ty, mut id, mut retry) = (
            Vec::new(),
            String::new(),
            String::new(),
            String::new(),
            None,
        );
        while let Some(end) = rest.find(['\r', '\n']) {
            let line = &rest[..end];
            let after = &rest[end..];
            rest = after.strip_prefix("\r\n").unwrap_or(&after[1..]);
            if line.is_empty() {
                let block_retry = retry.take();
                if data.is_empty() {
                    ty.clear();
                    continue;
                }
                if data.ends_with('\n') {
                    data.pop();
                }
                events.push(SseEvent {
                    event: (!ty.is_empty()).then(|| ty.clone()),
                    data: std::mem::take(&mut data),
                    id: (!id.is_empty()).then(|| id.clone()),
                    retry: block_retry,
                });
                ty.clear();
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line, ""),
            };
            match field {
                "event" => ty = value.to_owned(),
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                }
                "id" if !value.contains('\0') => id = value.to_owned(),
                "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                    if let Ok(ms) = value.parse() {
                        retry = Some(ms);
                    }
                }
                _ => {}
            }
        }
        (events, !rest.is_empty() || !data.is_empty())
    }

    const OPENAI: &[u8] = b"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n\
data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"H\xc3\xa9llo\"}}]}\n\n\
data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
data: [DONE]\n\n";

    const ANTHROPIC: &[u8] = b"event: message_start\n\
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"role\":\"assistant\"}}\n\n\
event: content_block_start\n\
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: ping\n\
data: {\"type\": \"ping\"}\n\n\
event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\xe2\x82\xac5\"}}\n\n\
event: message_stop\n\
data: {\"type\":\"message_stop\"}\n\n";

    const GEMINI: &[u8] = b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"}}]}\r\n\r\n\
data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" \xf0\x9f\x98\x80\"}],\"role\":\"model\"},\"finishReason\":\"STOP\"}]}\r\n\r\n";

    #[test]
    fn recycled_buffers_carry_later_events_and_stay_bounded() {
        let mut decoder = SseDecoder::new();
        decoder
            .push(b"data: a long first event\n\ndata: second\n\n")
            .unwrap();
        let mut handled = Vec::new();
        drain(&mut decoder, &mut handled);
        assert_eq!(handled, [ev("a long first event"), ev("second")]);
        for event in handled {
            decoder.recycle(event);
        }
        decoder.push(b"data: x\n\ndata: y\ndata: z\n\n").unwrap();
        let mut later = Vec::new();
        drain(&mut decoder, &mut later);
        assert_eq!(
            later,
            [ev("x"), ev("y\nz")],
            "no old bytes in a reused buffer"
        );
        // A large buffer is not kept, and neither is any beyond the bound.
        decoder.recycle(ev(&"x".repeat(SPARE_BUFFER_BYTES + 1)));
        for _ in 0..SPARE_BUFFERS + 5 {
            decoder.recycle(ev("small"));
        }
        assert_eq!(decoder.spare.len(), SPARE_BUFFERS);
        assert!(decoder
            .spare
            .iter()
            .all(|data| data.capacity() <= SPARE_BUFFER_BYTES));
    }

    #[test]
    fn openai_stream() {
        let events = assert_split_invariant(OPENAI);
        assert_eq!(events.len(), 4);
        assert!(events.iter().all(|e| e.event.is_none() && e.id.is_none()));
        assert!(events[1].data.contains("H\u{e9}llo"));
        assert_eq!(events[3], ev("[DONE]"));
        assert_eq!(reference(OPENAI), (events, false));
    }

    #[test]
    fn anthropic_stream() {
        let events = assert_split_invariant(ANTHROPIC);
        let types: Vec<_> = events.iter().map(|e| e.event.as_deref()).collect();
        assert_eq!(
            types,
            [
                Some("message_start"),
                Some("content_block_start"),
                Some("ping"),
                Some("content_block_delta"),
                Some("message_stop"),
            ]
        );
        assert_eq!(events[2].data, "{\"type\": \"ping\"}");
        assert!(events[3].data.contains("\u{20ac}5"));
        assert_eq!(reference(ANTHROPIC), (events, false));
    }

    #[test]
    fn gemini_stream_crlf() {
        let events = assert_split_invariant(GEMINI);
        assert_eq!(events.len(), 2);
        assert!(events[1].data.contains(" \u{1f600}"));
        assert!(!events[0].data.contains('\r'));
        assert_eq!(reference(GEMINI), (events, false));
    }

    #[test]
    fn line_endings_lf_cr_crlf() {
        let expected = vec![ev("a\nb\nc")];
        for input in [
            &b"data: a\ndata: b\ndata: c\n\n"[..],
            b"data: a\rdata: b\rdata: c\r\r",
            b"data: a\r\ndata: b\r\ndata: c\r\n\r\n",
            b"data: a\rdata: b\r\ndata: c\n\r",
        ] {
            assert_eq!(assert_split_invariant(input), expected, "{input:?}");
        }
    }

    #[test]
    fn crlf_split_across_pushes_is_one_line_end() {
        // Were the LF counted separately it would be a blank line and
        // dispatch "a" alone.
        let (events, truncated) = decode_chunks(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(events, vec![ev("a\nb")]);
        assert!(!truncated);
        // A CR followed by a push starting with anything else is still a
        // complete line end.
        let (events, _) = decode_chunks(&[b"data: a\r", b"\r"]);
        assert_eq!(events, vec![ev("a")]);
        // An empty push between CR and LF does not break the pair.
        let (events, _) = decode_chunks(&[b"data: a\r", b"", b"\ndata: b\n\n"]);
        assert_eq!(events, vec![ev("a\nb")]);
    }

    #[test]
    fn bom_stripped_once_at_start() {
        assert_eq!(
            assert_split_invariant(b"\xef\xbb\xbfdata: x\n\n"),
            vec![ev("x")]
        );
        let (events, _) = decode_chunks(&[b"\xef", b"\xbb", b"\xbfdata: x\n\n"]);
        assert_eq!(events, vec![ev("x")]);
        // Without the strip the first field would be "\u{feff}data".
        // A second BOM is content: the field name no longer matches.
        assert_eq!(decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n"), vec![]);
        // A BOM later in the stream is not stripped.
        assert_eq!(
            decode(b"data: x\n\n\xef\xbb\xbfdata: y\n\ndata: z\n\n"),
            vec![ev("x"), ev("z")]
        );
        assert_eq!(decode(b"data: \xef\xbb\xbfy\n\n"), vec![ev("\u{feff}y")]);
    }

    #[test]
    fn bom_prefix_that_is_not_a_bom_is_content() {
        // EF BB then a non-BF byte: the held bytes become (invalid) content.
        assert_eq!(
            assert_split_invariant(b"\xef\xbbdata: x\n\ndata: y\n\n"),
            vec![ev("y")]
        );
        assert_eq!(
            assert_split_invariant(b"\xef\xbb\ndata: y\n\n"),
            vec![ev("y")]
        );
        // Only part of a BOM and then end of stream: a discarded partial line.
        let mut decoder = SseDecoder::new();
        decoder.push(b"\xef\xbb").unwrap();
        assert!(decoder.finish());
    }

    #[test]
    fn comments_ignored() {
        assert_eq!(
            assert_split_invariant(b": keep-alive\n:\ndata: x\n: mid\ndata: y\n\n:bye\n\n"),
            vec![ev("x\ny")]
        );
        // A comment alone is not an event.
        assert_eq!(decode(b": ping\n\n"), vec![]);
    }

    #[test]
    fn multi_line_data_and_empty_data_lines() {
        assert_eq!(
            assert_split_invariant(b"data: one\ndata: two\ndata\ndata:\ndata: three\n\n"),
            vec![ev("one\ntwo\n\n\nthree")]
        );
        // One empty data line dispatches an event with empty data.
        assert_eq!(assert_split_invariant(b"data\n\n"), vec![ev("")]);
        // Only the final LF is removed.
        assert_eq!(decode(b"data:\ndata:\n\n"), vec![ev("\n")]);
    }

    #[test]
    fn single_space_after_colon_is_removed() {
        assert_eq!(decode(b"data:x\n\n"), vec![ev("x")]);
        assert_eq!(decode(b"data: x\n\n"), vec![ev("x")]);
        assert_eq!(decode(b"data:  x\n\n"), vec![ev(" x")]);
        assert_eq!(decode(b"data:\tx\n\n"), vec![ev("\tx")]);
        assert_eq!(decode(b"data: x: y \n\n"), vec![ev("x: y ")]);
        assert_eq!(decode(b"event:  t\ndata\n\n"), vec![typed(" t", "")]);
    }

    #[test]
    fn field_without_colon_has_empty_value() {
        assert_eq!(decode(b"data\ndata\n\n"), vec![ev("\n")]);
        // `event` without colon sets the empty type, i.e. the default.
        assert_eq!(decode(b"event: a\nevent\ndata: x\n\n"), vec![ev("x")]);
        // `id` without colon resets the last event id.
        let events = decode(b"id: 1\ndata: a\n\nid\ndata: b\n\n");
        assert_eq!(events[0].id.as_deref(), Some("1"));
        assert_eq!(events[1].id, None);
    }

    #[test]
    fn field_names_are_exact() {
        assert_eq!(
            decode(b"Data: x\ndata : y\n data: z\nDATA: w\nfoo: bar\ndata: ok\n\n"),
            vec![ev("ok")]
        );
    }

    #[test]
    fn id_persists_and_nul_is_ignored() {
        let events = assert_split_invariant(
            b"id: 7\ndata: a\n\ndata: b\n\nid: 8\0x\ndata: c\n\nid: 9\n\ndata: d\n\n",
        );
        let ids: Vec<_> = events.iter().map(|e| e.id.as_deref()).collect();
        assert_eq!(ids, [Some("7"), Some("7"), Some("7"), Some("9")]);
        let mut decoder = SseDecoder::new();
        assert_eq!(decoder.last_event_id(), None);
        decoder.push(b"id: abc\n\n").unwrap();
        assert_eq!(decoder.next_event(), None);
        assert_eq!(decoder.last_event_id(), Some("abc"));
        // The id survives finish(), as it does across a reconnect.
        assert!(!decoder.finish());
        decoder.push(b"data: x\n\n").unwrap();
        assert_eq!(decoder.next_event().unwrap().id.as_deref(), Some("abc"));
    }

    #[test]
    fn retry_requires_ascii_digits() {
        let retry = |input: &[u8]| decode(input).first().and_then(|e| e.retry);
        assert_eq!(retry(b"retry: 3000\ndata: x\n\n"), Some(3000));
        assert_eq!(retry(b"retry:0\ndata: x\n\n"), Some(0));
        assert_eq!(retry(b"retry: 1\nretry: 2\ndata: x\n\n"), Some(2));
        assert_eq!(retry(b"retry: 1\nretry: x\ndata: x\n\n"), Some(1));
        for bad in [
            &b"retry: 12a\n"[..],
            b"retry: -1\n",
            b"retry: +1\n",
            b"retry: 1.5\n",
            b"retry:  5\n",
            b"retry: 5 \n",
            b"retry:\n",
            b"retry\n",
            b"retry: \xd9\xa1\n",
            b"retry: 18446744073709551616\n",
        ] {
            let mut input = bad.to_vec();
            input.extend_from_slice(b"data: x\n\n");
            assert_eq!(retry(&input), None, "{bad:?}");
        }
        assert_eq!(
            retry(b"retry: 18446744073709551615\ndata: x\n\n"),
            Some(u64::MAX)
        );
        // retry belongs to its block only, but is remembered by the decoder.
        let mut decoder = SseDecoder::new();
        decoder.push(b"retry: 500\n\ndata: x\n\n").unwrap();
        assert_eq!(decoder.next_event(), Some(ev("x")));
        assert_eq!(decoder.reconnection_time(), Some(500));
    }

    #[test]
    fn event_type_resets_after_each_block() {
        assert_eq!(
            assert_split_invariant(b"event: a\ndata: 1\n\ndata: 2\n\nevent: b\n\ndata: 3\n\n"),
            vec![typed("a", "1"), ev("2"), ev("3")]
        );
        // An empty `event:` means the default type.
        assert_eq!(decode(b"event:\ndata: x\n\n"), vec![ev("x")]);
    }

    #[test]
    fn block_without_data_is_not_dispatched() {
        assert_eq!(
            assert_split_invariant(b"event: a\n\nid: 1\n\nretry: 10\n\n\n\n\ndata: x\n\n"),
            vec![SseEvent {
                id: Some("1".into()),
                ..ev("x")
            }]
        );
    }

    #[test]
    fn utf8_split_across_pushes() {
        let input = "data: caf\u{e9} \u{20ac} \u{1f600}\n\n".as_bytes();
        assert_eq!(
            assert_split_invariant(input),
            vec![ev("caf\u{e9} \u{20ac} \u{1f600}")]
        );
        // Invalid bytes are replaced, like the spec's lossy decode.
        assert_eq!(
            assert_split_invariant(b"data: a\xffb\xe2\x82\n\n"),
            vec![ev("a\u{fffd}b\u{fffd}")]
        );
        assert_eq!(
            decode(b"event: \xc3\xa9\nid: \xff\ndata: x\n\n"),
            vec![SseEvent {
                event: Some("\u{e9}".into()),
                id: Some("\u{fffd}".into()),
                ..ev("x")
            }]
        );
    }

    #[test]
    fn unterminated_final_event_is_discarded() {
        for (input, expect_truncated) in [
            (&b"data: a\n\ndata: b\n"[..], true),
            (b"data: a\n\ndata: b", true),
            (b"data: a\n\n: partial comment", true),
            (b"data: a\n\nevent: x\n", false),
            (b"data: a\n\n", false),
            (b"data: a\r\n\r", false),
            (b"data: a\n\n\n", false),
        ] {
            let (events, truncated) = decode_chunks(&[input]);
            assert_eq!(events, vec![ev("a")], "{input:?}");
            assert_eq!(truncated, expect_truncated, "{input:?}");
            assert_eq!(reference(input), (events, truncated), "{input:?}");
        }
        assert!(!SseDecoder::new().finish());
    }

    #[test]
    fn finish_starts_a_fresh_stream() {
        let mut decoder = SseDecoder::new();
        decoder
            .push(b"event: t\ndata: lost\ndata: partial")
            .unwrap();
        assert!(decoder.finish());
        assert_eq!(decoder.next_event(), None);
        // Nothing from the old stream leaks into the new one; a BOM at the
        // start of the new stream is stripped again.
        decoder.push(b"\xef\xbb\xbfdata: new\n\n").unwrap();
        assert_eq!(decoder.next_event(), Some(ev("new")));
        assert!(!decoder.finish());
    }

    #[test]
    fn events_queue_in_order() {
        let mut decoder = SseDecoder::new();
        decoder.push(b"data: 1\n\ndata: 2\n\ndata: 3").unwrap();
        assert_eq!(decoder.next_event(), Some(ev("1")));
        decoder.push(b"\n\n").unwrap();
        assert_eq!(decoder.next_event(), Some(ev("2")));
        assert_eq!(decoder.next_event(), Some(ev("3")));
        assert_eq!(decoder.next_event(), None);
    }

    #[test]
    fn line_limit_is_inclusive_and_errors_are_sticky() {
        let limits = SseLimits {
            max_line_bytes: 8,
            max_event_bytes: 1000,
        };
        // "data: ab" is exactly 8 bytes: fine, with any terminator.
        for input in [&b"data: ab\n\n"[..], b"data: ab\r\n\r\n", b"data: ab\r\r"] {
            let (events, _, err) = assert_split_invariant_with(limits, input);
            assert_eq!((events, err), (vec![ev("ab")], None));
        }
        // One byte more errors, whether or not a line end ever arrives, and
        // events before the offending line are still delivered.
        for input in [&b"data: 1\n\ndata: abc\n\n"[..], b"data: 1\n\ndata: abc"] {
            let (events, _, err) = assert_split_invariant_with(limits, input);
            assert_eq!(events, vec![ev("1")]);
            assert_eq!(err, Some(FramingError::LineTooLong { limit: 8 }));
        }
        let mut decoder = SseDecoder::with_limits(limits);
        let err = FramingError::LineTooLong { limit: 8 };
        assert_eq!(decoder.push(b"012345678"), Err(err.clone()));
        assert_eq!(decoder.push(b"\n\ndata: x\n\n"), Err(err.clone()));
        assert_eq!(decoder.push(b""), Err(err));
        assert_eq!(decoder.next_event(), None);
        assert!(!decoder.finish());
        // Memory stays bounded even though no newline ever came.
        assert!(decoder.line.capacity() <= 8);
    }

    #[test]
    fn line_limit_checked_before_buffering() {
        let limits = SseLimits {
            max_line_bytes: 16,
            max_event_bytes: 1000,
        };
        let mut decoder = SseDecoder::with_limits(limits);
        decoder.push(b"data: 0123456789").unwrap();
        let huge = vec![b'x'; 1 << 20];
        assert!(decoder.push(&huge).is_err());
        assert!(decoder.line.capacity() <= 16);
    }

    #[test]
    fn event_limit_is_inclusive() {
        let limits = SseLimits {
            max_line_bytes: 100,
            max_event_bytes: 10,
        };
        // Joined data "abcd\nefg\nx" is exactly 10 bytes.
        let ok = b"data: abcd\ndata: efg\ndata: x\n\n";
        let (events, _, err) = assert_split_invariant_with(limits, ok);
        assert_eq!((events, err), (vec![ev("abcd\nefg\nx")], None));
        let too_big = b"data: x\n\ndata: abcd\ndata: efg\ndata: xy\n\ndata: z\n\n";
        let (events, _, err) = assert_split_invariant_with(limits, too_big);
        assert_eq!(events, vec![ev("x")]);
        assert_eq!(err, Some(FramingError::EventTooLarge { limit: 10 }));
        // The limit is per event, not per stream.
        let many = b"data: 0123456789\n\ndata: 0123456789\n\n";
        let (events, _, err) = assert_split_invariant_with(limits, many);
        assert_eq!(events.len(), 2);
        assert_eq!(err, None);
        // Sticky as well.
        let mut decoder = SseDecoder::with_limits(limits);
        let err = FramingError::EventTooLarge { limit: 10 };
        assert_eq!(decoder.push(b"data: 0123456789a\n"), Err(err.clone()));
        assert_eq!(decoder.push(b"\n"), Err(err));
        assert_eq!(decoder.next_event(), None);
    }

    #[test]
    fn zero_limits_do_not_panic() {
        let limits = SseLimits {
            max_line_bytes: 0,
            max_event_bytes: 0,
        };
        let (events, _, err) = assert_split_invariant_with(limits, b"\n\r\n\r\n");
        assert_eq!((events, err), (vec![], None));
        let (_, _, err) = assert_split_invariant_with(limits, b"data\n\n");
        assert_eq!(err, Some(FramingError::LineTooLong { limit: 0 }));
    }

    #[test]
    fn error_display_has_no_payload() {
        let err = FramingError::LineTooLong { limit: 42 };
        assert_eq!(err.to_string(), "stream line exceeds the limit of 42 bytes");
        let err: Box<dyn std::error::Error> = Box::new(FramingError::EventTooLarge { limit: 7 });
        assert!(err.to_string().contains('7'));
        let mut decoder = SseDecoder::new();
        decoder.push(b"data: secret").unwrap();
        assert!(!format!("{decoder:?}").contains("secret"));
    }

    /// Byte soup biased towards the bytes and tokens the parser cares about.
    fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
        let token = prop_oneof![
            3 => prop::sample::select(vec![
                &b"data"[..], b"event", b"id", b"retry", b"data: ", b"\xef\xbb\xbf",
                b"\r\n", b"\n\n", b"\r\n\r\n", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80",
                b"123", b"\0",
            ])
            .prop_map(<[u8]>::to_vec),
            4 => prop::sample::select(vec![
                b'\r', b'\n', b':', b' ', 0xEF, 0xBB, 0xBF, 0, b'0', b'9', b'a', 0x80, 0xC3,
                0xE2, 0xF0, 0xFF,
            ])
            .prop_map(|b| vec![b]),
            1 => any::<u8>().prop_map(|b| vec![b]),
        ];
        prop::collection::vec(token, 0..64).prop_map(|tokens| tokens.concat())
    }

    fn split_at_points(input: &[u8], mut points: Vec<usize>) -> Vec<&[u8]> {
        for p in &mut points {
            *p %= input.len() + 1;
        }
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for p in points {
            chunks.push(&input[start..p]);
            start = p;
        }
        chunks.push(&input[start..]);
        chunks
    }

    proptest! {
        #[test]
        fn random_splits_agree(
            input in sse_bytes(),
            points in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let whole = decode_chunks(&[&input]);
            prop_assert_eq!(&whole, &reference(&input));
            let chunks = split_at_points(&input, points);
            prop_assert_eq!(&decode_chunks(&chunks), &whole);
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            prop_assert_eq!(&decode_chunks(&bytes), &whole);
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            input in prop::collection::vec(any::<u8>(), 0..256),
            points in prop::collection::vec(any::<usize>(), 0..8),
            max_line in 0usize..32,
            max_event in 0usize..32,
        ) {
            let limits = SseLimits { max_line_bytes: max_line, max_event_bytes: max_event };
            let chunks = split_at_points(&input, points);
            let whole = decode_chunks_with(limits, &[&input]);
            prop_assert_eq!(decode_chunks_with(limits, &chunks), whole.clone());
            if whole.2.is_none() {
                prop_assert_eq!((whole.0, whole.1), reference(&input));
            }
        }
    }
}
