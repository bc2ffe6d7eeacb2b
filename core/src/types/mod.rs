//! OpenAI-format values: the one vocabulary every provider is translated to and from.
//!
//! These types serialize exactly as OpenAI's JSON, so an OpenAI request body deserializes
//! into a [`ChatRequest`] and a [`ChatCompletion`] serializes into what OpenAI would have
//! returned. They are deliberately tolerant: roles and finish reasons are open enums,
//! `content` may be `null`, tool-call `arguments` may arrive as a string, an object or `""`,
//! and every struct keeps fields it does not know in `extra` so nothing a provider sends is
//! lost.

mod accumulator;
pub(crate) mod chunk;
mod completions;
mod embeddings;
pub(crate) mod extra;
mod message;
mod replay;
mod request;
mod response;
pub mod responses;
#[cfg(feature = "schemars")]
mod schema_for_type;
// Media: images, audio, moderation (issue 24).
mod audio;
mod images;
mod media;
mod moderation;

pub use accumulator::ChunkAccumulator;
pub use chunk::{
    ChatCompletionChunk, ChunkChoice, Delta, FunctionCallDelta, ToolCallDelta, ToolCallFragment,
};
pub use completions::{CompletionChoice, CompletionRequest, CompletionResponse, Prompt};
pub use embeddings::{
    Embedding, EmbeddingInput, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage, EmbeddingVector,
};
pub use message::{
    AudioInput, Content, ContentPart, FileInput, FunctionCall, ImageUrl, Message, Role,
    ServerToolCall, ToolCall,
};
pub use replay::chunks_of;
pub use request::{
    ChatRequest, FunctionDefinition, JsonSchemaFormat, ResponseFormat, Stop, StreamOptions, Tool,
    ToolChoice,
};
pub use response::{
    ChatCompletion, Choice, CompletionTokensDetails, FinishReason, PromptTokensDetails, Usage,
};

pub use responses::{
    ArgumentsDoneEvent, ContentPartEvent, DeltaEvent, ErrorEvent, FunctionCallItem,
    FunctionCallOutputItem, FunctionTool, IncompleteDetails, InputContent, InputFile, InputImage,
    InputItem, InputMessage, InputTokensDetails, ItemReference, ItemStatus, LifecycleEvent,
    MessageContent, OutputContent, OutputItem, OutputItemEvent, OutputMessage, OutputText,
    OutputTokensDetails, ReasoningConfig, ReasoningItem, RefusalContent, RefusalDoneEvent,
    Response, ResponseAccumulator, ResponseError, ResponseInput, ResponseStatus,
    ResponseStreamEvent, ResponseTool, ResponseToolChoice, ResponseUsage, ResponsesRequest,
    SummaryPartEvent, TextConfig, TextDoneEvent, TextFormat, TextPart,
};

pub use extra::Extra;

pub use audio::{
    AudioFile, SpeechAudio, SpeechRequest, Transcription, TranscriptionRequest,
    TranscriptionSegment, TranscriptionUsage, TranscriptionWord, TranslationRequest,
    MAX_UPLOAD_BYTES,
};
pub use images::{Image, ImageRequest, ImagesResponse, ImagesUsage};
pub use media::{MediaOutput, MediaRequest};
pub use moderation::{
    ModerationInput, ModerationPart, ModerationRequest, ModerationResponse, ModerationResult,
};

/// Implements serde for a string-valued open enum: known spellings map to unit variants,
/// anything else is kept in `Other(String)` so a new value from a provider never fails a parse.
macro_rules! open_string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = $crate::types::extra::BorrowedStr::deserialize(deserializer)?;
                Ok(Self::from(text.0.as_ref()))
            }
        }
    };
}
pub(crate) use open_string_enum;
