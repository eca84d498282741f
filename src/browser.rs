//! Opening a web page for the user: `$BROWSER` when set, otherwise the
//! platform opener; on a Linux machine without a display, nothing is opened
//! (the caller prints the URL either way).

use std::process::{Command, Stdio};

/// Whether [`open`] has a way to show a page here: `$BROWSER`, or a display
/// (always assumed on macOS and Windows). Without one, don't offer to open.
pub(crate) fn can_open() -> bool {
    if browser_variable().is_some() {
        return true;
    }
    #[cfg(all(unix, not(target_os = "macos")))]
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return false;
    }
    true
}

fn browser_variable() -> Option<String> {
    std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
}

pub(crate) fn open(url: &str) -> Result<(), String> {
    if let Some(browser) = browser_variable() {
        // $BROWSER may be a colon-separated list; use the first entry.
        let first = browser
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        let (program, args): (String, Vec<String>) = if first.contains("%s") {
            let mut parts = first.split_whitespace().map(|p| p.replace("%s", url));
            (parts.next().unwrap_or_default(), parts.collect())
        } else {
            let mut parts = first.split_whitespace().map(str::to_string);
            let program = parts.next().unwrap_or_default();
            let mut args: Vec<String> = parts.collect();
            args.push(url.to_string());
            (program, args)
        };
        return Command::new(&program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(|_| ())
            .map_err(|e| format!("could not start $BROWSER ({program}): {e}"));
    }
    if !can_open() {
        return Err("there is no display to open a browser on".into());
    }
    open::that_detached(url).map_err(|e| format!("could not open a browser: {e}"))
}
