//! Laying prose out to the width of the terminal it is printed on.
//!
//! Each line of a message is a paragraph. On a terminal it is wrapped to the
//! terminal's width (at most [`MAX_WIDTH`] columns, so lines stay readable;
//! `COLUMNS` where the size cannot be read), and its continuation lines hang
//! under where its text starts: after the indent and a list marker (`1.`,
//! `-`, `✓`), or after the label of an indented `label:  value` row.
//! A word is never split; a URL or a `command in backticks` is one word,
//! which goes on a line of its own when it does not fit, even if that line is
//! wider than the terminal; so is a line of shell to copy (an indented line
//! with a pipe ` | ` or a `$(`, as in the keyring's "ways on"). Output to a
//! pipe or a file is left as it is, so scripts see stable text.

use std::io::IsTerminal;

use textwrap::core::Word;

/// The widest a wrapped line gets, however wide the terminal.
pub(crate) const MAX_WIDTH: usize = 100;

/// Assumed for a terminal whose size cannot be read, without `COLUMNS`.
const DEFAULT_WIDTH: usize = 80;

/// Narrower than this, wrapping helps nobody: lines are laid out for this.
const NARROWEST: usize = 20;

/// The fewest columns left for text after a hanging indent; with less, the
/// continuation lines hang under the line's indent only.
const MIN_TEXT: usize = 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// The width to lay prose out in on `stream`, or `None` when it is not a
/// terminal (nothing is re-wrapped then).
pub(crate) fn width(stream: Stream) -> Option<usize> {
    let (term, is_terminal) = match stream {
        Stream::Stdout => (console::Term::stdout(), std::io::stdout().is_terminal()),
        Stream::Stderr => (console::Term::stderr(), std::io::stderr().is_terminal()),
    };
    if !is_terminal {
        return None;
    }
    let columns = term
        .size_checked()
        .map(|(_, columns)| usize::from(columns))
        .or_else(columns_variable)
        .unwrap_or(DEFAULT_WIDTH);
    Some(columns.clamp(NARROWEST, MAX_WIDTH))
}

/// `COLUMNS`, when it holds a positive number.
fn columns_variable() -> Option<usize> {
    let value = std::env::var("COLUMNS").ok()?;
    value.trim().parse().ok().filter(|&columns| columns > 0)
}

/// `text` laid out for `stream`: wrapped when it is a terminal, as it is otherwise.
pub(crate) fn for_stream(text: &str, stream: Stream) -> String {
    match width(stream) {
        Some(width) => wrap(text, width),
        None => text.to_string(),
    }
}

