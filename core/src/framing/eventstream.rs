//! Incremental decoder for the AWS event stream encoding (`application/vnd.amazon.eventstream`),
//! the binary framing Bedrock's `ConverseStream` (and every AWS streaming API) answers with.
//!
//! A message is:
//!
//! ```text
//! total length (u32 BE) | headers length (u32 BE) | prelude CRC32 (of the 8 bytes before)
//! headers (headers length bytes) | payload | message CRC32 (of everything before it)
//! ```
//!
//! Each header is a name (u8 length + bytes), a type byte and a value: 0 true, 1 false (no
//! value bytes), 2 byte, 3 short, 4 int, 5 long, 6 byte array (u16 length + bytes), 7 string
//! (u16 length + UTF-8), 8 timestamp (i64 milliseconds), 9 UUID (16 bytes). Every header type
//! is parsed, so a message with one we do not use is never misread.
//!
//! Both CRCs are checked: a mismatch is an error, never a panic and never a skipped message,
//! because after a corrupt length nothing that follows can be trusted. A declared length above
//! the limit is refused as soon as the prelude is in, before its bytes are buffered.
//!
//! ```
//! use onellm_core::framing::EventStreamDecoder;
//!
//! // One message with a `:event-type` header and a JSON payload (from a Bedrock stream).
//! # let frame = onellm_core::framing::encode_event_stream_message(
//! #     &[(":event-type", "messageStop")], br#"{"stopReason":"end_turn"}"#);
//! let mut decoder = EventStreamDecoder::new();
//! decoder.push(&frame[..5]).unwrap(); // any split works
//! assert!(decoder.next_message().is_none());
//! decoder.push(&frame[5..]).unwrap();
//! let message = decoder.next_message().unwrap();
//! assert_eq!(message.header_str(":event-type"), Some("messageStop"));
//! assert_eq!(&message.payload[..], br#"{"stopReason":"end_turn"}"#);
//! assert!(decoder.finish().is_ok());
//! ```

use std::collections::VecDeque;
use std::fmt;

use bytes::Bytes;

use super::FramingError;

/// The bytes before the headers: total length, headers length, prelude CRC.
pub(crate) const PRELUDE_LEN: usize = 12;
/// Prelude plus the trailing message CRC: the smallest possible message.
const MIN_MESSAGE_LEN: usize = PRELUDE_LEN + 4;

/// Bounds of an [`EventStreamDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventStreamLimits {
    /// The largest total message length accepted, in bytes. The AWS SDKs refuse messages over
    /// 16 MiB; so does the default here.
    pub max_message_len: usize,
}

impl Default for EventStreamLimits {
    fn default() -> Self {
        EventStreamLimits {
            max_message_len: 16 * 1024 * 1024,
        }
    }
}

/// The value of one event stream header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventHeaderValue {
    /// Header value types 0 (`true`) and 1 (`false`): no value bytes.
    Bool(bool),
    /// Header value type 2: one byte.
    Byte(i8),
    /// Header value type 3: a big-endian 16-bit integer.
    Short(i16),
    /// Header value type 4: a big-endian 32-bit integer.
    Int(i32),
    /// Header value type 5: a big-endian 64-bit integer.
    Long(i64),
    /// Header value type 6: a byte array, length-prefixed.
    Bytes(Bytes),
    /// Header value type 7: a UTF-8 string, length-prefixed (`:event-type`, …).
    String(String),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
    /// Header value type 9: 16 bytes.
    Uuid([u8; 16]),
}

/// One decoded message: its headers in wire order and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventStreamMessage {
    /// Each header's name and value, in the order they were sent.
    pub headers: Vec<(String, EventHeaderValue)>,
    /// The bytes between the headers and the message CRC (for Bedrock, one JSON event).
    pub payload: Bytes,
}

impl EventStreamMessage {
    /// The first header named `name` if it is a string (`:event-type`, `:message-type`, …).
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(n, value)| match value {
            EventHeaderValue::String(s) if n == name => Some(s.as_str()),
            _ => None,
        })
    }

    /// `:message-type`: `event`, `exception` or `error`.
    pub fn message_type(&self) -> Option<&str> {
        self.header_str(":message-type")
    }

    /// `:event-type` of an `event` message (`contentBlockDelta`, …).
    pub fn event_type(&self) -> Option<&str> {
        self.header_str(":event-type")
    }

    /// `:exception-type` of an `exception` message (`throttlingException`, …).
    pub fn exception_type(&self) -> Option<&str> {
        self.header_str(":exception-type")
    }
}

