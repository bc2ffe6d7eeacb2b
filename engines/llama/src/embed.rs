//! Embeddings in process: an OpenAI-format `/embeddings` request body -> tokens -> one
//! pooled vector per input, answered as llama.cpp's server answers `/v1/embeddings`.
//!
//! Like the server, vectors are normalized to unit length (Euclidean), and each input is
//! decoded in one batch on its own (the KV cache is cleared between inputs), so an input's
//! vector does not depend on the others in the request. Pooling is the model's own when its
//! GGUF says one (`<arch>.pooling_type`: embedding models such as BGE or nomic-embed do);
//! otherwise the mean over the input's tokens, since a generative model's default ("none")
//! gives a vector per token, which the OpenAI format has no place for.

use bytes::Bytes;
use http::StatusCode;
use llama_cpp_2::context::params::LlamaPoolingType;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::token::LlamaToken;
use serde_json::{json, Value};

use crate::generate::{Job, Refusal};
use crate::response::{self, Piece};

/// At most this many inputs in one request (OpenAI's own limit is 2,048).
const MAX_INPUTS: usize = 2048;

impl Job {
    /// Runs an embeddings request: every input's vector, or a refusal before any is made.
    pub(crate) fn embeddings(
        &self,
        cancelled: &dyn Fn() -> bool,
        sink: &mut dyn FnMut(Piece) -> bool,
    ) -> Result<(), Refusal> {
        let inputs = self.embedding_inputs()?;
        match self.body.get("encoding_format").and_then(Value::as_str) {
            None | Some("float") => {}
            Some(other) => {
                return Err(Refusal::invalid(format!(
                    "encoding_format {:?} is not served in process: ask for \"float\"",
                    crate::models::excerpt(other)
                )))
            }
        }
        let width = self.model.n_embd();
        if let Some(asked) = self.body.get("dimensions").and_then(Value::as_u64) {
            if asked != width as u64 {
                return Err(Refusal::invalid(format!(
                    "dimensions {asked}: this model's vectors have {width} dimensions \
                     and cannot be shortened"
                )));
            }
        }
        let n_ctx = self.context_size();
        let longest = inputs.iter().map(Vec::len).max().unwrap_or(0);
        if longest > n_ctx as usize {
            return Err(Refusal::too_long(longest, n_ctx));
        }
        // The whole input in one batch: pooling needs every token of it at once.
        let mut context = self.context(n_ctx, n_ctx, Some(self.pooling()?))?;
        let mut batch = LlamaBatch::new(n_ctx as usize, 1);
        let mut data = Vec::with_capacity(inputs.len());
        let mut prompt_tokens = 0;
        for (index, tokens) in inputs.iter().enumerate() {
            if cancelled() {
                return Ok(());
            }
            context.clear_kv_cache();
            batch.clear();
            batch
                .add_sequence(tokens, 0, false)
                .map_err(|e| Refusal::server(format!("batch: {e}")))?;
            context
                .decode(&mut batch)
                .map_err(|e| Refusal::server(format!("decoding input {index} failed: {e}")))?;
            let vector = context.embeddings_seq_ith(0).map_err(|_| {
                Refusal::server(format!("llama.cpp returned no embedding for input {index}"))
            })?;
            prompt_tokens += tokens.len();
            data.push(json!({
                "object": "embedding",
                "index": index,
                "embedding": normalized(vector),
            }));
        }
        let body = json!({
            "object": "list",
            "model": self.body["model"].as_str().unwrap_or_default(),
            "data": data,
            "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
        });
        if sink(response::head(StatusCode::OK, false)) {
            sink(Piece::Body(Bytes::from(body.to_string())));
        }
        Ok(())
    }

    /// The request's `input` as token lists: a string, an array of strings, an array of
    /// token ids, or an array of those arrays (OpenAI's four forms). None may be empty.
    fn embedding_inputs(&self) -> Result<Vec<Vec<LlamaToken>>, Refusal> {
        let vocab = self.model.vocab();
        // An empty text is refused before it becomes a lone BOS token (OpenAI refuses it).
        let text = |text: &str| {
            if text.is_empty() {
                Ok(Vec::new())
            } else {
                Ok(vocab.tokenize(text.as_bytes(), true, true))
            }
        };
        let ids = |ids: &[Value]| -> Result<Vec<LlamaToken>, Refusal> {
            let n_vocab = vocab.n_tokens();
            ids.iter()
                .map(|id| match id.as_i64() {
                    Some(id) if (0..i64::from(n_vocab)).contains(&id) => {
                        Ok(LlamaToken::new(id as i32))
                    }
                    _ => Err(Refusal::invalid(format!(
                        "input holds {}, which is no token id of this model (0..{n_vocab})",
                        crate::models::excerpt(&id.to_string())
                    ))),
                })
                .collect()
        };
        let inputs = match &self.body["input"] {
            Value::String(one) => vec![text(one)?],
            Value::Array(items) if items.iter().all(Value::is_number) && !items.is_empty() => {
                vec![ids(items)?]
            }
            Value::Array(items) => {
                if items.len() > MAX_INPUTS {
                    return Err(Refusal::invalid(format!(
                        "{} inputs: at most {MAX_INPUTS} in one request",
                        items.len()
                    )));
                }
                items
                    .iter()
                    .map(|item| match item {
                        Value::String(one) => text(one),
                        Value::Array(one) => ids(one),
                        _ => Err(Refusal::invalid(
                            "each input must be a string or an array of token ids",
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            _ => {
                return Err(Refusal::invalid(
                    "'input' must be a string, an array of strings or token ids",
                ))
            }
        };
        if inputs.is_empty() || inputs.iter().any(Vec::is_empty) {
            return Err(Refusal::invalid("an input is empty"));
        }
        Ok(inputs)
    }

    /// The model's pooling when its GGUF names one, else the mean (see the module docs).
    fn pooling(&self) -> Result<LlamaPoolingType, Refusal> {
        let declared = self
            .model
            .meta_val_str("general.architecture")
            .ok()
            .and_then(|arch| {
                self.model
                    .meta_val_str(&format!("{arch}.pooling_type"))
                    .ok()
            })
            .and_then(|value| value.trim().parse::<i32>().ok())
            .map(LlamaPoolingType::from);
        match declared {
            Some(LlamaPoolingType::Rank) => Err(Refusal::invalid(
                "this model is a reranker (pooling \"rank\"): it makes scores, not embeddings",
            )),
            Some(
                pooling @ (LlamaPoolingType::Mean | LlamaPoolingType::Cls | LlamaPoolingType::Last),
            ) => Ok(pooling),
            _ => Ok(LlamaPoolingType::Mean),
        }
    }
}

/// `vector` scaled to unit Euclidean length (a zero vector stays zero), as llama.cpp's
/// server returns OpenAI-format embeddings.
fn normalized(vector: &[f32]) -> Vec<f32> {
    let norm = vector
        .iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        .sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return vector.to_vec();
    }
    vector
        .iter()
        .map(|x| (f64::from(*x) / norm) as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::normalized;

    #[test]
    fn vectors_come_out_unit_length_and_zero_stays_zero() {
        let unit = normalized(&[3.0, 4.0]);
        assert_eq!(unit, vec![0.6, 0.8]);
        assert_eq!(normalized(&[0.0, 0.0]), vec![0.0, 0.0]);
    }
}
