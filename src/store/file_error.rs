//! How a file or directory of the config directory is refused or cannot be
//! used, as data: which one (`what` names its job, `path` where it is), and
//! why. Each kind has one message that names the path and the fix. (An I/O
//! error on a path is `Error::StoreIo` instead, with the error as its source.)

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A file or directory of st-setup's that was not used (exit 6).
#[derive(Debug, thiserror::Error)]
pub(crate) enum FileError {
    /// It was created, and was gone when opened.
    #[error("the {what} {} disappeared right after it was created; try again.", path.display())]
    Disappeared { what: String, path: PathBuf },

    /// It is larger than such a file may be, so it was not read.
    #[error(
        "the {what} {} is {size} bytes, more than the {max} bytes it may have, so it \
         was not read. Fix: move it away (`mv {word} {word}.bad`) and run `st-setup init` again.",
        path.display(),
        word = shell_word(path)
    )]
    TooLarge {
        what: String,
        path: PathBuf,
        size: u64,
        max: u64,
    },

    /// It is not the type of file it should be (`found`, `expected`: "a directory", ...).
    #[error(
        "the {what} {} is {found}, not {expected}, so st-setup did not use it. Fix: remove it \
         (`rm -r {}`) and run `st-setup init` again.",
        path.display(),
        shell_word(path)
    )]
    WrongType {
        what: String,
        path: PathBuf,
        found: &'static str,
        expected: &'static str,
    },

    /// It is a symbolic link, which is not followed.
    #[error(
        "the {what} {} is a symbolic link. st-setup does not follow links in its config \
         directory (one could point it at another file), so it did not use it. Fix: remove \
         the link (`rm {}`) and run `st-setup init` again.",
        path.display(),
        shell_word(path)
    )]
    SymbolicLink { what: String, path: PathBuf },

    /// Another account owns it: `owner` and `you` as "name (uid N)",
    /// `your_name` as `chown` takes it.
    #[error(
        "the {what} {} belongs to {owner}, not to you ({you}). Another account could change \
         what st-setup reads there (such as the server your Client Secret is sent to), \
         so st-setup did not use it. Fix: if it should be yours, `sudo chown -R {your_name} {}`; \
         otherwise move it away, or set ST_SETUP_CONFIG_DIR to a directory of your own.",
        path.display(),
        shell_word(path)
    )]
    NotYours {
        what: String,
        path: PathBuf,
        owner: String,
        you: String,
        your_name: String,
    },

    /// Other users may write to it (`mode`: its permission bits).
    #[error(
        "the {what} {} can be written by other users (mode {mode:o}), who could change what \
         st-setup reads there, so st-setup did not use it. Fix: `chmod go-rwx {}`, then \
         check that its contents are yours.",
        path.display(),
        shell_word(path)
    )]
    WritableByOthers {
        what: String,
        path: PathBuf,
        mode: u32,
    },

    /// A secret file of `profile` holds bytes that are not UTF-8 text.
    #[error(
        "the {what} {} is not UTF-8 text. Fix: run `st-setup init --profile {profile}` to \
         store the value again.",
        path.display()
    )]
    NotText {
        what: String,
        path: PathBuf,
        profile: String,
    },

    /// Another run held the lock `what` (at `path`) for all of `waited`.
    #[error(
        "another st-setup run still holds {what} {} after {} s, so nothing was \
         changed. Try again once it has finished (ST_KEYRING_TIMEOUT sets how \
         long to wait).",
        path.display(),
        waited.as_secs_f64()
    )]
    LockHeld {
        what: String,
        path: PathBuf,
        waited: Duration,
    },
}

/// `path` as one shell word, for the commands messages suggest.
fn shell_word(path: &Path) -> String {
    let text = path.to_string_lossy();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c))
    {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
