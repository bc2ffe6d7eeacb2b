//! Built with the `platform-verifier` feature, the client trusts what the operating system
//! trusts — here a private CA named by `SSL_CERT_FILE`, which rustls-platform-verifier reads
//! on Linux — and refuses `root_certificate_pem` (add the CA to the system's store instead).
//! Run with `cargo test -p CRATE --features platform-verifier --test platform_verifier`.
#![cfg(feature = "platform-verifier")]

use onellm_core::ChatRequest;
use onellm_testkit::TlsServer;

#[test]
fn the_system_trust_store_decides() {
    onellm_testkit::check_platform_verifier(&ask);
}

fn ask(server: &TlsServer, ca_pem: Option<&str>) -> Result<String, onellm_core::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut builder = onellm_tokio::Client::builder()
        .api_key("openai", "sk-platform")
        .base_url("openai", server.base_url())
        .retries(0);
    if let Some(pem) = ca_pem {
        builder = builder.root_certificate_pem(pem);
    }
    runtime.block_on(async {
        Ok(builder
            .build()?
            .chat(ChatRequest::new("openai/gpt-4o-mini").user("hi"))
            .await?
            .text()
            .to_owned())
    })
}
