//! OpenAI's media endpoints: bodies and replies of `/images/generations`,
//! `/audio/transcriptions`, `/audio/translations`, `/audio/speech` and `/moderations`.
//!
//! - Images, speech and moderation send JSON (the request minus OneLLM's fields).
//! - Transcription and translation send `multipart/form-data`: `file` (the caller's bytes,
//!   its file name and media type), `model`, then the other fields; an upload over
//!   [`MAX_UPLOAD_BYTES`] (plus room for the fields) is `InvalidRequest` before sending.
//! - A transcription reply is read as JSON when its `content-type` says JSON, or (no
//!   content type) when the request asked for `json`/`verbose_json`/nothing; otherwise its
//!   body is the text, verbatim (`text`, `srt`, `vtt`).
//! - Speech replies are the audio bytes and their `content-type`, whatever the bytes.

use bytes::Bytes;
use http::HeaderMap;

use crate::error::Error;
use crate::provider::multipart::Form;
use crate::types::{
    AudioFile, ImagesResponse, MediaOutput, MediaRequest, ModerationResponse, SpeechAudio,
    Transcription, MAX_UPLOAD_BYTES,
};

/// Room for the form's text fields and part headers above the file itself.
const FORM_OVERHEAD: usize = 64 * 1024;

/// A request body and its content type.
pub(super) struct Body {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
}

/// The body of `request` addressed to `model`.
pub(super) fn body(model: &str, request: &MediaRequest) -> Result<Body, Error> {
    let json = |bytes: Result<Vec<u8>, Error>| {
        bytes.map(|bytes| Body {
            bytes,
            content_type: None,
        })
    };
    match request {
        MediaRequest::Images(request) => {
            json(crate::provider::to_json(&request.for_provider(model)))
        }
        MediaRequest::Speech(request) => {
            json(crate::provider::to_json(&request.for_provider(model)))
        }
        MediaRequest::Moderation(request) => {
            json(crate::provider::to_json(&request.for_provider(model)))
        }
        MediaRequest::Transcription(request) => form(model, &request.file, request.fields()),
        MediaRequest::Translation(request) => form(model, &request.file, request.fields()),
    }
}

/// The multipart upload of `file` with `model` and `fields`.
fn form(model: &str, file: &AudioFile, fields: Vec<(String, String)>) -> Result<Body, Error> {
    if file.bytes.len() > MAX_UPLOAD_BYTES {
        return Err(Error::new(
            crate::ErrorKind::InvalidRequest,
            format!(
                "the audio file is {} bytes, over the upload limit of {MAX_UPLOAD_BYTES} \
                 (25 MB); nothing was sent",
                file.bytes.len()
            ),
        ));
    }
    let form = fields.into_iter().fold(
        Form::new()
            .file(
                "file",
                file.filename.as_str(),
                file.media_type(),
                file.bytes.clone(),
            )
            .text("model", model),
        |form, (name, value)| form.text(name, value),
    );
    let encoded = form.encode(MAX_UPLOAD_BYTES + FORM_OVERHEAD)?;
    Ok(Body {
        bytes: encoded.body,
        content_type: Some(encoded.content_type),
    })
}

/// Sets the multipart `content-type` of an upload, and for speech an `accept` of any type
/// (the reply is audio, not the JSON the template asks for).
pub(super) fn set_headers(
    built: &mut http::Request<Bytes>,
    content_type: Option<String>,
    request: &MediaRequest,
) {
    let headers = built.headers_mut();
    if let Some(value) = content_type.and_then(|c| http::HeaderValue::from_str(&c).ok()) {
        headers.insert(http::header::CONTENT_TYPE, value);
    }
    if matches!(request, MediaRequest::Speech(_)) {
        headers.insert(http::header::ACCEPT, http::HeaderValue::from_static("*/*"));
    }
}

