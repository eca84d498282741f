//! Making untrusted text safe to print: anything a server, the config file or
//! the environment hands st-setup goes through here before it reaches a
//! terminal.
//!
//! Replaced by a visible escape (`\x1b`, `\n`, `\u{202e}`): C0 control
//! characters (tab and line breaks too, in a one-line value), DEL, C1
//! controls (U+0080..U+009F, which some terminals read as ESC sequences),
//! bidirectional controls (U+202A..U+202E, U+2066..U+2069, U+200E, U+200F,
//! U+061C), the line and paragraph separators and every other format
//! character (Unicode category Cf: zero-width spaces and joiners, U+FEFF, the
//! soft hyphen, tags, ...). So no escape sequence, window-title or clipboard
//! write (OSC 0, OSC 52), screen clear or reordering of the text can come
//! from outside; and a value is cut to a length, with a note of how much was
//! left out.

/// The longest one-line value printed in full (a tenant claim, a host).
pub(crate) const FIELD_CHARS: usize = 80;

/// `text` as one printable line of at most `max` of its characters; what is
/// cut is replaced by `…(N more characters)`.
pub(crate) fn field(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4) + 16);
    let mut chars = text.chars();
    for c in chars.by_ref().take(max) {
        push_visible(&mut out, c, false);
    }
    let rest = chars.count();
    if rest > 0 {
        out.push_str(&format!("…({rest} more characters)"));
    }
    out
}

/// A whole message that may hold untrusted text: every character [`field`]
/// replaces is replaced, except line breaks (`\n`), which a message may use
/// to start a new line. Not shortened: cap the untrusted parts with [`field`]
/// where they are put in.
pub(crate) fn message(text: &str) -> String {
    if !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        push_visible(&mut out, c, true);
    }
    out
}

/// A JSON document with every character [`field`] would replace written as a
/// `\uXXXX` escape: the same document for a JSON parser, but harmless when it
/// is shown on a terminal as it is (`st-setup list --json`). Such characters
/// can only stand inside JSON strings, where the escape means the same.
pub(crate) fn json(document: &str) -> String {
    let escaped = |c: char| is_unsafe(c) && !matches!(c, '\n' | '\t' | '\r');
    if !document.chars().any(escaped) {
        return document.to_string();
    }
    let mut out = String::with_capacity(document.len() + 16);
    for c in document.chars() {
        if escaped(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `c` must not reach a terminal as it is.
pub(crate) fn is_unsafe(c: char) -> bool {
    c.is_control() || is_format(c)
}

fn push_visible(out: &mut String, c: char, keep_newline: bool) {
    match c {
        '\n' if keep_newline => out.push('\n'),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 && is_unsafe(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        c => out.push(c),
    }
}

/// Unicode general category Cf (format), plus the line and paragraph
/// separators (Zl, Zp), as of Unicode 16.
fn is_format(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_controls_become_visible() {
        assert_eq!(
            field("8450\x1b]0;owned\x07\x1b[2J", 80),
            "8450\\x1b]0;owned\\x07\\x1b[2J"
        );
        assert_eq!(field("a\u{9b}31mb\x7f", 80), "a\\u{9b}31mb\\x7f");
        assert_eq!(field("one\ntwo\r\tthree", 80), "one\\ntwo\\r\\tthree");
        // OSC 52: a clipboard write.
        assert!(!field("\x1b]52;c;Y3VybA==\x07", 80).contains('\x1b'));
    }

    #[test]
    fn bidi_and_format_characters_become_visible() {
        for c in [
            '\u{202a}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{200e}',
            '\u{200f}',
            '\u{061c}',
            '\u{200b}',
            '\u{200d}',
            '\u{2060}',
            '\u{feff}',
            '\u{00ad}',
            '\u{2028}',
            '\u{2029}',
            '\u{e0041}',
        ] {
            let shown = field(&format!("x{c}y"), 80);
            assert!(!shown.contains(c), "{c:?} survived: {shown}");
            assert_eq!(shown, format!("x\\u{{{:x}}}y", c as u32));
        }
    }

    #[test]
    fn ordinary_text_is_kept() {
        for text in ["8450", "ak1.abc", "Zürich – 東京 😀", "a \"quoted\" {json}"] {
            assert_eq!(field(text, 80), text);
            assert_eq!(message(text), text);
        }
    }

    #[test]
    fn long_values_are_cut_with_a_note() {
        let long = "x".repeat(65_536);
        let shown = field(&long, 80);
        assert_eq!(shown, format!("{}…(65456 more characters)", "x".repeat(80)));
        assert_eq!(field("abc", 3), "abc");
    }

    #[test]
    fn a_message_keeps_its_lines_and_loses_the_rest() {
        assert_eq!(
            message("line one\nline \x1b[31mtwo\u{202e}"),
            "line one\nline \\x1b[31mtwo\\u{202e}"
        );
    }

    #[test]
    fn json_stays_the_same_document() {
        let value = serde_json::json!({"tenant": "a\u{9b}b\u{202e}c\u{7f}\u{e0041}", "n": "\n"});
        let text = serde_json::to_string_pretty(&value).unwrap();
        let safe = json(&text);
        assert!(!safe.chars().any(|c| is_unsafe(c) && c != '\n'), "{safe}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
            value
        );
    }
}
