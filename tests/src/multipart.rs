//! A `multipart/form-data` reader (RFC 7578) for the fake provider's upload routes and for
//! tests of OneLLM's encoder: the delimiter scan is written here, each part's headers are
//! read by `httparse` (the HTTP/1 header parser hyper uses), so the encoder is checked
//! against an independent reader rather than against itself.

/// One part of a form as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormPart {
    /// `name` of its `content-disposition`, as sent (still percent-escaped).
    pub name: String,
    /// `filename`, for a file part, as sent.
    pub filename: Option<String>,
    /// The part's `content-type`, if it had one.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub body: Vec<u8>,
}

/// Reads a whole form whose request `content-type` is `content_type`; an error says what
/// was wrong with it.
pub fn parse_form(content_type: &str, body: &[u8]) -> Result<Vec<FormPart>, String> {
    let (media, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !media.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err(format!("not a form: {content_type}"));
    }
    let boundary = params
        .split(';')
        .filter_map(|param| param.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"'))
        .ok_or("no boundary")?;
    if boundary.is_empty() || boundary.len() > 70 {
        return Err(format!("bad boundary length {}", boundary.len()));
    }
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = format!("\r\n--{boundary}").into_bytes();
    let mut rest = body
        .strip_prefix(delimiter.as_slice())
        .ok_or("the body does not start with the boundary")?;
    let mut parts = Vec::new();
    loop {
        if let Some(after) = rest.strip_prefix(b"--") {
            if !after.is_empty() && after != b"\r\n" {
                return Err("bytes after the closing boundary".into());
            }
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or("no CRLF after a boundary")?;
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let (used, headers) = match httparse::parse_headers(rest, &mut headers) {
            Ok(httparse::Status::Complete(done)) => done,
            Ok(httparse::Status::Partial) => return Err("part headers cut short".into()),
            Err(error) => return Err(format!("part headers: {error}")),
        };
        let mut part = FormPart {
            name: String::new(),
            filename: None,
            content_type: None,
            body: Vec::new(),
        };
        let mut disposition = false;
        for header in headers {
            let value = std::str::from_utf8(header.value).map_err(|e| e.to_string())?;
            if header.name.eq_ignore_ascii_case("content-disposition") {
                disposition = true;
                let (kind, params) = split_params(value)?;
                if kind != "form-data" {
                    return Err(format!("disposition {kind}"));
                }
                for (key, value) in params {
                    match key.as_str() {
                        "name" => part.name = value,
                        "filename" => part.filename = Some(value),
                        _ => {}
                    }
                }
            } else if header.name.eq_ignore_ascii_case("content-type") {
                part.content_type = Some(value.to_owned());
            }
        }
        if !disposition {
            return Err("a part without content-disposition".into());
        }
        let content = &rest[used..];
        let end = find(content, &next_delimiter).ok_or("a part without a closing boundary")?;
        part.body = content[..end].to_vec();
        parts.push(part);
        rest = &content[end + 2 + delimiter.len()..];
    }
}

/// `form-data; name="a"; filename="b"` into its kind and parameters (quoted strings with
/// no escapes inside: RFC 7578 senders percent-encode `"` instead).
fn split_params(value: &str) -> Result<(String, Vec<(String, String)>), String> {
    let mut pieces = value.splitn(2, ';');
    let kind = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
    let mut rest = pieces.next().unwrap_or("").trim_start();
    let mut params = Vec::new();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').ok_or("a parameter without =")?;
        let after = after
            .strip_prefix('"')
            .ok_or("an unquoted parameter value")?;
        let close = after.find('"').ok_or("an unterminated quoted value")?;
        params.push((key.trim().to_ascii_lowercase(), after[..close].to_owned()));
        rest = after[close + 1..].trim_start();
        rest = rest.strip_prefix(';').unwrap_or(rest).trim_start();
    }
    Ok((kind, params))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
