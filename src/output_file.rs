//! `--output FILE`: write a command's result to a file the user names, as a
//! new file only the user can read (mode 0600 on Unix, whatever the umask).
//! The text goes to a temp file beside FILE first and is then renamed into
//! place, so a reader never sees half of it and a symlink at FILE is replaced,
//! never followed. Without `force` an existing FILE (even a dangling symlink)
//! is refused, atomically: a file created meanwhile is not overwritten either.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::invalid_input::InvalidInput;

/// Temp files are `.st-setup-output-XXXXXX.tmp` beside FILE.
const TEMP_PREFIX: &str = ".st-setup-output-";
const TEMP_SUFFIX: &str = ".tmp";

pub(crate) fn write_private(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(InvalidInput::OutputEmpty.into());
    }
    if !force && path.symlink_metadata().is_ok() {
        return Err(exists(path));
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let failed = |action: &'static str, source: std::io::Error| Error::Output {
        action,
        path: path.to_path_buf(),
        source,
    };
    // tempfile creates the file with O_EXCL and mode 0600 on Unix.
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| failed("create a file beside", e))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| failed("write", e))?;
    let persisted = if force {
        temp.persist(path)
    } else {
        temp.persist_noclobber(path)
    };
    match persisted {
        Ok(_) => Ok(()),
        Err(e) if !force && e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(exists(path))
        }
        Err(e) => Err(failed("write", e.error)),
    }
}

fn exists(path: &Path) -> Error {
    InvalidInput::OutputExists {
        path: path.display().to_string(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn a_new_file_is_private_and_an_existing_one_needs_force() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("creds.json");
        write_private(&file, b"one", false).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"one");
        #[cfg(unix)]
        assert_eq!(mode(&file), 0o600);
        let err = write_private(&file, b"two", false).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), b"one");
        write_private(&file, b"two", true).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        // No temp file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_private(&link, b"secret", false).is_err());
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(write_private(&dangling, b"secret", false).is_err());
        assert!(!dir.path().join("nowhere").exists());
        // --force replaces the link itself; its target is untouched.
        write_private(&link, b"secret", true).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(
            !std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(mode(&link), 0o600);
    }
}