/// Parses a 2xx reply to `request`.
pub(super) fn parse(
    request: &MediaRequest,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<MediaOutput, Error> {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    match request {
        MediaRequest::Images(_) => {
            let response: ImagesResponse = crate::provider::from_json(body)
                .map_err(|e| Error::body_json("images", e, body))?;
            if response.data.is_empty() {
                if let Some(error) = super::response::envelope_error(&response.extra, body) {
                    return Err(error);
                }
            }
            Ok(MediaOutput::Images(response))
        }
        MediaRequest::Moderation(_) => {
            let response: ModerationResponse = crate::provider::from_json(body)
                .map_err(|e| Error::body_json("moderation", e, body))?;
            if response.results.is_empty() {
                if let Some(error) = super::response::envelope_error(&response.extra, body) {
                    return Err(error);
                }
                return Err(Error::decode("moderation", "no results", body));
            }
            Ok(MediaOutput::Moderation(response))
        }
        MediaRequest::Speech(_) => Ok(MediaOutput::Speech(SpeechAudio {
            bytes: Bytes::copy_from_slice(body),
            content_type,
            report: Default::default(),
        })),
        MediaRequest::Transcription(request) => {
            transcription(request.response_format.as_deref(), content_type, body)
        }
        MediaRequest::Translation(request) => {
            transcription(request.response_format.as_deref(), content_type, body)
        }
    }
}

fn transcription(
    format: Option<&str>,
    content_type: Option<String>,
    body: &[u8],
) -> Result<MediaOutput, Error> {
    let is_json = match content_type.as_deref() {
        Some(given) => given
            .split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json")),
        None => matches!(format, None | Some("json" | "verbose_json")),
    };
    let transcription = if is_json {
        let mut parsed: Transcription = crate::provider::from_json(body)
            .map_err(|e| Error::body_json("transcription", e, body))?;
        if let Some(error) = super::response::envelope_error(&parsed.extra, body) {
            return Err(error);
        }
        parsed.content_type = content_type;
        parsed
    } else {
        let text = String::from_utf8(body.to_vec())
            .map_err(|e| Error::decode("transcription text", e, body))?;
        Transcription::from_text(text, content_type)
    };
    Ok(MediaOutput::Transcription(transcription))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::openai::OpenAiCompatible;
    use crate::provider::profiles;
    use crate::provider::Provider;
    use crate::settings::{ApiKey, ProviderSettings};
    use crate::types::{ImageRequest, SpeechRequest, TranscriptionRequest};
    use crate::ErrorKind;

    fn provider(name: &str) -> OpenAiCompatible {
        let profile = profiles::builtin()
            .into_iter()
            .find(|p| p.name == name)
            .unwrap();
        let settings = ProviderSettings {
            api_key: Some(ApiKey::new("sk-canary-0123456789")),
            ..Default::default()
        };
        OpenAiCompatible::new(profile, &settings).unwrap()
    }

    fn reply(content_type: Option<&str>, body: &str) -> http::Response<Bytes> {
        let mut builder = http::Response::builder().status(200);
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        builder
            .body(Bytes::copy_from_slice(body.as_bytes()))
            .unwrap()
    }

    #[test]
    fn a_transcription_is_a_multipart_upload_to_the_audio_path() {
        let request = MediaRequest::Transcription(
            TranscriptionRequest::new("groq/whisper-large-v3", vec![1, 2, 3], "a.wav")
                .language("en"),
        );
        let built = provider("groq")
            .build_media("whisper-large-v3", &request)
            .unwrap();
        assert_eq!(
            built.uri(),
            "https://api.groq.com/openai/v1/audio/transcriptions"
        );
        let content_type = built.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with("multipart/form-data; boundary=onellm-"));
        let body = String::from_utf8_lossy(built.body());
        assert!(
            body.contains("name=\"model\"\r\n\r\nwhisper-large-v3\r\n"),
            "{body}"
        );
        assert!(body.contains("name=\"language\"\r\n\r\nen\r\n"), "{body}");
        assert!(built.headers()["authorization"].is_sensitive());
    }

    #[test]
    fn providers_without_the_endpoint_say_so_before_sending() {
        let images = MediaRequest::Images(ImageRequest::new("groq/x", "a cat"));
        let error = provider("groq").build_media("x", &images).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unsupported);
        assert!(error
            .to_string()
            .contains("groq does not offer image generation"));
        let speech = MediaRequest::Speech(SpeechRequest::new("mistral/x", "hi", "alloy"));
        let error = provider("mistral").build_media("x", &speech).unwrap_err();
        assert!(error
            .to_string()
            .contains("mistral does not offer speech synthesis"));
    }

    #[test]
    fn an_oversized_upload_is_an_invalid_request() {
        let big = vec![0u8; MAX_UPLOAD_BYTES + 1];
        let request = MediaRequest::Transcription(TranscriptionRequest::new("m", big, "a.wav"));
        let error = provider("openai")
            .build_media("whisper-1", &request)
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
    }

    #[test]
    fn transcription_replies_are_json_or_text_as_they_say() {
        let request = MediaRequest::Transcription(
            TranscriptionRequest::new("m", vec![0], "a.wav").response_format("srt"),
        );
        let srt = "1\n00:00:00,000 --> 00:00:01,000\nHello\n";
        let MediaOutput::Transcription(text) = provider("openai")
            .parse_media(&request, &reply(Some("text/plain; charset=utf-8"), srt))
            .unwrap()
        else {
            panic!("not a transcription")
        };
        assert_eq!(text.text, srt);
        // No content type: the request's format decides; json is the default.
        let json = MediaRequest::Transcription(TranscriptionRequest::new("m", vec![0], "a.wav"));
        let MediaOutput::Transcription(parsed) = provider("openai")
            .parse_media(&json, &reply(None, r#"{"text": "Hi", "logprobs": []}"#))
            .unwrap()
        else {
            panic!("not a transcription")
        };
        assert_eq!(parsed.text, "Hi");
        assert!(parsed.extra.contains_key("logprobs"));
        let broken = provider("openai")
            .parse_media(&json, &reply(Some("application/json"), r#"{"text": "#))
            .unwrap_err();
        assert_eq!(broken.kind(), ErrorKind::Truncated);
    }

    #[test]
    fn speech_keeps_the_bytes_and_their_type_and_accepts_any_type() {
        let request = MediaRequest::Speech(SpeechRequest::new("m", "hi", "alloy"));
        let built = provider("openai").build_media("tts-1", &request).unwrap();
        assert_eq!(built.headers()["accept"], "*/*");
        assert_eq!(built.headers()["content-type"], "application/json");
        let MediaOutput::Speech(audio) = provider("openai")
            .parse_media(&request, &reply(Some("audio/mpeg"), "ID3\u{1}"))
            .unwrap()
        else {
            panic!("not speech")
        };
        assert_eq!(&audio.bytes[..], b"ID3\x01");
        assert_eq!(audio.content_type.as_deref(), Some("audio/mpeg"));
    }

    #[test]
    fn azure_sends_media_to_the_deployment() {
        let settings = ProviderSettings {
            api_key: Some(ApiKey::new("azure-key-0123456789")),
            base_url: Some("https://res.openai.azure.com".into()),
            ..Default::default()
        };
        let azure = OpenAiCompatible::azure(&settings).unwrap();
        let request = MediaRequest::Images(ImageRequest::new("azure/dalle", "a cat"));
        let built = azure.build_media("dalle", &request).unwrap();
        assert!(
            built
                .uri()
                .to_string()
                .starts_with("https://res.openai.azure.com/openai/deployments/dalle/images/generations?api-version="),
            "{}",
            built.uri()
        );
        let upload =
            MediaRequest::Translation(crate::TranslationRequest::new("m", vec![1], "a.mp3"));
        let built = azure.build_media("whisper", &upload).unwrap();
        assert!(built
            .uri()
            .path()
            .ends_with("/deployments/whisper/audio/translations"));
        assert!(built.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("multipart/form-data"));
    }
}
