//! The test harness: a fake ServiceTitan on 127.0.0.1, a runner for the real
//! binary that checks every output for leaked secrets, and the odd real
//! service a test needs (a private D-Bus bus, a private gnome-keyring that
//! can be locked, a TLS server, a proxy), and a pseudo-terminal of a given size.

pub mod cmd;
pub mod dbus;
pub mod environments;
pub mod fake_servicetitan;
pub mod locked_keyring;
pub mod proxy;
#[cfg(unix)]
pub mod terminal;
pub mod tls;
