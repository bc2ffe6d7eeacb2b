use super::*;
use crate::types::{ChatRequest, Message};

/// The example conversation of OpenAI's cookbook ("How to count tokens with tiktoken"),
/// whose prompt tokens the cookbook checked against the API: 129 for gpt-3.5-turbo and
/// gpt-4 (cl100k_base), 124 for gpt-4o (o200k_base).
fn cookbook_conversation(model: &str) -> ChatRequest {
    let named = |name: &str, text: &str| {
        let mut message = Message::system(text);
        message.name = Some(name.to_owned());
        message
    };
    let mut request = ChatRequest::new(model).system(
        "You are a helpful, pattern-following assistant that translates corporate jargon into plain English.",
    );
    request.messages.extend([
        named("example_user", "New synergies will help drive top-line growth."),
        named("example_assistant", "Things working well together will increase revenue."),
        named("example_user", "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."),
        named("example_assistant", "Let's talk later when we're less busy about how to do better."),
    ]);
    request.user(
        "This late pivot means we don't have time to boil the ocean for the client deliverable.",
    )
}

#[cfg(feature = "tokenizer")]
#[test]
fn chat_counts_match_the_figures_openai_reported() {
    for (model, expected) in [
        ("openai/gpt-3.5-turbo", 129),
        ("openai/gpt-4", 129),
        ("openai/gpt-4o", 124),
        ("openai/gpt-4o-mini-2024-07-18", 124),
        ("azure/gpt-4o", 124),
    ] {
        let count = count_chat(model, &cookbook_conversation(model));
        assert_eq!(
            count,
            TokenCount {
                tokens: expected,
                at_least: expected,
                exact: true
            },
            "{model}"
        );
    }
    assert_eq!(count_text("openai/gpt-4", "hello world").tokens, 2);
}

#[test]
fn other_models_get_an_estimate_bounded_by_their_words() {
    let request = cookbook_conversation("anthropic/claude-sonnet-4-5");
    let count = count_chat("anthropic/claude-sonnet-4-5", &request);
    assert!(!count.exact);
    // 13 + 7 + 7 + 16 + 12 + 16 words of text.
    assert_eq!(count.at_least, 71);
    // The exact figure for OpenAI's tokenizers is 124–129; the estimate is near it and
    // the lower bound below it.
    assert!((100..=160).contains(&count.tokens), "{count:?}");
    // Unknown OpenAI-looking names elsewhere are not counted exactly either.
    assert!(!count_text("groq/gpt-4o", "hi").exact);
    assert!(!count_text("openai/not-a-model", "hi").exact);
}

#[cfg(feature = "tokenizer")]
#[test]
fn tools_and_images_make_an_exact_count_an_estimate_above_the_text() {
    let plain = ChatRequest::new("openai/gpt-4o").user("What is the weather in Paris?");
    let base = count_chat("openai/gpt-4o", &plain);
    assert!(base.exact);
    let tools = plain.clone().tool(crate::types::Tool::function(
        "get_weather",
        "The weather in a city",
        serde_json::json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    ));
    let with_tools = count_chat("openai/gpt-4o", &tools);
    assert!(!with_tools.exact);
    assert!(
        with_tools.at_least > base.tokens,
        "names and descriptions surely count"
    );
    assert!(
        with_tools.tokens > with_tools.at_least,
        "parameters are estimated"
    );

    let image =
        ChatRequest::new("openai/gpt-4o").user_with_image("What is this?", "https://x/y.png");
    let with_image = count_chat("openai/gpt-4o", &image);
    assert!(!with_image.exact);
    assert!(with_image.tokens >= with_image.at_least + 765);
}

proptest::proptest! {
    /// The lower bound never exceeds the count, and an exact count is its own bound.
    #[test]
    fn at_least_never_exceeds_tokens(text in "\\PC{0,200}", model in proptest::sample::select(vec![
        "openai/gpt-4o", "openai/gpt-3.5-turbo", "anthropic/claude-sonnet-4-5", "google/gemini-2.5-flash",
    ])) {
        let request = ChatRequest::new(model).user(text.clone());
        for count in [count_text(model, &text), count_chat(model, &request)] {
            proptest::prop_assert!(count.at_least <= count.tokens);
            if count.exact {
                proptest::prop_assert_eq!(count.at_least, count.tokens);
            }
        }
    }
}
