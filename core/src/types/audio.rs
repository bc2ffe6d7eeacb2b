//! Audio: transcription and translation (`POST /audio/transcriptions`, `/audio/translations`,
//! uploaded as `multipart/form-data`) and speech synthesis (`POST /audio/speech`, JSON in,
//! audio bytes out).
//!
//! The core does no I/O: the caller reads the audio file and hands its bytes over
//! ([`AudioFile`]). Uploads are bounded by [`MAX_UPLOAD_BYTES`] (OpenAI's documented 25 MB);
//! a larger file is an `InvalidRequest` error before anything is sent.
//!
//! A transcription's reply is JSON for `response_format` `json` and `verbose_json`, and plain
//! text for `text`, `srt` and `vtt`. [`Transcription`] holds either faithfully: `text` is
//! always filled (for `srt`/`vtt` it is the subtitle file verbatim), and `language`,
//! `duration`, `segments` and `words` come with `verbose_json`.

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::media::call_fields;
use super::Extra;
use crate::error::{CallReport, ReportSlot};

/// The largest audio file OneLLM uploads: OpenAI's documented limit of 25 MB (taken as
/// 25 × 2^20 bytes, the most the limit can mean). Groq's and Azure's are lower or equal for
/// most tiers; their servers refuse what they do not take.
pub const MAX_UPLOAD_BYTES: usize = 25 * 1024 * 1024;

/// An audio file to upload: its bytes, its file name (the provider reads the format from
/// the extension: `.wav`, `.mp3`, `.m4a`, …) and optionally its media type.
#[derive(Clone, PartialEq)]
pub struct AudioFile {
    /// The file's contents.
    pub bytes: Bytes,
    /// The file name sent in the form (`speech.wav`).
    pub filename: String,
    /// The part's `content-type`; `None`: guessed from the extension, else
    /// `application/octet-stream`.
    pub content_type: Option<String>,
}

impl AudioFile {
    /// A file named `filename` holding `bytes`.
    pub fn new(bytes: impl Into<Bytes>, filename: impl Into<String>) -> Self {
        AudioFile {
            bytes: bytes.into(),
            filename: filename.into(),
            content_type: None,
        }
    }

    /// The media type sent: the one given, else one guessed from the extension.
    pub fn media_type(&self) -> &str {
        if let Some(given) = &self.content_type {
            return given;
        }
        let extension = self
            .filename
            .rsplit_once('.')
            .map(|(_, extension)| extension.to_ascii_lowercase());
        match extension.as_deref() {
            Some("wav") => "audio/wav",
            Some("mp3" | "mpga" | "mpeg") => "audio/mpeg",
            Some("m4a" | "mp4") => "audio/mp4",
            Some("ogg" | "oga" | "opus") => "audio/ogg",
            Some("flac") => "audio/flac",
            Some("webm") => "audio/webm",
            _ => "application/octet-stream",
        }
    }
}

impl fmt::Debug for AudioFile {
    // The bytes can be megabytes: their length says enough.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AudioFile")
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .finish()
    }
}

/// A transcription request (`/audio/transcriptions`). Sent as a multipart form, not JSON,
/// so it has no serde form; `extra` holds further form fields (strings sent as they are,
/// other values as their JSON text).
///
/// ```
/// use onellm_core::TranscriptionRequest;
///
/// let wav = vec![0u8; 44];
/// let request = TranscriptionRequest::new("openai/whisper-1", wav, "hello.wav").language("en");
/// assert_eq!(request.file.filename, "hello.wav");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptionRequest {
    /// The model: a `provider/model` id (`openai/whisper-1`, `groq/whisper-large-v3`).
    pub model: String,
    /// The audio.
    pub file: AudioFile,
    /// The spoken language, ISO-639-1 (`en`), which helps accuracy and latency.
    pub language: Option<String>,
    /// Text to guide the model's style or continue a previous segment.
    pub prompt: Option<String>,
    /// `json` (default), `text`, `srt`, `verbose_json` or `vtt`.
    pub response_format: Option<String>,
    /// Sampling temperature, 0 to 1.
    pub temperature: Option<f64>,
    /// `word` and/or `segment` (with `verbose_json`), sent as `timestamp_granularities[]`.
    pub timestamp_granularities: Vec<String>,
    /// OneLLM: models to try, in order, when this one fails.
    pub fallback_models: Option<Vec<String>>,
    /// OneLLM: extra attempts per model on retryable errors.
    pub retries: Option<u32>,
    /// OneLLM: the total deadline of this call in seconds.
    pub timeout: Option<f64>,
    /// Further form fields, sent verbatim.
    pub extra: Extra,
}

