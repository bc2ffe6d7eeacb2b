//! A stream whose HTTP body ends some time after its terminal marker (`[DONE]`): the caller
//! gets the end of the stream at once, and the connection is still pooled when the end of
//! the body comes soon after.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use onellm_blocking::{ChatRequest, Client};

/// Every loop here stops on its own after this long.
const LIFETIME: Duration = Duration::from_secs(15);

/// An OpenAI-style streaming server on loopback that writes `[DONE]`, waits `delay`, then
/// ends the chunked body. Keeps connections alive; counts them.
struct LateServer {
    url: String,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl LateServer {
    fn start(delay: Duration) -> LateServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopped) = (accepted.clone(), stop.clone());
        thread::spawn(move || {
            let started = Instant::now();
            while !stopped.load(Ordering::SeqCst) && started.elapsed() < LIFETIME {
                match listener.accept() {
                    Ok((socket, _)) => {
                        count.fetch_add(1, Ordering::SeqCst);
                        let stopped = stopped.clone();
                        thread::spawn(move || serve(socket, delay, &stopped));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        LateServer {
            url,
            accepted,
            stop,
        }
    }
}

impl Drop for LateServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(socket: TcpStream, delay: Duration, stop: &AtomicBool) {
    socket.set_nonblocking(false).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut writer = socket.try_clone().unwrap();
    let mut reader = BufReader::new(socket);
    let started = Instant::now();
    'requests: while !stop.load(Ordering::SeqCst) && started.elapsed() < LIFETIME {
        // The request head, then its body.
        let mut length = 0;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => return,
                Ok(_) => {}
                Err(_) if line.is_empty() => continue 'requests,
                Err(_) => return,
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let events = concat!(
            r#"data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","#,
            r#""choices":[{"index":0,"delta":{"role":"assistant","content":"hi"},"#,
            r#""finish_reason":"stop"}]}"#,
            "\n\ndata: [DONE]\n\n"
        );
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                    transfer-encoding: chunked\r\n\r\n";
        let chunk = format!("{head}{:x}\r\n{events}\r\n", events.len());
        if writer.write_all(chunk.as_bytes()).is_err() {
            return;
        }
        thread::sleep(delay);
        if writer.write_all(b"0\r\n\r\n").is_err() {
            return;
        }
    }
}

fn client(server: &LateServer) -> Client {
    Client::builder()
        .api_key("openai", "sk-late")
        .base_url("openai", server.url.clone())
        .build()
        .unwrap()
}

#[test]
fn a_late_body_end_does_not_hold_the_caller() {
    let server = LateServer::start(Duration::from_secs(5));
    let client = client(&server);
    let started = Instant::now();
    let completion = client
        .chat_stream(ChatRequest::new("openai/m").user("x"))
        .into_completion()
        .unwrap();
    let elapsed = started.elapsed();
    eprintln!("stream with a body end 5 s after [DONE] returned after {elapsed:?}");
    assert_eq!(completion.text(), "hi");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
}

#[test]
fn a_prompt_body_end_keeps_the_connection() {
    let server = LateServer::start(Duration::from_millis(10));
    let client = client(&server);
    for _ in 0..5 {
        let completion = client
            .chat_stream(ChatRequest::new("openai/m").user("x"))
            .into_completion()
            .unwrap();
        assert_eq!(completion.text(), "hi");
    }
    // One connection when every body end arrives within the caller's 50 ms wait; a loaded
    // machine can delay the server's thread past it once. Without reuse this would be 5.
    let accepted = server.accepted.load(Ordering::SeqCst);
    assert!(accepted <= 2, "{accepted} connections for 5 streams");
}

#[test]
fn a_slow_body_end_does_not_hold_up_other_streams() {
    // The client's draining thread is kept busy by the slow server's body; the prompt
    // server's streams must still return at once and keep their connection.
    let slow = LateServer::start(Duration::from_secs(3));
    let prompt = LateServer::start(Duration::from_millis(1));
    let client = Client::builder()
        .api_key("openai", "sk-late")
        .base_url("openai", slow.url.clone())
        .api_key("groq", "gsk-late")
        .base_url("groq", prompt.url.clone())
        .build()
        .unwrap();
    let completion = client
        .chat_stream(ChatRequest::new("openai/m").user("x"))
        .into_completion()
        .unwrap();
    assert_eq!(completion.text(), "hi");
    let started = Instant::now();
    for _ in 0..3 {
        let completion = client
            .chat_stream(ChatRequest::new("groq/m").user("x"))
            .into_completion()
            .unwrap();
        assert_eq!(completion.text(), "hi");
    }
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    let accepted = prompt.accepted.load(Ordering::SeqCst);
    assert!(accepted <= 2, "{accepted} connections for 3 streams");
}
