//! Property: cutting a completion into a stream of chunks, any way the wire allows, and
//! folding the chunks with `ChunkAccumulator` gives the completion back.
//!
//! A generated `ChatCompletion` (1–3 choices with distinct indexes; text content, multi-byte
//! and empty included, or `null`; 0–3 tool calls; optional reasoning and refusal; any finish
//! reason, unknown ones included; optional usage with details) is cut into chunks the way
//! OpenAI-compatible servers stream:
//! - text, reasoning, refusal and tool arguments split at arbitrary char boundaries;
//! - a tool call's first fragment carries `index`, `id`, `type` and `name`, later ones only
//!   `index` and an arguments fragment; fragments of different calls may interleave, and the
//!   calls appear in the order of their first fragments;
//! - the role rides on the first delta of each choice; the finish reason on the last delta or
//!   on an empty delta after it; the choices' deltas interleave arbitrarily, several choices
//!   may share a chunk;
//! - usage comes on a final `choices: []` chunk;
//! - server-side tool calls (0–2 per message) come whole, in order, any run of them in one
//!   delta, interleaved with the other fragments.
//!
//! Only what a stream cannot carry is kept out of the generated completions rather than
//! normalized after the fact: `object` is `chat.completion` (chunks say
//! `chat.completion.chunk`), the role is `assistant`, content is text (never parts), a message
//! with no tool calls has `tool_calls: None` (never `Some(vec![])`), a message with tool
//! calls has no empty content (a stream cannot tell it from the `""` of an opening role
//! chunk, which folds to `null` beside tool calls), tool calls are of type `function`, and no
//! `extra`, `logprobs`, `name` or `tool_call_id` is set.
//!
//! The cutting decisions come from a tape of numbers drawn by proptest, so a failing case
//! shrinks towards the plainest cutting (every tape value 0).

use onellm_core::{
    ChatCompletion, ChatCompletionChunk, Choice, ChunkAccumulator, ChunkChoice,
    CompletionTokensDetails, Content, Delta, Extra, FinishReason, FunctionCall, FunctionCallDelta,
    Message, PromptTokensDetails, Role, ServerToolCall, ToolCall, ToolCallDelta, Usage,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Generating completions

/// Any text: multi-byte, control characters, quotes and the empty string included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "(?s:.){0,12}",
        "[a-zé中🦀\"\\\\\n ]{1,24}",
    ]
}

fn finish_reason() -> impl Strategy<Value = FinishReason> {
    prop_oneof![
        Just(FinishReason::Stop),
        Just(FinishReason::Length),
        Just(FinishReason::ToolCalls),
        Just(FinishReason::ContentFilter),
        Just(FinishReason::FunctionCall),
        // `From` keeps known spellings known, so `Other` only ever holds unknown ones, as
        // parsing does.
        "[a-z_]{1,12}".prop_map(|reason| FinishReason::from(reason.as_str())),
    ]
}

fn tool_call() -> impl Strategy<Value = ToolCall> {
    (text(), text(), text()).prop_map(|(id, name, arguments)| ToolCall {
        id,
        kind: "function".to_owned(),
        function: FunctionCall { name, arguments },
        extra: Extra::new(),
    })
}

fn server_tool_call() -> impl Strategy<Value = ServerToolCall> {
    let json = || proptest::option::of(text().prop_map(|text| serde_json::json!({"code": text})));
    (proptest::option::of(text()), text(), json(), json()).prop_map(|(id, name, input, output)| {
        ServerToolCall {
            output,
            ..ServerToolCall::new(id, name, input)
        }
    })
}

fn message() -> impl Strategy<Value = Message> {
    (
        proptest::option::of(text()),
        proptest::collection::vec(tool_call(), 0..=3),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::collection::vec(server_tool_call(), 0..=2),
    )
        .prop_map(|(content, calls, reasoning, refusal, server)| Message {
            role: Role::Assistant,
            content: content
                .filter(|text| calls.is_empty() || !text.is_empty())
                .map(Content::Text),
            name: None,
            tool_calls: (!calls.is_empty()).then_some(calls),
            tool_call_id: None,
            reasoning_content: reasoning,
            refusal,
            server_tool_calls: (!server.is_empty()).then_some(server),
            extra: Extra::new(),
        })
}

fn usage() -> impl Strategy<Value = Usage> {
    let count = || any::<u32>().prop_map(u64::from);
    let prompt_details = (proptest::option::of(count()), proptest::option::of(count())).prop_map(
        |(cached, written)| PromptTokensDetails {
            cached_tokens: cached,
            cache_creation_tokens: written,
            ..Default::default()
        },
    );
    let completion_details =
        proptest::option::of(count()).prop_map(|reasoning| CompletionTokensDetails {
            reasoning_tokens: reasoning,
            ..Default::default()
        });
    (
        count(),
        count(),
        count(),
        proptest::option::of(prompt_details),
        proptest::option::of(completion_details),
    )
        .prop_map(
            |(prompt, completion, total, prompt_details, completion_details)| Usage {
                prompt_tokens: prompt,
                completion_tokens: completion,
                total_tokens: total,
                prompt_tokens_details: prompt_details,
                completion_tokens_details: completion_details,
                extra: Extra::new(),
            },
        )
}

