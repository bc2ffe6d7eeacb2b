//! Embeddings through `InvokeModel` (`POST /model/{modelId}/invoke`), whose body is the
//! model's own format. Two families are translated:
//! - Amazon Titan text embeddings (`amazon.titan-embed-…`): `{"inputText", "dimensions"?}` →
//!   `{"embedding": [...], "inputTextTokenCount"}`. Titan embeds one text per request, so a
//!   request with several inputs is `Unsupported` (sending several requests is the caller's
//!   choice, not something one call should hide).
//! - Cohere embed (`cohere.embed-…`): `{"texts", "input_type"}` → `{"embeddings": [[...]]}`
//!   (or `{"embeddings": {"float": [[...]]}}` when typed). `input_type` is required by
//!   Cohere: the request's `input_type` extra field, else `search_document`; `truncate`
//!   passes through likewise.
//!
//! Token inputs, `encoding_format: base64` (both families answer floats) and `dimensions`
//! for Cohere are `Unsupported`. Responses are read by their shape, since a response does not
//! name its model; usage is known for Titan only.

use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::provider::shape::{has_array_of, has_object, Marker};
use crate::types::{
    Embedding, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage, EmbeddingVector, Extra,
};

/// The InvokeModel body for `request` sent to embedding model `model`.
pub(super) fn body(model: &str, request: &EmbeddingRequest) -> Result<Vec<u8>, Error> {
    let texts = request.float_texts("bedrock")?;
    let value = if model.contains("cohere.embed") {
        if request.dimensions.is_some() {
            return Err(Error::unsupported(
                "dimensions is not supported for Cohere embedding models on bedrock",
            ));
        }
        let mut body = Map::new();
        body.insert("texts".into(), json!(texts));
        let input_type = request
            .extra
            .get("input_type")
            .cloned()
            .unwrap_or_else(|| "search_document".into());
        body.insert("input_type".into(), input_type);
        if let Some(truncate) = request.extra.get("truncate") {
            body.insert("truncate".into(), truncate.clone());
        }
        Value::Object(body)
    } else if model.contains("amazon.titan-embed") {
        let [text] = texts.as_slice() else {
            return Err(Error::unsupported(format!(
                "Titan embeddings take one input per request, not {}: send one text per call",
                texts.len()
            )));
        };
        let mut body = Map::new();
        body.insert("inputText".into(), (*text).into());
        if let Some(dimensions) = request.dimensions {
            body.insert("dimensions".into(), dimensions.into());
        }
        if let Some(normalize) = request.extra.get("normalize") {
            body.insert("normalize".into(), normalize.clone());
        }
        Value::Object(body)
    } else {
        return Err(Error::unsupported(format!(
            "bedrock embeddings are translated for Amazon Titan and Cohere embedding models, not {model}"
        )));
    };
    crate::provider::to_json(&value)
}

fn vector(value: &Value, body: &[u8]) -> Result<EmbeddingVector, Error> {
    serde_json::from_value::<Vec<f32>>(value.clone())
        .map(EmbeddingVector::Float)
        .map_err(|e| Error::decode("embedding", e, body))
}

/// The marker of an InvokeModel embeddings reply (listed with the others in
/// [`super::response`]).
static EMBEDDINGS: Marker = Marker::new(
    "Bedrock",
    "embeddings reply",
    "`embedding` (Titan) or `embeddings` vectors or by type (Cohere)",
    |reply| {
        reply.contains_key("embedding")
            || has_object(reply, "embeddings")
            || has_array_of(reply, "embeddings", Value::is_array)
    },
);

/// Parses a 2xx InvokeModel body of either family.
pub(super) fn parse(body: &[u8]) -> Result<EmbeddingResponse, Error> {
    let value: Value = crate::provider::from_json(body)
        .map_err(|e| EMBEDDINGS.explain(body, Error::body_json("embeddings", e, body)))?;
    EMBEDDINGS.check(&value, body)?;
    let (vectors, usage) = if let Some(one) = value.get("embedding") {
        let tokens = value.get("inputTextTokenCount").and_then(Value::as_u64);
        let usage = tokens.map(|tokens| EmbeddingUsage {
            prompt_tokens: tokens,
            total_tokens: tokens,
        });
        (vec![vector(one, body)?], usage)
    } else if let Some(many) = value.get("embeddings") {
        let list = many.get("float").unwrap_or(many);
        let Some(list) = list.as_array() else {
            return Err(Error::decode("embeddings", "not a list of vectors", body));
        };
        let vectors = list
            .iter()
            .map(|v| vector(v, body))
            .collect::<Result<Vec<_>, _>>()?;
        (vectors, None)
    } else {
        return Err(EMBEDDINGS.missing(body));
    };
    Ok(EmbeddingResponse {
        object: "list".to_owned(),
        data: vectors
            .into_iter()
            .enumerate()
            .map(|(index, embedding)| Embedding {
                object: "embedding".to_owned(),
                index: index as u32,
                embedding,
            })
            .collect(),
        model: String::new(),
        usage,
        extra: Extra::new(),
        report: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn titan_one_text_with_dimensions() {
        let mut request = EmbeddingRequest::new("x", ["hello"]);
        request.dimensions = Some(256);
        let sent: Value =
            serde_json::from_slice(&body("amazon.titan-embed-text-v2:0", &request).unwrap())
                .unwrap();
        assert_eq!(sent, json!({"inputText": "hello", "dimensions": 256}));
        let two = EmbeddingRequest::new("x", ["a", "b"]);
        let error = body("amazon.titan-embed-text-v2:0", &two).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unsupported);

        let parsed = parse(br#"{"embedding":[0.5,-0.25],"inputTextTokenCount":2}"#).unwrap();
        assert_eq!(parsed.data.len(), 1);
        assert_eq!(
            parsed.data[0].embedding,
            EmbeddingVector::Float(vec![0.5, -0.25])
        );
        assert_eq!(parsed.usage.unwrap().prompt_tokens, 2);
    }

    #[test]
    fn cohere_batch_and_typed_response() {
        let mut request = EmbeddingRequest::new("x", ["a", "b"]);
        request
            .extra
            .insert("input_type".into(), "search_query".into());
        let sent: Value =
            serde_json::from_slice(&body("cohere.embed-english-v3", &request).unwrap()).unwrap();
        assert_eq!(
            sent,
            json!({"texts": ["a", "b"], "input_type": "search_query"})
        );
        for reply in [
            r#"{"id":"1","embeddings":[[1.0],[2.0]],"response_type":"embeddings_floats","texts":["a","b"]}"#,
            r#"{"id":"1","embeddings":{"float":[[1.0],[2.0]]},"response_type":"embeddings_by_type"}"#,
        ] {
            let parsed = parse(reply.as_bytes()).unwrap();
            assert_eq!(parsed.data.len(), 2);
            assert_eq!(parsed.data[1].index, 1);
        }
        assert_eq!(
            parse(br#"{"vectors":[]}"#).unwrap_err().kind(),
            ErrorKind::UnexpectedResponse
        );
        assert_eq!(
            body("meta.llama3", &request).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }
}
