//! The OS keyring (Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows), with a timeout on every call.
//!
//! A locked or hung Secret Service can block a D-Bus call forever, so each
//! call runs on its own thread and is abandoned after the timeout: the user
//! gets exit 6 and a message instead of a hang. There is no fallback store.
//! The platform code is in `secret_service` (Linux, BSDs) and `os_keyring`
//! (macOS, Windows); this module turns what they found into a
//! [`KeyringError`] (in `keyring_error`, with its messages).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::keyring_error::{Action, Failure, KeyringError};
use crate::error::Result;

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
            Found::Several { count } => Err(KeyringError::Several {
                service,
                profile: account.to_string(),
                count,
            }
            .into()),
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
        self.call(Action::Read, move || backend::read(service, &account))
    }

    /// Make `value` the one entry: an existing entry is updated, duplicates
    /// stored by other clients are deleted.
    pub(crate) fn set(&self, service: &'static str, account: &str, value: &str) -> Result<()> {
        let account = account.to_string();
        let value = Zeroizing::new(value.to_string());
        self.call(Action::Write, move || {
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
        self.call(Action::Write, move || {
            backend::replace(service, &account, &value, true)
                .map(|before| before.map(|mut v| std::mem::take(&mut *v)))
        })
    }

    /// Delete every entry; `Ok(false)` when there was none.
    pub(crate) fn delete(&self, service: &'static str, account: &str) -> Result<bool> {
        let account = account.to_string();
        self.call(Action::Delete, move || {
            backend::delete(service, &account).map(|n| n > 0)
        })
    }

    fn call<T: Send + 'static>(
        &self,
        action: Action,
        op: impl FnOnce() -> std::result::Result<T, Failure> + Send + 'static,
    ) -> Result<T> {
        // Once a call has hung, the next would only hang as well: with many
        // profiles (`check --all`) that is one timeout in all, not one each.
        if KEYRING_HUNG.load(Ordering::Relaxed) {
            return Err(KeyringError::no_answer(action, self.timeout, true).into());
        }
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("keyring".into())
            .spawn(move || {
                let _ = tx.send(op());
            });
        if let Err(e) = spawned {
            return Err(KeyringError::NotStarted(e).into());
        }
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(failure)) => Err(KeyringError::failed(action, failure).into()),
            Err(_) => {
                KEYRING_HUNG.store(true, Ordering::Relaxed);
                Err(KeyringError::no_answer(action, self.timeout, false).into())
            }
        }
    }
}

/// Set when a keyring call has timed out in this process.
static KEYRING_HUNG: AtomicBool = AtomicBool::new(false);
