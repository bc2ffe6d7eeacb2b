//! Ollama's native streams: one JSON object per line (NDJSON), the last with `done: true`.
//!
//! Rules:
//! - Each line is an `/api/chat` object read like a whole reply ([`super::response`]): its
//!   `message.content` → `content`, `message.thinking` → `reasoning_content`, and each of its
//!   `message.tool_calls` (whole calls, never fragments) → one tool-call delta carrying id,
//!   name and all arguments, at `index` = its ordinal in the reply.
//! - The first line's chunk also carries `role: assistant`. Every chunk carries the line's
//!   `model` and `created_at`.
//! - The `done: true` line yields the finish reason (from `done_reason`), then one usage
//!   chunk (`choices: []`), and ends the stream. A body that ends without it is `Truncated`.
//! - A line with an `error` field is an in-stream error ([`super::error`]). A line that is not
//!   a JSON object is a `Decode` error quoting it.
//! - The first line must carry the family's stream marker (see [`super::response`]): a
//!   stream of anything else is an `UnexpectedResponse` error at its first line.

use std::collections::VecDeque;

use super::response::{finish_reason, ChatObject, STREAM_LINE};
use crate::error::Error;
use crate::provider::shape::{Marker, StreamShape};
use crate::provider::{NdjsonLineHandler, StreamFlow};
use crate::types::{
    ChatCompletionChunk, ChunkChoice, Delta, Extra, FunctionCallDelta, Role, ToolCallDelta,
};

#[derive(Debug, Default)]
pub(super) struct OllamaLines {
    shape: StreamShape,
    started: bool,
    tool_calls: usize,
}

impl NdjsonLineHandler for OllamaLines {
    fn on_line(
        &mut self,
        line: &[u8],
        out: &mut VecDeque<ChatCompletionChunk>,
    ) -> Result<StreamFlow, Error> {
        self.shape.check(&STREAM_LINE, line)?;
        let object: ChatObject = crate::provider::from_json(line)
            .map_err(|e| Error::body_json("stream line", e, line))?;
        if let Some(error) = object.error(line) {
            return Err(error);
        }
        let created = object.created();
        let chunk = || ChatCompletionChunk::new("", object.model.as_str(), created);
        let mut delta = Delta::default();
        if !self.started {
            self.started = true;
            delta.role = Some(Role::Assistant);
        }
        if let Some(message) = &object.message {
            delta.content = message.content.clone().filter(|text| !text.is_empty());
            delta.reasoning_content = message.thinking.clone().filter(|text| !text.is_empty());
            let calls: Vec<ToolCallDelta> = message
                .tool_calls
                .iter()
                .flatten()
                .map(|call| {
                    let ordinal = self.tool_calls;
                    self.tool_calls = self.tool_calls.saturating_add(1);
                    let call = call.to_tool_call(ordinal);
                    ToolCallDelta {
                        index: Some(u32::try_from(ordinal).unwrap_or(u32::MAX)),
                        id: Some(call.id),
                        kind: Some("function".to_owned()),
                        function: Some(FunctionCallDelta {
                            name: Some(call.function.name),
                            arguments: Some(call.function.arguments),
                        }),
                        extra: Extra::new(),
                    }
                })
                .collect();
            if !calls.is_empty() {
                delta.tool_calls = Some(calls);
            }
        }
        if delta.role.is_some() || delta.has_content() {
            out.push_back(chunk().with_delta(0, delta));
        }
        if !object.is_done() {
            return Ok(StreamFlow::Continue);
        }
        let mut last = chunk();
        last.choices.push(ChunkChoice {
            index: 0,
            delta: Delta::default(),
            finish_reason: Some(finish_reason(
                object.done_reason.as_deref(),
                self.tool_calls > 0,
            )),
            logprobs: None,
            extra: Extra::new(),
        });
        out.push_back(last);
        if let Some(usage) = object.usage() {
            let mut chunk = chunk();
            chunk.usage = Some(usage);
            out.push_back(chunk);
        }
        Ok(StreamFlow::Done)
    }