call_fields!(TranscriptionRequest);

impl TranscriptionRequest {
    /// A request to transcribe `file_bytes` (a file named `filename`) with `model`.
    pub fn new(
        model: impl Into<String>,
        file_bytes: impl Into<Bytes>,
        filename: impl Into<String>,
    ) -> Self {
        TranscriptionRequest {
            model: model.into(),
            file: AudioFile::new(file_bytes, filename),
            language: None,
            prompt: None,
            response_format: None,
            temperature: None,
            timestamp_granularities: Vec::new(),
            fallback_models: None,
            retries: None,
            timeout: None,
            extra: Extra::new(),
        }
    }

    /// Sets `language`.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// Sets `response_format` (`json`, `text`, `srt`, `verbose_json`, `vtt`).
    pub fn response_format(mut self, format: impl Into<String>) -> Self {
        self.response_format = Some(format.into());
        self
    }

    /// The form fields besides the file and model, in the order sent.
    pub(crate) fn fields(&self) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        push_field(&mut fields, "language", self.language.as_deref());
        push_field(&mut fields, "prompt", self.prompt.as_deref());
        push_field(
            &mut fields,
            "response_format",
            self.response_format.as_deref(),
        );
        push_field(
            &mut fields,
            "temperature",
            self.temperature.map(|t| t.to_string()).as_deref(),
        );
        for granularity in &self.timestamp_granularities {
            push_field(&mut fields, "timestamp_granularities[]", Some(granularity));
        }
        push_extra(&mut fields, &self.extra);
        fields
    }
}

/// A translation request (`/audio/translations`): speech in any language to English text.
/// Sent as a multipart form like [`TranscriptionRequest`].
#[derive(Debug, Clone, PartialEq)]
pub struct TranslationRequest {
    /// The model (`openai/whisper-1`, `groq/whisper-large-v3`).
    pub model: String,
    /// The audio.
    pub file: AudioFile,
    /// English text to guide the model's style.
    pub prompt: Option<String>,
    /// `json` (default), `text`, `srt`, `verbose_json` or `vtt`.
    pub response_format: Option<String>,
    /// Sampling temperature, 0 to 1.
    pub temperature: Option<f64>,
    /// OneLLM: models to try, in order, when this one fails.
    pub fallback_models: Option<Vec<String>>,
    /// OneLLM: extra attempts per model on retryable errors.
    pub retries: Option<u32>,
    /// OneLLM: the total deadline of this call in seconds.
    pub timeout: Option<f64>,
    /// Further form fields, sent verbatim.
    pub extra: Extra,
}

call_fields!(TranslationRequest);

impl TranslationRequest {
    /// A request to translate `file_bytes` (a file named `filename`) with `model`.
    pub fn new(
        model: impl Into<String>,
        file_bytes: impl Into<Bytes>,
        filename: impl Into<String>,
    ) -> Self {
        TranslationRequest {
            model: model.into(),
            file: AudioFile::new(file_bytes, filename),
            prompt: None,
            response_format: None,
            temperature: None,
            fallback_models: None,
            retries: None,
            timeout: None,
            extra: Extra::new(),
        }
    }

    /// Sets `response_format`.
    pub fn response_format(mut self, format: impl Into<String>) -> Self {
        self.response_format = Some(format.into());
        self
    }

    /// The form fields besides the file and model, in the order sent.
    pub(crate) fn fields(&self) -> Vec<(String, String)> {
        let mut fields = Vec::new();
        push_field(&mut fields, "prompt", self.prompt.as_deref());
        push_field(
            &mut fields,
            "response_format",
            self.response_format.as_deref(),
        );
        push_field(
            &mut fields,
            "temperature",
            self.temperature.map(|t| t.to_string()).as_deref(),
        );
        push_extra(&mut fields, &self.extra);
        fields
    }
}

