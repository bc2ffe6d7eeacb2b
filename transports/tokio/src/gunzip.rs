//! Gzip-encoded bodies, decoded as they arrive: a reply with `content-encoding: gzip` is
//! handed to the core decompressed, piece by piece, so streams stay incremental and the
//! core's body limit counts decompressed bytes (as the blocking transport's ureq does).

use bytes::{Buf, Bytes};
use flate2::write::GzDecoder;
use onellm_core::{Error, ErrorKind};
use std::io::Write;

/// Compressed bytes fed to the decoder at once: deflate expands at most ~1,032 times, so
/// one step holds at most about 1 MiB of output however hostile the body.
const INPUT_STEP: usize = 1024;

/// A gzip stream being decoded.
pub(crate) struct Gunzip {
    decoder: GzDecoder<Vec<u8>>,
    /// Compressed bytes not fed yet.
    input: Bytes,
}

impl Gunzip {
    pub(crate) fn new() -> Gunzip {
        Gunzip {
            decoder: GzDecoder::new(Vec::new()),
            input: Bytes::new(),
        }
    }

    /// Whether `headers` say the body is gzip-encoded.
    pub(crate) fn applies(headers: &http::HeaderMap) -> bool {
        headers
            .get(http::header::CONTENT_ENCODING)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                let value = value.trim();
                value.eq_ignore_ascii_case("gzip") || value.eq_ignore_ascii_case("x-gzip")
            })
    }

    /// More compressed bytes from the body.
    pub(crate) fn push(&mut self, data: Bytes) {
        if self.input.is_empty() {
            self.input = data;
        } else {
            let mut joined = Vec::with_capacity(self.input.len() + data.len());
            joined.extend_from_slice(&self.input);
            joined.extend_from_slice(&data);
            self.input = Bytes::from(joined);
        }
    }

    /// The next decompressed piece, or `None` when more input is needed.
    pub(crate) fn next(&mut self) -> Result<Option<Bytes>, Error> {
        while self.decoder.get_ref().is_empty() && !self.input.is_empty() {
            let step = self.input.len().min(INPUT_STEP);
            let used = self.decoder.write(&self.input[..step]).map_err(corrupt)?;
            if used == 0 {
                // Past the end of the gzip member: what follows is not ours to decode.
                self.input.clear();
                break;
            }
            self.input.advance(used);
        }
        Ok(self.take())
    }

    /// The body ended: what is left decompressed, or an error if the gzip stream was cut.
    pub(crate) fn finish(&mut self) -> Result<Option<Bytes>, Error> {
        if let Some(piece) = self.next()? {
            return Ok(Some(piece));
        }
        self.decoder.try_finish().map_err(corrupt)?;
        Ok(self.take())
    }

    fn take(&mut self) -> Option<Bytes> {
        let out = std::mem::take(self.decoder.get_mut());
        (!out.is_empty()).then(|| Bytes::from(out))
    }
}

fn corrupt(error: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Decode,
        format!("the reply's gzip encoding is corrupt: {error}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn decodes_piecewise_and_bounds_each_step() {
        let text = "data: hello\n\n".repeat(20_000);
        let compressed = gzip(text.as_bytes());
        let mut gunzip = Gunzip::new();
        let mut out = Vec::new();
        for piece in compressed.chunks(333) {
            gunzip.push(Bytes::copy_from_slice(piece));
            while let Some(decoded) = gunzip.next().unwrap() {
                assert!(decoded.len() <= 1100 * INPUT_STEP);
                out.extend_from_slice(&decoded);
            }
        }
        while let Some(decoded) = gunzip.finish().unwrap() {
            out.extend_from_slice(&decoded);
        }
        assert_eq!(out, text.as_bytes());
    }

    #[test]
    fn a_cut_or_corrupt_stream_is_a_decode_error() {
        let compressed = gzip(b"{\"id\": \"x\"}");
        let mut cut = Gunzip::new();
        cut.push(Bytes::copy_from_slice(&compressed[..compressed.len() - 4]));
        let _ = cut.next();
        assert_eq!(cut.finish().unwrap_err().kind(), ErrorKind::Decode);
        let mut garbage = Gunzip::new();
        garbage.push(Bytes::from_static(b"not gzip at all"));
        assert!(garbage.next().is_err() || garbage.finish().is_err());
    }
}
