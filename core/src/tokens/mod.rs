//! Token counting: how many tokens a prompt takes, exactly where OneLLM has the model's
//! tokenizer and as a documented estimate elsewhere.
//!
//! # How sure each count is
//!
//! - **Exact** (`exact: true`): an OpenAI model (provider `openai` or `azure`, a model name
//!   OpenAI's `tiktoken` maps to `o200k_base` or `cl100k_base`) with the `tokenizer` feature
//!   (on by default in the transport crates; it embeds both encodings through the
//!   `tiktoken-rs` crate, nothing is downloaded), for text messages. Chat framing follows
//!   OpenAI's published rule: 3 tokens per message, 1 more for a `name`, 3 to prime the
//!   reply. Tool definitions, tool calls, images, audio and files are not counted exactly
//!   (OpenAI renders them in ways it does not publish): a request with any of them is an
//!   estimate whose lower bound is the exactly counted text.
//! - **Estimate** (`exact: false`) for every other model: `tokens` is about one token per
//!   four bytes of text (or per word, whichever is more), so it may be off by a third either
//!   way. Its lower bound [`at_least`](TokenCount::at_least) is one token per
//!   whitespace-separated word of text: every tokenizer in use (byte-pair encodings with
//!   GPT-style pre-tokenization, SentencePiece with whitespace splitting) starts a new token
//!   at least at every word, so a prompt is refused as too long for a window only when it
//!   cannot fit whatever the tokenizer — never a prompt that would have fitted. The price:
//!   text without spaces between words (Chinese, Japanese, Thai) counts as few words, and
//!   such prompts are rarely refused early; the provider still refuses them.
//!
//! The context-window check before sending ([`Engine`](crate::client::Engine)) uses
//! `at_least`.

#[cfg(feature = "tokenizer")]
mod openai;

use crate::types::{ChatRequest, Content, ContentPart, Message};

/// How many tokens some text or a request's prompt takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCount {
    /// The count: exact when [`exact`](Self::exact), else the best estimate.
    pub tokens: u64,
    /// A lower bound: the prompt takes at least this many tokens (equal to `tokens` when
    /// exact).
    pub at_least: u64,
    /// Whether `tokens` is what the provider counts (see the [module docs](self)).
    pub exact: bool,
}

/// The tokens of `text` for `model_id` (`provider/model`): exact for OpenAI models with the
/// `tokenizer` feature, else an estimate (see the [module docs](self)).
///
/// ```
/// let count = onellm_core::tokens::count_text("anthropic/claude-sonnet-4-5", "Say hello to the world");
/// assert!(!count.exact);
/// assert_eq!(count.at_least, 5);
/// ```
pub fn count_text(model_id: &str, text: &str) -> TokenCount {
    Counter::for_model(model_id).text(text)
}

/// Whether `model_id`'s tokens are counted exactly (see the [module docs](self)). Loads no
/// encoding.
pub fn is_exact(model_id: &str) -> bool {
    Counter::for_model(model_id).is_exact()
}

/// The prompt tokens of a chat request for `model_id`: its messages with their framing, and
/// (as an estimate) its tools and response schema. See the [module docs](self) for how
/// sure the count is.
///
/// ```
/// use onellm_core::ChatRequest;
///
/// let request = ChatRequest::new("openai/gpt-4o").system("Be brief.").user("Say hello");
/// let count = onellm_core::tokens::count_chat("openai/gpt-4o", &request);
/// # #[cfg(feature = "tokenizer")]
/// assert!(count.exact);
/// assert!(count.tokens >= count.at_least && count.at_least >= 4);
/// ```
pub fn count_chat(model_id: &str, request: &ChatRequest) -> TokenCount {
    let counter = Counter::for_model(model_id);
    let mut total = Tally::default();
    for message in &request.messages {
        counter.message(message, &mut total);
    }
    counter.framing_of_reply(&mut total);
    for tool in request.tools.iter().flatten() {
        // What the model reads of a tool: its name, description and parameters. The name
        // and description surely reach it; the parameters' rendering is not published.
        let function = &tool.function;
        counter.sure_text(&function.name, &mut total);
        if let Some(description) = &function.description {
            counter.sure_text(description, &mut total);
        }
        if let Some(parameters) = &function.parameters {
            counter.unsure_text(&parameters.to_string(), &mut total);
        }
    }
    if let Some(crate::types::ResponseFormat::JsonSchema { json_schema }) = &request.response_format
    {
        if let Ok(schema) = serde_json::to_string(json_schema) {
            counter.unsure_text(&schema, &mut total);
        }
    }
    total.finish(counter.is_exact())
}

