//! Which `llama_cpp/<name>` requests run in process, on which GGUF file, and the models a
//! client has loaded.
//!
//! A name is looked up, in order, among the files given explicitly
//! ([`LocalModels::model_file`]), the file `LLAMA_CPP_MODEL_PATH` names (it serves the name
//! equal to its file stem: `LLAMA_CPP_MODEL_PATH=/m/qwen.gguf` serves `llama_cpp/qwen`), and
//! `<dir>/<name>.gguf` in the models folder (`LLAMA_CPP_MODEL_DIR` or
//! [`LocalModels::model_dir`]). Only plain file stems are looked up — a request's JSON can
//! never point the engine at a path of its choosing (`../../etc/passwd` is no name).

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use onellm_core::{Error, ErrorKind};

use crate::generate::Job;

/// Where `llama_cpp/<name>` requests go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Route {
    /// In process when the name resolves to a file, else to the llama.cpp server as before.
    #[default]
    Auto,
    /// Always in process: a name with no file is a `Configuration` error.
    Local,
    /// Always to the llama.cpp server: the engine never runs.
    Server,
}

impl Route {
    /// The route `ONELLM_LLAMA_ROUTE` spells (`auto`, `local`, `server`), if it is one.
    pub fn parse(text: &str) -> Option<Route> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Some(Route::Auto),
            "local" | "in-process" => Some(Route::Local),
            "server" | "remote" => Some(Route::Server),
            _ => None,
        }
    }
}

/// How the engine runs a model: the options llama.cpp takes when it loads a model and
/// makes a context for a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineOptions {
    /// Tokens of context per call (prompt and completion); `None`: the model's training
    /// context, at most 4096 (a larger one costs memory most calls never use).
    pub context_size: Option<u32>,
    /// CPU threads for decoding; `None`: llama.cpp's default (the machine's cores).
    pub threads: Option<u32>,
    /// Prompt tokens decoded at once.
    pub batch_size: u32,
    /// Layers offloaded to a GPU (with the `cuda`, `metal` or `vulkan` feature).
    pub gpu_layers: u32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            context_size: None,
            threads: None,
            batch_size: 512,
            gpu_layers: 0,
        }
    }
}

/// The in-process side of a client: where model files are, which requests they answer,
/// and the models loaded so far (each loaded once, memory-mapped, shared by the client's
/// concurrent calls, unloaded when the last clone of the client is dropped).
pub struct LocalModels {
    route: Route,
    /// Explicit `name -> file` entries, first in the lookup.
    files: Vec<(String, PathBuf)>,
    /// `LLAMA_CPP_MODEL_PATH`.
    env_file: Option<PathBuf>,
    /// `<dir>/<name>.gguf`.
    dir: Option<PathBuf>,
    /// The llama_cpp provider's base URL: only requests under it are the engine's.
    base_url: String,
    options: EngineOptions,
    loaded: Mutex<HashMap<PathBuf, Arc<LlamaModel>>>,
}

