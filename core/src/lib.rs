//! onellm-core: the sans-IO protocol core of OneLLM.
#![forbid(unsafe_code)]

pub mod framing;
