//! A forward HTTP proxy on loopback for the proxy tests: it records every request line it
//! receives, forwards absolute-form `http://` requests to their origin (one request per
//! connection), and tunnels `CONNECT` to loopback addresses (anything else — a name it would
//! have to resolve — gets `502` after being recorded, which is all the tests need to see of
//! an `https://` URL). Stops when dropped; every wait in it is bounded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The most bytes of a request head read.
const HEAD_LIMIT: usize = 64 * 1024;
/// How long a connection may be silent before the proxy drops it.
const SILENCE: Duration = Duration::from_secs(10);

/// What the proxy saw of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxiedRequest {
    /// `GET`, `POST`, `CONNECT`, …
    pub method: String,
    /// As sent: `http://host:port/path` (absolute form) or `host:port` (CONNECT).
    pub target: String,
    /// The `Proxy-Authorization` header, if any.
    pub authorization: Option<String>,
}

/// A forward proxy on 127.0.0.1 (see the module docs).
pub struct ForwardProxy {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<ProxiedRequest>>>,
    accept: Option<JoinHandle<()>>,
}

impl ForwardProxy {
    /// Starts one on a free loopback port.
    pub fn start() -> ForwardProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("local address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (stop, seen) = (Arc::clone(&stop), Arc::clone(&seen));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let seen = Arc::clone(&seen);
                            std::thread::spawn(move || {
                                let _ = serve(client, &seen);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        ForwardProxy {
            address,
            stop,
            seen,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:<port>`, for `HTTP_PROXY`/`HTTPS_PROXY` or a builder's `proxy`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<ProxiedRequest> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Serves one connection: one request.
fn serve(mut client: TcpStream, seen: &Mutex<Vec<ProxiedRequest>>) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(SILENCE))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= HEAD_LIMIT || client.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (
        first.next().unwrap_or_default().to_owned(),
        first.next().unwrap_or_default().to_owned(),
    );
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.clone())
    };
    seen.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(ProxiedRequest {
            method: method.clone(),
            target: target.clone(),
            authorization: header("proxy-authorization"),
        });
    if method == "CONNECT" {
        return tunnel(client, &target);
    }
    let Some(rest) = target.strip_prefix("http://") else {
        client.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")?;
        return Ok(());
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let length: usize = header("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length.min(16 << 20)];
    client.read_exact(&mut body)?;
    let address = authority
        .parse::<SocketAddr>()
        .or_else(|_| format!("{authority}:80").parse::<SocketAddr>());
    let Ok(address) = address else {
        client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")?;
        return Ok(());
    };
    let mut upstream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
    upstream.set_read_timeout(Some(SILENCE))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in &headers {
        if !matches!(
            name.as_str(),
            "proxy-authorization" | "proxy-connection" | "connection"
        ) {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    request.push_str("connection: close\r\n\r\n");
    upstream.write_all(request.as_bytes())?;
    upstream.write_all(&body)?;
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = upstream.read(&mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        client.write_all(&buffer[..read])?;
    }
}

/// Answers a `CONNECT` to a loopback address with `200` and copies bytes both ways until
/// either side closes or stays silent past [`SILENCE`].
fn tunnel(mut client: TcpStream, target: &str) -> std::io::Result<()> {
    let upstream = match target.parse::<SocketAddr>() {
        Ok(address) if address.ip().is_loopback() => {
            TcpStream::connect_timeout(&address, Duration::from_secs(5)).ok()
        }
        _ => None,
    };
    let Some(upstream) = upstream else {
        client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")?;
        return Ok(());
    };
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    upstream.set_read_timeout(Some(SILENCE))?;
    let (mut client_reader, mut upstream_writer) = (client.try_clone()?, upstream.try_clone()?);
    let upload = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_reader, &mut upstream_writer);
        let _ = upstream_writer.shutdown(std::net::Shutdown::Write);
    });
    let (mut upstream_reader, mut client_writer) = (upstream, client);
    let _ = std::io::copy(&mut upstream_reader, &mut client_writer);
    let _ = client_writer.shutdown(std::net::Shutdown::Both);
    let _ = upload.join();
    Ok(())
}
