//! A fake ServiceTitan API (token endpoint plus the business-units probe) for tests
//! and for the `sandbox` example.
//!
//! It is a small HTTP/1.1 server written directly on [`std::net::TcpListener`] so
//! that tests can inject faults at the socket level: hang without answering, close
//! the connection before or in the middle of a response, truncate a body, answer
//! with any status, headers and body, or redirect.
//!
//! Normal behaviour follows `servicetitan-facts.md`:
//!
//! * `POST /connect/token` with a form-encoded client-credentials grant answers with
//!   a JWT-shaped access token (`{"alg":"RS256","typ":"at+jwt"}` header, payload with
//!   `client_id`, `tenant`, `scope`, `nbf`, `exp`, `jti`, fake signature), or with
//!   `400 {"error":"invalid_client",...}` / `400 {"error":"unsupported_grant_type"}`.
//! * `GET {module base}/tenant/{tenant}/{list}` for each module's cheap list of the
//!   facts file's table (business units, customers, ...) answers 401 (RFC 7807 body)
//!   for a missing, unknown or expired bearer token or a wrong `ST-App-Key`, the
//!   configured status (403 by default) for a tenant other than the fake's own, 403
//!   when the token names scopes and not the one the list needs, and otherwise a
//!   one-item list page.
//! * Besides the main client it may accept other clients (other Client ID / Secret
//!   pairs), each with its own scopes, as tenants connected to one app have.
//! * Anything else is a 404 with an empty body.
//!
//! Every connection gets its own thread; connections are kept alive until the client
//! closes them (or sends `Connection: close`). Dropping the [`FakeServiceTitan`] stops
//! the accept loop and every connection thread and waits for them to end.

#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as BASE64_STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

/// The scopes the fake grants the main client unless told otherwise.
pub const DEFAULT_SCOPES: [&str; 2] = ["tn.crm.customers:r", "tn.stt.businessunits:r"];

/// Each module's cheap list and the scope it needs, as servicetitan-facts.md gives
/// them (transcribed here on their own, not shared with st-setup's table, so that a
/// mistake in one is caught by the other): `base list scope`.
const PROBES: &str = "\
/accounting/v2 payment-types tn.acc.paymenttypes:r
/crm/v2 customers tn.crm.customers:r
/jpm/v2 job-types tn.jpm.jobtypes:r
/settings/v2 business-units tn.stt.businessunits:r
/dispatch/v2 zones tn.dis.zones:r
/pricebook/v2 categories tn.pb.categories:r
/inventory/v2 warehouses tn.inv.warehouses:r
/marketing/v2 campaigns tn.mrk.campaigns:r
/memberships/v2 membership-types tn.mem.membershiptypes:r
/payroll/v2 activity-codes tn.prl.activitycodes:r
/reporting/v2 report-categories tn.rpr.reportcategories:r
/sales/v2 estimates tn.sal.estimates:r
/service-agreements/v2 service-agreements tn.sa.serviceagreements:r
/timesheets/v2 activity-types tn.tms.activitytypes:r
/forms/v2 forms tn.frm.forms:r
/equipmentsystems/v2 installed-equipment tn.eqs.installedequipment:r
/taskmanagement/v2 tasks tn.tsm.tasks:r
/telecom/v3 calls tn.tlc.calls:r
/jbce/v2 call-reasons tn.jbce.callreasons:r
/customer-interactions/v2 technician-ratings tn.csi.technicianrating:r
/marketingreputation/v2 reviews tn.mrep.reviews:r
/schedulingpro/v2 schedulers tn.sp.schedulers:r";

/// Every module's read scope for its cheap list: an app granted all read scopes.
pub fn all_read_scopes() -> Vec<String> {
    PROBES
        .lines()
        .filter_map(|line| line.split(' ').nth(2))
        .map(str::to_string)
        .collect()
}

/// `Some(names)` from string slices, for builder calls.
pub fn scopes(names: &[&str]) -> Option<Vec<String>> {
    Some(names.iter().map(|s| s.to_string()).collect())
}

/// Path of the token endpoint on the fake.
pub const TOKEN_PATH: &str = "/connect/token";

/// Largest request head (request line plus headers) the fake accepts.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body the fake accepts.
const MAX_BODY: usize = 1024 * 1024;
/// How often blocked reads and sleeps look at the stop flag.
const POLL: Duration = Duration::from_millis(25);
/// How long a [`Fault::Hang`] keeps the socket open (unless the server is dropped).
const HANG_FOR: Duration = Duration::from_secs(60);

