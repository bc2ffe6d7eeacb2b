//! One call run on a loaded model: the OpenAI-format request body -> the model's chat
//! template -> tokens -> llama.cpp decoding and sampling -> the response pieces
//! ([`Piece`]) a llama.cpp server would send.
//!
//! [`Job::run`] is blocking and CPU-bound: the transports run it on a thread of its own
//! (a `LlamaContext` borrows its model, so the whole generation lives in one function
//! call) and hand its pieces to the core's drive loop through a bounded channel. It stops
//! between tokens when the caller is gone, and is bounded by `max_tokens` and the context.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::StatusCode;
use llama_cpp_2::context::params::{LlamaContextParams, LlamaPoolingType};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use serde_json::{json, Value};

use crate::models::{backend, Endpoint, EngineOptions};
use crate::response::{self, Finish, Identity, Piece, Usage};

/// Held while a context is made (see [`Job::chat`]).
static NEW_CONTEXT: Mutex<()> = Mutex::new(());

/// The context size when neither the options nor a smaller training context say.
const DEFAULT_CONTEXT: u32 = 4096;

/// The chat template used when the GGUF file has none (`tokenizer.chat_template`):
/// ChatML, which llama.cpp knows by name.
pub const FALLBACK_TEMPLATE: &str = "chatml";

/// A request the engine claimed, with the model to run it on.
pub struct Job {
    pub(crate) model: Arc<LlamaModel>,
    pub(crate) options: EngineOptions,
    endpoint: Endpoint,
    pub(crate) body: Value,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("endpoint", &self.endpoint)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// What a chat request asks of the sampler and the loop.
struct ChatParams {
    messages: Vec<(String, String)>,
    max_tokens: Option<u32>,
    temperature: f32,
    top_p: f32,
    top_k: i32,
    seed: u32,
    stop: Vec<String>,
    stream: bool,
    include_usage: bool,
    /// A JSON schema the output must match (`response_format`); `{}`-like for JSON mode.
    schema: Option<String>,
}

/// A request the engine cannot run, as a status, llama.cpp error type and message.
pub(crate) struct Refusal {
    status: StatusCode,
    kind: &'static str,
    message: String,
    extra: Value,
}

impl Refusal {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            message: message.into(),
            extra: Value::Null,
        }
    }

    pub(crate) fn server(message: impl Into<String>) -> Self {
        Refusal {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "server_error",
            message: message.into(),
            extra: Value::Null,
        }
    }

    /// `tokens` of input do not fit a context of `n_ctx`, said as llama.cpp's server says it
    /// (the core reads "context size" as `ContextWindowExceeded`, which may fall back).
    pub(crate) fn too_long(tokens: usize, n_ctx: u32) -> Self {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            kind: "exceed_context_size_error",
            message: format!(
                "the request exceeds the available context size: the input is {tokens} tokens, \
                 the context length {n_ctx}"
            ),
            extra: json!({"n_prompt_tokens": tokens, "n_ctx": n_ctx}),
        }
    }
}

impl Job {
    pub(crate) fn new(
        model: Arc<LlamaModel>,
        options: EngineOptions,
        endpoint: Endpoint,
        body: Value,
    ) -> Self {
        Job {
            model,
            options,
            endpoint,
            body,
        }
    }

    /// Runs the call, handing each piece of the response to `sink` (a head first, then
    /// body bytes). Stops early when `sink` returns `false` or `cancelled()` is true
    /// (checked between tokens): the caller is gone.
    pub fn run(self, cancelled: &dyn Fn() -> bool, sink: &mut dyn FnMut(Piece) -> bool) {
        let result = match self.endpoint {
            Endpoint::Chat => self.chat(cancelled, sink),
            Endpoint::Embeddings => self.embeddings(cancelled, sink),
        };
        if let Err(refusal) = result {
            for piece in response::error(
                refusal.status,
                refusal.kind,
                &refusal.message,
                refusal.extra,
            ) {
                if !sink(piece) {
                    return;
                }
            }
        }
    }

