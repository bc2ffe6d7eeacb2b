//! The [`Engine`]: a built client's configuration, and the one place calls are started.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::budget::Budget;
use super::cached::{Cache, Caching, Found};
use super::event::CallEvent;
use super::overrides::Overrides;
use super::preflight::{Checker, Preflight};
use super::routed::{self, Router, Tracking};
use super::seed::SeedSequence;
use crate::cache::{tenant_fingerprint, CacheSettings};
use crate::call::{Action, Call, CallOptions, Operation, Output};
use crate::catalog::{Catalog, ModelInfo};
use crate::error::{excerpt, CachedAnswer, CallReport, Error, ErrorKind, ReportSlot};
use crate::registry::Registry;
use crate::router::RouterConfig;
use crate::store::{SharedStore, StoreConfig, StoreOp, StoreReply};
use crate::types::{
    ChatCompletion, ChatCompletionChunk, ChatRequest, CompletionRequest, CompletionResponse,
    EmbeddingRequest, EmbeddingResponse, Response, ResponseStreamEvent, ResponsesRequest,
};

/// Receives every [`CallEvent`] of a client's calls; see
/// [`ClientBuilder::on_event`](super::ClientBuilder::on_event).
pub type EventObserver = Arc<dyn Fn(&CallEvent) + Send + Sync>;

/// What a built client owns, whatever its transport: the provider registry, the model
/// catalog, the call defaults, the jitter seed sequence and the event observer. It creates
/// every [`Call`] (like quinn-proto's `Endpoint` creates connections), so the per-call rules
/// — bare model names, the stream flags, the seeds, the options each call starts from, the
/// cost of what comes back — are written once, here.
///
/// - **Bare model names**: a model id without a provider prefix (the request's, its
///   fallbacks', the client's fallbacks') that the [catalog](crate::catalog) knows becomes
///   its full id (`gpt-4o-mini` → `openai/gpt-4o-mini`) before the call starts; an unknown
///   one fails the call with a `Configuration` error that says to add the prefix.
/// - **Checks before sending**: each model of the chain whose catalog entry says the prompt
///   cannot fit its context window, or that it lacks what the request needs (tools, a JSON
///   schema, reasoning, images), is skipped with `context_window_exceeded` or `unsupported`
///   as its attempt's error, and the call moves on to the next model; nothing is sent to it
///   ([`with_checks`](Self::with_checks); how tokens are counted: [`tokens`](crate::tokens)).
/// - **Budget**: with a [`Budget`] whose limit is spent, a call fails with
///   `budget_exceeded` before sending; every priced output (and a stream's priced usage
///   chunks) adds its cost.
/// - **Cost**: every output's usage (completion, embeddings, legacy completion) and every
///   streamed chunk carrying usage gets `usage.cost` from the catalog's prices for the
///   model that answered (see [`Catalog::for_call`]), unless the provider reported a cost
///   itself (kept as it is). A model the catalog does not price gets none.
///
/// Pure like the rest of the core: the transport passes the time (`now`, `wall_clock`) in.
///
/// ```
/// use std::time::{Instant, SystemTime};
/// use onellm_core::client::Engine;
/// use onellm_core::{CallOptions, ChatRequest, Registry};
///
/// let mut registry = Registry::new();
/// registry.set_api_key("openai", "sk-test");
/// let engine = Engine::new(registry, CallOptions::default(), Some(7), None);
/// let call = engine.chat(ChatRequest::new("openai/gpt-4o-mini").user("Hi"), Instant::now(), SystemTime::now());
/// assert!(call.attempts().is_empty());
/// ```
///
/// Cheap to clone (a few `Arc`s); [`with_overrides`](Self::with_overrides) makes an engine
/// with other provider settings that shares everything else.
#[derive(Clone)]
pub struct Engine {
    registry: Arc<Registry>,
    catalog: Arc<Catalog>,
    shared: Arc<Shared>,
    /// Shared by every view of one client, so tenants' calls spend from one limit.
    budget: Option<Arc<Budget>>,
    preflight: Preflight,
    /// Groups of deployments callers may name instead of a model.
    router: Option<Arc<Router>>,
    /// Answers kept for identical calls.
    cache: Option<Arc<Cache>>,
    /// The Redis the router and the cache share, and whether it answers.
    store: Option<Arc<SharedStore>>,
}

/// What every engine made from one client shares, whatever its provider settings.
struct Shared {
    options: CallOptions,
    seeds: SeedSequence,
    observer: Option<EventObserver>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The registry's Debug redacts keys.
        f.debug_struct("Engine")
            .field("registry", &self.registry)
            .field("catalog", &self.catalog)
            .field("options", &self.shared.options)
            .field("budget", &self.budget)
            .field("preflight", &self.preflight)
            .field(
                "observer",
                &self.shared.observer.as_ref().map(|_| "[callback]"),
            )
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine resolving models with `registry`, starting every call from `options`,
    /// seeding jitter from `seed` (or the wall clock when `None`) and reporting events to
    /// `observer`, with the built-in [`Catalog`] (see [`with_catalog`](Self::with_catalog)).
    pub fn new(
        registry: Registry,
        options: CallOptions,
        seed: Option<u64>,
        observer: Option<EventObserver>,
    ) -> Self {
        Engine {
            registry: Arc::new(registry),
            catalog: Arc::new(Catalog::builtin()),
            shared: Arc::new(Shared {
                options,
                seeds: SeedSequence::new(seed),
                observer,
            }),
            budget: None,
            preflight: Preflight::default(),
            router: None,
            cache: None,
            store: None,
        }
    }

