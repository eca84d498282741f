//! A small HTTP proxy on 127.0.0.1 for tests, written on std threads: it
//! tunnels `CONNECT host:port` (for https targets) and forwards absolute-form
//! requests (`GET http://host:port/path`, for http targets), and records what
//! it carried. It only ever connects to loopback addresses: any other target
//! is answered 403 without a connection being made.
//!
//! Dropping the [`HttpProxy`] stops it and waits for its threads.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

const POLL: Duration = Duration::from_millis(25);
const MAX_HEAD: usize = 64 * 1024;

/// One request the proxy received from a client: a `CONNECT` (whose tunnel it
/// cannot see into) or a plain-http request it forwarded.
#[derive(Clone, Debug)]
pub struct Carried {
    pub method: String,
    /// `host:port` for CONNECT, the absolute URL otherwise.
    pub target: String,
    /// Lowercased names, trimmed values.
    pub headers: Vec<(String, String)>,
}

impl Carried {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct HttpProxy {
    addr: SocketAddr,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
}

struct State {
    stop: AtomicBool,
    /// The `Proxy-Authorization` value required, if any (else 407).
    required_auth: Option<String>,
    carried: Mutex<Vec<Carried>>,
    /// Bytes sent back to clients (responses, tunnelled TLS records).
    bytes_down: AtomicUsize,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl HttpProxy {
    pub fn start() -> HttpProxy {
        HttpProxy::spawn(None)
    }

    /// A proxy that answers 407 unless given this user name and password.
    pub fn start_with_auth(user: &str, password: &str) -> HttpProxy {
        use base64::Engine as _;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HttpProxy::spawn(Some(format!("Basic {encoded}")))
    }

    fn spawn(required_auth: Option<String>) -> HttpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            stop: AtomicBool::new(false),
            required_auth,
            carried: Mutex::new(Vec::new()),
            bytes_down: AtomicUsize::new(0),
            threads: Mutex::new(Vec::new()),
        });
        let accept_state = Arc::clone(&state);
        let accept = thread::Builder::new()
            .name("proxy-accept".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if accept_state.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let conn_state = Arc::clone(&accept_state);
                    let handle = thread::spawn(move || serve(stream, conn_state));
                    lock(&accept_state.threads).push(handle);
                }
            })
            .expect("spawn the proxy");
        HttpProxy {
            addr,
            state,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    /// `http://USER:PASSWORD@127.0.0.1:PORT`
    pub fn url_with_auth(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@127.0.0.1:{}", self.addr.port())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Everything carried so far, in order.
    pub fn carried(&self) -> Vec<Carried> {
        lock(&self.state.carried).clone()
    }

    /// Bytes the proxy passed back to its clients.
    pub fn bytes_down(&self) -> usize {
        self.state.bytes_down.load(Ordering::SeqCst)
    }
}

impl Drop for HttpProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        loop {
            let threads = std::mem::take(&mut *lock(&self.state.threads));
            if threads.is_empty() {
                break;
            }
            for handle in threads {
                let _ = handle.join();
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A head read off a client connection.
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    /// The head exactly as received, CRLFCRLF included.
    raw: Vec<u8>,
}

impl Head {
    fn content_length(&self) -> usize {
        self.headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0)
    }
}

/// Reads from a socket with a short timeout, giving up when the proxy stops.
struct Reader<'a> {
    stream: TcpStream,
    buf: Vec<u8>,
    state: &'a State,
}

