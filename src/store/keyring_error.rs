//! How the OS keyring fails, as data: what a call was doing, which store it
//! tried, and the kind of failure with the platform's own error (secret-service,
//! zbus, keyring) as its source, so `--verbose` prints the chain. Each kind
//! has one message, which says what was tried, what happened and the ways on.

use std::fmt;
use std::time::Duration;

/// An error of the platform's store, kept as the source of a [`Failure`].
pub(crate) type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a keyring call was doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Read,
    Write,
    Delete,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Read => "read from",
            Action::Write => "write to",
            Action::Delete => "delete from",
        })
    }
}

/// Why the platform's store could not be used; shown as the platform's own words.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// No store to talk to (no D-Bus session, no Secret Service on it).
    #[error("{0}")]
    Unavailable(#[source] Cause),
    /// It answered that it is locked, and unlocking failed or was dismissed.
    #[error("{0}")]
    Locked(#[source] Cause),
    /// The Secret Service has no default collection to create entries in.
    #[error("{0}")]
    NoDefaultCollection(#[source] Cause),
    /// It refused this program access to the entry (Keychain, Credential Manager).
    #[cfg_attr(not(any(target_os = "macos", windows)), allow(dead_code))]
    #[error("access was refused ({0})")]
    AccessDenied(#[source] Cause),
    /// Deleting the entry would need a confirmation prompt.
    #[cfg_attr(any(target_os = "macos", windows), allow(dead_code))]
    #[error(
        "the Secret Service wants a confirmation prompt to delete the entry, which st-setup \
         does not show; delete it with the keyring's own manager (for example seahorse)"
    )]
    DeleteNeedsPrompt,
    /// The entry holds bytes that are not UTF-8 text.
    #[cfg_attr(any(target_os = "macos", windows), allow(dead_code))]
    #[error("the stored value is not text; store it again with `st-setup init`")]
    NotText,
    #[error("{0}")]
    Other(#[source] Cause),
}

/// The OS keyring could not be used for a profile's entry.
#[derive(Debug)]
pub(crate) enum KeyringError {
    /// A call failed: `store` says which store was tried (and on Linux, where).
    Failed {
        action: Action,
        store: String,
        failure: Failure,
    },
    /// A call got no answer within `timeout`; `earlier`: it was an earlier
    /// call of this run, so this one was not tried.
    NoAnswer {
        action: Action,
        store: String,
        timeout: Duration,
        earlier: bool,
    },
    /// The thread a call runs on could not be started.
    NotStarted(std::io::Error),
    /// Another client stored `count` entries for the profile (the account).
    Several {
        service: &'static str,
        profile: String,
        count: usize,
    },
}

impl KeyringError {
    pub(crate) fn failed(action: Action, failure: Failure) -> KeyringError {
        KeyringError::Failed {
            action,
            store: store_tried(),
            failure,
        }
    }

    pub(crate) fn no_answer(action: Action, timeout: Duration, earlier: bool) -> KeyringError {
        KeyringError::NoAnswer {
            action,
            store: store_tried(),
            timeout,
            earlier,
        }
    }

    /// The keyring could not be reached or used at all (missing, locked,
    /// hung): the wizard then offers to start one or to use a file.
    pub(crate) fn is_unavailable(&self) -> bool {
        !matches!(self, KeyringError::Several { .. })
    }

    /// The keyring answered that it is locked: it needs unlocking, not starting.
    pub(crate) fn is_locked(&self) -> bool {
        matches!(
            self,
            KeyringError::Failed {
                failure: Failure::Locked(_),
                ..
            }
        )
    }
}

impl std::error::Error for KeyringError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KeyringError::Failed { failure, .. } => Some(failure),
            KeyringError::NotStarted(e) => Some(e),
            KeyringError::NoAnswer { .. } | KeyringError::Several { .. } => None,
        }
    }
}

impl fmt::Display for KeyringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyringError::Failed {
                action,
                store,
                failure,
            } => {
                let (what_happened, first_way) = explain(failure);
                ways_on(f, *action, store, &what_happened, first_way)
            }
            KeyringError::NoAnswer {
                action,
                store,
                timeout,
                earlier,
            } => ways_on(
                f,
                *action,
                store,
                &format!(
                    "{} did not answer within {} s (it may be locked and waiting for a password \
                     prompt nobody can see; change the limit with ST_KEYRING_TIMEOUT)",
                    if *earlier { "an earlier call" } else { "it" },
                    timeout.as_secs_f64()
                ),
                UNLOCK_HINT,
            ),
            KeyringError::NotStarted(e) => write!(f, "could not start a keyring call: {e}"),
            KeyringError::Several {
                service,
                profile,
                count,
            } => several(f, service, profile, *count),
        }
    }
}