/// The four credentials the fake accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub tenant_id: String,
    pub app_key: String,
    pub client_id: String,
    pub client_secret: String,
}

impl Credentials {
    /// Fixed, deterministic demo credentials with the real shapes: tenant `8450`,
    /// `ak1.` + 25 lowercase letters/digits, `cid.` + 25, `cs1.` + 50.
    pub fn demo() -> Credentials {
        Credentials {
            tenant_id: "8450".to_string(),
            app_key: "ak1.fakesandboxappkey00000001".to_string(),
            client_id: "cid.fakesandboxclientid000001".to_string(),
            client_secret: "cs1.fakesandboxclientsecret0123456789abcdefghijklmnopq".to_string(),
        }
    }
}

/// Something to do instead of the normal answer, for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Read the request, never answer. The socket stays open for about 60 s or
    /// until the server is dropped.
    Hang,
    /// Read the request, then close the connection without writing anything.
    /// (std cannot set `SO_LINGER 0`, so the client normally sees a FIN, not a RST.)
    Reset,
    /// Write the status line and part of the headers, then close the connection.
    ResetMidResponse,
    /// Answer with exactly this status, headers and body. `Content-Length` is added
    /// unless `headers` already has one; `Connection: close` in `headers` closes the
    /// connection after the response.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Send a `Content-Length` for the whole body but write only its first half,
    /// then close the connection.
    Truncated { status: u16, body: Vec<u8> },
    /// Answer with this (3xx) status, a `Location` header and an empty body.
    Redirect { status: u16, location: String },
}

/// Which requests a queued [`Fault`] applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// Requests to `/connect/token` (any method).
    Token,
    /// Requests to a module's cheap list, `{base}/tenant/{tenant}/{list}` (any
    /// method, any tenant), business units included.
    Probe,
    /// Any request at all.
    Any,
}

/// One request as the fake received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// The request target, including any query string.
    pub path: String,
    /// Header names are lowercased; values are trimmed; order is preserved.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    /// The body decoded as `application/x-www-form-urlencoded` (lenient).
    pub fn form(&self) -> Vec<(String, String)> {
        parse_form(&self.body)
    }
}

/// One connection as the fake saw it: when it was accepted, and the requests
/// that came on it (`METHOD /path` without the query, and when each was read).
#[derive(Clone, Debug)]
pub struct ConnectionLog {
    pub accepted_at: Instant,
    pub requests: Vec<(String, Instant)>,
}

/// Options for a [`FakeServiceTitan`]; see [`FakeServiceTitan::builder`].
#[derive(Clone, Debug)]
pub struct FakeBuilder {
    creds: Credentials,
    clients: Vec<Client>,
    scope_in_response: bool,
    port: u16,
    latency: Duration,
    tenant_claim: Option<String>,
    opaque_token: bool,
    unknown_tenant_status: u16,
    expires_in: u64,
}

impl FakeBuilder {
    /// Sleep this long before every response (and before every fault).
    pub fn latency(mut self, latency: Duration) -> FakeBuilder {
        self.latency = latency;
        self
    }

    /// The `tenant` claim put in issued JWTs. Default: `Some(creds.tenant_id)`;
    /// `None` issues JWTs without a tenant claim.
    pub fn token_tenant_claim(mut self, claim: Option<String>) -> FakeBuilder {
        self.tenant_claim = claim;
        self
    }

    /// Issue opaque (random hex, not JWT) access tokens instead.
    pub fn opaque_token(mut self, opaque: bool) -> FakeBuilder {
        self.opaque_token = opaque;
        self
    }

    /// Status of the probe for a tenant other than `creds.tenant_id` (default 403).
    pub fn probe_status_for_unknown_tenant(mut self, status: u16) -> FakeBuilder {
        self.unknown_tenant_status = status;
        self
    }

    /// `expires_in` of issued tokens, in seconds (default 900). Tokens are rejected
    /// by the probe once they have expired.
    pub fn expires_in(mut self, seconds: u64) -> FakeBuilder {
        self.expires_in = seconds;
        self
    }

    /// The scopes of the main client's tokens (default [`DEFAULT_SCOPES`]); `None`
    /// issues tokens that name no scope at all (neither in the response nor the JWT).
    pub fn scopes(mut self, scopes: Option<Vec<String>>) -> FakeBuilder {
        self.clients[0].scopes = scopes;
        self
    }

