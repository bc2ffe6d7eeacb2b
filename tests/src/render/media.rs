//! The media routes: `/images/generations`, `/audio/transcriptions`, `/audio/translations`,
//! `/audio/speech` and `/moderations`, answered in OpenAI's format with values derived from
//! the request, so a test can tell that what it sent arrived intact.
//!
//! - An upload is parsed for real ([`parse_form`]); a malformed one gets a 400. The reply
//!   text names the model, the file name, its length and CRC-32, and the other fields.
//! - Speech is [`fake_speech`] of the input and voice, typed by `response_format`.

use serde_json::{json, Value};

use crate::multipart::{parse_form, FormPart};

/// Which media endpoint a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaRoute {
    Images,
    Transcriptions,
    Translations,
    Speech,
    Moderations,
}

impl MediaRoute {
    pub(crate) fn of(path: &str) -> Option<MediaRoute> {
        let routes = [
            ("/images/generations", MediaRoute::Images),
            ("/audio/transcriptions", MediaRoute::Transcriptions),
            ("/audio/translations", MediaRoute::Translations),
            ("/audio/speech", MediaRoute::Speech),
            ("/moderations", MediaRoute::Moderations),
        ];
        routes
            .iter()
            .find(|(suffix, _)| path.ends_with(suffix))
            .map(|(_, route)| *route)
    }
}

/// The bytes the fake "speaks" for `input` in `voice`: a marker, the voice, and the input
/// reversed, so a test can compute what it should get back.
pub fn fake_speech(input: &str, voice: &str) -> Vec<u8> {
    let mut audio = b"FAKEAUDIO:".to_vec();
    audio.extend_from_slice(voice.as_bytes());
    audio.push(0);
    audio.extend(input.bytes().rev());
    audio
}

/// A 1×1 transparent PNG, base64.
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

/// A whole reply and its content type (audio and text replies are not JSON).
pub(crate) struct Typed {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Answers a media request: `body` as received, `content_type` its header, `json` the body
/// read as JSON (`Null` for an upload).
pub(crate) fn render(
    route: MediaRoute,
    body: &[u8],
    content_type: Option<&str>,
    json: &Value,
    serial: u64,
) -> Typed {
    match route {
        MediaRoute::Images => images(json, serial),
        MediaRoute::Speech => speech(json),
        MediaRoute::Moderations => moderations(json, serial),
        MediaRoute::Transcriptions | MediaRoute::Translations => {
            match parse_form(content_type.unwrap_or(""), body) {
                Ok(parts) => transcription(route, &parts),
                Err(error) => whole(
                    400,
                    "application/json",
                    json!({"error": {"message": format!("malformed upload: {error}"),
                                     "type": "invalid_request_error"}})
                    .to_string()
                    .into_bytes(),
                ),
            }
        }
    }
}

fn whole(status: u16, content_type: &'static str, body: Vec<u8>) -> Typed {
    Typed {
        status,
        content_type,
        body,
    }
}

fn images(request: &Value, serial: u64) -> Typed {
    let model = request.get("model").and_then(Value::as_str).unwrap_or("");
    let prompt = request.get("prompt").and_then(Value::as_str).unwrap_or("");
    let n = request
        .get("n")
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .min(10);
    let b64 = request.get("response_format").and_then(Value::as_str) == Some("b64_json")
        || model.starts_with("gpt-image");
    let data: Vec<Value> = (0..n)
        .map(|i| {
            let mut image = if b64 {
                json!({"b64_json": PNG_1X1})
            } else {
                json!({"url": format!("https://fake.invalid/images/{serial}-{i}.png")})
            };
            image["revised_prompt"] = json!(format!("fake: {prompt}"));
            image
        })
        .collect();
    let mut reply = json!({"created": 1_700_000_000 + serial, "data": data});
    if model.starts_with("gpt-image") {
        reply["usage"] = json!({"input_tokens": 10, "output_tokens": 272 * n,
                                 "total_tokens": 10 + 272 * n,
                                 "input_tokens_details": {"text_tokens": 10, "image_tokens": 0}});
    }
    whole(200, "application/json", reply.to_string().into_bytes())
}

fn speech(request: &Value) -> Typed {
    let input = request.get("input").and_then(Value::as_str).unwrap_or("");
    let voice = request.get("voice").and_then(Value::as_str).unwrap_or("");
    let content_type = match request.get("response_format").and_then(Value::as_str) {
        Some("wav") => "audio/wav",
        Some("opus") => "audio/ogg",
        Some("aac") => "audio/aac",
        Some("flac") => "audio/flac",
        Some("pcm") => "audio/pcm",
        _ => "audio/mpeg",
    };
    whole(200, content_type, fake_speech(input, voice))
}

fn moderations(request: &Value, serial: u64) -> Typed {
    let texts: Vec<String> = match request.get("input") {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        // Multimodal parts: one result for all of them.
        Some(Value::Array(parts)) => vec![parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" ")],
        _ => vec![String::new()],
    };
    let results: Vec<Value> = texts
        .iter()
        .map(|text| {
            let flagged = text.contains("flag-me");
            let score = if flagged { 0.97 } else { 0.01 };
            json!({
                "flagged": flagged,
                "categories": {"violence": flagged, "harassment": false, "illicit": null},
                "category_scores": {"violence": score, "harassment": 0.001, "illicit": null},
                "category_applied_input_types": {"violence": ["text"], "harassment": ["text"]}
            })
        })
        .collect();
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("omni-moderation-latest");
    let reply = json!({"id": format!("modr-fake-{serial}"), "model": model, "results": results});
    whole(200, "application/json", reply.to_string().into_bytes())
}

