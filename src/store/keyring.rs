//! The OS keyring (Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows), with a timeout on every call.
//!
//! A locked or hung Secret Service can block a D-Bus call forever, so each
//! call runs on its own thread and is abandoned after the timeout: the user
//! gets exit 6 and a message instead of a hang. There is no fallback store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::error::{Error, Result};

/// The keyring service name; the account is the profile name.
pub const SERVICE: &str = "st-setup";
/// Separate service for cached access tokens, so they never touch the secret's entry.
pub const TOKEN_CACHE_SERVICE: &str = "st-setup-token-cache";

#[derive(Clone, Debug)]
pub struct Keyring {
    timeout: Duration,
}

impl Keyring {
    pub fn new(timeout: Duration) -> Self {
        Keyring { timeout }
    }

    pub fn get(&self, service: &'static str, account: &str) -> Result<Option<String>> {
        self.call(
            "read from",
            account,
            move |entry| match entry.get_password() {
                Ok(value) => Ok(Some(value)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(e),
            },
            service,
        )
    }

    pub fn set(&self, service: &'static str, account: &str, value: &str) -> Result<()> {
        let value = zeroize::Zeroizing::new(value.to_string());
        self.call(
            "write to",
            account,
            move |entry| entry.set_password(&value),
            service,
        )
    }

    /// Delete an entry; `Ok(false)` when there was none.
    pub fn delete(&self, service: &'static str, account: &str) -> Result<bool> {
        self.call(
            "delete from",
            account,
            |entry| match entry.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring::Error::NoEntry) => Ok(false),
                Err(e) => Err(e),
            },
            service,
        )
    }

    fn call<T: Send + 'static>(
        &self,
        action: &'static str,
        account: &str,
        op: impl FnOnce(&keyring::Entry) -> keyring::Result<T> + Send + 'static,
        service: &'static str,
    ) -> Result<T> {
        // Once a call has hung, the next would only hang as well: with many
        // profiles (`check --all`) that is one timeout in all, not one each.
        if KEYRING_HUNG.load(Ordering::Relaxed) {
            return Err(unavailable(action, &self.no_answer("an earlier call")));
        }
        let account = account.to_string();
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("keyring".into())
            .spawn(move || {
                let result = keyring::Entry::new(service, &account).and_then(|e| op(&e));
                let _ = tx.send(result);
            });
        if let Err(e) = spawned {
            return Err(Error::Store(format!("could not start a keyring call: {e}")));
        }
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(unavailable(action, &describe(&err))),
            Err(_) => {
                KEYRING_HUNG.store(true, Ordering::Relaxed);
                Err(unavailable(action, &self.no_answer("it")))
            }
        }
    }

    fn no_answer(&self, what: &str) -> String {
        format!(
            "{what} did not answer within {} s (it may be locked and waiting for a password \
             prompt nobody can see; change the limit with ST_KEYRING_TIMEOUT)",
            self.timeout.as_secs_f64()
        )
    }
}

/// Set when a keyring call has timed out in this process.
static KEYRING_HUNG: AtomicBool = AtomicBool::new(false);

fn describe(err: &keyring::Error) -> String {
    match err {
        keyring::Error::NoStorageAccess(e) => {
            format!("access was refused, usually because the keyring is locked ({e})")
        }
        keyring::Error::PlatformFailure(e) => format!("{e}"),
        keyring::Error::NoDefaultStore => "no credential store could be opened".into(),
        other => other.to_string(),
    }
}

/// What was tried, what happened, and the three ways on.
pub fn unavailable(action: &str, what_happened: &str) -> Error {
    Error::Store(format!(
        "could not {action} the OS keyring ({}): {what_happened}.\n\
         Ways on:\n\
         \x20 1. {UNLOCK_HINT}\n\
         \x20 2. For CI, store nothing: set ST_TENANT_ID, ST_APP_KEY, ST_CLIENT_ID and ST_CLIENT_SECRET\n\
         \x20    and run `st-setup check`, `token` or `exec` with them.\n\
         \x20 3. Opt in to a plain-text file instead: `st-setup init --storage file` (mode 0600).",
        store_tried()
    ))
}

/// Which store was tried, and on Linux where: the D-Bus session bus address.
#[cfg(all(unix, not(target_os = "macos")))]
fn store_tried() -> String {
    match std::env::var("DBUS_SESSION_BUS_ADDRESS") {
        Ok(address) if !address.trim().is_empty() => {
            format!("Secret Service on the D-Bus session bus {address}")
        }
        _ => "Secret Service on the default D-Bus session bus; DBUS_SESSION_BUS_ADDRESS is not set"
            .into(),
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn store_tried() -> String {
    STORE_NAME.into()
}

#[cfg(target_os = "macos")]
const STORE_NAME: &str = "macOS Keychain";
#[cfg(windows)]
const STORE_NAME: &str = "Windows Credential Manager";

#[cfg(all(unix, not(target_os = "macos")))]
const UNLOCK_HINT: &str = "Start or unlock a Secret Service. With gnome-keyring on a headless machine:\n\
     \x20    eval \"$(dbus-launch --sh-syntax)\"; echo -n \"$KEYRING_PASSWORD\" | gnome-keyring-daemon --unlock --components=secrets";
#[cfg(target_os = "macos")]
const UNLOCK_HINT: &str = "Unlock the login keychain: security unlock-keychain";
#[cfg(windows)]
const UNLOCK_HINT: &str = "Sign in to Windows interactively so Credential Manager is available.";
