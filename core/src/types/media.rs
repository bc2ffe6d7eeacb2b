//! The media operations as one: images, transcription, translation, speech and moderation
//! travel through the [`Call`](crate::Call) machine as one [`Operation::Media`]
//! (crate::Operation::Media) variant holding a [`MediaRequest`], and come back as one
//! [`MediaOutput`]. Retries, fallbacks, deadlines, reports, events and budgets therefore
//! treat them exactly as embeddings, with one arm in each of the machine's matches.
//!
//! None of them is cached: a generated image or a spoken clip is new each time and its
//! URL expires, and a transcription key would have to hash megabytes of audio for little
//! gain.

use super::{
    ImageRequest, ImagesResponse, ModerationRequest, ModerationResponse, SpeechAudio,
    SpeechRequest, Transcription, TranscriptionRequest, TranslationRequest,
};

/// OneLLM's per-call builder methods (`fallback_models`, `retries`, `with_timeout`) for a
/// request type with those fields.
macro_rules! call_fields {
    ($type:ty) => {
        impl $type {
            /// Sets the fallback models, tried in order (OneLLM's `fallback_models`).
            pub fn fallback_models<I, S>(mut self, models: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<String>,
            {
                self.fallback_models = Some(models.into_iter().map(Into::into).collect());
                self
            }

            /// Sets the extra attempts per model on retryable errors (OneLLM's `retries`).
            pub fn retries(mut self, retries: u32) -> Self {
                self.retries = Some(retries);
                self
            }

            /// Sets this call's total deadline (OneLLM's `timeout` field, in seconds).
            pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.timeout = Some(timeout.as_secs_f64());
                self
            }
        }
    };
}
pub(crate) use call_fields;

/// A media request: what an [`Operation::Media`](crate::Operation::Media) call asks for.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaRequest {
    /// `/images/generations`.
    Images(ImageRequest),
    /// `/audio/transcriptions`.
    Transcription(TranscriptionRequest),
    /// `/audio/translations`.
    Translation(TranslationRequest),
    /// `/audio/speech`.
    Speech(SpeechRequest),
    /// `/moderations`.
    Moderation(ModerationRequest),
}

/// Applies `$body` to the request inside whichever variant `$value` is.
macro_rules! each {
    ($value:expr, $request:ident => $body:expr) => {
        match $value {
            MediaRequest::Images($request) => $body,
            MediaRequest::Transcription($request) => $body,
            MediaRequest::Translation($request) => $body,
            MediaRequest::Speech($request) => $body,
            MediaRequest::Moderation($request) => $body,
        }
    };
}

impl MediaRequest {
    /// What the operation is called in errors: `image generation`, `audio transcription`, ….
    pub fn what(&self) -> &'static str {
        match self {
            MediaRequest::Images(_) => "image generation",
            MediaRequest::Transcription(_) => "audio transcription",
            MediaRequest::Translation(_) => "audio translation",
            MediaRequest::Speech(_) => "speech synthesis",
            MediaRequest::Moderation(_) => "moderation",
        }
    }

    /// The operation's name in spans and events (`images`, `transcription`, …).
    pub fn operation_name(&self) -> &'static str {
        match self {
            MediaRequest::Images(_) => "images",
            MediaRequest::Transcription(_) => "transcription",
            MediaRequest::Translation(_) => "translation",
            MediaRequest::Speech(_) => "speech",
            MediaRequest::Moderation(_) => "moderation",
        }
    }

    /// The endpoint path below an OpenAI-style base URL.
    pub fn path(&self) -> &'static str {
        match self {
            MediaRequest::Images(_) => "images/generations",
            MediaRequest::Transcription(_) => "audio/transcriptions",
            MediaRequest::Translation(_) => "audio/translations",
            MediaRequest::Speech(_) => "audio/speech",
            MediaRequest::Moderation(_) => "moderations",
        }
    }

    /// The request's model id.
    pub fn model(&self) -> &str {
        each!(self, request => &request.model)
    }

    pub(crate) fn model_mut(&mut self) -> &mut String {
        each!(self, request => &mut request.model)
    }

    pub(crate) fn fallback_models(&self) -> Option<&[String]> {
        each!(self, request => request.fallback_models.as_deref())
    }

    pub(crate) fn fallback_models_mut(&mut self) -> Option<&mut Vec<String>> {
        each!(self, request => request.fallback_models.as_mut())
    }

    pub(crate) fn timeout(&self) -> Option<f64> {
        each!(self, request => request.timeout)
    }

    pub(crate) fn retries(&self) -> Option<u32> {
        each!(self, request => request.retries)
    }
}

/// What a media call produced: the [`Output::Media`](crate::Output::Media) payload.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaOutput {
    /// Generated images.
    Images(ImagesResponse),
    /// A transcription or translation.
    Transcription(Transcription),
    /// Synthesized speech.
    Speech(SpeechAudio),
    /// A moderation verdict.
    Moderation(ModerationResponse),
}

impl MediaOutput {
    /// What the output is, for the engine's (impossible) mismatch error.
    pub fn what(&self) -> &'static str {
        match self {
            MediaOutput::Images(_) => "images",
            MediaOutput::Transcription(_) => "a transcription",
            MediaOutput::Speech(_) => "speech audio",
            MediaOutput::Moderation(_) => "a moderation result",
        }
    }
}

impl From<ImageRequest> for MediaRequest {
    fn from(request: ImageRequest) -> Self {
        MediaRequest::Images(request)
    }
}

impl From<TranscriptionRequest> for MediaRequest {
    fn from(request: TranscriptionRequest) -> Self {
        MediaRequest::Transcription(request)
    }
}

impl From<TranslationRequest> for MediaRequest {
    fn from(request: TranslationRequest) -> Self {
        MediaRequest::Translation(request)
    }
}

impl From<SpeechRequest> for MediaRequest {
    fn from(request: SpeechRequest) -> Self {
        MediaRequest::Speech(request)
    }
}

impl From<ModerationRequest> for MediaRequest {
    fn from(request: ModerationRequest) -> Self {
        MediaRequest::Moderation(request)
    }
}
