//! `bench`: tokens per second of the in-process engine against bare llama.cpp on the same
//! GGUF file, threads and llama.cpp build.
//!
//! ```text
//! cargo run --release -p onellm-llama --features engine --example bench -- \
//!     [--model FILE.gguf] [--threads 2] [--prompt 512] [--gen 128] [--reps 3]
//! ```
//!
//! Without `--model` it writes a random-weight llama model (width 512, 8 layers, ~25 M F32
//! parameters) and measures that. Two sides, each run `--reps` times after one warm-up:
//!
//! - **bare llama.cpp**, as `llama-bench` measures (`pp`: the prompt's tokens decoded in
//!   batches into an empty KV cache; `tg`: tokens decoded one at a time, no sampling), on one
//!   context made beforehand, through `llama-cpp-2`;
//! - **the engine**, as a call runs it ([`Job::run`], what the transports run): `pp` is
//!   the time to the response head (a context made for the call, chat template, tokenizing,
//!   the prompt decoded) over the prompt's tokens; `tg` is the time from the head to the
//!   end of a streamed reply (sampling, UTF-8 assembly, the SSE bytes) over its tokens.
//!   The per-call cost outside decoding (`call overhead`) is the engine's time for a
//!   one-token prompt-and-reply minus bare decoding of the same tokens.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use bytes::Bytes;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use onellm_llama::tiny_gguf::TinyModel;
use onellm_llama::{EngineOptions, LocalModels, Piece, Route};
use serde_json::{json, Value};

struct Args {
    model: Option<String>,
    threads: u32,
    prompt: usize,
    gen: usize,
    reps: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        model: None,
        threads: 2,
        prompt: 512,
        gen: 128,
        reps: 3,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().unwrap_or_else(|| usage(&flag));
        match flag.as_str() {
            "--model" => args.model = Some(value()),
            "--threads" => args.threads = value().parse().unwrap_or_else(|_| usage("--threads")),
            "--prompt" => args.prompt = value().parse().unwrap_or_else(|_| usage("--prompt")),
            "--gen" => args.gen = value().parse().unwrap_or_else(|_| usage("--gen")),
            "--reps" => args.reps = value().parse().unwrap_or_else(|_| usage("--reps")),
            other => usage(other),
        }
    }
    args
}

fn usage(flag: &str) -> ! {
    eprintln!(
        "bad or incomplete flag {flag:?}\nusage: bench [--model FILE.gguf] [--threads N] \
         [--prompt TOKENS] [--gen TOKENS] [--reps N]"
    );
    std::process::exit(2)
}