fn completion() -> impl Strategy<Value = ChatCompletion> {
    let choices = (
        proptest::sample::subsequence((0u32..6).collect::<Vec<_>>(), 1..=3),
        proptest::collection::vec((message(), finish_reason()), 3),
    )
        .prop_map(|(indexes, bodies)| {
            // `subsequence` keeps order, so the indexes are distinct and ascending, the order
            // the accumulator reports choices in.
            indexes
                .into_iter()
                .zip(bodies)
                .map(|(index, (message, finish_reason))| Choice {
                    index,
                    message,
                    finish_reason: Some(finish_reason),
                    logprobs: None,
                    extra: Extra::new(),
                })
                .collect::<Vec<_>>()
        });
    (
        text(),
        text(),
        any::<u64>(),
        choices,
        proptest::option::of(usage()),
        proptest::option::of(text()),
        proptest::option::of(text()),
    )
        .prop_map(
            |(id, model, created, choices, usage, fingerprint, tier)| ChatCompletion {
                id,
                object: "chat.completion".to_owned(),
                created,
                model,
                choices,
                usage,
                system_fingerprint: fingerprint,
                service_tier: tier,
                extra: Extra::new(),
                report: Default::default(),
            },
        )
}

// ---------------------------------------------------------------------------------------------
// Cutting a completion into chunks

/// The cutting decisions: numbers drawn by proptest, read in order; 0 once used up.
struct Tape {
    values: Vec<u32>,
    at: usize,
}

impl Tape {
    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        let value = self.values.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        value as usize % n.max(1)
    }

    fn coin(&mut self) -> bool {
        self.below(2) == 1
    }

    /// Cuts `text` into 1–4 pieces at char boundaries (empty pieces allowed).
    fn cut(&mut self, text: &str) -> Vec<String> {
        let boundaries: Vec<usize> = text
            .char_indices()
            .map(|(at, _)| at)
            .chain(std::iter::once(text.len()))
            .collect();
        let mut cuts: Vec<usize> = (0..self.below(4))
            .map(|_| boundaries[self.below(boundaries.len())])
            .collect();
        cuts.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for cut in cuts {
            pieces.push(text[start..cut].to_owned());
            start = cut;
        }
        pieces.push(text[start..].to_owned());
        pieces
    }

    /// An interleaving of sequences of the given lengths: which sequence each step takes its
    /// next item from. Sequences numbered `ordered_from` and up start in their numeric order
    /// (tool calls appear in the order of their first fragments).
    fn interleave(&mut self, lengths: &[usize], ordered_from: usize) -> Vec<usize> {
        let mut left = lengths.to_vec();
        let mut order = Vec::new();
        while left.iter().any(|&n| n > 0) {
            let started = |i: usize| left[i] < lengths[i];
            let next_to_start = (ordered_from..left.len()).find(|&i| !started(i));
            let open: Vec<usize> = (0..left.len())
                .filter(|&i| left[i] > 0)
                .filter(|&i| i < ordered_from || started(i) || Some(i) == next_to_start)
                .collect();
            let pick = open[self.below(open.len())];
            left[pick] -= 1;
            order.push(pick);
        }
        order
    }
}

/// One fragment of a choice's message.
#[derive(Debug, Clone)]
enum Fragment {
    Content(String),
    Reasoning(String),
    Refusal(String),
    Tool(ToolCallDelta),
    Server(ServerToolCall),
}

