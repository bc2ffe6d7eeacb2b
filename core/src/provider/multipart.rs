//! A `multipart/form-data` encoder (RFC 7578) for the uploads some endpoints take (audio
//! transcription and translation), written for a core with no randomness and no I/O.
//!
//! - **Boundary without randomness**: it is derived from a SHA-256 of the parts (names,
//!   file names, types and bodies) and a counter. A boundary must not occur in any part;
//!   the encoder checks every part and, in the (adversarial) case that one contains it,
//!   derives the next one from the counter. Same parts, same bytes: a retried request is
//!   byte-identical, and tests can compare bodies.
//! - **Names and file names quoted as browsers do** (WHATWG HTML, "multipart/form-data
//!   encoding algorithm"): `"` becomes `%22`, CR `%0D` and LF `%0A`, so no value can end
//!   the header line or the quoted string and inject a header or a part. A part's
//!   `content-type` must be a valid header value without CR/LF, else `InvalidRequest`.
//! - **Bounded**: [`Form::encode`] refuses a body longer than its `max_bytes` with an
//!   `InvalidRequest` error before anything is built or sent.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind};

/// How many boundaries are tried before giving up; each is a fresh SHA-256 output, so a
/// second is already only needed for parts crafted to contain the first.
const BOUNDARY_ATTEMPTS: u32 = 16;

/// One field of a form: a text value or a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// The field name.
    pub name: String,
    /// The file name, for a file part.
    pub filename: Option<String>,
    /// The part's `content-type`, for a file part.
    pub content_type: Option<String>,
    /// The value or file contents.
    pub body: Bytes,
}

/// A form to encode: parts in the order they are sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Form {
    parts: Vec<Part>,
}

/// An encoded form: the request body and the `content-type` header that goes with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// `multipart/form-data; boundary=…`.
    pub content_type: String,
    /// The boundary alone.
    pub boundary: String,
    /// The body.
    pub body: Vec<u8>,
}

impl Form {
    /// An empty form.
    pub fn new() -> Self {
        Form::default()
    }

    /// Adds a text field.
    pub fn text(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parts.push(Part {
            name: name.into(),
            filename: None,
            content_type: None,
            body: Bytes::from(value.into()),
        });
        self
    }

    /// Adds a file field.
    pub fn file(
        mut self,
        name: impl Into<String>,
        filename: impl Into<String>,
        content_type: impl Into<String>,
        body: impl Into<Bytes>,
    ) -> Self {
        self.parts.push(Part {
            name: name.into(),
            filename: Some(filename.into()),
            content_type: Some(content_type.into()),
            body: body.into(),
        });
        self
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Encodes the form; an `InvalidRequest` error when a part's `content-type` is not a
    /// valid header value or the body would exceed `max_bytes`.
    ///
    /// ```
    /// use onellm_core::provider::multipart::Form;
    ///
    /// let encoded = Form::new()
    ///     .text("model", "whisper-1")
    ///     .file("file", "a.wav", "audio/wav", &b"RIFF"[..])
    ///     .encode(1 << 20)
    ///     .unwrap();
    /// assert!(encoded.content_type.starts_with("multipart/form-data; boundary="));
    /// let text = String::from_utf8_lossy(&encoded.body);
    /// assert!(text.contains("content-disposition: form-data; name=\"file\"; filename=\"a.wav\""));
    /// ```
    pub fn encode(&self, max_bytes: usize) -> Result<Encoded, Error> {
        let headers: Vec<String> = self
            .parts
            .iter()
            .map(part_headers)
            .collect::<Result<_, _>>()?;
        // `--b\r\n` + headers + `\r\n` + body + `\r\n` per part, then `--b--\r\n`.
        let boundary_len = boundary(&self.parts, 0).len();
        let size = self
            .parts
            .iter()
            .zip(&headers)
            .fold(boundary_len + 6, |size, (part, head)| {
                size.saturating_add(boundary_len + 4)
                    .saturating_add(head.len() + 2)
                    .saturating_add(part.body.len() + 2)
            });
        if size > max_bytes {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!("the upload would be {size} bytes, over the limit of {max_bytes}"),
            ));
        }
        let boundary = pick_boundary(&self.parts, &headers, |counter| {
            boundary(&self.parts, counter)
        })?;
        let mut body = Vec::with_capacity(size);
        for (part, head) in self.parts.iter().zip(&headers) {
            body.extend_from_slice(b"--");
            body.extend_from_slice(boundary.as_bytes());
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(head.as_bytes());
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(&part.body);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--");
        body.extend_from_slice(boundary.as_bytes());
        body.extend_from_slice(b"--\r\n");
        Ok(Encoded {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            boundary,
            body,
        })
    }
}

