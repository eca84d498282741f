//! Opening what is in the config directory as hostile input. Like ssh with
//! `~/.ssh`: a directory or file that another account owns, or that others
//! may write, is refused (exit 6) with a message naming the path, the owner
//! and the fix; one that others may only read is tightened with a warning.
//! Files are opened without following symbolic links and without blocking
//! (a FIFO cannot hang a run), checked through the open descriptor (regular
//! file, owner, mode, size) and read up to a cap; permissions are changed
//! through the descriptor, never through a path that could be a link.
//!
//! One piece, just over 400 lines: each check is a step of the same open,
//! and splitting them would pass the descriptor around for no clarity.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

use super::file_error::FileError;
use crate::error::{Error, Result};

/// A directory of st-setup's, open and checked.
#[derive(Debug)]
pub(crate) struct CheckedDir {
    /// Set when the directory was readable by others and has been made 0700.
    pub(crate) warning: Option<String>,
}

/// Open and check directory `path` (`what` names it in messages).
/// `Ok(None)` when it does not exist. `follow_link`: whether `path` itself
/// may be a symbolic link (the config directory may be; its target is then
/// checked), else a link is refused like any other planted file.
pub(crate) fn open_dir(path: &Path, what: &str, follow_link: bool) -> Result<Option<CheckedDir>> {
    let dir = match sys::open_dir(path, follow_link) {
        Ok(dir) => dir,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(open_error(path, what, Expect::Dir, follow_link, e)),
    };
    let warning = check(&dir, path, what, Expect::Dir, "")?;
    Ok(Some(CheckedDir { warning }))
}

/// Create directory `path` (and its parents) with mode 0700 if needed, then
/// check it as [`open_dir`] does.
pub(crate) fn create_dir(path: &Path, what: &str, follow_link: bool) -> Result<CheckedDir> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    if let Err(e) = builder.create(path) {
        // A link or a file in the way is reported by open_dir in plain words.
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(Error::io("create the directory", path, e));
        }
    }
    open_dir(path, what, follow_link)?.ok_or_else(|| {
        FileError::Disappeared {
            what: what.to_string(),
            path: path.to_path_buf(),
        }
        .into()
    })
}

/// What [`read_file`] read.
pub(crate) struct Contents {
    pub(crate) bytes: Zeroizing<Vec<u8>>,
    /// Set when the file was readable by others and has been made 0600.
    pub(crate) warning: Option<String>,
}

/// The contents of regular file `path`, at most `max_bytes`; `Ok(None)` when
/// there is no such file. Also returns a warning when the file was readable
/// by others and has been made 0600 (`loose_note` is added to it).
pub(crate) fn read_file(
    path: &Path,
    what: &str,
    max_bytes: u64,
    loose_note: &str,
) -> Result<Option<Contents>> {
    let mut file = match sys::open_file(path, false) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(open_error(path, what, Expect::File, false, e)),
    };
    let warning = check(&file, path, what, Expect::File, loose_note)?;
    let too_large = |size: u64| -> Error {
        FileError::TooLarge {
            what: what.to_string(),
            path: path.to_path_buf(),
            size,
            max: max_bytes,
        }
        .into()
    };
    let size = file
        .metadata()
        .map_err(|e| Error::io("inspect", path, e))?
        .len();
    if size > max_bytes {
        return Err(too_large(size));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(size as usize));
    (&mut file)
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("read", path, e))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(Some(Contents { bytes, warning }))
}

/// Open (creating it 0600 if needed) the lock file at `path` for writing,
/// checked like any other file; a lock file readable by others holds
/// nothing, so it is tightened without a word.
pub(crate) fn open_lock_file(path: &Path) -> Result<File> {
    let file = sys::open_file(path, true)
        .map_err(|e| open_error(path, "lock file", Expect::File, false, e))?;
    check(&file, path, "lock file", Expect::File, "")?;
    Ok(file)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Dir,
    File,
}

/// Check an open descriptor: type, owner, mode. Loose read permissions are
/// tightened through the descriptor and reported.
fn check(
    handle: &File,
    path: &Path,
    what: &str,
    expect: Expect,
    loose_note: &str,
) -> Result<Option<String>> {
    let meta = handle
        .metadata()
        .map_err(|e| Error::io("inspect", path, e))?;
    let right_type = match expect {
        Expect::Dir => meta.is_dir(),
        Expect::File => meta.is_file(),
    };
    if !right_type {
        return Err(wrong_type(path, what, expect, &meta));
    }
    sys::check_owner_and_mode(handle, &meta, path, what, expect == Expect::Dir, loose_note)
}

fn wrong_type(path: &Path, what: &str, expect: Expect, meta: &std::fs::Metadata) -> Error {
    FileError::WrongType {
        what: what.to_string(),
        path: path.to_path_buf(),
        found: sys::describe_type(meta),
        expected: match expect {
            Expect::Dir => "a directory",
            Expect::File => "a regular file",
        },
    }
    .into()
}

/// Why `path` could not be opened, in plain words when it is a link (and
/// links are not followed) or not the right type of file (a FIFO, which
/// cannot be opened for writing without a reader, or a file in the way of a
/// directory).
fn open_error(
    path: &Path,
    what: &str,
    expect: Expect,
    follow_link: bool,
    err: std::io::Error,
) -> Error {
    let meta = if follow_link {
        std::fs::metadata(path)
    } else {
        std::fs::symlink_metadata(path)
    };
    match meta {
        Ok(meta) if meta.file_type().is_symlink() => FileError::SymbolicLink {
            what: what.to_string(),
            path: path.to_path_buf(),
        }
        .into(),
        Ok(meta)
            if (expect == Expect::Dir && !meta.is_dir())
                || (expect == Expect::File && !meta.is_file()) =>
        {
            wrong_type(path, what, expect, &meta)
        }
        _ => Error::io(&format!("open the {what}"), path, err),
    }
}

