//! A corporate network on loopback: an HTTP proxy that takes `CONNECT host:port`, records it,
//! and inspects TLS the way a corporate proxy does, presenting a certificate from a private CA
//! (`tests/fixtures/tls`) for the kit's names (`aws.kit.test`, `github.kit.test`,
//! `token.kit.test`) and relaying the plain requests to the kit's servers. The names resolve
//! nowhere, so a request that reaches a kit server through one of them went through this proxy.
//! A target on a port other than 443 is relayed without TLS. Unknown names get `502`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One `CONNECT` the proxy saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// `host:port` as the client asked.
    pub target: String,
    /// The `Proxy-Authorization` header, when one was sent.
    pub authorization: Option<String>,
}

/// A running proxy; dropping it stops it.
pub struct Proxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Connect>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The directory of the TLS fixtures.
pub fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tls")
}

impl Proxy {
    /// Start a proxy that sends `name` to `backend` (the kit's plain-HTTP address) for each route.
    pub fn start(routes: &[(&str, SocketAddr)]) -> Proxy {
        let routes: Arc<BTreeMap<String, SocketAddr>> =
            Arc::new(routes.iter().map(|(n, a)| (n.to_string(), *a)).collect());
        let acceptor = acceptor();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let log = seen.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("test proxy: runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("test proxy: bind");
                addr_tx
                    .send(listener.local_addr().expect("test proxy: addr"))
                    .expect("test proxy: report address");
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let (routes, acceptor, log) = (routes.clone(), acceptor.clone(), log.clone());
                            tokio::spawn(async move {
                                let _ = serve(stream, &routes, &acceptor, &log).await;
                            });
                        }
                    }
                }
            });
        });
        Proxy {
            addr: addr_rx.recv().expect("test proxy: failed to start"),
            seen,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, for `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every `CONNECT` so far, in order.
    pub fn connects(&self) -> Vec<Connect> {
        self.seen.lock().clone()
    }

    /// The distinct targets so far.
    pub fn targets(&self) -> std::collections::BTreeSet<String> {
        self.seen.lock().iter().map(|c| c.target.clone()).collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn acceptor() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = fixtures();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .expect("test proxy: server.pem")
        .collect::<Result<_, _>>()
        .expect("test proxy: server.pem parses");
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).expect("test proxy: server.key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("test proxy: TLS versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("test proxy: certificate and key");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

async fn serve(
    mut client: TcpStream,
    routes: &BTreeMap<String, SocketAddr>,
    acceptor: &tokio_rustls::TlsAcceptor,
    log: &Mutex<Vec<Connect>>,
) -> std::io::Result<()> {
    // The request head, up to its blank line.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 || client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or_default().to_string(),
    );
    let authorization = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, v)| v.trim().to_string());
    log.lock().push(Connect {
        target: if method == "CONNECT" {
            target.clone()
        } else {
            format!("{method} {target}")
        },
        authorization,
    });
    if method != "CONNECT" {
        return client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            .await;
    }
    let (host, port) = target.rsplit_once(':').unwrap_or((&target, "443"));
    let Some(backend) = routes.get(host) else {
        return client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await;
    };
    let mut upstream = TcpStream::connect(backend).await?;
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await?;
    if port == "443" {
        let mut tls = acceptor.accept(client).await?;
        tokio::io::copy_bidirectional(&mut tls, &mut upstream).await?;
    } else {
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    }
    Ok(())
}
