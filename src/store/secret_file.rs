//! The opt-in plain-text secret store (`--storage file`): one 0600 file per
//! profile in `<config dir>/secrets/`, written atomically. Never chosen
//! automatically; every command that reads it says so. (The token cache of
//! such profiles is kept the same way in `<config dir>/token-cache/`.)
//!
//! The directory and each file are checked before use (see `checked_files`):
//! another account's, writable by others, a link or not a regular file is
//! refused (exit 6); readable by others is made 0700 / 0600 with a warning
//! that says the secret may have been read.
//!
//! Writers take the directory's lock, so a temp file found there under the
//! lock was left by a killed writer, and is removed: it holds a secret.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::store::checked_files;
use crate::store::file_error::FileError;
use crate::store::private_files::{
    DirLock, create_private_dir, remove_abandoned_temp_files, write_atomically,
};

const LOCK_FILE: &str = ".lock";
/// A secret or a cached token is far smaller; anything larger is refused unread.
pub(crate) const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// What a directory of such files holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `secrets/`: Client Secrets.
    Secrets,
    /// `token-cache/`: cached access tokens.
    TokenCache,
}

impl Kind {
    fn file(self) -> &'static str {
        match self {
            Kind::Secrets => "secret file",
            Kind::TokenCache => "token cache file",
        }
    }

    fn dir(self) -> &'static str {
        match self {
            Kind::Secrets => "secrets directory",
            Kind::TokenCache => "token cache directory",
        }
    }

    /// Added to the warning about a file or directory others could read.
    fn exposed_note(self) -> &'static str {
        match self {
            Kind::Secrets => {
                " Other users may have read the Client Secret: consider generating a new one \
                 in ServiceTitan and running `st-setup init` again."
            }
            Kind::TokenCache => "",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct SecretFiles {
    dir: PathBuf,
    lock_wait: Duration,
    kind: Kind,
}

impl SecretFiles {
    /// Files in `dir` (`<config dir>/secrets` or `<config dir>/token-cache`);
    /// a write waits at most `lock_wait` for another run's write.
    pub(crate) fn new(dir: &Path, kind: Kind, lock_wait: Duration) -> Self {
        SecretFiles {
            dir: dir.to_path_buf(),
            lock_wait,
            kind,
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub(crate) fn get(&self, name: &str) -> Result<Option<String>> {
        let note = self.kind.exposed_note();
        let Some(dir) = checked_files::open_dir(&self.dir, self.kind.dir(), false)? else {
            return Ok(None);
        };
        warn(dir.warning.map(|w| format!("{w}{note}")));
        let path = self.path(name);
        let Some(checked_files::Contents { bytes, warning }) =
            checked_files::read_file(&path, self.kind.file(), MAX_SECRET_FILE_BYTES, note)?
        else {
            return Ok(None);
        };
        warn(warning);
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return Err(FileError::NotText {
                what: self.kind.file().to_string(),
                path,
                profile: name.to_string(),
            }
            .into());
        };
        Ok(Some(text.trim_end_matches(['\n', '\r']).to_string()))
    }

    pub(crate) fn set(&self, name: &str, value: &str) -> Result<()> {
        warn(create_private_dir(&self.dir, self.kind.dir(), false)?);
        let _lock = DirLock::acquire(&self.dir.join(LOCK_FILE), "the lock of", self.lock_wait)?;
        remove_abandoned_temp_files(&self.dir);
        let mut text = zeroize::Zeroizing::new(value.to_string());
        text.push('\n');
        write_atomically(&self.dir, &self.path(name), text.as_bytes())
    }

    pub(crate) fn delete(&self, name: &str) -> Result<bool> {
        let path = self.path(name);
        // Unlinking never follows a link: a planted one is removed, not its target.
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("delete", &path, e)),
        }
    }
}

/// Warnings are shown even with `--quiet`; the store has no `Ui` of its own.
fn warn(warning: Option<String>) {
    if let Some(warning) = warning {
        crate::ui::Ui::plain().warn(&warning);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_removes_temp_files_that_killed_writers_left() {
        let dir = tempfile::tempdir().unwrap();
        let files = SecretFiles::new(dir.path(), Kind::Secrets, Duration::from_secs(1));
        files.set("first", "cs1.one").unwrap();
        // A writer killed between creating its temp file and the rename.
        let abandoned = dir.path().join(".st-setup-K1lled.tmp");
        fs::write(&abandoned, "cs1.half-written").unwrap();
        files.set("second", "cs1.two").unwrap();
        assert!(
            !abandoned.exists(),
            "the abandoned copy of a secret is gone"
        );
        assert_eq!(files.get("first").unwrap().as_deref(), Some("cs1.one"));
        assert_eq!(files.get("second").unwrap().as_deref(), Some("cs1.two"));
    }
}
