//! The checks made of each model of a call's chain before anything is sent to it: does the
//! prompt fit the model's context window, and can the model do what the request needs.
//! Both read the [catalog](crate::catalog); a model it does not know passes both.
//!
//! A model that fails a check is skipped with the refusal as its attempt's error
//! (`context_window_exceeded` or `unsupported`, both fallback triggers), so the call moves
//! on to the next model of its chain — a fallback with a larger window or the capability —
//! without sending anything. With no model left the call fails with that error.

use std::collections::HashMap;

use crate::call::{Operation, Wire};
use crate::catalog::{Catalog, Mode, ModelCapabilities, ModelInfo};
use crate::error::{Error, ErrorKind};
use crate::needs::Needs;
use crate::provider::responses_bridge;
use crate::tokens::{self, TokenCount};
use crate::types::{ChatRequest, Content, ContentPart, EmbeddingInput, Prompt};

/// Which checks run before sending; both on by default. See
/// [`ClientBuilder::check_context_window`](super::ClientBuilder::check_context_window) and
/// [`ClientBuilder::check_capabilities`](super::ClientBuilder::check_capabilities).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Preflight {
    pub context_window: bool,
    pub capabilities: bool,
}

impl Default for Preflight {
    fn default() -> Self {
        Preflight {
            context_window: true,
            capabilities: true,
        }
    }
}

/// Whether a request needs something.
type Need = fn(&Needs) -> bool;

/// The capability each need asks of a model, and how a refusal names it.
const NEEDED: &[(Need, ModelCapabilities, &str)] = &[
    (
        |needs| needs.tools,
        ModelCapabilities::FUNCTION_CALLING,
        "tools (function calling)",
    ),
    (
        |needs| needs.json_schema,
        ModelCapabilities::RESPONSE_SCHEMA,
        "structured output (a JSON schema response_format)",
    ),
    (
        |needs| needs.reasoning,
        ModelCapabilities::REASONING,
        "reasoning (reasoning_effort)",
    ),
    (
        |needs| needs.vision,
        ModelCapabilities::VISION,
        "image input",
    ),
];

/// Checks one call's models; counts tokens once per way of counting.
pub(crate) struct Checker<'a> {
    catalog: &'a Catalog,
    preflight: Preflight,
    /// Prompt counts by whether they were exact for the model: models counted the same way
    /// (every estimate; each OpenAI encoding) share one count.
    counts: HashMap<String, TokenCount>,
    /// [`bytes_bound`](Self::bytes_bound), made once.
    bytes: Option<u64>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(catalog: &'a Catalog, preflight: Preflight) -> Self {
        Checker {
            catalog,
            preflight,
            counts: HashMap::new(),
            bytes: None,
        }
    }

    /// Whether `model_id` may be sent `operation`, and how: a chat call to a model the
    /// catalog lists as served only by the Responses API (mode `responses`) goes there.
    pub(crate) fn admit(&mut self, model_id: &str, operation: &Operation) -> Result<Wire, Error> {
        let Some(info) = self.catalog.get(model_id) else {
            return Ok(Wire::Native);
        };
        if self.preflight.capabilities {
            if let Operation::Chat(request) = operation {
                let needs = Needs::of(request, operation.is_stream());
                if let Some((_, _, what)) = NEEDED
                    .iter()
                    .find(|(needed, flag, _)| needed(&needs) && info.lacks.contains(*flag))
                {
                    return Err(Error::unsupported(format!(
                        "{model_id} cannot take {what}, says the model catalog; nothing was \
                         sent (if the catalog is wrong about this model, insert a corrected \
                         entry or turn the check off with check_capabilities(false))"
                    )));
                }
            }
        }
        if self.preflight.context_window {
            self.check_window(model_id, info, operation)?;
        }
        Ok(match (operation, info.mode) {
            (Operation::Chat(_), Mode::Responses) => Wire::ChatOverResponses,
            _ => Wire::Native,
        })
    }

    fn check_window(
        &mut self,
        model_id: &str,
        info: &ModelInfo,
        operation: &Operation,
    ) -> Result<(), Error> {
        let Some(window) = info.max_input_tokens.map(u64::from) else {
            return Ok(());
        };
        // Counting a long prompt takes milliseconds; most prompts are far below their
        // model's window, and a byte bound says so without counting.
        let reply = match operation {
            // No token window applies to images, audio or moderation input.
            Operation::Media(_) => return Ok(()),
            Operation::Chat(request) => request.max_completion_tokens.or(request.max_tokens),
            Operation::Completions(request) => request.max_tokens,
            Operation::Embeddings(_) => None,
            Operation::Responses(request) => request.max_output_tokens,
        };
        // Where the window holds the reply too, the reply's room counts against it.
        let reply = reply
            .filter(|_| output_shares_window(&info.provider))
            .map_or(0, u64::from);
        if self.bytes_bound(operation).saturating_add(reply) <= window {
            return Ok(());
        }
        let prompt = match operation {
            Operation::Media(_) => return Ok(()),
            Operation::Chat(request) => {
                self.count(model_id, |model| tokens::count_chat(model, request))
            }
            Operation::Completions(request) => {
                let text = match &request.prompt {
                    Prompt::One(text) => text.clone(),
                    Prompt::Many(texts) => texts
                        .iter()
                        .max_by_key(|text| text.len())
                        .cloned()
                        .unwrap_or_default(),
                    Prompt::Other(_) => return Ok(()),
                };
                self.count(model_id, |model| tokens::count_text(model, &text))
            }
            // Counted as the chat request it translates to; one that does not translate
            // (built-in tools, stored state) is left for the provider to judge.
            Operation::Responses(request) => match responses_bridge::responses_as_chat(request) {
                Ok(chat) => self.count(model_id, |model| tokens::count_chat(model, &chat)),
                Err(_) => return Ok(()),
            },
            Operation::Embeddings(request) => {
                // Each input is embedded on its own: the longest must fit.
                match &request.input {
                    EmbeddingInput::One(text) => tokens::count_text(model_id, text),
                    EmbeddingInput::Many(texts) => texts
                        .iter()
                        .map(|text| tokens::count_text(model_id, text))
                        .max_by_key(|count| count.at_least)
                        .unwrap_or(TokenCount {
                            tokens: 0,
                            at_least: 0,
                            exact: true,
                        }),
                    EmbeddingInput::Tokens(tokens) => exact(tokens.len()),
                    EmbeddingInput::ManyTokens(lists) => {
                        exact(lists.iter().map(Vec::len).max().unwrap_or(0))
                    }
                }
            }
        };
        if prompt.at_least.saturating_add(reply) <= window {
            return Ok(());
        }
        let how = if prompt.exact {
            "counted exactly".to_owned()
        } else {
            format!("at least one per word; estimated at {}", prompt.tokens)
        };
        let reply = if reply > 0 {
            format!(" and max_tokens asks for {reply} more")
        } else {
            String::new()
        };
        Err(Error::new(
            ErrorKind::ContextWindowExceeded,
            format!(
                "{model_id}: the prompt takes {} tokens ({how}){reply}, but the model's context \
                 window is {window} tokens (model catalog); nothing was sent",
                prompt.at_least
            ),
        ))
    }

    /// A bound on any count of the prompt, in bytes: every token of OpenAI's encodings is
    /// at least one byte, every word of an estimate too, and each message's framing (at most
    /// 4 tokens) is counted as 16. Chat requests are summed field by field (serializing a
    /// typical request to measure it cost 2 µs a call); the rest, and tool schemas, by
    /// their JSON's length.
    fn bytes_bound(&mut self, operation: &Operation) -> u64 {
        *self.bytes.get_or_insert_with(|| match operation {
            Operation::Chat(request) => chat_bytes(request),
            Operation::Completions(request) => json_len(request),
            Operation::Embeddings(request) => json_len(request),
            Operation::Media(_) => 0,
            Operation::Responses(request) => json_len(request),
        })
    }

    /// The prompt count for `model_id`, made once per way of counting.
    fn count(&mut self, model_id: &str, make: impl Fn(&str) -> TokenCount) -> TokenCount {
        let key = if tokens::is_exact(model_id) {
            model_id.to_owned()
        } else {
            String::new()
        };
        *self.counts.entry(key).or_insert_with(|| make(model_id))
    }
}

