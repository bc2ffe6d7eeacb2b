//! One error type for every failure, with a [`ErrorKind`] that says what to do about it.
//!
//! Whether an error is worth retrying on the same model, or worth trying the next fallback
//! model, is decided in one table, [`ErrorKind::is_retryable`] and
//! [`ErrorKind::should_fallback`]:
//!
//! | kind | retry same model | next fallback model |
//! |---|---|---|
//! | `RateLimit` | yes | yes |
//! | `ServiceUnavailable` (5xx, 529, 409, overloaded) | yes | yes |
//! | `Timeout` (incl. 408) | yes | yes |
//! | `Connection` | yes | yes |
//! | `Truncated` | yes | yes |
//! | `Authentication`, `PermissionDenied`, `NotFound` | no | yes |
//! | `ContextWindowExceeded`, `ContentFilter` | no | yes |
//! | `Decode`, `UnexpectedResponse`, `Configuration`, `Unsupported` | no | yes |
//! | `InvalidRequest` (400, 402, 413, 422, other 4xx) | no | no |
//! | `StreamInterrupted`, `Cancelled`, `BudgetExceeded`, `AllFailed` | no | no |
//!
//! A provider's `x-should-retry: true|false` header overrides the retry column for that one
//! response ([`Error::is_retryable`]).

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, StatusCode};

use crate::api_key::ApiKey;
pub use crate::response_headers::{request_id, retry_after, should_retry};
use crate::types::{ChatCompletion, Response};

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Missing, wrong or expired credentials (401).
    Authentication,
    /// The credentials may not use this model or feature (403).
    PermissionDenied,
    /// The model or endpoint does not exist (404).
    NotFound,
    /// Too many requests or tokens (429); see [`Error::retry_after`].
    RateLimit,
    /// The request itself is wrong; sending it again will not help (400, 402, 413, 422).
    InvalidRequest,
    /// The prompt does not fit the model's context window.
    ContextWindowExceeded,
    /// A safety filter refused the prompt or the output.
    ContentFilter,
    /// The provider is down, overloaded or failed internally (5xx, 529, 409).
    ServiceUnavailable,
    /// A deadline passed (total, per attempt, first byte or idle), or the provider said 408.
    Timeout,
    /// The connection failed or was reset.
    Connection,
    /// The provider's reply could not be understood; the message quotes a bounded excerpt.
    Decode,
    /// The server answered in a shape that is not this provider family's reply at all (no
    /// marker field of the family: another API's JSON, HTML, `null`, `{}`): usually a wrong
    /// base URL, a proxy or a captive portal. The message quotes a bounded excerpt. Worth a
    /// fallback (another provider may be fine), not a retry on the same model.
    UnexpectedResponse,
    /// The body ended before the protocol's terminal marker.
    Truncated,
    /// A stream failed after content had reached the caller; carries the partial completion.
    StreamInterrupted,
    /// Bad local configuration: unknown provider, missing API key, malformed model id.
    Configuration,
    /// The provider or model cannot do what was asked.
    Unsupported,
    /// The caller cancelled the call.
    Cancelled,
    /// The client's spending limit is reached: the call was refused before anything was
    /// sent (see [`Budget`](crate::client::Budget)).
    BudgetExceeded,
    /// Every attempt on every model failed; see [`Error::attempts`].
    AllFailed,
}

impl ErrorKind {
    /// Whether sending the same request to the same model again may succeed.
    pub fn is_retryable(self) -> bool {
        use ErrorKind::*;
        matches!(
            self,
            RateLimit | ServiceUnavailable | Timeout | Connection | Truncated
        )
    }

    /// Whether another model (maybe at another provider) may succeed where this one failed.
    pub fn should_fallback(self) -> bool {
        use ErrorKind::*;
        match self {
            RateLimit | ServiceUnavailable | Timeout | Connection | Truncated => true,
            Authentication | PermissionDenied | NotFound => true,
            ContextWindowExceeded | ContentFilter => true,
            Decode | UnexpectedResponse | Configuration | Unsupported => true,
            InvalidRequest | StreamInterrupted | Cancelled | BudgetExceeded | AllFailed => false,
        }
    }