/// Incremental, bounded decoder of an event stream body. Push bytes in any split, pull
/// complete messages; [`finish`](Self::finish) at end of body says whether a message was cut
/// off. After an error the decoder is dead: it ignores input and yields nothing more.
pub struct EventStreamDecoder {
    limits: EventStreamLimits,
    /// Bytes of the message being received (never more than one message's worth once its
    /// prelude is known, and the prelude is checked before its length is trusted).
    buffer: Vec<u8>,
    ready: VecDeque<EventStreamMessage>,
    failed: bool,
}

impl fmt::Debug for EventStreamDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStreamDecoder")
            .field("buffered", &self.buffer.len())
            .field("ready", &self.ready.len())
            .field("failed", &self.failed)
            .finish()
    }
}

impl Default for EventStreamDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl EventStreamDecoder {
    /// A decoder with the default limits.
    pub fn new() -> Self {
        Self::with_limits(EventStreamLimits::default())
    }

    /// A decoder with `limits`.
    pub fn with_limits(limits: EventStreamLimits) -> Self {
        EventStreamDecoder {
            limits,
            buffer: Vec::new(),
            ready: VecDeque::new(),
            failed: false,
        }
    }

    /// Feeds bytes. Messages completed by them become available to
    /// [`next_message`](Self::next_message); those completed before an error stay available.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<(), FramingError> {
        if self.failed {
            return Ok(());
        }
        while !bytes.is_empty() {
            // Take only what the current message still needs, so the buffer never holds more
            // than one (bounded) message.
            let want = match self.declared_len() {
                Ok(Some(total)) => total - self.buffer.len(),
                Ok(None) => PRELUDE_LEN - self.buffer.len(),
                Err(error) => return Err(self.fail(error)),
            };
            let take = want.min(bytes.len());
            self.buffer.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            match self.declared_len() {
                Ok(Some(total)) if self.buffer.len() == total => {
                    let frame = std::mem::take(&mut self.buffer);
                    match parse_message(&frame) {
                        Ok(message) => self.ready.push_back(message),
                        Err(error) => return Err(self.fail(error)),
                    }
                }
                Ok(_) => {}
                Err(error) => return Err(self.fail(error)),
            }
        }
        Ok(())
    }

    /// The next complete message, in wire order.
    pub fn next_message(&mut self) -> Option<EventStreamMessage> {
        self.ready.pop_front()
    }

    /// Marks the end of the body: an error when part of a message is still buffered (the body
    /// was cut off inside it).
    pub fn finish(&mut self) -> Result<(), FramingError> {
        if self.failed || self.buffer.is_empty() {
            return Ok(());
        }
        let buffered = self.buffer.len();
        self.buffer.clear();
        Err(self.fail(FramingError::MessageTruncated { buffered }))
    }

    fn fail(&mut self, error: FramingError) -> FramingError {
        self.failed = true;
        self.buffer = Vec::new();
        error
    }

    /// The total length of the message being received, once its prelude is in and checked.
    fn declared_len(&self) -> Result<Option<usize>, FramingError> {
        let Some(prelude) = self.buffer.get(..PRELUDE_LEN) else {
            return Ok(None);
        };
        let (total, headers) = check_prelude(prelude)?;
        if total > self.limits.max_message_len {
            return Err(FramingError::MessageTooLarge {
                length: total,
                limit: self.limits.max_message_len,
            });
        }
        if total < MIN_MESSAGE_LEN || headers > total - MIN_MESSAGE_LEN {
            return Err(FramingError::BadMessageLength {
                total,
                headers_len: headers,
            });
        }
        Ok(Some(total))
    }
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let array: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(array))
}

