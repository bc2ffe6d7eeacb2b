//! `chat`: a command-line chat client on the blocking OneLLM client.
//!
//! ```text
//! cargo run -p onellm-blocking --example chat -- [OPTIONS] [PROMPT]
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
//!   --fake            answer from a built-in fake provider on loopback: no key, no network
//!   PROMPT            the user message; without it (and without --request messages) stdin
//! ```
//!
//! Providers are configured from the environment exactly as the library reads it
//! (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `ANTHROPIC_API_KEY`, …). A failure exits with
//! status 1 and prints `error: <kind>: <message>` on stderr; with `--json` also one stdout
//! line `{"error": {"kind", "message", "status", "attempts": [{"model", "kind", "status"}]}}`.
//! Bad flags exit with status 2.
//!
//! With `--fake`, a model named `openai/fail-429` (any status) fails with that status, which
//! shows retries, fallbacks and the error output without a real provider.

use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use onellm_blocking::{ChatCompletion, ChatRequest, Client, Error, Message, Role};
use serde_json::{json, Value};

const DEFAULT_MODEL: &str = "openai/gpt-4o-mini";

const USAGE: &str = "usage: chat [--model M] [--fallback M]... [--retries N] [--timeout SECS] \
[--stream] [--json] [--system TEXT] [--max-tokens N] [--request FILE] [--fake] [PROMPT]";

/// The command line, parsed.
#[derive(Debug, Default)]
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

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: usage: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let request = match build_request(&args) {
        Ok(request) => request,
        Err(message) => {
            eprintln!("error: usage: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Kept alive until the call is over; stops when dropped.
    let fake = args.fake.then(onellm_testkit::FakeProvider::start);
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
    let result = builder.build().and_then(|client| {
        if args.stream {
            stream(&client, request, args.json)
        } else {
            whole(&client, request, args.json)
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error, args.json);
            ExitCode::from(1)
        }
    }
}

/// `Ok(None)` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args::default();
    let mut words: Vec<String> = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--model" => parsed.model = Some(value("--model")?),
            "--fallback" => parsed.fallbacks.push(value("--fallback")?),
            "--retries" => parsed.retries = Some(number("--retries", &value("--retries")?)?),
            "--timeout" => {
                let text = value("--timeout")?;
                let seconds: f64 = text
                    .parse()
                    .map_err(|_| format!("--timeout wants seconds, got {text:?}"))?;
                let timeout = Duration::try_from_secs_f64(seconds)
                    .ok()
                    .filter(|t| !t.is_zero())
                    .ok_or_else(|| format!("--timeout wants positive seconds, got {text:?}"))?;
                parsed.timeout = Some(timeout);
            }
            "--stream" => parsed.stream = true,
            "--json" => parsed.json = true,
            "--system" => parsed.system = Some(value("--system")?),
            "--max-tokens" => {
                parsed.max_tokens = Some(number("--max-tokens", &value("--max-tokens")?)?)
            }
            "--request" => parsed.request = Some(value("--request")?),
            "--fake" => parsed.fake = true,
            "--" => words.extend(args.by_ref()),
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            word => words.push(word.to_owned()),
        }
    }
    if !words.is_empty() {
        parsed.prompt = Some(words.join(" "));
    }
    Ok(Some(parsed))
}

fn number(flag: &str, text: &str) -> Result<u32, String> {
    text.parse()
        .map_err(|_| format!("{flag} wants a whole number, got {text:?}"))
}

