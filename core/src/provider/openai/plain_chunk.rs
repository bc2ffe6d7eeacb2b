//! A reader for the plain text chunk: the one shape nearly every event of an OpenAI-family
//! stream has, read without serde.
//!
//! Why: a streamed reply is hundreds of chunks, each parsed on arrival, and serde_json spends
//! ~6,800 instructions on one (its map protocol, key matching through our visitors, string
//! scanning; benches/README.md, "Instruction counts per streamed chunk"). Almost all of those
//! chunks look alike:
//!
//! ```json
//! {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o",
//!  "system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hel"},
//!  "logprobs":null,"finish_reason":null}],"obfuscation":"Xy2"}
//! ```
//!
//! [`read`] reads exactly that family of shapes — the top-level keys of
//! [`ChatCompletionChunk`] with `usage` null or absent, choices with `index`, `delta`,
//! `finish_reason` and a null `logprobs`, deltas with only `role`, `content`,
//! `reasoning_content` and `refusal` — in any key order, with any JSON whitespace and
//! escapes. Anything else (another key, a non-null `usage` or `logprobs`, tool calls, a
//! duplicate key, a number that is not a plain non-negative integer, a `\u` surrogate, a
//! control character, invalid JSON) makes it return `None`, and the caller parses the chunk
//! with serde as before. So the rule it follows is: **whenever it returns a chunk, serde
//! would have returned the same one.** Debug builds check that on every chunk (the stream
//! decoder compares the two), so every test that streams tests it; in any build,
//! `core/tests/corpus.rs` compares the decoder with serde on the recorded
//! streams and the `openai_chunk` fuzz target on made-up ones.

use crate::types::chunk::chunk_object;
use crate::types::{ChatCompletionChunk, ChunkChoice, Delta, Extra, FinishReason, Role};

/// The chunk `data` holds, when it has the plain shape (see the [module docs](self));
/// `None` otherwise, including for every input serde would reject.
pub(super) fn read(data: &str) -> Option<ChatCompletionChunk> {
    let mut input = Input {
        text: data,
        bytes: data.as_bytes(),
        at: 0,
    };
    let chunk = input.chunk()?;
    input.whitespace();
    (input.at == input.bytes.len()).then_some(chunk)
}

