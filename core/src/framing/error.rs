//! Errors shared by the framing decoders.

use std::fmt;

/// Why a framing decoder gave up on a stream.
///
/// Decoders are bounded so that a misbehaving or hostile peer cannot make
/// them buffer without limit; these errors report which bound was crossed.
/// Messages never include payload bytes, so they are safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FramingError {
    /// A single line (excluding its terminator) grew past `limit` bytes
    /// before a line end arrived.
    LineTooLong {
        /// The configured maximum line length in bytes.
        limit: usize,
    },
    /// The data accumulated for one event grew past `limit` bytes before the
    /// event was dispatched.
    EventTooLarge {
        /// The configured maximum event data size in bytes.
        limit: usize,
    },
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LineTooLong { limit } => {
                write!(f, "stream line exceeds the limit of {limit} bytes")
            }
            Self::EventTooLarge { limit } => {
                write!(f, "stream event data exceeds the limit of {limit} bytes")
            }
        }
    }
}

impl std::error::Error for FramingError {}
