//! OpenAI's Responses API on the wire (`POST {base}/responses`), for OpenAI, Azure and the
//! profiles that serve it: the request body, the whole reply, and the event stream.
//!
//! Stream rules:
//! - Each SSE event's `data` is one JSON event, tagged by its `type` (the SSE `event:` name
//!   repeats it and is not needed). Unknown types are delivered as
//!   [`ResponseStreamEvent::Other`], never dropped and never an error.
//! - `response.completed` and `response.incomplete` are terminal: the stream completed
//!   (an incomplete response is still an answer, like chat's `finish_reason: length`);
//!   later bytes are ignored.
//! - `response.failed` is delivered, then its `response.error` as a typed error; an `error`
//!   event is a typed error. Codes map to kinds as for chat (`rate_limit_exceeded` →
//!   `RateLimit`, `context_length_exceeded` → `ContextWindowExceeded`, `server_error` →
//!   `ServiceUnavailable`, …). Either ends the stream (sticky).
//! - `data: [DONE]` (some compatible servers add it) is skipped.
//! - A `data` that is not JSON, or a known event of the wrong shape, is a `Decode` error
//!   quoting a bounded excerpt.
//! - A body that ends before a terminal event is `Truncated`.
//! - Buffers are bounded by the SSE decoder's limits.

use std::collections::VecDeque;

use http::HeaderMap;
use serde_json::{json, Value};

use super::error::error_from_value;
use crate::error::Error;
use crate::framing::{SseDecoder, SseEvent};
use crate::provider::{from_json, ResponsesStreamDecoder};
use crate::settings::ApiKey;
use crate::types::{Response, ResponseStreamEvent, ResponsesRequest};

/// The request body: the request as given, addressed to `model`, with `stream` set as
/// asked and OneLLM's own fields left out.
pub(super) fn body(
    model: &str,
    request: &ResponsesRequest,
    stream: bool,
) -> Result<Vec<u8>, Error> {
    crate::provider::to_json(&request.for_provider(model, stream.then_some(true)))
}

/// Parses a whole 2xx reply. A body that is not a response (no `id`), or a `failed`
/// response, is an error: the latter classified by its `error.code` like an error status.
pub(super) fn parse(body: &[u8]) -> Result<Response, Error> {
    let response: Response =
        from_json(body).map_err(|e| Error::decode("responses reply", e, body))?;
    if response.id.is_empty() {
        return Err(Error::decode(
            "responses reply",
            "not a Responses API object (no `id`)",
            body,
        ));
    }
    if let Some(error) = failure(&response) {
        return Err(error);
    }
    Ok(response)
}

/// The error a `failed` response reports, if it is one.
fn failure(response: &Response) -> Option<Error> {
    let error = response.error.as_ref()?;
    let value = json!({"error": {"code": error.code, "message": error.message}});
    let text = serde_json::to_vec(&value).unwrap_or_default();
    Some(error_from_value(None, &HeaderMap::new(), &value, &text))
}

/// The native Responses event stream decoder (see the module's rules).
#[derive(Debug)]
pub(super) struct ResponsesSse {
    framing: SseDecoder,
    api_key: Option<ApiKey>,
    ready: VecDeque<ResponseStreamEvent>,
    /// The error to report once `ready` is drained; then the decoder is dead.
    failure: Option<Error>,
    failed: bool,
    done: bool,
    finished: bool,
}

impl ResponsesSse {
    /// A decoder whose errors never quote `api_key`.
    pub(super) fn new(api_key: Option<ApiKey>) -> Self {
        ResponsesSse {
            framing: SseDecoder::new(),
            api_key,
            ready: VecDeque::new(),
            failure: None,
            failed: false,
            done: false,
            finished: false,
        }
    }

    fn stopped(&self) -> bool {
        self.done || self.failure.is_some() || self.failed
    }

    fn drain(&mut self) {
        while !self.stopped() {
            let Some(event) = self.framing.next_event() else {
                break;
            };
            if let Err(error) = self.on_event(&event) {
                self.failure = Some(error);
            }
        }
    }

    fn on_event(&mut self, event: &SseEvent) -> Result<(), Error> {
        let data = event.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return Ok(());
        }
        let parsed: ResponseStreamEvent = from_json(data.as_bytes())
            .map_err(|e| Error::decode("responses stream event", e, data.as_bytes()))?;
        match &parsed {
            ResponseStreamEvent::Completed(_) | ResponseStreamEvent::Incomplete(_) => {
                self.done = true;
            }
            ResponseStreamEvent::Failed(failed) => {
                let error = failure(&failed.response).unwrap_or_else(|| {
                    Error::from_http(
                        None,
                        &HeaderMap::new(),
                        None,
                        Some("the response failed without saying why"),
                        data.as_bytes(),
                    )
                });
                self.ready.push_back(parsed);
                return Err(error);
            }
            ResponseStreamEvent::Error(_) => {
                let value: Value = serde_json::from_str(data).unwrap_or(Value::Null);
                return Err(error_from_value(
                    None,
                    &HeaderMap::new(),
                    &value,
                    data.as_bytes(),
                ));
            }
            _ => {}
        }
        self.ready.push_back(parsed);
        Ok(())
    }
}

impl ResponsesStreamDecoder for ResponsesSse {
    fn push(&mut self, bytes: &[u8]) {
        if self.stopped() || self.finished {
            return;
        }
        if let Err(error) = self.framing.push(bytes) {
            self.drain();
            if self.failure.is_none() {
                self.failure = Some(Error::new(crate::ErrorKind::Decode, error.to_string()));
            }
            return;
        }
        self.drain();
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.stopped() {
            return;
        }
        let cut = self.framing.finish();
        self.drain();
        if !self.stopped() {
            let detail = if cut {
                " (the last event was cut off)"
            } else {
                ""
            };
            self.failure = Some(Error::truncated(format!(
                "stream ended without response.completed{detail}"
            )));
        }
    }

