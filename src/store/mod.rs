//! Where credentials are kept: the config file for the non-secret values, and
//! the secret store (the OS keyring, or an explicitly chosen 0600 file) for the
//! Client Secret and the cached access token.

pub mod config;
pub mod keyring;
#[cfg(any(target_os = "macos", windows))]
mod os_keyring;
pub mod private_files;
pub mod secret_file;
#[cfg(all(unix, not(target_os = "macos")))]
mod secret_service;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::credentials::ClientSecret;
use crate::error::Result;
use keyring::{Keyring, SERVICE, TOKEN_CACHE_SERVICE};
use secret_file::SecretFiles;

/// Where a profile's Client Secret lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SecretStorage {
    /// The OS keyring (Secret Service, Keychain, Credential Manager)
    #[default]
    Keyring,
    /// A plain-text 0600 file in the config directory (explicit opt-in)
    File,
}

impl SecretStorage {
    pub fn name(self) -> &'static str {
        match self {
            SecretStorage::Keyring => "keyring",
            SecretStorage::File => "file",
        }
    }

    /// How output describes it, every time.
    pub fn describe(self) -> &'static str {
        match self {
            SecretStorage::Keyring => "OS keyring",
            SecretStorage::File => "stored in plain text file",
        }
    }
}

/// A cached access token, what it was issued for, and when it expires (Unix seconds).
pub struct CachedToken {
    pub token: secrecy::SecretString,
    /// `environment:client_id:token_url`: a token is only reused for the same
    /// credentials from the same server.
    pub key: String,
    pub expires_at: u64,
}

/// The Client Secret and token cache, in whichever storage a profile uses.
#[derive(Clone, Debug)]
pub struct SecretStore {
    keyring: Keyring,
    secret_files: SecretFiles,
    token_files: SecretFiles,
}

impl SecretStore {
    pub fn new(config_dir: &Path, keyring_timeout: Duration) -> Self {
        SecretStore {
            keyring: Keyring::new(keyring_timeout),
            secret_files: SecretFiles::new(&config_dir.join("secrets"), keyring_timeout),
            token_files: SecretFiles::new(&config_dir.join("token-cache"), keyring_timeout),
        }
    }

    /// The file that holds a profile's secret under file storage.
    pub fn secret_file(&self, profile: &str) -> PathBuf {
        self.secret_files.path(profile)
    }

    pub fn get_secret(
        &self,
        storage: SecretStorage,
        profile: &str,
    ) -> Result<Option<ClientSecret>> {
        let value = match storage {
            SecretStorage::Keyring => self.keyring.get(SERVICE, profile)?,
            SecretStorage::File => self.secret_files.get(profile)?,
        };
        Ok(value.map(ClientSecret::new))
    }

    /// Like [`get_secret`](Self::get_secret), but several keyring entries for
    /// the profile (stored by another program) read as none instead of an
    /// error: for `init` and `remove`, which replace or delete them all.
    pub fn get_secret_unless_several(
        &self,
        storage: SecretStorage,
        profile: &str,
    ) -> Result<Option<ClientSecret>> {
        let value = match storage {
            SecretStorage::Keyring => self.keyring.get_unless_several(SERVICE, profile)?,
            SecretStorage::File => self.secret_files.get(profile)?,
        };
        Ok(value.map(ClientSecret::new))
    }

    pub fn set_secret(
        &self,
        storage: SecretStorage,
        profile: &str,
        secret: &ClientSecret,
    ) -> Result<()> {
        match storage {
            SecretStorage::Keyring => self.keyring.set(SERVICE, profile, secret.expose()),
            SecretStorage::File => self.secret_files.set(profile, secret.expose()),
        }
    }

    pub fn delete_secret(&self, storage: SecretStorage, profile: &str) -> Result<bool> {
        match storage {
            SecretStorage::Keyring => self.keyring.delete(SERVICE, profile),
            SecretStorage::File => self.secret_files.delete(profile),
        }
    }

