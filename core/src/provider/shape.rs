//! Telling a reply of a family's API apart from whatever else a server may answer.
//!
//! A client pointed at the wrong kind of server (another API's gateway at the configured base
//! URL, a proxy answering 200 with its own JSON, a captive portal's HTML page) must fail, not
//! succeed with an empty completion. The adapters' types are lenient on purpose (every field
//! optional, so real providers' variations parse), which would read `{}` or another API's
//! reply as a reply with nothing in it. So each kind of reply of each family names a
//! [`Marker`]: the fields that prove a body *is* that API's reply (listed in each family's
//! `response.rs`). Only the marker is required; everything else stays optional.
//!
//! Verdicts, shared by every family:
//! - A JSON object with the marker is the family's reply: it parses as before, and is a
//!   `Decode` error only if it is malformed.
//! - Any other JSON (`null`, `[]`, `{}`, `{"detail":"Not Found"}`, another family's reply) and
//!   any body that is not JSON (HTML, plain text) is an [`ErrorKind::UnexpectedResponse`]
//!   error naming the family and the marker it lacked and quoting a bounded excerpt.
//!   [`super::parse_whole`] adds the HTTP status and the request id.
//! - Except: a body that starts like a JSON object (`{`) but does not parse keeps its parse
//!   error (`Truncated` when it was cut short, else `Decode`): it may well be the family's
//!   reply, broken; and an empty body stays `Truncated`.
//! - The families' error envelopes (`{"error": …}` and the like, which some servers send with
//!   a 2xx status) are read by each adapter before the marker check and stay the provider
//!   error they describe.
//!
//! Streams ([`StreamShape`]): the first event that carries a payload must carry the family's
//! stream marker, or the stream fails right there. A stream that reaches its terminal marker
//! without any such event (`data: [DONE]` alone) fails the same way ([`never_shown`]), quoting
//! the start of the body; so does one that ends without any, unless nothing but blank lines
//! and SSE comments arrived (then it was cut short: `Truncated`), and a body that is not even
//! the family's framing (an eventstream prelude that does not check out, or fewer bytes than
//! a prelude). The shared stream plumbing ([`super::FramedChatStream`]) makes these decisions
//! for every family.

use serde_json::{Map, Value};

use crate::error::{excerpt, Error, ErrorKind, EXCERPT_LIMIT};

/// The fields that identify one kind of reply of one API family.
#[derive(Debug)]
pub(crate) struct Marker {
    /// The family, as error messages name it (`OpenAI`, `Anthropic`, …).
    family: &'static str,
    /// The kind of reply (`chat completion`, `embeddings reply`, `stream event`).
    reply: &'static str,
    /// The marker in words, for the error message (`` `choices` array ``).
    fields: &'static str,
    /// Whether a JSON object carries the marker.
    carried_by: fn(&Map<String, Value>) -> bool,
}

impl Marker {
    pub(crate) const fn new(
        family: &'static str,
        reply: &'static str,
        fields: &'static str,
        carried_by: fn(&Map<String, Value>) -> bool,
    ) -> Marker {
        Marker {
            family,
            reply,
            fields,
            carried_by,
        }
    }

    /// Whether `value` is a JSON object carrying the marker.
    pub(crate) fn is_carried_by(&self, value: &Value) -> bool {
        value.as_object().is_some_and(self.carried_by)
    }

    /// Whether a JSON object carries the marker: for markers built on others.
    pub(crate) fn is_carried_by_map(&self, map: &Map<String, Value>) -> bool {
        (self.carried_by)(map)
    }

    /// `Ok` when `value` carries the marker, else the [`Marker::missing`] error for `payload`
    /// (the raw bytes `value` was read from, quoted in the message).
    pub(crate) fn check(&self, value: &Value, payload: &[u8]) -> Result<(), Error> {
        if self.is_carried_by(value) {
            Ok(())
        } else {
            Err(self.missing(payload))
        }
    }

    /// The `UnexpectedResponse` error for a payload that is not this family's reply.
    pub(crate) fn missing(&self, payload: &[u8]) -> Error {
        let what = format!(
            "not {} {} {} (it has no {})",
            article(self.family),
            self.family,
            self.reply,
            self.fields
        );
        unexpected(&what, "body", payload)
    }