/// A choice's message as fragments, in a wire order.
fn fragments(message: &Message, tape: &mut Tape) -> Vec<Fragment> {
    let text_stream = |text: &Option<String>, make: fn(String) -> Fragment, tape: &mut Tape| {
        text.as_ref()
            .map(|text| tape.cut(text).into_iter().map(make).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let content = message.content.as_ref().map(Content::text);
    let mut streams = vec![
        text_stream(&content, Fragment::Content, tape),
        text_stream(&message.reasoning_content, Fragment::Reasoning, tape),
        text_stream(&message.refusal, Fragment::Refusal, tape),
        message
            .server_tool_calls
            .iter()
            .flatten()
            .cloned()
            .map(Fragment::Server)
            .collect(),
    ];
    let calls = message.tool_calls.as_deref().unwrap_or_default();
    let first_call_stream = streams.len();
    for (index, call) in calls.iter().enumerate() {
        let index = Some(index as u32);
        let mut pieces = tape.cut(&call.function.arguments).into_iter();
        let first = ToolCallDelta {
            index,
            id: Some(call.id.clone()),
            kind: Some(call.kind.clone()),
            function: Some(FunctionCallDelta {
                name: Some(call.function.name.clone()),
                arguments: pieces.next(),
            }),
            extra: Extra::new(),
        };
        let mut stream = vec![Fragment::Tool(first)];
        stream.extend(pieces.map(|piece| {
            Fragment::Tool(ToolCallDelta {
                index,
                function: Some(FunctionCallDelta {
                    name: None,
                    arguments: Some(piece),
                }),
                ..Default::default()
            })
        }));
        streams.push(stream);
    }

    let lengths: Vec<usize> = streams.iter().map(Vec::len).collect();
    let order = tape.interleave(&lengths, first_call_stream);
    let mut streams: Vec<std::vec::IntoIter<Fragment>> =
        streams.into_iter().map(Vec::into_iter).collect();
    order
        .into_iter()
        .filter_map(|stream| streams[stream].next())
        .collect()
}

/// A choice's fragments grouped into deltas: a delta holds at most one piece of each text
/// field and any run of tool fragments. The role rides on the first delta; the finish reason
/// on the last one or on an empty delta after it.
fn deltas(choice: &Choice, tape: &mut Tape) -> Vec<(Delta, Option<FinishReason>)> {
    let mut deltas: Vec<Delta> = vec![Delta::default()];
    for fragment in fragments(&choice.message, tape) {
        let current = deltas.last_mut().expect("never empty");
        let fits = match &fragment {
            Fragment::Content(_) => current.content.is_none(),
            Fragment::Reasoning(_) => current.reasoning_content.is_none(),
            Fragment::Refusal(_) => current.refusal.is_none(),
            Fragment::Tool(_) | Fragment::Server(_) => true,
        };
        let fresh = *current == Delta::default();
        if !fresh && (!fits || tape.coin()) {
            deltas.push(Delta::default());
        }
        let current = deltas.last_mut().expect("never empty");
        match fragment {
            Fragment::Content(text) => current.content = Some(text),
            Fragment::Reasoning(text) => current.reasoning_content = Some(text),
            Fragment::Refusal(text) => current.refusal = Some(text),
            Fragment::Tool(call) => current.tool_calls.get_or_insert_with(Vec::new).push(call),
            Fragment::Server(call) => current
                .server_tool_calls
                .get_or_insert_with(Vec::new)
                .push(call),
        }
    }
    if let Some(first) = deltas.first_mut() {
        first.role = Some(Role::Assistant);
    }
    let mut deltas: Vec<(Delta, Option<FinishReason>)> =
        deltas.into_iter().map(|delta| (delta, None)).collect();
    if tape.coin() {
        deltas.push((Delta::default(), None));
    }
    if let Some(last) = deltas.last_mut() {
        last.1.clone_from(&choice.finish_reason);
    }
    deltas
}

/// The whole stream for a completion.
fn chunks(completion: &ChatCompletion, tape: &mut Tape) -> Vec<ChatCompletionChunk> {
    let empty = || ChatCompletionChunk {
        system_fingerprint: completion.system_fingerprint.clone(),
        service_tier: completion.service_tier.clone(),
        ..ChatCompletionChunk::new(&completion.id, &completion.model, completion.created)
    };
    let mut per_choice: Vec<std::vec::IntoIter<(Delta, Option<FinishReason>)>> = completion
        .choices
        .iter()
        .map(|choice| deltas(choice, tape).into_iter())
        .collect();
    let lengths: Vec<usize> = per_choice.iter().map(|d| d.len()).collect();
    let mut chunks = vec![empty()];
    for choice in tape.interleave(&lengths, lengths.len()) {
        let Some((delta, finish_reason)) = per_choice[choice].next() else {
            continue;
        };
        let index = completion.choices[choice].index;
        let current = chunks.last_mut().expect("never empty");
        let shares = current.choices.iter().any(|c| c.index == index);
        if !current.choices.is_empty() && (shares || tape.coin()) {
            chunks.push(empty());
        }
        chunks
            .last_mut()
            .expect("never empty")
            .choices
            .push(ChunkChoice {
                index,
                delta,
                finish_reason,
                logprobs: None,
                extra: Extra::new(),
            });
    }
    if let Some(usage) = &completion.usage {
        chunks.push(ChatCompletionChunk {
            usage: Some(usage.clone()),
            ..empty()
        });
    }
    chunks
}

fn fold<'a>(chunks: impl IntoIterator<Item = &'a ChatCompletionChunk>) -> ChatCompletion {
    let mut accumulator = ChunkAccumulator::new();
    for chunk in chunks {
        accumulator.push(chunk);
    }
    accumulator.into_completion()
}

fn tape() -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::vec(any::<u32>(), 0..256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn chunks_fold_back_into_the_completion(original in completion(), values in tape()) {
        let stream = chunks(&original, &mut Tape { values, at: 0 });
        prop_assert_eq!(fold(&stream), original);
    }

    #[test]
    fn chunks_survive_the_wire(original in completion(), values in tape()) {
        let stream = chunks(&original, &mut Tape { values, at: 0 });
        let mut parsed = Vec::new();
        for chunk in &stream {
            let json = serde_json::to_string(chunk).expect("chunks serialize");
            let back: ChatCompletionChunk = serde_json::from_str(&json).expect("and parse back");
            prop_assert_eq!(&back, chunk, "{}", json);
            parsed.push(back);
        }
        prop_assert_eq!(fold(&parsed), original);
    }
}