    /// This engine with `overrides` applied over its provider settings: same call defaults,
    /// seeds and observer, and (in a transport) the same connection pool. Costs one copy of
    /// the registry's settings, so make one per tenant or per request, not per chunk.
    ///
    /// A Bedrock credentials callback given to the builder keeps signing Bedrock calls;
    /// override Bedrock's static keys only on clients without one.
    pub fn with_overrides(&self, overrides: &Overrides) -> Engine {
        if overrides.is_empty() {
            return self.clone();
        }
        let mut registry = Registry::clone(&self.registry);
        overrides.apply(&mut registry);
        Engine {
            registry: Arc::new(registry),
            ..self.clone()
        }
    }

    /// This engine with another model catalog (prices, bare names).
    #[must_use]
    pub fn with_catalog(mut self, catalog: impl Into<Arc<Catalog>>) -> Engine {
        self.catalog = catalog.into();
        self
    }

    /// This engine with a spending limit (see [`Budget`]).
    #[must_use]
    pub fn with_budget(mut self, budget: impl Into<Arc<Budget>>) -> Engine {
        self.budget = Some(budget.into());
        self
    }

    /// This engine with a router: a call whose model names a group of `config` goes to the
    /// group's deployments in the order its [plan](crate::router::RouterState::plan) gives (each with its
    /// own key, base URL and options over this engine's), then to its fallbacks; each
    /// attempt's outcome updates the router's cooldowns, minute counters and latencies. Call
    /// after every other setting of the registry (the deployments' registries are made from
    /// it now).
    ///
    /// With `redis_url` (or `redis_host`/`redis_port`) its state goes to that Redis — the
    /// engine's [store](Self::store), shared with the cache; a client has one.
    #[must_use]
    pub fn with_router(mut self, config: RouterConfig) -> Engine {
        let store = config.settings.redis_url.clone().map(|url| {
            self.shared_store(StoreConfig {
                url,
                timeout: crate::store::DEFAULT_STORE_TIMEOUT,
            })
        });
        let router = Router::new(config, &self.registry, &self.catalog, store);
        self.router = Some(Arc::new(router));
        self
    }

    /// This engine with a response cache (see [`cache`](crate::cache)): an identical call
    /// is answered from it, sending nothing; a successful answer is stored. A cache on Redis
    /// uses the engine's [store](Self::store).
    #[must_use]
    pub fn with_cache(mut self, settings: CacheSettings) -> Engine {
        if let Some(config) = settings.store() {
            self.shared_store(config.clone());
        }
        self.cache = Some(Arc::new(Cache::new(settings)));
        self
    }

    /// This engine with a Redis for its shared state: a [shared budget](Budget::shared)'s
    /// spend, and the router's state and a Redis cache when they name none of their own.
    #[must_use]
    pub fn with_store(mut self, config: StoreConfig) -> Engine {
        self.shared_store(config);
        self
    }

    /// The engine's store, made for `config` when it has none yet.
    fn shared_store(&mut self, config: StoreConfig) -> Arc<SharedStore> {
        Arc::clone(
            self.store
                .get_or_insert_with(|| Arc::new(SharedStore::new(config))),
        )
    }

    /// The shared store (Redis) the transport must open for this engine's calls — the
    /// router's `redis_url` or `redis_host`/`redis_port`, or the cache's — if there is one.
    /// A transport that cannot open it fails to build, rather than ignore the shared limits.
    pub fn store(&self) -> Option<&StoreConfig> {
        self.store.as_deref().map(|store| &store.config)
    }

    /// The cache's settings, if the engine has one.
    pub fn cache(&self) -> Option<&CacheSettings> {
        self.cache.as_deref().map(Cache::settings)
    }

    /// The router's configuration, if the engine has one.
    pub fn router(&self) -> Option<&RouterConfig> {
        self.router.as_deref().map(Router::config)
    }

    /// The spending limit, if any: [`Budget::status`] tells the spend so far.
    pub fn budget(&self) -> Option<&Budget> {
        self.budget.as_deref()
    }

    /// This engine with the checks before sending on or off: each model's context window,
    /// and the capabilities the catalog says it lacks (see the [type docs](Self)). Both are
    /// on by default.
    #[must_use]
    pub fn with_checks(mut self, context_window: bool, capabilities: bool) -> Engine {
        self.preflight = Preflight {
            context_window,
            capabilities,
        };
        self
    }

    /// The model catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The providers and their settings.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The options every call starts from (a request's own `retries`, `fallback_models` and
    /// `timeout` win over them; see [`Call::new`]).
    pub fn options(&self) -> &CallOptions {
        &self.shared.options
    }