/// Checks the prelude CRC and returns (total length, headers length).
fn check_prelude(prelude: &[u8]) -> Result<(usize, usize), FramingError> {
    let read = |at| be_u32(prelude, at).unwrap_or_default();
    let (total, headers, expected) = (read(0), read(4), read(8));
    let actual = crc32fast::hash(prelude.get(..8).unwrap_or_default());
    if actual != expected {
        return Err(FramingError::PreludeCrc { expected, actual });
    }
    Ok((total as usize, headers as usize))
}

/// Parses one whole message whose prelude was already checked.
fn parse_message(frame: &[u8]) -> Result<EventStreamMessage, FramingError> {
    let (_, headers_len) = check_prelude(frame)?;
    let crc_at = frame.len() - 4;
    let expected = be_u32(frame, crc_at).unwrap_or_default();
    let actual = crc32fast::hash(&frame[..crc_at]);
    if actual != expected {
        return Err(FramingError::MessageCrc { expected, actual });
    }
    let headers_end = PRELUDE_LEN + headers_len;
    let headers = parse_headers(&frame[PRELUDE_LEN..headers_end])?;
    Ok(EventStreamMessage {
        headers,
        payload: Bytes::copy_from_slice(&frame[headers_end..crc_at]),
    })
}

fn parse_headers(mut bytes: &[u8]) -> Result<Vec<(String, EventHeaderValue)>, FramingError> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], FramingError> {
        if bytes.len() < n {
            return Err(FramingError::BadHeader {
                reason: format!("{what} runs past the header block"),
            });
        }
        let (head, tail) = bytes.split_at(n);
        *bytes = tail;
        Ok(head)
    }
    fn fixed<const N: usize>(bytes: &mut &[u8], what: &str) -> Result<[u8; N], FramingError> {
        let slice = take(bytes, N, what)?;
        let mut array = [0; N];
        array.copy_from_slice(slice);
        Ok(array)
    }
    let mut headers = Vec::new();
    while !bytes.is_empty() {
        let [name_len] = fixed::<1>(&mut bytes, "header name length")?;
        let name = take(&mut bytes, name_len as usize, "header name")?;
        let name = std::str::from_utf8(name).map_err(|_| FramingError::BadHeader {
            reason: "header name is not UTF-8".into(),
        })?;
        let [kind] = fixed::<1>(&mut bytes, "header type")?;
        let value = match kind {
            0 => EventHeaderValue::Bool(true),
            1 => EventHeaderValue::Bool(false),
            2 => EventHeaderValue::Byte(i8::from_be_bytes(fixed(&mut bytes, "byte header")?)),
            3 => EventHeaderValue::Short(i16::from_be_bytes(fixed(&mut bytes, "short header")?)),
            4 => EventHeaderValue::Int(i32::from_be_bytes(fixed(&mut bytes, "int header")?)),
            5 => EventHeaderValue::Long(i64::from_be_bytes(fixed(&mut bytes, "long header")?)),
            6 | 7 => {
                let len = u16::from_be_bytes(fixed(&mut bytes, "header value length")?);
                let raw = take(&mut bytes, len as usize, "header value")?;
                if kind == 6 {
                    EventHeaderValue::Bytes(Bytes::copy_from_slice(raw))
                } else {
                    let text = std::str::from_utf8(raw).map_err(|_| FramingError::BadHeader {
                        reason: format!("string header {name:?} is not UTF-8"),
                    })?;
                    EventHeaderValue::String(text.to_owned())
                }
            }
            8 => EventHeaderValue::Timestamp(i64::from_be_bytes(fixed(
                &mut bytes,
                "timestamp header",
            )?)),
            9 => EventHeaderValue::Uuid(fixed(&mut bytes, "uuid header")?),
            other => {
                return Err(FramingError::BadHeader {
                    reason: format!("unknown header value type {other} for {name:?}"),
                })
            }
        };
        headers.push((name.to_owned(), value));
    }
    Ok(headers)
}