impl std::fmt::Debug for LocalModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModels")
            .field("route", &self.route)
            .field("files", &self.files)
            .field("env_file", &self.env_file)
            .field("dir", &self.dir)
            .field("base_url", &self.base_url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// The llama_cpp profile's default base URL (core's profile table).
pub const DEFAULT_BASE_URL: &str = "http://localhost:8080/v1";

impl LocalModels {
    /// No model files, route [`Route::Auto`], the default base URL: claims nothing until
    /// files are added.
    pub fn new() -> Self {
        LocalModels {
            route: Route::Auto,
            files: Vec::new(),
            env_file: None,
            dir: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            options: EngineOptions::default(),
            loaded: Mutex::new(HashMap::new()),
        }
    }

    /// From the environment, read through `lookup` (the transports pass `std::env::var`):
    /// `LLAMA_CPP_MODEL_PATH`, `LLAMA_CPP_MODEL_DIR`, `ONELLM_LLAMA_ROUTE` and the
    /// llama_cpp provider's base URL (read from the variables the core reads it from:
    /// `ONELLM_PROVIDERS__LLAMA_CPP__API_BASE`, `LLAMA_CPP_BASE_URL`, `LLAMA_CPP_API_BASE`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut models = LocalModels::new();
        if let Some(path) = lookup("LLAMA_CPP_MODEL_PATH").filter(|p| !p.is_empty()) {
            models.env_file = Some(PathBuf::from(path));
        }
        if let Some(dir) = lookup("LLAMA_CPP_MODEL_DIR").filter(|p| !p.is_empty()) {
            models.dir = Some(PathBuf::from(dir));
        }
        if let Some(route) = lookup("ONELLM_LLAMA_ROUTE") {
            models.route = Route::parse(&route).ok_or_else(|| {
                Error::configuration(format!(
                    "ONELLM_LLAMA_ROUTE is {:?}: expected auto, local or server",
                    excerpt(&route)
                ))
            })?;
        }
        let base = [
            "ONELLM_PROVIDERS__LLAMA_CPP__API_BASE",
            "LLAMA_CPP_BASE_URL",
            "LLAMA_CPP_API_BASE",
        ]
        .iter()
        .find_map(|name| lookup(name).filter(|b| !b.is_empty()));
        if let Some(base) = base {
            models.base_url = base;
        }
        Ok(models)
    }

    /// Serves `llama_cpp/<name>` from `path` (before any other lookup).
    pub fn model_file(mut self, name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        self.files.push((name.into(), path.into()));
        self
    }

    /// Serves `llama_cpp/<name>` from `<dir>/<name>.gguf`.
    pub fn model_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Forces a route (see [`Route`]).
    pub fn route(mut self, route: Route) -> Self {
        self.route = route;
        self
    }

    /// The llama_cpp provider's base URL, when it is not the default.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Context size, threads, batch size and GPU layers.
    pub fn options(mut self, options: EngineOptions) -> Self {
        self.options = options;
        self
    }

    /// The engine's options.
    pub fn engine_options(&self) -> EngineOptions {
        self.options
    }

    /// The file `name` resolves to, if any (it may not exist: loading says so).
    pub fn resolve(&self, name: &str) -> Option<PathBuf> {
        if !is_plain_name(name) {
            return None;
        }
        if let Some((_, path)) = self.files.iter().find(|(n, _)| n == name) {
            return Some(path.clone());
        }
        if let Some(path) = &self.env_file {
            if path.file_stem().and_then(|s| s.to_str()) == Some(name) {
                return Some(path.clone());
            }
        }
        let path = self.dir.as_ref()?.join(format!("{name}.gguf"));
        path.is_file().then_some(path)
    }

    /// Whether this request is the engine's. Cheap (no file is read): a transport may ask
    /// on its event loop, then [`start`](Self::start) the claim where it may block.
    ///
    /// `None`: not the engine's (another provider's URL, route `Server`, a name with no
    /// file under route `Auto`): send it on the wire. `Some(Err)`: the engine's but it
    /// cannot run (no file under route `Local`) — a `Configuration` error.
    pub fn claim(&self, request: &http::Request<Bytes>) -> Option<Result<Claim, Error>> {
        if self.route == Route::Server {
            return None;
        }
        let endpoint = self.endpoint(request)?;
        let body: serde_json::Value = match serde_json::from_slice(request.body()) {
            Ok(body) => body,
            Err(_) => return None,
        };
        let name = body.get("model").and_then(|m| m.as_str()).unwrap_or("");
        let path = match self.resolve(name) {
            Some(path) => path,
            None if self.route == Route::Local => {
                return Some(Err(Error::configuration(format!(
                    "no GGUF file for llama_cpp/{}: give one with LLAMA_CPP_MODEL_PATH, \
                     LLAMA_CPP_MODEL_DIR/<name>.gguf or LocalModels::model_file",
                    excerpt(name)
                ))))
            }
            None => return None,
        };
        Some(Ok(Claim {
            path,
            endpoint,
            body,
        }))
    }

    /// Loads the claim's model (once per client: later calls share it) and returns the
    /// work to run. Blocks while a model loads. A missing file, one that is not GGUF, or
    /// one llama.cpp cannot load (an unsupported architecture) is a `Configuration` error
    /// naming the file.
    pub fn start(&self, claim: Claim) -> Result<Job, Error> {
        let model = self.load(&claim.path)?;
        Ok(Job::new(model, self.options, claim.endpoint, claim.body))
    }

    /// Which endpoint of the llama_cpp server `request` is for, when it is one the engine
    /// answers.
    fn endpoint(&self, request: &http::Request<Bytes>) -> Option<Endpoint> {
        let uri = request.uri().to_string();
        let base = self.base_url.trim_end_matches('/');
        let rest = uri.strip_prefix(base)?;
        match rest {
            "/chat/completions" => Some(Endpoint::Chat),
            "/embeddings" => Some(Endpoint::Embeddings),
            _ => None,
        }
    }

    /// The model at `path`, loaded now or earlier.
    fn load(&self, path: &Path) -> Result<Arc<LlamaModel>, Error> {
        let mut loaded = self
            .loaded
            .lock()
            .map_err(|_| Error::new(ErrorKind::Configuration, "a model load panicked"))?;
        if let Some(model) = loaded.get(path) {
            return Ok(Arc::clone(model));
        }
        check_gguf(path)?;
        let params = LlamaModelParams::default().with_n_gpu_layers(self.options.gpu_layers);
        let model = LlamaModel::load_from_file(backend()?, path, &params).map_err(|error| {
            Error::configuration(format!(
                "llama.cpp could not load {} (unsupported architecture or a damaged file): {error}",
                path.display()
            ))
        })?;
        let model = Arc::new(model);
        loaded.insert(path.to_path_buf(), Arc::clone(&model));
        Ok(model)
    }
}

