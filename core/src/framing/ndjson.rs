//! Incremental decoder for newline-delimited JSON (`application/x-ndjson`): one JSON value per
//! line, as Ollama's native API streams.
//!
//! The decoder only frames: it hands out each non-blank line's bytes and leaves parsing to the
//! provider adapter (which quotes the line in its `Decode` error). Rules:
//! - A line ends at LF; a CR right before the LF is dropped (CRLF tolerated). A lone CR is an
//!   ordinary byte: JSON never contains a raw CR inside a value, so it can only be whitespace.
//! - Lines that are empty or only ASCII whitespace are skipped.
//! - A last line without a terminating LF is still a line: [`NdjsonDecoder::finish`] yields it
//!   (servers may omit the final newline).
//! - A line longer than [`NdjsonDecoder::max_line_bytes`] (terminator excluded) is an error,
//!   sticky like the SSE decoder's: lines completed before it stay available, nothing after it
//!   is decoded.
//!
//! ```
//! use onellm_core::framing::NdjsonDecoder;
//!
//! let mut decoder = NdjsonDecoder::new();
//! decoder.push(b"{\"a\":1}\r\n\n{\"b\"").unwrap();
//! assert_eq!(decoder.next_line().unwrap(), b"{\"a\":1}");
//! assert!(decoder.next_line().is_none());
//! decoder.push(b":2}").unwrap();
//! decoder.finish();
//! assert_eq!(decoder.next_line().unwrap(), b"{\"b\":2}");
//! ```

use std::collections::VecDeque;
use std::fmt;

use super::error::FramingError;

/// The default longest line: far above any streamed chat chunk, small enough to bound memory.
pub const DEFAULT_MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// Incremental, bounded NDJSON line decoder.
pub struct NdjsonDecoder {
    max_line_bytes: usize,
    /// The current, not yet terminated line.
    line: Vec<u8>,
    ready: VecDeque<Vec<u8>>,
    error: Option<FramingError>,
}

impl fmt::Debug for NdjsonDecoder {
    // Sizes only: buffered payload may be large or sensitive.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NdjsonDecoder")
            .field("max_line_bytes", &self.max_line_bytes)
            .field("buffered_line_bytes", &self.line.len())
            .field("ready_lines", &self.ready.len())
            .field("error", &self.error)
            .finish()
    }
}

impl Default for NdjsonDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl NdjsonDecoder {
    /// A decoder with the default line bound ([`DEFAULT_MAX_LINE_BYTES`]).
    pub fn new() -> Self {
        Self::with_max_line_bytes(DEFAULT_MAX_LINE_BYTES)
    }

    /// A decoder that refuses lines longer than `max_line_bytes`.
    pub fn with_max_line_bytes(max_line_bytes: usize) -> Self {
        NdjsonDecoder {
            max_line_bytes,
            line: Vec::new(),
            ready: VecDeque::new(),
            error: None,
        }
    }

    /// The longest accepted line, terminator excluded.
    pub fn max_line_bytes(&self) -> usize {
        self.max_line_bytes
    }

    /// Feeds the next bytes, split anywhere. After an error every push returns it again.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), FramingError> {
        if let Some(error) = &self.error {
            return Err(error.clone());
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let (piece, ended) = match memchr::memchr(b'\n', rest) {
                Some(at) => (&rest[..at], Some(at + 1)),
                None => (rest, None),
            };
            // A CR held back from the previous piece may still be the CR of a CRLF: the
            // bound is checked on the line without it.
            let length = self.line.len() + piece.len();
            let bare = match (ended, piece.last().or(self.line.last())) {
                (Some(_), Some(b'\r')) => length - 1,
                (None, _) if piece.last() == Some(&b'\r') => length - 1,
                _ => length,
            };
            if bare > self.max_line_bytes {
                let error = FramingError::LineTooLong {
                    limit: self.max_line_bytes,
                };
                self.error = Some(error.clone());
                self.line = Vec::new();
                return Err(error);
            }
            self.line.extend_from_slice(piece);
            match ended {
                Some(next) => {
                    self.end_line();
                    rest = &rest[next..];
                }
                None => break,
            }
        }
        Ok(())
    }

    /// The next complete line (without its terminator), oldest first.
    pub fn next_line(&mut self) -> Option<Vec<u8>> {
        self.ready.pop_front()
    }

    /// Signals end of input: an unterminated last line becomes a line. After an error this
    /// does nothing.
    pub fn finish(&mut self) {
        if self.error.is_none() {
            self.end_line();
        }
    }

    fn end_line(&mut self) {
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            self.ready.push_back(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(decoder: &mut NdjsonDecoder) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| decoder.next_line()).collect()
    }

    /// Every split of the input into two and into single bytes gives the same lines.
    #[test]
    fn any_split_gives_the_same_lines() {
        let input: &[u8] = b"{\"a\":1}\r\n\n  \r\n{\"b\":\"x\ry\"}\n{\"c\":3}";
        let want: Vec<Vec<u8>> = vec![
            b"{\"a\":1}".to_vec(),
            b"{\"b\":\"x\ry\"}".to_vec(),
            b"{\"c\":3}".to_vec(),
        ];
        for at in 0..=input.len() {
            let mut decoder = NdjsonDecoder::new();
            decoder.push(&input[..at]).unwrap();
            decoder.push(&input[at..]).unwrap();
            decoder.finish();
            assert_eq!(lines(&mut decoder), want, "split at {at}");
        }
        let mut decoder = NdjsonDecoder::new();
        for byte in input {
            decoder.push(std::slice::from_ref(byte)).unwrap();
        }
        decoder.finish();
        assert_eq!(lines(&mut decoder), want);
    }

    #[test]
    fn long_line_is_a_sticky_error_and_the_bound_excludes_crlf() {
        let mut decoder = NdjsonDecoder::with_max_line_bytes(4);
        decoder.push(b"abcd\r").unwrap();
        decoder.push(b"\nab").unwrap();
        assert_eq!(decoder.next_line().unwrap(), b"abcd");
        let error = decoder.push(b"cde").unwrap_err();
        assert_eq!(error, FramingError::LineTooLong { limit: 4 });
        assert_eq!(decoder.push(b"\n{}\n").unwrap_err(), error);
        decoder.finish();
        assert!(decoder.next_line().is_none());

        // Lines completed in the same push before the long one stay available.
        let mut decoder = NdjsonDecoder::with_max_line_bytes(4);
        assert!(decoder.push(b"ok\nlonger\n").is_err());
        assert_eq!(lines(&mut decoder), vec![b"ok".to_vec()]);
    }

    #[test]
    fn blank_input_and_bare_finish() {
        let mut decoder = NdjsonDecoder::new();
        decoder.push(b"\n\r\n \t\n").unwrap();
        decoder.finish();
        decoder.finish();
        assert!(decoder.next_line().is_none());
    }
}