    /// A whole (non-streamed) chat call. The request's `stream` and `stream_options` are
    /// cleared: this call never streams.
    pub fn chat(
        &self,
        mut request: ChatRequest,
        now: Instant,
        wall_clock: SystemTime,
    ) -> TypedCall<ChatCompletion> {
        request.stream = None;
        request.stream_options = None;
        self.start(Operation::Chat(request), now, wall_clock)
    }

    /// A streamed chat call (`stream: true`); its output is the chunks folded together.
    pub fn chat_stream(
        &self,
        mut request: ChatRequest,
        now: Instant,
        wall_clock: SystemTime,
    ) -> TypedCall<ChatCompletion> {
        request.stream = Some(true);
        self.start(Operation::Chat(request), now, wall_clock)
    }

    /// An embeddings call.
    pub fn embeddings(
        &self,
        request: EmbeddingRequest,
        now: Instant,
        wall_clock: SystemTime,
    ) -> TypedCall<EmbeddingResponse> {
        self.start(Operation::Embeddings(request), now, wall_clock)
    }

    /// A whole (non-streamed) call to OpenAI's Responses API, sent natively where the
    /// provider speaks it and through its chat wire elsewhere. The request's `stream` is
    /// cleared.
    pub fn responses(
        &self,
        mut request: ResponsesRequest,
        now: Instant,
        wall_clock: SystemTime,
    ) -> TypedCall<Response> {
        request.stream = None;
        self.start(Operation::Responses(request), now, wall_clock)
    }

    /// A streamed call to the Responses API (`stream: true`); its output is the events
    /// folded together.
    pub fn responses_stream(
        &self,
        mut request: ResponsesRequest,
        now: Instant,
        wall_clock: SystemTime,
    ) -> TypedCall<Response> {
        request.stream = Some(true);
        self.start(Operation::Responses(request), now, wall_clock)
    }

    /// A legacy completions call.
    pub fn completions(
        &self,
        request: CompletionRequest,
        now: Instant,
        wall_clock: SystemTime,
    ) -> TypedCall<CompletionResponse> {
        self.start(Operation::Completions(request), now, wall_clock)
    }

    pub(super) fn start<T: CallOutput>(
        &self,
        mut operation: Operation,
        now: Instant,
        wall_clock: SystemTime,
    ) -> TypedCall<T> {
        let mut options = CallOptions {
            wall_clock: Some(wall_clock),
            ..self.shared.options.clone()
        };
        self.complete_id(operation.model_mut());
        let fallbacks = match operation.fallback_models_mut() {
            Some(own) => own,
            None => &mut options.fallback_models,
        };
        for id in fallbacks {
            self.complete_id(id);
        }
        let seed = self.shared.seeds.next(wall_clock);
        let refusal = self
            .budget
            .as_ref()
            .and_then(|budget| budget.check(wall_clock).err());
        let router = self
            .router
            .as_ref()
            .filter(|router| router.routes(operation.model()));
        // The cache: a hit in memory answers now; one in Redis is looked up first thing.
        let mut caching = self.cache.as_ref().and_then(|cache| {
            let target = operation.model();
            let tenant = match router {
                Some(router) => tenant_fingerprint(router.group_settings(target)),
                None => {
                    let provider = target.split_once('/').map_or("", |(provider, _)| provider);
                    tenant_fingerprint([(provider, self.registry.settings(provider))])
                }
            };
            cache.plan(&operation, target, &tenant)
        });
        let found = match &mut caching {
            Some(caching) => caching.look_in_memory(&mut operation, wall_clock),
            None => Found::Nothing,
        };
        // A spent budget still lets the cache answer: a hit costs nothing. One in memory is
        // known now; one in Redis once the lookup is done (`refusal_unless_cached`).
        let (refusal, refusal_unless_cached) = match (&found, &caching) {
            (Found::Answer(_), _) => (None, None),
            (_, Some(caching)) if caching.lookup_op().is_some() => (None, refusal),
            _ => (refusal, None),
        };
        #[cfg(feature = "tracing")]
        let span = super::span::CallSpan::new(&operation, now);
        let mut checker = Checker::new(&self.catalog, self.preflight);
        let call = match (refusal, router) {
            (Some(error), _) => refused(operation, options, seed, now, error),
            (None, Some(router)) => {
                if let Some(timeout) = router.config().settings.timeout {
                    options.total_timeout = Some(timeout);
                }
                let fallbacks = operation
                    .fallback_models()
                    .map_or_else(|| options.fallback_models.clone(), <[String]>::to_vec);
                let names = routed::names(router, &operation, &fallbacks);
                let chain =
                    router.chain(&names, &self.registry, &self.catalog, now, wall_clock, seed);
                let admit = |id: &str, op: &Operation| checker.admit(id, op);
                match chain {
                    Ok(chain) => {
                        let mut call =
                            Call::with_chain(chain, operation, options, seed, now, admit);
                        if router.store().is_some() {
                            call.require_admission();
                        }
                        call
                    }
                    Err(error) => refused(operation, options, seed, now, error),
                }
            }
            (None, None) => {
                let admit = |id: &str, op: &Operation| checker.admit(id, op);
                Call::with_admission(&self.registry, operation, options, seed, now, admit)
            }
        };
        let mut call = call;
        let mut ops = VecDeque::new();
        if let Found::Answer(output) = found {
            call.answer(*output);
        } else if let Some(op) = caching.as_ref().and_then(Caching::lookup_op) {
            ops.push_back((Purpose::CacheLookup, op));
        }
        // A shared budget: what every process spent, before anything is sent.
        let shared_budget = self
            .budget
            .as_ref()
            .filter(|_| self.store.is_some() && !call.is_terminal())
            .and_then(|budget| budget.shared_key(wall_clock));
        if let Some(key) = shared_budget {
            ops.push_back((Purpose::BudgetRead, StoreOp::get(&key)));
        }
        let typed = TypedCall {
            call,
            catalog: Arc::clone(&self.catalog),
            observer: self.shared.observer.clone(),
            budget: self.budget.clone(),
            started: wall_clock,
            started_at: now,
            spent: 0.0,
            tracking: router.map(Tracking::new),
            caching,
            store: self.store.clone(),
            ops,
            awaiting: None,
            refusal_unless_cached,
            seen: 0,
            #[cfg(feature = "tracing")]
            span,
            output: PhantomData,
        };
        if typed
            .caching
            .as_ref()
            .is_some_and(|caching| caching.hit.is_some())
        {
            typed.emit(CallEvent::cached);
        }
        typed
    }

