//! OpenAI's encodings, through `tiktoken-rs` (which embeds them: nothing is downloaded).
//! Only `o200k_base` and `cl100k_base` are used — every chat and embedding model OpenAI
//! serves today is on one of them — so only those two are linked into a program.

use tiktoken_rs::tokenizer::{get_tokenizer, Tokenizer};
use tiktoken_rs::CoreBPE;

/// An encoding OneLLM counts exactly with.
#[derive(Clone, Copy)]
pub(super) enum Encoding {
    O200kBase,
    Cl100kBase,
}

impl Encoding {
    /// The encoding of an OpenAI model (`openai/…` or `azure/…` with an OpenAI model
    /// name, as `tiktoken` maps names); `None` for any other model.
    pub(super) fn for_model(model_id: &str) -> Option<Encoding> {
        let (provider, model) = model_id.split_once('/')?;
        if !matches!(provider, "openai" | "azure") {
            return None;
        }
        match get_tokenizer(model)? {
            Tokenizer::O200kBase => Some(Encoding::O200kBase),
            Tokenizer::Cl100kBase => Some(Encoding::Cl100kBase),
            _ => None,
        }
    }

    /// The tokens of `text`, special-token text counted as ordinary text (as OpenAI's API
    /// treats user content).
    pub(super) fn count(self, text: &str) -> u64 {
        let bpe: &CoreBPE = match self {
            Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
            Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
        };
        bpe.encode_ordinary(text).len() as u64
    }
}