    /// The snake_case name used in JSON output and logs (`rate_limit`, `all_failed`, …).
    pub fn as_str(self) -> &'static str {
        use ErrorKind::*;
        match self {
            Authentication => "authentication",
            PermissionDenied => "permission_denied",
            NotFound => "not_found",
            RateLimit => "rate_limit",
            InvalidRequest => "invalid_request",
            ContextWindowExceeded => "context_window_exceeded",
            ContentFilter => "content_filter",
            ServiceUnavailable => "service_unavailable",
            Timeout => "timeout",
            Connection => "connection",
            Decode => "decode",
            UnexpectedResponse => "unexpected_response",
            Truncated => "truncated",
            StreamInterrupted => "stream_interrupted",
            Configuration => "configuration",
            Unsupported => "unsupported",
            Cancelled => "cancelled",
            BudgetExceeded => "budget_exceeded",
            AllFailed => "all_failed",
        }
    }

    /// The kind an HTTP error status means on its own.
    pub fn from_status(status: StatusCode) -> ErrorKind {
        match status.as_u16() {
            401 => ErrorKind::Authentication,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            408 => ErrorKind::Timeout,
            409 => ErrorKind::ServiceUnavailable,
            429 => ErrorKind::RateLimit,
            400..=499 => ErrorKind::InvalidRequest,
            500..=599 => ErrorKind::ServiceUnavailable,
            _ => ErrorKind::Decode,
        }
    }

    /// The kind a provider's error `type`/`code`/`status` string names, across families
    /// (OpenAI `type`/`code`, Anthropic `type`, Google `status`, AWS exception names).
    pub fn from_error_code(code: &str) -> Option<ErrorKind> {
        let code = code.to_ascii_lowercase();
        let kind = match code.as_str() {
            "context_length_exceeded" | "string_above_max_length" => {
                ErrorKind::ContextWindowExceeded
            }
            "content_filter" | "content_policy_violation" | "safety" => ErrorKind::ContentFilter,
            "rate_limit_error"
            | "rate_limit_exceeded"
            | "resource_exhausted"
            | "rate_limit"
            | "insufficient_quota"
            | "throttlingexception"
            | "too_many_requests" => ErrorKind::RateLimit,
            "overloaded_error"
            | "api_error"
            | "server_error"
            | "internal_error"
            | "unavailable"
            | "internal"
            | "serviceunavailableexception"
            | "internalserverexception"
            | "modelstreamerrorexception"
            | "service_unavailable"
            | "overloaded" => ErrorKind::ServiceUnavailable,
            "authentication_error"
            | "invalid_api_key"
            | "unauthenticated"
            | "unauthorized"
            | "unrecognizedclientexception"
            | "expiredtokenexception" => ErrorKind::Authentication,
            "permission_error" | "permission_denied" | "accessdeniedexception" => {
                ErrorKind::PermissionDenied
            }
            "not_found_error" | "model_not_found" | "not_found" | "resourcenotfoundexception" => {
                ErrorKind::NotFound
            }
            "timeout" | "deadline_exceeded" | "modeltimeoutexception" => ErrorKind::Timeout,
            "invalid_request_error"
            | "invalid_argument"
            | "validationexception"
            | "request_too_large"
            | "failed_precondition"
            | "billing_error" => ErrorKind::InvalidRequest,
            _ => return None,
        };
        Some(kind)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Phrases providers use when a prompt is too long, in lower case.
const CONTEXT_WINDOW_PHRASES: &[&str] = &[
    "context_length_exceeded",
    "maximum context length",
    "context window",
    "context length",
    "prompt is too long",
    "input is too long",
    "too many tokens",
    "input token count",
    "reduce the length",
    "exceeds the maximum number of tokens",
    // llama.cpp's server (`exceed_context_size_error`).
    "exceeds the available context size",
];

/// Phrases providers use when a safety filter refused, in lower case.
const CONTENT_FILTER_PHRASES: &[&str] = &[
    "content_filter",
    "content_policy_violation",
    "content management policy",
    "flagged by our safety",
    "blocked due to safety",
];

/// The most bytes of a provider's body any error message quotes.
pub const EXCERPT_LIMIT: usize = 512;

/// One attempt of a call: which model was tried, how it ended, how long was waited before it
/// and how long it took.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Attempt {
    /// The model id as given (`provider/model`).
    pub model: String,
    /// The router deployment the model stood for (`model_info.id`, else `group#index`),
    /// when the call went through a router group.
    pub deployment: Option<String>,
    /// The provider name.
    pub provider: String,
    /// `None` when the attempt succeeded.
    pub error: Option<Error>,
    /// The HTTP status, when a response head arrived.
    pub status: Option<u16>,
    /// The wait (backoff or Retry-After) before this attempt was sent.
    pub waited: Duration,
    /// From sending the request to the attempt's end (its whole body, or its failure); zero
    /// for a model that was skipped without sending (no key, a request it cannot take).
    pub took: Duration,
}

