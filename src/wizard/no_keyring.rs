//! The wizard's way on when the OS keyring cannot be used (a headless
//! machine with no D-Bus session or no Secret Service, or a locked keyring),
//! asked right after the profile name and before any credential is typed:
//! start or unlock one and check again, keep the secret in a plain-text 0600 file instead (chosen, never
//! the default), or quit. Without a terminal there is no such question:
//! `init` stops with exit 6 as before.

use crate::error::{Error, Result};
use crate::ui::Ui;
use crate::wizard::prompt::Prompter;

/// What the user chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WayOn {
    /// They started a keyring: try again.
    CheckAgain,
    /// Keep the Client Secret in a plain-text 0600 file (`--storage file`).
    PlainFile,
}

/// Say why the keyring is out of reach and how to start one, and ask what
/// to do. `err` is the keyring error; quitting returns it (exit 6).
/// `file_allowed` is false when `--storage keyring` was asked for.
pub(crate) fn ask(ui: Ui, err: Error, secret_file: &str, file_allowed: bool) -> Result<WayOn> {
    let reason = err.to_string();
    let reason = reason.lines().next().unwrap_or_default();
    // A keyring that answered "locked" is running: it needs unlocking, not starting.
    let locked = err.is_keyring_locked();
    let what = if locked {
        "The OS keyring is locked"
    } else {
        "No OS keyring is reachable"
    };
    ui.warn(&format!(
        "{what}, so the Client Secret has nowhere safe to go yet (nothing has been \
         typed):\n  {reason}"
    ));
    ui.info(&if locked {
        unlock_commands()
    } else {
        start_commands()
    });
    let mut items = vec!["I started it, check again".to_string()];
    if file_allowed {
        ui.info(&format!(
            "Or keep the Client Secret in a plain-text file instead: {secret_file} (mode 0600, \
             like `--storage file`). It is not encrypted: anyone who can read your files as you \
             (or a backup of them) can read it, and `list`, `show` and `check` say so every time."
        ));
        items.push("Keep it in the plain-text file (mode 0600)".to_string());
    }
    items.push("Quit (nothing is saved)".to_string());
    let choice = Prompter::new(ui).select("What now?", &items, 0)?;
    match (choice, file_allowed) {
        (0, _) => Ok(WayOn::CheckAgain),
        (1, true) => Ok(WayOn::PlainFile),
        _ => Err(err),
    }
}

/// The commands that start a Secret Service where this process looks for
/// one: the bus address it uses, or the default socket when none is set.
#[cfg(all(unix, not(target_os = "macos")))]
fn start_commands() -> String {
    let address = match std::env::var("DBUS_SESSION_BUS_ADDRESS") {
        Ok(address) if !address.trim().is_empty() => address,
        _ => {
            let runtime_dir = std::env::var("XDG_RUNTIME_DIR")
                .unwrap_or_else(|_| format!("/run/user/{}", current_uid()));
            format!("unix:path={runtime_dir}/bus")
        }
    };
    let socket = address
        .strip_prefix("unix:path=")
        .map(|rest| rest.split(',').next().unwrap_or(rest).to_string());
    let mut lines = vec![
        "To start one, run this in another terminal as the same user (Debian/Ubuntu: \
         sudo apt-get install --no-install-recommends gnome-keyring dbus-daemon first):"
            .to_string(),
    ];
    match &socket {
        Some(path) if !std::path::Path::new(path).exists() => {
            if let Some(dir) = std::path::Path::new(path).parent() {
                lines.push(format!("    mkdir -p -m 700 {}", dir.display()));
            }
            lines.push(format!(
                "    dbus-daemon --session --address={address} --fork"
            ));
        }
        _ => {}
    }
    lines.push("    read -rsp 'Keyring password: ' KEYRING_PASSWORD; echo".to_string());
    lines.push(format!(
        "    printf '%s' \"$KEYRING_PASSWORD\" | DBUS_SESSION_BUS_ADDRESS={address} \
         gnome-keyring-daemon --unlock --components=secrets"
    ));
    lines.join("\n")
}

/// The command that unlocks a gnome-keyring that runs but is locked.
#[cfg(all(unix, not(target_os = "macos")))]
fn unlock_commands() -> String {
    [
        "To unlock it, run this in another terminal as the same user (it replaces the running \
         gnome-keyring with an unlocked one):",
        "    read -rsp 'Keyring password: ' KEYRING_PASSWORD; echo",
        "    printf '%s' \"$KEYRING_PASSWORD\" | gnome-keyring-daemon --replace --unlock --components=secrets",
        "On a desktop, unlocking the Login keyring in Passwords and Keys (seahorse) does it too.",
    ]
    .join("\n")
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn unlock_commands() -> String {
    start_commands()
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn start_commands() -> String {
    #[cfg(target_os = "macos")]
    return "Unlock the login keychain (security unlock-keychain), then check again.".into();
    #[cfg(not(target_os = "macos"))]
    return "Sign in to Windows interactively so Credential Manager is available, then check again."
        .into();
}

#[cfg(all(unix, not(target_os = "macos")))]
fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}