/// Which way a model's tokens are counted.
enum Counter {
    #[cfg(feature = "tokenizer")]
    Exact(openai::Encoding),
    Estimate,
}

/// Counts built up over a request.
#[derive(Default)]
struct Tally {
    tokens: u64,
    at_least: u64,
    /// Something was counted by estimate.
    unsure: bool,
}

impl Tally {
    fn add_sure(&mut self, tokens: u64) {
        self.tokens += tokens;
        self.at_least += tokens;
    }

    fn finish(self, exact_counter: bool) -> TokenCount {
        let exact = exact_counter && !self.unsure;
        TokenCount {
            tokens: self.tokens.max(self.at_least),
            at_least: self.at_least,
            exact,
        }
    }
}

impl Counter {
    fn for_model(model_id: &str) -> Counter {
        #[cfg(feature = "tokenizer")]
        if let Some(encoding) = openai::Encoding::for_model(model_id) {
            return Counter::Exact(encoding);
        }
        let _ = model_id;
        Counter::Estimate
    }

    fn is_exact(&self) -> bool {
        !matches!(self, Counter::Estimate)
    }

    /// The tokens of `text` on its own.
    fn text(&self, text: &str) -> TokenCount {
        match self {
            #[cfg(feature = "tokenizer")]
            Counter::Exact(encoding) => {
                let tokens = encoding.count(text);
                TokenCount {
                    tokens,
                    at_least: tokens,
                    exact: true,
                }
            }
            Counter::Estimate => estimate(text),
        }
    }

    /// Text the model surely reads as it is.
    fn sure_text(&self, text: &str, total: &mut Tally) {
        let count = self.text(text);
        total.tokens += count.tokens;
        total.at_least += count.at_least;
    }

    /// Text the model reads in some form OneLLM does not know exactly: counted in the
    /// estimate, not in the lower bound.
    fn unsure_text(&self, text: &str, total: &mut Tally) {
        let mut part = Tally::default();
        self.sure_text(text, &mut part);
        total.tokens += part.tokens;
        total.unsure = true;
    }

    /// One message: its framing, role, name and content.
    fn message(&self, message: &Message, total: &mut Tally) {
        if self.is_exact() {
            // OpenAI's rule (the cookbook's `num_tokens_from_messages`): 3 per message, the
            // role's tokens, 1 more and the name's tokens for a name.
            total.add_sure(3);
            self.sure_text(message.role.as_str(), total);
            if let Some(name) = &message.name {
                total.add_sure(1);
                self.sure_text(name, total);
            }
        } else {
            // About four tokens of framing per message in chat templates; not sure.
            total.tokens += 4;
        }
        match &message.content {
            Some(Content::Text(text)) => self.sure_text(text, total),
            Some(Content::Parts(parts)) => {
                for part in parts {
                    match part {
                        ContentPart::Text { text } => self.sure_text(text, total),
                        ContentPart::Refusal { refusal } => self.sure_text(refusal, total),
                        ContentPart::ImageUrl { image_url } => {
                            // OpenAI's cheapest image (low detail) is 85 tokens; a detailed
                            // one is more. Not in the lower bound.
                            let tokens = if image_url.detail.as_deref() == Some("low") {
                                85
                            } else {
                                765
                            };
                            total.tokens += tokens;
                            total.unsure = true;
                        }
                        _ => total.unsure = true,
                    }
                }
            }
            None => {}
        }
        for call in message.tool_calls.iter().flatten() {
            self.unsure_text(&call.function.name, total);
            self.unsure_text(&call.function.arguments, total);
        }
        if message.tool_call_id.is_some() || message.tool_calls.is_some() {
            total.unsure = true;
        }
    }

    /// The tokens that prime the reply.
    fn framing_of_reply(&self, total: &mut Tally) {
        if self.is_exact() {
            total.add_sure(3);
        }
    }
}

/// The estimate for text without its model's tokenizer: about one token per four bytes or
/// one per word, whichever is more; at least one per word.
fn estimate(text: &str) -> TokenCount {
    let words = text.split_whitespace().count() as u64;
    let by_bytes = (text.len() as u64).div_ceil(4);
    TokenCount {
        tokens: by_bytes.max(words),
        at_least: words,
        exact: false,
    }
}

#[cfg(test)]
mod tests;