impl Attempt {
    /// The error kind, or `None` for a success.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.error.as_ref().map(Error::kind)
    }
}

/// How a call went: every attempt in order, on every model tried. On a successful call's
/// output ([`ChatCompletion::report`](crate::ChatCompletion::report),
/// [`EmbeddingResponse::report`](crate::EmbeddingResponse::report),
/// [`CompletionResponse::report`](crate::CompletionResponse::report)); a failed call's
/// attempts are [`Error::attempts`].
///
/// The completion's own `model` is what the provider named; this says which of the models
/// you listed answered, and what failed before it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallReport {
    /// Every attempt, in order; after a success the last one is the one that answered.
    /// Empty when the cache answered.
    pub attempts: Vec<Attempt>,
    /// Set when the client's cache answered: nothing was sent.
    pub cached: Option<CachedAnswer>,
}

/// A call the cache answered (see [`CallReport::cached`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CachedAnswer {
    /// What the answer cost when it was made; the output's `usage.cost` is 0.
    pub original_cost: Option<f64>,
    /// When it was stored.
    pub stored_at: std::time::SystemTime,
}

impl CallReport {
    /// The attempt that answered, if the call succeeded.
    pub fn answered(&self) -> Option<&Attempt> {
        self.attempts
            .last()
            .filter(|attempt| attempt.error.is_none())
    }

    /// The provider that answered.
    pub fn provider(&self) -> Option<&str> {
        self.answered().map(|attempt| attempt.provider.as_str())
    }

    /// The model id (`provider/model`, as given in the request or fallback list) that
    /// answered.
    pub fn model(&self) -> Option<&str> {
        self.answered().map(|attempt| attempt.model.as_str())
    }

    /// Whether a model other than the first one listed answered.
    pub fn fell_back(&self) -> bool {
        match (self.attempts.first(), self.answered()) {
            (Some(first), Some(answered)) => first.model != answered.model,
            _ => false,
        }
    }
}

/// Where an output keeps its [`CallReport`]: not part of the OpenAI-format JSON (never
/// serialized or deserialized), and ignored by `==` — it says how a value was obtained, not
/// what it is, so a streamed and a whole completion of the same reply still compare equal.
#[derive(Clone, Default)]
pub struct ReportSlot(Option<std::sync::Arc<CallReport>>);

impl ReportSlot {
    /// A slot holding `report`.
    pub fn new(report: CallReport) -> Self {
        ReportSlot(Some(std::sync::Arc::new(report)))
    }

    /// The report, if the value came from a call.
    pub fn get(&self) -> Option<&CallReport> {
        self.0.as_deref()
    }
}

impl PartialEq for ReportSlot {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for ReportSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.get() {
            Some(report) => write!(f, "{} attempts", report.attempts.len()),
            None => f.write_str("none"),
        }
    }
}