fn transcription(route: MediaRoute, parts: &[FormPart]) -> Typed {
    let field = |name: &str| {
        parts
            .iter()
            .find(|part| part.name == name && part.filename.is_none())
            .map(|part| String::from_utf8_lossy(&part.body).into_owned())
    };
    let Some(file) = parts.iter().find(|part| part.name == "file") else {
        return whole(
            400,
            "application/json",
            br#"{"error": {"message": "no file", "type": "invalid_request_error"}}"#.to_vec(),
        );
    };
    let others: Vec<String> = parts
        .iter()
        .filter(|part| part.name != "file" && part.name != "model")
        .map(|part| format!("{}={}", part.name, String::from_utf8_lossy(&part.body)))
        .collect();
    let task = match route {
        MediaRoute::Translations => "translate",
        _ => "transcribe",
    };
    let text = format!(
        "{task} by {}: {} ({}) {} bytes crc32 {:08x}; {}",
        field("model").unwrap_or_default(),
        file.filename.as_deref().unwrap_or(""),
        file.content_type.as_deref().unwrap_or(""),
        file.body.len(),
        crc32fast::hash(&file.body),
        others.join(", ")
    );
    match field("response_format").as_deref() {
        Some("text") => whole(200, "text/plain; charset=utf-8", text.into_bytes()),
        Some("srt") => whole(
            200,
            "text/plain; charset=utf-8",
            format!("1\n00:00:00,000 --> 00:00:01,000\n{text}\n").into_bytes(),
        ),
        Some("vtt") => whole(
            200,
            "text/vtt; charset=utf-8",
            format!("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n{text}\n").into_bytes(),
        ),
        Some("verbose_json") => whole(
            200,
            "application/json",
            json!({
                "task": task, "language": field("language").unwrap_or_else(|| "english".into()),
                "duration": 1.0, "text": text,
                "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 1.0, "text": text,
                              "tokens": [50364], "temperature": 0.0, "avg_logprob": -0.2,
                              "compression_ratio": 1.0, "no_speech_prob": 0.01}],
                "words": [{"word": "fake", "start": 0.0, "end": 0.5}],
                "usage": {"type": "duration", "seconds": 1}
            })
            .to_string()
            .into_bytes(),
        ),
        _ => whole(
            200,
            "application/json",
            json!({"text": text, "usage": {"type": "duration", "seconds": 1}})
                .to_string()
                .into_bytes(),
        ),
    }
}
