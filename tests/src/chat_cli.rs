//! The transport-independent half of the `chat` example of `onellm-blocking` and
//! `onellm-tokio`: its flags, the request they build, what it prints and how it exits.
//!
//! Both examples are the same command-line tool over a different client, so everything but
//! building the client and making the call lives here, once: the two tools cannot drift
//! apart in a flag, an output line or an exit code. An example's `main` is then
//!
//! ```no_run
//! use std::process::ExitCode;
//!
//! use onellm_testkit::chat_cli::{self, Invocation};
//!
//! fn main() -> ExitCode {
//!     let Invocation { args, request } = match chat_cli::start(std::env::args().skip(1)) {
//!         Ok(invocation) => invocation,
//!         Err(exit) => return exit,
//!     };
//!     // Build a client from the environment, `args.fake` and `args.timeout`, and call it:
//!     // a whole reply goes to `chat_cli::print_completion`, a stream's items to a
//!     // `chat_cli::StreamPrinter`.
//!     let result = call(request, args.stream, args.style());
//!     chat_cli::finish(result, args.style())
//! }
//! # fn call(_: onellm_core::ChatRequest, _: bool, _: chat_cli::Style) -> Result<(), onellm_core::Error> {
//! #     Ok(())
//! # }
//! ```
//!
//! Usage (`chat --help`):
//!
//! ```text
//! chat [--model M] [--fallback M]... [--retries N] [--timeout SECS] [--stream] [--json]
//!      [--system TEXT] [--max-tokens N] [--request FILE] [--responses] [--fake] [-v] [PROMPT]
//! ```
//!
//! `--responses` sends the same request through OpenAI's Responses API instead of chat
//! completions (natively, or bridged on providers without it) and prints the response's text,
//! or with `--json` the response object (with `--stream`, one event per line).
//!
//! `-v` (`--verbose`) tells the call's story on stderr: each attempt's model and provider,
//! how it ended (error kind and status), the wait before it and the time it took, and which
//! model answered.
//!
//! A failure exits with status 1 and prints `error: <kind>: <message>` on stderr; with
//! `--json` also one stdout line `{"error": {"kind", "message", "status", "attempts":
//! [{"model", "kind", "status"}]}}`. Bad flags exit with status 2.

use std::io::{self, Read, StdoutLock, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use onellm_core::provider::responses_bridge;
use onellm_core::{
    Attempt, CallReport, ChatCompletion, ChatCompletionChunk, ChatRequest, Error, Message,
    Response, ResponseStreamEvent, ResponsesRequest, Role,
};
use serde_json::{json, Value};

/// The model when neither `--model`, the `--request` file nor `ONELLM_MODEL` names one.
pub const DEFAULT_MODEL: &str = "openai/gpt-4o-mini";

/// Printed for `--help`, and after a usage error.
pub const USAGE: &str = "usage: chat [--model M] [--fallback M]... [--retries N] [--timeout SECS] \
[--stream] [--json] [--system TEXT] [--max-tokens N] [--request FILE] [--config FILE] [--repeat N] \
[--responses] [--fake] [-v] [PROMPT]";

/// The command line, parsed.
#[derive(Debug, Default)]
pub struct Args {
    /// `--model`.
    pub model: Option<String>,
    /// Every `--fallback`, in order.
    pub fallbacks: Vec<String>,
    /// `--retries`.
    pub retries: Option<u32>,
    /// `--timeout`, the client's total deadline; positive.
    pub timeout: Option<Duration>,
    /// `--stream`.
    pub stream: bool,
    /// `--json`.
    pub json: bool,
    /// `--system`.
    pub system: Option<String>,
    /// `--max-tokens`.
    pub max_tokens: Option<u32>,
    /// `--request`: the path of a JSON request body.
    pub request: Option<String>,
    /// `--config`: LiteLLM's `config.yaml`, whose groups `--model` may name.
    pub config: Option<String>,
    /// `--repeat`: how many identical calls (one output line each); 1 without it.
    pub repeat: u32,
    /// `--responses`: send through the Responses API ([`responses_request`]).
    pub responses: bool,
    /// `--fake`: the transport points its client at a [`FakeProvider`](crate::FakeProvider).
    pub fake: bool,
    /// `-v`, `--verbose`: the call's attempts on stderr.
    pub verbose: bool,
    /// The remaining words, joined by spaces.
    pub prompt: Option<String>,
}

/// A command line ready to run: its flags and the request they make.
#[derive(Debug)]
pub struct Invocation {
    /// The flags, for what the transport does itself (client, streaming, output format).
    pub args: Args,
    /// What to send.
    pub request: ChatRequest,
}

/// Parses the command line (without the program name) and builds the request, reading the
/// `--request` file and, when nothing else gives a user message, standard input.
///
/// `Err` holds the exit code for when the tool is already done: `--help` (usage printed on
/// stdout, success) or a usage error (printed on stderr, status 2).
pub fn start(args: impl Iterator<Item = String>) -> Result<Invocation, ExitCode> {
    let usage_error = |message: String| {
        eprintln!("error: usage: {message}\n{USAGE}");
        ExitCode::from(2)
    };
    let args = match parse_args(args) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return Err(ExitCode::SUCCESS);
        }
        Err(message) => return Err(usage_error(message)),
    };
    match build_request(&args) {
        Ok(request) => Ok(Invocation { args, request }),
        Err(message) => Err(usage_error(message)),
    }
}