    /// What a payload that failed to parse as this family's reply means: `error` (its parse
    /// error) when the payload carries the marker, or starts like a JSON object but is not
    /// valid JSON, or is empty; otherwise the payload is something else entirely and this is
    /// [`Marker::missing`]. Only called on the error path, so reading the payload again costs
    /// nothing on the way of a good reply.
    pub(crate) fn explain(&self, payload: &[u8], error: Error) -> Error {
        let start = payload
            .iter()
            .find(|byte| !byte.is_ascii_whitespace())
            .copied();
        match super::from_json::<Value>(payload) {
            Ok(value) if self.is_carried_by(&value) => error,
            Ok(_) => self.missing(payload),
            Err(_) if matches!(start, None | Some(b'{')) => error,
            Err(_) => self.missing(payload),
        }
    }
}

/// `an` before a vowel sound, for `an OpenAI chat completion`.
fn article(word: &str) -> &'static str {
    match word.as_bytes().first() {
        Some(b'A' | b'E' | b'I' | b'O' | b'U') => "an",
        _ => "a",
    }
}

/// The excerpt of a payload, or a word for an empty one.
fn quote(payload: &[u8]) -> String {
    let quoted = excerpt(payload);
    if quoted.is_empty() {
        "(empty)".to_owned()
    } else {
        quoted
    }
}

/// Whether `map[key]` is an array: the marker predicates' building block.
pub(crate) fn has_array(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).is_some_and(Value::is_array)
}

/// Whether `map[key]` is an array whose first item, if it has one, passes `item`: tells
/// apart the families whose embeddings share a field name (Gemini's `embeddings` holds
/// objects, Ollama's holds vectors).
pub(crate) fn has_array_of(map: &Map<String, Value>, key: &str, item: fn(&Value) -> bool) -> bool {
    map.get(key)
        .and_then(Value::as_array)
        .is_some_and(|items| items.first().is_none_or(item))
}

/// Whether `map[key]` is an object.
pub(crate) fn has_object(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).is_some_and(Value::is_object)
}

/// Whether `map[key]` is a string.
pub(crate) fn has_string(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).is_some_and(Value::is_string)
}

/// Whether `map["type"]` is one of `types`: the marker of families whose events say their
/// own type.
pub(crate) fn has_type_among(map: &Map<String, Value>, types: &[&str]) -> bool {
    map.get("type")
        .and_then(Value::as_str)
        .is_some_and(|kind| types.contains(&kind))
}

/// Whether a stream has shown its family's shape yet. Each stream handler holds one and
/// checks its first payload with [`StreamShape::check`]; the shared stream plumbing asks
/// the handler (`shape_proven`) when the stream ends, and calls [`never_shown`] if not.
#[derive(Debug, Default)]
pub(crate) struct StreamShape {
    proven: bool,
}

impl StreamShape {
    /// Until the shape is proven: `Ok` (and proven from now on) when `payload` is a JSON
    /// object carrying `marker`, else the error [`Marker::explain`] gives. Once proven, `Ok`
    /// without reading anything, so only the first event is read twice.
    pub(crate) fn check(&mut self, marker: &Marker, payload: &[u8]) -> Result<(), Error> {
        if self.proven {
            return Ok(());
        }
        match super::from_json::<Value>(payload) {
            Ok(value) => marker.check(&value, payload)?,
            Err(e) => {
                let error = Error::decode("stream event", e, payload);
                return Err(marker.explain(payload, error));
            }
        }
        self.proven = true;
        Ok(())
    }

    /// Marks the shape proven by something other than a JSON payload (an eventstream
    /// message's `:event-type`).
    pub(crate) fn prove(&mut self) {
        self.proven = true;
    }

    /// Whether an event of the family's shape has arrived.
    pub(crate) fn is_proven(&self) -> bool {
        self.proven
    }
}

/// The error for a stream that reached its terminal marker, ended, or turned out not to be
/// in its family's framing, without ever showing the shape `marker` names; `head` is the
/// start of the body.
pub(crate) fn never_shown(marker: &Marker, head: &[u8]) -> Error {
    let what = format!(
        "no {} {} (with its {}) arrived",
        marker.family, marker.reply, marker.fields
    );
    unexpected(&what, "the body began", head)
}

