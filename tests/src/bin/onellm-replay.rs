//! `onellm-replay`: replay a recorded provider response through the OneLLM core.
//!
//! ```text
//! onellm-replay --provider P [--endpoint chat|embeddings|completions|responses] [--stream]
//!               [--status N] [--header 'Name: value']... FILE
//! ```
//! Prints exactly one JSON line: `{"ok":true,"completion":{…},"chunks":N}` (accumulated when
//! `--stream`), `{"ok":true,"embeddings":{…}}`, `{"ok":true,"completions":{…}}`,
//! `{"ok":true,"response":{…}}` (Responses API; with `"events":N` when `--stream`), or
//! `{"ok":false,"error":{"kind":…,"status":…,"message":…,"retry_after_ms":…}}`. Exit 0 for
//! both verdicts; 2 for bad usage or an unreadable file.

use std::process::ExitCode;

use onellm_testkit::replay::{replay, Endpoint, Recording};

const USAGE: &str = "usage: onellm-replay --provider P [--endpoint chat|embeddings|completions|responses] [--stream] [--status N] [--header 'Name: value']... FILE";

fn parse(args: &[String]) -> Result<(Recording, String), String> {
    let mut recording = Recording {
        provider: String::new(),
        endpoint: Endpoint::Chat,
        stream: false,
        status: 200,
        headers: Vec::new(),
        body: Vec::new(),
    };
    let mut file = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "--provider" => recording.provider = value("--provider")?,
            "--endpoint" => {
                let text = value("--endpoint")?;
                recording.endpoint =
                    Endpoint::parse(&text).ok_or_else(|| format!("unknown endpoint {text:?}"))?;
            }
            "--stream" => recording.stream = true,
            "--status" => {
                let text = value("--status")?;
                recording.status = text.parse().map_err(|_| format!("bad status {text:?}"))?;
            }
            "--header" => {
                let text = value("--header")?;
                let (name, value) = text
                    .split_once(':')
                    .ok_or_else(|| format!("bad header {text:?}: want 'Name: value'"))?;
                recording
                    .headers
                    .push((name.trim().to_owned(), value.trim().to_owned()));
            }
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            path if file.is_none() => file = Some(path.to_owned()),
            extra => return Err(format!("unexpected argument {extra:?}")),
        }
    }
    if recording.provider.is_empty() {
        return Err("--provider is required".to_owned());
    }
    let file = file.ok_or("FILE is required")?;
    Ok((recording, file))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut recording, file) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("onellm-replay: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    recording.body = match std::fs::read(&file) {
        Ok(body) => body,
        Err(error) => {
            eprintln!("onellm-replay: cannot read {file}: {error}");
            return ExitCode::from(2);
        }
    };
    match replay(&recording) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("onellm-replay: {message}");
            ExitCode::from(2)
        }
    }
}
