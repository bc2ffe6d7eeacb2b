//! Images, transcription, translation, speech and moderation end to end on both transports
//! against the fake provider over loopback: the same checks run once per transport.

use std::time::Duration;

use onellm_core::call::Backoff;
use onellm_core::{
    Error, ErrorKind, ImageRequest, ModerationPart, ModerationRequest, SpeechRequest,
    TranscriptionRequest, TranslationRequest,
};
use onellm_testkit::multipart::parse_form;
use onellm_testkit::{fake_speech, FakeProvider, Reply};

mod support;
use support::Driver;

/// A client for `server`: openai and groq pointed at it, one retry after a 10 ms backoff,
/// and a memory cache (which media calls must not use).
fn client<D: Driver>(server: &FakeProvider) -> D {
    build!(D, |builder| builder
        .api_key("openai", "sk-media")
        .base_url("openai", server.openai_base_url())
        .api_key("groq", "gsk-media")
        .base_url("groq", server.openai_base_url())
        .retries(1)
        .backoff(Backoff {
            base: Duration::from_millis(10),
            ..Backoff::default()
        })
        .seed(7)
        .cache(onellm_core::cache::CacheSettings::memory()))
    .unwrap()
}

/// A valid 16-bit mono PCM WAV file of `samples` samples of a ramp.
fn wav(samples: u32) -> Vec<u8> {
    let data_len = samples * 2;
    let mut file = Vec::new();
    file.extend_from_slice(b"RIFF");
    file.extend_from_slice(&(36 + data_len).to_le_bytes());
    file.extend_from_slice(b"WAVEfmt ");
    file.extend_from_slice(&16u32.to_le_bytes());
    file.extend_from_slice(&1u16.to_le_bytes()); // PCM
    file.extend_from_slice(&1u16.to_le_bytes()); // mono
    file.extend_from_slice(&16_000u32.to_le_bytes());
    file.extend_from_slice(&32_000u32.to_le_bytes());
    file.extend_from_slice(&2u16.to_le_bytes());
    file.extend_from_slice(&16u16.to_le_bytes());
    file.extend_from_slice(b"data");
    file.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..samples {
        // Every byte value appears, CR and LF and `-` included.
        file.extend_from_slice(&((i * 257) as u16).to_le_bytes());
    }
    file
}

fn header<'a>(request: &'a onellm_testkit::RecordedRequest, name: &str) -> &'a str {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn images<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    let urls = client
        .images(ImageRequest::new("openai/dall-e-3", "a kite").response_format("url"))
        .unwrap();
    let url = urls.data[0].url.as_deref().unwrap();
    assert!(url.starts_with("https://fake.invalid/images/"), "{url}");
    assert_eq!(urls.data[0].revised_prompt.as_deref(), Some("fake: a kite"));
    assert_eq!(urls.report().unwrap().attempts.len(), 1);
    let b64 = client
        .images(ImageRequest::new("openai/gpt-image-1", "a kite").n(2))
        .unwrap();
    assert_eq!(b64.data.len(), 2);
    assert!(b64.data[1]
        .b64_json
        .as_deref()
        .unwrap()
        .starts_with("iVBOR"));
    assert_eq!(b64.usage.as_ref().unwrap().total_tokens, 10 + 2 * 272);
    assert!(b64
        .usage
        .as_ref()
        .unwrap()
        .extra
        .contains_key("input_tokens_details"));
    let sent = server.requests();
    assert_eq!(sent[0].path, "/v1/images/generations");
    let body: serde_json::Value = serde_json::from_str(&sent[1].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"model": "gpt-image-1", "prompt": "a kite", "n": 2})
    );
}

