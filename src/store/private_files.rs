//! Files only the user may read: 0700 directories, 0600 files written
//! atomically (temp file, fsync, rename), the clean-up of temp files a
//! killed writer left behind, and the lock that writers in one directory
//! take, with a bounded wait. Shared by the config file and the opt-in
//! secret files; every open of an existing file goes through `checked_files`.

use std::fs::{self, File, TryLockError};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::store::checked_files;
use crate::store::file_error::FileError;

/// Temp files are `.st-setup-XXXXXX.tmp` beside the file they will replace.
const TEMP_PREFIX: &str = ".st-setup-";
const TEMP_SUFFIX: &str = ".tmp";

/// Create `dir` (and its parents) with mode 0700, or check the one there:
/// refused when another account owns it or others may write to it, made
/// 0700 (with a warning, returned) when others may read it. `follow_link`:
/// whether `dir` itself may be a symbolic link (see [`checked_files::open_dir`]).
pub(crate) fn create_private_dir(
    dir: &Path,
    what: &str,
    follow_link: bool,
) -> Result<Option<String>> {
    Ok(checked_files::create_dir(dir, what, follow_link)?.warning)
}

/// Write `bytes` to `path` through a 0600 temp file in `dir`, fsync, rename:
/// a reader sees the old file or the new one, never half of one. Nothing
/// here follows a link: the temp file is created with O_EXCL under a random
/// name, its mode is set through its descriptor, and the rename replaces
/// whatever is at `path` (a planted link included) instead of writing through it.
pub(crate) fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io("set permissions on", temp.path(), e))?;
    }
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| Error::io("write", temp.path(), e))?;
    temp.persist(path)
        .map_err(|e| Error::io("replace", path, e.error))?;
    // Make the rename itself durable.
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Remove the temp files of writers that were killed before their rename.
///
/// Only call this while holding the lock every writer in `dir` takes: then no
/// temp file there can belong to a write still in progress.
pub(crate) fn remove_abandoned_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// An exclusive lock on a lock file, held until dropped. It is an OS file
/// lock (flock), so a holder that dies releases it: it is never stale.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Take the lock at `path` (created 0600), waiting at most `wait` for
    /// another process to let go of it; `what` names it in the error.
    pub(crate) fn acquire(path: &Path, what: &str, wait: Duration) -> Result<DirLock> {
        // No link followed, a regular file of ours (tightened if loose).
        let file = checked_files::open_lock_file(path)?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(DirLock { _file: file }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(FileError::LockHeld {
                        what: what.to_string(),
                        path: path.to_path_buf(),
                        waited: wait,
                    }
                    .into());
                }
                Err(TryLockError::Error(e)) => return Err(Error::io("lock", path, e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abandoned_temp_files_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let keep = dir.path().join("config.toml");
        write_atomically(dir.path(), &keep, b"x = 1\n").unwrap();
        let abandoned = dir.path().join(".st-setup-AbC123.tmp");
        fs::write(&abandoned, b"half").unwrap();
        let other = dir.path().join(".config.lock");
        fs::write(&other, b"").unwrap();
        remove_abandoned_temp_files(dir.path());
        assert!(!abandoned.exists());
        assert!(keep.exists() && other.exists());
    }

    #[cfg(unix)]
    #[test]
    fn loose_directories_are_tightened_and_open_ones_refused() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        assert_eq!(
            create_private_dir(&dir, "test directory", false).unwrap(),
            None
        );
        assert_eq!(mode(&dir), 0o700);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let warning = create_private_dir(&dir, "test directory", false)
            .unwrap()
            .expect("a warning");
        assert!(warning.contains("mode 755"), "{warning}");
        assert_eq!(mode(&dir), 0o700);

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o770)).unwrap();
        let err = create_private_dir(&dir, "test directory", false).unwrap_err();
        assert!(err.to_string().contains("written by other users"), "{err}");
        assert_eq!(mode(&dir), 0o770, "left as it was");
    }
}
