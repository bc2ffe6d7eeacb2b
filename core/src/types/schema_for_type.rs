//! Structured output from a Rust type (feature `schemars`): the type's JSON schema, made to
//! fit OpenAI's strict mode, as a `json_schema` response format.
//!
//! OpenAI's strict mode accepts a subset of JSON Schema with rules a generated schema does
//! not follow by itself. The same rules as OpenAI's own Python SDK (`to_strict_json_schema`)
//! are applied, so what deserializes into the type is what the model may produce:
//! - every object lists all its properties in `required` and has `additionalProperties:
//!   false` (unless it says otherwise, as a map does). An `Option` field stays nullable
//!   (`"type": ["string", "null"]`), so the model answers `null` where it has nothing, which
//!   deserializes to `None`;
//! - `oneOf` (schemars' enums with data) becomes `anyOf`, which strict mode supports; the
//!   variants schemars makes are told apart by their tag, so both accept the same values;
//! - `format` on non-string types (schemars' `uint32`, `double`, …) is dropped: strict mode
//!   knows string formats only, and the type and `minimum` already say what it meant;
//! - the top-level `$schema` (a meta-schema URL, no constraint) is dropped.
//!
//! Other families take the same schema: Anthropic and Bedrock as the input schema of the
//! tool the model is made to call, Gemini cleaned into its `responseSchema` form.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::request::{ChatRequest, JsonSchemaFormat, ResponseFormat};

/// OpenAI's limit on a `json_schema` name (`[a-zA-Z0-9_-]{1,64}`).
const MAX_NAME: usize = 64;

impl ResponseFormat {
    /// A strict `json_schema` format for `T`, named after it, with its schema made to fit
    /// OpenAI's strict mode (see the rules on [`ChatRequest::json_schema_for`]).
    ///
    /// ```
    /// use onellm_core::ResponseFormat;
    ///
    /// #[derive(schemars::JsonSchema, serde::Deserialize)]
    /// struct Answer {
    ///     answer: String,
    ///     confidence: f64,
    /// }
    ///
    /// let ResponseFormat::JsonSchema { json_schema } = ResponseFormat::json_schema_for::<Answer>()
    /// else {
    ///     panic!("a json_schema format");
    /// };
    /// assert_eq!(json_schema.name, "Answer");
    /// assert_eq!(json_schema.schema.unwrap()["additionalProperties"], false);
    /// ```
    pub fn json_schema_for<T: schemars::JsonSchema>() -> Self {
        let schema = schemars::SchemaGenerator::default()
            .into_root_schema_for::<T>()
            .to_value();
        ResponseFormat::JsonSchema {
            json_schema: JsonSchemaFormat::new(schema_name(T::schema_name()), strict(schema)),
        }
    }
}

impl ChatRequest {
    /// Asks for a reply that is JSON of type `T`, from `T`'s `schemars::JsonSchema`: the
    /// one-line way to structured output. Read the reply back with
    /// [`ChatCompletion::parse`](crate::ChatCompletion::parse).
    ///
    /// The schema is adjusted to OpenAI's strict mode, as OpenAI's own SDK does: every
    /// property `required` (an `Option` stays nullable, so the model says `null`),
    /// `additionalProperties: false`, `oneOf` as `anyOf`, no `format` on numbers, no
    /// `$schema`. A type strict mode cannot express (a map, say) needs
    /// [`ResponseFormat::json_schema_for`] with [`JsonSchemaFormat::strict`] turned off, or
    /// a hand-written schema.
    ///
    /// ```
    /// use onellm_core::{ChatCompletion, ChatRequest, FinishReason, Message};
    ///
    /// #[derive(Debug, PartialEq, schemars::JsonSchema, serde::Deserialize)]
    /// struct City {
    ///     name: String,
    ///     population: u64,
    ///     nickname: Option<String>,
    /// }
    ///
    /// let request = ChatRequest::new("openai/gpt-4o-mini")
    ///     .user("The largest city of France, as JSON.")
    ///     .json_schema_for::<City>();
    /// let body = serde_json::to_value(&request).unwrap();
    /// assert_eq!(body["response_format"]["json_schema"]["name"], "City");
    /// let required = &body["response_format"]["json_schema"]["schema"]["required"];
    /// assert_eq!(required.as_array().unwrap().len(), 3, "the Option too: {required}");
    ///
    /// // What a provider answers comes back typed:
    /// let reply = Message::assistant(r#"{"name":"Paris","population":2102650,"nickname":null}"#);
    /// let city: City = ChatCompletion::from_message(reply, FinishReason::Stop).parse().unwrap();
    /// assert_eq!(city.nickname, None);
    /// ```
    pub fn json_schema_for<T: schemars::JsonSchema>(self) -> Self {
        self.response_format(ResponseFormat::json_schema_for::<T>())
    }
}

