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
    /// An event stream message declared a total length above `limit` bytes.
    MessageTooLarge {
        /// The total length the prelude declared, in bytes.
        length: usize,
        /// The configured maximum message length in bytes.
        limit: usize,
    },
    /// An event stream prelude's lengths cannot describe a message (shorter than its own
    /// prelude and CRC, or headers longer than the message).
    BadMessageLength {
        /// The total message length the prelude declared, in bytes.
        total: usize,
        /// The header block length the prelude declared, in bytes.
        headers_len: usize,
    },
    /// An event stream prelude failed its CRC32 check.
    PreludeCrc {
        /// The CRC32 the message carries.
        expected: u32,
        /// The CRC32 of the prelude's bytes as received.
        actual: u32,
    },
    /// An event stream message failed its CRC32 check.
    MessageCrc {
        /// The CRC32 the message carries.
        expected: u32,
        /// The CRC32 of the message's bytes as received.
        actual: u32,
    },
    /// An event stream header block is malformed.
    BadHeader {
        /// What is wrong with it (never the header's value).
        reason: String,
    },
    /// The body ended inside an event stream message, `buffered` bytes into it.
    MessageTruncated {
        /// The bytes of the unfinished message received before the end.
        buffered: usize,
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
            Self::MessageTooLarge { length, limit } => write!(
                f,
                "event stream message of {length} bytes exceeds the limit of {limit} bytes"
            ),
            Self::BadMessageLength { total, headers_len } => write!(
                f,
                "event stream message lengths are inconsistent (total {total}, headers {headers_len})"
            ),
            Self::PreludeCrc { expected, actual } => write!(
                f,
                "event stream prelude CRC mismatch (expected {expected:#010x}, computed {actual:#010x})"
            ),
            Self::MessageCrc { expected, actual } => write!(
                f,
                "event stream message CRC mismatch (expected {expected:#010x}, computed {actual:#010x})"
            ),
            Self::BadHeader { reason } => write!(f, "event stream header: {reason}"),
            Self::MessageTruncated { buffered } => write!(
                f,
                "the body ended inside an event stream message ({buffered} bytes of it received)"
            ),
        }
    }
}

impl FramingError {
    /// Whether the bytes are not this framing at all, rather than a damaged, overlong or cut
    /// frame of it: an event stream prelude whose CRC or lengths do not check out, or a body
    /// that ended before a whole prelude arrived (so none was ever checked). Stream decoders
    /// use it to tell another kind of server from a broken stream.
    pub fn is_foreign(&self) -> bool {
        match self {
            Self::PreludeCrc { .. } | Self::BadMessageLength { .. } => true,
            Self::MessageTruncated { buffered } => *buffered < super::eventstream::PRELUDE_LEN,
            _ => false,
        }
    }
}

impl std::error::Error for FramingError {}
