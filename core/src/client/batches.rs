//! [`EmbeddingBatches`]: many texts embedded as several requests and put back together in
//! input order — the part of `embed_many` that does not depend on how the requests run
//! (threads in `onellm-blocking`, bounded concurrent futures in `onellm-tokio`).

use crate::error::{Error, ErrorKind};
use crate::types::{
    Embedding, EmbeddingInput, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage,
};

/// How `embed_many` runs: batches of at most `batch_size` inputs, at most `concurrency` of
/// them at once, and an optional progress callback.
///
/// ```
/// use onellm_core::client::Batching;
///
/// let batching = Batching::new(96, 4).on_progress(|done, total| eprintln!("{done}/{total}"));
/// assert_eq!(batching.batch_size(), 96);
/// ```
pub struct Batching {
    batch_size: usize,
    concurrency: usize,
    progress: Option<Box<dyn Fn(usize, usize) + Send + Sync>>,
}

impl std::fmt::Debug for Batching {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batching")
            .field("batch_size", &self.batch_size)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Batching {
    /// Batches of at most `batch_size` inputs (providers cap it: OpenAI at 2,048, Cohere at
    /// 96, Gemini at 100), at most `concurrency` in flight (at least 1).
    pub fn new(batch_size: usize, concurrency: usize) -> Self {
        Batching {
            batch_size,
            concurrency: concurrency.max(1),
            progress: None,
        }
    }

    /// Calls `progress(inputs_done, inputs_total)` after each batch that succeeded, from the
    /// thread or task that collects the results.
    pub fn on_progress(mut self, progress: impl Fn(usize, usize) + Send + Sync + 'static) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// The most inputs per request.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The most requests in flight at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Reports progress, if a callback was given.
    pub fn report_progress(&self, done: usize, total: usize) {
        if let Some(progress) = &self.progress {
            progress(done, total);
        }
    }
}

/// An embeddings request split into batches of at most `batch_size` inputs, and the
/// responses gathered back into one, as if one request had asked for everything.
///
/// ```
/// use onellm_core::client::EmbeddingBatches;
/// use onellm_core::{EmbeddingRequest, EmbeddingResponse};
/// use serde_json::json;
///
/// let request = EmbeddingRequest::new("openai/text-embedding-3-small", ["a", "b", "c"]);
/// let mut batches = EmbeddingBatches::new(request, 2)?;
/// let requests = batches.requests().to_vec();
/// assert_eq!(requests.len(), 2);
/// // Responses may finish in any order; each says which batch it answers.
/// let second: EmbeddingResponse = serde_json::from_value(json!({"data": [{"index": 0, "embedding": [3.0]}]})).unwrap();
/// let first: EmbeddingResponse = serde_json::from_value(json!({"data": [
///     {"index": 1, "embedding": [2.0]}, {"index": 0, "embedding": [1.0]}]})).unwrap();
/// batches.answer(1, second)?;
/// batches.answer(0, first)?;
/// let all = batches.finish()?;
/// assert_eq!(all.into_vectors()?, [[1.0], [2.0], [3.0]]);
/// # Ok::<(), onellm_core::Error>(())
/// ```
#[derive(Debug)]
pub struct EmbeddingBatches {
    requests: Vec<EmbeddingRequest>,
    /// Per batch: its response once answered.
    answers: Vec<Option<EmbeddingResponse>>,
    /// How many inputs the whole request had.
    total: usize,
}

impl EmbeddingBatches {
    /// Splits `request` into batches of at most `batch_size` inputs (texts or token lists),
    /// each keeping the request's model, options, fallbacks and retries. `batch_size` 0 is a
    /// `Configuration` error; a single input is one batch.
    pub fn new(request: EmbeddingRequest, batch_size: usize) -> Result<Self, Error> {
        if batch_size == 0 {
            return Err(Error::configuration(
                "embed_many needs a batch size of at least 1",
            ));
        }
        let total = request.input.len();
        let inputs: Vec<EmbeddingInput> = match &request.input {
            EmbeddingInput::Many(texts) => texts
                .chunks(batch_size)
                .map(|chunk| EmbeddingInput::Many(chunk.to_vec()))
                .collect(),
            EmbeddingInput::ManyTokens(lists) => lists
                .chunks(batch_size)
                .map(|chunk| EmbeddingInput::ManyTokens(chunk.to_vec()))
                .collect(),
            one => vec![one.clone()],
        };
        let requests: Vec<EmbeddingRequest> = inputs
            .into_iter()
            .map(|input| EmbeddingRequest {
                input,
                ..request.clone()
            })
            .collect();
        Ok(EmbeddingBatches {
            answers: vec![None; requests.len()],
            requests,
            total,
        })
    }

    /// The requests to send, batch `i` at index `i`.
    pub fn requests(&self) -> &[EmbeddingRequest] {
        &self.requests
    }

    /// How many inputs the whole request had (for progress: see
    /// [`inputs_in`](Self::inputs_in)).
    pub fn total_inputs(&self) -> usize {
        self.total
    }

    /// How many inputs batch `batch` holds.
    pub fn inputs_in(&self, batch: usize) -> usize {
        self.requests.get(batch).map_or(0, |r| r.input.len())
    }

    /// Records the response to batch `batch`. A response with another number of vectors
    /// than its batch had inputs is a `Decode` error (the order could not be trusted).
    pub fn answer(&mut self, batch: usize, response: EmbeddingResponse) -> Result<(), Error> {
        let expected = self.inputs_in(batch);
        let Some(slot) = self.answers.get_mut(batch) else {
            return Err(Error::new(
                ErrorKind::Decode,
                format!("no batch {batch} to answer"),
            ));
        };
        if response.data.len() != expected {
            return Err(Error::new(
                ErrorKind::Decode,
                format!(
                    "batch {batch} asked for {expected} embeddings and got {}",
                    response.data.len()
                ),
            ));
        }
        *slot = Some(response);
        Ok(())
    }

    /// One response for the whole request: every vector in input order (`index` counting
    /// from 0 across batches), usage summed, the model and report of the first batch.
    pub fn finish(self) -> Result<EmbeddingResponse, Error> {
        let mut data: Vec<Embedding> = Vec::with_capacity(self.total);
        let mut usage: Option<EmbeddingUsage> = None;
        let mut first: Option<EmbeddingResponse> = None;
        for (batch, answer) in self.answers.into_iter().enumerate() {
            let Some(mut response) = answer else {
                return Err(Error::new(
                    ErrorKind::Decode,
                    format!("batch {batch} was never answered"),
                ));
            };
            let offset = u32::try_from(data.len()).unwrap_or(u32::MAX);
            // Within a batch, input order is the order of `index`; providers that leave it
            // out keep their listed order (a stable sort of equal keys).
            response.data.sort_by_key(|embedding| embedding.index);
            for (position, mut embedding) in
                std::mem::take(&mut response.data).into_iter().enumerate()
            {
                embedding.index =
                    offset.saturating_add(u32::try_from(position).unwrap_or(u32::MAX));
                data.push(embedding);
            }
            if let Some(part) = &response.usage {
                let sum = usage.get_or_insert_with(EmbeddingUsage::default);
                sum.prompt_tokens = sum.prompt_tokens.saturating_add(part.prompt_tokens);
                sum.total_tokens = sum.total_tokens.saturating_add(part.total_tokens);
            }
            first.get_or_insert(response);
        }
        let mut whole = first
            .ok_or_else(|| Error::new(ErrorKind::Decode, "an embeddings request with no batch"))?;
        whole.data = data;
        whole.usage = usage;
        Ok(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(vectors: &[(u32, f32)], tokens: u64) -> EmbeddingResponse {
        serde_json::from_value(serde_json::json!({
            "model": "m",
            "data": vectors.iter().map(|(index, value)| serde_json::json!({"index": index, "embedding": [value]})).collect::<Vec<_>>(),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }))
        .unwrap()
    }

    #[test]
    fn batches_come_back_in_input_order_with_usage_summed() {
        let texts: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
        let mut batches =
            EmbeddingBatches::new(EmbeddingRequest::new("openai/e", texts), 2).unwrap();
        assert_eq!(batches.requests().len(), 3);
        assert_eq!(batches.inputs_in(2), 1);
        batches.answer(2, response(&[(0, 4.0)], 1)).unwrap();
        batches
            .answer(0, response(&[(1, 1.0), (0, 0.0)], 2))
            .unwrap();
        assert!(
            batches.answer(1, response(&[(0, 2.0)], 2)).is_err(),
            "one vector short"
        );
        batches
            .answer(1, response(&[(0, 2.0), (1, 3.0)], 2))
            .unwrap();
        let whole = batches.finish().unwrap();
        let indexes: Vec<u32> = whole.data.iter().map(|e| e.index).collect();
        assert_eq!(indexes, [0, 1, 2, 3, 4]);
        assert_eq!(
            whole.into_vectors().unwrap(),
            [[0.0], [1.0], [2.0], [3.0], [4.0]]
        );
    }

    #[test]
    fn unanswered_batches_and_size_zero_are_errors() {
        let request = EmbeddingRequest::new("openai/e", ["a", "b"]);
        assert!(EmbeddingBatches::new(request.clone(), 0).is_err());
        let batches = EmbeddingBatches::new(request, 1).unwrap();
        assert!(batches.finish().is_err());
    }
}