/// Every line of `text` wrapped to `width`, each hanging as [`hang`] finds.
pub(crate) fn wrap(text: &str, width: usize) -> String {
    text.split('\n')
        .map(|line| wrap_line(line, width, hang(line)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line wrapped to `width`, its continuation lines indented by `hang`
/// columns. Styling (ANSI sequences) takes no room.
pub(crate) fn wrap_line(line: &str, width: usize, hang: usize) -> String {
    if console::measure_text_width(line) <= width || is_shell(line) {
        return line.to_string();
    }
    let text = line.trim_start_matches(' ');
    let indent = &line[..line.len() - text.len()];
    let hang = if hang + MIN_TEXT <= width {
        hang
    } else if indent.len() + MIN_TEXT <= width {
        indent.len()
    } else {
        0
    };
    let continuation = " ".repeat(hang);
    let options = textwrap::Options::new(width)
        .initial_indent(indent)
        .subsequent_indent(&continuation)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .word_separator(textwrap::WordSeparator::Custom(words))
        .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit);
    let lines = textwrap::wrap(text, options);
    let mut out = String::with_capacity(line.len() + lines.len() * (hang + 1));
    for (at, wrapped) in lines.iter().enumerate() {
        if at > 0 {
            out.push('\n');
        }
        // A word too long for a line under the hang moves left, to the
        // line's own indent or the margin, before it goes past the edge.
        let word = wrapped.trim_start_matches(' ');
        if at > 0 && console::measure_text_width(wrapped) > width && words(word).count() == 1 {
            let room = width.saturating_sub(console::measure_text_width(word));
            out.push_str(&" ".repeat(if indent.len() <= room {
                indent.len()
            } else {
                0
            }));
            out.push_str(word);
        } else {
            out.push_str(wrapped);
        }
    }
    out
}

/// An indented line of shell for the user to copy as it is.
fn is_shell(line: &str) -> bool {
    let text = line.trim_start_matches(' ');
    text.len() < line.len()
        && list_marker(text).is_none()
        && (text.contains(" | ") || text.contains("$("))
}

/// Where the continuation lines of `line` start: after its indent and a
/// list marker (`1.`, `2)`, `-`, `*`, `•`, `✓`, `✗`, `?`), or, on an
/// indented line, after a label that ends in a colon or in two or more
/// spaces within [`MAX_LABEL`] columns; otherwise under the indent.
pub(crate) fn hang(line: &str) -> usize {
    let visible = console::strip_ansi_codes(line);
    let text = visible.trim_start_matches(' ');
    let indent = visible.len() - text.len();
    let after = |head: &str| {
        let rest = &text[head.len()..];
        let spaces = rest.len() - rest.trim_start_matches(' ').len();
        (spaces > 0 && !rest.trim().is_empty())
            .then(|| indent + console::measure_text_width(head) + spaces)
    };
    if let Some(marker) = list_marker(text)
        && let Some(hang) = after(marker)
    {
        return hang;
    }
    let label_end = [text.find("  "), text.find(": ").map(|at| at + 1)]
        .into_iter()
        .flatten()
        .min();
    if indent > 0
        && let Some(at) = label_end
        && console::measure_text_width(&text[..at]) <= MAX_LABEL
        && let Some(hang) = after(&text[..at])
    {
        return hang;
    }
    indent
}

/// The widest label column [`hang`] recognises.
const MAX_LABEL: usize = 24;

/// The list marker `text` starts with, if any.
fn list_marker(text: &str) -> Option<&str> {
    let digits = text.len() - text.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0 && digits <= 3 && matches!(text.as_bytes().get(digits), Some(b'.' | b')')) {
        return Some(&text[..digits + 1]);
    }
    let first = text.chars().next()?;
    matches!(first, '-' | '*' | '•' | '✓' | '✗' | '?').then(|| &text[..first.len_utf8()])
}

/// The words of a line: split at spaces, except inside a pair of backticks
/// (a command to copy stays whole). Each word keeps the spaces after it.
fn words(line: &str) -> Box<dyn Iterator<Item = Word<'_>> + '_> {
    let mut words = Vec::new();
    let mut start = 0;
    let mut in_command = false;
    let mut after_space = false;
    for (at, c) in line.char_indices() {
        if c == ' ' && !in_command {
            after_space = true;
            continue;
        }
        if after_space {
            words.push(Word::from(&line[start..at]));
            start = at;
            after_space = false;
        }
        if c == '`' && (in_command || line[at + 1..].contains('`')) {
            in_command = !in_command;
        }
    }
    if start < line.len() {
        words.push(Word::from(&line[start..]));
    }
    Box::new(words.into_iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widest(text: &str) -> usize {
        text.lines()
            .map(console::measure_text_width)
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn a_numbered_step_hangs_under_its_text() {
        let step = "  1. Sign in at https://developer.servicetitan.io/signin with your Production \
                    Environment login (production even for integration work).";
        let wrapped = wrap(step, 60);
        assert_eq!(
            wrapped,
            "  1. Sign in at https://developer.servicetitan.io/signin\n     \
             with your Production Environment login (production even\n     \
             for integration work)."
        );
    }

    #[test]
    fn words_are_never_split_and_text_is_kept() {
        let text = "Then it checks the four values with ServiceTitan and stores them: the Client \
                    Secret in your OS keyring, the rest in a config file.";
        for width in [20, 33, 60, 80] {
            let wrapped = wrap(text, width);
            assert!(widest(&wrapped) <= width, "{width}: {wrapped}");
            assert_eq!(
                wrapped.split_whitespace().collect::<Vec<_>>(),
                text.split_whitespace().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn a_long_url_or_command_stands_alone_and_whole() {
        let url = "https://developer.servicetitan.io/request-access/a-very-long-path-indeed";
        let text = format!("No portal access yet? Request it at {url}. Then come back.");
        let wrapped = wrap(&text, 40);
        assert!(wrapped.lines().any(|l| l == format!("{url}.")), "{wrapped}");
        let command = "`st-setup check --profile a-rather-long-profile-name`";
        let text = format!("Run {command} once the problem is fixed.");
        let wrapped = wrap(&text, 30);
        assert!(wrapped.lines().any(|l| l == command), "{wrapped}");
        // A word too long under the hang moves left to the line's indent.
        let path = "/settings/v2/tenant/8450/business-units.";
        let step = format!("  FAILED API access: the API refused on GET {path}");
        let wrapped = wrap_line(&step, 48, 21);
        assert_eq!(
            wrapped,
            format!("  FAILED API access: the API refused on GET\n  {path}")
        );
        // An indented line of shell is kept whole.
        let shell = "     printf '%s' \"$PASSWORD\" | gnome-keyring-daemon --replace --unlock";
        assert_eq!(wrap(shell, 40), shell);
        // A lone backtick does not glue the rest of the line together.
        let wrapped = wrap("a ` b c d e f g h i j k l m n o p q r s t u v w x y z", 20);
        assert!(widest(&wrapped) <= 20, "{wrapped}");
    }

    #[test]
    fn labels_and_marks_set_the_hang() {
        assert_eq!(hang("  production   your live tenant"), 15);
        assert_eq!(hang("  Stage 1  the Developer Portal"), 11);
        assert_eq!(hang("  Client Secret: stored in a file"), 17);
        assert_eq!(hang("  Link: https://go.servicetitan.com"), 8);
        assert_eq!(hang("error: the keyring: unreachable"), 0);
        assert_eq!(hang("  ✓ Saved"), 4);
        assert_eq!(hang("  12. step"), 6);
        assert_eq!(hang("plain prose  with two spaces"), 0);
        assert_eq!(hang("    indented prose"), 4);
        assert_eq!(hang("\x1b[32m✓\x1b[0m done"), 2);
    }

    #[test]
    fn styling_takes_no_room() {
        let line = format!(
            "{} the keyring could not be reached over D-Bus",
            "\x1b[31;1merror:\x1b[0m"
        );
        let wrapped = wrap(&line, 30);
        assert_eq!(widest(&wrapped), 28, "{wrapped}");
        assert!(wrapped.starts_with("\x1b[31;1merror:\x1b[0m the"));
    }

    #[test]
    fn short_lines_and_blank_lines_are_kept() {
        assert_eq!(wrap("\nshort\n\n  x", 40), "\nshort\n\n  x");
    }
}
