//! st-setup's integration tests: the real binary, a fake ServiceTitan on
//! 127.0.0.1, the real gnome-keyring of scripts/test, and a pseudo-terminal for
//! the wizard. One test binary; each module reads like the behaviour it checks.

mod util;

mod help;
mod init;
// A locked gnome-keyring of its own (not the shared one of scripts/test).
#[cfg(target_os = "linux")]
mod locked_keyring;
mod network;
// The wizard with no D-Bus session: the ways on it offers (pseudo-terminal).
#[cfg(target_os = "linux")]
mod no_keyring;
mod scripting;
// st-setup on the bus of a real gnome-keyring of its own: calls made, duplicate items.
#[cfg(target_os = "linux")]
mod secret_service;
// Storage failures and races against the real gnome-keyring of scripts/test.
#[cfg(target_os = "linux")]
mod storage;
// The wizard runs in a pseudo-terminal (rexpect) against the real gnome-keyring.
#[cfg(target_os = "linux")]
mod wizard;