/// How replies are printed: [`Args::style`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    /// `--json`: OpenAI JSON on stdout.
    pub json: bool,
    /// `-v`: the attempts on stderr.
    pub verbose: bool,
}

impl Args {
    /// How this command line wants replies printed.
    pub fn style(&self) -> Style {
        Style {
            json: self.json,
            verbose: self.verbose,
        }
    }
}

/// The exit code of a finished call: success, or status 1 after printing the error on
/// stderr (and with `json`, as one JSON line on stdout; with `verbose`, its attempts first).
pub fn finish(result: Result<(), Error>, style: Style) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if style.verbose {
                print_attempts(error.attempts(), false);
            }
            report(&error, style.json);
            ExitCode::from(1)
        }
    }
}

/// The story of a call on stderr, one line per attempt, then who answered:
///
/// ```text
/// attempt 1: openai/fail-401 (openai): authentication, status 401, after 0 ms, took 2 ms
/// attempt 2: anthropic/claude-sonnet-4-5 (anthropic): answered, after 0 ms, took 1 ms
/// answered by anthropic/claude-sonnet-4-5 (anthropic), after a fallback
/// ```
pub fn print_attempts(attempts: &[Attempt], succeeded: bool) {
    let mut err = io::stderr().lock();
    for (number, attempt) in attempts.iter().enumerate() {
        let outcome = match attempt.kind() {
            None => "answered".to_owned(),
            Some(kind) => match attempt.status {
                Some(status) => format!("{kind}, status {status}"),
                None => kind.to_string(),
            },
        };
        let deployment = deployment_label(attempt);
        writeln!(
            err,
            "attempt {}: {}{deployment} ({}): {outcome}, after {} ms, took {} ms",
            number + 1,
            attempt.model,
            attempt.provider,
            attempt.waited.as_millis(),
            attempt.took.as_millis(),
        )
        .ok();
    }
    match attempts.last().filter(|_| succeeded) {
        Some(last) => {
            let how = match attempts.first() {
                Some(first) if first.model != last.model => ", after a fallback",
                _ if attempts.len() > 1 => ", after retries",
                _ => "",
            };
            let deployment = deployment_label(last);
            writeln!(
                err,
                "answered by {}{deployment} ({}){how}",
                last.model, last.provider
            )
            .ok();
        }
        None => {
            writeln!(err, "no model answered").ok();
        }
    }
}

/// ` [id]` for an attempt on a router deployment, else nothing.
fn deployment_label(attempt: &Attempt) -> String {
    attempt
        .deployment
        .as_deref()
        .map(|id| format!(" [{id}]"))
        .unwrap_or_default()
}

/// With `verbose`, the attempts of a call that succeeded (from its report).
fn print_report(report: Option<&CallReport>, style: Style) {
    let Some(report) = report.filter(|_| style.verbose) else {
        return;
    };
    match &report.cached {
        Some(cached) => {
            let age = std::time::SystemTime::now()
                .duration_since(cached.stored_at)
                .unwrap_or_default();
            let cost = cached
                .original_cost
                .map(|cost| format!(", which cost ${cost:.6} when made"))
                .unwrap_or_default();
            eprintln!(
                "answered from the cache (stored {:.1} s ago{cost}); nothing sent",
                age.as_secs_f64()
            );
        }
        None => print_attempts(&report.attempts, true),
    }
}

