//! The engine's media calls (images, transcription, translation, speech, moderation): each
//! starts an [`Operation::Media`] call like [`Engine::embeddings`] starts an embeddings one,
//! and each output type unpacks itself from [`Output::Media`].
//!
//! Cost: the model catalog prices images per image and audio per second or character, which
//! these outputs do not report in a form that maps onto it simply, so OneLLM sets no cost
//! (a cost the provider reports in `usage.cost` of an image reply is kept and counted by
//! budgets).

use std::time::{Instant, SystemTime};

use super::engine::{mismatch, sealed::Sealed, CallOutput, Engine, TypedCall};
use crate::call::{Operation, Output};
use crate::catalog::ModelInfo;
use crate::error::{CallReport, Error, ReportSlot};
use crate::types::{
    ImageRequest, ImagesResponse, MediaOutput, MediaRequest, ModerationRequest, ModerationResponse,
    SpeechAudio, SpeechRequest, Transcription, TranscriptionRequest, TranslationRequest,
};

impl Engine {
    /// An image generation call (`/images/generations`).
    pub fn images_generate(
        &self,
        request: ImageRequest,
        now: Instant,
        wall_clock: SystemTime,
    ) -> TypedCall<ImagesResponse> {
        self.start(
            Operation::Media(MediaRequest::Images(request)),
            now,
            wall_clock,
        )
    }

    /// An audio transcription call (`/audio/transcriptions`, a multipart upload).
    pub fn transcribe(
        &self,
        request: TranscriptionRequest,
        now: Instant,
        wall_clock: SystemTime,
    ) -> TypedCall<Transcription> {
        self.start(
            Operation::Media(MediaRequest::Transcription(request)),
            now,
            wall_clock,
        )
    }

    /// An audio translation call (`/audio/translations`, a multipart upload).
    pub fn translate(
        &self,
        request: TranslationRequest,
        now: Instant,
        wall_clock: SystemTime,
    ) -> TypedCall<Transcription> {
        self.start(
            Operation::Media(MediaRequest::Translation(request)),
            now,
            wall_clock,
        )
    }

    /// A speech synthesis call (`/audio/speech`).
    pub fn speech(
        &self,
        request: SpeechRequest,
        now: Instant,
        wall_clock: SystemTime,
    ) -> TypedCall<SpeechAudio> {
        self.start(
            Operation::Media(MediaRequest::Speech(request)),
            now,
            wall_clock,
        )
    }

    /// A moderation call (`/moderations`).
    pub fn moderations(
        &self,
        request: ModerationRequest,
        now: Instant,
        wall_clock: SystemTime,
    ) -> TypedCall<ModerationResponse> {
        self.start(
            Operation::Media(MediaRequest::Moderation(request)),
            now,
            wall_clock,
        )
    }
}

/// The tokens a media output's usage counts, for events and the router's token limits.
pub(super) fn tokens_of(output: &MediaOutput) -> Option<u64> {
    match output {
        MediaOutput::Images(response) => response.usage.as_ref().map(|usage| usage.total_tokens),
        MediaOutput::Transcription(transcription) => transcription
            .usage
            .as_ref()
            .and_then(|usage| usage.total_tokens),
        MediaOutput::Speech(_) | MediaOutput::Moderation(_) => None,
    }
}

/// The [`CallOutput`] of a media output type: its [`MediaOutput`] variant, its name in the
/// (impossible) mismatch error, and its cost as the provider reported it.
macro_rules! media_output {
    ($type:ty, $variant:ident, $what:literal, |$value:ident| $cost:expr) => {
        impl Sealed for $type {}

        impl CallOutput for $type {
            // A media call never streams items.
            type Item = std::convert::Infallible;

            fn poll_item(_: &mut TypedCall<Self>) -> Option<Self::Item> {
                None
            }

            fn from_output(output: Output) -> Result<Self, Error> {
                match output {
                    Output::Media(MediaOutput::$variant(value)) => Ok(value),
                    other => Err(mismatch($what, &other)),
                }
            }

            fn set_report(&mut self, report: CallReport) {
                self.report = ReportSlot::new(report);
            }

            fn add_cost<'p>(&mut self, _pricing: &dyn Fn(&str) -> Option<&'p ModelInfo>) {}

            fn cost(&self) -> Option<f64> {
                let $value = self;
                $cost
            }

            fn to_output(&self) -> Output {
                Output::Media(MediaOutput::$variant(self.clone()))
            }
        }
    };
}

media_output!(ImagesResponse, Images, "images", |response| response
    .usage
    .as_ref()
    .and_then(|usage| usage.cost));
media_output!(Transcription, Transcription, "a transcription", |_t| None);
media_output!(SpeechAudio, Speech, "speech audio", |_s| None);
media_output!(
    ModerationResponse,
    Moderation,
    "a moderation result",
    |_m| None
);
