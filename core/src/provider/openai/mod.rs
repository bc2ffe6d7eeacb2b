//! The OpenAI chat-completions protocol, spoken by OpenAI and every OpenAI-compatible host
//! (one [`Profile`] row each).

pub mod azure;
mod error;
mod media;
mod plain_chunk;
mod request;
mod response;
mod responses;
mod stream;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use self::azure::AzureRouting;
use super::profiles::Profile;
use super::{Capabilities, ChatStreamDecoder, Provider, ResponsesStreamDecoder, SseChatStream};
use crate::error::Error;
use crate::settings::{ApiKey, ProviderSettings};
use crate::types::{
    ChatCompletion, ChatRequest, CompletionRequest, CompletionResponse, EmbeddingRequest,
    EmbeddingResponse, MediaOutput, MediaRequest, Response, ResponsesRequest,
};

/// An OpenAI-compatible provider: the profile plus its resolved settings.
#[derive(Debug, Clone)]
pub struct OpenAiCompatible {
    profile: Profile,
    api_key: Option<ApiKey>,
    headers: Vec<(String, String)>,
    routing: Routing,
}

/// Where requests go and how they are authorized.
#[derive(Debug, Clone)]
enum Routing {
    /// `{base_url}/{path}` with a bearer key; the headers (key included) and the chat URL
    /// are checked and made once, when the adapter is.
    Direct {
        base_url: String,
        template: super::PostTemplate,
        chat_url: http::Uri,
    },
    /// Azure's deployment addressing.
    Azure(Box<AzureRouting>),
}

impl OpenAiCompatible {
    /// An adapter for `profile` with `settings` (base URL and key override the profile's).
    pub fn new(profile: Profile, settings: &ProviderSettings) -> Result<Self, Error> {
        let Some(base_url) = settings
            .base_url
            .clone()
            .or_else(|| profile.base_url.clone())
        else {
            let upper = profile.name.to_ascii_uppercase();
            return Err(Error::configuration(format!(
                "provider {} has no base URL: set {upper}_BASE_URL or ONELLM_PROVIDERS__{upper}__API_BASE",
                profile.name
            )));
        };
        let mut headers = profile.headers.clone();
        headers.extend(settings.headers.iter().cloned());
        let base_url = base_url.trim_end_matches('/').to_owned();
        let bearer = settings
            .api_key
            .as_ref()
            .map(|key| format!("Bearer {}", key.expose()));
        let auth: Vec<(&str, &str)> = bearer
            .iter()
            .map(|bearer| ("authorization", bearer.as_str()))
            .collect();
        let routing = Routing::Direct {
            template: super::PostTemplate::new(&auth, &headers)?,
            chat_url: super::parse_url(&format!("{base_url}/chat/completions"))?,
            base_url,
        };
        Ok(OpenAiCompatible {
            api_key: settings.api_key.clone(),
            headers,
            profile,
            routing,
        })
    }

    /// Azure OpenAI (see [`super::azure`]): the OpenAI protocol at deployment URLs.
    pub fn azure(settings: &ProviderSettings) -> Result<Self, Error> {
        let mut profile = super::profiles::Profile::new("azure", "");
        profile.base_url = None;
        profile.token_field = super::profiles::TokenField::MaxCompletionTokens;
        profile.completions = true;
        profile.responses = true;
        (profile.images, profile.audio, profile.moderations) = (true, true, true);
        let mut headers = profile.headers.clone();
        headers.extend(settings.headers.iter().cloned());
        Ok(OpenAiCompatible {
            api_key: None,
            headers,
            profile,
            routing: Routing::Azure(Box::new(AzureRouting::new(settings)?)),
        })
    }

    /// Removes every key this adapter sends from an error's text.
    fn redact(&self, error: Error) -> Error {
        let error = error.without_key(self.api_key.as_ref());
        match &self.routing {
            Routing::Azure(azure) => azure.keys().fold(error, |e, key| e.without_key(Some(key))),
            Routing::Direct { .. } => error,
        }
    }

    /// The profile this adapter was made from.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// `Unsupported` when this profile lacks an endpoint.
    fn supported(&self, offered: bool, what: &str) -> Result<(), Error> {
        if offered {
            Ok(())
        } else {
            Err(Error::unsupported(format!(
                "{} does not offer {what}",
                self.profile.name
            )))
        }
    }

    /// The key a stream from `model`'s server may echo, for redacting its errors.
    fn stream_key(&self, model: &str) -> Option<ApiKey> {
        match &self.routing {
            Routing::Azure(azure) => azure
                .target(model, "")
                .ok()
                .and_then(|target| target.key.cloned()),
            Routing::Direct { .. } => self.api_key.clone(),
        }
    }

    /// Whether `model`'s server knows `stream_options` and `max_completion_tokens`.
    fn modern(&self, model: &str) -> Result<bool, Error> {
        match &self.routing {
            Routing::Azure(azure) => Ok(azure.target(model, "")?.modern),
            Routing::Direct { .. } => Ok(true),
        }
    }