    /// Gives a bare model name the catalog knows its provider (`gpt-4o-mini` →
    /// `openai/gpt-4o-mini`). Anything else is left for [`Call::new`] to check, which
    /// rejects a bare name with an error that says to add the prefix.
    fn complete_id(&self, id: &mut String) {
        // A router group keeps its name, even one that is also a model's bare name (LiteLLM
        // users often call a group `gpt-4o`).
        if id.contains('/') || self.router.as_ref().is_some_and(|router| router.routes(id)) {
            return;
        }
        if let Some(full) = self.catalog.resolve_bare(id.trim()) {
            *id = full;
        }
    }
}

/// A call that fails with `error` before sending anything (a spent budget, a router group
/// with no deployment available).
fn refused(
    operation: Operation,
    options: CallOptions,
    seed: u64,
    now: Instant,
    error: Error,
) -> Call {
    let mut call = Call::with_chain(Vec::new(), operation, options, seed, now, |_, _| {
        Ok(crate::call::Wire::Native)
    });
    call.refuse(error);
    call
}

/// A [`Call`] whose successful end is a `T`: the engine made it for that operation, so a
/// transport never unpacks an [`Output`] of another kind. It carries the client's event
/// observer, so whatever drives it reports to the right place.
pub struct TypedCall<T> {
    call: Call,
    catalog: Arc<Catalog>,
    observer: Option<EventObserver>,
    /// The client's spending limit, which this call's cost is added to.
    budget: Option<Arc<Budget>>,
    /// The wall-clock time the call started: its cost belongs to that budget period.
    started: SystemTime,
    /// The monotonic time it started, to tell the wall clock later on.
    started_at: Instant,
    /// For a call to a router group: what to report back to the router.
    tracking: Option<Tracking>,
    /// What was already added to the budget (a stream's priced usage chunks).
    spent: f64,
    /// What the call looks up in the cache and stores there.
    caching: Option<Caching>,
    /// The client's Redis, for the router's and the cache's operations.
    store: Option<Arc<SharedStore>>,
    /// Store operations to run, in order, and what each is for.
    ops: VecDeque<(Purpose, StoreOp)>,
    /// What the store operation in flight is for.
    awaiting: Option<Purpose>,
    /// The budget refuses this call unless the cache answers it (a cached answer costs
    /// nothing): applied once the cache lookup in Redis is done.
    refusal_unless_cached: Option<Error>,
    /// Attempts already accounted for (router, spans).
    seen: usize,
    /// The call's OpenTelemetry-shaped spans.
    #[cfg(feature = "tracing")]
    span: super::span::CallSpan,
    output: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for TypedCall<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedCall")
            .field("call", &self.call)
            .finish_non_exhaustive()
    }
}

impl<T: CallOutput> TypedCall<T> {
    /// The state machine, to drive (see the [drive loop](crate::call#the-drive-loop)).
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// The state machine, to feed.
    pub fn call_mut(&mut self) -> &mut Call {
        &mut self.call
    }

    /// A stream's chunks are not folded into its final completion ([`Call::summary_only`]);
    /// such a call's answer is never stored in the cache, since it would have no text.
    pub fn summary_only(&mut self) {
        self.call.summary_only();
        if let Some(caching) = &mut self.caching {
            caching.skip_store();
        }
    }

