//! The Secret Service (gnome-keyring, KWallet) on Linux and the BSDs, spoken
//! to the way its reference client, libsecret's `secret-tool`, speaks to it:
//! one D-Bus connection and one encrypted session per run, shared by every
//! call of the run, and method calls only.
//!
//! Why: gnome-keyring-daemon (42 here, and up to at least 50) now and then
//! handles the first message of a new client before it has a record of that
//! client (`gkd_secret_service_get_pkcs11_session: assertion 'client'
//! failed`). For most method calls that is one failed call; for a property
//! read it is an abort (`invoke_get_property_in_idle_cb: assertion failed:
//! (error != NULL)`), and D-Bus starts a new, locked daemon. `OpenSession`
//! takes the same unchecked path (GNOME gnome-keyring #190): 2,500 `check`
//! runs, whose only calls were `OpenSession`, `SearchItems` and `GetSecret`,
//! once ended the daemon the same way (BENCHMARKS.md). Measured here with
//! one-shot clients: a bare read of a collection's `Locked` property killed
//! the daemon after 1,423 and 1,207 runs, and 4,000 bare `ReadAlias` calls
//! logged the assertion once (the daemon lived); a `Peer.Ping` first and the
//! same `Locked` read after it: 6,000 runs, no assertion at all. `secret-tool`,
//! whose first message is a read of the service object's own properties
//! (which needs no client record), ran 2,000 lookups without one. The
//! `keyring` crate sent `OpenSession` first and read `Locked` before every
//! write.
//!
//! So the first message here is a `Peer.Ping` (answered by GLib itself), and
//! no property is ever read: a locked collection or item is found out from
//! `SearchItems` (which lists locked items apart) or from the `IsLocked` error
//! of `CreateItem`, and unlocked with `Unlock` and its prompt.
//!
//! A profile's entry is every item with the attributes `service` and
//! `username` (the ones the `keyring` crate used, so entries stored by
//! earlier versions are found). Other clients can store several such items;
//! a write replaces them all with one, a delete deletes them all, and a read
//! reports how many it found.

use std::collections::HashMap;
use std::sync::Mutex;

use secret_service::blocking::{Item, SecretService};
use secret_service::{EncryptionType, Error as SsError};
use zeroize::Zeroizing;

use super::keyring::Found;
use super::keyring_error::Failure;

/// The run's connection and session, opened by the first call.
static SESSION: Mutex<Option<Session>> = Mutex::new(None);

struct Session {
    /// The same connection `service` uses, for the one call made directly.
    connection: zbus::blocking::Connection,
    service: SecretService<'static>,
}

const SECRETS_BUS_NAME: &str = "org.freedesktop.secrets";
const SECRETS_PATH: &str = "/org/freedesktop/secrets";
const ITEM_INTERFACE: &str = "org.freedesktop.Secret.Item";
/// What a text secret is labelled as (what libsecret sends for passwords).
const CONTENT_TYPE: &str = "text/plain";

pub(crate) fn read(service: &str, account: &str) -> Result<Found, Failure> {
    with_session(|session| {
        let items = find_unlocked(&session.service, service, account)?;
        match items.as_slice() {
            [] => Ok(Found::None),
            [item] => Ok(Found::One(text(item.get_secret().map_err(failure)?)?)),
            several => Ok(Found::Several {
                count: several.len(),
            }),
        }
    })
}

/// Store `value` as the one entry for `account`: the one existing item is
/// updated; otherwise (none, or several) one is created in the default
/// collection, after the several are deleted.
pub(crate) fn write(service: &str, account: &str, value: &str) -> Result<(), Failure> {
    replace(service, account, value, false).map(drop)
}

/// [`write`], returning what the one entry held before when `previous` is
/// asked for (`None` when there was none, or several): one search instead of
/// a read and a write's two, which `import` of a thousand rows feels.
pub(crate) fn replace(
    service: &str,
    account: &str,
    value: &str,
    previous: bool,
) -> Result<Option<Zeroizing<String>>, Failure> {
    with_session(|session| {
        let ss = &session.service;
        let items = find_unlocked(ss, service, account)?;
        if let [item] = items.as_slice() {
            let before = if previous {
                Some(text(item.get_secret().map_err(failure)?)?)
            } else {
                None
            };
            item.set_secret(value.as_bytes(), CONTENT_TYPE)
                .map_err(failure)?;
            return Ok(before);
        }
        // Several (other clients' items among them): a new one replaces them all.
        for item in &items {
            delete_item(&session.connection, item)?;
        }
        let collection = ss.get_default_collection().map_err(failure)?;
        let label = format!("{service}: {account}");
        let create = || {
            collection.create_item(
                &label,
                attributes(service, account),
                value.as_bytes(),
                true,
                CONTENT_TYPE,
            )
        };
        match create() {
            Err(err) if is_locked_error(&err) => {
                // Unlock asks for the password prompt; then write again.
                collection.unlock().map_err(failure)?;
                create().map_err(failure)?;
            }
            other => {
                other.map_err(failure)?;
            }
        }
        Ok(None)
    })
}

/// Delete every item of `account`; how many there were.
pub(crate) fn delete(service: &str, account: &str) -> Result<usize, Failure> {
    with_session(|session| {
        let items = find_unlocked(&session.service, service, account)?;
        for item in &items {
            delete_item(&session.connection, item)?;
        }
        Ok(items.len())
    })
}

