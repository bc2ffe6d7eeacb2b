//! Strictly alternating conversation turns, for the providers that want them (Anthropic
//! Messages, Bedrock Converse, Gemini `contents`).
//!
//! These APIs take the system prompt apart and want `user` and assistant turns to alternate,
//! while an OpenAI conversation may hold a tool result after a user message, or two user
//! messages in a row. So system and developer messages are left out here, tool results speak
//! as the user, empty messages are dropped, and consecutive messages of one side are merged
//! into one turn. Only the translation of one message into blocks differs by provider.

use serde_json::{json, Value};

use crate::error::Error;
use crate::types::{Content, ContentPart, Message, Role};

/// Which OpenAI side a message comes from, so the translation can pick its blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Speaker {
    User,
    Assistant,
    /// A tool result; it is sent as (part of) a user turn.
    Tool,
}

/// How one provider spells its turns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TurnNames {
    /// The provider's display name, for the error on a role it has no equivalent for.
    pub provider: &'static str,
    /// The role name of the assistant's turns (`assistant`, or Gemini's `model`).
    pub assistant: &'static str,
    /// The key that holds a turn's blocks (`content`, or Gemini's `parts`).
    pub blocks: &'static str,
}

impl TurnNames {
    /// The Messages spelling Anthropic and Bedrock Converse share: `assistant` turns whose
    /// blocks are under `content`.
    pub(crate) const fn user_assistant(provider: &'static str) -> TurnNames {
        TurnNames {
            provider,
            assistant: "assistant",
            blocks: "content",
        }
    }
}

/// The alternating turns of `messages`, each `{"role": .., <names.blocks>: [..]}`.
/// `translate(speaker, message, at)` gives the blocks of the message at index `at`.
pub(crate) fn alternating_turns(
    messages: &[Message],
    names: TurnNames,
    mut translate: impl FnMut(Speaker, &Message, usize) -> Result<Vec<Value>, Error>,
) -> Result<Vec<Value>, Error> {
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (at, message) in messages.iter().enumerate() {
        let (role, speaker) = match &message.role {
            Role::System | Role::Developer => continue,
            Role::User => ("user", Speaker::User),
            Role::Assistant => (names.assistant, Speaker::Assistant),
            Role::Tool => ("user", Speaker::Tool),
            other => {
                return Err(Error::unsupported(format!(
                    "messages[{at}]: role {other:?} has no {} equivalent",
                    names.provider
                )))
            }
        };
        let blocks = translate(speaker, message, at)?;
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    Ok(turns
        .into_iter()
        .map(|(role, blocks)| json!({"role": role, names.blocks: blocks}))
        .collect())
}

/// The blocks of one message's content, in order: none without content, `text_block` of a
/// plain string, else each part's `part_block`. Either may drop what it is given (`None`),
/// as providers refuse empty text blocks.
pub(crate) fn content_blocks(
    content: Option<&Content>,
    at: usize,
    text_block: impl Fn(&str) -> Option<Value>,
    part_block: impl Fn(&ContentPart, usize) -> Result<Option<Value>, Error>,
) -> Result<Vec<Value>, Error> {
    match content {
        None => Ok(Vec::new()),
        Some(Content::Text(text)) => Ok(text_block(text).into_iter().collect()),
        Some(Content::Parts(parts)) => {
            let mut blocks = Vec::with_capacity(parts.len());
            for part in parts {
                blocks.extend(part_block(part, at)?);
            }
            Ok(blocks)
        }
    }
}
