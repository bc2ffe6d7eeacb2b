//! Objects that keep the fields they do not know: the `extra` map, and the deserializer that
//! fills it without serde's `flatten`.
//!
//! `#[serde(flatten)]` reads the whole object into serde's private intermediate tree first
//! (every key and value copied and allocated once more) and then deserializes the struct from
//! that tree. On a ~700-byte chat completion that was about two thirds of the parse, and the
//! stream decoder paid it three times per chunk (chunk, choice, delta). The impls made by
//! [`deserialize_keeping_extra!`] read each field straight from the input instead, borrow
//! keys where the input allows, and only build a `Value` for fields they do not know.
//! Serialization keeps `#[serde(flatten)]`: it writes straight through, with no such cost.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Visitor};

/// Unknown JSON fields, kept verbatim.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// An object key or string value, borrowed from the input when it has no escapes.
///
/// serde's own `Cow<str>` always allocates; this does not when the deserializer can lend.
pub(crate) struct BorrowedStr<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for BorrowedStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = BorrowedStr<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                text: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Borrowed(text)))
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(text.to_owned())))
            }

            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(BorrowedStr(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// Implements `Deserialize` for a struct with an `extra: Extra` field: each listed field is
/// read from its JSON key, every other key goes into `extra`.
///
/// Fields that never come from JSON (`#[serde(skip)]`) are listed after the braces as
/// `not_in_json: name, …` and start as their `Default`. Keys whose values are skipped
/// unread, kept neither in a field nor in `extra`, are listed after that as
/// `skipped: "key", …`; only for padding that means nothing, such as OpenAI's per-chunk
/// `obfuscation`, whose kept value would cost an allocation of its key, its value and a map
/// entry on every streamed chunk.
///
/// Each field is `name: "key"`, optionally followed by `via function` (the field is read as a
/// JSON value and made into the field by `function`, for fields read leniently) or by
/// `read Type` (the field is the `.0` of a `Type` read from the input, for a field read in
/// its own way without a `Value` in between), and by `=> `
/// and what a missing key means:
/// nothing (the type's `Default`), a `{ block }` (its value), or `required` (a
/// `missing field` error). As with serde's derive, a known key given twice is an error
/// and a `null` is handed to the field's own type (an `Option` reads it as `None`).
macro_rules! deserialize_keeping_extra {
    ($name:ident { $($field:ident: $key:literal $($how:ident $with:path)? $(=> $missing:tt)?),+ $(,)? }
     $(not_in_json: $($skipped:ident),+)? $(skipped: $($ignored:literal),+)?) => {
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;
                impl<'de> serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " object"))
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        $(let mut $field = None;)+
                        let mut extra = $crate::types::Extra::new();
                        while let Some(key) = map.next_key::<$crate::types::extra::BorrowedStr<'de>>()? {
                            match key.0.as_ref() {
                                $($key => {
                                    if $field.is_some() {
                                        return Err(<A::Error as serde::de::Error>::duplicate_field($key));
                                    }
                                    $field = Some($crate::types::extra::deserialize_keeping_extra!(
                                        @next map $($how $with)?
                                    ));
                                })+
                                $($($ignored => {
                                    map.next_value::<serde::de::IgnoredAny>()?;
                                })+)?
                                _ => {
                                    let value: serde_json::Value = map.next_value()?;
                                    extra.insert(key.0.into_owned(), value);
                                }
                            }
                        }
                        Ok($name {
                            $($field: match $field {
                                Some(value) => value,
                                None => $crate::types::extra::deserialize_keeping_extra!(
                                    @missing $key $($missing)?
                                ),
                            },)+
                            extra,
                            $($($skipped: Default::default(),)+)?
                        })
                    }
                }
                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
    (@next $map:ident) => { $map.next_value()? };
    (@next $map:ident via $via:path) => { $via($map.next_value::<serde_json::Value>()?) };
    (@next $map:ident read $read:path) => { $map.next_value::<$read>()?.0 };
    (@missing $key:literal) => { Default::default() };
    (@missing $key:literal required) => {
        return Err(<A::Error as serde::de::Error>::missing_field($key))
    };
    (@missing $key:literal $default:block) => { $default };
}
pub(crate) use deserialize_keeping_extra;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::types::{ChatCompletion, Choice, Content, Message, Role};

    #[test]
    fn known_fields_are_read_and_unknown_ones_kept() {
        let raw = r#"{"id":"c1","created":7,"choices":[{"index":0,"message":{"role":"assistant",
            "content":"hi","annotations":[]},"finish_reason":null,"x_choice":{"a":[1,2]}}],
            "x_top":"kept"}"#;
        let completion: ChatCompletion = serde_json::from_str(raw).unwrap();
        assert_eq!(completion.id, "c1");
        assert_eq!(completion.created, 7);
        assert_eq!(
            completion.object, "chat.completion",
            "a missing key takes its default"
        );
        assert_eq!(completion.extra["x_top"], "kept");
        let choice = &completion.choices[0];
        assert_eq!(choice.finish_reason, None);
        assert_eq!(choice.extra["x_choice"], json!({"a": [1, 2]}));
        assert_eq!(choice.message.extra["annotations"], json!([]));
        assert_eq!(choice.message.role, Role::Assistant);
        // And back: unknown fields are written out where they came from.
        let back = serde_json::to_value(&completion).unwrap();
        assert_eq!(back["x_top"], "kept");
        assert_eq!(back["choices"][0]["message"]["annotations"], json!([]));
    }

    #[test]
    fn escaped_keys_are_still_recognized() {
        let message: Message =
            serde_json::from_str(r#"{"r\u006fle":"user","c\u006fntent":"x"}"#).unwrap();
        assert_eq!(message.role, Role::User);
        assert_eq!(message.content, Some(Content::Text("x".into())));
        assert!(message.extra.is_empty());
    }

    #[test]
    fn missing_required_and_duplicate_fields_are_errors() {
        let missing = serde_json::from_str::<Choice>(r#"{"index":0}"#).unwrap_err();
        assert!(
            missing.to_string().contains("missing field `message`"),
            "{missing}"
        );
        let twice =
            serde_json::from_str::<Message>(r#"{"role":"user","role":"tool"}"#).unwrap_err();
        assert!(
            twice.to_string().contains("duplicate field `role`"),
            "{twice}"
        );
        let not_object = serde_json::from_str::<Message>(r#"["user"]"#).unwrap_err();
        assert!(
            not_object.to_string().contains("Message object"),
            "{not_object}"
        );
    }

    #[test]
    fn content_is_text_parts_or_null_and_nothing_else() {
        let text: Message =
            serde_json::from_value(json!({"role": "user", "content": "a"})).unwrap();
        assert_eq!(text.content, Some(Content::Text("a".into())));
        let parts: Message = serde_json::from_value(
            json!({"role": "user", "content": [{"type": "text", "text": "b"}]}),
        )
        .unwrap();
        assert_eq!(parts.content.unwrap().text(), "b");
        let null: Message =
            serde_json::from_value(json!({"role": "assistant", "content": null})).unwrap();
        assert_eq!(null.content, None);
        let number = serde_json::from_value::<Message>(json!({"role": "user", "content": 5}));
        assert!(number
            .unwrap_err()
            .to_string()
            .contains("a string or an array"));
    }
}
