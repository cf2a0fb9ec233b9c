//! A real HTTP receiver for webhook tests: it records every request (headers and raw body) and
//! answers 503 to the first `fail_first` of them, on purpose, before it recovers.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_rustls::rustls;

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// What the receiver answered.
    pub status: StatusCode,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }
}

#[derive(Clone)]
struct Shared {
    failures_left: Arc<AtomicUsize>,
    tx: mpsc::UnboundedSender<Received>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    rx: mpsc::UnboundedReceiver<Received>,
    task: tokio::task::JoinHandle<()>,
    /// Served over TLS as `localhost`.
    tls: bool,
}

fn app(fail_first: usize) -> (axum::Router, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let failures_left = Arc::new(AtomicUsize::new(fail_first));
    let shared = Shared { failures_left, tx };
    (axum::Router::new().route("/hook", post(receive)).with_state(shared), rx)
}

/// The test CA's path, for `webhooks.ca_file`.
pub fn test_ca() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/ca.pem")
}

fn server_config() -> rustls::ServerConfig {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let certs = CertificateDer::pem_file_iter(dir.join("localhost.pem")).unwrap().map(Result::unwrap).collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("localhost.key")).unwrap();
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap()
}

/// A TCP listener that hands axum only connections whose TLS handshake succeeded.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    tls: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, peer)) = self.tcp.accept().await else { continue };
            // A client that refuses the certificate ends its handshake here; wait for the next.
            if let Ok(tls) = self.tls.accept(stream).await {
                return (tls, peer);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

impl Receiver {
    pub async fn start(fail_first: usize) -> Self {
        let (app, rx) = app(fail_first);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, rx, task, tls: false }
    }

    /// The same receiver over HTTPS, as `localhost`, with the certificate in
    /// `tests/fixtures/tls/localhost.pem` (signed by the test CA `ca.pem`).
    pub async fn start_tls(fail_first: usize) -> Self {
        let (app, rx) = app(fail_first);
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let listener = TlsListener { tcp, tls: tokio_rustls::TlsAcceptor::from(Arc::new(server_config())) };
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, rx, task, tls: true }
    }

    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}/hook", self.addr.port())
        } else {
            format!("http://{}/hook", self.addr)
        }
    }

    /// The next request that arrived, whatever was answered.
    pub async fn next(&mut self) -> Received {
        // Bounded so a delivery that never comes fails the test instead of hanging it; not a
        // timing assertion.
        tokio::time::timeout(Duration::from_secs(30), self.rx.recv()).await.expect("a delivery").expect("open")
    }

    /// The next request that was answered 2xx.
    pub async fn next_delivered(&mut self) -> Received {
        loop {
            let received = self.next().await;
            if received.status.is_success() {
                return received;
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let failing = shared.failures_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    let status = if failing { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    let _ = shared.tx.send(Received { headers, body, status });
    status
}