/// [`Checker::bytes_bound`] of a chat request.
fn chat_bytes(request: &ChatRequest) -> u64 {
    const FRAMING: u64 = 16;
    let len = |text: &str| text.len() as u64;
    let mut total = FRAMING;
    for message in &request.messages {
        total = total.saturating_add(FRAMING + len(message.role.as_str()));
        total = total.saturating_add(message.name.as_deref().map_or(0, len));
        total = total.saturating_add(match &message.content {
            Some(Content::Text(text)) => len(text),
            Some(Content::Parts(parts)) => parts
                .iter()
                .map(|part| match part {
                    ContentPart::Text { text } => len(text),
                    ContentPart::Refusal { refusal } => len(refusal),
                    other => json_len(other),
                })
                .fold(0u64, u64::saturating_add),
            None => 0,
        });
        for call in message.tool_calls.iter().flatten() {
            let call_bytes = FRAMING + len(&call.function.name) + len(&call.function.arguments);
            total = total.saturating_add(call_bytes);
        }
    }
    for tool in request.tools.iter().flatten() {
        total = total.saturating_add(json_len(tool));
    }
    if let Some(format) = &request.response_format {
        total = total.saturating_add(json_len(format));
    }
    total
}

/// The length of `value`'s JSON (`u64::MAX` if it cannot be written, which makes the caller
/// count instead).
fn json_len(value: &impl serde::Serialize) -> u64 {
    let mut counter = ByteCounter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => u64::MAX,
    }
}

/// Counts the bytes written to it.
struct ByteCounter(u64);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn exact(tokens: usize) -> TokenCount {
    let tokens = tokens as u64;
    TokenCount {
        tokens,
        at_least: tokens,
        exact: true,
    }
}

/// Whether a provider counts the reply's `max_tokens` inside the model's context window
/// (OpenAI, Azure, Anthropic refuse a prompt plus `max_tokens` larger than the window);
/// elsewhere input and output limits are separate, and only the prompt is checked.
fn output_shares_window(provider: &str) -> bool {
    matches!(provider, "openai" | "azure" | "anthropic")
}