    /// [`Call::poll`], reporting each attempt's start and end to the client's router (for a
    /// call to a router group). The drive loops poll through this, after
    /// [`poll_store`](Self::poll_store); an [`Action::Admit`] means the store has an
    /// operation to run first.
    #[must_use = "the action says what to send, await or return next"]
    pub fn poll(&mut self, now: Instant) -> Action {
        if self.awaiting.is_none() && self.ops.is_empty() {
            if let Some(error) = self.refusal_unless_cached.take() {
                // Does nothing to a call the cache answered.
                self.call.refuse(error);
            }
        }
        loop {
            // The drive loops end at `Done`: the output is moved to them, not copied.
            let action = self.call.poll_handing_over(now);
            let done = match &action {
                Action::Done(output) => Some(output),
                _ => None,
            };
            self.account(now, done);
            #[cfg(feature = "tracing")]
            self.trace(&action);
            let wall_clock = self.wall_clock(now);
            let Some(tracking) = &mut self.tracking else {
                return action;
            };
            match &action {
                Action::Admit { deployment } => {
                    let index = tracking.router.index(Some(deployment));
                    let admission = index
                        .filter(|_| tracking.router.store_usable(now))
                        .and_then(|index| {
                            Some((index, tracking.router.admission(index, wall_clock)?))
                        });
                    match admission {
                        Some((index, op)) => {
                            self.ops.push_back((Purpose::Admission(index), op));
                            return action;
                        }
                        // No store to ask (it rests after a failure): this process's own
                        // state decided, when it planned the chain.
                        None => self.call.admit(),
                    }
                }
                Action::Send(_) => {
                    let deployment = self.call.current_deployment();
                    tracking.in_flight = tracking.router.started(deployment, wall_clock);
                    return action;
                }
                _ => return action,
            }
        }
    }

    /// Starts or ends the spans `action` begins or ends (feature `tracing`).
    #[cfg(feature = "tracing")]
    fn trace(&mut self, action: &Action) {
        match action {
            Action::Send(outgoing) => {
                let previous = self.call.attempts().last();
                let deployment = self.call.current_deployment();
                self.span.sending(outgoing, previous, deployment);
            }
            Action::Failed(error) => self.span.failed(error, self.call.attempts().len()),
            _ => {}
        }
    }

    /// Reports the attempts that ended since the last look to the router: its own state at
    /// once, the shared store's through operations queued for [`poll_store`](Self::poll_store).
    /// `done` is the output just handed over by the call, which no longer holds it.
    fn account(&mut self, now: Instant, done: Option<&Output>) {
        let attempts = self.call.attempts();
        if self.seen == attempts.len() {
            return;
        }
        let wall_clock = self
            .started
            .checked_add(now.saturating_duration_since(self.started_at))
            .unwrap_or(self.started);
        let tokens = done.or(self.call.output()).map_or(0, tokens_of);
        // Only the attempt in flight (or admitted) ends between two looks before any other
        // is recorded (skipped models are recorded when nothing is in flight).
        for attempt in attempts.get(self.seen..).unwrap_or_default() {
            #[cfg(feature = "tracing")]
            self.span.attempt_ended(attempt);
            let Some(tracking) = &mut self.tracking else {
                continue;
            };
            let tokens = if attempt.error.is_none() { tokens } else { 0 };
            if let Some(index) = tracking.in_flight.take() {
                tracking.router.finished(index, attempt, now, wall_clock);
                if tokens > 0 {
                    tracking.router.used_tokens(index, tokens, wall_clock);
                }
            }
            if let Some(index) = tracking.holds_slot.take() {
                if let Some(op) = tracking
                    .router
                    .finishing(index, attempt, tokens, wall_clock)
                {
                    self.ops.push_back((Purpose::Report, op));
                }
            }
        }
        self.seen = attempts.len();
    }

    /// For a call whose drive loop is dropped (its `Drop`): the store operations that must
    /// still run — the reports of attempts that ended, and for an attempt still in flight
    /// the one that gives back the shared in-flight slot it holds. Without them the slot
    /// would stay taken until its key expires, and `max_parallel_requests` would count
    /// calls long gone. Lookups, admissions and cache writes are dropped with the call.
    pub fn ops_on_drop(&mut self, now: Instant) -> Vec<StoreOp> {
        self.account(now, None);
        let mut ops: Vec<StoreOp> = std::mem::take(&mut self.ops)
            .into_iter()
            .filter_map(|(purpose, op)| matches!(purpose, Purpose::Report).then_some(op))
            .collect();
        let wall_clock = self.wall_clock(now);
        if let Some(tracking) = &mut self.tracking {
            if let Some(index) = tracking.holds_slot.take() {
                ops.extend(tracking.router.releasing(index, wall_clock));
            }
        }
        ops
    }

