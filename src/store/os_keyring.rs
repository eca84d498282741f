//! The macOS Keychain and the Windows Credential Manager, through the
//! `keyring` crate. Neither holds two entries for one service and account.

use zeroize::Zeroizing;

use super::keyring::Found;
use super::keyring_error::Failure;

pub(crate) fn read(service: &str, account: &str) -> Result<Found, Failure> {
    match entry(service, account)?.get_password() {
        Ok(value) => Ok(Found::One(Zeroizing::new(value))),
        Err(keyring::Error::NoEntry) => Ok(Found::None),
        Err(err) => Err(failure(err)),
    }
}

pub(crate) fn write(service: &str, account: &str, value: &str) -> Result<(), Failure> {
    entry(service, account)?
        .set_password(value)
        .map_err(failure)
}

/// [`write`], returning the one value it replaces when `previous` is asked for.
pub(crate) fn replace(
    service: &str,
    account: &str,
    value: &str,
    previous: bool,
) -> Result<Option<zeroize::Zeroizing<String>>, Failure> {
    let before = if previous {
        match read(service, account)? {
            Found::One(value) => Some(value),
            _ => None,
        }
    } else {
        None
    };
    write(service, account, value)?;
    Ok(before)
}

pub(crate) fn delete(service: &str, account: &str) -> Result<usize, Failure> {
    match entry(service, account)?.delete_credential() {
        Ok(()) => Ok(1),
        Err(keyring::Error::NoEntry) => Ok(0),
        Err(err) => Err(failure(err)),
    }
}

fn entry(service: &str, account: &str) -> Result<keyring::Entry, Failure> {
    keyring::Entry::new(service, account).map_err(failure)
}

/// The kind of failure, by the crate's error variant; the platform's error is its source.
fn failure(err: keyring::Error) -> Failure {
    match err {
        keyring::Error::NoStorageAccess(e) => Failure::AccessDenied(e),
        keyring::Error::PlatformFailure(e) => Failure::Other(e),
        keyring::Error::NoDefaultStore => Failure::Unavailable(Box::new(NoStore)),
        // Only the words of the others are kept: some (BadEncoding,
        // BadDataFormat) hold the stored bytes, the secret, which the error's
        // Debug output would show.
        other => Failure::Other(other.to_string().into()),
    }
}

/// The crate found no credential store to open.
#[derive(Debug, thiserror::Error)]
#[error("no credential store could be opened")]
struct NoStore;
