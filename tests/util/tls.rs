//! Real TLS for tests: a throwaway CA and a server certificate for 127.0.0.1
//! and localhost (made with rcgen at test time, never stored), and a TLS-terminating front on
//! 127.0.0.1 that forwards the decrypted bytes to a plain server, normally the
//! fake ServiceTitan.
//!
//! Each connection gets its own thread; dropping the [`TlsFront`] stops them all.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// How long blocked reads wait before looking at the stop flag and the other side.
const POLL: Duration = Duration::from_millis(2);

/// A test CA and a server certificate it signed for `127.0.0.1` and `localhost`.
pub struct TestPki {
    /// The CA certificate, PEM: what a client must trust.
    pub ca_pem: String,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
}

impl TestPki {
    /// A CA and a server certificate for `127.0.0.1` and `localhost`.
    pub fn generate() -> TestPki {
        TestPki::generate_for(&["localhost", "127.0.0.1"])
    }

    /// A CA and a server certificate for these host names and IP addresses.
    pub fn generate_for(names: &[&str]) -> TestPki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "st-setup test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).expect("self-sign the CA");
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut server = CertificateParams::new(names).expect("server params");
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        server.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server
            .signed_by(&server_key, &issuer)
            .expect("sign the server certificate");

        TestPki {
            ca_pem: ca_cert.pem(),
            server_chain: vec![server_cert.der().clone(), ca_cert.der().clone()],
            server_key: server_key.serialize_der(),
        }
    }

    /// Write the CA certificate to `dir/ca.pem` and return the path.
    pub fn write_ca(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.ca_pem).expect("write ca.pem");
        path
    }

    /// The server side: the certificate chain and key, ring as the provider.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(self.server_chain.clone(), key)
            .expect("server certificate and key");
        Arc::new(config)
    }
}

/// A TLS server on 127.0.0.1 that forwards each connection's plaintext to `upstream`.
pub struct TlsFront {
    addr: SocketAddr,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
}

struct State {
    stop: AtomicBool,
    upstream: SocketAddr,
    config: Arc<rustls::ServerConfig>,
    accepted: AtomicUsize,
    /// Connections whose thread has finished with them.
    served: AtomicUsize,
    handshakes: AtomicUsize,
    failures: Mutex<Vec<String>>,
    connections: Mutex<Vec<JoinHandle<()>>>,
}

impl TlsFront {
    /// Serve `pki`'s server certificate on a free port, forwarding to 127.0.0.1:`upstream_port`.
    pub fn start(pki: &TestPki, upstream_port: u16) -> TlsFront {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the TLS front");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            stop: AtomicBool::new(false),
            upstream: SocketAddr::from(([127, 0, 0, 1], upstream_port)),
            config: pki.server_config(),
            accepted: AtomicUsize::new(0),
            served: AtomicUsize::new(0),
            handshakes: AtomicUsize::new(0),
            failures: Mutex::new(Vec::new()),
            connections: Mutex::new(Vec::new()),
        });
        let accept_state = Arc::clone(&state);
        let accept = thread::Builder::new()
            .name("tls-front-accept".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if accept_state.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    accept_state.accepted.fetch_add(1, Ordering::SeqCst);
                    let conn_state = Arc::clone(&accept_state);
                    let handle = thread::spawn(move || {
                        serve(stream, &conn_state);
                        conn_state.served.fetch_add(1, Ordering::SeqCst);
                    });
                    lock(&accept_state.connections).push(handle);
                }
            })
            .expect("spawn the TLS front");
        TlsFront {
            addr,
            state,
            accept: Some(accept),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `https://HOST:PORT` for `host` `127.0.0.1` or `localhost`.
    pub fn origin(&self, host: &str) -> String {
        format!("https://{host}:{}", self.port())
    }

    /// TCP connections accepted (counted before any TLS byte is exchanged, so
    /// a client that got as far as a handshake error was counted).
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// TLS handshakes that completed.
    pub fn handshakes(&self) -> usize {
        self.state.handshakes.load(Ordering::SeqCst)
    }

    /// Why handshakes failed, as the server saw it (e.g. the client's alert).
    pub fn failures(&self) -> Vec<String> {
        lock(&self.state.failures).clone()
    }

    /// [`Self::failures`], once every connection accepted so far has been
    /// served to its end (the client may exit before this server has read
    /// its alert). Call it after the client has exited, so that each of
    /// those connections ends; fails the test if one is still open after
    /// `hang`, a guard against a hang and not a measure of speed.
    pub fn failures_once_served(&self, hang: Duration) -> Vec<String> {
        let deadline = std::time::Instant::now() + hang;
        while self.state.served.load(Ordering::SeqCst) < self.accepted() {
            assert!(
                std::time::Instant::now() < deadline,
                "a connection to the TLS front was still open after {hang:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
        self.failures()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for handle in std::mem::take(&mut *lock(&self.state.connections)) {
            let _ = handle.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// One client connection: handshake, then shuttle plaintext both ways until
/// either side closes or the front is dropped.
fn serve(mut tcp: TcpStream, state: &State) {
    let _ = tcp.set_read_timeout(Some(POLL));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = tcp.set_nodelay(true);
    let Ok(mut tls) = rustls::ServerConnection::new(Arc::clone(&state.config)) else {
        return;
    };
    let mut upstream: Option<TcpStream> = None;
    let mut buf = vec![0u8; 16 * 1024];
    'outer: while !state.stop.load(Ordering::SeqCst) {
        while tls.wants_write() {
            if tls.write_tls(&mut tcp).is_err() {
                break 'outer;
            }
        }
        match tls.read_tls(&mut tcp) {
            Ok(0) => break,
            Ok(_) => {
                if let Err(e) = tls.process_new_packets() {
                    lock(&state.failures).push(e.to_string());
                    // Send our alert, then give up on this connection.
                    let _ = tls.write_tls(&mut tcp);
                    break;
                }
            }
            Err(e) if would_block(&e) => {}
            Err(_) => break,
        }
        if tls.is_handshaking() {
            continue;
        }
        let up = match &mut upstream {
            Some(up) => up,
            None => {
                state.handshakes.fetch_add(1, Ordering::SeqCst);
                let Ok(up) = TcpStream::connect(state.upstream) else {
                    break;
                };
                let _ = up.set_read_timeout(Some(POLL));
                let _ = up.set_nodelay(true);
                upstream.insert(up)
            }
        };
        // Client -> upstream.
        loop {
            match tls.reader().read(&mut buf) {
                Ok(0) => {
                    // close_notify from the client.
                    let _ = up.shutdown(Shutdown::Write);
                    break;
                }
                Ok(n) => {
                    if up.write_all(&buf[..n]).is_err() {
                        break 'outer;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => break 'outer,
            }
        }
        // Upstream -> client.
        match up.read(&mut buf) {
            Ok(0) => {
                tls.send_close_notify();
                break;
            }
            Ok(n) => {
                if tls.writer().write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if would_block(&e) => {}
            Err(_) => break,
        }
    }
    while tls.wants_write() {
        if tls.write_tls(&mut tcp).is_err() {
            break;
        }
    }
    let _ = tcp.shutdown(Shutdown::Both);
    if let Some(up) = upstream {
        let _ = up.shutdown(Shutdown::Both);
    }
}
