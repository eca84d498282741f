//! Where credentials are kept: the config file for the non-secret values, and
//! the secret store (the OS keyring, or an explicitly chosen 0600 file) for the
//! Client Secret and the cached access token.

pub(crate) mod checked_files;
pub(crate) mod config;
pub(crate) mod file_error;
pub(crate) mod keyring;
pub(crate) mod keyring_error;
#[cfg(any(target_os = "macos", windows))]
mod os_keyring;
pub(crate) mod private_files;
pub(crate) mod secret_file;
#[cfg(all(unix, not(target_os = "macos")))]
mod secret_service;
pub(crate) mod token_cache;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::credentials::ClientSecret;
use crate::error::Result;
use keyring::{Keyring, SERVICE, TOKEN_CACHE_SERVICE};
use secret_file::{Kind, SecretFiles};
use token_cache::Binding;

/// Where a profile's Client Secret lives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SecretStorage {
    /// The OS keyring (Secret Service, Keychain, Credential Manager)
    #[default]
    Keyring,
    /// A plain-text 0600 file in the config directory (explicit opt-in)
    File,
}

impl SecretStorage {
    pub(crate) fn name(self) -> &'static str {
        match self {
            SecretStorage::Keyring => "keyring",
            SecretStorage::File => "file",
        }
    }

    /// How output describes it, every time.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            SecretStorage::Keyring => "OS keyring",
            SecretStorage::File => "stored in plain text file",
        }
    }
}

/// Where a run's Client Secret comes from: `ST_CLIENT_SECRET`, or the store
/// of its profile. JSON spells it `env`, `keyring` or `file`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SecretSource {
    Env,
    Stored(SecretStorage),
}

impl SecretSource {
    pub(crate) fn name(self) -> &'static str {
        match self {
            SecretSource::Env => "env",
            SecretSource::Stored(storage) => storage.name(),
        }
    }

    /// "Client Secret from ST_CLIENT_SECRET", "... in the OS keyring", ...
    pub(crate) fn phrase(self) -> &'static str {
        match self {
            SecretSource::Env => "Client Secret from ST_CLIENT_SECRET",
            SecretSource::Stored(SecretStorage::File) => "Client Secret stored in plain text file",
            SecretSource::Stored(SecretStorage::Keyring) => "Client Secret in the OS keyring",
        }
    }
}

impl Serialize for SecretSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The Client Secret and token cache, in whichever storage a profile uses.
#[derive(Clone, Debug)]
pub(crate) struct SecretStore {
    keyring: Keyring,
    secret_files: SecretFiles,
    token_files: SecretFiles,
}

impl SecretStore {
    pub(crate) fn new(config_dir: &Path, keyring_timeout: Duration) -> Self {
        SecretStore {
            keyring: Keyring::new(keyring_timeout),
            secret_files: SecretFiles::new(
                &config_dir.join("secrets"),
                Kind::Secrets,
                keyring_timeout,
            ),
            token_files: SecretFiles::new(
                &config_dir.join("token-cache"),
                Kind::TokenCache,
                keyring_timeout,
            ),
        }
    }

    /// The file that holds a profile's secret under file storage.
    pub(crate) fn secret_file(&self, profile: &str) -> PathBuf {
        self.secret_files.path(profile)
    }

