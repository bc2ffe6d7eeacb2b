//! OpenAI's Responses API (`POST /v1/responses`) in its own wire format.
//!
//! The chat types ([`ChatRequest`](crate::ChatRequest) and friends) are one vocabulary; the
//! Responses API is a second one that OpenAI's newest models and features (reasoning items
//! carried between turns, built-in tools) are served through. Like the chat types these
//! serialize exactly as OpenAI's JSON, keep every field they do not model in `extra`, and
//! keep items, content parts, tools and stream events of a `type` they do not know as
//! `Other { kind, raw }`, so nothing a server sends is lost and nothing new fails a parse.
//!
//! - [`request`]: [`ResponsesRequest`] and its input items and tools.
//! - [`response`]: [`Response`], its output items and usage.
//! - [`event`]: [`ResponseStreamEvent`], one streamed event.
//! - [`accumulator`]: [`ResponseAccumulator`], which folds events into a [`Response`].
//! - [`bridge`]: translations between this API and chat completions, for providers that
//!   only speak one of them.

pub mod accumulator;
pub mod bridge;
pub mod event;
pub mod request;
pub mod response;

pub use accumulator::ResponseAccumulator;
pub use event::{
    ArgumentsDoneEvent, ContentPartEvent, DeltaEvent, ErrorEvent, LifecycleEvent, OutputItemEvent,
    RefusalDoneEvent, ResponseStreamEvent, SummaryPartEvent, TextDoneEvent,
};
pub use request::{
    FunctionCallOutputItem, FunctionTool, InputContent, InputFile, InputImage, InputItem,
    InputMessage, ItemReference, MessageContent, ReasoningConfig, ResponseInput, ResponseTool,
    ResponseToolChoice, ResponsesRequest, TextConfig, TextFormat,
};
pub use response::{
    FunctionCallItem, IncompleteDetails, InputTokensDetails, ItemStatus, OutputContent, OutputItem,
    OutputMessage, OutputText, OutputTokensDetails, ReasoningItem, RefusalContent, Response,
    ResponseError, ResponseStatus, ResponseUsage, TextPart,
};

/// Declares an enum over JSON objects told apart by their `type` field, as the Responses API
/// shapes items, content parts, tools and stream events: one variant per known `type`
/// holding a struct of the other fields, and `Other { kind, raw }` keeping any other object
/// verbatim, so a new kind never fails a parse and serializes back as it came.
///
/// A known `type` whose fields do not fit its struct is an error, not `Other`: that is a
/// malformed payload, and swallowing it would drop output silently. `untyped => "tag"`
/// names the variant an object without `type` is (the API's "easy" input message has
/// none).
macro_rules! typed_objects {
    ($(#[$meta:meta])* $name:ident $(untyped => $untyped:literal)? {
        $($(#[$vmeta:meta])* $variant:ident($ty:ty) => $tag:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant($ty),)+
            /// An object of a `type` this version does not model, kept verbatim.
            Other {
                /// Its `type` (empty when it had none).
                kind: String,
                /// The whole object, `type` included.
                raw: serde_json::Value,
            },
        }

        impl $name {
            /// The wire `type` of this object.
            pub fn kind(&self) -> &str {
                match self {
                    $(Self::$variant(_) => $tag,)+
                    Self::Other { kind, .. } => kind,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Self::$variant(inner) => $crate::types::responses::Tagged {
                        kind: $tag,
                        inner,
                    }
                    .serialize(serializer),)+
                    Self::Other { raw, .. } => raw.serialize(serializer),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                let value = serde_json::Value::deserialize(deserializer)?;
                let serde_json::Value::Object(mut object) = value else {
                    return Err(D::Error::custom(concat!(
                        "expected a ", stringify!($name), " object"
                    )));
                };
                let kind = match object.get("type") {
                    Some(serde_json::Value::String(kind)) => kind.clone(),
                    Some(_) => {
                        return Err(D::Error::custom(concat!(
                            "a ", stringify!($name), "'s `type` must be a string"
                        )))
                    }
                    None => {
                        let untyped: Option<&str> = None $(.or(Some($untyped)))?;
                        match untyped {
                            Some(tag) => tag.to_owned(),
                            None => String::new(),
                        }
                    }
                };
                match kind.as_str() {
                    $($tag => {
                        object.remove("type");
                        serde_json::from_value(serde_json::Value::Object(object))
                            .map(Self::$variant)
                            .map_err(|e| D::Error::custom(format_args!("{}: {e}", kind)))
                    })+
                    _ => Ok(Self::Other { kind, raw: serde_json::Value::Object(object) }),
                }
            }
        }
    };
}
pub(crate) use typed_objects;

/// A struct written with its `type` first: how [`typed_objects!`] serializes a known
/// variant.
#[derive(serde::Serialize)]
pub(crate) struct Tagged<'a, T> {
    #[serde(rename = "type")]
    pub(crate) kind: &'a str,
    #[serde(flatten)]
    pub(crate) inner: &'a T,
}