#[cfg(unix)]
mod sys {
    use std::fs::{File, Metadata, OpenOptions, Permissions};
    use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
    use std::path::Path;

    use crate::error::{Error, Result};
    use crate::store::file_error::FileError;

    pub(crate) fn open_dir(path: &Path, follow_link: bool) -> std::io::Result<File> {
        let mut flags = libc::O_DIRECTORY | libc::O_NONBLOCK;
        if !follow_link {
            flags |= libc::O_NOFOLLOW;
        }
        OpenOptions::new().read(true).custom_flags(flags).open(path)
    }

    /// No link followed, no blocking on a FIFO; `for_lock`: created 0600
    /// and opened for writing (flock needs no more).
    pub(crate) fn open_file(path: &Path, for_lock: bool) -> std::io::Result<File> {
        let mut options = OpenOptions::new();
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
        if for_lock {
            options.write(true).create(true).truncate(false).mode(0o600);
        } else {
            options.read(true);
        }
        options.open(path)
    }

    pub(crate) fn describe_type(meta: &Metadata) -> &'static str {
        let kind = meta.file_type();
        if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO (named pipe)"
        } else if kind.is_socket() {
            "a socket"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_file() {
            "a regular file"
        } else {
            "an unusual file"
        }
    }

    pub(crate) fn check_owner_and_mode(
        handle: &File,
        meta: &Metadata,
        path: &Path,
        what: &str,
        is_dir: bool,
        loose_note: &str,
    ) -> Result<Option<String>> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let owner = meta.uid();
        if owner != me {
            return Err(FileError::NotYours {
                what: what.to_string(),
                path: path.to_path_buf(),
                owner: user_label(owner),
                you: user_label(me),
                your_name: user_name(me).unwrap_or_else(|| me.to_string()),
            }
            .into());
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(FileError::WritableByOthers {
                what: what.to_string(),
                path: path.to_path_buf(),
                mode: mode & 0o777,
            }
            .into());
        }
        if mode & 0o077 == 0 {
            return Ok(None);
        }
        let private = if is_dir { 0o700 } else { 0o600 };
        handle
            .set_permissions(Permissions::from_mode(private))
            .map_err(|e| Error::io("restrict permissions of", path, e))?;
        Ok(Some(format!(
            "{} was readable by other users (mode {:o}); it is now {private:04o}.{}",
            path.display(),
            mode & 0o777,
            loose_note
        )))
    }

    /// `name (uid N)`, or `uid N` when the account has no usable name.
    fn user_label(uid: libc::uid_t) -> String {
        match user_name(uid) {
            Some(name) => format!("{name} (uid {uid})"),
            None => format!("uid {uid}"),
        }
    }

    /// The account name of `uid` from the user database, if it is a plain one.
    fn user_name(uid: libc::uid_t) -> Option<String> {
        let mut buffer = vec![0 as libc::c_char; 4096];
        // SAFETY: an all-zero passwd is a valid value to be overwritten.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and the buffer length is its own.
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut entry,
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut found,
            )
        };
        if rc != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        // SAFETY: getpwuid_r succeeded, so pw_name points to a NUL-terminated string in `buffer`.
        let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) }
            .to_str()
            .ok()?
            .to_string();
        let plain = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        plain.then_some(name)
    }
}

#[cfg(windows)]
mod sys {
    use std::fs::{File, Metadata, OpenOptions};
    use std::os::windows::fs::OpenOptionsExt;
    use std::path::Path;

    use crate::error::Result;

    /// FILE_FLAG_BACKUP_SEMANTICS: needed to open a directory;
    /// FILE_FLAG_OPEN_REPARSE_POINT: open a link itself, not its target.
    const BACKUP_SEMANTICS: u32 = 0x0200_0000;
    const OPEN_REPARSE_POINT: u32 = 0x0020_0000;

    pub(crate) fn open_dir(path: &Path, follow_link: bool) -> std::io::Result<File> {
        let mut flags = BACKUP_SEMANTICS;
        if !follow_link {
            flags |= OPEN_REPARSE_POINT;
        }
        OpenOptions::new().read(true).custom_flags(flags).open(path)
    }

    pub(crate) fn open_file(path: &Path, for_lock: bool) -> std::io::Result<File> {
        let mut options = OpenOptions::new();
        options.custom_flags(OPEN_REPARSE_POINT);
        if for_lock {
            options.write(true).create(true).truncate(false);
        } else {
            options.read(true);
        }
        options.open(path)
    }

    pub(crate) fn describe_type(meta: &Metadata) -> &'static str {
        if meta.file_type().is_symlink() {
            "a symbolic link"
        } else if meta.is_dir() {
            "a directory"
        } else if meta.is_file() {
            "a regular file"
        } else {
            "an unusual file"
        }
    }

    pub(crate) fn check_owner_and_mode(
        _handle: &File,
        _meta: &Metadata,
        _path: &Path,
        _what: &str,
        _is_dir: bool,
        _loose_note: &str,
    ) -> Result<Option<String>> {
        // The user's profile directory is private by its ACL; owners and
        // ACLs are not checked here.
        Ok(None)
    }
}