fn transcription<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    let audio = wav(4000);
    let crc = crc32fast::hash(&audio);
    let mut request = TranscriptionRequest::new(
        "groq/whisper-large-v3",
        audio.clone(),
        "hello \"world\".wav",
    )
    .language("en")
    .response_format("verbose_json");
    request.timestamp_granularities = vec!["word".into(), "segment".into()];
    let verbose = client.transcribe(request).unwrap();
    let expected = format!(
        "transcribe by whisper-large-v3: hello %22world%22.wav (audio/wav) {} bytes crc32 {crc:08x}; \
         language=en, response_format=verbose_json, timestamp_granularities[]=word, \
         timestamp_granularities[]=segment",
        audio.len()
    );
    assert_eq!(verbose.text, expected);
    assert_eq!(verbose.language.as_deref(), Some("en"));
    assert_eq!(verbose.segments.as_ref().unwrap().len(), 1);
    assert_eq!(verbose.words.as_ref().unwrap()[0].word, "fake");
    assert_eq!(verbose.extra["task"], "transcribe");
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/audio/transcriptions");
    assert!(header(sent, "content-type").starts_with("multipart/form-data; boundary=onellm-"));

    // Plain text formats come back verbatim.
    let srt = client
        .transcribe(
            TranscriptionRequest::new("openai/whisper-1", audio.clone(), "a.wav")
                .response_format("srt"),
        )
        .unwrap();
    assert!(srt
        .text
        .starts_with("1\n00:00:00,000 --> 00:00:01,000\ntranscribe by whisper-1"));
    assert_eq!(
        srt.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    let json = client
        .transcribe(TranscriptionRequest::new(
            "openai/whisper-1",
            audio,
            "a.wav",
        ))
        .unwrap();
    assert!(json.text.starts_with("transcribe by whisper-1: a.wav"));
    assert_eq!(json.usage.as_ref().unwrap().seconds, Some(1.0));
}

fn translation<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    let audio = wav(100);
    let text = client
        .translate(
            TranslationRequest::new("openai/whisper-1", audio.clone(), "fr.wav")
                .response_format("text"),
        )
        .unwrap();
    assert_eq!(
        text.text,
        format!(
            "translate by whisper-1: fr.wav (audio/wav) {} bytes crc32 {:08x}; response_format=text",
            audio.len(),
            crc32fast::hash(&audio)
        )
    );
    assert_eq!(server.requests()[0].path, "/v1/audio/translations");
}

fn speech<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    let audio = client
        .speech(
            SpeechRequest::new("openai/gpt-4o-mini-tts", "Hello there", "coral")
                .response_format("wav"),
        )
        .unwrap();
    assert_eq!(
        &audio.bytes[..],
        fake_speech("Hello there", "coral").as_slice()
    );
    assert_eq!(audio.content_type.as_deref(), Some("audio/wav"));
    assert_eq!(audio.report().unwrap().attempts.len(), 1);
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/audio/speech");
    assert_eq!(header(sent, "accept"), "*/*");
    // Not cached: the same request is sent again.
    let again = client
        .speech(
            SpeechRequest::new("openai/gpt-4o-mini-tts", "Hello there", "coral")
                .response_format("wav"),
        )
        .unwrap();
    assert_eq!(again.bytes, audio.bytes);
    assert_eq!(server.requests().len(), 2);
}

fn moderation<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    let many = client
        .moderations(ModerationRequest::new(
            "openai/omni-moderation-latest",
            onellm_core::ModerationInput::Many(vec!["fine".into(), "flag-me please".into()]),
        ))
        .unwrap();
    assert_eq!(many.results.len(), 2);
    assert!(!many.results[0].flagged && many.results[1].flagged);
    assert!(many.results[1].categories["violence"]);
    assert!(
        !many.results[1].categories["illicit"],
        "null reads as false"
    );
    assert_eq!(many.results[1].category_scores["violence"], 0.97);
    let parts = client
        .moderations(ModerationRequest::new(
            "openai/omni-moderation-latest",
            vec![
                ModerationPart::text("hi"),
                ModerationPart::image_url("https://x/y.png"),
            ],
        ))
        .unwrap();
    assert_eq!(parts.results.len(), 1);
    assert!(!parts.flagged());
}