    /// Also accept this Client ID / Secret, whose tokens carry `scopes`.
    pub fn client(mut self, id: &str, secret: &str, scopes: Option<Vec<String>>) -> FakeBuilder {
        self.clients.push(Client {
            id: id.to_string(),
            secret: secret.to_string(),
            scopes,
        });
        self
    }

    /// Put the scopes in the token response's `scope` (default true); false names
    /// them only in the JWT's `scope` claim.
    pub fn scope_in_response(mut self, yes: bool) -> FakeBuilder {
        self.scope_in_response = yes;
        self
    }

    /// Listen on this port of 127.0.0.1 (default 0: any free port).
    pub fn port(mut self, port: u16) -> FakeBuilder {
        self.port = port;
        self
    }

    /// Bind and start serving. Panics if the port cannot be bound.
    pub fn start(self) -> FakeServiceTitan {
        let port = self.port;
        self.try_start()
            .unwrap_or_else(|e| panic!("fake ServiceTitan: cannot listen on 127.0.0.1:{port}: {e}"))
    }

    /// Bind and start serving, reporting a bind failure instead of panicking.
    pub fn try_start(self) -> io::Result<FakeServiceTitan> {
        let listener = TcpListener::bind(("127.0.0.1", self.port))?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner {
            creds: self.creds,
            clients: self.clients,
            scope_in_response: self.scope_in_response,
            latency: self.latency,
            tenant_claim: self.tenant_claim,
            opaque_token: self.opaque_token,
            unknown_tenant_status: self.unknown_tenant_status,
            expires_in: self.expires_in,
            stop: AtomicBool::new(false),
            faults: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            connection_log: Mutex::new(Vec::new()),
            tokens: Mutex::new(HashMap::new()),
            token_counter: AtomicU64::new(0),
            token_requests: AtomicU64::new(0),
            probe_requests: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            connections: Mutex::new(Vec::new()),
        });
        let accept_inner = Arc::clone(&inner);
        let accept = thread::Builder::new()
            .name(format!("fake-st-accept-{}", addr.port()))
            .spawn(move || accept_loop(listener, accept_inner))?;
        Ok(FakeServiceTitan {
            addr,
            inner,
            accept: Some(accept),
        })
    }
}

/// A running fake ServiceTitan on 127.0.0.1. Dropping it stops the server.
pub struct FakeServiceTitan {
    addr: SocketAddr,
    inner: Arc<Inner>,
    accept: Option<JoinHandle<()>>,
}

impl FakeServiceTitan {
    /// Start with default options on a free port.
    pub fn start(creds: Credentials) -> FakeServiceTitan {
        FakeServiceTitan::builder(creds).start()
    }

    /// Options: latency, token shape, probe status for unknown tenants, port, ...
    pub fn builder(creds: Credentials) -> FakeBuilder {
        FakeBuilder {
            tenant_claim: Some(creds.tenant_id.clone()),
            clients: vec![Client {
                id: creds.client_id.clone(),
                secret: creds.client_secret.clone(),
                scopes: scopes(&DEFAULT_SCOPES),
            }],
            scope_in_response: true,
            creds,
            port: 0,
            latency: Duration::ZERO,
            opaque_token: false,
            unknown_tenant_status: 403,
            expires_in: 900,
        }
    }

    /// `http://127.0.0.1:PORT/connect/token`
    pub fn auth_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.api_url())
    }

    /// `http://127.0.0.1:PORT`
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The credentials the fake accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.inner.creds
    }

    /// Queue a fault: the next request on `route` that has no earlier queued fault
    /// gets it instead of the normal answer. Faults are taken in FIFO order.
    pub fn push_fault(&self, route: Route, fault: Fault) {
        lock(&self.inner.faults).push_back((route, fault));
    }

    /// Faults queued but not yet used.
    pub fn pending_faults(&self) -> usize {
        lock(&self.inner.faults).len()
    }

    /// Every complete request received so far, in order (malformed ones excluded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.requests).clone()
    }

    /// Every connection accepted so far, in order, with the requests that came on it.
    pub fn connections(&self) -> Vec<ConnectionLog> {
        lock(&self.inner.connection_log).clone()
    }

    /// Number of `POST /connect/token` requests received (faulted ones included).
    pub fn token_requests(&self) -> usize {
        self.inner.token_requests.load(Ordering::SeqCst) as usize
    }

    /// Number of `GET .../business-units` requests received (faulted ones included).
    /// The largest number of requests the fake was answering at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst) as usize
    }

    pub fn probe_requests(&self) -> usize {
        self.inner.probe_requests.load(Ordering::SeqCst) as usize
    }

    /// Every access token issued so far, in order.
    pub fn issued_tokens(&self) -> Vec<String> {
        let tokens = lock(&self.inner.tokens);
        let mut issued: Vec<(u64, String)> = tokens
            .iter()
            .map(|(token, info)| (info.serial, token.clone()))
            .collect();
        issued.sort();
        issued.into_iter().map(|(_, token)| token).collect()
    }
}