    /// The next operation for the client's shared store (Redis), if the call has one: what
    /// an ended attempt did, or — when [`poll`](Self::poll) said [`Action::Admit`] — the
    /// admission that takes a router deployment's slot atomically across every process.
    /// The drive loops run it (bounded by the store's timeout), hand the answer to
    /// [`handle_store`](Self::handle_store), and poll this again before
    /// [`poll`](Self::poll); at the call's end they run what is left.
    ///
    /// `None` for calls without a router store. While the store rests after a failure its
    /// operations are dropped (an admission is then granted: the call goes on with this
    /// process's own state).
    pub fn poll_store(&mut self, now: Instant) -> Option<StoreOp> {
        self.account(now, None);
        if self.awaiting.is_some() {
            return None;
        }
        let usable = self.store.as_ref().is_some_and(|store| store.usable(now));
        while let Some((purpose, op)) = self.ops.pop_front() {
            if usable {
                self.awaiting = Some(purpose);
                return Some(op);
            }
            // A resting store: an admission is granted (this process's own state decided),
            // a lookup is a miss, and a report or write is lost — what the store missed heals
            // with the minute (rpm, tpm), the key's expiry (in flight), the cooldown window
            // (failures) or the next call's answer (the cache).
            if let Purpose::Admission(_) = purpose {
                self.call.admit();
            }
        }
        None
    }

    /// What the store answered the operation [`poll_store`](Self::poll_store) gave (an
    /// error when it failed or timed out: the call goes on without it).
    pub fn handle_store(&mut self, reply: Result<StoreReply, Error>, now: Instant) {
        let wall_clock = self.wall_clock(now);
        let Some(purpose) = self.awaiting.take() else {
            return;
        };
        let answered = |store: &Option<Arc<SharedStore>>, result: Result<(), &Error>| {
            if let Some(store) = store {
                store.answered(result, now);
            }
        };
        match purpose {
            Purpose::Report => {
                let result = reply.and_then(|reply| reply.integers("a report").map(|_| ()));
                answered(&self.store, result.as_ref().copied());
            }
            Purpose::CacheWrite => {
                let result = reply.map(|_| ());
                answered(&self.store, result.as_ref().copied());
            }
            Purpose::BudgetRead | Purpose::BudgetSpend => {
                let total = reply.and_then(|reply| {
                    StoreOp::reply_number(&reply).ok_or_else(|| {
                        Error::new(
                            ErrorKind::Decode,
                            format!(
                                "a shared budget's spend is {}",
                                excerpt(format!("{reply:?}").as_bytes())
                            ),
                        )
                    })
                });
                answered(&self.store, total.as_ref().map(|_| ()));
                let Some(budget) = &self.budget else {
                    return;
                };
                if let Ok(total) = total {
                    budget.observe_shared(total, self.started);
                }
                if let (Purpose::BudgetRead, Err(error)) = (purpose, budget.check(self.started)) {
                    self.call.refuse(error);
                }
            }
            Purpose::CacheLookup => {
                let Some(caching) = &mut self.caching else {
                    return;
                };
                let mut narrowed = self.call.operation_mut().cloned();
                let found = reply.and_then(|reply| match &mut narrowed {
                    Some(operation) => caching.read_reply(&reply, operation, wall_clock),
                    None => Ok(Found::Nothing),
                });
                answered(&self.store, found.as_ref().map(|_| ()));
                match found {
                    Ok(Found::Answer(output)) => {
                        self.call.answer(*output);
                        self.emit(CallEvent::cached);
                    }
                    Ok(Found::Part) => {
                        if let (Some(slot), Some(operation)) = (self.call.operation_mut(), narrowed)
                        {
                            *slot = operation;
                        }
                    }
                    Ok(Found::Nothing) | Err(_) => {}
                }
            }
            Purpose::Admission(index) => {
                let Some(tracking) = &mut self.tracking else {
                    return;
                };
                match tracking.router.admitted(index, reply, now, wall_clock) {
                    Ok(true) => {
                        tracking.holds_slot = Some(index);
                        self.call.admit();
                    }
                    Ok(false) => self.call.admit(),
                    Err(refusal) => self.call.skip_target(refusal, now),
                }
            }
        }
    }

    /// The wall-clock time at `now` (the call's start plus the monotonic time since).
    fn wall_clock(&self, now: Instant) -> SystemTime {
        self.started
            .checked_add(now.saturating_duration_since(self.started_at))
            .unwrap_or(self.started)
    }

    /// Every finished attempt so far.
    pub fn attempts(&self) -> &[crate::error::Attempt] {
        self.call.attempts()
    }

    /// The typed result of a call's [`Action::Done`](crate::call::Action::Done), with the
    /// call's [`CallReport`] attached (`report()` on the output) and its usage priced
    /// (`usage.cost`, see [`Engine`]).
    pub fn output(&mut self, output: Output) -> Result<T, Error> {
        let hit = self.caching.as_ref().and_then(|caching| caching.hit);
        let output = match &mut self.caching {
            Some(caching) => caching.complete(output),
            None => output,
        };
        #[cfg(feature = "tracing")]
        self.span
            .succeeded(&output, self.call.attempts().len(), hit.is_some());
        let mut output = T::from_output(output)?;
        if hit.is_none() {
            if let Some(model) = self.call.current_model() {
                output.add_cost(&|returned| self.pricing(model, returned));
            }
            // A stream's usage chunks were added as they came; the whole is added once.
            if let Some(cost) = output.cost() {
                self.spend(cost - self.spent);
            }
            if let Some(caching) = &mut self.caching {
                let stored = output.to_output();
                for op in caching.store(&stored, self.started) {
                    self.ops.push_back((Purpose::CacheWrite, op));
                }
            }
        }
        #[cfg(feature = "tracing")]
        self.span.cost(output.cost());
        output.set_report(CallReport {
            attempts: self.call.attempts().to_vec(),
            cached: hit.map(|hit| CachedAnswer {
                original_cost: hit.original_cost,
                stored_at: hit.stored_at,
            }),
        });
        Ok(output)
    }

