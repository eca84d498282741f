//! The opt-in plain-text secret store (`--storage file`): one 0600 file per
//! profile in `<config dir>/secrets/`, written atomically. Never chosen
//! automatically; every command that reads it says so. (The token cache of
//! such profiles is kept the same way in `<config dir>/token-cache/`.)
//!
//! Writers take the directory's lock, so a temp file found there under the
//! lock was left by a killed writer, and is removed: it holds a secret.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::store::private_files::{
    DirLock, create_private_dir, remove_abandoned_temp_files, write_atomically,
};

const LOCK_FILE: &str = ".lock";

#[derive(Clone, Debug)]
pub struct SecretFiles {
    dir: PathBuf,
    lock_wait: Duration,
}

impl SecretFiles {
    /// Files in `dir` (`<config dir>/secrets` or `<config dir>/token-cache`);
    /// a write waits at most `lock_wait` for another run's write.
    pub fn new(dir: &Path, lock_wait: Duration) -> Self {
        SecretFiles {
            dir: dir.to_path_buf(),
            lock_wait,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn get(&self, name: &str) -> Result<Option<String>> {
        let path = self.path(name);
        match fs::read_to_string(&path) {
            Ok(text) => {
                // The file's text holds the secret too: zero it once trimmed.
                let text = zeroize::Zeroizing::new(text);
                Ok(Some(text.trim_end_matches(['\n', '\r']).to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Store(format!(
                "could not read the secret file {}: {e}",
                path.display()
            ))),
        }
    }

    pub fn set(&self, name: &str, value: &str) -> Result<()> {
        create_private_dir(&self.dir)?;
        let _lock = DirLock::acquire(&self.dir.join(LOCK_FILE), "the lock of", self.lock_wait)?;
        remove_abandoned_temp_files(&self.dir);
        let mut text = zeroize::Zeroizing::new(value.to_string());
        text.push('\n');
        write_atomically(&self.dir, &self.path(name), text.as_bytes())
    }

    pub fn delete(&self, name: &str) -> Result<bool> {
        let path = self.path(name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::Store(format!(
                "could not delete {}: {e}",
                path.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_removes_temp_files_that_killed_writers_left() {
        let dir = tempfile::tempdir().unwrap();
        let files = SecretFiles::new(dir.path(), Duration::from_secs(1));
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
