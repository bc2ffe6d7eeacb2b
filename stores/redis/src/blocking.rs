//! The sync store: a few pooled connections, each read and write bounded by the timeout.

use std::sync::Mutex;
use std::time::Duration;

use onellm_core::store::{StoreConfig, StoreOp, StoreReply};
use onellm_core::Error;

/// Connections kept open between operations: one per thread that uses the store at once,
/// up to this many.
const MAX_IDLE: usize = 8;

/// A Redis store for a blocking client. Cheap to share between threads (`Sync`).
pub struct BlockingStore {
    client: redis::Client,
    password: Option<String>,
    timeout: Duration,
    idle: Mutex<Vec<redis::Connection>>,
}

impl std::fmt::Debug for BlockingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl BlockingStore {
    /// A store for `config`. Connects on the first operation, not here: a store that is
    /// down does not keep the client from being built.
    pub fn open(config: &StoreConfig) -> Result<BlockingStore, Error> {
        let (client, password) = super::open(config)?;
        Ok(BlockingStore {
            client,
            password,
            timeout: config.timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Runs `op` and returns its reply. Connecting, writing and reading are each bounded
    /// by the store's timeout.
    pub fn run(&self, op: &StoreOp) -> Result<StoreReply, Error> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let mut connection = match pooled {
            Some(connection) => connection,
            None => self.connect()?,
        };
        let value = super::command(op)
            .query::<redis::Value>(&mut connection)
            .map_err(|error| super::failure(&error, self.password.as_deref()))?;
        // Only a connection that answered goes back (a failed one is dropped: closed).
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(connection);
        }
        drop(idle);
        super::reply(value)
    }

    fn connect(&self) -> Result<redis::Connection, Error> {
        let fail = |error: redis::RedisError| super::failure(&error, self.password.as_deref());
        let connection = self
            .client
            .get_connection_with_timeout(self.timeout)
            .map_err(fail)?;
        connection
            .set_read_timeout(Some(self.timeout))
            .map_err(fail)?;
        connection
            .set_write_timeout(Some(self.timeout))
            .map_err(fail)?;
        Ok(connection)
    }
}