/// Run `op` on the run's session, opening it first if this is the first call
/// or the last one failed.
///
/// The lock is held for the whole call, so calls never overlap on the bus; a
/// call that hangs (a prompt nobody answers) keeps it, and the caller's
/// timeout stops waiting for it.
fn with_session<T>(op: impl FnOnce(&Session) -> Result<T, Failure>) -> Result<T, Failure> {
    let mut slot = SESSION
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let session = match slot.take() {
        Some(session) => session,
        None => open()?,
    };
    let result = op(slot.insert(session));
    if result.is_err() {
        // The next call starts afresh: the daemon may have been replaced
        // meanwhile (`gnome-keyring-daemon --replace --unlock`), and a
        // session of the old one does not exist in the new one.
        *slot = None;
    }
    result
}

fn open() -> Result<Session, Failure> {
    let connection = zbus::blocking::Connection::session().map_err(|err| match err {
        zbus::Error::Address(_) => Failure::Unavailable(Box::new(NoSessionBus(err))),
        zbus::Error::InputOutput(ref e) if e.kind() == std::io::ErrorKind::NotFound => {
            Failure::Unavailable(Box::new(NoSessionBus(err)))
        }
        other => failure(SsError::Zbus(other)),
    })?;
    // The first message a client sends to gnome-keyring can find the daemon
    // without a record of the client yet; a ping is answered by GLib alone
    // (and starts the daemon if the bus activates it), so the calls after it
    // never are that first message.
    connection
        .call_method(
            Some(SECRETS_BUS_NAME),
            SECRETS_PATH,
            Some("org.freedesktop.DBus.Peer"),
            "Ping",
            &(),
        )
        .map_err(|err| failure(SsError::Zbus(err)))?;
    let service = SecretService::connect_with_existing(EncryptionType::Dh, connection.clone())
        .map_err(failure)?;
    Ok(Session {
        connection,
        service,
    })
}

/// Every item of `account`, locked ones unlocked first (with a prompt).
fn find_unlocked<'a>(
    ss: &'a SecretService<'a>,
    service: &str,
    account: &str,
) -> Result<Vec<Item<'a>>, Failure> {
    let found = ss
        .search_items(attributes(service, account))
        .map_err(failure)?;
    if !found.locked.is_empty() {
        let locked: Vec<&Item> = found.locked.iter().collect();
        ss.unlock_all(&locked).map_err(failure)?;
    }
    let mut items = found.unlocked;
    items.extend(found.locked);
    Ok(items)
}

/// `Item.Delete`, called directly: the crate's `Item::delete` reads the
/// item's `Locked` property first, the read this module never makes. The
/// item is unlocked already, so the Secret Service has nothing to ask.
fn delete_item(connection: &zbus::blocking::Connection, item: &Item<'_>) -> Result<(), Failure> {
    let reply = connection
        .call_method(
            Some(SECRETS_BUS_NAME),
            &*item.item_path,
            Some(ITEM_INTERFACE),
            "Delete",
            &(),
        )
        .map_err(|err| failure(SsError::Zbus(err)))?;
    let prompt: zbus::zvariant::OwnedObjectPath = reply
        .body()
        .deserialize()
        .map_err(|err| failure(SsError::Zbus(err)))?;
    if prompt.as_str() == "/" {
        Ok(())
    } else {
        Err(Failure::DeleteNeedsPrompt)
    }
}

fn attributes<'a>(service: &'a str, account: &'a str) -> HashMap<&'a str, &'a str> {
    HashMap::from([("service", service), ("username", account)])
}

fn text(bytes: Vec<u8>) -> Result<Zeroizing<String>, Failure> {
    let bytes = Zeroizing::new(bytes);
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_string())),
        Err(_) => Err(Failure::NotText),
    }
}

fn is_locked_error(err: &SsError) -> bool {
    match err {
        SsError::Locked => true,
        SsError::Zbus(zbus::Error::MethodError(name, _, _)) => {
            name.as_str() == "org.freedesktop.Secret.Error.IsLocked"
        }
        _ => false,
    }
}

/// The kind of failure, by the crate's error variant; the error is kept as its source.
fn failure(err: SsError) -> Failure {
    let locked = matches!(
        err,
        SsError::Locked | SsError::Prompt | SsError::PromptDisconnected
    ) || is_locked_error(&err);
    match err {
        _ if locked => Failure::Locked(Box::new(err)),
        SsError::NoResult => Failure::NoDefaultCollection(Box::new(err)),
        SsError::Unavailable => Failure::Unavailable(Box::new(err)),
        other => Failure::Other(Box::new(other)),
    }
}

/// No D-Bus session bus to connect to: said as the crate says a missing
/// Secret Service, with zbus's own error as the source.
#[derive(Debug, thiserror::Error)]
#[error("{}", SsError::Unavailable)]
struct NoSessionBus(#[source] zbus::Error);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_object_and_a_dismissed_prompt_are_a_locked_keyring() {
        for err in [
            SsError::Locked,
            SsError::Prompt,
            SsError::PromptDisconnected,
        ] {
            assert!(matches!(failure(err), Failure::Locked(_)));
        }
        assert!(matches!(
            failure(SsError::NoResult),
            Failure::NoDefaultCollection(_)
        ));
        assert!(matches!(
            failure(SsError::Unavailable),
            Failure::Unavailable(_)
        ));
        assert!(matches!(
            failure(SsError::Crypto("bad padding")),
            Failure::Other(_)
        ));
    }
}