    fn chat(
        &self,
        cancelled: &dyn Fn() -> bool,
        sink: &mut dyn FnMut(Piece) -> bool,
    ) -> Result<(), Refusal> {
        let params = ChatParams::parse(&self.body)?;
        let model = &*self.model;
        let prompt = self.prompt(&params.messages)?;
        let vocab = model.vocab();
        // As llama.cpp's server: special tokens the template wrote are parsed as such.
        let tokens = vocab.tokenize(prompt.as_bytes(), true, true);
        if tokens.is_empty() {
            return Err(Refusal::invalid("the prompt is empty"));
        }
        let n_ctx = self.context_size();
        if tokens.len() >= n_ctx as usize {
            return Err(Refusal::too_long(tokens.len(), n_ctx));
        }
        let room = n_ctx as usize - tokens.len();
        let limit = params
            .max_tokens
            .map_or(room, |max| (max as usize).min(room));
        let mut sampler = self.sampler(&params)?;

        let batch_size = self.options.batch_size.max(1);
        let mut context = self.context(n_ctx, batch_size, None)?;

        // The prompt, in batches; logits only for its last token.
        let mut batch = LlamaBatch::new(batch_size as usize, 1);
        let last = tokens.len() - 1;
        for (start, piece) in tokens.chunks(batch_size as usize).enumerate() {
            batch.clear();
            for (offset, token) in piece.iter().enumerate() {
                let position = start * batch_size as usize + offset;
                batch
                    .add(*token, position as i32, &[0], position == last)
                    .map_err(|e| Refusal::server(format!("batch: {e}")))?;
            }
            if cancelled() {
                return Ok(());
            }
            context
                .decode(&mut batch)
                .map_err(|e| Refusal::server(format!("decoding the prompt failed: {e}")))?;
        }

        let identity = Identity::new(self.body["model"].as_str().unwrap_or_default());
        if !sink(response::head(StatusCode::OK, params.stream)) {
            return Ok(());
        }
        if params.stream
            && !sink(Piece::Body(
                identity.chunk(json!({"role": "assistant", "content": ""}), None),
            ))
        {
            return Ok(());
        }
        let mut text = TextOut::new(params.stop.clone());
        let mut position = tokens.len();
        let mut generated = 0;
        let mut logits_at = batch.n_tokens() - 1;
        let finish = loop {
            if generated >= limit {
                break Finish::Length;
            }
            if cancelled() {
                return Ok(());
            }
            let token = sampler.sample(&context, logits_at);
            if vocab.is_eog(token) {
                break Finish::Stop;
            }
            generated += 1;
            let bytes = vocab.token_to_piece(token, false, None);
            let stopped = text.push(&bytes);
            if params.stream {
                let delta = text.take_ready();
                if !delta.is_empty()
                    && !sink(Piece::Body(
                        identity.chunk(json!({ "content": delta }), None),
                    ))
                {
                    return Ok(());
                }
            }
            if stopped {
                break Finish::Stop;
            }
            batch.clear();
            batch
                .add(token, position as i32, &[0], true)
                .map_err(|e| Refusal::server(format!("batch: {e}")))?;
            position += 1;
            logits_at = 0;
            context
                .decode(&mut batch)
                .map_err(|e| Refusal::server(format!("decoding failed: {e}")))?;
        };
        let usage = Usage {
            prompt: tokens.len(),
            completion: generated,
        };
        let rest = text.finish();
        if params.stream {
            let mut pieces = Vec::new();
            if !rest.is_empty() {
                pieces.push(identity.chunk(json!({ "content": rest }), None));
            }
            pieces.push(identity.chunk(json!({}), Some(finish)));
            if params.include_usage {
                pieces.push(identity.usage_chunk(usage));
            }
            pieces.push(Bytes::from_static(response::DONE));
            for piece in pieces {
                if !sink(Piece::Body(piece)) {
                    return Ok(());
                }
            }
        } else {
            sink(Piece::Body(identity.completion(text.all(), finish, usage)));
        }
        Ok(())
    }

    /// Tokens of context per call: the options', or the model's training context up to
    /// [`DEFAULT_CONTEXT`].
    pub(crate) fn context_size(&self) -> u32 {
        self.options
            .context_size
            .unwrap_or_else(|| self.model.n_ctx_train().clamp(1, DEFAULT_CONTEXT))
    }

