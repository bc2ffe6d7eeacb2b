//! Memory: peak RSS growth while a 100 MB streamed reply goes through a client.
//!
//! Run: `cargo bench -p onellm-testkit --bench memory` (Linux only: it reads
//! `/proc/self/status` and resets the peak through `/proc/self/clear_refs`).
//!
//! The loopback server generates the body frame by frame (it never holds it whole), so the
//! growth measured is the client's: its read buffers, the decoder's buffers, the chunks in
//! flight, and the completion OneLLM accumulates from the stream (all its text: about 4 MB
//! here, which is inherent to offering `ChatStream::completion`). Each scenario resets the
//! peak first and reports `VmHWM` after minus `VmRSS` before. Nothing is asserted.
//!
//! Second part: 1,000 streams open at once on one current-thread tokio runtime (each has
//! received its first chunk, then all wait on a barrier before draining), through
//! onellm-tokio and through bare hyper-util; the difference between the two rows is what
//! OneLLM holds per open stream (the server's per-connection memory is in both rows).

mod common;

use std::future::poll_fn;
use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use common::{Replies, Reply, Server};
use futures_core::Stream;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioExecutor;
use onellm_blocking::ureq;
use onellm_core::ChatRequest;
use tokio::sync::Barrier;

/// Size of the streamed body.
const TOTAL: usize = 100 * 1024 * 1024;
/// Size of one server frame.
const FRAME: usize = 64 * 1024;
/// Streams open at once in the second part.
const STREAMS: usize = 1_000;
/// Chunks in each of those streams.
const SMALL_STREAM_CHUNKS: usize = 1_000;