impl Drop for FakeServiceTitan {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        // Unblock accept(); the accept loop sees the stop flag and returns.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        let connections = std::mem::take(&mut *lock(&self.inner.connections));
        for connection in connections {
            let _ = connection.join();
        }
    }
}

// ---------------------------------------------------------------------------
// Server internals
// ---------------------------------------------------------------------------

/// A Client ID / Secret pair the fake accepts, and its tokens' scopes.
#[derive(Clone, Debug)]
struct Client {
    id: String,
    secret: String,
    scopes: Option<Vec<String>>,
}

struct TokenInfo {
    serial: u64,
    scopes: Option<Vec<String>>,
    /// `None`: never expires (an `expires_in` too large to represent).
    expires_at: Option<Instant>,
}

struct Inner {
    creds: Credentials,
    clients: Vec<Client>,
    scope_in_response: bool,
    latency: Duration,
    tenant_claim: Option<String>,
    opaque_token: bool,
    unknown_tenant_status: u16,
    expires_in: u64,
    stop: AtomicBool,
    faults: Mutex<VecDeque<(Route, Fault)>>,
    requests: Mutex<Vec<RecordedRequest>>,
    connection_log: Mutex<Vec<ConnectionLog>>,
    tokens: Mutex<HashMap<String, TokenInfo>>,
    token_counter: AtomicU64,
    token_requests: AtomicU64,
    probe_requests: AtomicU64,
    /// Requests being answered right now, and the most there ever were at once.
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    connections: Mutex<Vec<JoinHandle<()>>>,
}

/// Counts a request as in flight while it lives.
struct InFlight<'a>(&'a Inner);

impl<'a> InFlight<'a> {
    fn enter(inner: &'a Inner) -> InFlight<'a> {
        let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(inner)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Inner {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Sleep up to `duration` in small steps; false if the server was stopped meanwhile.
    fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        loop {
            if self.stopped() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            thread::sleep((deadline - now).min(POLL));
        }
    }

    fn take_fault(&self, route: Option<Route>) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let index = faults
            .iter()
            .position(|(r, _)| *r == Route::Any || Some(*r) == route)?;
        faults.remove(index).map(|(_, fault)| fault)
    }
}

/// Lock a mutex, ignoring poisoning (a panicking test thread must not wedge the fake).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    for stream in listener.incoming() {
        if inner.stopped() {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(_) => {
                // e.g. too many open files: back off a little rather than spin.
                thread::sleep(POLL);
                continue;
            }
        };
        let conn_id = {
            let mut log = lock(&inner.connection_log);
            log.push(ConnectionLog {
                accepted_at: Instant::now(),
                requests: Vec::new(),
            });
            log.len() - 1
        };
        let conn_inner = Arc::clone(&inner);
        let spawned = thread::Builder::new()
            .name("fake-st-conn".to_string())
            .spawn(move || serve_connection(stream, conn_inner, conn_id));
        if let Ok(handle) = spawned {
            let mut connections = lock(&inner.connections);
            // Forget threads that already ended so the list does not grow forever.
            let (finished, running): (Vec<_>, Vec<_>) =
                connections.drain(..).partition(|h| h.is_finished());
            *connections = running;
            drop(connections);
            for handle in finished {
                let _ = handle.join();
            }
            lock(&inner.connections).push(handle);
        }
    }
}

/// A request as parsed off the wire.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    keep_alive: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn path_only(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

enum ReadError {
    /// The client closed the connection (or it failed), or the server is stopping.
    Closed,
    /// Malformed request: answer with this status and close.
    Bad(u16, &'static str),
}

struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
    inner: Arc<Inner>,
}

impl Connection {
    /// Read at least one more byte into the buffer.
    fn fill(&mut self) -> Result<(), ReadError> {
        let mut chunk = [0u8; 8192];
        loop {
            if self.inner.stopped() {
                return Err(ReadError::Closed);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(ReadError::Closed),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(_) => return Err(ReadError::Closed),
            }
        }
    }

