//! The async store: one multiplexed connection shared by every task, each operation bounded
//! by the timeout as a whole (connecting included).

use std::sync::Mutex;
use std::time::Duration;

use onellm_core::store::{StoreConfig, StoreOp, StoreReply};
use onellm_core::Error;
use redis::aio::MultiplexedConnection;

/// A Redis store for an async client on tokio. Cheap to share between tasks (`Sync`).
pub struct TokioStore {
    client: redis::Client,
    password: Option<String>,
    timeout: Duration,
    /// The connection every task multiplexes on; `None` before the first operation and
    /// after one failed.
    connection: Mutex<Option<MultiplexedConnection>>,
}

impl std::fmt::Debug for TokioStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokioStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl TokioStore {
    /// A store for `config`. Connects on the first operation, not here: a store that is
    /// down does not keep the client from being built.
    pub fn open(config: &StoreConfig) -> Result<TokioStore, Error> {
        let (client, password) = super::open(config)?;
        Ok(TokioStore {
            client,
            password,
            timeout: config.timeout,
            connection: Mutex::new(None),
        })
    }

    /// Runs `op` and returns its reply, within the store's timeout (connecting included).
    pub async fn run(&self, op: StoreOp) -> Result<StoreReply, Error> {
        match tokio::time::timeout(self.timeout, self.query(&op)).await {
            Ok(Ok(value)) => super::reply(value),
            Ok(Err(error)) => {
                self.forget();
                Err(super::failure(&error, self.password.as_deref()))
            }
            Err(_) => {
                // A reply may still come on this connection: start afresh.
                self.forget();
                Err(super::timed_out(self.timeout))
            }
        }
    }

    async fn query(&self, op: &StoreOp) -> redis::RedisResult<redis::Value> {
        let shared = self
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let mut connection = match shared {
            Some(connection) => connection,
            None => {
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout));
                let connection = self
                    .client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await?;
                *self
                    .connection
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(connection.clone());
                connection
            }
        };
        super::command(op).query_async(&mut connection).await
    }

    fn forget(&self) {
        *self
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }
}