    /// A context of `n_ctx` tokens decoding `batch_size` at once; with `pooling`, one that
    /// returns pooled embeddings instead of logits.
    pub(crate) fn context(
        &self,
        n_ctx: u32,
        batch_size: u32,
        pooling: Option<LlamaPoolingType>,
    ) -> Result<LlamaContext<'_>, Refusal> {
        let mut params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(batch_size)
            .with_n_ubatch(batch_size);
        if let Some(pooling) = pooling {
            params = params.with_embeddings(true).with_pooling_type(pooling);
        }
        if let Some(threads) = self.options.threads {
            let threads = i32::try_from(threads).unwrap_or(i32::MAX);
            params = params.with_n_threads(threads).with_n_threads_batch(threads);
        }
        let backend = backend().map_err(|e| Refusal::server(e.to_string()))?;
        // Contexts are made one at a time: llama.cpp may write to the model while making
        // one (llama-cpp-2 documents `new_context` as unsound in parallel).
        let made = {
            let _one_at_a_time = NEW_CONTEXT.lock().unwrap_or_else(|e| e.into_inner());
            self.model.new_context(backend, params)
        };
        made.map_err(|e| Refusal::server(format!("cannot make a llama.cpp context: {e}")))
    }

    /// The prompt: the messages through the model's chat template, or ChatML when the
    /// file has none.
    fn prompt(&self, messages: &[(String, String)]) -> Result<String, Refusal> {
        let template = match self.model.chat_template(None) {
            Ok(template) => template,
            Err(_) => LlamaChatTemplate::new(FALLBACK_TEMPLATE)
                .map_err(|_| Refusal::server("the fallback chat template"))?,
        };
        let chat = messages
            .iter()
            .map(|(role, content)| LlamaChatMessage::new(role.clone(), content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| Refusal::invalid("a message holds a NUL character"))?;
        self.model
            .apply_chat_template(&template, &chat, true)
            .map_err(|e| Refusal::invalid(format!("the model's chat template failed: {e}")))
    }

    /// The sampler chain the request asks for, llama.cpp server's order: grammar, top-k,
    /// top-p, temperature, then a seeded draw (greedy at temperature 0).
    fn sampler(&self, params: &ChatParams) -> Result<LlamaSampler, Refusal> {
        let mut chain = Vec::new();
        if let Some(schema) = &params.schema {
            let grammar = llama_cpp_2::json_schema_to_grammar(schema)
                .map_err(|e| Refusal::invalid(format!("response_format schema: {e}")))?;
            let grammar = LlamaSampler::grammar(&self.model, &grammar, "root")
                .map_err(|e| Refusal::invalid(format!("response_format grammar: {e}")))?;
            chain.push(grammar);
        }
        if params.temperature <= 0.0 {
            chain.push(LlamaSampler::greedy());
        } else {
            chain.push(LlamaSampler::top_k(params.top_k));
            chain.push(LlamaSampler::top_p(params.top_p, 1));
            chain.push(LlamaSampler::temp(params.temperature));
            chain.push(LlamaSampler::dist(params.seed));
        }
        Ok(LlamaSampler::chain_simple(chain))
    }
}