/// `Ok(None)` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        repeat: 1,
        ..Args::default()
    };
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
            "--config" => parsed.config = Some(value("--config")?),
            "--repeat" => {
                parsed.repeat = number("--repeat", &value("--repeat")?)?;
                if parsed.repeat == 0 {
                    return Err("--repeat wants 1 or more".to_owned());
                }
            }
            "--responses" => parsed.responses = true,
            "--fake" => parsed.fake = true,
            "-v" | "--verbose" => parsed.verbose = true,
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

/// Prints a whole reply: its text and tool calls, or with `json` one line of OpenAI JSON;
/// with `verbose`, the attempts on stderr first.
pub fn print_completion(completion: &ChatCompletion, style: Style) {
    print_report(completion.report(), style);
    let mut out = io::stdout().lock();
    if style.json {
        writeln!(out, "{}", to_json(completion)).ok();
    } else {
        writeln!(out, "{}", completion.text()).ok();
        print_tool_calls(&mut out, completion);
    }
}

/// Prints a streamed reply as it arrives: the text of each chunk (flushed at once), or with
/// `json` one line of OpenAI JSON per chunk.
///
/// Holds standard output locked until dropped, so nothing else interleaves with the reply.
pub struct StreamPrinter {
    out: StdoutLock<'static>,
    json: bool,
    verbose: bool,
    /// Whether text was printed, so an error ends its line first.
    printed: bool,
}

impl StreamPrinter {
    /// Locks standard output for the reply.
    pub fn new(style: Style) -> Self {
        StreamPrinter {
            out: io::stdout().lock(),
            json: style.json,
            verbose: style.verbose,
            printed: false,
        }
    }

    /// Prints one item of the stream, or passes its error on after ending the text line
    /// (so `error: …` on stderr does not trail the reply's last words in a terminal).
    pub fn chunk(&mut self, chunk: Result<ChatCompletionChunk, Error>) -> Result<(), Error> {
        self.item(chunk, ChatCompletionChunk::text)
    }

    /// Prints one item of a stream: its text (`text` picks it), or with `json` the item as
    /// one line of JSON; an error is passed on after ending the text line.
    fn item<T: serde::Serialize>(
        &mut self,
        item: Result<T, Error>,
        text: impl Fn(&T) -> Option<&str>,
    ) -> Result<(), Error> {
        let item = match item {
            Ok(item) => item,
            Err(error) => {
                if self.printed && !self.json {
                    writeln!(self.out).ok();
                }
                return Err(error);
            }
        };
        if self.json {
            writeln!(self.out, "{}", to_json(&item)).ok();
        } else if let Some(text) = text(&item) {
            write!(self.out, "{text}").ok();
            self.printed = true;
        }
        self.out.flush().ok();
        Ok(())
    }

    /// Ends a stream that succeeded: the text's last newline and the accumulated
    /// completion's tool calls (nothing more with `json`: the chunks said it all); with
    /// `verbose`, the attempts on stderr.
    pub fn end(mut self, completion: Option<&ChatCompletion>) {
        if let Some(completion) = completion {
            let style = Style {
                json: self.json,
                verbose: self.verbose,
            };
            print_report(completion.report(), style);
        }
        if !self.json {
            writeln!(self.out).ok();
            if let Some(completion) = completion {
                print_tool_calls(&mut self.out, completion);
            }
        }
    }
}

impl StreamPrinter {
    /// Prints one event of a Responses stream: its text delta, or with `json` the event as
    /// one line of JSON. An error is passed on as [`chunk`](Self::chunk) does.
    pub fn event(&mut self, event: Result<ResponseStreamEvent, Error>) -> Result<(), Error> {
        self.item(event, ResponseStreamEvent::text_delta)
    }

    /// Ends a Responses stream that succeeded: the text's last newline and the response's
    /// function calls (nothing more with `json`); with `verbose`, the attempts on stderr.
    pub fn end_response(mut self, response: Option<&Response>) {
        if let Some(response) = response {
            let style = Style {
                json: self.json,
                verbose: self.verbose,
            };
            print_report(response.report(), style);
        }
        if !self.json {
            writeln!(self.out).ok();
            if let Some(response) = response {
                print_function_calls(&mut self.out, response);
            }
        }
    }
}

/// The request of `--responses`: the chat request the flags built, in the Responses API's
/// shape (system messages become `instructions`, the others input items).
pub fn responses_request(request: &ChatRequest) -> Result<ResponsesRequest, Error> {
    responses_bridge::chat_as_responses(request)
}

