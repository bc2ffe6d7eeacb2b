//! Built with the `platform-verifier` feature, the client trusts what the operating system
//! trusts — here a private CA named by `SSL_CERT_FILE`, which rustls-platform-verifier reads
//! on Linux — and refuses `root_certificate_pem` (add the CA to the system's store instead).
//! Run with `cargo test -p CRATE --features platform-verifier --test platform_verifier`.
#![cfg(feature = "platform-verifier")]

use onellm_core::{ChatRequest, ErrorKind};
use onellm_testkit::{Alpn, TlsServer};

#[test]
fn the_system_trust_store_decides() {
    let server = TlsServer::start(Alpn::Http2AndHttp1);
    let file = std::env::temp_dir().join(format!("onellm-ca-{}.pem", std::process::id()));
    std::fs::write(&file, server.ca_pem()).unwrap();
    // The only test in this binary: nothing else reads the variable meanwhile.
    std::env::set_var("SSL_CERT_FILE", &file);
    let answer = ask(&server, None).expect("the system's store has the CA");
    assert!(answer.starts_with("over HTTP/"), "{answer}");
    let error = ask(&server, Some(server.ca_pem())).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration, "{error}");
    std::fs::remove_file(&file).ok();
}

fn ask(server: &TlsServer, ca_pem: Option<&str>) -> Result<String, onellm_core::Error> {
    let mut builder = onellm_blocking::Client::builder()
        .api_key("openai", "sk-platform")
        .base_url("openai", server.base_url())
        .retries(0);
    if let Some(pem) = ca_pem {
        builder = builder.root_certificate_pem(pem);
    }
    Ok(builder
        .build()?
        .chat(ChatRequest::new("openai/gpt-4o-mini").user("hi"))?
        .text()
        .to_owned())
}
