//! Per-request faults for soak runs: many calls at once against one [`FakeProvider`], each
//! with its own fault and its own scripted text, so every outcome is known in advance.
//!
//! The server's reply queue ([`FakeProvider::push`]) is first in, first out for whichever
//! request comes next, which cannot say which of 256 concurrent calls gets which reply. A
//! soak call instead names its fault and its id in the model, `soak-{fault}-{id}` (with any
//! provider prefix: `openai/soak-cut_mid_body-17`), and the server answers it from that name
//! alone. The reply's text is [`scripted_text`] of the id, so the caller knows exactly what a
//! successful stream must add up to.
//!
//! ```
//! use onellm_testkit::soak::{self, SoakFault};
//!
//! let call = soak::call(17);
//! assert_eq!(soak::parse_model(&call.model("openai")), Some((call.fault, 17)));
//! assert!(soak::scripted_text(17).starts_with("call 17:"));
//! ```
//!
//! Faults marked *once* hit only a call's first attempt: the server remembers the ids whose
//! first attempt it failed until their second attempt arrives, so what it holds is bounded by
//! the calls in flight. Every other fault hits every attempt.
//!
//! [`FakeProvider`]: crate::FakeProvider
//! [`FakeProvider::push`]: crate::FakeProvider::push

use std::collections::HashSet;
use std::time::Duration;

use onellm_core::ErrorKind;

use crate::reply::{Fault, Reply};

/// The body a [`SoakFault::WrongShape`] reply carries with status 200: JSON of no LLM API,
/// as a proxy, a gateway's own 404 page or a wrong base URL would send.
pub const WRONG_SHAPE_BODY: &str = r#"{"detail":"Not Found"}"#;

/// The pause between the pieces of a [`SoakFault::SlowBody`] reply: slow enough that a
/// client reads the body in several reads, far below any idle timeout.
pub const SLOW_BODY_PAUSE: Duration = Duration::from_millis(20);

/// The faults a soak run mixes in, one per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SoakFault {
    /// A clean reply.
    None,
    /// The body comes in pieces [`SLOW_BODY_PAUSE`] apart (a stream event by event, a whole
    /// body in two halves).
    SlowBody,
    /// *Once*: the connection closes after the request is read, before any response byte.
    ResetBeforeHeadersOnce,
    /// *Once*: a 200 head, then the connection closes before the body.
    ResetAfterHeadersOnce,
    /// Every attempt's body stops halfway and the connection closes (a stream after some of
    /// its events, a whole body after half its bytes).
    CutMidBody,
    /// *Once*: 429 with `retry-after-ms: 1`.
    RateLimitedOnce,
    /// Every attempt gets 429 with `retry-after: 0`.
    RateLimited,
    /// Every attempt gets 503, without Retry-After (the client's own backoff applies).
    ServerError,
    /// Every attempt gets a 200 with [`WRONG_SHAPE_BODY`], for a stream request too.
    WrongShape,
}

impl SoakFault {
    /// Every fault, in the order [`call`] cycles through them.
    pub const ALL: [SoakFault; 9] = [
        SoakFault::None,
        SoakFault::SlowBody,
        SoakFault::ResetBeforeHeadersOnce,
        SoakFault::ResetAfterHeadersOnce,
        SoakFault::CutMidBody,
        SoakFault::RateLimitedOnce,
        SoakFault::RateLimited,
        SoakFault::ServerError,
        SoakFault::WrongShape,
    ];

    /// The name used in model ids.
    pub fn name(self) -> &'static str {
        match self {
            SoakFault::None => "none",
            SoakFault::SlowBody => "slow_body",
            SoakFault::ResetBeforeHeadersOnce => "reset_before_headers_once",
            SoakFault::ResetAfterHeadersOnce => "reset_after_headers_once",
            SoakFault::CutMidBody => "cut_mid_body",
            SoakFault::RateLimitedOnce => "rate_limited_once",
            SoakFault::RateLimited => "rate_limited",
            SoakFault::ServerError => "server_error",
            SoakFault::WrongShape => "wrong_shape",
        }
    }

    fn from_name(name: &str) -> Option<SoakFault> {
        SoakFault::ALL
            .into_iter()
            .find(|fault| fault.name() == name)
    }

    /// Whether only a call's first attempt is failed.
    pub fn once(self) -> bool {
        matches!(
            self,
            SoakFault::ResetBeforeHeadersOnce
                | SoakFault::ResetAfterHeadersOnce
                | SoakFault::RateLimitedOnce
        )
    }

    /// How a call with this fault must end, for a client that retries at least once and
    /// has no fallback model. `streaming` is whether the call was a stream.
    pub fn expected(self, streaming: bool) -> Expected {
        match self {
            SoakFault::None
            | SoakFault::SlowBody
            | SoakFault::ResetBeforeHeadersOnce
            | SoakFault::ResetAfterHeadersOnce
            | SoakFault::RateLimitedOnce => Expected::Text,
            // Content reached the caller before the cut: no retry, the partial completion.
            SoakFault::CutMidBody if streaming => Expected::Error(ErrorKind::StreamInterrupted),
            // A whole body that ends early is retried, then fails the same way again.
            SoakFault::CutMidBody => Expected::Error(ErrorKind::Connection),
            SoakFault::RateLimited => Expected::Error(ErrorKind::RateLimit),
            SoakFault::ServerError => Expected::Error(ErrorKind::ServiceUnavailable),
            SoakFault::WrongShape => Expected::Error(ErrorKind::UnexpectedResponse),
        }
    }
}

