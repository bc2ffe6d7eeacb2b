//! `chat`: a command-line chat client on the async OneLLM client (tokio).
//!
//! ```text
//! cargo run -p onellm-tokio --example chat -- [OPTIONS] [PROMPT]
//!
//!   --model M         model id, provider/model (default: $ONELLM_MODEL, else openai/gpt-4o-mini)
//!   --fallback M      a fallback model; repeat for more, tried in order
//!   --retries N       extra attempts per model on retryable errors
//!   --timeout SECS    total deadline of the call (default: $ONELLM_TIMEOUT, else 600)
//!   --stream          print the reply as it arrives
//!   --json            print OpenAI JSON: the completion, or with --stream one chunk per line
//!   --system TEXT     a system message (replaces those of --request)
//!   --max-tokens N    the reply's token limit
//!   --request FILE    send this OpenAI-format request body (JSON); other flags override it
//!   --config FILE     LiteLLM's config.yaml: --model may name one of its groups (the router)
//!   --repeat N        make the call N times through one client, one output line each
//!   --responses       send through OpenAI's Responses API (bridged where a provider lacks it)
//!   --fake            answer from a built-in fake provider on loopback: no key, no network
//!   -v, --verbose     tell on stderr each model tried, how it ended, and which one answered
//!   PROMPT            the user message; without it (and without --request messages) stdin
//! ```
//!
//! Providers are configured from the environment exactly as the library reads it
//! (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `ANTHROPIC_API_KEY`, …). A failure exits with
//! status 1 and prints `error: <kind>: <message>` on stderr; with `--json` also one stdout
//! line `{"error": {"kind", "message", "status", "attempts": [{"model", "kind", "status"}]}}`.
//! Bad flags exit with status 2.
//!
//! The flags, the request they build and the output are shared with `onellm-blocking`'s `chat`
//! ([`onellm_testkit::chat_cli`]); this file builds the async client and makes the call.
//!
//! With `--fake`, a model named `openai/fail-429` (any status) fails with that status, which
//! shows retries, fallbacks and the error output without a real provider.

use std::future::poll_fn;
use std::pin::Pin;
use std::process::ExitCode;

use futures_core::Stream;
use onellm_testkit::chat_cli::{self, Invocation, StreamPrinter};
use onellm_tokio::{ChatRequest, Client, Error, ResponsesRequest};

#[tokio::main]
async fn main() -> ExitCode {
    let Invocation { args, request } = match chat_cli::start(std::env::args().skip(1)) {
        Ok(invocation) => invocation,
        Err(exit) => return exit,
    };
    // Kept alive until the call is over; stops when dropped.
    let fake = args.fake.then(onellm_testkit::FakeProvider::start);
    // A demo answers like a model; the example's tests ask for the echo they check.
    if let Some(server) = fake
        .as_ref()
        .filter(|_| std::env::var("ONELLM_FAKE_ECHO").ok().as_deref() != Some("1"))
    {
        server.answer_like_a_model();
    }
    let mut builder = Client::builder().from_env();
    if let Some(server) = &fake {
        builder = builder
            .api_key("openai", "sk-fake")
            .base_url("openai", server.openai_base_url())
            .api_key("anthropic", "sk-ant-fake")
            .base_url("anthropic", server.anthropic_base_url());
    }
    if let Some(timeout) = args.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(path) = &args.config {
        builder = builder.router_file(path);
    }
    let result = match builder.build() {
        Ok(client) => repeat(&client, &request, &args).await,
        Err(error) => Err(error),
    };
    chat_cli::finish(result, args.style())
}

/// The call `--repeat` times (once without it), stopping at the first failure.
async fn repeat(
    client: &Client,
    request: &ChatRequest,
    args: &chat_cli::Args,
) -> Result<(), Error> {
    for _ in 0..args.repeat {
        if args.responses {
            responses(client, chat_cli::responses_request(request)?, args).await?;
        } else if args.stream {
            stream(client, request.clone(), args.style()).await?;
        } else {
            let completion = client.chat(request.clone()).await?;
            chat_cli::print_completion(&completion, args.style());
        }
    }
    Ok(())
}

async fn stream(
    client: &Client,
    request: ChatRequest,
    style: chat_cli::Style,
) -> Result<(), Error> {
    let mut stream = client.chat_stream(request);
    let mut printer = StreamPrinter::new(style);
    // With the `futures` crate: `while let Some(chunk) = stream.next().await`.
    while let Some(chunk) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
        printer.chunk(chunk)?;
    }
    printer.end(stream.completion());
    Ok(())
}

async fn responses(
    client: &Client,
    request: ResponsesRequest,
    args: &chat_cli::Args,
) -> Result<(), Error> {
    if !args.stream {
        chat_cli::print_response(&client.responses(request).await?, args.style());
        return Ok(());
    }
    let mut stream = client.responses_stream(request);
    let mut printer = StreamPrinter::new(args.style());
    while let Some(event) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
        printer.event(event)?;
    }
    printer.end_response(stream.response());
    Ok(())
}