impl Default for LocalModels {
    fn default() -> Self {
        LocalModels::new()
    }
}

/// A request the engine will answer, before its model is loaded.
#[derive(Debug)]
pub struct Claim {
    path: PathBuf,
    endpoint: Endpoint,
    body: serde_json::Value,
}

/// The endpoints the engine answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `/chat/completions`.
    Chat,
    /// `/embeddings`.
    Embeddings,
}

/// llama.cpp's backend, set up once per process (llama.cpp keeps it in globals), with its
/// logging off (it would write to stderr).
///
/// `llama-cpp-2` allows one `LlamaBackend` per process: a program that also calls
/// llama.cpp through `llama-cpp-2` itself takes this one rather than making its own (which
/// would fail once the engine has made this, or make the engine fail if made first).
pub fn backend() -> Result<&'static LlamaBackend, Error> {
    static BACKEND: OnceLock<Option<LlamaBackend>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut backend = LlamaBackend::init().ok()?;
            backend.void_logs();
            Some(backend)
        })
        .as_ref()
        .ok_or_else(|| Error::configuration("llama.cpp's backend failed to start"))
}

/// A clear error for a missing file or one that is not GGUF, before llama.cpp sees it.
fn check_gguf(path: &Path) -> Result<(), Error> {
    let mut magic = [0u8; 4];
    let mut file = File::open(path).map_err(|error| {
        Error::configuration(format!(
            "cannot open model file {}: {error}",
            path.display()
        ))
    })?;
    if file.read_exact(&mut magic).is_err() || &magic != b"GGUF" {
        return Err(Error::configuration(format!(
            "{} is not a GGUF file",
            path.display()
        )));
    }
    Ok(())
}

/// A name that can only be a file stem: no separators, no `..`, nothing hidden.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
}

/// At most 64 characters of `text`, for error messages.
pub(crate) fn excerpt(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_resolve() {
        let models = LocalModels::new().model_file("tiny", "/tmp/tiny.gguf");
        assert_eq!(
            models.resolve("tiny"),
            Some(PathBuf::from("/tmp/tiny.gguf"))
        );
        for name in ["../tiny", "/etc/passwd", "a/b", "..", ".hidden", ""] {
            assert_eq!(models.resolve(name), None, "{name}");
        }
    }

    #[test]
    fn env_file_serves_its_stem() {
        let models = LocalModels::from_lookup(|name| {
            (name == "LLAMA_CPP_MODEL_PATH").then(|| "/m/qwen.gguf".to_owned())
        })
        .unwrap();
        assert_eq!(models.resolve("qwen"), Some(PathBuf::from("/m/qwen.gguf")));
        assert_eq!(models.resolve("other"), None);
    }

    #[test]
    fn bad_route_is_a_configuration_error() {
        let error =
            LocalModels::from_lookup(|name| (name == "ONELLM_LLAMA_ROUTE").then(|| "x".into()))
                .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Configuration);
    }
}