impl ChatParams {
    fn parse(body: &Value) -> Result<ChatParams, Refusal> {
        let messages = body["messages"]
            .as_array()
            .ok_or_else(|| Refusal::invalid("'messages' must be an array"))?
            .iter()
            .map(|message| {
                let role = message["role"].as_str().unwrap_or("user").to_owned();
                let content = match &message["content"] {
                    Value::String(text) => text.clone(),
                    Value::Array(parts) => parts
                        .iter()
                        .filter_map(|part| part["text"].as_str())
                        .collect::<Vec<_>>()
                        .join(""),
                    Value::Null => String::new(),
                    _ => return Err(Refusal::invalid("a message's content is not text")),
                };
                Ok((role, content))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let number = |name: &str| body.get(name).and_then(Value::as_f64);
        let max_tokens = ["max_tokens", "max_completion_tokens", "n_predict"]
            .iter()
            .find_map(|name| body.get(*name).and_then(Value::as_u64))
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        let stop = match &body["stop"] {
            Value::String(stop) => vec![stop.clone()],
            Value::Array(stops) => stops
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let stop = stop.into_iter().filter(|s| !s.is_empty()).collect();
        let schema = match body["response_format"]["type"].as_str() {
            Some("json_object") => Some(
                body["response_format"]
                    .get("schema")
                    .map_or_else(|| r#"{"type":"object"}"#.to_owned(), Value::to_string),
            ),
            Some("json_schema") => Some(
                body["response_format"]["json_schema"]
                    .get("schema")
                    .map_or_else(|| r#"{"type":"object"}"#.to_owned(), Value::to_string),
            ),
            _ => None,
        };
        Ok(ChatParams {
            messages,
            max_tokens,
            // llama.cpp server's defaults.
            temperature: number("temperature").unwrap_or(0.8) as f32,
            top_p: number("top_p").unwrap_or(0.95) as f32,
            top_k: body["top_k"]
                .as_i64()
                .map_or(40, |k| k.clamp(0, 1 << 20) as i32),
            // llama.cpp's LLAMA_DEFAULT_SEED: a random seed per call.
            seed: body["seed"].as_u64().map_or(u32::MAX, |s| s as u32),
            stop,
            stream: body["stream"].as_bool().unwrap_or(false),
            include_usage: body["stream_options"]["include_usage"]
                .as_bool()
                .unwrap_or(false),
            schema,
        })
    }
}

/// The generated text: token bytes assembled into UTF-8 (a character split across tokens
/// waits for its end; an invalid sequence becomes U+FFFD), and held back while it could be
/// the start of a stop sequence, which is never sent.
struct TextOut {
    text: String,
    /// Bytes of an incomplete character (at most 3).
    partial: Vec<u8>,
    /// How much of `text` was taken by [`take_ready`](Self::take_ready).
    sent: usize,
    stop: Vec<String>,
    /// A stop sequence matched: `text` ends before it.
    stopped: bool,
}

impl TextOut {
    fn new(stop: Vec<String>) -> Self {
        TextOut {
            text: String::new(),
            partial: Vec::new(),
            sent: 0,
            stop,
            stopped: false,
        }
    }

    /// Adds a token's bytes; `true` when a stop sequence now matched.
    fn push(&mut self, bytes: &[u8]) -> bool {
        self.partial.extend_from_slice(bytes);
        loop {
            match std::str::from_utf8(&self.partial) {
                Ok(text) => {
                    self.text.push_str(text);
                    self.partial.clear();
                    break;
                }
                Err(error) => {
                    let valid = error.valid_up_to();
                    // Safe: `valid` bytes were checked.
                    self.text
                        .push_str(std::str::from_utf8(&self.partial[..valid]).unwrap_or(""));
                    match error.error_len() {
                        Some(bad) => {
                            self.text.push('\u{FFFD}');
                            self.partial.drain(..valid + bad);
                        }
                        None => {
                            self.partial.drain(..valid);
                            break;
                        }
                    }
                }
            }
        }
        let unsent = &self.text[self.sent..];
        let found = self
            .stop
            .iter()
            .filter_map(|stop| unsent.find(stop.as_str()))
            .min();
        if let Some(at) = found {
            self.text.truncate(self.sent + at);
            self.partial.clear();
            self.stopped = true;
        }
        self.stopped
    }

    /// The text that can be sent now: all but an incomplete character and a tail that may
    /// begin a stop sequence.
    fn take_ready(&mut self) -> String {
        let mut end = self.text.len();
        if !self.stopped {
            let held = self
                .stop
                .iter()
                .map(|stop| longest_prefix_suffix(&self.text[self.sent..], stop))
                .max()
                .unwrap_or(0);
            end -= held;
        }
        let ready = self.text[self.sent..end].to_owned();
        self.sent = end;
        ready
    }

    /// The end: what was held back is sent (no stop sequence followed it).
    fn finish(&mut self) -> String {
        if !self.partial.is_empty() {
            self.text.push('\u{FFFD}');
            self.partial.clear();
        }
        let rest = self.text[self.sent..].to_owned();
        self.sent = self.text.len();
        rest
    }

    fn all(&self) -> &str {
        &self.text
    }
}

/// The length of the longest end of `text` that is a proper start of `stop`, on a
/// character boundary.
fn longest_prefix_suffix(text: &str, stop: &str) -> usize {
    (1..stop.len().min(text.len() + 1))
        .rev()
        .find(|&n| {
            text.is_char_boundary(text.len() - n)
                && stop.is_char_boundary(n)
                && text.ends_with(&stop[..n])
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_characters_wait_for_their_end() {
        let mut out = TextOut::new(Vec::new());
        let snow = "é☃".as_bytes();
        for byte in snow {
            out.push(&[*byte]);
        }
        assert_eq!(out.take_ready(), "é☃");
        out.push(&[0xff, b'a']);
        assert_eq!(out.take_ready(), "\u{FFFD}a");
    }

    #[test]
    fn stop_sequences_are_held_back_and_cut() {
        let mut out = TextOut::new(vec!["END".into()]);
        assert!(!out.push(b"abcE"));
        assert_eq!(out.take_ready(), "abc");
        assert!(!out.push(b"N"));
        assert_eq!(out.take_ready(), "");
        assert!(out.push(b"Dxyz"));
        assert_eq!(out.take_ready(), "");
        assert_eq!(out.all(), "abc");
    }

    #[test]
    fn a_held_tail_that_was_no_stop_is_sent_at_the_end() {
        let mut out = TextOut::new(vec!["END".into()]);
        out.push(b"xE");
        assert_eq!(out.take_ready(), "x");
        assert_eq!(out.finish(), "E");
    }
}