/// The type's schema name as an OpenAI `json_schema` name: characters outside
/// `[a-zA-Z0-9_-]` (generics' `<`, `>`, `,`) become `_`, cut to 64.
fn schema_name(name: Cow<'static, str>) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_NAME)
        .collect();
    if name.is_empty() {
        "response".to_owned()
    } else {
        name
    }
}

/// The root schema with the strict-mode rules applied (see the module's documentation).
fn strict(mut schema: Value) -> Value {
    if let Value::Object(root) = &mut schema {
        root.remove("$schema");
    }
    make_strict(&mut schema);
    schema
}

/// Applies the strict-mode rules to `schema` and every schema inside it. Recursion follows
/// the schema's own nesting, which a generator writes out finitely (recursive types go
/// through `$ref`), so it ends.
fn make_strict(schema: &mut Value) {
    let Value::Object(object) = schema else {
        return;
    };
    if !object.contains_key("anyOf") {
        if let Some(one_of) = object.remove("oneOf") {
            object.insert("anyOf".to_owned(), one_of);
        }
    }
    if object.contains_key("format") && !allows_string(object) {
        object.remove("format");
    }
    if let Some(Value::Object(properties)) = object.get("properties") {
        let names: Vec<Value> = properties.keys().cloned().map(Value::String).collect();
        object.insert("required".to_owned(), Value::Array(names));
    }
    if is_object_schema(object) && !object.contains_key("additionalProperties") {
        object.insert("additionalProperties".to_owned(), Value::Bool(false));
    }
    for key in ["properties", "$defs", "definitions"] {
        if let Some(Value::Object(named)) = object.get_mut(key) {
            named.values_mut().for_each(make_strict);
        }
    }
    for key in ["anyOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(list)) = object.get_mut(key) {
            list.iter_mut().for_each(make_strict);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = object.get_mut(key) {
            make_strict(inner);
        }
    }
}

/// Whether a schema describes an object: `"type": "object"` or properties of its own.
fn is_object_schema(object: &Map<String, Value>) -> bool {
    object.contains_key("properties") || type_names(object).any(|name| name == "object")
}

/// Whether a schema lets a value be a string (or says no type at all).
fn allows_string(object: &Map<String, Value>) -> bool {
    !object.contains_key("type") || type_names(object).any(|name| name == "string")
}