fn push_field(fields: &mut Vec<(String, String)>, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        fields.push((name.to_owned(), value.to_owned()));
    }
}

/// Extra form fields: a string as it is, anything else as its JSON text.
fn push_extra(fields: &mut Vec<(String, String)>, extra: &Extra) {
    for (name, value) in extra {
        let text = match value {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        fields.push((name.clone(), text));
    }
}

/// What a transcription or translation returned.
///
/// For `json`/`verbose_json` replies every field the JSON had is here (unknown ones in
/// `extra`); for `text`/`srt`/`vtt` replies `text` is the body verbatim and the rest empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcription {
    /// The transcript (or, for `srt`/`vtt`, the subtitle file).
    #[serde(default)]
    pub text: String,
    /// The detected or given language (`verbose_json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The audio's length in seconds (`verbose_json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Timed segments (`verbose_json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<TranscriptionSegment>>,
    /// Timed words (`verbose_json` with `timestamp_granularities[]=word`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<TranscriptionWord>>,
    /// What was billed (tokens for gpt-4o-transcribe, seconds for whisper), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<TranscriptionUsage>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
    /// The reply's media type (`application/json`, `text/plain`, …), if it said.
    #[serde(skip)]
    pub content_type: Option<String>,
    /// How the call that produced this went; not part of the JSON.
    #[serde(skip)]
    pub report: ReportSlot,
}

impl Transcription {
    /// A plain-text reply (`text`, `srt`, `vtt`): the body is the text.
    pub fn from_text(text: String, content_type: Option<String>) -> Self {
        Transcription {
            text,
            language: None,
            duration: None,
            segments: None,
            words: None,
            usage: None,
            extra: Extra::new(),
            content_type,
            report: ReportSlot::default(),
        }
    }

    /// How the call that produced this went; `None` for a value not returned by a call.
    pub fn report(&self) -> Option<&CallReport> {
        self.report.get()
    }
}

/// One timed segment of a `verbose_json` transcription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptionSegment {
    /// The segment's number.
    #[serde(default)]
    pub id: u64,
    /// Start, seconds.
    #[serde(default)]
    pub start: f64,
    /// End, seconds.
    #[serde(default)]
    pub end: f64,
    /// The segment's text.
    #[serde(default)]
    pub text: String,
    /// `seek`, `tokens`, `temperature`, `avg_logprob`, `compression_ratio`,
    /// `no_speech_prob`, …, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One timed word of a `verbose_json` transcription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptionWord {
    /// The word.
    #[serde(default)]
    pub word: String,
    /// Start, seconds.
    #[serde(default)]
    pub start: f64,
    /// End, seconds.
    #[serde(default)]
    pub end: f64,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What a transcription was billed: `{"type": "tokens", …}` or `{"type": "duration",
/// "seconds": …}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TranscriptionUsage {
    /// `tokens` or `duration`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Input tokens (`tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Output tokens (`tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// All tokens (`tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u64>,
    /// Seconds of audio (`duration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// Fields this version does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A speech synthesis request (`/audio/speech`) in OpenAI's shape.
///
/// ```
/// use onellm_core::SpeechRequest;
///
/// let request = SpeechRequest::new("openai/gpt-4o-mini-tts", "Hello!", "alloy");
/// assert_eq!(request.voice, "alloy");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechRequest {
    /// The model (`openai/tts-1`, `openai/gpt-4o-mini-tts`).
    pub model: String,
    /// The text to speak.
    pub input: String,
    /// The voice (`alloy`, `ash`, `coral`, …).
    pub voice: String,
    /// `mp3` (default), `opus`, `aac`, `flac`, `wav` or `pcm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<String>,
    /// 0.25 to 4.0; 1 is normal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// How to speak (tone, accent, pace; not for tts-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// OneLLM: models to try, in order, when this one fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_models: Option<Vec<String>>,
    /// OneLLM: extra attempts per model on retryable errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// OneLLM: the total deadline of this call in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// Parameters this version does not model, forwarded verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

call_fields!(SpeechRequest);

impl SpeechRequest {
    /// A request to speak `input` with `voice`.
    pub fn new(
        model: impl Into<String>,
        input: impl Into<String>,
        voice: impl Into<String>,
    ) -> Self {
        SpeechRequest {
            model: model.into(),
            input: input.into(),
            voice: voice.into(),
            response_format: None,
            speed: None,
            instructions: None,
            fallback_models: None,
            retries: None,
            timeout: None,
            extra: Extra::new(),
        }
    }

    /// Sets `response_format` (`mp3`, `wav`, …).
    pub fn response_format(mut self, format: impl Into<String>) -> Self {
        self.response_format = Some(format.into());
        self
    }

    /// A copy addressed to `model` with OneLLM's own fields removed: the JSON body sent.
    pub fn for_provider(&self, model: &str) -> Self {
        let mut body = self.clone();
        model.clone_into(&mut body.model);
        body.fallback_models = None;
        body.retries = None;
        body.timeout = None;
        body
    }
}

/// Synthesized speech: the audio file's bytes as the provider sent them, and their type.
///
/// The whole body is read (bounded by the call's body limit, like every whole reply) before
/// the call returns; it is not streamed to the caller in this version. Binary, so it has no
/// JSON form.
#[derive(Clone, PartialEq)]
pub struct SpeechAudio {
    /// The audio file (`mp3` unless the request asked otherwise).
    pub bytes: Bytes,
    /// The reply's `content-type` (`audio/mpeg`, …), if it said.
    pub content_type: Option<String>,
    /// How the call that produced this went.
    pub report: ReportSlot,
}

impl SpeechAudio {
    /// How the call that produced this went; `None` for a value not returned by a call.
    pub fn report(&self) -> Option<&CallReport> {
        self.report.get()
    }
}

impl fmt::Debug for SpeechAudio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpeechAudio")
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("content_type", &self.content_type)
            .finish()
    }
}