    /// Read one CRLF-terminated line (without the CRLF), for chunked bodies.
    fn read_line(&mut self, limit: usize) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(pos) = find(&self.buf, b"\r\n") {
                let line = self.buf[..pos].to_vec();
                self.buf.drain(..pos + 2);
                return Ok(line);
            }
            if self.buf.len() > limit {
                return Err(ReadError::Bad(400, "line too long"));
            }
            self.fill()?;
        }
    }

    fn read_exact_body(&mut self, len: usize) -> Result<Vec<u8>, ReadError> {
        while self.buf.len() < len {
            self.fill()?;
        }
        Ok(self.buf.drain(..len).collect())
    }

    fn read_request(&mut self) -> Result<Request, ReadError> {
        // The head: everything up to the first empty line.
        let head_end = loop {
            // Tolerate empty lines before the request line (RFC 9112 §2.2).
            while self.buf.starts_with(b"\r\n") {
                self.buf.drain(..2);
            }
            if let Some(pos) = find(&self.buf, b"\r\n\r\n") {
                break pos;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(ReadError::Bad(431, "request head too large"));
            }
            self.fill()?;
        };
        if head_end > MAX_HEAD {
            return Err(ReadError::Bad(431, "request head too large"));
        }
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end + 4);

        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or("");
        let parts: Vec<&str> = request_line.split(' ').collect();
        let [method, target, version] = parts.as_slice() else {
            return Err(ReadError::Bad(400, "malformed request line"));
        };
        if method.is_empty()
            || !method.bytes().all(|b| b.is_ascii_alphabetic())
            || target.is_empty()
        {
            return Err(ReadError::Bad(400, "malformed request line"));
        }
        let http10 = match *version {
            "HTTP/1.1" => false,
            "HTTP/1.0" => true,
            _ => return Err(ReadError::Bad(505, "only HTTP/1.0 and HTTP/1.1")),
        };
        // Absolute-form targets (`http://host/path`): keep only the path.
        let target = match target.strip_prefix("http://") {
            Some(rest) => match rest.find('/') {
                Some(slash) => rest[slash..].to_string(),
                None => "/".to_string(),
            },
            None => target.to_string(),
        };
        if !target.starts_with('/') && target != "*" {
            return Err(ReadError::Bad(400, "malformed request target"));
        }

        let mut headers = Vec::new();
        for line in lines {
            if line.starts_with(' ') || line.starts_with('\t') {
                return Err(ReadError::Bad(400, "obsolete header folding"));
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(ReadError::Bad(400, "malformed header line"));
            };
            if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
                return Err(ReadError::Bad(400, "malformed header name"));
            }
            headers.push((
                name.to_ascii_lowercase(),
                value.trim_matches([' ', '\t']).to_string(),
            ));
        }

        let header_tokens = |name: &str| -> Vec<String> {
            headers
                .iter()
                .filter(|(n, _)| n == name)
                .flat_map(|(_, v)| v.split(','))
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .collect()
        };
        let connection = header_tokens("connection");
        let keep_alive = if http10 {
            connection.iter().any(|t| t == "keep-alive")
        } else {
            !connection.iter().any(|t| t == "close")
        };
        let transfer_encoding = header_tokens("transfer-encoding");
        let content_lengths: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| n == "content-length")
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .collect();

        if !transfer_encoding.is_empty() && !content_lengths.is_empty() {
            return Err(ReadError::Bad(
                400,
                "both Transfer-Encoding and Content-Length",
            ));
        }
        let chunked = match transfer_encoding.as_slice() {
            [] => false,
            [.., last] if last == "chunked" => {
                if transfer_encoding.len() > 1 {
                    return Err(ReadError::Bad(501, "only chunked transfer coding"));
                }
                true
            }
            _ => return Err(ReadError::Bad(501, "unsupported transfer coding")),
        };
        let content_length = if content_lengths.is_empty() {
            0
        } else {
            let mut value = None;
            for cl in &content_lengths {
                let Ok(n) = cl.parse::<u64>() else {
                    return Err(ReadError::Bad(400, "malformed Content-Length"));
                };
                if value.is_some_and(|v| v != n) {
                    return Err(ReadError::Bad(400, "conflicting Content-Length"));
                }
                value = Some(n);
            }
            value.unwrap_or(0)
        };
        if content_length > MAX_BODY as u64 {
            return Err(ReadError::Bad(413, "body too large"));
        }
        let content_length = content_length as usize;

        let expects_continue = header_tokens("expect").iter().any(|t| t == "100-continue");
        if expects_continue
            && !http10
            && (chunked || content_length > 0)
            && self.buf.is_empty()
            && self
                .stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .is_err()
        {
            return Err(ReadError::Closed);
        }

        let body = if chunked {
            self.read_chunked_body()?
        } else {
            self.read_exact_body(content_length)?
        };

        Ok(Request {
            method: method.to_string(),
            target,
            headers,
            body,
            keep_alive,
        })
    }

    fn read_chunked_body(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(1024)?;
            let line = String::from_utf8_lossy(&line);
            let size = line.split(';').next().unwrap_or("").trim();
            let Ok(size) = usize::from_str_radix(size, 16) else {
                return Err(ReadError::Bad(400, "malformed chunk size"));
            };
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    if self.read_line(MAX_HEAD)?.is_empty() {
                        return Ok(body);
                    }
                }
            }
            if body.len().saturating_add(size) > MAX_BODY {
                return Err(ReadError::Bad(413, "body too large"));
            }
            let chunk = self.read_exact_body(size)?;
            body.extend_from_slice(&chunk);
            if !self.read_line(0)?.is_empty() {
                return Err(ReadError::Bad(400, "malformed chunk"));
            }
        }
    }
}

