//! [`client_basics!`](crate::client_basics): the part of every transport's `Client` that does
//! not depend on the transport, written once.

/// Writes the transport-independent part of a transport's `Client` type: `Debug` (the
/// engine's, which redacts keys; never the HTTP client's), `from_env()`, `builder()` and
/// `registry()`. `$client` must implement [`Transport`](crate::client::Transport) with
/// `Client = Self`; `$($engine).+` is the field path of its [`Engine`](crate::client::Engine)
/// (`inner.engine`). The typed calls (`chat`, …) stay in the transport, because their
/// signatures differ (blocking or async) and so do their examples.
#[macro_export]
macro_rules! client_basics {
    ($client:ident, $($engine:ident).+) => {
        /// Shows the engine (whose `Debug` redacts keys), not the HTTP client.
        impl ::std::fmt::Debug for $client {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_tuple(stringify!($client))
                    .field(&self.$($engine).+)
                    .finish()
            }
        }

        impl $client {
            /// A client configured from the environment only (`OPENAI_API_KEY`,
            /// `ANTHROPIC_BASE_URL`, `ONELLM_TIMEOUT`, …; see [`Registry`](crate::Registry)).
            ///
            /// Equivalent to `Client::builder().from_env().build()`.
            pub fn from_env() -> ::std::result::Result<$client, $crate::Error> {
                Self::builder().from_env().build()
            }

            /// A builder for a client with explicit settings.
            pub fn builder() -> $crate::client::ClientBuilder<$client> {
                $crate::client::ClientBuilder::new()
            }

            /// The provider registry this client resolves model ids with.
            pub fn registry(&self) -> &$crate::Registry {
                self.$($engine).+.registry()
            }
        }
    };
}
