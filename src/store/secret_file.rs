//! The opt-in plain-text secret store (`--storage file`): one 0600 file per
//! profile in `<config dir>/secrets/`, written atomically. Never chosen
//! automatically; every command that reads it says so.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::store::private_files::{create_private_dir, write_atomically};

#[derive(Clone, Debug)]
pub struct SecretFiles {
    dir: PathBuf,
}

impl SecretFiles {
    /// Files in `dir` (`<config dir>/secrets` or `<config dir>/token-cache`).
    pub fn new(dir: &Path) -> Self {
        SecretFiles {
            dir: dir.to_path_buf(),
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
        create_private_dir(&self.dir).map_err(|e| Error::Store(e.to_string()))?;
        let mut text = zeroize::Zeroizing::new(value.to_string());
        text.push('\n');
        write_atomically(&self.dir, &self.path(name), text.as_bytes())
            .map_err(|e| Error::Store(e.to_string()))
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