fn serve_connection(stream: TcpStream, inner: Arc<Inner>, conn_id: usize) {
    let _ = stream.set_nodelay(true);
    // Short read timeouts let idle keep-alive connections notice the stop flag.
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let mut conn = Connection {
        stream,
        buf: Vec::new(),
        inner,
    };
    loop {
        let request = match conn.read_request() {
            Ok(request) => request,
            Err(ReadError::Closed) => break,
            Err(ReadError::Bad(status, why)) => {
                let _ = write_response(
                    &mut conn.stream,
                    status,
                    &[("Content-Type".into(), "text/plain; charset=utf-8".into())],
                    format!("{}: {why}\n", reason(status)).as_bytes(),
                    true,
                );
                break;
            }
        };
        if let Some(log) = lock(&conn.inner.connection_log).get_mut(conn_id) {
            let what = format!("{} {}", request.method, request.path_only());
            log.requests.push((what, Instant::now()));
        }
        if !respond(&mut conn.stream, &conn.inner, request) {
            break;
        }
    }
    let _ = conn.stream.shutdown(Shutdown::Both);
}

/// Record and answer one request. Returns false when the connection must close.
fn respond(stream: &mut TcpStream, inner: &Inner, request: Request) -> bool {
    let _in_flight = InFlight::enter(inner);
    let path = request.path_only().to_string();
    let route = if path == TOKEN_PATH {
        Some(Route::Token)
    } else if probe_target(&path).is_some() {
        Some(Route::Probe)
    } else {
        None
    };
    match (route, request.method.as_str()) {
        (Some(Route::Token), "POST") => {
            inner.token_requests.fetch_add(1, Ordering::SeqCst);
        }
        (Some(Route::Probe), "GET") => {
            inner.probe_requests.fetch_add(1, Ordering::SeqCst);
        }
        _ => {}
    }
    lock(&inner.requests).push(RecordedRequest {
        method: request.method.clone(),
        path: request.target.clone(),
        headers: request.headers.clone(),
        body: request.body.clone(),
    });

    let fault = inner.take_fault(route);
    if !inner.sleep(inner.latency) {
        return false;
    }
    let keep_alive = request.keep_alive;

    let Some(fault) = fault else {
        let (status, headers, body) = normal_response(inner, &request, route);
        return write_response(stream, status, &headers, &body, !keep_alive).is_ok() && keep_alive;
    };

    match fault {
        Fault::Hang => {
            inner.sleep(HANG_FOR);
            false
        }
        Fault::Reset => false,
        Fault::ResetMidResponse => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Le",
            );
            let _ = stream.flush();
            false
        }
        Fault::Status {
            status,
            headers,
            body,
        } => {
            let close = !keep_alive
                || headers.iter().any(|(n, v)| {
                    n.eq_ignore_ascii_case("connection")
                        && v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))
                });
            write_response(stream, status, &headers, &body, close).is_ok() && !close
        }
        Fault::Truncated { status, body } => {
            let mut head = status_line(status);
            head.push_str("Content-Type: application/json; charset=utf-8\r\n");
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
            head.push_str("Connection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body[..body.len() / 2]);
            let _ = stream.flush();
            false
        }
        Fault::Redirect { status, location } => {
            let headers = vec![("Location".to_string(), location)];
            write_response(stream, status, &headers, b"", !keep_alive).is_ok() && keep_alive
        }
    }
}