    pub fn get_cached_token(
        &self,
        storage: SecretStorage,
        profile: &str,
    ) -> Result<Option<CachedToken>> {
        let raw = match storage {
            // Several cached tokens are no cached token: the next one replaces them.
            SecretStorage::Keyring => self
                .keyring
                .get_unless_several(TOKEN_CACHE_SERVICE, profile)?,
            SecretStorage::File => self.token_files.get(profile)?,
        };
        let raw = raw.map(zeroize::Zeroizing::new);
        Ok(raw.and_then(|raw| {
            let mut parts = raw.splitn(3, ' ');
            let (expires_at, key, token) = (parts.next()?, parts.next()?, parts.next()?);
            Some(CachedToken {
                expires_at: expires_at.parse().ok()?,
                key: key.to_string(),
                token: secrecy::SecretString::from(token.to_string()),
            })
        }))
    }

    pub fn set_cached_token(
        &self,
        storage: SecretStorage,
        profile: &str,
        key: &str,
        token: &str,
        expires_at: u64,
    ) -> Result<()> {
        let value = zeroize::Zeroizing::new(format!("{expires_at} {key} {token}"));
        match storage {
            SecretStorage::Keyring => self.keyring.set(TOKEN_CACHE_SERVICE, profile, &value),
            SecretStorage::File => self.token_files.set(profile, &value),
        }
    }

    pub fn delete_cached_token(&self, storage: SecretStorage, profile: &str) -> Result<bool> {
        match storage {
            SecretStorage::Keyring => self.keyring.delete(TOKEN_CACHE_SERVICE, profile),
            SecretStorage::File => self.token_files.delete(profile),
        }
    }
}

/// Store a profile as one step: the secret first, then the config entry; if
/// the config write fails, the secret store is put back as it was. The caller
/// holds the config lock (taken before any of it, so waiting for another run
/// never happens half-way through) and keeps signals from cutting it short.
///
/// Returns a warning when the profile moved between stores and the copy in
/// the old one could not be deleted.
pub fn save_profile(
    lock: &config::ConfigLock,
    config: &config::ConfigStore,
    secrets: &SecretStore,
    name: &str,
    profile: &config::Profile,
    secret: &ClientSecret,
) -> Result<Option<String>> {
    let storage = profile.secret_storage;
    // Several entries (from another program) are all replaced; a rollback
    // leaves none.
    let previous = secrets.get_secret_unless_several(storage, name)?;
    secrets.set_secret(storage, name, secret)?;
    let replaced = config.update_locked(lock, |c| {
        Ok(c.profiles.insert(name.to_string(), profile.clone()))
    });
    match replaced {
        Ok(old) => {
            // New credentials invalidate any cached token; a moved secret leaves no copy behind.
            let _ = secrets.delete_cached_token(storage, name);
            let Some(old) = old.filter(|o| o.secret_storage != storage) else {
                return Ok(None);
            };
            let _ = secrets.delete_cached_token(old.secret_storage, name);
            Ok(secrets
                .delete_secret(old.secret_storage, name)
                .err()
                .map(|err| {
                    format!(
                        "the old copy of the Client Secret ({}) could not be deleted: {err}",
                        old.secret_storage.describe()
                    )
                }))
        }
        Err(err) => {
            let rolled_back = match previous {
                Some(p) => secrets.set_secret(storage, name, &p),
                None => secrets.delete_secret(storage, name).map(|_| ()),
            };
            match rolled_back {
                Ok(()) => Err(err),
                Err(undo) => Err(crate::error::Error::with_status(
                    err.exit_status(),
                    format!(
                        "{err}\nThe new Client Secret, already written to the {}, could not be \
                         taken back either: {undo}\nRun `st-setup init --profile {name}` again \
                         once the problem is fixed.",
                        match storage {
                            SecretStorage::Keyring => "OS keyring",
                            SecretStorage::File => "secret file",
                        }
                    ),
                )),
            }
        }
    }
}
