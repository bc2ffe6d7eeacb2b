//! LiteLLM's `config.yaml` read with `saphyr` (a maintained, pure-Rust YAML 1.2 parser) into
//! the configuration tree, each value with its line.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::node::{Node, Value};
use crate::error::Error;

/// The most nested levels a configuration may have: LiteLLM's files use four or five; a
/// deeper document is refused rather than walked.
const MAX_DEPTH: usize = 32;

/// The first document of `text` as a tree; a YAML error names `file` and the line.
pub(super) fn parse(text: &str, file: &str) -> Result<Node, Error> {
    let documents = MarkedYaml::load_from_str(text).map_err(|error| {
        Error::configuration(format!(
            "{file}:{}: not valid YAML: {}",
            error.marker().line(),
            error.info()
        ))
    })?;
    let Some(document) = documents.first() else {
        return Err(Error::configuration(format!("{file}: the file is empty")));
    };
    convert(document, file, 0)
}

fn convert(node: &MarkedYaml<'_>, file: &str, depth: usize) -> Result<Node, Error> {
    let line = node.span.start.line();
    if depth > MAX_DEPTH {
        return Err(Error::configuration(format!(
            "{file}:{line}: nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let value = match &node.data {
        YamlData::Value(scalar) => match scalar {
            Scalar::Null => Value::Null,
            Scalar::Boolean(b) => Value::Bool(*b),
            Scalar::Integer(i) => Value::Int(*i),
            Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
            Scalar::String(s) => Value::Str(s.to_string()),
        },
        YamlData::Sequence(items) => Value::List(
            items
                .iter()
                .map(|item| convert(item, file, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        YamlData::Mapping(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                let name = match &key.data {
                    YamlData::Value(Scalar::String(s)) => s.to_string(),
                    YamlData::Value(Scalar::Integer(i)) => i.to_string(),
                    YamlData::Value(Scalar::Boolean(b)) => b.to_string(),
                    _ => {
                        return Err(Error::configuration(format!(
                            "{file}:{}: a key must be a plain name",
                            key.span.start.line()
                        )))
                    }
                };
                out.push((name, convert(value, file, depth + 1)?));
            }
            Value::Map(out)
        }
        YamlData::Tagged(_, inner) => return convert(inner, file, depth + 1),
        YamlData::Representation(text, _, _) => Value::Str(text.to_string()),
        YamlData::Alias(_) | YamlData::BadValue => {
            return Err(Error::configuration(format!(
                "{file}:{line}: a value OneLLM cannot read (an alias or a bad value)"
            )))
        }
    };
    Ok(Node::new(line, value))
}