    /// The next streamed event of a Responses call for the caller ([`Call::poll_event`]).
    /// The response the events fold into is priced at the end, as a whole one is.
    #[must_use = "an event not handed to the caller is lost"]
    pub fn poll_event(&mut self) -> Option<ResponseStreamEvent> {
        let event = self.call.poll_event()?;
        #[cfg(feature = "tracing")]
        self.span.chunk(self.call.latest());
        Some(event)
    }

    /// The next streamed item for the caller: a chat call's chunk
    /// ([`poll_chunk`](Self::poll_chunk)), a Responses call's event
    /// ([`poll_event`](Self::poll_event)).
    #[must_use = "an item not handed to the caller is lost"]
    pub fn poll_item(&mut self) -> Option<T::Item> {
        T::poll_item(self)
    }

    /// The next streamed chunk for the caller ([`Call::poll_chunk`]), its usage priced when
    /// it carries one — so the final usage chunk of a stream has `usage.cost`, like the
    /// completion the chunks fold into.
    #[must_use = "a chunk not handed to the caller is lost"]
    pub fn poll_chunk(&mut self) -> Option<ChatCompletionChunk> {
        let mut chunk = self.call.poll_chunk()?;
        #[cfg(feature = "tracing")]
        self.span.chunk(self.call.latest());
        if let (Some(usage), Some(model)) = (&mut chunk.usage, self.call.current_model()) {
            if usage.cost.is_none() {
                usage.cost = self
                    .pricing(model, &chunk.model)
                    .and_then(|info| info.cost_at(usage, chunk.service_tier.as_deref()));
            }
            if let Some(cost) = usage.cost {
                self.spend(cost);
            }
        }
        Some(chunk)
    }

    /// The prices of the answer of `model_id` (as requested) that the provider named
    /// `returned_model`: the router deployment's own prices if it has them, else the
    /// catalog's ([`Catalog::for_call`]).
    fn pricing(&self, model_id: &str, returned_model: &str) -> Option<&ModelInfo> {
        let deployment = self.call.current_deployment();
        self.tracking
            .as_ref()
            .and_then(|tracking| tracking.router.deployment_pricing(deployment))
            .or_else(|| self.catalog.for_call(model_id, returned_model))
    }

    /// Adds `cost` to the client's budget, if it has one (and to its shared spend).
    fn spend(&mut self, cost: f64) {
        if let Some(budget) = &self.budget {
            if cost > 0.0 {
                budget.record(cost, self.started);
                self.spent += cost;
                if self.store.is_some() {
                    if let Some(op) = budget.spend_op(cost, self.started) {
                        self.ops.push_back((Purpose::BudgetSpend, op));
                    }
                }
            }
        }
    }

    /// The call's span (OpenTelemetry's GenAI conventions, see `client/span.rs`): the drive
    /// loops run each step inside it, so the call's events nest in it.
    #[cfg(feature = "tracing")]
    pub fn span(&self) -> &tracing::Span {
        self.span.span()
    }

    /// Reports the event `make` builds to the client's observer and, with the `tracing`
    /// feature, to the log (the drive loops call this at each step). The event is only built
    /// when someone listens — an observer, or a subscriber taking `onellm` events — so a call
    /// nobody watches pays nothing for it.
    pub fn emit(&self, make: impl FnOnce(&Call) -> CallEvent) {
        #[cfg(feature = "tracing")]
        let logged = tracing::enabled!(target: "onellm", tracing::Level::INFO);
        #[cfg(not(feature = "tracing"))]
        let logged = false;
        if !logged && self.observer.is_none() {
            return;
        }
        let event = make(&self.call);
        #[cfg(feature = "tracing")]
        if logged {
            event.log();
        }
        if let Some(observer) = &self.observer {
            observer(&event);
        }
    }
}

impl<T> Drop for TypedCall<T> {
    fn drop(&mut self) {
        // A call dropped mid-attempt (cancelled) leaves its deployment's in-flight count.
        if let Some(tracking) = &mut self.tracking {
            if let Some(index) = tracking.in_flight.take() {
                tracking.router.abandoned(index);
            }
        }
    }
}

/// What a store operation of a call is for.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    /// Admitting the next attempt, on this router deployment.
    Admission(usize),
    /// Recording what an attempt did.
    Report,
    /// Looking the call up in the cache.
    CacheLookup,
    /// Storing its answer.
    CacheWrite,
    /// Reading a shared budget's spend.
    BudgetRead,
    /// Adding its cost to a shared budget.
    BudgetSpend,
}