/// A OneLLM error: a [`ErrorKind`], a human message, and what is known of where it came from.
///
/// Never contains an API key: adapters redact the key from provider messages
/// ([`Error::redact`]), and no header is ever copied into it.
#[derive(Clone, PartialEq)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone, PartialEq)]
struct Inner {
    kind: ErrorKind,
    message: String,
    provider: Option<String>,
    model: Option<String>,
    status: Option<u16>,
    code: Option<String>,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    should_retry: Option<bool>,
    attempts: Vec<Attempt>,
    partial: Option<ChatCompletion>,
    partial_response: Option<Box<Response>>,
}

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                provider: None,
                model: None,
                status: None,
                code: None,
                request_id: None,
                retry_after: None,
                should_retry: None,
                attempts: Vec::new(),
                partial: None,
                partial_response: None,
            }),
        }
    }

    /// A `Decode` error for a payload that failed to parse, quoting a bounded excerpt.
    pub fn decode(what: &str, cause: impl fmt::Display, payload: &[u8]) -> Self {
        Error::new(
            ErrorKind::Decode,
            format!("{what}: {cause}; payload: {}", excerpt(payload)),
        )
    }

    /// The error for a whole response body that failed to parse as JSON: `Truncated` when the
    /// JSON ended mid-value (the body was cut short, which another attempt may not be),
    /// otherwise `Decode`. Both quote a bounded excerpt.
    pub fn body_json(what: &str, cause: serde_json::Error, body: &[u8]) -> Self {
        let error = Error::decode(what, &cause, body);
        if cause.is_eof() {
            error.with_kind(ErrorKind::Truncated)
        } else {
            error
        }
    }

    /// A `Configuration` error.
    pub fn configuration(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Configuration, message)
    }

    /// An `Unsupported` error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unsupported, message)
    }

    /// A `Truncated` error for a body that ended before the terminal marker.
    pub fn truncated(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Truncated, message)
    }

    /// Builds the error for an HTTP error response (or an error object inside a stream, with
    /// `status` `None`). `code` is the provider's error type or code and `message` its
    /// human message, as the adapter extracted them from its body format; when `message` is
    /// `None` the body is quoted (bounded). Headers give Retry-After, `x-should-retry` and
    /// the request id.
    pub fn from_http(
        status: Option<StatusCode>,
        headers: &HeaderMap,
        code: Option<&str>,
        message: Option<&str>,
        body: &[u8],
    ) -> Self {
        let message = match message {
            Some(message) if !message.is_empty() => bounded(message),
            _ if body.is_empty() => status
                .map(|s| format!("HTTP {s}"))
                .unwrap_or_else(|| "error without a message".to_owned()),
            _ => excerpt(body),
        };
        let kind = classify(status, code, &message);
        let mut error = Error::new(kind, message);
        error.inner.status = status.map(|s| s.as_u16());
        error.inner.code = code.map(str::to_owned);
        error.inner.retry_after = retry_after(headers);
        error.inner.should_retry = should_retry(headers);
        error.inner.request_id = request_id(headers);
        if code.is_some_and(|c| c.eq_ignore_ascii_case("insufficient_quota"))
            && error.inner.should_retry.is_none()
        {
            // OpenAI answers 429 for an exhausted quota too: waiting will not refill it.
            error.inner.should_retry = Some(false);
        }
        error
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The human message (without provider, model and status, which `Display` adds).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The provider name, when known.
    pub fn provider(&self) -> Option<&str> {
        self.inner.provider.as_deref()
    }

    /// The model id, when known.
    pub fn model(&self) -> Option<&str> {
        self.inner.model.as_deref()
    }

    /// The HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The provider's error type or code (`rate_limit_error`, `context_length_exceeded`).
    pub fn code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }

    /// The provider's request id (`x-request-id`, `request-id`), for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// How long the provider asked to wait before retrying.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// What the provider's `x-should-retry` header said, if it said anything.
    pub fn should_retry_header(&self) -> Option<bool> {
        self.inner.should_retry
    }

    /// Whether retrying the same model may help: the kind's answer, unless the provider's
    /// `x-should-retry` header said otherwise.
    pub fn is_retryable(&self) -> bool {
        self.inner
            .should_retry
            .unwrap_or_else(|| self.inner.kind.is_retryable())
    }

    /// Whether trying the next fallback model may help.
    pub fn should_fallback(&self) -> bool {
        self.inner.kind.should_fallback()
    }

    /// Every attempt of the call, for `AllFailed`, `Timeout` and `StreamInterrupted` errors
    /// that end a call.
    pub fn attempts(&self) -> &[Attempt] {
        &self.inner.attempts
    }

    /// What had been received before a stream was interrupted.
    pub fn partial_completion(&self) -> Option<&ChatCompletion> {
        self.inner.partial.as_ref()
    }

    /// What a Responses API stream had delivered before it was interrupted: the response as
    /// far as its events built it.
    pub fn partial_response(&self) -> Option<&Response> {
        self.inner.partial_response.as_deref()
    }

    /// Sets the provider and model this error concerns (kept if already set).
    pub fn with_origin(mut self, provider: &str, model: &str) -> Self {
        if self.inner.provider.is_none() {
            self.inner.provider = Some(provider.to_owned());
        }
        if self.inner.model.is_none() {
            self.inner.model = Some(model.to_owned());
        }
        self
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// Sets the status and the request id of the response an error came from, where the
    /// error does not say them already: for errors found in a 2xx body.
    pub(crate) fn with_response_head(mut self, status: StatusCode, headers: &HeaderMap) -> Self {
        if self.inner.status.is_none() {
            self.inner.status = Some(status.as_u16());
        }
        if self.inner.request_id.is_none() {
            self.inner.request_id = request_id(headers);
        }
        self
    }

    /// Sets the Retry-After duration.
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.inner.retry_after = retry_after;
        self
    }

    /// Sets the attempts record.
    pub fn with_attempts(mut self, attempts: Vec<Attempt>) -> Self {
        self.inner.attempts = attempts;
        self
    }

    /// Sets the partial completion of an interrupted stream.
    pub fn with_partial(mut self, partial: ChatCompletion) -> Self {
        self.inner.partial = Some(partial);
        self
    }

    /// Sets the partial response of an interrupted Responses API stream.
    pub fn with_partial_response(mut self, partial: Response) -> Self {
        self.inner.partial_response = Some(Box::new(partial));
        self
    }

    /// Changes the kind, keeping everything else (e.g. `Truncated` → `StreamInterrupted`).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.inner.kind = kind;
        self
    }

    /// [`Error::redact`] with a provider's key, if it has one: what every adapter does to the
    /// errors it returns.
    pub(crate) fn without_key(self, key: Option<&ApiKey>) -> Self {
        match key {
            Some(key) => self.redact(key.expose()),
            None => self,
        }
    }

    /// Replaces every occurrence of `secret` in the message with `[REDACTED]`. Adapters call
    /// this with their API key, because some providers echo the key back in error text.
    pub fn redact(mut self, secret: &str) -> Self {
        if secret.len() >= 4 && self.inner.message.contains(secret) {
            self.inner.message = self.inner.message.replace(secret, "[REDACTED]");
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.inner.kind, self.inner.message)?;
        let mut context = Vec::new();
        if let Some(provider) = &self.inner.provider {
            context.push(format!("provider {provider}"));
        }
        if let Some(model) = &self.inner.model {
            context.push(format!("model {model}"));
        }
        if let Some(status) = self.inner.status {
            context.push(format!("status {status}"));
        }
        if let Some(id) = &self.inner.request_id {
            context.push(format!("request id {id}"));
        }
        if !context.is_empty() {
            write!(f, " ({})", context.join(", "))?;
        }
        if !self.inner.attempts.is_empty() && self.inner.kind == ErrorKind::AllFailed {
            write!(f, "; attempts:")?;
            for attempt in &self.inner.attempts {
                match &attempt.error {
                    Some(error) => write!(f, " [{} {}]", attempt.model, error.kind())?,
                    None => write!(f, " [{} ok]", attempt.model)?,
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut debug = f.debug_struct("Error");
        debug
            .field("kind", &inner.kind)
            .field("message", &inner.message);
        for (name, value) in [
            ("provider", &inner.provider),
            ("model", &inner.model),
            ("code", &inner.code),
            ("request_id", &inner.request_id),
        ] {
            if let Some(value) = value {
                debug.field(name, value);
            }
        }
        if let Some(status) = inner.status {
            debug.field("status", &status);
        }
        if let Some(retry_after) = inner.retry_after {
            debug.field("retry_after", &retry_after);
        }
        if !inner.attempts.is_empty() {
            debug.field("attempts", &inner.attempts);
        }
        if inner.partial.is_some() {
            debug.field("partial", &inner.partial);
        }
        if inner.partial_response.is_some() {
            debug.field("partial_response", &inner.partial_response);
        }
        debug.finish()
    }
}

impl std::error::Error for Error {}

/// Decides the kind of an error from what the provider said: phrases that mean "context
/// window" or "content filter" win (providers send those as plain 400s); then the HTTP status
/// (with the provider's code refining a generic 400/422); without a status (an error inside a
/// stream) the code alone, and an unknown in-stream error counts as the server failing.
fn classify(status: Option<StatusCode>, code: Option<&str>, message: &str) -> ErrorKind {
    let lower = message.to_ascii_lowercase();
    let code_kind = code.and_then(ErrorKind::from_error_code);
    // Bedrock throttles with "Too many tokens, please wait before trying again.": a rate
    // limit, whatever the wording says.
    let throttled = code_kind == Some(ErrorKind::RateLimit)
        || status.is_some_and(|status| status == StatusCode::TOO_MANY_REQUESTS);
    if code_kind == Some(ErrorKind::ContextWindowExceeded)
        || (!throttled && CONTEXT_WINDOW_PHRASES.iter().any(|p| lower.contains(p)))
    {
        return ErrorKind::ContextWindowExceeded;
    }
    if code_kind == Some(ErrorKind::ContentFilter)
        || CONTENT_FILTER_PHRASES.iter().any(|p| lower.contains(p))
    {
        return ErrorKind::ContentFilter;
    }
    match status {
        Some(status) => {
            let by_status = ErrorKind::from_status(status);
            match (by_status, code_kind) {
                (ErrorKind::InvalidRequest, Some(kind)) if status.as_u16() == 400 => kind,
                (ErrorKind::Decode, Some(kind)) => kind,
                _ => by_status,
            }
        }
        None => code_kind.unwrap_or(ErrorKind::ServiceUnavailable),
    }
}

/// A bounded, UTF-8-safe quote of a payload: at most [`EXCERPT_LIMIT`] bytes, with the total
/// length said when cut.
pub fn excerpt(payload: &[u8]) -> String {
    let text = String::from_utf8_lossy(payload);
    let trimmed = text.trim();
    if trimmed.len() <= EXCERPT_LIMIT {
        return trimmed.to_owned();
    }
    let mut end = EXCERPT_LIMIT;
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &trimmed[..end], payload.len())
}

fn bounded(message: &str) -> String {
    if message.len() <= EXCERPT_LIMIT * 4 {
        message.to_owned()
    } else {
        excerpt(message.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn classification() {
        let none = HeaderMap::new();
        let of = |status: Option<u16>, code: Option<&str>, message: &str| {
            Error::from_http(
                status.map(|s| StatusCode::from_u16(s).unwrap()),
                &none,
                code,
                Some(message),
                b"",
            )
            .kind()
        };
        assert_eq!(of(Some(401), None, "bad key"), ErrorKind::Authentication);
        assert_eq!(of(Some(429), None, "slow down"), ErrorKind::RateLimit);
        assert_eq!(
            of(Some(529), Some("overloaded_error"), "Overloaded"),
            ErrorKind::ServiceUnavailable
        );
        assert_eq!(
            of(
                Some(400),
                Some("invalid_request_error"),
                "prompt is too long: 210000 tokens > 200000 maximum"
            ),
            ErrorKind::ContextWindowExceeded
        );
        assert_eq!(
            of(Some(400), Some("context_length_exceeded"), "x"),
            ErrorKind::ContextWindowExceeded
        );
        assert_eq!(of(Some(400), None, "bad"), ErrorKind::InvalidRequest);
        assert_eq!(of(Some(402), None, "pay"), ErrorKind::InvalidRequest);
        assert_eq!(of(Some(413), None, "too big"), ErrorKind::InvalidRequest);
        assert_eq!(
            of(None, Some("overloaded_error"), "Overloaded"),
            ErrorKind::ServiceUnavailable
        );
        assert_eq!(
            of(None, Some("rate_limit_exceeded"), "x"),
            ErrorKind::RateLimit
        );
        assert_eq!(of(None, None, "?"), ErrorKind::ServiceUnavailable);
    }

    #[test]
    fn should_retry_header_overrides_kind() {
        let error = Error::from_http(
            Some(StatusCode::BAD_REQUEST),
            &headers(&[("x-should-retry", "true"), ("request-id", "req_1")]),
            None,
            None,
            b"{}",
        );
        assert!(error.is_retryable());
        assert_eq!(error.request_id(), Some("req_1"));
        let quota = Error::from_http(
            Some(StatusCode::TOO_MANY_REQUESTS),
            &HeaderMap::new(),
            Some("insufficient_quota"),
            Some("You exceeded your current quota"),
            b"",
        );
        assert!(!quota.is_retryable());
        assert!(quota.should_fallback());
    }

    #[test]
    fn excerpt_is_bounded_and_char_safe() {
        let long = "é".repeat(1000);
        let quoted = excerpt(long.as_bytes());
        assert!(quoted.len() < EXCERPT_LIMIT + 40);
        assert!(quoted.ends_with("(2000 bytes)"));
    }

    #[test]
    fn json_cut_short_is_truncated_not_decode() {
        let cut = serde_json::from_slice::<serde_json::Value>(b"{\"id\": \"x").unwrap_err();
        assert_eq!(
            Error::body_json("reply", cut, b"{\"id\": \"x").kind(),
            ErrorKind::Truncated
        );
        let bad = serde_json::from_slice::<serde_json::Value>(b"{\"id\": nope}").unwrap_err();
        assert_eq!(
            Error::body_json("reply", bad, b"{\"id\": nope}").kind(),
            ErrorKind::Decode
        );
    }

    #[test]
    fn redact_removes_key() {
        let error = Error::new(
            ErrorKind::Authentication,
            "Incorrect API key provided: sk-test-123456",
        );
        let shown = format!(
            "{} {:?}",
            error.clone().redact("sk-test-123456"),
            error.redact("sk-test-123456")
        );
        assert!(!shown.contains("sk-test-123456"));
    }
}