/// Encodes one message with string headers: the inverse of the decoder, for tests, fuzz
/// seeds and fake servers (Bedrock's own frames carry string headers only).
pub fn encode_event_stream_message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut header_bytes = Vec::new();
    for (name, value) in headers {
        header_bytes.push(name.len() as u8);
        header_bytes.extend_from_slice(name.as_bytes());
        header_bytes.push(7);
        header_bytes.extend_from_slice(&(value.len() as u16).to_be_bytes());
        header_bytes.extend_from_slice(value.as_bytes());
    }
    let total = (MIN_MESSAGE_LEN + header_bytes.len() + payload.len()) as u32;
    let mut frame = Vec::with_capacity(total as usize);
    frame.extend_from_slice(&total.to_be_bytes());
    frame.extend_from_slice(&(header_bytes.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&frame);
    frame.extend_from_slice(&prelude_crc.to_be_bytes());
    frame.extend_from_slice(&header_bytes);
    frame.extend_from_slice(payload);
    let crc = crc32fast::hash(&frame);
    frame.extend_from_slice(&crc.to_be_bytes());
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(bytes: &[u8], split: usize) -> Result<Vec<EventStreamMessage>, FramingError> {
        let mut decoder = EventStreamDecoder::new();
        let mut out = Vec::new();
        for piece in bytes.chunks(split.max(1)) {
            decoder.push(piece)?;
            out.extend(std::iter::from_fn(|| decoder.next_message()));
        }
        decoder.finish()?;
        Ok(out)
    }

    fn sample() -> Vec<u8> {
        let mut body = encode_event_stream_message(
            &[
                (":event-type", "messageStart"),
                (":content-type", "application/json"),
                (":message-type", "event"),
            ],
            br#"{"p":"abcde","role":"assistant"}"#,
        );
        body.extend(encode_event_stream_message(
            &[(":event-type", "messageStop"), (":message-type", "event")],
            br#"{"stopReason":"end_turn"}"#,
        ));
        body
    }

    /// The prelude of the first frame of a recorded Bedrock stream (pydantic-ai cassette
    /// `test_bedrock_model_iter_stream`): total 0x82, headers 0x52, prelude CRC 0x2b610c43.
    #[test]
    fn recorded_prelude_crc_checks() {
        let prelude = [0, 0, 0, 0x82, 0, 0, 0, 0x52, 0x2b, 0x61, 0x0c, 0x43];
        assert_eq!(check_prelude(&prelude), Ok((0x82, 0x52)));
    }

    #[test]
    fn every_split_gives_the_same_messages() {
        let body = sample();
        let whole = decode_all(&body, body.len()).unwrap();
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0].event_type(), Some("messageStart"));
        assert_eq!(whole[0].message_type(), Some("event"));
        assert_eq!(whole[1].event_type(), Some("messageStop"));
        for split in 1..body.len() {
            assert_eq!(decode_all(&body, split).unwrap(), whole, "split {split}");
        }
    }

    #[test]
    fn every_header_type_is_parsed() {
        let mut headers = Vec::new();
        let mut add = |name: &str, kind: u8, value: &[u8]| {
            headers.push(name.len() as u8);
            headers.extend_from_slice(name.as_bytes());
            headers.push(kind);
            headers.extend_from_slice(value);
        };
        add("t", 0, &[]);
        add("f", 1, &[]);
        add("b", 2, &[0xff]);
        add("s", 3, &[0x01, 0x02]);
        add("i", 4, &[0, 0, 1, 0]);
        add("l", 5, &[0, 0, 0, 0, 0, 0, 0, 7]);
        add("y", 6, &[0, 2, 0xde, 0xad]);
        add("x", 7, &[0, 2, b'o', b'k']);
        add("ts", 8, &[0, 0, 1, 0x8f, 0, 0, 0, 0]);
        add("u", 9, &[7; 16]);
        let total = (MIN_MESSAGE_LEN + headers.len() + 2) as u32;
        let mut frame = total.to_be_bytes().to_vec();
        frame.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        frame.extend_from_slice(&crc32fast::hash(&frame).to_be_bytes());
        frame.extend_from_slice(&headers);
        frame.extend_from_slice(b"{}");
        frame.extend_from_slice(&crc32fast::hash(&frame).to_be_bytes());
        let message = decode_all(&frame, 3).unwrap().remove(0);
        let values: Vec<&EventHeaderValue> = message.headers.iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            [
                &EventHeaderValue::Bool(true),
                &EventHeaderValue::Bool(false),
                &EventHeaderValue::Byte(-1),
                &EventHeaderValue::Short(0x0102),
                &EventHeaderValue::Int(256),
                &EventHeaderValue::Long(7),
                &EventHeaderValue::Bytes(Bytes::from_static(&[0xde, 0xad])),
                &EventHeaderValue::String("ok".into()),
                &EventHeaderValue::Timestamp(0x18f_0000_0000),
                &EventHeaderValue::Uuid([7; 16]),
            ]
        );
        assert_eq!(message.header_str("x"), Some("ok"));
        assert_eq!(message.header_str("b"), None);
        assert_eq!(&message.payload[..], b"{}");
    }

    #[test]
    fn corrupt_crcs_and_lengths_are_errors() {
        let good = sample();
        let mut prelude = good.clone();
        prelude[3] ^= 1;
        assert!(matches!(
            decode_all(&prelude, 1),
            Err(FramingError::PreludeCrc { .. })
        ));
        let mut payload = good.clone();
        payload[40] ^= 0x20;
        assert!(matches!(
            decode_all(&payload, 7),
            Err(FramingError::MessageCrc { .. })
        ));
        // A header block that claims more than the message holds.
        let mut frame = 20u32.to_be_bytes().to_vec();
        frame.extend_from_slice(&10u32.to_be_bytes());
        frame.extend_from_slice(&crc32fast::hash(&frame).to_be_bytes());
        frame.extend_from_slice(&[0; 8]);
        assert!(matches!(
            decode_all(&frame, 1),
            Err(FramingError::BadMessageLength { .. })
        ));
        // A header whose string runs past the block.
        let mut bad_header = encode_event_stream_message(&[("a", "bc")], b"");
        bad_header[12 + 3] = 0; // length high byte of the value: now 0x0002 -> unchanged
        bad_header[12 + 4] = 9; // value length 9 > 2 bytes left
        let crc_at = bad_header.len() - 4;
        let crc = crc32fast::hash(&bad_header[..crc_at]).to_be_bytes();
        bad_header[crc_at..].copy_from_slice(&crc);
        assert!(matches!(
            decode_all(&bad_header, 1),
            Err(FramingError::BadHeader { .. })
        ));
    }

    #[test]
    fn too_large_is_refused_from_the_prelude() {
        let frame = encode_event_stream_message(&[], &[b'x'; 100]);
        let mut decoder = EventStreamDecoder::with_limits(EventStreamLimits {
            max_message_len: 64,
        });
        let error = decoder.push(&frame[..12]).unwrap_err();
        assert_eq!(
            error,
            FramingError::MessageTooLarge {
                length: 116,
                limit: 64
            }
        );
        // Dead after the error.
        assert!(decoder.push(&frame).is_ok());
        assert!(decoder.next_message().is_none());
        assert!(decoder.finish().is_ok());
    }

    #[test]
    fn cut_off_message_is_truncated_and_earlier_ones_survive_an_error() {
        let body = sample();
        let mut decoder = EventStreamDecoder::new();
        decoder.push(&body[..body.len() - 1]).unwrap();
        assert!(decoder.next_message().is_some());
        assert!(decoder.next_message().is_none());
        assert_eq!(
            decoder.finish(),
            Err(FramingError::MessageTruncated {
                buffered: body.len() - 1 - encode_first_len(&body)
            })
        );

        let mut corrupt = body.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        let mut decoder = EventStreamDecoder::new();
        assert!(decoder.push(&corrupt).is_err());
        assert_eq!(
            decoder.next_message().unwrap().event_type(),
            Some("messageStart")
        );
        assert!(decoder.next_message().is_none());
    }

    fn encode_first_len(body: &[u8]) -> usize {
        be_u32(body, 0).unwrap() as usize
    }

    proptest! {
        /// Any split of any bytes gives the same messages and the same first error; nothing
        /// panics.
        #[test]
        fn split_invariance(noise in proptest::collection::vec(any::<u8>(), 0..64),
                            cut in 0usize..200, split in 1usize..40, flip in any::<bool>()) {
            let mut body = sample();
            if flip {
                body.extend_from_slice(&noise);
            } else {
                let at = cut.min(body.len());
                body.truncate(at);
            }
            prop_assert_eq!(decode_all(&body, split), decode_all(&body, body.len().max(1)));
        }
    }
}