/// The JSON text and how far it was read.
struct Input<'a> {
    text: &'a str,
    /// `text`'s bytes.
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Input<'a> {
    fn chunk(&mut self) -> Option<ChatCompletionChunk> {
        let (mut id, mut object, mut created, mut model) = (None, None, None, None);
        let (mut choices, mut usage_null, mut fingerprint, mut tier) = (None, false, None, None);
        let mut obfuscation = false;
        self.object(|input, key| {
            match key {
                b"id" => once(&mut id, input.string()?),
                b"object" => once(&mut object, input.string()?),
                b"created" => once(&mut created, input.integer()?),
                b"model" => once(&mut model, input.string()?),
                b"choices" => once(&mut choices, input.choices()?),
                b"system_fingerprint" => once(&mut fingerprint, input.string_or_null()?),
                b"service_tier" => once(&mut tier, input.string_or_null()?),
                // A usage is rare (the last chunk) and has its own nested shapes: serde reads it.
                b"usage" => {
                    input.null()?;
                    flag_once(&mut usage_null)
                }
                // Skipped unread as serde skips it, however often it comes.
                b"obfuscation" => {
                    input.string_slice()?;
                    obfuscation = true;
                    Some(())
                }
                _ => None,
            }
        })?;
        Some(ChatCompletionChunk {
            id: id.unwrap_or_default(),
            object: object.unwrap_or_else(chunk_object),
            created: created.unwrap_or_default(),
            model: model.unwrap_or_default(),
            choices: choices.unwrap_or_default(),
            usage: None,
            system_fingerprint: fingerprint.flatten(),
            service_tier: tier.flatten(),
            extra: Extra::new(),
        })
    }

    fn choices(&mut self) -> Option<Vec<ChunkChoice>> {
        self.expect(b'[')?;
        let mut choices = Vec::with_capacity(1);
        self.whitespace();
        if self.eat(b']') {
            return Some(choices);
        }
        loop {
            choices.push(self.choice()?);
            self.whitespace();
            if self.eat(b']') {
                return Some(choices);
            }
            self.expect(b',')?;
        }
    }

    fn choice(&mut self) -> Option<ChunkChoice> {
        let (mut index, mut delta, mut finish_reason) = (None, None, None);
        let mut logprobs_null = false;
        self.object(|input, key| match key {
            b"index" => once(&mut index, u32::try_from(input.integer()?).ok()?),
            b"delta" => once(&mut delta, input.delta()?),
            b"finish_reason" => once(
                &mut finish_reason,
                input
                    .string_or_null()?
                    .map(|reason| FinishReason::from(reason.as_str())),
            ),
            b"logprobs" => {
                input.null()?;
                flag_once(&mut logprobs_null)
            }
            _ => None,
        })?;
        Some(ChunkChoice {
            index: index.unwrap_or_default(),
            delta: delta.unwrap_or_default(),
            finish_reason: finish_reason.flatten(),
            logprobs: None,
            extra: Extra::new(),
        })
    }

    fn delta(&mut self) -> Option<Delta> {
        let (mut role, mut content, mut reasoning, mut refusal) = (None, None, None, None);
        self.object(|input, key| match key {
            b"role" => once(
                &mut role,
                input
                    .string_or_null()?
                    .map(|role| Role::from(role.as_str())),
            ),
            b"content" => once(&mut content, input.string_or_null()?),
            b"reasoning_content" => once(&mut reasoning, input.string_or_null()?),
            b"refusal" => once(&mut refusal, input.string_or_null()?),
            _ => None,
        })?;
        Some(Delta {
            role: role.flatten(),
            content: content.flatten(),
            reasoning_content: reasoning.flatten(),
            refusal: refusal.flatten(),
            ..Delta::default()
        })
    }

    /// Reads an object, handing each key to `field`, which reads the value (`None`: not the
    /// plain shape).
    fn object(&mut self, mut field: impl FnMut(&mut Self, &[u8]) -> Option<()>) -> Option<()> {
        self.whitespace();
        self.expect(b'{')?;
        self.whitespace();
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            // Keys are matched as written: one with an escape is left to serde.
            let key = self.string_slice()?.raw()?.as_bytes();
            self.whitespace();
            self.expect(b':')?;
            self.whitespace();
            field(self, key)?;
            self.whitespace();
            if self.eat(b'}') {
                return Some(());
            }
            self.expect(b',')?;
            self.whitespace();
        }
    }

    fn null(&mut self) -> Option<()> {
        let rest = self.bytes.get(self.at..)?;
        rest.starts_with(b"null").then(|| self.at += 4)
    }

    fn string_or_null(&mut self) -> Option<Option<String>> {
        if self.null().is_some() {
            return Some(None);
        }
        self.string().map(Some)
    }

    fn string(&mut self) -> Option<String> {
        self.string_slice()?.decode()
    }

    /// A string token, its escapes not yet decoded. `None` for a control character (serde
    /// rejects it) or a string that does not end.
    fn string_slice(&mut self) -> Option<JsonString<'a>> {
        self.expect(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            self.skip_plain_bytes();
            match *self.bytes.get(self.at)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    // The escaped character is never the closing quote; `decode` checks it.
                    self.at += 2;
                }
                _ => return None,
            }
        }
        // Both ends are at ASCII quotes, so this slice of the `&str` is on char boundaries.
        let text = self.text.get(start..self.at)?;
        self.at += 1;
        Some(JsonString { text, escaped })
    }

    /// Moves past the bytes a string's scan does not stop at (see [`plain_prefix`]).
    fn skip_plain_bytes(&mut self) {
        self.at += self.bytes.get(self.at..).map_or(0, plain_prefix);
    }

    /// A non-negative integer as serde_json reads one into `u64`: no sign, fraction,
    /// exponent or leading zero, and no overflow.
    fn integer(&mut self) -> Option<u64> {
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(digit) = self.bytes.get(self.at).filter(|b| b.is_ascii_digit()) {
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(digit - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - start;
        let leading_zero = digits > 1 && self.bytes[start] == b'0';
        let fraction = matches!(self.bytes.get(self.at), Some(b'.' | b'e' | b'E'));
        (digits > 0 && !leading_zero && !fraction).then_some(value)
    }

    fn whitespace(&mut self) {
        while matches!(self.bytes.get(self.at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.bytes.get(self.at) == Some(&byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }
}

/// How many bytes `bytes` starts with that a string's scan does not stop at: up to the first
/// `"`, `\\` or control character, or all of them. Eight bytes at a time (the last few of the
/// input byte by byte), so a short string costs one step.
fn plain_prefix(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    // The high bit of each byte of `word` below `limit` (at most 0x80). A borrow can set
    // bits above the first such byte too, never below it, so the lowest bit set is exact.
    let below = |word: u64, limit: u64| word.wrapping_sub(ONES * limit) & !word & HIGH;
    let mut plain = 0;
    for word in bytes.chunks_exact(8) {
        let Ok(word) = <[u8; 8]>::try_from(word).map(u64::from_le_bytes) else {
            break;
        };
        let stops = below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
            | below(word, 0x20);
        if stops != 0 {
            // Little-endian: the first byte is the lowest.
            return plain + (stops.trailing_zeros() / 8) as usize;
        }
        plain += 8;
    }
    let rest = bytes.get(plain..).unwrap_or_default();
    plain
        + rest
            .iter()
            .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
            .unwrap_or(rest.len())
}

/// A string token's text between its quotes.
struct JsonString<'a> {
    text: &'a str,
    escaped: bool,
}

impl<'a> JsonString<'a> {
    /// The text when it has no escapes.
    fn raw(&self) -> Option<&'a str> {
        (!self.escaped).then_some(self.text)
    }

    /// The string's value. `None` for an escape serde rejects, and for `\u` surrogates
    /// (pairs are left to serde, which joins them and rejects lone ones).
    fn decode(&self) -> Option<String> {
        let text = self.text;
        if !self.escaped {
            return Some(text.to_owned());
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(slash) = rest.find('\\') {
            out.push_str(&rest[..slash]);
            let escape = rest.get(slash + 1..)?;
            let (decoded, used) = match escape.as_bytes().first()? {
                b'"' => ('"', 1),
                b'\\' => ('\\', 1),
                b'/' => ('/', 1),
                b'b' => ('\u{8}', 1),
                b'f' => ('\u{c}', 1),
                b'n' => ('\n', 1),
                b'r' => ('\r', 1),
                b't' => ('\t', 1),
                b'u' => {
                    let hex = escape.get(1..5)?;
                    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return None;
                    }
                    let code = u32::from_str_radix(hex, 16).ok()?;
                    // `from_u32` refuses surrogates: those go to serde.
                    (char::from_u32(code)?, 5)
                }
                _ => return None,
            };
            out.push(decoded);
            rest = &escape[used..];
        }
        out.push_str(rest);
        Some(out)
    }
}

/// Sets `slot` unless the key came before (serde's derive rejects a duplicate field).
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    slot.is_none().then(|| *slot = Some(value))
}

/// [`once`] for a key whose only accepted value is `null`.
fn flag_once(seen: &mut bool) -> Option<()> {
    (!std::mem::replace(seen, true)).then_some(())
}

#[cfg(test)]
mod tests {
    use super::read;
    use crate::types::ChatCompletionChunk;

    /// What serde makes of `data`, to compare with.
    fn serde(data: &str) -> Option<ChatCompletionChunk> {
        serde_json::from_str(data).ok()
    }

    /// `data` has the plain shape: read, and the same as serde's.
    fn plain(data: &str) -> ChatCompletionChunk {
        let chunk = read(data).unwrap_or_else(|| panic!("not read: {data}"));
        assert_eq!(Some(&chunk), serde(data).as_ref(), "{data}");
        chunk
    }

    /// `data` is not the plain shape: left to serde.
    fn left_to_serde(data: &str) {
        assert_eq!(read(data), None, "{data}");
    }

    #[test]
    fn reads_the_chunks_openai_sends() {
        let first = plain(
            r#"{"id":"chatcmpl-C1","object":"chat.completion.chunk","created":1757000000,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_560af6e559","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"obfuscation":"ND"}"#,
        );
        assert_eq!(
            first.choices[0].delta.role,
            Some(crate::types::Role::Assistant)
        );
        let text = plain(
            r#"{"id":"chatcmpl-C1","object":"chat.completion.chunk","created":1757000000,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_560af6e559","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"obfuscation":"9Cv"}"#,
        );
        assert_eq!(text.text(), Some("Hello"));
        let last = plain(
            r#"{"id":"chatcmpl-C1","object":"chat.completion.chunk","created":1757000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#,
        );
        assert_eq!(
            last.choices[0].finish_reason,
            Some(crate::types::FinishReason::Stop)
        );
        plain(
            r#"{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}"#,
        );
        plain(r#"{"choices":[{"delta":{"reasoning_content":"think"}}]}"#);
        plain(
            r#"{"choices":[{"index":1,"delta":{"role":"narrator","content":null}},{"index":2,"delta":{}}]}"#,
        );
        plain(r#"{"choices":[{"delta":{"refusal":"no"},"finish_reason":"something_new"}]}"#);
        plain("{}");
        plain(" {\n\t\"id\" : \"a\" ,\r\n \"choices\" : [ ] } ");
        plain(r#"{"created":0,"obfuscation":"a","obfuscation":"b"}"#);
        plain(r#"{"created":18446744073709551615}"#);
    }

    #[test]
    fn a_string_scan_stops_at_the_first_quote_backslash_or_control_character() {
        let stops = [b'"', b'\\', 0, 0x1f];
        for len in 0..20 {
            for &stop in &stops {
                for fill in [b'a', 0x7f, 0x80, 0xff, b' ', b'!', b'#', b'[', b']'] {
                    let mut bytes = vec![fill; len];
                    bytes.push(stop);
                    // What follows a stop never moves it (borrows only go upwards).
                    bytes.extend([b'"', 0, b'\\', fill]);
                    assert_eq!(super::plain_prefix(&bytes), len, "{bytes:?}");
                }
            }
            assert_eq!(super::plain_prefix(&vec![b'x'; len]), len);
        }
    }

    #[test]
    fn decodes_escapes_as_serde_does() {
        for content in [
            r#"line\nbreak"#,
            r#"\"quoted\" \\ \/ \b\f\r\t"#,
            r#"\u00e9t\u00E9 \u20ac"#,
            "unicode as is: 日本語 🎉",
            r#"ends with an escape\n"#,
            r#"\u0000"#,
        ] {
            let data = format!(r#"{{"choices":[{{"delta":{{"content":"{content}"}}}}]}}"#);
            plain(&data);
        }
    }

    #[test]
    fn leaves_every_other_shape_to_serde() {
        for data in [
            // Other keys, at every level.
            r#"{"id":"a","x_groq":{"id":"req"}}"#,
            r#"{"choices":[{"delta":{"content":"a"},"native_finish_reason":null}]}"#,
            r#"{"choices":[{"delta":{"content":"a","annotations":[]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]}}]}"#,
            // Values other than the plain ones.
            r#"{"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
            r#"{"choices":[{"delta":{},"logprobs":{"content":[]}}]}"#,
            r#"{"choices":[{"delta":{"content":[{"type":"text","text":"a"}]}}]}"#,
            r#"{"error":{"message":"overloaded"}}"#,
            r#"{"obfuscation":null}"#,
            // Keys with escapes, surrogates (pairs and lone ones).
            r#"{"\u0069d":"a"}"#,
            r#"{"choices":[{"delta":{"content":"\ud83c\udf89"}}]}"#,
            r#"{"choices":[{"delta":{"content":"\ud83c"}}]}"#,
            // What serde rejects.
            r#"{"id":"a","id":"b"}"#,
            r#"{"usage":null,"usage":null}"#,
            r#"{"choices":[{"logprobs":null,"logprobs":null}]}"#,
            r#"{"id":null}"#,
            r#"{"created":-1}"#,
            r#"{"created":1.5}"#,
            r#"{"created":1e3}"#,
            r#"{"created":01}"#,
            r#"{"created":18446744073709551616}"#,
            r#"{"choices":[{"index":4294967296}]}"#,
            "{\"id\":\"a\u{1}b\"}",
            r#"{"id":"\x"}"#,
            r#"{"id":"\u12"}"#,
            r#"{"id":"a"} x"#,
            r#"{"id":"a",}"#,
            r#"{"choices":[{"delta":{}},]}"#,
            r#"{"id":"a""#,
            r#"{"id":"a\"}"#,
            "",
            "[]",
            "null",
        ] {
            left_to_serde(data);
        }
    }

    #[test]
    fn agrees_with_serde_on_every_prefix_of_a_chunk() {
        let data = r#"{"id":"chatcmpl-C1","object":"chat.completion.chunk","created":1757000000,"model":"gpt-4o","system_fingerprint":null,"choices":[{"index":0,"delta":{"role":"assistant","content":"a\n\u00e9"},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"Xy"}"#;
        for end in 0..=data.len() {
            let Some(prefix) = data.get(..end) else {
                continue;
            };
            if let Some(chunk) = read(prefix) {
                assert_eq!(Some(chunk), serde(prefix), "{prefix}");
            }
        }
        assert!(read(data).is_some());
    }
}