/// Reads a JSON map whose values may be `null` (older moderation models answer `null` for
/// categories they do not score), a `null` becoming the value type's default.
pub(crate) fn map_without_nulls<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Default + Deserialize<'de>,
{
    let map: BTreeMap<String, Option<V>> = BTreeMap::deserialize(deserializer)?;
    Ok(map
        .into_iter()
        .map(|(key, value)| (key, value.unwrap_or_default()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_fields_come_in_order_with_granularities_repeated() {
        let mut request = TranscriptionRequest::new("openai/whisper-1", vec![1, 2], "a.wav")
            .language("en")
            .response_format("verbose_json");
        request.temperature = Some(0.5);
        request.timestamp_granularities = vec!["word".into(), "segment".into()];
        request.extra.insert("include[]".into(), json!("logprobs"));
        request
            .extra
            .insert("chunking".into(), json!({"type": "auto"}));
        let fields = request.fields();
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "language",
                "response_format",
                "temperature",
                "timestamp_granularities[]",
                "timestamp_granularities[]",
                "chunking",
                "include[]"
            ]
        );
        assert_eq!(fields[5].1, r#"{"type":"auto"}"#);
        assert_eq!(fields[6].1, "logprobs");
    }

    #[test]
    fn the_media_type_comes_from_the_extension_unless_given() {
        let mut file = AudioFile::new(vec![0], "Talk.WAV");
        assert_eq!(file.media_type(), "audio/wav");
        file.filename = "x.unknown".into();
        assert_eq!(file.media_type(), "application/octet-stream");
        file.content_type = Some("audio/x-custom".into());
        assert_eq!(file.media_type(), "audio/x-custom");
        assert!(format!("{file:?}").contains("1 bytes"));
    }

    #[test]
    fn a_verbose_transcription_keeps_segments_words_and_unknown_fields() {
        let raw = json!({
            "task": "transcribe", "language": "english", "duration": 8.47,
            "text": "The beach was a popular spot.",
            "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 3.3, "text": "The beach",
                          "tokens": [50364, 440], "no_speech_prob": 0.01}],
            "words": [{"word": "The", "start": 0.0, "end": 0.24}],
            "usage": {"type": "duration", "seconds": 9}
        });
        let parsed: Transcription = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(parsed.duration, Some(8.47));
        assert_eq!(parsed.segments.as_ref().unwrap()[0].extra["seek"], 0);
        assert_eq!(parsed.words.as_ref().unwrap()[0].word, "The");
        assert_eq!(parsed.extra["task"], "transcribe");
        assert_eq!(parsed.usage.as_ref().unwrap().seconds, Some(9.0));
    }
}