fn error_status_is_typed<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    server.push(Reply::status(401));
    let error = client
        .speech(SpeechRequest::new("openai/tts-1", "hi", "alloy"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Authentication);
    server.push(Reply::status(400));
    let error = client
        .transcribe(TranscriptionRequest::new(
            "openai/whisper-1",
            wav(10),
            "a.wav",
        ))
        .unwrap_err();
    // The fake's 400 body speaks of a context length, which the OpenAI adapter reads as such.
    assert!(
        matches!(
            error.kind(),
            ErrorKind::InvalidRequest | ErrorKind::ContextWindowExceeded
        ),
        "{error}"
    );
    assert_eq!(error.status(), Some(400));
}

fn unsupported_without_sending<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    let error = client
        .images(ImageRequest::new("groq/some-model", "a cat"))
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("groq does not offer image generation"),
        "{error}"
    );
    let error = client
        .moderations(ModerationRequest::new("groq/llama-guard", "hi"))
        .unwrap_err();
    assert!(
        error.to_string().contains("groq does not offer moderation"),
        "{error}"
    );
    assert!(
        error
            .attempts()
            .iter()
            .all(|a| a.error.as_ref().map(Error::kind) == Some(ErrorKind::Unsupported)),
        "{error:?}"
    );
    assert!(server.requests().is_empty(), "nothing was sent");
}

fn retry_resends_the_upload_intact<D: Driver>() {
    let server = FakeProvider::start();
    let client = client::<D>(&server);
    server.push(Reply::status(500));
    let audio = wav(3000);
    let done = client
        .transcribe(TranscriptionRequest::new(
            "openai/whisper-1",
            audio.clone(),
            "a.wav",
        ))
        .unwrap();
    assert!(
        done.text.contains(&format!(
            "{} bytes crc32 {:08x}",
            audio.len(),
            crc32fast::hash(&audio)
        )),
        "{}",
        done.text
    );
    let attempts = &done.report().unwrap().attempts;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status, Some(500));
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].body, sent[1].body, "the same form both times");
    assert_eq!(
        header(&sent[0], "content-type"),
        header(&sent[1], "content-type")
    );
}

on_both_transports!(
    images,
    transcription,
    translation,
    speech,
    moderation,
    error_status_is_typed,
    unsupported_without_sending,
    retry_resends_the_upload_intact,
);

/// The encoder's output, read back by the testkit's independent reader (httparse for the
/// part headers): every part comes back as it went in, whatever bytes it holds.
#[test]
fn encoded_forms_read_back_part_for_part() {
    use onellm_core::provider::multipart::{quote, Form};
    // A small deterministic generator (no rand in this crate): xorshift.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = b"ab-\r\n\"%;= \x00\xff";
    for round in 0..300 {
        let mut form = Form::new();
        let count = (next() % 5) as usize;
        let mut expected = Vec::new();
        for i in 0..count {
            let len = (next() % 200) as usize;
            let body: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let name = format!("f{i}\"\r\n{}", round % 3);
            if next() % 2 == 0 {
                form = form.file(
                    name.clone(),
                    format!("n{i}.wav\""),
                    "audio/wav",
                    body.clone(),
                );
                expected.push((quote(&name), Some(quote(&format!("n{i}.wav\""))), body));
            } else {
                let text = String::from_utf8_lossy(&body).into_owned();
                form = form.text(name.clone(), text.clone());
                expected.push((quote(&name), None, text.into_bytes()));
            }
        }
        let encoded = form.encode(1 << 20).unwrap();
        let parts = parse_form(&encoded.content_type, &encoded.body)
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let got: Vec<_> = parts
            .into_iter()
            .map(|p| (p.name, p.filename, p.body))
            .collect();
        assert_eq!(got, expected, "round {round}");
    }
}
