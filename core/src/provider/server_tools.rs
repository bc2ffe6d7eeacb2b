//! Joining server-side tool calls with their results, for every family that has them
//! (Anthropic, Gemini, Bedrock), whole replies and streams alike.
//!
//! The rule is documented once, on [`crate::types::ServerToolCall`]: entries in the
//! order of their calls, a result joined to its call by id (or, for Gemini, which gives none
//! on older models, to the latest call still without one), a call without a result keeps
//! `output: null`, a result without a call keeps `input: null`. A stream sends an entry once
//! it is complete and every earlier one has been sent, and the rest when the message ends, so
//! the folded stream lists the same entries in the same order as the whole reply.

use std::collections::VecDeque;

use serde_json::Value;

use crate::error::Error;
use crate::types::ServerToolCall;

/// The most calls held waiting for their results (a reply has a handful).
const MAX_WAITING: usize = 256;

/// One message's server-side tool calls, joined with their results.
#[derive(Debug, Default)]
pub(crate) struct ServerToolCalls {
    /// Entries not handed out yet, in call order.
    waiting: VecDeque<ServerToolCall>,
}

impl ServerToolCalls {
    /// A call, its output not known yet.
    pub(crate) fn call(&mut self, call: ServerToolCall, raw: &[u8]) -> Result<(), Error> {
        self.push(call, raw)
    }

    /// A result naming its call by `id`: the output of that call, else an entry of its own
    /// (named `name`, input `null`).
    pub(crate) fn result_for(
        &mut self,
        id: &str,
        name: &str,
        output: Value,
        raw: &[u8],
    ) -> Result<(), Error> {
        let call = self
            .waiting
            .iter_mut()
            .find(|call| call.output.is_none() && call.id.as_deref() == Some(id));
        match call {
            Some(call) => {
                call.output = Some(output);
                Ok(())
            }
            None => self.orphan(Some(id.to_owned()), name, output, raw),
        }
    }

    /// A result that names no call: the output of the latest call still without one, else
    /// an entry of its own (id `id`, named `name`, input `null`).
    pub(crate) fn result_in_order(
        &mut self,
        id: Option<String>,
        name: &str,
        output: Value,
        raw: &[u8],
    ) -> Result<(), Error> {
        match self.waiting.iter_mut().rev().find(|c| c.output.is_none()) {
            Some(call) => {
                if call.id.is_none() {
                    call.id = id;
                }
                call.output = Some(output);
                Ok(())
            }
            None => self.orphan(id, name, output, raw),
        }
    }

    fn orphan(
        &mut self,
        id: Option<String>,
        name: &str,
        output: Value,
        raw: &[u8],
    ) -> Result<(), Error> {
        let mut entry = ServerToolCall::new(id, name, None);
        entry.output = Some(output);
        self.push(entry, raw)
    }

    fn push(&mut self, call: ServerToolCall, raw: &[u8]) -> Result<(), Error> {
        if self.waiting.len() >= MAX_WAITING {
            return Err(Error::decode(
                "server tool call",
                format!("over {MAX_WAITING} calls waiting for their results"),
                raw,
            ));
        }
        self.waiting.push_back(call);
        Ok(())
    }

    /// The complete entries at the front, handed out once (a stream's next delta).
    pub(crate) fn take_ready(&mut self) -> Vec<ServerToolCall> {
        let ready = self
            .waiting
            .iter()
            .take_while(|call| call.output.is_some())
            .count();
        self.waiting.drain(..ready).collect()
    }

    /// Every entry not handed out yet: the message ended, so results still missing never
    /// come.
    pub(crate) fn take_all(&mut self) -> Vec<ServerToolCall> {
        self.waiting.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(id: Option<&str>, name: &str) -> ServerToolCall {
        ServerToolCall::new(id.map(str::to_owned), name, Some(json!({})))
    }

    #[test]
    fn joined_by_id_and_handed_out_in_call_order() {
        let mut calls = ServerToolCalls::default();
        calls.call(call(Some("a"), "web_search"), b"").unwrap();
        calls.call(call(Some("b"), "web_fetch"), b"").unwrap();
        calls.result_for("b", "web_fetch", json!(2), b"").unwrap();
        assert!(calls.take_ready().is_empty(), "a is still waiting");
        calls.result_for("a", "web_search", json!(1), b"").unwrap();
        let ready = calls.take_ready();
        assert_eq!(ready.len(), 2);
        assert_eq!(ready[0].output, Some(json!(1)));
        assert_eq!(ready[1].output, Some(json!(2)));
        // A result for no waiting call is an entry of its own.
        calls.result_for("zz", "mcp", json!(3), b"").unwrap();
        let orphan = calls.take_all();
        assert_eq!(orphan[0].input, None);
        assert_eq!(orphan[0].id.as_deref(), Some("zz"));
    }

    #[test]
    fn in_order_results_join_the_latest_open_call() {
        let mut calls = ServerToolCalls::default();
        calls.call(call(None, "code_execution"), b"").unwrap();
        calls.call(call(None, "code_execution"), b"").unwrap();
        calls
            .result_in_order(Some("r".into()), "code_execution", json!("out"), b"")
            .unwrap();
        assert!(calls.take_ready().is_empty());
        let all = calls.take_all();
        assert_eq!(all[0].output, None);
        assert_eq!(all[1].output, Some(json!("out")));
        assert_eq!(all[1].id.as_deref(), Some("r"));
        calls
            .result_in_order(None, "code_execution", json!("x"), b"")
            .unwrap();
        assert_eq!(calls.take_ready()[0].input, None);
    }

    #[test]
    fn waiting_calls_are_bounded() {
        let mut calls = ServerToolCalls::default();
        for _ in 0..MAX_WAITING {
            calls.call(call(None, "t"), b"").unwrap();
        }
        let error = calls.call(call(None, "t"), b"x").unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Decode);
    }
}
