//! [`client_basics!`](crate::client_basics): the part of every transport's `Client` that does
//! not depend on the transport, written once.

/// Writes the transport-independent part of a transport's `Client` type: `Debug` (the
/// engine's, which redacts keys; never the HTTP client's), `from_env()`, `builder()`,
/// `registry()` and `with_overrides()`. `$krate` is the transport crate's name (for the
/// examples), `$client` its client type, which implements
/// [`Transport`](crate::client::Transport) with `Client = Self` and is `Clone`;
/// `$($engine).+` is the field path of its [`Engine`](crate::client::Engine) (`engine`). The typed calls (`chat`, …) stay in the transport, because their
/// signatures differ (blocking or async) and so do their examples.
#[macro_export]
macro_rules! client_basics {
    ($krate:ident, $client:ident, $($engine:ident).+) => {
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

            /// The client's spending limit and what its calls have cost so far (in the
            /// current period), or `None` for a client without a
            /// [`budget`](crate::client::ClientBuilder::budget).
            pub fn budget(&self) -> ::std::option::Option<$crate::client::BudgetStatus> {
                self.$($engine).+
                    .budget()
                    .map(|budget| {
                        budget.status(<$client as $crate::client::Transport>::wall_clock())
                    })
            }

            /// The model catalog: context windows, prices and capabilities per model.
            pub fn catalog(&self) -> &$crate::catalog::Catalog {
                self.$($engine).+.catalog()
            }

            /// The prompt tokens `request` takes on its model (exact for OpenAI models with
            /// the `tokenizer` feature, else an estimate; see
            #[doc = concat!("[`tokens`](", stringify!($krate), "::tokens)).")]
            pub fn count_tokens(&self, request: &$crate::ChatRequest) -> $crate::tokens::TokenCount {
                let model = self.$($engine).+.catalog().resolve_bare(&request.model);
                $crate::tokens::count_chat(model.as_deref().unwrap_or(&request.model), request)
            }

            /// A view of this client whose calls use `overrides` over its provider settings —
            /// a tenant's own API key, base URL, headers or options — and share everything
            /// else: the connection pool, timeouts, retries, observer. Cheap (one copy of the
            /// provider settings): make one per tenant or per request.
            ///
            /// Nothing in a request's JSON can do this: overrides come only from code.
            ///
            /// ```
            /// # fn tenant_key() -> String { "sk-tenant".into() }
            #[doc = concat!("use ", stringify!($krate), "::{ChatRequest, Client, Overrides};")]
            ///
            /// let client = Client::builder().build()?; // shared by every tenant
            /// let tenant = client.with_overrides(Overrides::new().api_key("openai", tenant_key()));
            /// let request = ChatRequest::new("openai/gpt-4o-mini").user("Hi");
            /// // tenant.chat(request) sends with the tenant's key, over the client's pool.
            #[doc = concat!("# Ok::<(), ", stringify!($krate), "::Error>(())")]
            /// ```
            pub fn with_overrides(&self, overrides: $crate::client::Overrides) -> $client {
                let mut view = self.clone();
                view.$($engine).+ = self.$($engine).+.with_overrides(&overrides);
                view
            }
        }
    };
}