/// The names in a schema's `type`, which is one name or a list of them.
fn type_names(object: &Map<String, Value>) -> impl Iterator<Item = &str> {
    let names: Vec<&str> = match object.get("type") {
        Some(Value::String(name)) => vec![name.as_str()],
        Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    names.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[allow(dead_code)]
    #[derive(schemars::JsonSchema, Deserialize)]
    struct Person {
        name: String,
        age: u32,
        email: Option<String>,
        address: Address,
        pets: Vec<Pet>,
        #[serde(default)]
        nicknames: Vec<String>,
    }

    #[allow(dead_code)]
    #[derive(schemars::JsonSchema, Deserialize)]
    struct Address {
        city: String,
        score: f64,
    }

    #[allow(dead_code)]
    #[derive(schemars::JsonSchema, Deserialize)]
    #[serde(tag = "kind")]
    enum Pet {
        Dog { name: String },
        Fish { litres: u16 },
    }

    #[allow(dead_code)]
    #[derive(schemars::JsonSchema, Deserialize)]
    struct Wrapper<T> {
        inner: T,
    }

    fn schema_of<T: schemars::JsonSchema>() -> (String, Value) {
        match ResponseFormat::json_schema_for::<T>() {
            ResponseFormat::JsonSchema { json_schema } => {
                assert_eq!(json_schema.strict, Some(true));
                (json_schema.name, json_schema.schema.unwrap())
            }
            other => panic!("not a json_schema format: {other:?}"),
        }
    }

    /// Every object schema anywhere in `schema`, with the path to it.
    fn objects<'a>(schema: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
        match schema {
            Value::Object(object) => {
                if is_object_schema(object) {
                    out.push((path.clone(), schema));
                }
                for (key, value) in object {
                    objects(value, format!("{path}/{key}"), out);
                }
            }
            Value::Array(list) => {
                for (at, value) in list.iter().enumerate() {
                    objects(value, format!("{path}/{at}"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn every_object_requires_all_its_properties_and_no_others() {
        let (name, schema) = schema_of::<Person>();
        assert_eq!(name, "Person");
        assert!(schema.get("$schema").is_none());
        let mut found = Vec::new();
        objects(&schema, String::new(), &mut found);
        // Person, Address, and the two Pet variants.
        assert!(found.len() >= 4, "{schema:#}");
        for (path, object) in found {
            assert_eq!(object["additionalProperties"], false, "{path}: {object}");
            let mut required: Vec<&str> = object["required"]
                .as_array()
                .unwrap_or_else(|| panic!("{path}: no required: {object}"))
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let mut properties: Vec<&str> = object["properties"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            required.sort_unstable();
            properties.sort_unstable();
            assert_eq!(required, properties, "{path}");
        }
        // The Option stays nullable; numbers lose their non-string format.
        assert_eq!(
            schema["properties"]["email"]["type"],
            json!(["string", "null"])
        );
        let text = schema.to_string();
        assert!(!text.contains("oneOf"), "{text}");
        assert!(
            !text.contains("uint32") && !text.contains("double"),
            "{text}"
        );
        assert_eq!(schema["properties"]["age"]["minimum"], 0);
    }

    #[test]
    fn a_reply_matching_the_strict_schema_parses() {
        let reply = json!({"name": "Ann", "age": 40, "email": null,
            "address": {"city": "Oslo", "score": 0.5},
            "pets": [{"kind": "Dog", "name": "Rex"}, {"kind": "Fish", "litres": 20}],
            "nicknames": []});
        let person: Person = serde_json::from_value(reply).unwrap();
        assert_eq!(person.pets.len(), 2);
    }

    #[test]
    fn generic_names_become_valid_openai_names() {
        let (name, _) = schema_of::<Wrapper<Address>>();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{name}"
        );
        assert!(name.starts_with("Wrapper"), "{name}");
        assert_eq!(schema_name(Cow::Borrowed("")), "response");
        assert_eq!(schema_name(Cow::Owned("x".repeat(100))).len(), 64);
    }

    #[test]
    fn string_formats_and_explicit_additional_properties_are_kept() {
        let mut schema = json!({"type": "object", "properties": {
            "when": {"type": "string", "format": "date-time"},
            "tags": {"type": "object", "additionalProperties": {"type": "integer", "format": "int64"}}
        }});
        make_strict(&mut schema);
        assert_eq!(schema["properties"]["when"]["format"], "date-time");
        let tags = &schema["properties"]["tags"];
        assert_eq!(tags["additionalProperties"], json!({"type": "integer"}));
    }
}