impl Reader<'_> {
    /// Read more bytes; `Ok(false)` at end of stream.
    fn fill(&mut self) -> io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if self.state.stop.load(Ordering::SeqCst) {
                return Ok(false);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if would_block(&e) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn head(&mut self) -> Option<Head> {
        let end = loop {
            if let Some(pos) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            if self.buf.len() > MAX_HEAD || !self.fill().ok()? {
                return None;
            }
        };
        let raw: Vec<u8> = self.buf.drain(..end).collect();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let mut lines = text.split("\r\n");
        let mut parts = lines.next()?.split(' ');
        let method = parts.next()?.to_string();
        let target = parts.next()?.to_string();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Some(Head {
            method,
            target,
            headers,
            raw,
        })
    }

    /// Take exactly `len` bytes (reading more as needed).
    fn take(&mut self, len: usize) -> Option<Vec<u8>> {
        while self.buf.len() < len {
            if !self.fill().ok()? {
                return None;
            }
        }
        Some(self.buf.drain(..len).collect())
    }
}

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// `host:port` to a loopback socket address, or `None` for anything else.
fn loopback(authority: &str) -> Option<SocketAddr> {
    let (host, port) = authority.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse().ok()?
    };
    ip.is_loopback().then_some(SocketAddr::new(ip, port))
}

fn refuse(stream: &mut TcpStream, status: &str) {
    let _ = stream.write_all(
        format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
    );
}

fn serve(client: TcpStream, state: Arc<State>) {
    let _ = client.set_read_timeout(Some(POLL));
    let Ok(mut client_out) = client.try_clone() else {
        return;
    };
    let mut reader = Reader {
        stream: client,
        buf: Vec::new(),
        state: &state,
    };
    let Some(first) = reader.head() else { return };
    lock(&state.carried).push(Carried {
        method: first.method.clone(),
        target: first.target.clone(),
        headers: first.headers.clone(),
    });

    if let Some(required) = &state.required_auth
        && first
            .headers
            .iter()
            .find(|(n, _)| n == "proxy-authorization")
            .is_none_or(|(_, v)| v != required)
    {
        refuse(
            &mut client_out,
            "407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"",
        );
        return;
    }
    let authority = if first.method == "CONNECT" {
        first.target.clone()
    } else {
        let Some(rest) = first.target.strip_prefix("http://") else {
            refuse(&mut client_out, "400 Bad Request");
            return;
        };
        rest.split('/').next().unwrap_or("").to_string()
    };
    let Some(addr) = loopback(&authority) else {
        refuse(&mut client_out, "403 Forbidden");
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(addr) else {
        refuse(&mut client_out, "502 Bad Gateway");
        return;
    };
    let _ = upstream.set_read_timeout(Some(POLL));

    // Upstream -> client: a blind copy.
    let down_state = Arc::clone(&state);
    let (Ok(upstream_in), Ok(mut down_client)) = (upstream.try_clone(), client_out.try_clone())
    else {
        return;
    };
    let down = thread::spawn(move || {
        let mut upstream_in = upstream_in;
        let mut chunk = [0u8; 16 * 1024];
        while !down_state.stop.load(Ordering::SeqCst) {
            match upstream_in.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    down_state.bytes_down.fetch_add(n, Ordering::SeqCst);
                    if down_client.write_all(&chunk[..n]).is_err() {
                        break;
                    }
                }
                Err(e) if would_block(&e) => continue,
                Err(_) => break,
            }
        }
        let _ = down_client.shutdown(Shutdown::Write);
    });

    if first.method == "CONNECT" {
        let _ = client_out.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        // Client -> upstream: opaque TLS records.
        let pending = std::mem::take(&mut reader.buf);
        if upstream.write_all(&pending).is_ok() {
            while let Ok(true) = reader.fill() {
                let bytes = std::mem::take(&mut reader.buf);
                if upstream.write_all(&bytes).is_err() {
                    break;
                }
            }
        }
    } else {
        // Client -> upstream: one request at a time, each recorded.
        let mut head = first;
        while let Some(body) = reader.take(head.content_length()) {
            if upstream.write_all(&head.raw).is_err() || upstream.write_all(&body).is_err() {
                break;
            }
            let Some(next) = reader.head() else { break };
            lock(&state.carried).push(Carried {
                method: next.method.clone(),
                target: next.target.clone(),
                headers: next.headers.clone(),
            });
            head = next;
        }
    }
    let _ = upstream.shutdown(Shutdown::Write);
    let _ = down.join();
    let _ = client_out.shutdown(Shutdown::Both);
}
