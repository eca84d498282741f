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
            Ok(Err(err)) if is_locked(&err) => Err(locked(action, &err)),
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
        // A locked keyring is told apart before this (`is_locked`).
        keyring::Error::NoStorageAccess(e) if e.to_string().contains("result not returned") => {
            format!(
                "the Secret Service has no default keyring to keep the secret in ({e}); \
                 a first unlock of gnome-keyring with a password creates one"
            )
        }
        keyring::Error::NoStorageAccess(e) => format!("access was refused ({e})"),
        keyring::Error::PlatformFailure(e) => format!("{e}"),
        keyring::Error::NoDefaultStore => "no credential store could be opened".into(),
        other => other.to_string(),
    }
}

/// Whether the store answered that it is locked and could not be unlocked.
///
/// On Linux the keyring crate reports a locked item or collection, and an
/// unlock prompt that failed or was dismissed, as `NoStorageAccess` wrapping
/// the secret-service crate's `Locked` ("object locked") or `Prompt` ("prompt
/// dismissed") error. Its third case, `NoResult` (no default collection), is
/// not a lock. The wrapped type is not ours, so the cases are told apart by
/// their text; anything else keeps the general message.
#[cfg(all(unix, not(target_os = "macos")))]
fn is_locked(err: &keyring::Error) -> bool {
    match err {
        keyring::Error::NoStorageAccess(e) => {
            let text = e.to_string().to_ascii_lowercase();
            text.contains("locked") || text.contains("prompt dismissed")
        }
        _ => false,
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn is_locked(_err: &keyring::Error) -> bool {
    false
}

/// A locked keyring: it answered, but only with a password prompt that
/// could not be shown (no desktop session) or was cancelled.
fn locked(action: &str, err: &keyring::Error) -> Error {
    let cause = match err {
        keyring::Error::NoStorageAccess(e) => e.to_string(),
        other => other.to_string(),
    };
    ways_on(
        action,
        &format!(
            "the keyring is locked, and the password prompt that would unlock it could not \
             be shown here or was cancelled ({cause})"
        ),
        LOCKED_HINT,
    )
}

/// What was tried, what happened, and the three ways on.
pub fn unavailable(action: &str, what_happened: &str) -> Error {
    ways_on(action, what_happened, UNLOCK_HINT)
}

fn ways_on(action: &str, what_happened: &str, first_way: &str) -> Error {
    Error::Store(format!(
        "could not {action} the OS keyring ({}): {what_happened}.\n\
         Ways on:\n\
         \x20 1. {first_way}\n\
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

/// The one command that unlocks a gnome-keyring that is running but locked
/// (`--unlock` alone would start a second daemon beside it and unlock nothing).
#[cfg(all(unix, not(target_os = "macos")))]
macro_rules! unlock_running_gnome_keyring {
    () => {
        "printf '%s' \"$KEYRING_PASSWORD\" | gnome-keyring-daemon --replace --unlock --components=secrets"
    };
}

#[cfg(all(unix, not(target_os = "macos")))]
const UNLOCK_HINT: &str = concat!(
    "Start or unlock a Secret Service. With gnome-keyring on a headless machine:\n",
    "     eval \"$(dbus-launch --sh-syntax)\"; echo -n \"$KEYRING_PASSWORD\" | gnome-keyring-daemon --unlock --components=secrets\n",
    "     or, if gnome-keyring is already running but locked:\n     ",
    unlock_running_gnome_keyring!()
);
#[cfg(all(unix, not(target_os = "macos")))]
const LOCKED_HINT: &str = concat!(
    "Unlock the keyring, then run this again. On a desktop: unlock the Login keyring in\n",
    "     Passwords and Keys (seahorse). Headless: replace the running gnome-keyring with an unlocked one:\n     ",
    unlock_running_gnome_keyring!()
);
#[cfg(target_os = "macos")]
const UNLOCK_HINT: &str = "Unlock the login keychain: security unlock-keychain";
#[cfg(windows)]
const UNLOCK_HINT: &str = "Sign in to Windows interactively so Credential Manager is available.";
#[cfg(not(all(unix, not(target_os = "macos"))))]
const LOCKED_HINT: &str = UNLOCK_HINT;

#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use super::*;

    /// The keyring crate's error for a secret-service error with this text.
    fn no_access(text: &str) -> keyring::Error {
        keyring::Error::NoStorageAccess(Box::new(std::io::Error::other(text.to_string())))
    }

    #[test]
    fn a_locked_item_and_a_dismissed_unlock_prompt_are_a_locked_keyring() {
        // The texts of secret_service::Error::Locked and ::Prompt.
        for text in ["SS Error: object locked", "SS error: prompt dismissed"] {
            assert!(is_locked(&no_access(text)), "{text}");
        }
        // NoResult (no default collection) and other failures are not.
        assert!(!is_locked(&no_access(
            "SS error: result not returned from SS API"
        )));
        assert!(!is_locked(&keyring::Error::PlatformFailure(Box::new(
            std::io::Error::other("SS error: prompt dismissed")
        ))));
        assert!(!is_locked(&keyring::Error::NoEntry));
    }

    #[test]
    fn a_locked_keyring_is_named_with_the_command_that_unlocks_it() {
        let message = locked("read from", &no_access("SS error: prompt dismissed")).to_string();
        for needle in [
            "could not read from the OS keyring",
            "the keyring is locked",
            "(SS error: prompt dismissed)",
            unlock_running_gnome_keyring!(),
            "ST_CLIENT_SECRET",
            "--storage file",
        ] {
            assert!(message.contains(needle), "no {needle:?} in:\n{message}");
        }
        // No default collection is not a lock, and says what it is.
        let none = describe(&no_access("SS error: result not returned from SS API"));
        assert!(none.contains("no default keyring"), "{none}");
        assert!(!none.contains("locked"), "{none}");
        // The general message names it too, for a locked keyring that hangs.
        assert!(UNLOCK_HINT.contains(unlock_running_gnome_keyring!()));
    }
}
