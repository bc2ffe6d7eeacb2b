//! `embed_many` on both transports: 1,000 texts in batches, a bounded number at once, put
//! back in input order, with progress; a failing batch fails the whole call.

use std::sync::{Arc, Mutex};

use onellm_core::client::Batching;
use onellm_core::{EmbeddingRequest, ErrorKind};
use onellm_testkit::{FakeProvider, Reply};

const TEXTS: usize = 1000;
const BATCH: usize = 64;
const CONCURRENCY: usize = 4;

fn request() -> EmbeddingRequest {
    let texts: Vec<String> = (0..TEXTS).map(|i| format!("document number {i}")).collect();
    EmbeddingRequest::new("openai/text-embedding-3-small", texts)
}

/// A batching that records every progress report.
fn batching(progress: &Arc<Mutex<Vec<(usize, usize)>>>) -> Batching {
    let progress = Arc::clone(progress);
    Batching::new(BATCH, CONCURRENCY).on_progress(move |done, total| {
        progress.lock().unwrap().push((done, total));
    })
}

fn check(
    server: &FakeProvider,
    many: Vec<Vec<f32>>,
    one: Vec<Vec<f32>>,
    progress: &[(usize, usize)],
) {
    assert_eq!(many.len(), TEXTS);
    assert_eq!(
        many, one,
        "the batched vectors are the single request's, in order"
    );
    let batches = TEXTS.div_ceil(BATCH);
    assert_eq!(progress.len(), batches);
    assert!(
        progress.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "{progress:?}"
    );
    assert_eq!(progress.last(), Some(&(TEXTS, TEXTS)));
    // The batches and the one comparison request.
    assert_eq!(server.requests().len(), batches + 1);
    assert!(
        server.connections() <= CONCURRENCY + 2,
        "{} connections",
        server.connections()
    );
}

fn blocking_client(server: &FakeProvider) -> onellm_blocking::Client {
    onellm_blocking::Client::builder()
        .api_key("openai", "sk-embed")
        .base_url("openai", server.openai_base_url())
        .retries(0)
        .build()
        .unwrap()
}

fn tokio_client(server: &FakeProvider) -> onellm_tokio::Client {
    onellm_tokio::Client::builder()
        .api_key("openai", "sk-embed")
        .base_url("openai", server.openai_base_url())
        .retries(0)
        .build()
        .unwrap()
}

#[test]
fn blocking_embeds_many_texts_in_order() {
    let server = FakeProvider::start();
    let client = blocking_client(&server);
    let progress = Arc::new(Mutex::new(Vec::new()));
    let many = client.embed_many(request(), batching(&progress)).unwrap();
    assert_eq!(many.usage.as_ref().map(|u| u.prompt_tokens > 0), Some(true));
    let one = client
        .embeddings(request())
        .unwrap()
        .into_vectors()
        .unwrap();
    check(
        &server,
        many.into_vectors().unwrap(),
        one,
        &progress.lock().unwrap(),
    );

    server.push(Reply::status(422));
    let error = client
        .embed_many(request(), Batching::new(BATCH, CONCURRENCY))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidRequest);
}

#[test]
fn tokio_embeds_many_texts_in_order() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = FakeProvider::start();
    let client = tokio_client(&server);
    let progress = Arc::new(Mutex::new(Vec::new()));
    runtime.block_on(async {
        let many = client
            .embed_many(request(), batching(&progress))
            .await
            .unwrap();
        let one = client
            .embeddings(request())
            .await
            .unwrap()
            .into_vectors()
            .unwrap();
        check(
            &server,
            many.into_vectors().unwrap(),
            one,
            &progress.lock().unwrap(),
        );

        server.push(Reply::status(422));
        let error = client
            .embed_many(request(), Batching::new(BATCH, CONCURRENCY))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    });
}