/// Prints a whole Responses API reply: its text and function calls, or with `json` one line
/// of JSON; with `verbose`, the attempts on stderr first.
pub fn print_response(response: &Response, style: Style) {
    print_report(response.report(), style);
    let mut out = io::stdout().lock();
    if style.json {
        writeln!(out, "{}", to_json(response)).ok();
    } else {
        writeln!(out, "{}", response.output_text()).ok();
        print_function_calls(&mut out, response);
    }
}

fn print_function_calls(out: &mut impl Write, response: &Response) {
    for call in response.function_calls() {
        writeln!(
            out,
            "function call {}: {}({})",
            call.call_id, call.name, call.arguments
        )
        .ok();
    }
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

fn report(error: &Error, json: bool) {
    eprintln!("error: {error}");
    if json {
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

/// For the examples' tests: `chat -v --model openai/fail-401 --fallback FALLBACK --fake`
/// succeeded and told on stderr both models, the first one's kind and status, and that
/// `fallback` (of `provider`) answered.
pub fn assert_fallback_story(output: &std::process::Output, fallback: &str, provider: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stderr.contains("attempt 1: openai/fail-401 (openai): authentication, status 401"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("attempt 2: {fallback} ({provider}): answered")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "answered by {fallback} ({provider}), after a fallback"
        )),
        "{stderr}"
    );
}

/// For the examples' tests: a model id with a typo'd provider exits 1 naming it, before
/// anything is sent (no attempt is listed).
pub fn assert_typo_refused(output: &std::process::Output, typo: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(stderr.contains("error: configuration: "), "{stderr}");
    assert!(stderr.contains(&format!("{typo:?}")), "{stderr}");
    assert!(!stderr.contains("attempt 1"), "{stderr}");
}

/// How the examples' tests run their `chat` binary: arguments, standard input, environment.
pub type RunChat<'a> =
    &'a (dyn Fn(&[&str], Option<&str>, &[(&str, &str)]) -> std::process::Output + Sync);

/// For the examples' tests, the model catalog through the binary, against a fake provider
/// it finds through the environment:
///
/// - `--json` prints `usage.cost` at the map's prices: `openai/gpt-4o` with 1,000 prompt
///   tokens (400 cached) and 500 completion tokens, the same for
///   `anthropic/claude-sonnet-4-5`, and the last chunk of `--stream --json`;
/// - bare names (`gpt-4o-mini`) reach their provider;
/// - a ~40,000-token prompt to `openai/gpt-3.5-turbo` exits 1 with
///   `context_window_exceeded` and sends nothing; with a larger-window `--fallback`, the
///   fallback answers.
///
/// Prices come from `../shared/data/model_prices_and_context_window.json`; without it the
/// costs are only checked to be there (and the skip is said).
pub fn check_catalog_story(run: RunChat<'_>) {
    let server = crate::FakeProvider::start();
    let openai = server.openai_base_url();
    let anthropic = server.anthropic_base_url();
    let env = [
        ("OPENAI_API_KEY", "sk-catalog"),
        ("OPENAI_BASE_URL", openai.as_str()),
        ("ANTHROPIC_API_KEY", "sk-ant-catalog"),
        ("ANTHROPIC_BASE_URL", anthropic.as_str()),
    ];
    let json_out = |output: &std::process::Output| -> Vec<Value> {
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    };
    let map = map_prices();
    let expect_cost = |json: &Value, key: &str, prompt: f64, cached: f64, completion: f64| {
        let cost = json["usage"]["cost"]
            .as_f64()
            .unwrap_or_else(|| panic!("no usage.cost: {json}"));
        match map.as_ref() {
            Some(map) => {
                let price = |field: &str| {
                    map[key][field]
                        .as_f64()
                        .unwrap_or_else(|| panic!("{key}.{field}"))
                };
                let expected = (prompt - cached) * price("input_cost_per_token")
                    + cached * price("cache_read_input_token_cost")
                    + completion * price("output_cost_per_token");
                assert!(
                    (cost - expected).abs() <= 1e-9,
                    "{key}: cost {cost} != {expected}"
                );
            }
            None => eprintln!("price check skipped: LiteLLM's map is absent"),
        }
    };

    server.push(crate::Reply::status(200).body(
        json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500,
                "prompt_tokens_details": {"cached_tokens": 400}}})
        .to_string(),
    ));
    let lines = json_out(&run(
        &["--json", "--model", "openai/gpt-4o", "Hi"],
        None,
        &env,
    ));
    expect_cost(&lines[0], "gpt-4o", 1000.0, 400.0, 500.0);

    server.push(crate::Reply::status(200).body(
        json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 600, "cache_read_input_tokens": 400, "output_tokens": 500}})
        .to_string(),
    ));
    let lines = json_out(&run(
        &["--json", "--model", "anthropic/claude-sonnet-4-5", "Hi"],
        None,
        &env,
    ));
    expect_cost(&lines[0], "claude-sonnet-4-5", 1000.0, 400.0, 500.0);

    server.push(crate::Reply::text("Hello there").usage(1000, 500));
    let lines = json_out(&run(
        &["--stream", "--json", "--model", "openai/gpt-4o", "Hi"],
        None,
        &env,
    ));
    let last = lines.last().expect("chunks");
    expect_cost(last, "gpt-4o", 1000.0, 0.0, 500.0);

    // A bare name reaches its provider.
    server.push(crate::Reply::text("bare"));
    let lines = json_out(&run(
        &["--json", "--model", "gpt-4o-mini", "Hi"],
        None,
        &env,
    ));
    assert_eq!(lines[0]["choices"][0]["message"]["content"], "bare");
    let sent = server.requests().len();
    assert_eq!(server.requests()[sent - 1].json()["model"], "gpt-4o-mini");

    // ~40,000 tokens to a 16,385-token model: refused, nothing sent.
    let long = "the quick brown fox jumps over the lazy dog ".repeat(4_445);
    let args = ["--model", "openai/gpt-3.5-turbo"];
    let refused = run(&args, Some(&long), &env);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("error: context_window_exceeded: "),
        "{stderr}"
    );
    assert_eq!(server.requests().len(), sent, "nothing was sent");
    server.push(crate::Reply::text("fits"));
    let fallback = run(
        &[&args[..], &["--fallback", "openai/gpt-4o"]].concat(),
        Some(&long),
        &env,
    );
    assert!(fallback.status.success(), "{fallback:?}");
    assert_eq!(String::from_utf8_lossy(&fallback.stdout).trim(), "fits");
    assert_eq!(server.requests().len(), sent + 1);
}

