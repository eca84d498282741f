//! The config file: every profile's non-secret values, as TOML.
//!
//! Lives at `$XDG_CONFIG_HOME/st-setup/config.toml` (or the platform's config
//! directory; `ST_SETUP_CONFIG_DIR` overrides). Writes take an exclusive lock on
//! a sibling lock file, re-read the file, apply the change and replace the file
//! atomically (temp file + rename), so concurrent runs never lose a profile and
//! an interrupted write leaves the old file intact. A file that does not parse
//! is reported with its line and never overwritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::store::SecretStorage;
use crate::store::checked_files;
use crate::store::private_files::{
    DirLock, create_private_dir, remove_abandoned_temp_files, write_atomically,
};

pub(crate) const CONFIG_FILE: &str = "config.toml";
const LOCK_FILE: &str = ".config.lock";
/// A config file larger than this is refused unread (a real one is a few KiB).
pub(crate) const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
const DIR_WHAT: &str = "config directory";

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Config {
    #[serde(default)]
    pub(crate) profiles: BTreeMap<String, Profile>,
}

/// One profile's stored values. The Client Secret is never here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Profile {
    pub(crate) environment: Environment,
    pub(crate) tenant_id: String,
    pub(crate) app_key: String,
    pub(crate) client_id: String,
    /// Where the Client Secret lives.
    #[serde(default)]
    pub(crate) secret_storage: SecretStorage,
    /// False when the user chose to save without a successful verification.
    #[serde(default = "default_true")]
    pub(crate) verified: bool,
    /// Token endpoint override in effect when the profile was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) auth_url: Option<String>,
    /// API base override in effect when the profile was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) api_url: Option<String>,
    /// `init --require`: scopes every check of this profile requires.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) require: Vec<String>,
}

fn default_true() -> bool {
    true
}

/// The config directory and the operations on the file inside it.
#[derive(Clone, Debug)]
pub(crate) struct ConfigStore {
    dir: PathBuf,
    /// How long a write waits for another run's lock before giving up.
    lock_wait: Duration,
}

/// Proof that this process holds the config lock (see [`ConfigStore::lock`]).
#[derive(Debug)]
pub(crate) struct ConfigLock {
    _held: DirLock,
}

impl ConfigStore {
    /// `ST_SETUP_CONFIG_DIR` when given, else the platform's config directory.
    /// Writes wait at most `lock_wait` for another run to finish its own.
    pub(crate) fn locate(dir_override: Option<&Path>, lock_wait: Duration) -> Result<ConfigStore> {
        let dir = match dir_override {
            Some(dir) => dir.to_path_buf(),
            None => directories::ProjectDirs::from("", "", "st-setup")
                .map(|d| d.config_dir().to_path_buf())
                .ok_or_else(|| {
                    Error::Other(
                        "could not find a home directory for the config file; set ST_SETUP_CONFIG_DIR"
                            .into(),
                    )
                })?,
        };
        Ok(ConfigStore { dir, lock_wait })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    /// Read the config; a missing file is an empty config.
    ///
    /// The directory and the file are checked first (see `checked_files`):
    /// owned by someone else or writable by others is exit 6; a symbolic
    /// link, a FIFO, a device or a file over [`MAX_CONFIG_BYTES`] is refused
    /// unread. Returns the config and, when the directory or the file was
    /// readable by other users, a warning (they are tightened in that case).
    pub(crate) fn load(&self) -> Result<(Config, Option<String>)> {
        let path = self.path();
        let Some(dir) = checked_files::open_dir(&self.dir, DIR_WHAT, true)? else {
            return Ok((Config::default(), None));
        };
        let Some(checked_files::Contents {
            bytes,
            warning: file_warning,
        }) = checked_files::read_file(&path, "config file", MAX_CONFIG_BYTES, "")?
        else {
            return Ok((Config::default(), dir.warning));
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return Err(Error::ConfigUnreadable {
                path,
                line: None,
                message: "the file is not UTF-8 text".into(),
            });
        };
        let config = parse(&path, text)?;
        let warning = match (dir.warning, file_warning) {
            (Some(d), Some(f)) => Some(format!("{d}\n{f}")),
            (d, f) => d.or(f),
        };
        Ok((config, warning))
    }

    /// Re-read, apply `change`, and atomically replace the file, under the
    /// lock the caller holds because other writes belong to the same step
    /// (see `store::save_profile`). When `change` fails nothing is written.
    pub(crate) fn update_locked<T>(
        &self,
        _lock: &ConfigLock,
        change: impl FnOnce(&mut Config) -> Result<T>,
    ) -> Result<T> {
        let (mut config, _) = self.load()?;
        let result = change(&mut config)?;
        self.write(&config)?;
        Ok(result)
    }

    /// Create the directory with mode 0700, or check the one there (refused
    /// when it is someone else's or others may write to it; tightened with a
    /// warning when others may read it).
    pub(crate) fn ensure_dir(&self) -> Result<()> {
        if let Some(warning) = create_private_dir(&self.dir, DIR_WHAT, true)? {
            crate::ui::Ui::plain().warn(&warning);
        }
        Ok(())
    }

    /// Take the lock every writer of the config takes (creating the
    /// directory if needed), waiting a bounded time for another run. Under
    /// it, a temp file in the directory is one a killed writer left behind,
    /// so those are removed.
    pub(crate) fn lock(&self) -> Result<ConfigLock> {
        self.ensure_dir()?;
        let lock = DirLock::acquire(&self.dir.join(LOCK_FILE), "the config lock", self.lock_wait)?;
        remove_abandoned_temp_files(&self.dir);
        Ok(ConfigLock { _held: lock })
    }

    fn write(&self, config: &Config) -> Result<()> {
        let text = toml::to_string_pretty(config).map_err(Error::ConfigEncoding)?;
        let header = "# st-setup profiles. The Client Secret is not in this file: it is in the\n\
                      # OS keyring (or, where secret_storage = \"file\", in secrets/<profile>).\n\n";
        write_atomically(
            &self.dir,
            &self.path(),
            format!("{header}{text}").as_bytes(),
        )
    }
}

/// Parse config text, reporting the line of any error.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Config> {
    let config: Config = toml::from_str(text).map_err(|e| Error::ConfigUnreadable {
        path: path.to_path_buf(),
        line: e.span().map(|span| line_of(text, span.start)),
        message: e.message().trim().to_string(),
    })?;
    for name in config.profiles.keys() {
        if let Err(problem) = crate::profile::check_name(name) {
            return Err(Error::ConfigUnreadable {
                path: path.to_path_buf(),
                line: text
                    .lines()
                    .position(|l| {
                        l.contains(&format!("[profiles.{name}]")) || l.contains(name.as_str())
                    })
                    .map(|i| i + 1),
                // Not the name itself: it may be a pasted credential.
                message: format!("unusable profile name: {problem}"),
            });
        }
    }
    Ok(config)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const WAIT: Duration = Duration::from_secs(1);