type Response = (u16, Vec<(String, String)>, Vec<u8>);

fn normal_response(inner: &Inner, request: &Request, route: Option<Route>) -> Response {
    match route {
        Some(Route::Token) if request.method == "POST" => token_response(inner, request),
        Some(Route::Token) => method_not_allowed("POST"),
        Some(Route::Probe) if request.method == "GET" => probe_response(inner, request),
        Some(Route::Probe) => method_not_allowed("GET"),
        _ => (404, Vec::new(), Vec::new()),
    }
}

fn method_not_allowed(allow: &str) -> Response {
    (
        405,
        vec![("Allow".to_string(), allow.to_string())],
        Vec::new(),
    )
}

fn json_response(status: u16, content_type: &str, body: serde_json::Value) -> Response {
    (
        status,
        vec![("Content-Type".to_string(), content_type.to_string())],
        body.to_string().into_bytes(),
    )
}

fn oauth_error(error: &str, description: Option<&str>) -> Response {
    let body = match description {
        Some(description) => json!({ "error": error, "error_description": description }),
        None => json!({ "error": error }),
    };
    let (status, mut headers, body) = json_response(400, "application/json; charset=utf-8", body);
    headers.push(("Cache-Control".to_string(), "no-store".to_string()));
    headers.push(("Pragma".to_string(), "no-cache".to_string()));
    (status, headers, body)
}

fn token_response(inner: &Inner, request: &Request) -> Response {
    let content_type = request
        .header("content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if content_type != "application/x-www-form-urlencoded" {
        return oauth_error(
            "invalid_request",
            Some("Content-Type must be application/x-www-form-urlencoded"),
        );
    }
    let form = parse_form(&request.body);
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());

    match field("grant_type").as_deref() {
        Some("client_credentials") => {}
        None | Some("") => return oauth_error("invalid_request", Some("grant_type is missing")),
        Some(_) => return oauth_error("unsupported_grant_type", None),
    }

    // Client authentication: form fields, or HTTP Basic (RFC 6749 §2.3.1) as a fallback.
    let (client_id, client_secret) = match (field("client_id"), field("client_secret")) {
        (Some(id), Some(secret)) => (id, secret),
        (id, secret) => match basic_credentials(request) {
            Some(pair) => pair,
            None => (id.unwrap_or_default(), secret.unwrap_or_default()),
        },
    };
    let Some(client) = inner
        .clients
        .iter()
        .find(|c| c.id == client_id && c.secret == client_secret)
    else {
        return oauth_error("invalid_client", Some("Invalid client credentials"));
    };

    let serial = inner.token_counter.fetch_add(1, Ordering::SeqCst) + 1;
    let token = if inner.opaque_token {
        random_hex(serial)
    } else {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut payload = serde_json::Map::new();
        payload.insert("client_id".into(), json!(client_id));
        if let Some(tenant) = &inner.tenant_claim {
            payload.insert("tenant".into(), json!(tenant));
        }
        if let Some(scopes) = &client.scopes {
            payload.insert("scope".into(), json!(scopes));
        }
        payload.insert("nbf".into(), json!(now));
        payload.insert("exp".into(), json!(now.saturating_add(inner.expires_in)));
        payload.insert("jti".into(), json!(format!("fake-{serial:08}")));
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"at+jwt"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::Value::Object(payload).to_string());
        let signature = URL_SAFE_NO_PAD.encode(b"fake-signature");
        format!("{header}.{payload}.{signature}")
    };
    let expires_at = Instant::now().checked_add(Duration::from_secs(inner.expires_in));
    lock(&inner.tokens).insert(
        token.clone(),
        TokenInfo {
            serial,
            scopes: client.scopes.clone(),
            expires_at,
        },
    );

    let mut body = json!({
        "access_token": token,
        "expires_in": inner.expires_in,
        "token_type": "Bearer",
    });
    if let (Some(scopes), true) = (&client.scopes, inner.scope_in_response) {
        body["scope"] = json!(scopes.join(" "));
    }
    let (status, mut headers, body) = json_response(200, "application/json; charset=utf-8", body);
    headers.push(("Cache-Control".to_string(), "no-store".to_string()));
    headers.push(("Pragma".to_string(), "no-cache".to_string()));
    (status, headers, body)
}

fn basic_credentials(request: &Request) -> Option<(String, String)> {
    let auth = request.header("authorization")?;
    let (scheme, encoded) = auth.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASE64_STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((
        percent_decode(id.as_bytes()),
        percent_decode(secret.as_bytes()),
    ))
}