fn main() {
    if !std::path::Path::new("/proc/self/status").exists() {
        println!("no /proc/self/status: the memory bench runs on Linux only");
        return;
    }
    let mut piece = String::new();
    let mut i = 0usize;
    while piece.len() < FRAME {
        piece.push_str(&common::openai_chunk_event(&format!(" tok{i}")));
        i += 1;
    }
    let events_per_piece = i;
    let repeat = TOTAL / piece.len();
    let head = Bytes::from(common::openai_stream_head());
    let tail = Bytes::from(common::openai_stream_tail());
    let total = head.len() + piece.len() * repeat + tail.len();
    let chunks = events_per_piece * repeat + 2;
    let server = Server::start(Replies {
        stream: Reply::Generated {
            head,
            piece: Bytes::from(piece),
            repeat,
            tail,
        },
        whole: Reply::Bytes {
            content_type: "application/json",
            body: common::openai_completion(100),
        },
    });
    println!(
        "streamed reply: {:.1} MB, {chunks} chunk events",
        total as f64 / 1e6
    );
    let request = ChatRequest::new("openai/gpt-4o-mini").user("Stream a lot.");

    println!();
    println!("| scenario | peak RSS growth | chunks | time | throughput |");
    println!("|---|---|---|---|---|");

    // The bare client first: the floor.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}/chat/completions", server.openai_base_url());
    measure("bare ureq, read to end (16 KiB buffer)", total, || {
        let response = agent
            .post(&url)
            .header("content-type", "application/json")
            .send(&br#"{"model":"gpt-4o-mini","stream":true}"#[..])
            .expect("ureq call");
        let mut reader = response.into_body().into_reader();
        let mut buf = vec![0u8; 16 * 1024];
        let mut bytes = 0usize;
        loop {
            let n = reader.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            bytes += n;
        }
        assert_eq!(bytes, total);
        0
    });

    // OneLLM's default body limit (64 MiB) also bounds a stream: say what happens.
    let client = onellm_blocking::Client::builder()
        .api_key("openai", "sk-bench")
        .base_url("openai", server.openai_base_url())
        .build()
        .expect("client");
    let mut delivered = 0usize;
    let mut outcome = String::from("ended normally");
    for chunk in client.chat_stream(request.clone()) {
        match chunk {
            Ok(_) => delivered += 1,
            Err(error) => {
                outcome = format!("ended with {:?}: {error}", error.kind());
                break;
            }
        }
    }
    println!("(with the default `max_body_bytes` the stream {outcome} after {delivered} chunks)");
    println!();

    let client = onellm_blocking::Client::builder()
        .api_key("openai", "sk-bench")
        .base_url("openai", server.openai_base_url())
        .max_body_bytes(2 * TOTAL)
        .build()
        .expect("client");
    // Before the row that accumulates, so its freed memory cannot hide this one's growth.
    measure(
        "onellm-blocking chat_stream without_completion, chunks dropped as they come",
        total,
        || {
            let mut stream = client.chat_stream(request.clone()).without_completion();
            let mut count = 0usize;
            for chunk in &mut stream {
                std::hint::black_box(chunk.expect("chunk"));
                count += 1;
            }
            let text = stream.completion().map(|c| c.text().len()).unwrap_or(0);
            assert_eq!(text, 0, "a summary keeps no text");
            count
        },
    );
    measure(
        "onellm-blocking chat_stream, chunks dropped as they come",
        total,
        || {
            let mut stream = client.chat_stream(request.clone());
            let mut count = 0usize;
            for chunk in &mut stream {
                std::hint::black_box(chunk.expect("chunk"));
                count += 1;
            }
            let text = stream.completion().map(|c| c.text().len()).unwrap_or(0);
            println!("(accumulated completion text: {:.1} MB)", text as f64 / 1e6);
            count
        },
    );

    concurrent_streams(&request);
}

/// 1,000 streams held open at once, OneLLM then bare hyper.
fn concurrent_streams(request: &ChatRequest) {
    let body = common::openai_stream(SMALL_STREAM_CHUNKS);
    let total = body.len() * STREAMS;
    let server = Server::start(Replies {
        stream: Reply::Bytes {
            content_type: "text/event-stream",
            body,
        },
        whole: Reply::Bytes {
            content_type: "application/json",
            body: common::openai_completion(100),
        },
    });
    println!();
    println!(
        "{STREAMS} streams of {SMALL_STREAM_CHUNKS} chunks, open at once on one current-thread runtime:"
    );
    println!();
    println!("| scenario | peak RSS growth | chunks | time | throughput |");
    println!("|---|---|---|---|---|");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();

    let hyper: hyper_util::client::legacy::Client<_, Full<Bytes>> =
        hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
    let url: http::Uri = format!("{}/chat/completions", server.openai_base_url())
        .parse()
        .expect("uri");
    measure("bare hyper-util, 1,000 streams", total, || {
        runtime.block_on(async {
            let barrier = Arc::new(Barrier::new(STREAMS));
            let tasks: Vec<_> = (0..STREAMS)
                .map(|_| {
                    let hyper = hyper.clone();
                    let url = url.clone();
                    let barrier = Arc::clone(&barrier);
                    tokio::spawn(async move {
                        let request = http::Request::post(url)
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from_static(
                                br#"{"model":"gpt-4o-mini","stream":true}"#,
                            )))
                            .expect("request");
                        let mut body = hyper.request(request).await.expect("call").into_body();
                        let mut bytes = 0;
                        let mut waited = false;
                        while let Some(frame) = body.frame().await {
                            if let Ok(data) = frame.expect("frame").into_data() {
                                bytes += data.len();
                            }
                            if !waited {
                                barrier.wait().await;
                                waited = true;
                            }
                        }
                        bytes
                    })
                })
                .collect();
            let mut bytes = 0;
            for task in tasks {
                bytes += task.await.expect("task");
            }
            assert_eq!(bytes, total);
            0
        })
    });

    let client = onellm_tokio::Client::builder()
        .api_key("openai", "sk-bench")
        .base_url("openai", server.openai_base_url())
        .build()
        .expect("client");
    measure("onellm-tokio chat_stream, 1,000 streams", total, || {
        runtime.block_on(async {
            let barrier = Arc::new(Barrier::new(STREAMS));
            let tasks: Vec<_> = (0..STREAMS)
                .map(|_| {
                    let client = client.clone();
                    let request = request.clone();
                    let barrier = Arc::clone(&barrier);
                    tokio::spawn(async move {
                        let mut stream = client.chat_stream(request);
                        let mut chunks = 0;
                        while let Some(chunk) =
                            poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await
                        {
                            std::hint::black_box(chunk.expect("chunk"));
                            chunks += 1;
                            if chunks == 1 {
                                barrier.wait().await;
                            }
                        }
                        chunks
                    })
                })
                .collect();
            let mut chunks = 0;
            for task in tasks {
                chunks += task.await.expect("task");
            }
            chunks
        })
    });
}

/// Resets the peak, runs `scenario` (which returns a chunk count), prints one table row.
fn measure(name: &str, bytes: usize, scenario: impl FnOnce() -> usize) {
    // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = status_kib("VmRSS");
    let started = Instant::now();
    let chunks = scenario();
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM");
    let growth = if reset {
        format!("{:.1} MB", peak.saturating_sub(before) as f64 / 1024.0)
    } else {
        format!(
            "≤ {:.1} MB (peak not reset)",
            peak.saturating_sub(before) as f64 / 1024.0
        )
    };
    println!(
        "| {name} | {growth} | {chunks} | {:.2} s | {:.0} MB/s |",
        elapsed.as_secs_f64(),
        bytes as f64 / 1e6 / elapsed.as_secs_f64()
    );
}

/// A `kB` field of /proc/self/status.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