/// The tokens an output's usage counts (`total_tokens`; 0 without usage).
fn tokens_of(output: &Output) -> u64 {
    match output {
        Output::Chat(completion) => completion.usage.as_ref().map(|usage| usage.total_tokens),
        Output::Embeddings(response) => response.usage.as_ref().map(|usage| usage.total_tokens),
        Output::Completions(response) => response.usage.as_ref().map(|usage| usage.total_tokens),
        Output::Media(output) => super::media::tokens_of(output),
        Output::Responses(response) => response.usage.as_ref().map(|usage| usage.total_tokens),
    }
    .unwrap_or(0)
}

/// The output types a [`TypedCall`] can end with. Sealed: one per operation.
pub trait CallOutput: sealed::Sealed + Sized {
    /// What a stream of this output hands out as it arrives: a chat completion's chunks, a
    /// response's events. Outputs that never stream have none
    /// ([`Infallible`](std::convert::Infallible)).
    type Item: fmt::Debug + Send;

    /// The next streamed item of `call` for the caller ([`TypedCall::poll_chunk`],
    /// [`TypedCall::poll_event`]).
    fn poll_item(call: &mut TypedCall<Self>) -> Option<Self::Item>;

    /// Unpacks `output`. The engine starts each call with the operation whose output is
    /// `Self`, so another kind would be a bug in the core: it becomes a `Decode` error
    /// naming the mismatch rather than a panic.
    fn from_output(output: Output) -> Result<Self, Error>;

    /// Keeps `report` with the output (not in its JSON).
    fn set_report(&mut self, report: CallReport);

    /// Sets `usage.cost` from the prices `pricing` gives for the model the reply names,
    /// unless the provider reported a cost or no usage; a model without prices gets none.
    fn add_cost<'p>(&mut self, pricing: &dyn Fn(&str) -> Option<&'p ModelInfo>);

    /// `usage.cost`, if any.
    fn cost(&self) -> Option<f64>;

    /// A copy as the call's [`Output`] (what the cache stores).
    fn to_output(&self) -> Output;
}

pub(super) mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::types::ChatCompletion {}
    impl Sealed for crate::types::EmbeddingResponse {}
    impl Sealed for crate::types::CompletionResponse {}
    impl Sealed for crate::types::Response {}
}

pub(super) fn mismatch(wanted: &str, output: &Output) -> Error {
    let got = match output {
        Output::Chat(_) => "a chat completion",
        Output::Embeddings(_) => "embeddings",
        Output::Completions(_) => "a legacy completion",
        Output::Media(media) => media.what(),
        Output::Responses(_) => "a Responses API response",
    };
    Error::new(
        ErrorKind::Decode,
        format!("internal error: the call produced {got} where {wanted} was asked for"),
    )
}

/// The [`CallOutput`] of one output type: the [`Output`] variant it comes in, what it is
/// called in the (impossible) mismatch error, and how its usage is priced.
macro_rules! call_output {
    ($type:ty, $variant:ident, $what:literal, $item:ty, $poll:expr,
        |$info:ident, $usage:ident, $output:ident| $price:expr) => {
        impl CallOutput for $type {
            type Item = $item;

            fn poll_item(call: &mut TypedCall<Self>) -> Option<Self::Item> {
                $poll(call)
            }

            fn add_cost<'p>(&mut self, pricing: &dyn Fn(&str) -> Option<&'p ModelInfo>) {
                let $output = &*self;
                let cost = $output
                    .usage
                    .as_ref()
                    .filter(|usage| usage.cost.is_none())
                    .and_then(|$usage| {
                        let $info = pricing(&$output.model)?;
                        $price
                    });
                if let (Some(usage), Some(cost)) = (self.usage.as_mut(), cost) {
                    usage.cost = Some(cost);
                }
            }

            fn cost(&self) -> Option<f64> {
                self.usage.as_ref().and_then(|usage| usage.cost)
            }

            fn to_output(&self) -> Output {
                Output::$variant(self.clone())
            }

            fn set_report(&mut self, report: CallReport) {
                self.report = ReportSlot::new(report);
            }

            fn from_output(output: Output) -> Result<Self, Error> {
                match output {
                    Output::$variant(value) => Ok(value),
                    other => Err(mismatch($what, &other)),
                }
            }
        }
    };
}

/// An output that never streams has no items to poll.
fn no_items<T>(_: &mut TypedCall<T>) -> Option<Infallible> {
    None
}

call_output!(
    ChatCompletion,
    Chat,
    "a chat completion",
    ChatCompletionChunk,
    TypedCall::poll_chunk,
    |info, usage, reply| info.cost_at(usage, reply.service_tier.as_deref())
);
call_output!(
    EmbeddingResponse,
    Embeddings,
    "embeddings",
    Infallible,
    no_items,
    |info, usage, _reply| info.embedding_cost(usage)
);
call_output!(
    CompletionResponse,
    Completions,
    "a legacy completion",
    Infallible,
    no_items,
    |info, usage, _reply| info.cost(usage)
);
call_output!(
    Response,
    Responses,
    "a Responses API response",
    ResponseStreamEvent,
    TypedCall::poll_event,
    |info, usage, reply| info.cost_at(&usage.to_chat_usage(), reply.service_tier())
);