    pub(crate) fn get_secret(
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
    pub(crate) fn get_secret_unless_several(
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

    pub(crate) fn set_secret(
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

    /// Store `secret` and return what it replaced (`None`: nothing, or
    /// several keyring entries, which are all replaced).
    pub(crate) fn replace_secret(
        &self,
        storage: SecretStorage,
        profile: &str,
        secret: &ClientSecret,
    ) -> Result<Option<ClientSecret>> {
        let before = match storage {
            SecretStorage::Keyring => self.keyring.replace(SERVICE, profile, secret.expose())?,
            SecretStorage::File => {
                let before = self.secret_files.get(profile)?;
                self.secret_files.set(profile, secret.expose())?;
                before
            }
        };
        Ok(before.map(ClientSecret::new))
    }

    pub(crate) fn delete_secret(&self, storage: SecretStorage, profile: &str) -> Result<bool> {
        match storage {
            SecretStorage::Keyring => self.keyring.delete(SERVICE, profile),
            SecretStorage::File => self.secret_files.delete(profile),
        }
    }

    /// The token cache entry of `profile` as stored, to be checked and
    /// opened with [`token_cache::open`] (which needs the Client Secret).
    pub(crate) fn cached_token_entry(
        &self,
        storage: SecretStorage,
        profile: &str,
    ) -> Result<Option<zeroize::Zeroizing<String>>> {
        let entry = match storage {
            // Several cached tokens are no cached token: the next one replaces them.
            SecretStorage::Keyring => self
                .keyring
                .get_unless_several(TOKEN_CACHE_SERVICE, profile)?,
            SecretStorage::File => self.token_files.get(profile)?,
        };
        Ok(entry.map(zeroize::Zeroizing::new))
    }

    /// Cache `token` for `profile`, bound to `binding`. A token that cannot
    /// be cached (too long, or not a well-formed bearer token) is not: `Ok(false)`.
    pub(crate) fn set_cached_token(
        &self,
        storage: SecretStorage,
        profile: &str,
        binding: &Binding,
        token: &str,
        expires_at: u64,
    ) -> Result<bool> {
        let Some(entry) = token_cache::seal(binding, token, expires_at) else {
            return Ok(false);
        };
        match storage {
            SecretStorage::Keyring => self.keyring.set(TOKEN_CACHE_SERVICE, profile, &entry)?,
            SecretStorage::File => self.token_files.set(profile, &entry)?,
        }
        Ok(true)
    }

    pub(crate) fn delete_cached_token(
        &self,
        storage: SecretStorage,
        profile: &str,
    ) -> Result<bool> {
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
pub(crate) fn save_profile(
    lock: &config::ConfigLock,
    config: &config::ConfigStore,
    secrets: &SecretStore,
    name: &str,
    profile: &config::Profile,
    secret: &ClientSecret,
) -> Result<Option<String>> {
    let mut warnings = save_profiles(lock, config, secrets, &[(name, profile, secret)])?;
    Ok(warnings.pop().flatten())
}

/// [`save_profile`] for many profiles at once (`import`): every secret
/// first, then one config write for all of them (a config rewrite per
/// profile would cost a thousand writes and fsyncs for a thousand rows); if
/// a secret or the config write fails, every secret written is put back as
/// it was. Returns one warning slot per profile.
pub(crate) fn save_profiles(
    lock: &config::ConfigLock,
    config: &config::ConfigStore,
    secrets: &SecretStore,
    profiles: &[(&str, &config::Profile, &ClientSecret)],
) -> Result<Vec<Option<String>>> {
    // What each store held before, to put back on failure.
    let mut written: Vec<(&str, SecretStorage, Option<ClientSecret>)> = Vec::new();
    let mut stored = Ok(());
    for (name, profile, secret) in profiles {
        let storage = profile.secret_storage;
        // Several entries (from another program) are all replaced; a rollback
        // leaves none.
        let step = secrets.replace_secret(storage, name, secret);
        match step {
            Ok(previous) => written.push((name, storage, previous)),
            Err(err) => {
                stored = Err(err);
                break;
            }
        }
    }
    let replaced = stored.and_then(|()| {
        config.update_locked(lock, |c| {
            Ok(profiles
                .iter()
                .map(|(name, profile, _)| c.profiles.insert(name.to_string(), (*profile).clone()))
                .collect::<Vec<_>>())
        })
    });
    let replaced = match replaced {
        Ok(replaced) => replaced,
        Err(err) => return Err(roll_back(secrets, written, err)),
    };
    Ok(profiles
        .iter()
        .zip(replaced)
        .map(|((name, profile, _), old)| {
            let storage = profile.secret_storage;
            // New credentials invalidate any cached token; a moved secret leaves no copy behind.
            let _ = secrets.delete_cached_token(storage, name);
            let old = old.filter(|o| o.secret_storage != storage)?;
            let _ = secrets.delete_cached_token(old.secret_storage, name);
            secrets
                .delete_secret(old.secret_storage, name)
                .err()
                .map(|err| {
                    format!(
                        "the old copy of the Client Secret ({}) could not be deleted: {err}",
                        old.secret_storage.describe()
                    )
                })
        })
        .collect())
}

/// Put every secret `written` back as it was before, after `err`; a secret
/// that cannot be put back is named in the error.
fn roll_back(
    secrets: &SecretStore,
    written: Vec<(&str, SecretStorage, Option<ClientSecret>)>,
    err: crate::error::Error,
) -> crate::error::Error {
    let mut stuck = Vec::new();
    for (name, storage, previous) in written {
        let undone = match previous {
            Some(p) => secrets.set_secret(storage, name, &p),
            None => secrets.delete_secret(storage, name).map(|_| ()),
        };
        if let Err(undo) = undone {
            stuck.push(format!(
                "The new Client Secret of {name:?}, already written to the {}, could not be \
                 taken back either: {undo}\nRun `st-setup init --profile {name}` again once the \
                 problem is fixed.",
                match storage {
                    SecretStorage::Keyring => "OS keyring",
                    SecretStorage::File => "secret file",
                }
            ));
        }
    }
    if stuck.is_empty() {
        err
    } else {
        crate::error::Error::NotUndone {
            cause: Box::new(err),
            stuck,
        }
    }
}
