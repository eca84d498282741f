//! The real binary in a pseudo-terminal of a chosen size, and what a person
//! would see of its output: the lines it put on the screen, with escape
//! sequences taken out.

#![allow(dead_code)]

use std::process::Command;

use rexpect::ReadUntil;
use rexpect::session::{PtySession, spawn_command};

use super::cmd::Cmd;

pub const TIMEOUT_MS: u64 = 20_000;

/// What the wizard tests use unless they test the layout: wide enough
/// (st-setup lays prose out in at most 100 columns) that no asserted phrase
/// is wrapped.
pub const WIDE: u16 = 160;

/// Run `cmd` in a pseudo-terminal `columns` wide and 40 rows high, or, with
/// `None`, of size 0x0 (which a program cannot read as a size).
pub fn in_terminal_sized(cmd: Cmd, columns: Option<u16>) -> PtySession {
    let mut command: Command = cmd.command();
    command.env("TERM", "xterm");
    if let Some(columns) = columns {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only ioctl(2) runs, on the child's
        // standard input, which rexpect has made the terminal.
        unsafe {
            command.pre_exec(move || {
                let size = libc::winsize {
                    ws_row: 40,
                    ws_col: columns,
                    ws_xpixel: 0,
                    ws_ypixel: 0,
                };
                if libc::ioctl(0, libc::TIOCSWINSZ, &size) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    spawn_command(command, Some(TIMEOUT_MS)).expect("spawn in a pty")
}

/// Wait for `expect`, keeping everything printed on the way in `printed`.
/// A space in `expect` also matches a line break st-setup wrapped there.
pub fn step(s: &mut PtySession, printed: &mut String, expect: &str) {
    let (before, matched) = s
        .exp_regex(&regex_escape(expect).replace(' ', r"\s+"))
        .unwrap_or_else(|e| panic!("waiting for {expect:?}: {e}\nprinted so far:\n{printed}"));
    printed.push_str(&before);
    printed.push_str(&matched);
}

/// Type keys that a prompt reads one at a time (rexpect buffers until flushed).
pub fn keys(s: &mut PtySession, text: &str) {
    s.send(text).unwrap();
    s.flush().unwrap();
}

pub fn regex_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The runs of text `printed` writes from one line start (or cursor move)
/// to the next, styling taken out: each is as wide as the screen line it
/// was written on, when the cursor was at the line's start. A run that
/// starts after a cursor move mid-line (a prompt's redrawn answer) may be
/// narrower than its line; st-setup's own prose is written at line starts.
pub fn screen_runs(printed: &str) -> Vec<String> {
    let printed = utf8(printed);
    let mut runs = vec![String::new()];
    let mut chars = printed.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\r' => runs.push(String::new()),
            '\x1b' => {
                // CSI: ESC [ parameters final; SGR (final `m`) is only style.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    let mut last = 'm';
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            last = c;
                            break;
                        }
                    }
                    if last != 'm' {
                        runs.push(String::new());
                    }
                } else {
                    chars.next();
                    runs.push(String::new());
                }
            }
            c if c.is_control() => {}
            c => runs.last_mut().unwrap().push(c),
        }
    }
    runs.retain(|r| !r.trim().is_empty());
    runs
}

/// rexpect hands over what the terminal showed one byte per character:
/// the bytes again as UTF-8 (text that is already, as from a pipe, is kept).
pub fn utf8(printed: &str) -> String {
    let bytes: Option<Vec<u8>> = printed
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect();
    match bytes {
        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        None => printed.to_string(),
    }
}

/// Fails the test if a run of `printed` is wider than `columns`, unless it
/// holds only a URL, only a command in backticks, or a line of shell to
/// copy (one with a pipe ` | ` or a `$(`). Runs that hold something
/// `typed` are the person's own typing, echoed, and not checked.
#[track_caller]
pub fn assert_fits(printed: &str, columns: usize, typed: &[&str], what: &str) {
    for run in screen_runs(printed) {
        // Trailing blanks (a spinner pads its line) show nothing.
        let width = console::measure_text_width(run.trim_end());
        if width <= columns || typed.iter().any(|t| run.contains(t)) {
            continue;
        }
        let text = run.trim();
        let token = text
            .trim_start_matches('(')
            .trim_end_matches(['.', ',', ';', ':', ')']);
        let url =
            (token.starts_with("https://") || token.starts_with("http://")) && !token.contains(' ');
        let command = token.starts_with('`') && token.ends_with('`') && token.len() > 1;
        let shell = text.contains(" | ") || text.contains("$(");
        assert!(
            url || command || shell,
            "{what}: a line of {width} columns in a terminal of {columns}:\n{run}\n\
             --- everything printed ---\n{}",
            screen_runs(printed).join("\n")
        );
    }
}

/// The words of `printed` from the first `from` to the end of the next
/// `to` after it (each a phrase, found word by word, wherever it was wrapped).
pub fn words_between(printed: &str, from: &str, to: &str) -> Vec<String> {
    let text = screen_runs(printed).join("\n");
    let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    let find = |phrase: &str, after: usize| {
        let phrase: Vec<&str> = phrase.split_whitespace().collect();
        (after..words.len().saturating_sub(phrase.len() - 1))
            .find(|&at| phrase.iter().zip(&words[at..]).all(|(p, w)| p == w))
            .map(|at| at + phrase.len())
    };
    let start = find(from, 0).unwrap_or_else(|| panic!("{from:?} not printed:\n{text}"))
        - from.split_whitespace().count();
    let end =
        find(to, start).unwrap_or_else(|| panic!("{to:?} not printed after {from:?}:\n{text}"));
    words[start..end].to_vec()
}

/// The question `init` asks after each saved profile.
pub const ANOTHER_TENANT: &str = "Connect another tenant to the same app?";

/// Everything the session printed from now until it ends (which it must,
/// within the timeout), answering "no" when `init` offers another tenant.
pub fn rest_of_output(session: &mut PtySession) -> String {
    let mut printed = String::new();
    loop {
        let (before, matched) = session
            .exp_any(vec![
                ReadUntil::String(ANOTHER_TENANT.into()),
                ReadUntil::EOF,
            ])
            .unwrap_or_else(|e| panic!("waiting for the program to end: {e}\n{printed}"));
        printed.push_str(&before);
        printed.push_str(&matched);
        if matched != ANOTHER_TENANT {
            return printed;
        }
        keys(session, "n");
    }
}