fn main() {
    let args = parse_args();
    let path = match &args.model {
        Some(path) => std::path::PathBuf::from(path),
        None => {
            let path = std::env::temp_dir().join("onellm-bench-model.gguf");
            TinyModel {
                context_length: 4096,
                embedding_length: 512,
                feed_forward_length: 1408,
                layers: 8,
                heads: 8,
                ..TinyModel::default()
            }
            .write(&path)
            .expect("write the bench model");
            path
        }
    };
    let n_ctx = (args.prompt + args.gen + 64).next_power_of_two() as u32;
    let options = EngineOptions {
        context_size: Some(n_ctx),
        threads: Some(args.threads),
        batch_size: 512,
        gpu_layers: 0,
    };
    let models = LocalModels::new()
        .model_file("bench", &path)
        .route(Route::Local)
        .options(options);

    // The engine first: it sets up llama.cpp's backend, which the bare side then shares.
    let prompt_text = "word ".repeat(args.prompt / 5);
    let mut engine_pp = Vec::new();
    let mut engine_tg = Vec::new();
    let mut prompt_tokens = 0;
    let mut generated = 0;
    for rep in 0..=args.reps {
        let pp = run(
            &models,
            json!({"model": "bench", "messages": [{"role": "user", "content": prompt_text}],
                   "max_tokens": 1, "temperature": 0, "stream": true,
                   "stream_options": {"include_usage": true}}),
        );
        let tg = run(
            &models,
            json!({"model": "bench", "messages": [{"role": "user", "content": "Hi"}],
                   "max_tokens": args.gen, "seed": 1, "stream": true,
                   "stream_options": {"include_usage": true}}),
        );
        if rep > 0 {
            prompt_tokens = pp.prompt_tokens;
            generated = tg.completion_tokens;
            engine_pp.push(pp.prompt_tokens as f64 / pp.to_head.as_secs_f64());
            engine_tg.push(tg.completion_tokens as f64 / tg.after_head.as_secs_f64());
        }
    }
    let one = run(
        &models,
        json!({"model": "bench", "messages": [{"role": "user", "content": "Hi"}],
               "max_tokens": 1, "temperature": 0, "stream": false}),
    );

    let backend = onellm_llama::backend().expect("llama.cpp backend");
    let model = LlamaModel::load_from_file(backend, &path, &LlamaModelParams::default())
        .expect("load the model");
    let threads = args.threads as i32;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(512)
        .with_n_ubatch(512)
        .with_n_threads(threads)
        .with_n_threads_batch(threads);
    let mut context = model.new_context(backend, params).expect("context");
    let n_vocab = model.n_vocab();
    let mut random = 12345u32;
    let mut token = || {
        random = random.wrapping_mul(1_103_515_245).wrapping_add(12345);
        LlamaToken::new(((random >> 8) % n_vocab as u32) as i32)
    };
    let mut bare_pp = Vec::new();
    let mut bare_tg = Vec::new();
    let mut batch = LlamaBatch::new(512, 1);
    for rep in 0..=args.reps {
        context.clear_kv_cache();
        let started = Instant::now();
        let mut position = 0;
        while position < prompt_tokens {
            batch.clear();
            let end = (position + 512).min(prompt_tokens);
            for p in position..end {
                batch.add(token(), p as i32, &[0], p == end - 1).unwrap();
            }
            context.decode(&mut batch).expect("decode");
            position = end;
        }
        let pp = started.elapsed();
        context.clear_kv_cache();
        let started = Instant::now();
        for p in 0..args.gen {
            batch.clear();
            batch.add(token(), p as i32, &[0], true).unwrap();
            context.decode(&mut batch).expect("decode");
        }
        let tg = started.elapsed();
        if rep > 0 {
            bare_pp.push(prompt_tokens as f64 / pp.as_secs_f64());
            bare_tg.push(args.gen as f64 / tg.as_secs_f64());
        }
    }
    // Bare decoding of what the one-token call decoded: its prompt, then one token.
    context.clear_kv_cache();
    let started = Instant::now();
    batch.clear();
    for p in 0..one.prompt_tokens {
        batch
            .add(token(), p as i32, &[0], p == one.prompt_tokens - 1)
            .unwrap();
    }
    context.decode(&mut batch).expect("decode");
    let bare_one = started.elapsed();

    println!(
        "model {} ({} threads, context {n_ctx}), {} reps after a warm-up",
        path.display(),
        args.threads,
        args.reps
    );
    println!("| test | bare llama.cpp t/s | engine t/s | ratio |");
    println!("|---|---|---|---|");
    let row = |name: String, bare: &[f64], engine: &[f64]| {
        let (bare, engine) = (median(bare), median(engine));
        println!(
            "| {name} | {bare:.1} | {engine:.1} | {:.3} |",
            engine / bare
        );
    };
    row(format!("pp{prompt_tokens}"), &bare_pp, &engine_pp);
    row(format!("tg{}", args.gen), &bare_tg, &engine_tg);
    if generated != args.gen {
        println!("(the engine's replies ended after {generated} tokens: the model's end of turn)");
    }
    println!(
        "call overhead: a {}-token prompt and 1 token took {:.2} ms through the engine, \
         {:.2} ms of bare decoding: {:.2} ms more",
        one.prompt_tokens,
        ms(one.total),
        ms(bare_one),
        ms(one.total.saturating_sub(bare_one))
    );
}

/// What one engine call took and counted.
struct Timed {
    to_head: Duration,
    after_head: Duration,
    total: Duration,
    prompt_tokens: usize,
    completion_tokens: usize,
}

/// Runs the chat `body` as a transport runs a claimed request.
fn run(models: &LocalModels, body: Value) -> Timed {
    let request = http::Request::post("http://localhost:8080/v1/chat/completions")
        .body(Bytes::from(body.to_string()))
        .unwrap();
    let started = Instant::now();
    let job = models
        .start(models.claim(&request).unwrap().unwrap())
        .unwrap();
    let mut head = None;
    let mut bytes = Vec::new();
    job.run(&|| false, &mut |piece| {
        match piece {
            Piece::Head(..) => head = Some(started.elapsed()),
            Piece::Body(piece) => bytes.extend_from_slice(&piece),
        }
        true
    });
    let total = started.elapsed();
    let to_head = head.expect("a response head");
    let text = String::from_utf8(bytes).unwrap();
    // The usage: the completion's, or the stream's usage chunk.
    let usage = text
        .split("\n\n")
        .filter_map(|event| {
            let json = event.strip_prefix("data: ").unwrap_or(event);
            serde_json::from_str::<Value>(json).ok()
        })
        .find_map(|value| value.get("usage").filter(|u| !u.is_null()).cloned())
        .unwrap_or_else(|| panic!("no usage in {text}"));
    Timed {
        to_head,
        after_head: total - to_head,
        total,
        prompt_tokens: usage["prompt_tokens"].as_u64().unwrap() as usize,
        completion_tokens: usage["completion_tokens"].as_u64().unwrap() as usize,
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