/// The `{tenant}` of a module's cheap list `{base}/tenant/{tenant}/{list}`, and
/// the scope that list needs, if `path` is one.
fn probe_target(path: &str) -> Option<(&str, &'static str)> {
    let (base, rest) = path.split_once("/tenant/")?;
    let (tenant, list) = rest.split_once('/')?;
    if tenant.is_empty() {
        return None;
    }
    PROBES.lines().find_map(|line| {
        let mut parts = line.split(' ');
        let (b, l, scope) = (parts.next()?, parts.next()?, parts.next()?);
        (b == base && l == list).then_some((tenant, scope))
    })
}

fn problem(status: u16, title: &str, trace: &str, detail: &str) -> Response {
    let type_ = match status {
        401 => "https://tools.ietf.org/html/rfc7235#section-3.1",
        403 => "https://tools.ietf.org/html/rfc7231#section-6.5.3",
        404 => "https://tools.ietf.org/html/rfc7231#section-6.5.4",
        _ => "about:blank",
    };
    let (status, mut headers, body) = json_response(
        status,
        "application/problem+json; charset=utf-8",
        json!({
            "type": type_,
            "title": title,
            "status": status,
            "detail": detail,
            "traceId": trace,
        }),
    );
    if status == 401 {
        headers.push(("WWW-Authenticate".to_string(), "Bearer".to_string()));
    }
    (status, headers, body)
}

fn probe_response(inner: &Inner, request: &Request) -> Response {
    let token = request.header("authorization").and_then(|auth| {
        let (scheme, token) = auth.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string())
    });
    // `Some(scopes)` of a valid token.
    let token_scopes = token.and_then(|token| {
        lock(&inner.tokens)
            .get(&token)
            .filter(|info| info.expires_at.is_none_or(|at| Instant::now() < at))
            .map(|info| info.scopes.clone())
    });
    let Some(token_scopes) = token_scopes else {
        return problem(
            401,
            "Unauthorized",
            "00-fake-trace-01",
            "Missing, unknown or expired bearer token",
        );
    };
    if request.header("st-app-key") != Some(inner.creds.app_key.as_str()) {
        return problem(
            401,
            "Unauthorized",
            "00-fake-trace-02",
            "Missing or invalid ST-App-Key header",
        );
    }
    let (tenant, needed) = probe_target(request.path_only()).unwrap_or(("", ""));
    if tenant != inner.creds.tenant_id {
        let status = inner.unknown_tenant_status;
        return match status {
            403 => problem(
                403,
                "Forbidden",
                "00-fake-trace-03",
                "The application is not connected to this tenant",
            ),
            404 => problem(404, "Not Found", "00-fake-trace-04", "No such tenant"),
            _ => problem(status, reason(status), "00-fake-trace-05", "Unknown tenant"),
        };
    }
    if token_scopes.is_some_and(|granted| !granted.iter().any(|s| s == needed)) {
        return problem(
            403,
            "Forbidden",
            "00-fake-trace-06",
            "The token does not have the scope this endpoint needs",
        );
    }
    json_response(
        200,
        "application/json; charset=utf-8",
        json!({
            "page": 1,
            "pageSize": 1,
            "hasMore": false,
            "totalCount": null,
            "data": [{ "id": 1, "name": "Main", "active": true }],
        }),
    )
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

fn status_line(status: u16) -> String {
    format!("HTTP/1.1 {status} {}\r\n", reason(status))
}

fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    close: bool,
) -> io::Result<()> {
    let mut head = status_line(status);
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let has = |wanted: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(wanted));
    if !has("content-length") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if close && !has("connection") {
        head.push_str("Connection: close\r\n");
    }
    if !has("server") {
        head.push_str("Server: fake-servicetitan\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out)?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parse `application/x-www-form-urlencoded` (lenient: bad escapes are kept as-is).
fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (percent_decode(&pair[..eq]), percent_decode(&pair[eq + 1..])),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

/// Form decoding: `+` is a space, `%XX` a byte; invalid escapes are kept literally.
fn percent_decode(input: &[u8]) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < input.len() => match (hex(input[i + 1]), hex(input[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// 32 hex digits that differ between tokens and between runs (no `rand` crate needed).
fn random_hex(serial: u64) -> String {
    let state = RandomState::new();
    let mut out = String::with_capacity(32);
    for half in 0..2u64 {
        let mut hasher = state.build_hasher();
        hasher.write_u64(serial);
        hasher.write_u64(half);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        hasher.write_u128(nanos);
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out
}
