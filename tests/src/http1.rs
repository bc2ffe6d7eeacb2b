//! Just enough HTTP/1.1 for a test server: read a request (Content-Length or chunked body),
//! write heads and chunked bodies. Bounded everywhere.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A parsed request.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads from a socket whose read timeout is short, retrying until `keep_going` says stop.
pub(crate) struct Reader<'a> {
    pub stream: &'a TcpStream,
    pub buffer: Vec<u8>,
    pub keep_going: &'a dyn Fn() -> bool,
    pub idle_limit: Duration,
}

impl Reader<'_> {
    /// Reads more bytes into the buffer; Ok(false) on EOF, stop or idle limit.
    fn fill(&mut self) -> io::Result<bool> {
        let started = Instant::now();
        let mut scratch = [0u8; 16 * 1024];
        loop {
            if !(self.keep_going)() || started.elapsed() > self.idle_limit {
                return Ok(false);
            }
            match (&*self.stream).read(&mut scratch) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buffer.extend_from_slice(&scratch[..n]);
                    return Ok(true);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn take_line(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\r\n") {
                let line = self.buffer[..end].to_vec();
                self.buffer.drain(..end + 2);
                return Ok(Some(line));
            }
            if self.buffer.len() > MAX_HEAD || !self.fill()? {
                return Ok(None);
            }
        }
    }

    fn take_exact(&mut self, n: usize) -> io::Result<Option<Vec<u8>>> {
        while self.buffer.len() < n {
            if !self.fill()? {
                return Ok(None);
            }
        }
        Ok(Some(self.buffer.drain(..n).collect()))
    }

    /// The next request on the connection, or None when the client is done.
    pub fn read_request(&mut self) -> io::Result<Option<Request>> {
        let Some(line) = self.take_line()? else {
            return Ok(None);
        };
        let line = String::from_utf8_lossy(&line).into_owned();
        let mut parts = line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bad request line",
            ));
        };
        let (method, path) = (method.to_owned(), path.to_owned());
        let mut headers = Vec::new();
        loop {
            let Some(line) = self.take_line()? else {
                return Ok(None);
            };
            if line.is_empty() {
                break;
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            if headers.len() > 200 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "too many headers",
                ));
            }
        }
        let mut request = Request {
            method,
            path,
            headers,
            body: Vec::new(),
        };
        if request
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let Some(size_line) = self.take_line()? else {
                    return Ok(None);
                };
                let size_text = String::from_utf8_lossy(&size_line);
                let size_text = size_text.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size_text, 16)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
                if size == 0 {
                    // Trailers end with an empty line.
                    while let Some(line) = self.take_line()? {
                        if line.is_empty() {
                            break;
                        }
                    }
                    break;
                }
                if request.body.len() + size > MAX_BODY {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "body too large"));
                }
                let Some(data) = self.take_exact(size + 2)? else {
                    return Ok(None);
                };
                request.body.extend_from_slice(&data[..size]);
            }
        } else if let Some(length) = request.header("content-length") {
            let length: usize = length
                .parse()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad content-length"))?;
            if length > MAX_BODY {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "body too large"));
            }
            let Some(body) = self.take_exact(length)? else {
                return Ok(None);
            };
            request.body = body;
        }
        Ok(Some(request))
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Overloaded",
        _ => "Status",
    }
}

/// Writes a status line and headers. `length` None means chunked.
pub(crate) fn write_head(
    mut stream: &TcpStream,
    status: u16,
    content_type: &str,
    length: Option<usize>,
    extra: &[(String, String)],
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\n",
        reason(status)
    );
    match length {
        Some(length) => head.push_str(&format!("content-length: {length}\r\n")),
        None => head.push_str("transfer-encoding: chunked\r\n"),
    }
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.flush()
}

/// Writes one chunk of a chunked body.
pub(crate) fn write_chunk(mut stream: &TcpStream, data: &[u8]) -> io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    stream.write_all(format!("{:x}\r\n", data.len()).as_bytes())?;
    stream.write_all(data)?;
    stream.write_all(b"\r\n")?;
    stream.flush()
}

/// Ends a chunked body.
pub(crate) fn write_last_chunk(mut stream: &TcpStream) -> io::Result<()> {
    stream.write_all(b"0\r\n\r\n")?;
    stream.flush()
}
