//! The OS keyring (Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows), with a timeout on every call.
//!
//! A locked or hung Secret Service can block a D-Bus call forever, so each
//! call runs on its own thread and is abandoned after the timeout: the user
//! gets exit 6 and a message instead of a hang. There is no fallback store.
//! The platform code is in `secret_service` (Linux, BSDs) and `os_keyring`
//! (macOS, Windows); this module turns what they found into messages.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

#[cfg(any(target_os = "macos", windows))]
use super::os_keyring as backend;
#[cfg(all(unix, not(target_os = "macos")))]
use super::secret_service as backend;

/// The keyring service name; the account is the profile name.
pub(crate) const SERVICE: &str = "st-setup";
/// Separate service for cached access tokens, so they never touch the secret's entry.
pub(crate) const TOKEN_CACHE_SERVICE: &str = "st-setup-token-cache";

/// What a read found under one service and account.
pub(crate) enum Found {
    None,
    One(Zeroizing<String>),
    /// Another client stored more than one entry.
    Several {
        count: usize,
    },
}

/// Why the store could not be used; the text is the platform's own words.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No store to talk to (no D-Bus session, no Secret Service on it).
    Unavailable(String),
    /// It answered that it is locked, and unlocking failed or was dismissed.
    Locked(String),
    /// The Secret Service has no default collection to create entries in.
    NoDefaultCollection(String),
    Other(String),
}

#[derive(Clone, Debug)]
pub(crate) struct Keyring {
    timeout: Duration,
}

impl Keyring {
    pub(crate) fn new(timeout: Duration) -> Self {
        Keyring { timeout }
    }

    /// The entry's value. More than one entry is an error that says how to
    /// make it one again.
    pub(crate) fn get(&self, service: &'static str, account: &str) -> Result<Option<String>> {
        let found = self.read(service, account)?;
        match found {
            Found::None => Ok(None),
            Found::One(mut value) => Ok(Some(std::mem::take(&mut *value))),
            Found::Several { count, .. } => Err(duplicates(service, account, count)),
        }
    }

    /// The entry's value, or `None` when there are several: for callers that
    /// are about to replace them all (`init`) or delete them all (`remove`).
    pub(crate) fn get_unless_several(
        &self,
        service: &'static str,
        account: &str,
    ) -> Result<Option<String>> {
        let found = self.read(service, account)?;
        match found {
            Found::One(mut value) => Ok(Some(std::mem::take(&mut *value))),
            Found::None | Found::Several { .. } => Ok(None),
        }
    }

    fn read(&self, service: &'static str, account: &str) -> Result<Found> {
        let account = account.to_string();
        self.call("read from", move || backend::read(service, &account))
    }

    /// Make `value` the one entry: an existing entry is updated, duplicates
    /// stored by other clients are deleted.
    pub(crate) fn set(&self, service: &'static str, account: &str, value: &str) -> Result<()> {
        let account = account.to_string();
        let value = Zeroizing::new(value.to_string());
        self.call("write to", move || {
            backend::write(service, &account, &value)
        })
    }

    /// [`Keyring::set`], returning the one value it replaced (`None` when
    /// there was none, or several): for a save that must be able to put it back.
    pub(crate) fn replace(
        &self,
        service: &'static str,
        account: &str,
        value: &str,
    ) -> Result<Option<String>> {
        let account = account.to_string();
        let value = Zeroizing::new(value.to_string());
        self.call("write to", move || {
            backend::replace(service, &account, &value, true)
                .map(|before| before.map(|mut v| std::mem::take(&mut *v)))
        })
    }

    /// Delete every entry; `Ok(false)` when there was none.
    pub(crate) fn delete(&self, service: &'static str, account: &str) -> Result<bool> {
        let account = account.to_string();
        self.call("delete from", move || {
            backend::delete(service, &account).map(|n| n > 0)
        })
    }

    fn call<T: Send + 'static>(
        &self,
        action: &'static str,
        op: impl FnOnce() -> std::result::Result<T, Failure> + Send + 'static,
    ) -> Result<T> {
        // Once a call has hung, the next would only hang as well: with many
        // profiles (`check --all`) that is one timeout in all, not one each.
        if KEYRING_HUNG.load(Ordering::Relaxed) {
            return Err(unavailable(action, &self.no_answer("an earlier call")));
        }
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("keyring".into())
            .spawn(move || {
                let _ = tx.send(op());
            });
        if let Err(e) = spawned {
            return Err(Error::Store(format!("could not start a keyring call: {e}")));
        }
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(failure)) => Err(explain(action, failure)),
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

fn explain(action: &str, failure: Failure) -> Error {
    match failure {
        Failure::Locked(cause) => locked(action, &cause),
        Failure::NoDefaultCollection(cause) => unavailable(
            action,
            &format!(
                "the Secret Service has no default keyring to keep the secret in ({cause}); \
                 a first unlock of gnome-keyring with a password creates one"
            ),
        ),
        Failure::Unavailable(cause) | Failure::Other(cause) => unavailable(action, &cause),
    }
}

/// Several entries for one profile: which one is right cannot be known.
fn duplicates(service: &str, account: &str, count: usize) -> Error {
    let what = if service == TOKEN_CACHE_SERVICE {
        "cached access tokens"
    } else {
        "Client Secrets"
    };
    Error::Store(format!(
        "the OS keyring holds {count} {what} for profile {account:?} (service {service:?}, \
         account {account:?}), stored there by another program, and st-setup cannot tell \
         which one is right.\n\
         Replace them with one: st-setup init --profile {account}\n\
         or delete them all:    st-setup remove --profile {account}"
    ))
}

/// A locked keyring: it answered, but only with a password prompt that
/// could not be shown (no desktop session) or was cancelled.
fn locked(action: &str, cause: &str) -> Error {
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
pub(crate) fn unavailable(action: &str, what_happened: &str) -> Error {
    ways_on(action, what_happened, UNLOCK_HINT)
}

fn ways_on(action: &str, what_happened: &str, first_way: &str) -> Error {
    Error::Store(format!(
        "could not {action} the OS keyring ({}): {what_happened}.\n\
         Ways on:\n\
         \x20 1. {first_way}\n\
         \x20 2. For CI, store nothing: set ST_TENANT_ID, ST_APP_KEY, ST_CLIENT_ID and ST_CLIENT_SECRET \
         and run `st-setup check`, `token` or `exec` with them.\n\
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

    #[test]
    fn a_locked_keyring_is_named_with_the_command_that_unlocks_it() {
        let message = explain(
            "read from",
            Failure::Locked("SS error: prompt dismissed".into()),
        )
        .to_string();
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
        let none = explain(
            "write to",
            Failure::NoDefaultCollection("SS error: result not returned from SS API".into()),
        )
        .to_string();
        assert!(none.contains("no default keyring"), "{none}");
        assert!(!none.contains("is locked"), "{none}");
        // The general message names it too, for a locked keyring that hangs.
        assert!(UNLOCK_HINT.contains(unlock_running_gnome_keyring!()));
    }

    #[test]
    fn several_entries_for_a_profile_are_named_with_both_fixes() {
        let message = duplicates(SERVICE, "acme", 2).to_string();
        for needle in [
            "holds 2 Client Secrets for profile \"acme\"",
            "st-setup init --profile acme",
            "st-setup remove --profile acme",
        ] {
            assert!(message.contains(needle), "no {needle:?} in:\n{message}");
        }
        assert_eq!(
            duplicates(SERVICE, "acme", 2).exit_status(),
            crate::ExitStatus::StoreUnavailable
        );
    }
}
