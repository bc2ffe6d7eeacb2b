//! `chat`: a command-line chat client on onellm-tokio.
//!
//! ```text
//! cargo run -p onellm-tokio --example chat -- [OPTIONS] [PROMPT]
//!
//!   --model M          provider/model (default: $ONELLM_MODEL, else openai/gpt-4o-mini)
//!   --fallback M       a fallback model; repeat for more
//!   --retries N        extra attempts per model on retryable errors
//!   --timeout SECS     total deadline of the call
//!   --stream           print the reply as it arrives
//!   --json             print the ChatCompletion as one JSON line
//!                      (with --stream: one line per ChatCompletionChunk)
//!   --system TEXT      a system message
//!   --max-tokens N     max_tokens
//!   --request FILE     an OpenAI-format request body (JSON); the flags above override it
//!   --fake             serve the call from the built-in fake provider on loopback
//!   PROMPT             the user message; read from standard input when absent
//!                      (unless --request gives messages)
//! ```
//!
//! Keys and endpoints come from the environment (`OPENAI_API_KEY`, `ANTHROPIC_BASE_URL`, …).
//! On failure it exits with 1 and prints `error: <kind>: <message>` on standard error; with
//! `--json` it also prints `{"error":{"kind":…,"message":…,"status":…,"attempts":[…]}}` on
//! standard output.

use std::future::poll_fn;
use std::io::{Read, Write};
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use futures_core::Stream;
use onellm_tokio::{ChatCompletion, ChatRequest, Client, Error, Message};
use serde_json::{json, Value};

const USAGE: &str = "usage: chat [--model M] [--fallback M]... [--retries N] [--timeout SECS] \
[--stream] [--json] [--system TEXT] [--max-tokens N] [--request FILE] [--fake] [PROMPT]";

#[derive(Default)]
struct Args {
    model: Option<String>,
    fallbacks: Vec<String>,
    retries: Option<u32>,
    timeout: Option<Duration>,
    stream: bool,
    json: bool,
    system: Option<String>,
    max_tokens: Option<u32>,
    request: Option<String>,
    fake: bool,
    prompt: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let json = argv.iter().any(|a| a == "--json");
    match run(argv).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            if json {
                println!("{}", error_json(&error));
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(argv: Vec<String>) -> Result<(), Error> {
    let args = parse_args(argv).map_err(|e| Error::configuration(format!("{e}\n{USAGE}")))?;
    let request = build_request(&args)?;

    let mut builder = Client::builder().from_env();
    if let Some(timeout) = args.timeout {
        builder = builder.timeout(timeout);
    }
    // Kept alive until the call is over: the server stops when dropped.
    let fake = args.fake.then(onellm_testkit::FakeProvider::start);
    if let Some(fake) = &fake {
        builder = builder
            .base_url("openai", fake.openai_base_url())
            .api_key("openai", "fake-key")
            .base_url("anthropic", fake.anthropic_base_url())
            .api_key("anthropic", "fake-key");
    }
    let client = builder.build()?;

    if !args.stream {
        let completion = client.chat(request).await?;
        if args.json {
            println!("{}", serde_json::to_string(&completion).expect("JSON"));
        } else {
            println!("{}", completion.text());
            print_tool_calls(&completion);
        }
        return Ok(());
    }

    let mut stream = client.chat_stream(request);
    let mut printed = false;
    while let Some(item) = poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
        let chunk = match item {
            Ok(chunk) => chunk,
            Err(error) => {
                if printed && !args.json {
                    println!();
                }
                return Err(error);
            }
        };
        let mut out = std::io::stdout();
        if args.json {
            let _ = writeln!(out, "{}", serde_json::to_string(&chunk).expect("JSON"));
        } else if let Some(text) = chunk.text() {
            let _ = write!(out, "{text}");
            printed = true;
        }
        let _ = out.flush();
    }
    if !args.json {
        println!();
        if let Some(completion) = stream.completion() {
            print_tool_calls(completion);
        }
    }
    Ok(())
}

fn parse_args(argv: Vec<String>) -> Result<Args, String> {
    let mut args = Args::default();
    let mut words = argv.into_iter();
    while let Some(word) = words.next() {
        // `--flag=value` is `--flag value`.
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (word.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| words.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let number = |text: String| {
            text.parse::<u32>()
                .map_err(|_| format!("{flag} wants a whole number, not {text:?}"))
        };
        match flag.as_str() {
            "--model" => args.model = Some(value()?),
            "--fallback" => args.fallbacks.push(value()?),
            "--retries" => args.retries = Some(number(value()?)?),
            "--max-tokens" => args.max_tokens = Some(number(value()?)?),
            "--timeout" => {
                let text = value()?;
                let seconds = text
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--timeout wants seconds, not {text:?}"))?;
                args.timeout = Some(Duration::from_secs_f64(seconds));
            }
            "--system" => args.system = Some(value()?),
            "--request" => args.request = Some(value()?),
            "--stream" => args.stream = true,
            "--json" => args.json = true,
            "--fake" => args.fake = true,
            "--" => args.prompt = words.next(),
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            _ if args.prompt.is_some() => return Err("more than one PROMPT".to_owned()),
            _ => args.prompt = Some(word),
        }
    }
    Ok(args)
}

/// The request: the `--request` file if given, the flags over it, then the prompt.
fn build_request(args: &Args) -> Result<ChatRequest, Error> {
    let default_model = || {
        std::env::var("ONELLM_MODEL")
            .ok()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| "openai/gpt-4o-mini".to_owned())
    };
    let mut request = match &args.request {
        None => ChatRequest::new(default_model()),
        Some(path) => {
            let bad = |why: String| Error::configuration(format!("--request {path}: {why}"));
            let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
            let mut body: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
            if let Some(fields) = body.as_object_mut() {
                fields.entry("model").or_insert_with(|| default_model().into());
                fields.entry("messages").or_insert_with(|| json!([]));
            }
            serde_json::from_value(body).map_err(|e| bad(e.to_string()))?
        }
    };
    if let Some(model) = &args.model {
        request.model = model.clone();
    }
    if !args.fallbacks.is_empty() {
        request.fallback_models = Some(args.fallbacks.clone());
    }
    if args.retries.is_some() {
        request.retries = args.retries;
    }
    if args.max_tokens.is_some() {
        request.max_tokens = args.max_tokens;
    }
    if let Some(system) = &args.system {
        request.messages.insert(0, Message::system(system));
    }
    let prompt = match &args.prompt {
        Some(prompt) => Some(prompt.clone()),
        None if request.messages.is_empty() || args.request.is_none() => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Error::configuration(format!("reading the prompt: {e}")))?;
            Some(text.trim_end().to_owned()).filter(|t| !t.is_empty())
        }
        None => None,
    };
    if let Some(prompt) = prompt {
        request.messages.push(Message::user(prompt));
    }
    if request.messages.is_empty() {
        return Err(Error::configuration(format!("no prompt given\n{USAGE}")));
    }
    Ok(request)
}

fn print_tool_calls(completion: &ChatCompletion) {
    let calls = completion.message().and_then(|m| m.tool_calls.as_deref());
    for call in calls.unwrap_or_default() {
        println!("tool call: {}({})", call.function.name, call.function.arguments);
    }
}

fn error_json(error: &Error) -> Value {
    let attempts: Vec<Value> = error
        .attempts()
        .iter()
        .map(|a| json!({"model": a.model, "kind": a.kind().map(|k| k.as_str()), "status": a.status}))
        .collect();
    json!({"error": {
        "kind": error.kind().as_str(),
        "message": error.message(),
        "status": error.status(),
        "attempts": attempts,
    }})
}