    fn terminal_marker(&self) -> &'static str {
        "a line with \"done\": true"
    }

    fn stream_marker(&self) -> &'static Marker {
        &STREAM_LINE
    }

    fn shape_proven(&self) -> bool {
        self.shape.is_proven()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::provider::stream_tests::{decode_in_pieces, fold};
    use crate::provider::NdjsonChatStream;
    use crate::types::FinishReason;

    /// The streaming example of Ollama's API docs (docs/api.md, "Chat request (Streaming)"),
    /// with a thinking line and a tool-call line in the shape of the docs' tools example
    /// added, CRLF on one line and no newline after the last.
    const STREAM: &str = concat!(
        "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"thinking\":\"Sky color. \"},\"done\":false}\n",
        "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\",\"message\":{\"role\":\"assistant\",\"content\":\"The\",\"images\":null},\"done\":false}\r\n",
        "\n",
        "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.5Z\",\"message\":{\"role\":\"assistant\",\"content\":\" sky\"},\"done\":false}\n",
        "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.6Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"get_current_weather\",\"arguments\":{\"format\":\"celsius\",\"location\":\"Paris, FR\"}}}]},\"done\":false}\n",
        "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T19:22:45.499127Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\",\"total_duration\":4883583458,\"load_duration\":1334875,\"prompt_eval_count\":26,\"prompt_eval_duration\":342546000,\"eval_count\":282,\"eval_duration\":4535599000}",
    );

    fn run(body: &[u8], split: usize) -> (Vec<Result<ChatCompletionChunk, Error>>, bool) {
        decode_in_pieces(
            NdjsonChatStream::new(OllamaLines::default(), None),
            body,
            split,
        )
    }

    #[test]
    fn docs_stream_folds_and_is_split_invariant() {
        let (items, complete) = run(STREAM.as_bytes(), STREAM.len());
        assert!(complete);
        for split in [1, 2, 5, 64] {
            assert_eq!(
                run(STREAM.as_bytes(), split),
                (items.clone(), true),
                "split {split}"
            );
        }
        let completion = fold(&items);
        assert_eq!(completion.model, "llama3.2");
        let message = completion.message().unwrap();
        assert_eq!(message.text(), "The sky");
        assert_eq!(message.reasoning_content.as_deref(), Some("Sky color. "));
        let call = &message.tool_calls.as_ref().unwrap()[0];
        assert_eq!(call.function.name, "get_current_weather");
        assert_eq!(
            call.id,
            super::super::response::tool_call_id(
                "get_current_weather",
                &call.function.arguments,
                0
            )
        );
        assert_eq!(
            completion.choices[0].finish_reason,
            Some(FinishReason::ToolCalls)
        );
        let usage = completion.usage.unwrap();
        assert_eq!((usage.prompt_tokens, usage.completion_tokens), (26, 282));
    }

    #[test]
    fn errors_truncation_and_garbage() {
        let cut = &STREAM[..STREAM.rfind('\n').unwrap()];
        let (items, complete) = run(cut.as_bytes(), 9);
        assert!(!complete);
        let error = items.last().unwrap().as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Truncated);
        assert!(error.message().contains("done"), "{error}");

        let body = "{\"model\":\"m\",\"message\":{\"content\":\"Hi\"},\"done\":false}\n{\"error\":\"an error was encountered while running the model\"}\n{\"done\":true}\n";
        let (items, complete) = run(body.as_bytes(), 3);
        assert!(!complete);
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[1].as_ref().unwrap_err().kind(),
            ErrorKind::ServiceUnavailable
        );

        // Garbage from the first line is not Ollama's stream; after a line of it, broken.
        let (items, _) = run(b"<html>oops</html>\n", 4);
        let error = items[0].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedResponse);
        assert!(error.message().contains("oops"));
        let body = "{\"model\":\"m\",\"message\":{\"content\":\"Hi\"},\"done\":false}\n<html>oops</html>\n";
        let (items, _) = run(body.as_bytes(), 4);
        let error = items.last().unwrap().as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode);
    }
}
