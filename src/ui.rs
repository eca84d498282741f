//! Terminal output: colour and symbols only on a terminal, `NO_COLOR` and
//! `--color` honoured, spinners only on an interactive stderr, `--quiet` and
//! `--verbose`. Messages go to stderr; stdout belongs to the data a command
//! produces (a token, JSON, an export), written through [`write_stdout`] so
//! that a reader that went away (`| head`) never makes st-setup panic.
//!
//! Every message goes through [`crate::printable::message`] on its way out:
//! whatever server, config or environment text it quotes, no control, bidi or
//! format character reaches the terminal. Then, on a terminal, through
//! [`crate::layout`], which wraps it to the terminal's width: write each
//! paragraph or step of a message as one line and it is laid out here.

use std::io::IsTerminal;
use std::time::Duration;

use console::style;

use crate::error::{Error, Result};
use crate::layout::{self, Stream};

/// One line on stderr: `prefix` (st-setup's own, styling included), then
/// `message` made printable, wrapped when stderr is a terminal. Without
/// `eprintln!`'s panic when stderr is a closed pipe: a diagnostic nobody can
/// read is dropped, and the command goes on.
fn stderr_line(prefix: &str, message: &str) {
    use std::io::Write;
    let message = crate::printable::message(message);
    let text = layout::for_stream(&format!("{prefix}{message}"), Stream::Stderr);
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Ui {
    verbose: bool,
    quiet: bool,
    fancy: bool,
    stdout_fancy: bool,
    /// Where the lines this Ui lays out go (stderr, or stdout after [`Ui::for_stdout`]).
    stream: Stream,
}

impl Ui {
    pub(crate) fn new(color: ColorChoice, verbose: bool, quiet: bool) -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let fancy = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && std::io::stderr().is_terminal(),
        };
        let stdout_color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && std::io::stdout().is_terminal(),
        };
        console::set_colors_enabled_stderr(fancy);
        console::set_colors_enabled(stdout_color);
        Ui {
            verbose,
            quiet,
            fancy,
            stdout_fancy: stdout_color,
            stream: Stream::Stderr,
        }
    }

    /// The same settings, styled for stdout (which may be a pipe while stderr is a terminal).
    pub(crate) fn for_stdout(&self) -> Ui {
        Ui {
            fancy: self.stdout_fancy,
            stream: Stream::Stdout,
            ..*self
        }
    }

    /// A Ui that prints plainly (for library callers and tests).
    pub(crate) fn plain() -> Ui {
        Ui {
            verbose: false,
            quiet: false,
            fancy: false,
            stdout_fancy: false,
            stream: Stream::Stderr,
        }
    }

    /// Colour and symbols are in use (stderr is a terminal, colour not disabled).
    pub(crate) fn fancy(&self) -> bool {
        self.fancy
    }

    pub(crate) fn verbose_line(&self, message: &str) {
        if self.verbose {
            stderr_line(&format!("{} ", style("[verbose]").dim()), message);
        }
    }

    /// Progress and explanations; silenced by `--quiet`.
    pub(crate) fn info(&self, message: &str) {
        if !self.quiet {
            stderr_line("", message);
        }
    }

    /// Part of a prompt (its explanation, a menu's details, the answer
    /// given), styled by the prompt's theme, whose untrusted parts were made
    /// printable where they were put in: shown even with `--quiet`, as the
    /// prompt itself is.
    pub(crate) fn prompt_line(&self, line: &str) {
        stderr_line(line, "");
    }

    /// A line st-setup styled itself (a step line of [`crate::verify`]), whose untrusted
    /// parts were made printable where they were put in; silenced by `--quiet`.
    pub(crate) fn styled_line(&self, line: &str) {
        if !self.quiet {
            stderr_line(line, "");
        }
    }

    pub(crate) fn heading(&self, message: &str) {
        if !self.quiet {
            let heading = style(crate::printable::message(message))
                .bold()
                .underlined();
            stderr_line(&format!("\n{heading}"), "");
        }
    }

    pub(crate) fn success(&self, message: &str) {
        if !self.quiet {
            stderr_line(&format!("{} ", self.symbol_ok()), message);
        }
    }

    /// Warnings are shown even with `--quiet`.
    pub(crate) fn warn(&self, message: &str) {
        stderr_line(&format!("{} ", style("warning:").yellow().bold()), message);
    }

    /// An error line, as `main` prints them.
    pub(crate) fn error(&self, message: &str) {
        stderr_line(&format!("{} ", style("error:").red().bold()), message);
    }

    pub(crate) fn symbol_ok(&self) -> String {
        if self.fancy {
            style("✓").green().to_string()
        } else {
            "ok:".to_string()
        }
    }

    /// A spinner on stderr while `message` is in progress; nothing when not a terminal.
    pub(crate) fn spinner(&self, message: &str) -> Spinner {
        if !self.fancy || self.quiet || !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(indicatif::ProgressStyle::default_spinner());
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner(Some(bar))
    }
}

impl Ui {
    /// The width output to this stream is wrapped to; `None` when it is not
    /// a terminal (nothing is re-wrapped).
    pub(crate) fn width(&self) -> Option<usize> {
        layout::width(self.stream)
    }
}

impl Ui {
    /// A progress bar on stderr for `total` items; nothing when not a
    /// terminal (or with `--quiet`), so logs and pipes stay clean.
    pub(crate) fn progress(&self, total: u64, message: &str) -> Progress {
        if !self.fancy || self.quiet || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} ({elapsed})")
        {
            bar.set_style(style);
        }
        bar.set_message(message.to_string());
        Progress(Some(bar))
    }
}

/// A progress bar that clears itself when dropped.
pub(crate) struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    pub(crate) fn inc(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

/// Clears itself when dropped.
pub(crate) struct Spinner(Option<indicatif::ProgressBar>);

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

/// Write to stdout; a reader that stops early (`| head`, `| true`) is not an
/// error, and other failures are reported instead of panicking as `println!` does.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(source) if source.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Local {
            action: "write to standard output",
            source,
        }),
        _ => Ok(()),
    }
}

/// One line of a command's result on stdout (see [`write_stdout`]), as it is.
pub(crate) fn stdout_line(line: &str) -> Result<()> {
    write_stdout(format!("{line}\n").as_bytes())
}

/// A line of prose on stdout (a report for people, not data): wrapped when
/// stdout is a terminal, as it is otherwise.
pub(crate) fn stdout_text(line: &str) -> Result<()> {
    stdout_line(&layout::for_stream(line, Stream::Stdout))
}
