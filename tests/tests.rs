//! st-setup's integration tests: the real binary, a fake ServiceTitan on
//! 127.0.0.1, the real gnome-keyring of scripts/test, and a pseudo-terminal for
//! the wizard. One test binary; each module reads like the behaviour it checks.

mod util;

// Credentials handed to servicepytan and the Singer tap, and `export --output`.
mod consumers;
mod diagnosis;
// The config directory as hostile ground (planted links, FIFOs, other owners).
#[cfg(target_os = "linux")]
mod config_dir;
// Connections opened while the keyring is read.
mod early_connections;
mod help;
// A malicious server, a planted config, shell code in values, core dumps.
mod hostile;
mod init;
// A locked gnome-keyring of its own (not the shared one of scripts/test).
#[cfg(target_os = "linux")]
mod locked_keyring;
// One app, many tenants: import, --jobs, filters, --app-key-from.
#[cfg(target_os = "linux")]
mod many_tenants;
mod network;
// The wizard with no D-Bus session: the ways on it offers (pseudo-terminal).
#[cfg(target_os = "linux")]
mod no_keyring;
// Release names, the .deb's metadata, the Homebrew and Scoop manifests.
mod packaging;
mod scripting;
// st-setup on the bus of a real gnome-keyring of its own: calls made, duplicate items.
#[cfg(target_os = "linux")]
mod secret_service;
// Storage failures and races against the real gnome-keyring of scripts/test.
#[cfg(target_os = "linux")]
mod storage;
// Everything printed fits a 60- or 80-column pseudo-terminal.
#[cfg(target_os = "linux")]
mod terminal_width;
// The wizard runs in a pseudo-terminal (rexpect) against the real gnome-keyring.
#[cfg(target_os = "linux")]
mod wizard;