/// What happened, in words, and the first way on.
fn explain(failure: &Failure) -> (String, &'static str) {
    match failure {
        Failure::Locked(cause) => (
            format!(
                "the keyring is locked, and the password prompt that would unlock it \
                 could not be shown here or was cancelled ({cause})"
            ),
            LOCKED_HINT,
        ),
        Failure::NoDefaultCollection(cause) => (
            format!(
                "the Secret Service has no default keyring to keep the secret in \
                 ({cause}); a first unlock of gnome-keyring with a password creates one"
            ),
            UNLOCK_HINT,
        ),
        other => (other.to_string(), UNLOCK_HINT),
    }
}

/// Several entries for one profile: which one is right cannot be known.
fn several(f: &mut fmt::Formatter<'_>, service: &str, profile: &str, count: usize) -> fmt::Result {
    let what = if service == super::keyring::TOKEN_CACHE_SERVICE {
        "cached access tokens"
    } else {
        "Client Secrets"
    };
    write!(
        f,
        "the OS keyring holds {count} {what} for profile {profile:?} (service \
         {service:?}, account {profile:?}), stored there by another program, and \
         st-setup cannot tell which one is right.\n\
         Replace them with one: st-setup init --profile {profile}\n\
         or delete them all:    st-setup remove --profile {profile}"
    )
}

/// What was tried, what happened, and the three ways on.
fn ways_on(
    f: &mut fmt::Formatter<'_>,
    action: Action,
    store: &str,
    what_happened: &str,
    first_way: &str,
) -> fmt::Result {
    write!(
        f,
        "could not {action} the OS keyring ({store}): {what_happened}.\n\
         Ways on:\n\
         \x20 1. {first_way}\n\
         \x20 2. For CI, store nothing: set ST_TENANT_ID, ST_APP_KEY, ST_CLIENT_ID and ST_CLIENT_SECRET \
         and run `st-setup check`, `token` or `exec` with them.\n\
         \x20 3. Opt in to a plain-text file instead: `st-setup init --storage file` (mode 0600)."
    )
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
    use crate::error::Error;
    use crate::store::keyring::SERVICE;

    /// A platform error that says `text`.
    fn cause(text: &str) -> Cause {
        text.to_string().into()
    }

    #[test]
    fn a_locked_keyring_is_named_with_the_command_that_unlocks_it() {
        let err = KeyringError::failed(
            Action::Read,
            Failure::Locked(cause("SS error: prompt dismissed")),
        );
        assert!(err.is_locked() && err.is_unavailable());
        let message = err.to_string();
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
        let none = KeyringError::failed(
            Action::Write,
            Failure::NoDefaultCollection(cause("SS error: result not returned from SS API")),
        );
        assert!(!none.is_locked());
        let none = none.to_string();
        assert!(none.contains("no default keyring"), "{none}");
        assert!(!none.contains("is locked"), "{none}");
        // The general message names it too, for a locked keyring that hangs.
        assert!(UNLOCK_HINT.contains(unlock_running_gnome_keyring!()));
    }

    #[test]
    fn the_platform_error_is_the_source_that_verbose_prints() {
        let inner = std::io::Error::other("no such bus");
        let platform: Cause = Box::new(inner);
        let err = Error::Keyring(KeyringError::failed(
            Action::Delete,
            Failure::Unavailable(platform),
        ));
        assert!(
            err.to_string()
                .starts_with("could not delete from the OS keyring")
        );
        let source = std::error::Error::source(&err).expect("a source");
        assert_eq!(source.to_string(), "no such bus");
    }

    #[test]
    fn several_entries_for_a_profile_are_named_with_both_fixes() {
        let several = || {
            Error::Keyring(KeyringError::Several {
                service: SERVICE,
                profile: "acme".into(),
                count: 2,
            })
        };
        let message = several().to_string();
        for needle in [
            "holds 2 Client Secrets for profile \"acme\"",
            "st-setup init --profile acme",
            "st-setup remove --profile acme",
        ] {
            assert!(message.contains(needle), "no {needle:?} in:\n{message}");
        }
        assert!(!several().is_keyring_unavailable());
        assert_eq!(several().exit_status(), crate::ExitStatus::StoreUnavailable);
    }
}
