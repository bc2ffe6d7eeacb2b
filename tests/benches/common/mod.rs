//! The loopback server the end-to-end benches measure against, and the payloads it serves.
//!
//! A hyper HTTP/1.1 server with keep-alive on its own one-worker tokio runtime and thread.
//! It answers every request from prebuilt bytes (a clone of a `Bytes`, no per-request
//! formatting), so server time is small and, above all, the same for OneLLM and for the bare
//! client it is compared with. The testkit's `FakeProvider` (a thread per connection, scripted
//! replies) is built for fidelity, not speed, so it is not used here.

#![allow(dead_code)] // each bench binary uses part of this module

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// What the server answers.
pub struct Replies {
    /// For a request whose body has `"stream":true`.
    pub stream: Reply,
    /// For any other request.
    pub whole: Reply,
}

/// One reply body.
#[derive(Clone)]
pub enum Reply {
    /// Sent with a `Content-Length`.
    Bytes {
        content_type: &'static str,
        body: Bytes,
    },
    /// `repeat` copies of `piece` between `head` and `tail`, chunked, one frame per piece:
    /// a large body the server never holds whole (for the memory bench).
    Generated {
        head: Bytes,
        piece: Bytes,
        repeat: usize,
        tail: Bytes,
    },
}

/// A running server; it lives until the process ends.
pub struct Server {
    pub addr: SocketAddr,
}

impl Server {
    pub fn start(replies: Replies) -> Server {
        let replies = Arc::new(replies);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("server runtime");
                runtime.block_on(serve(replies, tx));
            })
            .expect("server thread");
        let addr = rx.recv().expect("server address");
        Server { addr }
    }

    /// The `openai` base URL for OneLLM's clients.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

async fn serve(replies: Arc<Replies>, tx: std::sync::mpsc::Sender<SocketAddr>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    tx.send(listener.local_addr().expect("address"))
        .expect("report address");
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        socket.set_nodelay(true).ok();
        let replies = Arc::clone(&replies);
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(Arc::clone(&replies), request));
            // A client closing its connection mid-reply is not our problem here.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}

type ReplyBody = http_body_util::Either<Full<Bytes>, StreamBody<futures_stream::Pieces>>;

async fn answer(
    replies: Arc<Replies>,
    request: Request<Incoming>,
) -> Result<Response<ReplyBody>, Infallible> {
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let streaming = asks_for_stream(&body);
    let reply = if streaming {
        &replies.stream
    } else {
        &replies.whole
    };
    let response = match reply {
        Reply::Bytes { content_type, body } => Response::builder()
            .header("content-type", *content_type)
            .body(http_body_util::Either::Left(Full::new(body.clone()))),
        Reply::Generated {
            head,
            piece,
            repeat,
            tail,
        } => Response::builder()
            .header("content-type", "text/event-stream")
            .body(http_body_util::Either::Right(StreamBody::new(
                futures_stream::Pieces {
                    head: Some(head.clone()),
                    piece: piece.clone(),
                    left: *repeat,
                    tail: Some(tail.clone()),
                },
            ))),
    };
    Ok(response.expect("valid response"))
}

/// Whether a JSON request body asks for a stream (OneLLM and the bare clients both send
/// compact JSON).
fn asks_for_stream(body: &[u8]) -> bool {
    body.windows(b"\"stream\":true".len())
        .any(|w| w == b"\"stream\":true")
}

/// A tiny `Stream` of body frames, so no futures crate is needed.
mod futures_stream {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use hyper::body::Frame;

    pub struct Pieces {
        pub head: Option<Bytes>,
        pub piece: Bytes,
        pub left: usize,
        pub tail: Option<Bytes>,
    }

    impl futures_core::Stream for Pieces {
        type Item = Result<Frame<Bytes>, std::convert::Infallible>;

        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            if let Some(head) = self.head.take() {
                return Poll::Ready(Some(Ok(Frame::data(head))));
            }
            if self.left > 0 {
                self.left -= 1;
                return Poll::Ready(Some(Ok(Frame::data(self.piece.clone()))));
            }
            Poll::Ready(self.tail.take().map(|tail| Ok(Frame::data(tail))))
        }
    }
}

/// A non-streaming OpenAI chat completion of about `text_len` characters of answer.
pub fn openai_completion(text_len: usize) -> Bytes {
    let text = "word ".repeat(text_len / 5);
    Bytes::from(
        serde_json::to_vec(&serde_json::json!({
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1_763_000_000u64,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": null},
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 20, "completion_tokens": 60, "total_tokens": 80}
        }))
        .expect("serializes"),
    )
}

const CHUNK_HEAD: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1763000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":"#;

/// One OpenAI SSE chunk event carrying `text`.
pub fn openai_chunk_event(text: &str) -> String {
    let content = serde_json::to_string(text).expect("serializes");
    format!(
        "data: {CHUNK_HEAD}{{\"content\":{content}}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
    )
}

/// The first event of an OpenAI stream.
pub fn openai_stream_head() -> String {
    format!(
        "data: {CHUNK_HEAD}{{\"role\":\"assistant\",\"content\":\"\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
    )
}

/// The last events of an OpenAI stream: the finish reason, usage, `[DONE]`.
pub fn openai_stream_tail() -> String {
    format!(
        "data: {CHUNK_HEAD}{{}},\"logprobs\":null,\"finish_reason\":\"stop\"}}],\"usage\":{{\"prompt_tokens\":20,\"completion_tokens\":1000,\"total_tokens\":1020}}}}\n\ndata: [DONE]\n\n"
    )
}

/// A whole OpenAI stream body of `chunks` chunk events (head and tail included).
pub fn openai_stream(chunks: usize) -> Bytes {
    let mut body = openai_stream_head();
    for i in 2..chunks {
        body.push_str(&openai_chunk_event(&format!(" tok{i}")));
    }
    body.push_str(&openai_stream_tail());
    Bytes::from(body)
}