    fn post(
        &self,
        model: &str,
        path: &str,
        body: Vec<u8>,
        stream: bool,
    ) -> Result<http::Request<Bytes>, Error> {
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        match &self.routing {
            Routing::Direct {
                base_url,
                template,
                chat_url,
            } => {
                let url = match path {
                    "chat/completions" => chat_url.clone(),
                    _ => super::parse_url(&format!("{base_url}/{path}"))?,
                };
                Ok(template.request_accepting(url, accept, body))
            }
            Routing::Azure(azure) => {
                let target = azure.target(model, path)?;
                let (name, value) = &target.auth;
                let headers = [("accept", accept), (name, value.as_str())];
                super::json_post(&target.url, &headers, &self.headers, body)
            }
        }
    }
}

impl Provider for OpenAiCompatible {
    fn name(&self) -> &str {
        &self.profile.name
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            streaming: true,
            tools: true,
            vision: true,
            json_mode: true,
            embeddings: self.profile.embeddings,
            completions: self.profile.completions,
            reasoning: true,
        }
    }

    fn build_chat(
        &self,
        model: &str,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<http::Request<Bytes>, Error> {
        let body = request::chat_body(&self.profile, self.modern(model)?, model, request, stream)?;
        self.post(model, "chat/completions", body, stream)
    }

    fn parse_chat(&self, response: &http::Response<Bytes>) -> Result<ChatCompletion, Error> {
        super::parse_whole(self, response, response::parse_chat).map_err(|error| self.redact(error))
    }

    fn chat_stream_decoder(&self, model: &str) -> Box<dyn ChatStreamDecoder> {
        Box::new(SseChatStream::new(
            stream::OpenAiEvents::default(),
            self.stream_key(model),
        ))
    }

    /// Native for OpenAI, Azure (at `{endpoint}/openai/v1/responses`, the deployment in
    /// `model`) and profiles with `responses: true`; translated through chat for the rest.
    fn build_responses(
        &self,
        model: &str,
        request: &ResponsesRequest,
        stream: bool,
    ) -> Result<http::Request<Bytes>, Error> {
        if !self.profile.responses {
            return super::responses_bridge::build_responses(self, model, request, stream);
        }
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        match &self.routing {
            Routing::Direct {
                base_url, template, ..
            } => {
                let body = responses::body(model, request, stream)?;
                let url = super::parse_url(&format!("{base_url}/responses"))?;
                Ok(template.request_accepting(url, accept, body))
            }
            Routing::Azure(azure) => {
                let (target, deployment) = azure.responses_target(model)?;
                let body = responses::body(&deployment, request, stream)?;
                let (name, value) = &target.auth;
                let headers = [("accept", accept), (name, value.as_str())];
                super::json_post(&target.url, &headers, &self.headers, body)
            }
        }
    }

    fn parse_responses(&self, response: &http::Response<Bytes>) -> Result<Response, Error> {
        if !self.profile.responses {
            return super::responses_bridge::parse_responses(self, response);
        }
        super::parse_whole(self, response, responses::parse).map_err(|error| self.redact(error))
    }

    fn responses_stream_decoder(&self, model: &str) -> Box<dyn ResponsesStreamDecoder> {
        if !self.profile.responses {
            return super::responses_bridge::responses_stream_decoder(self, model);
        }
        Box::new(responses::ResponsesSse::new(self.stream_key(model)))
    }

    fn parse_error(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
        self.redact(error::parse_error(status, headers, body))
    }

    fn build_embeddings(
        &self,
        model: &str,
        request: &EmbeddingRequest,
    ) -> Result<http::Request<Bytes>, Error> {
        self.supported(self.profile.embeddings, "embeddings")?;
        self.post(
            model,
            "embeddings",
            super::to_json(&request.for_provider(model))?,
            false,
        )
    }

    fn parse_embeddings(
        &self,
        response: &http::Response<Bytes>,
    ) -> Result<EmbeddingResponse, Error> {
        super::parse_whole(self, response, response::parse_embeddings)
            .map_err(|error| self.redact(error))
    }

    fn build_completions(
        &self,
        model: &str,
        request: &CompletionRequest,
    ) -> Result<http::Request<Bytes>, Error> {
        self.supported(self.profile.completions, "legacy completions")?;
        let mut body = request.for_provider(model);
        body.stream = None;
        body.stream_options = None;
        self.post(model, "completions", super::to_json(&body)?, false)
    }

    fn parse_completions(
        &self,
        response: &http::Response<Bytes>,
    ) -> Result<CompletionResponse, Error> {
        super::parse_whole(self, response, response::parse_completions)
            .map_err(|error| self.redact(error))
    }

    fn build_media(
        &self,
        model: &str,
        request: &MediaRequest,
    ) -> Result<http::Request<Bytes>, Error> {
        let offered = match request {
            MediaRequest::Images(_) => self.profile.images,
            MediaRequest::Moderation(_) => self.profile.moderations,
            _ => self.profile.audio,
        };
        self.supported(offered, request.what())?;
        let body = media::body(model, request)?;
        let mut built = self.post(model, request.path(), body.bytes, false)?;
        media::set_headers(&mut built, body.content_type, request);
        Ok(built)
    }

    fn parse_media(
        &self,
        request: &MediaRequest,
        response: &http::Response<Bytes>,
    ) -> Result<MediaOutput, Error> {
        super::parse_whole(self, response, |body| {
            media::parse(request, response.headers(), body)
        })
        .map_err(|error| self.redact(error))
    }
}

#[cfg(test)]
mod tests;
