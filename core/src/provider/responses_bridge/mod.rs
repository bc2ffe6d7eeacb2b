//! Serving the Responses API through a provider's chat wire, and chat through the Responses
//! API: the default bodies of [`Provider`]'s Responses methods, and the stream adapters.

use bytes::Bytes;

use super::{Provider, ResponsesStreamDecoder};
use crate::error::Error;
use crate::types::{Response, ResponsesRequest};

/// [`Provider::build_responses`]'s default.
pub(crate) fn build_responses<P: Provider + ?Sized>(
    provider: &P,
    _model: &str,
    _request: &ResponsesRequest,
    _stream: bool,
) -> Result<http::Request<Bytes>, Error> {
    Err(Error::unsupported(format!(
        "{} does not offer the Responses API yet",
        provider.name()
    )))
}

/// [`Provider::parse_responses`]'s default.
pub(crate) fn parse_responses<P: Provider + ?Sized>(
    provider: &P,
    _response: &http::Response<Bytes>,
) -> Result<Response, Error> {
    Err(Error::unsupported(format!(
        "{} does not offer the Responses API yet",
        provider.name()
    )))
}

/// [`Provider::responses_stream_decoder`]'s default.
pub(crate) fn responses_stream_decoder<P: Provider + ?Sized>(
    provider: &P,
    _model: &str,
) -> Box<dyn ResponsesStreamDecoder> {
    Box::new(Unavailable(Some(Error::unsupported(format!(
        "{} does not offer the Responses API yet",
        provider.name()
    )))))
}

/// A decoder whose only item is the error saying why there is no stream.
#[derive(Debug)]
struct Unavailable(Option<Error>);

impl ResponsesStreamDecoder for Unavailable {
    fn push(&mut self, _bytes: &[u8]) {}
    fn finish(&mut self) {}
    fn next_event(&mut self) -> Option<Result<crate::types::ResponseStreamEvent, Error>> {
        self.0.take().map(Err)
    }
    fn is_complete(&self) -> bool {
        false
    }
}
