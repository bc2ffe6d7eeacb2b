//! The [shared store](onellm_core::store) on Redis, for OneLLM's transports.
//!
//! The core writes each store operation as one Redis command
//! ([`StoreOp`]); this crate runs it with the
//! [`redis`] crate and hands back the reply — with the sync API for `onellm-blocking`
//! (feature `blocking`, no async runtime) and the async one for `onellm-tokio` (feature
//! `tokio`). The connection set-up, the bound on each operation and the translation of
//! replies and errors are written here once for both.
//!
//! Every operation is bounded by the store's timeout (50 ms unless configured): connecting,
//! and each command's reply. A connection that failed or timed out is dropped, the next
//! operation opens a new one. Errors never quote the URL (it may hold a password).

#[cfg(feature = "blocking")]
mod blocking;
#[cfg(feature = "tokio")]
mod tokio_store;

#[cfg(feature = "blocking")]
pub use self::blocking::BlockingStore;
#[cfg(feature = "tokio")]
pub use self::tokio_store::TokioStore;

use onellm_core::store::{StoreConfig, StoreOp, StoreReply};
use onellm_core::{Error, ErrorKind};

/// A Redis client for `config` (nothing is connected yet), and the password to keep out of
/// errors.
#[allow(dead_code)] // Used by either store; both are features.
fn open(config: &StoreConfig) -> Result<(redis::Client, Option<String>), Error> {
    let url = config.url.expose();
    // Not quoted: the URL may carry a password.
    let client = redis::Client::open(url).map_err(|_| {
        Error::configuration(
            "the shared store's address is not a Redis URL \
             (redis://[user:password@]host:port[/db])",
        )
    })?;
    Ok((client, password_of(url)))
}

/// The password part of a `redis://user:password@host` URL.
fn password_of(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let (userinfo, _) = rest.split_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then(|| password.to_owned())
}

/// The command `op` stands for.
#[allow(dead_code)]
fn command(op: &StoreOp) -> redis::Cmd {
    let mut parts = op.command().iter();
    let name = parts
        .next()
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .unwrap_or_default();
    let mut command = redis::cmd(&name);
    for arg in parts {
        command.arg(arg.as_slice());
    }
    command
}

/// The core's view of a Redis reply.
#[allow(dead_code)]
fn reply(value: redis::Value) -> Result<StoreReply, Error> {
    use redis::Value;
    Ok(match value {
        Value::Nil => StoreReply::Nil,
        Value::Int(value) => StoreReply::Integer(value),
        Value::BulkString(bytes) => StoreReply::Bytes(bytes),
        Value::SimpleString(text) => StoreReply::Status(text),
        Value::Okay => StoreReply::Status("OK".to_owned()),
        Value::Double(value) => StoreReply::Double(value),
        Value::Boolean(value) => StoreReply::Integer(i64::from(value)),
        Value::VerbatimString { text, .. } => StoreReply::Bytes(text.into_bytes()),
        Value::Array(items) | Value::Set(items) => {
            StoreReply::Array(items.into_iter().map(reply).collect::<Result<_, _>>()?)
        }
        Value::Attribute { data, .. } => reply(*data)?,
        Value::ServerError(error) => {
            return Err(Error::new(
                ErrorKind::UnexpectedResponse,
                format!("the shared store refused the command: {error}"),
            ))
        }
        other => {
            return Err(Error::new(
                ErrorKind::Decode,
                format!("the shared store answered with an unexpected kind of value: {other:?}")
                    .chars()
                    .take(200)
                    .collect::<String>(),
            ))
        }
    })
}

/// The core's error for a failed Redis operation, without the password.
#[allow(dead_code)]
fn failure(error: &redis::RedisError, password: Option<&str>) -> Error {
    let kind = if error.is_timeout() {
        ErrorKind::Timeout
    } else if error.is_io_error() || error.is_connection_dropped() || error.is_connection_refusal()
    {
        ErrorKind::Connection
    } else {
        ErrorKind::UnexpectedResponse
    };
    let mut message = format!("the shared store (Redis) failed: {error}");
    if let Some(password) = password {
        message = message.replace(password, "[REDACTED]");
    }
    Error::new(kind, message)
}

/// The error for an operation that ran out of its time.
#[allow(dead_code)]
fn timed_out(config_timeout: std::time::Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("the shared store (Redis) did not answer within {config_timeout:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_found_and_never_quoted() {
        assert_eq!(
            password_of("redis://:hunter2@127.0.0.1:6379").as_deref(),
            Some("hunter2")
        );
        assert_eq!(password_of("redis://127.0.0.1:6379"), None);
        let config = StoreConfig::redis("not a url :hunter2@");
        let error = open(&config).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Configuration);
        assert!(!error.to_string().contains("hunter2"));
    }

    #[test]
    fn replies_keep_their_shape() {
        use redis::Value;
        let value = Value::Array(vec![Value::Int(1), Value::Nil, Value::Okay]);
        assert_eq!(
            reply(value).unwrap(),
            StoreReply::Array(vec![
                StoreReply::Integer(1),
                StoreReply::Nil,
                StoreReply::Status("OK".into())
            ])
        );
    }
}