/// The request: the `--request` file if given, then the flags over it, then the prompt.
fn build_request(args: &Args) -> Result<ChatRequest, String> {
    let mut body = match &args.request {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --request {path}: {e}"))?;
            serde_json::from_str::<Value>(&text)
                .map_err(|e| format!("--request {path} is not JSON: {e}"))?
        }
        None => json!({}),
    };
    let object = body
        .as_object_mut()
        .ok_or("--request must hold a JSON object")?;
    let model = args
        .model
        .clone()
        .or_else(|| {
            object
                .get("model")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .or_else(|| std::env::var("ONELLM_MODEL").ok().filter(|m| !m.is_empty()))
        .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
    object.insert("model".into(), Value::String(model));
    object.entry("messages").or_insert_with(|| json!([]));
    let mut request: ChatRequest =
        serde_json::from_value(body).map_err(|e| format!("invalid request: {e}"))?;
    if !args.fallbacks.is_empty() {
        request.fallback_models = Some(args.fallbacks.clone());
    }
    if let Some(retries) = args.retries {
        request.retries = Some(retries);
    }
    if let Some(max_tokens) = args.max_tokens {
        request.max_tokens = Some(max_tokens);
    }
    if let Some(system) = &args.system {
        request
            .messages
            .retain(|m| !matches!(m.role, Role::System | Role::Developer));
        request.messages.insert(0, Message::system(system.clone()));
    }
    let prompt = match &args.prompt {
        Some(prompt) => Some(prompt.clone()),
        None if request.messages.iter().all(|m| m.role == Role::System) => {
            let mut text = String::new();
            io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read the prompt from stdin: {e}"))?;
            let text = text.trim_end_matches(['\n', '\r']).to_owned();
            if text.trim().is_empty() {
                return Err("no prompt: give one as an argument or on stdin".into());
            }
            Some(text)
        }
        None => None,
    };
    if let Some(prompt) = prompt {
        request.messages.push(Message::user(prompt));
    }
    Ok(request)
}

fn whole(client: &Client, request: ChatRequest, as_json: bool) -> Result<(), Error> {
    let completion = client.chat(request)?;
    let mut out = io::stdout().lock();
    if as_json {
        writeln!(out, "{}", to_json(&completion)).ok();
    } else {
        writeln!(out, "{}", completion.text()).ok();
        print_tool_calls(&mut out, &completion);
    }
    Ok(())
}

fn stream(client: &Client, request: ChatRequest, as_json: bool) -> Result<(), Error> {
    let mut stream = client.chat_stream(request);
    let mut out = io::stdout().lock();
    let mut printed = false;
    for chunk in &mut stream {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                if printed && !as_json {
                    writeln!(out).ok();
                }
                return Err(error);
            }
        };
        if as_json {
            writeln!(out, "{}", to_json(&chunk)).ok();
        } else if let Some(text) = chunk.text() {
            write!(out, "{text}").ok();
            printed = true;
        }
        out.flush().ok();
    }
    if !as_json {
        writeln!(out).ok();
        if let Some(completion) = stream.completion() {
            print_tool_calls(&mut out, completion);
        }
    }
    Ok(())
}

fn print_tool_calls(out: &mut impl Write, completion: &ChatCompletion) {
    let calls = completion
        .message()
        .and_then(|message| message.tool_calls.as_ref());
    for call in calls.into_iter().flatten() {
        writeln!(
            out,
            "tool call {}: {}({})",
            call.id, call.function.name, call.function.arguments
        )
        .ok();
    }
}

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        json!({"error": {"kind": "decode", "message": e.to_string()}}).to_string()
    })
}

/// The `--json` failure line, fields in the documented order.
#[derive(serde::Serialize)]
struct ErrorLine<'a> {
    error: ErrorBody<'a>,
}

#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    kind: &'static str,
    message: &'a str,
    status: Option<u16>,
    attempts: Vec<AttemptLine<'a>>,
}

#[derive(serde::Serialize)]
struct AttemptLine<'a> {
    model: &'a str,
    kind: Option<&'static str>,
    status: Option<u16>,
}

fn report(error: &Error, as_json: bool) {
    eprintln!("error: {error}");
    if as_json {
        let attempts = error
            .attempts()
            .iter()
            .map(|attempt| AttemptLine {
                model: &attempt.model,
                kind: attempt.kind().map(|kind| kind.as_str()),
                status: attempt.status,
            })
            .collect();
        let line = ErrorLine {
            error: ErrorBody {
                kind: error.kind().as_str(),
                message: error.message(),
                status: error.status(),
                attempts,
            },
        };
        println!("{}", to_json(&line));
    }
}