/// LiteLLM's model map beside the project, if it is there.
fn map_prices() -> Option<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/model_prices_and_context_window.json"
    );
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// For the examples' tests: `chat --config FILE --model smart --repeat 8` spreads eight
/// calls over the two deployments of a LiteLLM `config.yaml` (fake providers on loopback),
/// one output line per call (text, or JSON with `--json`), and `-v` names the deployment
/// that answered.
pub fn check_router_story(run: RunChat<'_>) {
    let (east, west) = (crate::FakeProvider::start(), crate::FakeProvider::start());
    let yaml = format!(
        "model_list:\n  - model_name: smart\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: os.environ/EAST_KEY\n      api_base: {}\n    model_info:\n      id: east\n  - model_name: smart\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: sk-west\n      api_base: {}\n    model_info:\n      id: west\n",
        east.openai_base_url(),
        west.openai_base_url()
    );
    let dir = std::env::temp_dir().join(format!(
        "onellm-chat-router-{}-{}",
        std::process::id(),
        east.openai_base_url().len() + yaml.len()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("proxy.yaml");
    std::fs::write(&path, &yaml).expect("write config");
    let path = path.to_str().expect("UTF-8 path");
    let env = [("EAST_KEY", "sk-east")];

    let output = run(
        &[
            "--config", path, "--model", "smart", "--repeat", "8", "--json", "hello",
        ],
        None,
        &env,
    );
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert_eq!(lines.len(), 8);
    assert!(lines
        .iter()
        .all(|line| line["choices"][0]["message"]["content"] == "hello"));
    let (to_east, to_west) = (east.requests().len(), west.requests().len());
    assert_eq!(to_east + to_west, 8);
    assert!(
        to_east > 0 && to_west > 0,
        "both deployments used: {to_east} and {to_west}"
    );

    let verbose = run(
        &["--config", path, "--model", "smart", "-v", "hi"],
        None,
        &env,
    );
    assert!(verbose.status.success(), "{verbose:?}");
    let stderr = String::from_utf8_lossy(&verbose.stderr);
    assert!(
        stderr.contains("answered by openai/gpt-4o [east]")
            || stderr.contains("answered by openai/gpt-4o [west]"),
        "{stderr}"
    );

    // Without the variable the file names, the client is not built and nothing is sent.
    let missing = run(&["--config", path, "--model", "smart", "hi"], None, &[]);
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("EAST_KEY, which is not set"),
        "{missing:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 12's shared limits from the command line: two `chat` processes at once, 4 calls
/// each, with a configuration whose preferred deployment has `rpm: 3` and whose state is in
/// a real Redis — the deployment gets 3 requests in all, the other 5, and every call is
/// answered. (Skipped with a message when `redis-server` is not installed; a failure under
/// `CI=true`.)
pub fn check_shared_router_story(run: RunChat<'_>) {
    let Some(redis) = crate::RedisServer::start() else {
        return;
    };
    let (east, west) = (crate::FakeProvider::start(), crate::FakeProvider::start());
    let yaml = format!(
        "model_list:\n  - model_name: smart\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: sk-east\n      api_base: {}\n      rpm: 3\n      order: 1\n    model_info:\n      id: east\n  - model_name: smart\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: sk-west\n      api_base: {}\n      order: 2\n    model_info:\n      id: west\nrouter_settings:\n  redis_host: 127.0.0.1\n  redis_port: {}\n",
        east.openai_base_url(),
        west.openai_base_url(),
        redis.port()
    );
    let dir = std::env::temp_dir().join(format!(
        "onellm-chat-shared-{}-{}",
        std::process::id(),
        redis.port()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("proxy.yaml");
    std::fs::write(&path, &yaml).expect("write config");
    let path = path.to_str().expect("UTF-8 path");
    // All 8 calls within one rpm window.
    let second = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() % 60);
    if second >= 50 {
        std::thread::sleep(std::time::Duration::from_secs(61 - second));
    }
    let args = [
        "--config", path, "--model", "smart", "--repeat", "4", "--json", "hello",
    ];
    let outputs: Vec<std::process::Output> = std::thread::scope(|scope| {
        let processes: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| run(&args, None, &[])))
            .collect();
        processes
            .into_iter()
            .map(|process| process.join().expect("the process thread"))
            .collect()
    });
    for output in &outputs {
        assert!(output.status.success(), "{output:?}");
        let answered = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| {
                serde_json::from_str::<Value>(line)
                    .is_ok_and(|line| line["choices"][0]["message"]["content"] == "hello")
            })
            .count();
        assert_eq!(answered, 4, "{output:?}");
    }
    assert_eq!(
        east.requests().len(),
        3,
        "rpm 3 held across both processes (each alone would send it 3)"
    );
    assert_eq!(west.requests().len(), 5);
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 14's cache from the command line: a `config.yaml` whose `litellm_settings` turn the
/// cache on. In memory, `--repeat 3` sends one request and `-v` says the others came from
/// the cache; on a real Redis (skipped with a message when `redis-server` is not
/// installed; a failure under `CI=true`), a second process is answered without a request.
pub fn check_cache_story(run: RunChat<'_>) {
    let server = crate::FakeProvider::start();
    let dir = std::env::temp_dir().join(format!(
        "onellm-chat-cache-{}-{}",
        std::process::id(),
        server.openai_base_url().len()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = |cache_params: &str| {
        format!(
            "model_list:\n  - model_name: smart\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_key: sk-cache\n      api_base: {}\nlitellm_settings:\n  cache: true\n  cache_params:\n{cache_params}",
            server.openai_base_url()
        )
    };
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write config");
        path.to_str().expect("UTF-8 path").to_owned()
    };
    let local = write("local.yaml", &config("    type: local\n    ttl: 600\n"));
    let output = run(
        &[
            "--config", &local, "--model", "smart", "--repeat", "3", "-v", "hello",
        ],
        None,
        &[],
    );
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.lines().filter(|line| *line == "hello").count(),
        3,
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("answered from the cache").count(),
        2,
        "{stderr}"
    );
    assert_eq!(server.requests().len(), 1);

    if let Some(redis) = crate::RedisServer::start() {
        let shared = write(
            "redis.yaml",
            &config(&format!(
                "    type: redis\n    host: 127.0.0.1\n    port: {}\n",
                redis.port()
            )),
        );
        for _ in 0..2 {
            let output = run(
                &["--config", &shared, "--model", "smart", "again"],
                None,
                &[],
            );
            assert!(output.status.success(), "{output:?}");
            assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "again");
        }
        assert_eq!(
            server.requests().len(),
            2,
            "the second process was answered from Redis"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// For the examples' tests, the environment's proxy through the binary (which builds its
/// client `from_env`): with `HTTP_PROXY` pointing at the testkit's forward proxy the call goes
/// through it in absolute form with the proxy's credentials, `NO_PROXY=127.0.0.1` sends it
/// direct, an `https://` URL goes through `HTTPS_PROXY` as a `CONNECT` tunnel, and a proxy
/// that refuses makes the binary exit 1 without quoting the proxy's password.
pub fn check_proxy_story(run: RunChat<'_>) {
    let (server, proxy) = (crate::FakeProvider::start(), crate::ForwardProxy::start());
    let openai = server.openai_base_url();
    let proxy_url = proxy.url().replace("http://", "http://me:s3cret@");
    let base = [
        ("OPENAI_API_KEY", "sk-env-proxy"),
        ("OPENAI_BASE_URL", openai.as_str()),
    ];
    fn with<'a>(
        base: &[(&'a str, &'a str)],
        extra: &[(&'a str, &'a str)],
    ) -> Vec<(&'a str, &'a str)> {
        base.iter().chain(extra).copied().collect()
    }

    let output = run(
        &["--model", "openai/gpt-4o-mini", "via the proxy"],
        None,
        &with(&base, &[("HTTP_PROXY", proxy_url.as_str())]),
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "via the proxy"
    );
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    // In absolute form, as an HTTP proxy expects a plain-http request.
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].target, format!("{openai}/chat/completions"));
    // base64("me:s3cret")
    assert_eq!(seen[0].authorization.as_deref(), Some("Basic bWU6czNjcmV0"));
    assert_eq!(server.requests().len(), 1);

    let output = run(
        &["--model", "openai/gpt-4o-mini", "direct"],
        None,
        &with(
            &base,
            &[
                ("http_proxy", proxy_url.as_str()),
                ("NO_PROXY", "127.0.0.1"),
            ],
        ),
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(proxy.requests().len(), 1, "NO_PROXY sent it direct");
    assert_eq!(server.requests().len(), 2);

    // https goes through HTTPS_PROXY as a CONNECT tunnel (the test proxy refuses tunnels
    // to names: the call fails after asking for one).
    let output = run(
        &["--model", "openai/gpt-4o-mini", "tunnelled"],
        None,
        &[
            ("OPENAI_API_KEY", "sk-env-proxy"),
            ("OPENAI_BASE_URL", "https://api.openai.invalid/v1"),
            ("HTTPS_PROXY", proxy_url.as_str()),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let seen = proxy.requests();
    let tunnels: Vec<_> = seen.iter().filter(|r| r.method == "CONNECT").collect();
    assert!(!tunnels.is_empty(), "{seen:?}");
    assert!(
        tunnels.iter().all(|r| r.target == "api.openai.invalid:443"),
        "{seen:?}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("s3cret") && !stderr.contains("sk-env-proxy"),
        "{stderr}"
    );

    // A proxy that is not listening: the call fails, and the password stays out of it.
    let dead = "http://me:s3cret@127.0.0.1:9";
    let output = run(
        &["--model", "openai/gpt-4o-mini", "nowhere"],
        None,
        &with(&base, &[("HTTP_PROXY", dead)]),
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert_eq!(server.requests().len(), 2);
}

/// Issue 24's `--responses` from the command line, with `--fake` (echoing): the same
/// prompt through the Responses API natively (OpenAI) and bridged (Anthropic), whole (text,
/// and the response object with `--json`) and streamed (text, and one event per line with
/// `--json`, ending in `response.completed`).
pub fn check_responses_story(run: RunChat<'_>) {
    let echo = [("ONELLM_FAKE_ECHO", "1")];
    for model in ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"] {
        let output = run(
            &["--fake", "--responses", "--model", model, "Say hello"],
            None,
            &echo,
        );
        assert!(output.status.success(), "{model}: {output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "Say hello");
        let output = run(
            &[
                "--fake",
                "--responses",
                "--json",
                "--model",
                model,
                "Say hello",
            ],
            None,
            &echo,
        );
        assert!(output.status.success(), "{model}: {output:?}");
        let response: Value =
            serde_json::from_slice(&output.stdout).expect("one JSON response object");
        assert_eq!(response["object"], "response", "{model}: {response}");
        assert_eq!(response["status"], "completed", "{model}: {response}");
        assert_eq!(
            response["output"][0]["content"][0]["text"], "Say hello",
            "{model}: {response}"
        );
        let output = run(
            &[
                "--fake",
                "--responses",
                "--stream",
                "--model",
                model,
                "Say hello",
            ],
            None,
            &echo,
        );
        assert!(output.status.success(), "{model}: {output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "Say hello");
        let output = run(
            &[
                "--fake",
                "--responses",
                "--stream",
                "--json",
                "--model",
                model,
                "Say hello",
            ],
            None,
            &echo,
        );
        assert!(output.status.success(), "{model}: {output:?}");
        let events: Vec<Value> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).expect("one JSON event per line"))
            .collect();
        assert_eq!(
            events.first().map(|e| &e["type"]),
            Some(&json!("response.created"))
        );
        assert_eq!(
            events.last().map(|e| &e["type"]),
            Some(&json!("response.completed")),
            "{model}: {events:?}"
        );
    }
}

/// Issue 25's examples built with the `llama` feature: `package`'s `chat` (built with
/// [`LLAMA_SELECTION`](crate::LLAMA_SELECTION), so llama.cpp is built once) answers from a
/// GGUF file that `write_model` writes (the testkit does not build the engine; the
/// transports' tests pass `TinyModel::write`), named `llama_cpp/model` through
/// `LLAMA_CPP_MODEL_PATH` as OneLLM's docs show, in process:
///
/// - a plain prompt gets a non-empty answer;
/// - with a fixed seed (`--request` sets `seed` and `temperature`), `--repeat 2` prints the
///   same completion twice, and `--stream --json` streams that same text;
/// - a missing file exits 1 with a `configuration` error naming it;
/// - a prompt longer than the model's context exits 1 with `context_window_exceeded`;
/// - `--fake --model openai/fail-401 --fallback llama_cpp/<stem>` answers from the local
///   model after the cloud model's 401, in one call.
pub fn check_local_model_story(manifest_dir: &str, package: &str, write_model: &dyn Fn(&Path)) {
    let binary =
        crate::example_binary_with_features(manifest_dir, package, "chat", crate::LLAMA_SELECTION);
    let run = |args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]| {
        crate::run_example(&binary, args, stdin, env)
    };
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "onellm-local-story-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let model = &dir.join("model.gguf");
    write_model(model);
    let name = "llama_cpp/model".to_owned();
    let path = model.to_str().expect("a UTF-8 path");
    let env = [("LLAMA_CPP_MODEL_PATH", path)];

    let plain = run(&["--model", &name, "--max-tokens", "8", "Hi"], None, &env);
    assert!(plain.status.success(), "{plain:?}");
    assert!(!String::from_utf8_lossy(&plain.stdout).trim().is_empty());

    let request = model.with_extension("request.json");
    std::fs::write(
        &request,
        serde_json::json!({
            "messages": [{"role": "user", "content": "Say something"}],
            "seed": 11,
            "temperature": 0.9,
            "max_tokens": 12,
        })
        .to_string(),
    )
    .expect("write the request file");
    let request = request.to_str().expect("a UTF-8 path");
    let json_lines = |output: &std::process::Output| -> Vec<serde_json::Value> {
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    };
    let twice = json_lines(&run(
        &[
            "--model",
            &name,
            "--request",
            request,
            "--json",
            "--repeat",
            "2",
        ],
        None,
        &env,
    ));
    assert_eq!(twice.len(), 2);
    let text = &twice[0]["choices"][0]["message"]["content"];
    assert!(text.as_str().is_some_and(|t| !t.is_empty()), "{twice:?}");
    assert_eq!(text, &twice[1]["choices"][0]["message"]["content"]);
    let chunks = json_lines(&run(
        &["--model", &name, "--request", request, "--json", "--stream"],
        None,
        &env,
    ));
    let streamed: String = chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(Some(streamed.as_str()), text.as_str());

    let absent = model.with_file_name("absent.gguf");
    let absent = absent.to_str().expect("a UTF-8 path");
    let missing = run(
        &["--model", "llama_cpp/absent", "Hi"],
        None,
        &[("LLAMA_CPP_MODEL_PATH", absent)],
    );
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    assert!(stderr.contains("error: configuration: "), "{stderr}");
    assert!(stderr.contains("absent.gguf"), "{stderr}");

    let long = "word ".repeat(2_000);
    let too_long = run(&["--model", &name, &long], None, &env);
    let stderr = String::from_utf8_lossy(&too_long.stderr);
    assert_eq!(too_long.status.code(), Some(1), "{too_long:?}");
    assert!(stderr.contains("context_window_exceeded"), "{stderr}");

    let fallback = run(
        &[
            "-v",
            "--fake",
            "--model",
            "openai/fail-401",
            "--fallback",
            &name,
            "--max-tokens",
            "8",
            "Hi",
        ],
        None,
        &env,
    );
    assert_fallback_story(&fallback, &name, "llama_cpp");
    std::fs::remove_dir_all(dir).ok();
}