    /// Lock, then [`ConfigStore::update_locked`], as every writer does.
    fn update<T>(store: &ConfigStore, change: impl FnOnce(&mut Config) -> Result<T>) -> Result<T> {
        let lock = store.lock()?;
        store.update_locked(&lock, change)
    }

    #[test]
    fn a_held_lock_is_waited_for_a_bounded_time_then_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::locate(Some(dir.path()), Duration::from_millis(200)).unwrap();
        let held = store.lock().unwrap();
        // Another open file description, as another process would have.
        let started = std::time::Instant::now();
        let err = update(&store, |_| Ok(())).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(
            err.exit_status(),
            crate::error::ExitStatus::StoreUnavailable
        );
        assert!(err.to_string().contains("holds the config lock"), "{err}");
        assert!(!store.path().exists(), "nothing was written");
        drop(held);
        update(&store, |_| Ok(())).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(LOCK_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_profile_round_trips_through_toml() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::locate(Some(&dir.path().join("cfg")), WAIT).unwrap();
        let profile = Profile {
            environment: Environment::Integration,
            tenant_id: "8450".into(),
            app_key: "ak1.x".into(),
            client_id: "cid.y".into(),
            secret_storage: SecretStorage::Keyring,
            verified: true,
            auth_url: None,
            api_url: Some("http://127.0.0.1:9".into()),
            require: vec!["crm".into(), "tn.acc.invoices:r".into()],
        };
        update(&store, |c| {
            c.profiles.insert("dev".into(), profile.clone());
            Ok(())
        })
        .unwrap();
        let (config, warning) = store.load().unwrap();
        assert_eq!(config.profiles["dev"], profile);
        assert_eq!(warning, None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&store.path()), 0o600);
            assert_eq!(mode(store.dir()), 0o700);
        }
    }

    #[test]
    fn parse_errors_name_the_line_and_leave_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::locate(Some(dir.path()), WAIT).unwrap();
        let broken = "[profiles.default]\nenvironment = \"production\"\ntenant_id = 8450\n";
        fs::write(store.path(), broken).unwrap();
        let err = store.load().unwrap_err();
        let message = err.to_string();
        assert!(message.contains("config.toml, line 3"), "{message}");
        let err = update(&store, |_| Ok(())).unwrap_err();
        assert!(matches!(err, Error::ConfigUnreadable { .. }));
        assert_eq!(fs::read_to_string(store.path()).unwrap(), broken);
    }

    #[test]
    fn a_failed_change_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::locate(Some(dir.path()), WAIT).unwrap();
        let err = update(&store, |_| -> Result<()> { Err(Error::Other("no".into())) });
        assert!(err.is_err());
        assert!(!store.path().exists());
    }
}
