//! `batchEmbedContents`: an OpenAI [`EmbeddingRequest`] as one batch, one request per input
//! text, and the `embeddings[].values` back as OpenAI's `data[].embedding`.
//!
//! Rules:
//! - Each text becomes `{"model": "models/<model>", "content": {"parts": [{"text"}]}}`;
//!   `dimensions` → `outputDimensionality`; an extra `task_type` (or `taskType`, e.g.
//!   `RETRIEVAL_QUERY`) and `title` are passed on every request.
//! - Token input and `encoding_format: base64` are `Unsupported`: Gemini embeds text and
//!   returns floats only.
//! - The reply has no usage; `usage` is `None`. The n-th vector answers the n-th text.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::{error_from_value, is_error_value};
use crate::error::Error;
use crate::provider::shape::{has_array_of, Marker};
use crate::types::{Embedding, EmbeddingRequest, EmbeddingResponse, EmbeddingVector, Extra};

/// The `batchEmbedContents` body.
pub(super) fn embeddings_body(model: &str, request: &EmbeddingRequest) -> Result<Vec<u8>, Error> {
    let texts = request.float_texts("gemini")?;
    let task_type = request
        .extra
        .get("task_type")
        .or_else(|| request.extra.get("taskType"));
    let requests: Vec<Value> = texts
        .into_iter()
        .map(|text| {
            let mut one = Map::new();
            one.insert("model".into(), format!("models/{model}").into());
            one.insert("content".into(), json!({"parts": [{"text": text}]}));
            if let Some(dimensions) = request.dimensions {
                one.insert("outputDimensionality".into(), dimensions.into());
            }
            if let Some(task_type) = task_type {
                one.insert("taskType".into(), task_type.clone());
            }
            if let Some(title) = request.extra.get("title") {
                one.insert("title".into(), title.clone());
            }
            Value::Object(one)
        })
        .collect();
    crate::provider::to_json(&json!({ "requests": requests }))
}

#[derive(Deserialize)]
struct BatchResponse {
    embeddings: Vec<ContentEmbedding>,
}

#[derive(Deserialize)]
struct ContentEmbedding {
    values: Vec<f32>,
}

/// The marker of a `batchEmbedContents` reply (listed with the others in
/// [`super::response`]).
static BATCH_EMBEDDINGS: Marker = Marker::new(
    "Gemini",
    "batchEmbedContents reply",
    "`embeddings` array of objects",
    |reply| has_array_of(reply, "embeddings", Value::is_object),
);

/// Parses a 2xx `batchEmbedContents` body.
pub(super) fn parse_embeddings(body: &[u8]) -> Result<EmbeddingResponse, Error> {
    let value: Value = crate::provider::from_json(body)
        .map_err(|e| BATCH_EMBEDDINGS.explain(body, Error::body_json("embeddings", e, body)))?;
    if is_error_value(&value) {
        return Err(error_from_value(
            None,
            &http::HeaderMap::new(),
            &value,
            body,
        ));
    }
    BATCH_EMBEDDINGS.check(&value, body)?;
    let batch: BatchResponse =
        serde_json::from_value(value).map_err(|e| Error::decode("embeddings", e, body))?;
    let data = batch
        .embeddings
        .into_iter()
        .zip(0u32..)
        .map(|(embedding, index)| Embedding {
            object: "embedding".to_owned(),
            index,
            embedding: EmbeddingVector::Float(embedding.values),
        })
        .collect();
    Ok(EmbeddingResponse {
        object: "list".to_owned(),
        data,
        model: String::new(),
        usage: None,
        extra: Extra::new(),
        report: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::types::EmbeddingInput;

    #[test]
    fn batch_body_and_parse() {
        let mut request = EmbeddingRequest::new("google/gemini-embedding-001", ["a", "b"]);
        request.dimensions = Some(256);
        request
            .extra
            .insert("task_type".into(), json!("RETRIEVAL_QUERY"));
        let body: Value =
            serde_json::from_slice(&embeddings_body("gemini-embedding-001", &request).unwrap())
                .unwrap();
        assert_eq!(
            body,
            json!({"requests": [
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 256, "taskType": "RETRIEVAL_QUERY"},
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 256, "taskType": "RETRIEVAL_QUERY"},
            ]})
        );
        let parsed =
            parse_embeddings(br#"{"embeddings": [{"values": [0.5, -1]}, {"values": [2]}]}"#)
                .unwrap();
        assert_eq!(parsed.data.len(), 2);
        assert_eq!(parsed.data[1].index, 1);
        assert_eq!(
            parsed.data[0].embedding,
            EmbeddingVector::Float(vec![0.5, -1.0])
        );
    }

    #[test]
    fn unsupported_inputs_and_bad_bodies() {
        let mut request = EmbeddingRequest::new("m", ["a"]);
        request.input = EmbeddingInput::Tokens(vec![1, 2]);
        assert_eq!(
            embeddings_body("m", &request).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        let mut request = EmbeddingRequest::new("m", ["a"]);
        request.encoding_format = Some("base64".into());
        assert_eq!(
            embeddings_body("m", &request).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        assert_eq!(
            parse_embeddings(br#"{"embeddings": [{"values": "x"}]}"#)
                .unwrap_err()
                .kind(),
            ErrorKind::Decode
        );
        assert_eq!(
            parse_embeddings(br#"{"error": {"code": 404, "message": "m", "status": "NOT_FOUND"}}"#)
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
    }
}