/// The `UnexpectedResponse` error: `what` was wrong, then the quoted payload.
fn unexpected(what: &str, quoted: &str, payload: &[u8]) -> Error {
    Error::new(
        ErrorKind::UnexpectedResponse,
        format!(
            "the server answered in an unexpected shape: {what}; is the base URL right? \
             {quoted}: {}",
            quote(payload)
        ),
    )
}

/// Whether the start of a body holds nothing but blank lines and SSE comment lines (`:
/// keep-alive`): a body that ends after only these had nothing of substance, so it was cut
/// short (`Truncated`), not another server's.
pub(crate) fn is_filler(head: &[u8]) -> bool {
    head.split(|byte| *byte == b'\n').all(|line| {
        let line = line.trim_ascii();
        line.is_empty() || line.starts_with(b":")
    })
}

/// The start of a body, kept for the message of a stream that never shows its shape: at most
/// [`EXCERPT_LIMIT`] bytes.
#[derive(Debug, Default)]
pub(crate) struct BodyHead {
    bytes: Vec<u8>,
}

impl BodyHead {
    /// Keeps what still fits of `bytes`.
    pub(crate) fn keep(&mut self, bytes: &[u8]) {
        let room = EXCERPT_LIMIT.saturating_sub(self.bytes.len());
        let take = bytes.len().min(room);
        self.bytes
            .extend_from_slice(bytes.get(..take).unwrap_or_default());
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHOICES: Marker = Marker::new("OpenAI", "chat completion", "`choices` array", |map| {
        has_array(map, "choices")
    });

    #[test]
    fn explain_keeps_the_parse_error_of_a_broken_reply_and_names_the_rest() {
        let broken = || Error::decode("x", "broken", b"");
        // The family's reply, malformed elsewhere: its own error.
        let kept = CHOICES.explain(br#"{"choices": [7]}"#, broken());
        assert_eq!(kept.kind(), ErrorKind::Decode);
        // Cut short or empty: its own error (Truncated, from the caller).
        for body in [&b"{\"choices\": ["[..], b"", b"  \n"] {
            let kept = CHOICES.explain(body, broken().with_kind(ErrorKind::Truncated));
            assert_eq!(kept.kind(), ErrorKind::Truncated, "{body:?}");
        }
        // Anything else: unexpected, naming family, reply and marker, quoting the body.
        for body in [
            &b"{}"[..],
            b"[]",
            b"null",
            b"42",
            b"<html>hi</html>",
            b"Not Found",
            br#"{"choices": {}}"#,
            br#"[{"choices": []}]"#,
        ] {
            let error = CHOICES.explain(body, broken());
            assert_eq!(error.kind(), ErrorKind::UnexpectedResponse, "{body:?}");
            let message = error.message();
            assert!(
                message.contains("not an OpenAI chat completion"),
                "{message}"
            );
            assert!(message.contains("`choices` array"), "{message}");
            assert!(
                message.contains(String::from_utf8_lossy(body).as_ref()),
                "{message}"
            );
        }
    }

    #[test]
    fn a_stream_is_proven_by_its_first_payload_only() {
        let mut shape = StreamShape::default();
        assert!(!shape.is_proven());
        let error = shape.check(&CHOICES, b"{}").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedResponse);
        assert!(shape.check(&CHOICES, br#"{"choices": []}"#).is_ok());
        assert!(shape.is_proven());
        // Later payloads are the decoder's business.
        assert!(shape.check(&CHOICES, b"{}").is_ok());
    }

    #[test]
    fn a_stream_that_never_shows_its_shape_fails_unless_only_filler_arrived() {
        assert!(is_filler(b""));
        assert!(is_filler(b"\n: OPENROUTER PROCESSING\n\n"));
        assert!(!is_filler(b": ok\n\ndata: [DONE]\n\n"));
        let error = never_shown(&CHOICES, b"<!DOCTYPE html>\n");
        assert_eq!(error.kind(), ErrorKind::UnexpectedResponse);
        assert!(error.message().contains("<!DOCTYPE html>"));
        assert!(
            error
                .message()
                .contains("no OpenAI chat completion (with its `choices` array) arrived"),
            "{error}"
        );
    }

    #[test]
    fn body_head_is_bounded() {
        let mut head = BodyHead::default();
        head.keep(&[b'a'; 300]);
        head.keep(&[b'b'; 300]);
        assert_eq!(head.bytes().len(), EXCERPT_LIMIT);
    }
}
