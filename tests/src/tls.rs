//! An HTTPS provider on loopback for the TLS and HTTP/2 tests: a certificate authority made
//! for each server (so no test trusts anything but its own), a certificate for `127.0.0.1`
//! signed by it, and a hyper server that speaks HTTP/2 or HTTP/1.1 by ALPN, as a provider's
//! edge does. It answers every request with one OpenAI chat completion whose text names the
//! HTTP version it arrived on, after a short pause so concurrent calls overlap, and counts
//! connections, requests by version and the most requests in flight at once.
//!
//! It runs on its own tokio runtime in a thread and stops when dropped: the runtime's drop
//! ends every connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// How long each request is held before its answer by default, so concurrent calls are in
/// flight together.
const PAUSE: Duration = Duration::from_millis(20);
/// The largest request body read.
const BODY_LIMIT: usize = 1 << 20;

/// Which protocols the server offers by ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    /// `h2` first, then `http/1.1`: what most providers' edges offer.
    Http2AndHttp1,
    /// `http/1.1` only.
    Http1Only,
}

/// What the server has seen (see [`TlsServer::counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TlsCounts {
    /// TCP connections accepted (a failed handshake counts too).
    pub connections: usize,
    /// Requests answered over HTTP/2.
    pub http2_requests: usize,
    /// Requests answered over HTTP/1.1.
    pub http1_requests: usize,
    /// The most requests in flight at once.
    pub max_in_flight: usize,
}

#[derive(Default)]
struct Counters {
    connections: AtomicUsize,
    http2_requests: AtomicUsize,
    http1_requests: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// The HTTPS server (see the module docs).
pub struct TlsServer {
    address: SocketAddr,
    ca_pem: String,
    counters: Arc<Counters>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TlsServer {
    /// Starts one on a free loopback port, offering `alpn`.
    ///
    /// # Panics
    /// When the certificates, the port or the runtime cannot be made: a test setup error.
    pub fn start(alpn: Alpn) -> TlsServer {
        TlsServer::start_with_pause(alpn, PAUSE)
    }

    /// Starts one that holds each request for `pause` before answering (zero for the
    /// benchmarks).
    ///
    /// # Panics
    /// As [`start`](Self::start).
    pub fn start_with_pause(alpn: Alpn, pause: Duration) -> TlsServer {
        let (ca_pem, server_config) = certificates(alpn);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let address = listener.local_addr().expect("local address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let thread = {
            let counters = Arc::clone(&counters);
            std::thread::spawn(move || {
                runtime.block_on(serve(listener, server_config, counters, pause, stopped));
                // Dropping the runtime here ends every connection still open.
            })
        };
        TlsServer {
            address,
            ca_pem,
            counters,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `https://127.0.0.1:<port>/v1`, an OpenAI-style base URL.
    pub fn base_url(&self) -> String {
        format!("https://{}/v1", self.address)
    }

    /// The PEM of the CA that signed the server's certificate, for
    /// `ClientBuilder::root_certificate_pem` or `SSL_CERT_FILE`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// What the server has seen so far.
    pub fn counts(&self) -> TlsCounts {
        let read = |counter: &AtomicUsize| counter.load(Ordering::SeqCst);
        TlsCounts {
            connections: read(&self.counters.connections),
            http2_requests: read(&self.counters.http2_requests),
            http1_requests: read(&self.counters.http1_requests),
            max_in_flight: read(&self.counters.max_in_flight),
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A CA, and the server's settings with a certificate for `127.0.0.1` signed by it.
fn certificates(alpn: Alpn) -> (String, rustls::ServerConfig) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "onellm testkit CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
        .expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("server parameters")
        .signed_by(&key, &ca)
        .expect("server certificate");
    let private_key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![server.der().clone()], private_key)
    .expect("server TLS settings");
    config.alpn_protocols = match alpn {
        Alpn::Http2AndHttp1 => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        Alpn::Http1Only => vec![b"http/1.1".to_vec()],
    };
    (ca.pem(), config)
}

async fn serve(
    listener: std::net::TcpListener,
    config: rustls::ServerConfig,
    counters: Arc<Counters>,
    pause: Duration,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, _)) = accepted else { continue };
        // HTTP/2 writes a reply as several frames: without this, Nagle's algorithm holds
        // the later ones for the client's delayed ACK (~40 ms).
        let _ = tcp.set_nodelay(true);
        counters.connections.fetch_add(1, Ordering::SeqCst);
        let (acceptor, counters) = (acceptor.clone(), Arc::clone(&counters));
        tokio::spawn(async move {
            // A client that refuses the certificate ends the handshake: nothing to serve.
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = service_fn(move |request| answer(request, Arc::clone(&counters), pause));
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

async fn answer(
    request: http::Request<hyper::body::Incoming>,
    counters: Arc<Counters>,
    pause: Duration,
) -> Result<http::Response<Full<Bytes>>, std::convert::Infallible> {
    let version = request.version();
    let in_flight = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    counters
        .max_in_flight
        .fetch_max(in_flight, Ordering::SeqCst);
    let body = http_body_util::Limited::new(request.into_body(), BODY_LIMIT)
        .collect()
        .await;
    if !pause.is_zero() {
        tokio::time::sleep(pause).await;
    }
    counters.in_flight.fetch_sub(1, Ordering::SeqCst);
    let (status, text) = match (body, version) {
        (Err(_), _) => (400, "unreadable body".to_owned()),
        (Ok(_), http::Version::HTTP_2) => {
            counters.http2_requests.fetch_add(1, Ordering::SeqCst);
            (200, "over HTTP/2".to_owned())
        }
        (Ok(_), other) => {
            counters.http1_requests.fetch_add(1, Ordering::SeqCst);
            (200, format!("over {other:?}"))
        }
    };
    let completion = serde_json::json!({
        "id": "chatcmpl-tls", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
            "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    });
    Ok(http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(completion.to_string())))
        .expect("a response"))
}

/// How a transport's test makes one chat call to a [`TlsServer`], trusting `ca_pem` besides
/// the default roots when given; returns the answer's text.
pub type AskOverTls<'a> =
    &'a dyn Fn(&TlsServer, Option<&str>) -> Result<String, onellm_core::Error>;

/// For the transports' `platform_verifier` tests (built with their `platform-verifier`
/// feature): a private CA named by `SSL_CERT_FILE` — which rustls-platform-verifier reads on
/// Linux — is trusted, and `root_certificate_pem` is refused as a configuration error.
/// `ask(server, ca_pem)` builds a client (with `root_certificate_pem(ca_pem)` when given) and
/// makes one chat call, returning its text.
///
/// Sets `SSL_CERT_FILE` for the whole process: call it from a test binary of its own.
pub fn check_platform_verifier(ask: AskOverTls<'_>) {
    let server = TlsServer::start(Alpn::Http2AndHttp1);
    let file = std::env::temp_dir().join(format!("onellm-ca-{}.pem", std::process::id()));
    std::fs::write(&file, server.ca_pem()).expect("write the CA");
    std::env::set_var("SSL_CERT_FILE", &file);
    let answer = ask(&server, None).expect("the system's store has the CA");
    assert!(answer.starts_with("over HTTP/"), "{answer}");
    let error = ask(&server, Some(server.ca_pem())).expect_err("root_certificate_pem refused");
    assert_eq!(
        error.kind(),
        onellm_core::ErrorKind::Configuration,
        "{error}"
    );
    std::fs::remove_file(&file).ok();
}