/// How a soak call must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Success with exactly [`scripted_text`] of the call's id.
    Text,
    /// An error of this kind.
    Error(ErrorKind),
}

/// One call of a soak run: its id, its fault, and whether it streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoakCall {
    pub id: u64,
    pub fault: SoakFault,
    pub streaming: bool,
}

impl SoakCall {
    /// The model id that makes the fake provider answer this call, for `provider`.
    pub fn model(&self, provider: &str) -> String {
        format!("{provider}/soak-{}-{}", self.fault.name(), self.id)
    }

    /// The text a successful call returns.
    pub fn text(&self) -> String {
        scripted_text(self.id)
    }

    /// How the call must end.
    pub fn expected(&self) -> Expected {
        self.fault.expected(self.streaming)
    }
}

/// How many consecutive calls of the schedule try every fault both ways once: any
/// `CYCLE` calls from a multiple of `CYCLE` on.
pub const CYCLE: u64 = 2 * SoakFault::ALL.len() as u64;

/// The call with index `index` of a deterministic schedule: faults cycle through
/// [`SoakFault::ALL`], and each full cycle alternates between whole replies and streams, so
/// every fault is tried both ways in every [`CYCLE`] calls.
pub fn call(index: u64) -> SoakCall {
    let cycle = SoakFault::ALL.len() as u64;
    SoakCall {
        id: index,
        fault: SoakFault::ALL[(index % cycle) as usize],
        streaming: (index / cycle) % 2 == 1,
    }
}

/// The text scripted for call `id`: 3 to 11 words, some of them not ASCII, so streams have
/// different numbers of events and pieces of more than one byte per character.
pub fn scripted_text(id: u64) -> String {
    const WORDS: [&str; 8] = [
        "alpha",
        "bravo",
        "charlie",
        "délta",
        "echo",
        "fox·trot",
        "golf",
        "hötel",
    ];
    let count = 3 + (id % 9) as usize;
    let mut text = format!("call {id}:");
    for i in 0..count {
        text.push(' ');
        text.push_str(WORDS[(id as usize + i * 3) % WORDS.len()]);
    }
    text
}

/// Reads a soak model name (`soak-{fault}-{id}`, provider prefix already removed or not).
pub fn parse_model(model: &str) -> Option<(SoakFault, u64)> {
    let name = model.rsplit('/').next()?;
    let (fault, id) = name.strip_prefix("soak-")?.rsplit_once('-')?;
    Some((SoakFault::from_name(fault)?, id.parse().ok()?))
}

/// The server's side: the reply for a soak model. `failed_once` holds the ids whose first
/// attempt a *once* fault has failed and whose second attempt has not come yet.
pub(crate) fn reply(fault: SoakFault, id: u64, failed_once: &mut HashSet<u64>) -> Reply {
    if fault.once() && !failed_once.insert(id) {
        failed_once.remove(&id);
        return Reply::text(scripted_text(id));
    }
    let text = || Reply::text(scripted_text(id));
    match fault {
        SoakFault::None => text(),
        SoakFault::SlowBody => text().slow_body(SLOW_BODY_PAUSE),
        SoakFault::ResetBeforeHeadersOnce => text().with_fault(Fault::ResetBeforeHeaders),
        SoakFault::ResetAfterHeadersOnce => text().with_fault(Fault::ResetAfterHeaders),
        SoakFault::CutMidBody => text().with_fault(Fault::ResetMidStream),
        SoakFault::RateLimitedOnce => Reply::status(429).header("retry-after-ms", "1"),
        SoakFault::RateLimited => Reply::status(429).header("retry-after", "0"),
        SoakFault::ServerError => Reply::status(503),
        SoakFault::WrongShape => Reply::status(200).body(WRONG_SHAPE_BODY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_round_trip() {
        for index in 0..40 {
            let call = call(index);
            assert_eq!(
                parse_model(&call.model("openai")),
                Some((call.fault, index))
            );
        }
        assert_eq!(parse_model("openai/soak-nonsense-1"), None);
        assert_eq!(parse_model("openai/soak-none-x"), None);
        assert_eq!(parse_model("openai/gpt-4o"), None);
    }

    #[test]
    fn every_fault_is_scheduled_both_ways() {
        let calls: Vec<SoakCall> = (CYCLE * 3..CYCLE * 4).map(call).collect();
        for fault in SoakFault::ALL {
            for streaming in [false, true] {
                assert!(calls
                    .iter()
                    .any(|c| c.fault == fault && c.streaming == streaming));
            }
        }
    }

    #[test]
    fn once_faults_fail_only_the_first_attempt_and_forget_the_id() {
        let mut failed_once = HashSet::new();
        let first = reply(SoakFault::ResetBeforeHeadersOnce, 5, &mut failed_once);
        assert_eq!(first.fault, Some(Fault::ResetBeforeHeaders));
        let second = reply(SoakFault::ResetBeforeHeadersOnce, 5, &mut failed_once);
        assert_eq!(second.fault, None);
        assert!(failed_once.is_empty());
        let always = reply(SoakFault::CutMidBody, 6, &mut failed_once);
        assert_eq!(always.fault, Some(Fault::ResetMidStream));
        assert!(failed_once.is_empty());
    }
}