/// The first of the candidate boundaries whose delimiter (`--boundary`) occurs in no part.
fn pick_boundary(
    parts: &[Part],
    headers: &[String],
    candidate: impl Fn(u32) -> String,
) -> Result<String, Error> {
    (0..BOUNDARY_ATTEMPTS)
        .map(candidate)
        .find(|candidate| {
            let delimiter = format!("--{candidate}");
            parts.iter().zip(headers).all(|(part, head)| {
                !contains(&part.body, delimiter.as_bytes())
                    && !contains(head.as_bytes(), delimiter.as_bytes())
            })
        })
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidRequest,
                "no multipart boundary found that the upload does not contain",
            )
        })
}

/// A part's header lines, each ending in CRLF.
fn part_headers(part: &Part) -> Result<String, Error> {
    let mut head = format!(
        "content-disposition: form-data; name=\"{}\"",
        quote(&part.name)
    );
    if let Some(filename) = &part.filename {
        head.push_str(&format!("; filename=\"{}\"", quote(filename)));
    }
    head.push_str("\r\n");
    if let Some(content_type) = &part.content_type {
        if http::HeaderValue::from_str(content_type).is_err() || content_type.contains(['\r', '\n'])
        {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!(
                    "invalid content type for form field {:?}: control characters or non-ASCII",
                    quote(&part.name)
                ),
            ));
        }
        head.push_str(&format!("content-type: {content_type}\r\n"));
    }
    Ok(head)
}

/// A name or file name inside a quoted header parameter, escaped as browsers do.
pub fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("%22"),
            '\r' => quoted.push_str("%0D"),
            '\n' => quoted.push_str("%0A"),
            other => quoted.push(other),
        }
    }
    quoted
}

/// The `counter`th boundary for `parts`: `onellm-` and 32 hex digits of the hash, within RFC 2046's 70 characters.
fn boundary(parts: &[Part], counter: u32) -> String {
    let mut hash = Sha256::new();
    hash.update(counter.to_be_bytes());
    for part in parts {
        for field in [
            part.name.as_bytes(),
            part.filename.as_deref().unwrap_or("").as_bytes(),
            part.content_type.as_deref().unwrap_or("").as_bytes(),
            &part.body,
        ] {
            hash.update((field.len() as u64).to_be_bytes());
            hash.update(field);
        }
    }
    let digest = hash.finalize();
    let hex: String = digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("onellm-{hex}")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_file_names_cannot_inject_headers_or_parts() {
        let encoded = Form::new()
            .file(
                "fi\"le\r\ncontent-type: text/evil",
                "a\".wav\r\n\r\n--x",
                "audio/wav",
                &b"data"[..],
            )
            .encode(1 << 20)
            .unwrap();
        let text = String::from_utf8(encoded.body).unwrap();
        assert!(text.contains(
            "name=\"fi%22le%0D%0Acontent-type: text/evil\"; filename=\"a%22.wav%0D%0A%0D%0A--x\""
        ));
        // One header line for the disposition, one for the type, then the blank line.
        assert_eq!(text.matches("\r\ncontent-type:").count(), 1);
    }

    #[test]
    fn a_content_type_with_a_line_break_is_refused() {
        let error = Form::new()
            .file("file", "a.wav", "audio/wav\r\nx-evil: 1", &b""[..])
            .encode(1 << 20)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn an_upload_over_the_limit_is_refused_before_encoding() {
        let form = Form::new().file("file", "a.wav", "audio/wav", vec![0u8; 1000]);
        let error = form.encode(999).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        assert!(error.to_string().contains("over the limit of 999"));
        let fits = form.encode(2000).unwrap();
        assert!(fits.body.len() <= 2000);
    }

    #[test]
    fn the_size_bound_is_exact() {
        let form = Form::new().text("model", "whisper-1").file(
            "file",
            "a.wav",
            "audio/wav",
            vec![7u8; 100],
        );
        let length = form.encode(usize::MAX).unwrap().body.len();
        assert!(form.encode(length).is_ok());
        assert!(form.encode(length - 1).is_err());
    }

    #[test]
    fn a_part_holding_the_boundary_gets_the_next_one() {
        let form = Form::new().text("a", "x --first y").text("b", "--second");
        let headers: Vec<String> = form
            .parts()
            .iter()
            .map(|p| part_headers(p).unwrap())
            .collect();
        let names = ["first", "second", "third"];
        let picked = pick_boundary(form.parts(), &headers, |n| names[n as usize % 3].into());
        assert_eq!(picked.unwrap(), "third");
        let none = pick_boundary(form.parts(), &headers, |_| "first".into());
        assert_eq!(none.unwrap_err().kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn the_same_parts_give_the_same_bytes_and_other_parts_another_boundary() {
        let form = || {
            Form::new()
                .text("model", "m")
                .file("file", "a.wav", "audio/wav", vec![1u8; 10])
        };
        let one = form().encode(1 << 20).unwrap();
        assert_eq!(one, form().encode(1 << 20).unwrap());
        let other = Form::new().text("model", "n").encode(1 << 20).unwrap();
        assert_ne!(one.boundary, other.boundary);
        assert!(one.boundary.len() <= 70);
    }
}