    fn next_event(&mut self) -> Option<Result<ResponseStreamEvent, Error>> {
        if let Some(event) = self.ready.pop_front() {
            return Some(Ok(event));
        }
        let error = self.failure.take()?;
        self.failed = true;
        Some(Err(error.without_key(self.api_key.as_ref())))
    }

    fn is_complete(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn decode(body: &str, split: usize) -> (Vec<Result<ResponseStreamEvent, Error>>, bool) {
        let mut decoder = ResponsesSse::new(Some(ApiKey::new("sk-secret-key-123")));
        let mut items = Vec::new();
        for piece in body.as_bytes().chunks(split) {
            decoder.push(piece);
            items.extend(std::iter::from_fn(|| decoder.next_event()));
        }
        decoder.finish();
        items.extend(std::iter::from_fn(|| decoder.next_event()));
        (items, decoder.is_complete())
    }

    const CREATED: &str = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"created_at\":1,\"model\":\"m\",\"status\":\"in_progress\",\"output\":[]}}\n\n";
    const DELTA: &str = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"item_id\":\"msg_1\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n";
    const COMPLETED: &str = "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"created_at\":1,\"model\":\"m\",\"status\":\"completed\",\"output\":[]}}\n\n";

    #[test]
    fn any_split_gives_the_same_events_and_completes_at_the_terminal_event() {
        let body = format!("{CREATED}{DELTA}{COMPLETED}event: x\ndata: ignored after the end\n\n");
        let (whole, complete) = decode(&body, body.len());
        assert!(complete);
        assert_eq!(whole.len(), 3);
        for split in [1, 2, 7, 64] {
            let (items, complete) = decode(&body, split);
            assert!(complete);
            let kinds: Vec<_> = items
                .iter()
                .map(|i| i.as_ref().unwrap().kind().to_owned())
                .collect();
            assert_eq!(
                kinds,
                [
                    "response.created",
                    "response.output_text.delta",
                    "response.completed"
                ]
            );
        }
    }

    #[test]
    fn a_body_cut_short_is_truncated_after_its_events() {
        let (items, complete) = decode(&format!("{CREATED}{DELTA}"), 5);
        assert!(!complete);
        assert_eq!(items.len(), 3);
        assert_eq!(items[2].as_ref().unwrap_err().kind(), ErrorKind::Truncated);
    }

    #[test]
    fn failed_and_error_events_are_typed_sticky_errors() {
        let failed = "data: {\"type\":\"response.failed\",\"sequence_number\":3,\"response\":{\"id\":\"resp_1\",\"status\":\"failed\",\"output\":[],\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":\"slow down sk-secret-key-123\"}}}\n\n";
        let (items, complete) = decode(&format!("{CREATED}{failed}{DELTA}"), 9);
        assert!(!complete);
        assert_eq!(
            items.len(),
            3,
            "the failed event, then its error, then nothing"
        );
        assert_eq!(items[1].as_ref().unwrap().kind(), "response.failed");
        let error = items[2].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::RateLimit);
        assert!(!error.message().contains("sk-secret-key-123"), "{error}");

        for (code, kind) in [
            ("context_length_exceeded", ErrorKind::ContextWindowExceeded),
            ("server_error", ErrorKind::ServiceUnavailable),
            ("rate_limit_exceeded", ErrorKind::RateLimit),
        ] {
            let body = format!("{CREATED}data: {{\"type\":\"error\",\"sequence_number\":1,\"code\":\"{code}\",\"message\":\"m\",\"param\":null}}\n\n{DELTA}");
            let (items, _) = decode(&body, 3);
            assert_eq!(items.len(), 2, "{code}");
            assert_eq!(items[1].as_ref().unwrap_err().kind(), kind, "{code}");
        }
    }

    #[test]
    fn malformed_data_is_a_decode_error_and_unknown_events_pass() {
        let (items, _) = decode("data: {not json\n\n", 4);
        let error = items[0].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode);
        assert!(error.message().contains("{not json"), "{error}");
        let (items, _) = decode(
            "data: {\"type\":\"response.output_text.delta\",\"delta\":7}\n\n",
            4,
        );
        assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::Decode);
        let novel = "data: {\"type\":\"response.image_generation_call.partial_image\",\"sequence_number\":4,\"b64\":\"AA\"}\n\n";
        let (items, complete) = decode(&format!("{CREATED}{novel}{COMPLETED}"), 11);
        assert!(complete);
        match items[1].as_ref().unwrap() {
            ResponseStreamEvent::Other { kind, raw } => {
                assert_eq!(kind, "response.image_generation_call.partial_image");
                assert_eq!(raw["b64"], "AA");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn whole_replies_parse_and_failed_ones_are_errors() {
        let ok = parse(br#"{"id":"resp_1","object":"response","created_at":1,"model":"m","status":"completed","output":[{"type":"message","id":"msg_1","role":"assistant","status":"completed","content":[{"type":"output_text","text":"Hi","annotations":[]}]}],"usage":{"input_tokens":3,"output_tokens":1,"total_tokens":4}}"#).unwrap();
        assert_eq!(ok.output_text(), "Hi");
        let failed = parse(br#"{"id":"resp_1","status":"failed","output":[],"error":{"code":"server_error","message":"boom"}}"#).unwrap_err();
        assert_eq!(failed.kind(), ErrorKind::ServiceUnavailable);
        assert_eq!(parse(b"{}").unwrap_err().kind(), ErrorKind::Decode);
        assert_eq!(parse(b"[1]").unwrap_err().kind(), ErrorKind::Decode);
    }
}
