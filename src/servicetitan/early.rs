//! Connections opened early: while the Client Secret is read from the keyring,
//! the connections to the token host and the API host are opened (DNS, TCP,
//! TLS, and a proxy's CONNECT when one applies) by reqwest's own connector, and
//! each is handed to the first request to its origin. Nothing is written on
//! such a connection before that request: a run that never gets its secret
//! just closes it.
//!
//! reqwest has no "pre-connect" call, so this is a connector layer
//! ([`reqwest::ClientBuilder::connector_layer`]) that knows, from a task-local
//! [`Purpose`] set around each request, what the connection is for:
//!
//! * [`Purpose::Early`]: a warm-up request made only to reach the connector
//!   with the request's URL (so that proxies, `--ca-bundle` and the connect
//!   timeout are exactly reqwest's). The layer starts the connection on a task
//!   of its own, keeps it, and fails the warm-up at once, before anything is
//!   written: a failed connection cannot carry a request.
//! * [`Purpose::Request`]: a real request. The layer hands over the connection
//!   opened early for its origin, if it opened and still looks open, or else
//!   connects as reqwest would have: a failed early connection is never an
//!   error by itself.
//!
//! [`super::http::Transport`] makes sure a warm-up is only made for an origin
//! that no request of this client has used, so the pool cannot hold a
//! connection the warm-up could be sent on.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::ui::Ui;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An early connection older than this is not used (a server or a NAT may
/// have dropped it while the keyring asked for a password): the request
/// connects again.
pub(crate) const MAX_EARLY_IDLE: Duration = Duration::from_secs(15);

tokio::task_local! {
    static PURPOSE: Purpose;
}

/// What a connection asked of the connector is for, by origin
/// (`scheme://host:port`).
#[derive(Clone, Debug)]
pub(crate) enum Purpose {
    /// Open a connection to this origin and keep it for the first request.
    Early(String),
    /// A request to this origin.
    Request(String),
}

/// Run `future` (a request) with `purpose` visible to the connector.
pub(crate) async fn with_purpose<F: Future>(purpose: Purpose, future: F) -> F::Output {
    PURPOSE.scope(purpose, future).await
}

/// The warm-up request's error: it was never meant to be sent.
#[derive(Debug)]
struct OpenedEarly;

impl std::fmt::Display for OpenedEarly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection opened early; nothing sent")
    }
}

impl std::error::Error for OpenedEarly {}

/// A connection opened early, and when it was ready.
struct Opened<C> {
    conn: Result<C, BoxError>,
    ready_at: Instant,
}

/// The connections opened early and not yet taken, by origin. Each is a
/// `JoinHandle<Opened<C>>` for the connector's connection type `C` (which
/// reqwest does not name).
#[derive(Default)]
pub(crate) struct EarlyConnections {
    slots: Mutex<HashMap<String, Box<dyn Any + Send>>>,
}

impl EarlyConnections {
    fn slots(&self) -> MutexGuard<'_, HashMap<String, Box<dyn Any + Send>>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a connection to `origin` was opened early and not yet taken.
    pub(crate) fn holds(&self, origin: &str) -> bool {
        self.slots().contains_key(origin)
    }

    fn take<C: Send + 'static>(&self, origin: &str) -> Option<JoinHandle<Opened<C>>> {
        let slot = self.slots().remove(origin)?;
        slot.downcast::<JoinHandle<Opened<C>>>().ok().map(|b| *b)
    }
}

/// The connector layer: see the module doc.
#[derive(Clone)]
pub(crate) struct EarlyLayer {
    pub(crate) early: Arc<EarlyConnections>,
    pub(crate) connect_timeout: Duration,
    pub(crate) ui: Ui,
}

impl<S> tower_layer::Layer<S> for EarlyLayer {
    type Service = EarlyService<S>;

    fn layer(&self, inner: S) -> EarlyService<S> {
        EarlyService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct EarlyService<S> {
    inner: S,
    layer: EarlyLayer,
}

type Connecting<C> = Pin<Box<dyn Future<Output = Result<C, BoxError>> + Send>>;

impl<S, R> tower_service::Service<R> for EarlyService<S>
where
    S: tower_service::Service<R, Error = BoxError> + Clone + Send + 'static,
    S::Response: hyper::rt::Read + Unpin + Send + 'static,
    S::Future: Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Connecting<S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, dst: R) -> Self::Future {
        // The service that was polled ready is the one called.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        match PURPOSE.try_with(Purpose::clone) {
            Ok(Purpose::Early(origin)) => {
                let connecting = inner.call(dst);
                let limit = self.layer.connect_timeout;
                let opening = tokio::spawn(async move {
                    let conn = match tokio::time::timeout(limit, connecting).await {
                        Ok(conn) => conn,
                        Err(_) => Err("timed out".into()),
                    };
                    Opened {
                        conn,
                        ready_at: Instant::now(),
                    }
                });
                self.layer.early.slots().insert(origin, Box::new(opening));
                Box::pin(async { Err(OpenedEarly.into()) })
            }
            Ok(Purpose::Request(origin)) => {
                let opened = self.layer.early.take::<S::Response>(&origin);
                let ui = self.layer.ui;
                Box::pin(async move {
                    if let Some(opening) = opened {
                        if let Ok(Opened {
                            conn: Ok(mut conn),
                            ready_at,
                        }) = opening.await
                            && ready_at.elapsed() < MAX_EARLY_IDLE
                            && still_open(&mut conn)
                        {
                            ui.verbose_line(&format!(
                                "  on the connection to {origin} opened while the secret was read"
                            ));
                            return Ok(conn);
                        }
                        ui.verbose_line(&format!(
                            "  the connection to {origin} opened early cannot be used; connecting again"
                        ));
                    }
                    inner.call(dst).await
                })
            }
            // Every request of the transport has a purpose; a connection
            // asked for without one is a bug, and nothing is sent on it.
            Err(_) => Box::pin(async {
                Err("internal error: a connection was asked for outside a request".into())
            }),
        }
    }
}

/// Whether `conn` is still open and quiet: nothing to read, no end of stream.
/// A server sends nothing before a request, except when it gives up on the
/// connection (a `408`, a close). Reads nothing that a request would need.
fn still_open<C: hyper::rt::Read + Unpin>(conn: &mut C) -> bool {
    let mut byte = [MaybeUninit::uninit(); 1];
    let mut buf = hyper::rt::ReadBuf::uninit(&mut byte);
    let mut cx = Context::from_waker(Waker::noop());
    matches!(
        Pin::new(conn).poll_read(&mut cx, buf.unfilled()),
        Poll::Pending
    )
}
