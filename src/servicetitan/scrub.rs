//! Server text made safe to show in an error message: an excerpt of a body,
//! printable and short, with every secret the request carried hidden in any
//! spelling and case (even a part of it), App Keys masked, and anything from
//! an `access_token` on cut off.
//!
//! Over 400 lines only with its unit tests (the code is about 340), which
//! try every spelling a secret can come back in.

/// The start of a body as printable text, for error messages: line breaks
/// and runs of spaces made one space, other control, bidi and format
/// characters shown as escapes (see [`crate::printable`]), cut to `max`
/// characters.
pub(crate) fn excerpt(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(max * 4)]);
    let flat: String = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .take(max)
        .collect();
    let mut out =
        crate::printable::field(&flat.split_whitespace().collect::<Vec<_>>().join(" "), max);
    if out.is_empty() {
        return "(empty body)".to_string();
    }
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

/// A short, printable excerpt of a server's text with every value in
/// `hidden` removed (every run of [`RUN`] of its characters, in any case and
/// any spelling a server might echo it back in: as sent, form-encoded,
/// JSON-escaped, HTML entities), anything shaped like an App Key masked, and
/// anything from an `access_token` on cut off.
///
/// The whole text is scrubbed before it is shortened, so a secret that would
/// straddle the cut cannot leave its first half behind.
pub(crate) fn scrubbed_excerpt(body: &[u8], hidden: &[&str], max: usize) -> String {
    let text = hide_token(String::from_utf8_lossy(body).into_owned());
    excerpt(mask_app_keys(&replace_hidden(text, hidden)).as_bytes(), max)
}

/// [`scrubbed_excerpt`] of `prefix`, the first bytes of a body that goes on
/// (one too large to read). A hidden value that the end of `prefix` cuts
/// through is not whole in it, so it cannot be found and replaced: the part
/// of it that was read is dropped instead.
pub(crate) fn scrubbed_prefix_excerpt(prefix: &[u8], hidden: &[&str], max: usize) -> String {
    let text = String::from_utf8_lossy(without_a_cut_last_char(prefix)).into_owned();
    // Whole values first: one that ends exactly at the cut is replaced, not
    // taken for the start of another.
    let mut text = replace_hidden(text, hidden);
    let cut = hidden
        .iter()
        .flat_map(|value| spellings(value))
        .flat_map(|spelling| {
            // Every proper start of the spelling that the text ends with.
            (1..spelling.len())
                .filter(|&n| spelling.is_char_boundary(n) && text.ends_with(&spelling[..n]))
                .max()
        })
        .max()
        .unwrap_or(0);
    text.truncate(text.len() - cut);
    excerpt(mask_app_keys(&hide_token(text)).as_bytes(), max)
}

/// `bytes` without a UTF-8 sequence that its end cuts through (which lossy
/// decoding would turn into U+FFFD, hiding what it was the start of).
fn without_a_cut_last_char(bytes: &[u8]) -> &[u8] {
    // The last byte that starts a character, at most 3 back (a 4-byte
    // sequence cut after its third byte).
    for back in 1..=bytes.len().min(3) {
        let at = bytes.len() - back;
        let byte = bytes[at];
        if byte & 0b1100_0000 == 0b1000_0000 {
            continue; // a continuation byte
        }
        let length = match byte {
            0b1111_1000.. => 1, // never in UTF-8: left to lossy decoding
            0b1111_0000.. => 4,
            0b1110_0000.. => 3,
            0b1100_0000.. => 2,
            _ => 1,
        };
        return if length > back { &bytes[..at] } else { bytes };
    }
    bytes
}

/// Everything from an `access_token` on cut off.
fn hide_token(mut text: String) -> String {
    if let Some(at) = text.find("access_token") {
        text.truncate(at);
        text.push_str("access_token…[rest hidden: it may hold a token]");
    }
    text
}

/// Every run of [`RUN`] or more characters of a value in `hidden` (the
/// whole value, when it is shorter) replaced with `[REDACTED]`, whatever its
/// case and however it is spelled: each character may stand as itself,
/// form-encoded (`%2F`), JSON-escaped (`\/`, `\u002f`) or as an HTML entity
/// (`&#47;`, `&#x2F;`, `&sol;`), mixed in any way.
fn replace_hidden(text: String, hidden: &[&str]) -> String {
    let decoded = decode(&text);
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for value in hidden {
        let value: Vec<char> = value.chars().map(fold).collect();
        if value.is_empty() {
            continue;
        }
        let run = value.len().min(RUN);
        let windows: std::collections::HashSet<&[char]> = value.windows(run).collect();
        let starts: std::collections::HashSet<char> = windows.iter().map(|w| w[0]).collect();
        let chars: Vec<char> = decoded.iter().map(|d| d.0).collect();
        for (at, window) in chars.windows(run).enumerate() {
            if starts.contains(&window[0]) && windows.contains(window) {
                spans.push((decoded[at].1, decoded[at + run - 1].2));
            }
        }
    }
    if spans.is_empty() {
        return text;
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut shown_to = 0;
    let mut spans = spans.into_iter().peekable();
    while let Some((start, mut end)) = spans.next() {
        while let Some(&(next_start, next_end)) = spans.peek() {
            if next_start > end {
                break;
            }
            end = end.max(next_end);
            spans.next();
        }
        out.push_str(&text[shown_to..start.max(shown_to)]);
        out.push_str("[REDACTED]");
        shown_to = shown_to.max(end);
    }
    out.push_str(&text[shown_to..]);
    out
}

/// The shortest piece of a hidden value that is never shown.
pub(crate) const RUN: usize = 12;

/// One character for comparison: lower case.
fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// `text` read as a server might have encoded it: each character (folded
/// with [`fold`]) with the byte range of `text` it was spelled in.
fn decode(text: &str) -> Vec<(char, usize, usize)> {
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        let (c, len) = decode_one(&text[at..]).unwrap_or_else(|| {
            let c = text[at..].chars().next().unwrap_or('\0');
            (c, c.len_utf8())
        });
        out.push((fold(c), at, at + len));
        at += len;
    }
    out
}

/// An escaped character at the start of `rest`, and how many bytes spell it.
fn decode_one(rest: &str) -> Option<(char, usize)> {
    let b = rest.as_bytes();
    match b.first()? {
        b'%' => {
            // Percent-encoded UTF-8: one to four `%HH`.
            let first = hex_byte(rest.get(1..3)?)?;
            let len = match first {
                0x00..=0x7f => 1,
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                0xf0..=0xf7 => 4,
                _ => return None,
            };
            let mut utf8 = vec![first];
            for i in 1..len {
                let piece = rest.get(3 * i..3 * i + 3)?;
                utf8.push(hex_byte(piece.strip_prefix('%')?)?);
            }
            let c = std::str::from_utf8(&utf8).ok()?.chars().next()?;
            Some((c, 3 * len))
        }
        b'\\' => match b.get(1)? {
            b'u' => {
                let high = u32::from_str_radix(rest.get(2..6)?, 16).ok()?;
                if (0xd800..0xdc00).contains(&high) {
                    let low = rest.get(6..12)?.strip_prefix("\\u")?;
                    let low = u32::from_str_radix(low, 16).ok()?;
                    let c = char::decode_utf16([high as u16, low as u16]).next()?.ok()?;
                    Some((c, 12))
                } else {
                    Some((char::from_u32(high)?, 6))
                }
            }
            b'/' | b'\\' | b'"' | b'\'' => Some((b[1] as char, 2)),
            _ => None,
        },
        b'&' => {
            let end = b.iter().take(12).position(|&byte| byte == b';')?;
            let entity = &rest[1..end];
            let c = if let Some(hex) = entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
            {
                char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
            } else if let Some(decimal) = entity.strip_prefix('#') {
                char::from_u32(decimal.parse().ok()?)?
            } else {
                named_entity(entity)?
            };
            Some((c, end + 1))
        }
        _ => None,
    }
}

fn hex_byte(two: &str) -> Option<u8> {
    if two.len() != 2 {
        return None;
    }
    u8::from_str_radix(two, 16).ok()
}

/// The HTML named entities for the ASCII punctuation a value may hold.
fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "sol" => '/',
        "bsol" => '\\',
        "plus" => '+',
        "equals" => '=',
        "period" => '.',
        "lowbar" | "UnderBar" => '_',
        "hyphen" | "dash" => '-',
        "colon" => ':',
        "semi" => ';',
        "comma" => ',',
        "num" => '#',
        "percnt" => '%',
        "excl" => '!',
        "dollar" => '$',
        "lpar" => '(',
        "rpar" => ')',
        "ast" | "midast" => '*',
        "quest" => '?',
        "commat" => '@',
        "lsqb" | "lbrack" => '[',
        "rsqb" | "rbrack" => ']',
        "lcub" | "lbrace" => '{',
        "rcub" | "rbrace" => '}',
        "verbar" | "vert" => '|',
        "Hat" => '^',
        "grave" => '`',
        "tilde" => '~',
        _ => return None,
    })
}

/// Every value shaped like an App Key (`ak1.` and at least 8 letters and
/// digits, any case) shown masked as `ak1.****wxyz`: an API error that
/// echoes the request's headers must not print the key in full.
fn mask_app_keys(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut shown_to = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find("ak") {
        let start = from + found;
        let rest = &lower[start + 2..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let body_start = start + 2 + digits + 1;
        if digits == 0 || rest.as_bytes().get(digits) != Some(&b'.') {
            from = start + 2;
            continue;
        }
        let body = lower[body_start..]
            .bytes()
            .take_while(u8::is_ascii_alphanumeric)
            .count();
        let end = body_start + body;
        if body >= 8 {
            out.push_str(&text[shown_to..start]);
            out.push_str(&crate::credentials::mask_identifier(&text[start..end]));
            shown_to = end;
        }
        from = end.max(start + 2);
    }
    out.push_str(&text[shown_to..]);
    out
}

/// The ways a server might echo `value` back in one piece: as sent,
/// form-encoded, JSON-escaped (with and without escaped slashes, and every
/// character as `\uXXXX`), every character an HTML entity; each also in
/// lower case. None for an empty value. (For a body cut short: the end of
/// one of these is looked for at the cut.)
pub(super) fn spellings(value: &str) -> Vec<String> {
    if value.is_empty() {
        return Vec::new();
    }
    let form_encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let json_escaped = serde_json::to_string(value).unwrap_or_default();
    let json_escaped = json_escaped.trim_matches('"');
    let json_slashes = json_escaped.replace('/', "\\/");
    let json_unicode: String = value
        .encode_utf16()
        .map(|unit| format!("\\u{unit:04x}"))
        .collect();
    let html: String = value
        .chars()
        .map(|c| format!("&#x{:x};", c as u32))
        .collect();
    [
        value,
        &form_encoded,
        json_escaped,
        &json_slashes,
        &json_unicode,
        &html,
    ]
    .into_iter()
    .filter(|spelling| !spelling.is_empty())
    .flat_map(|spelling| [spelling.to_string(), spelling.to_lowercase()])
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_printable() {
        assert_eq!(
            excerpt(b"<html>\n<body>Bad gateway</body>", 200),
            "<html> <body>Bad gateway</body>"
        );
        assert_eq!(excerpt(b"", 10), "(empty body)");
        assert_eq!(excerpt(&[b'a'; 50], 10), "aaaaaaaaaa…");
        assert_eq!(excerpt(&[0xff, 0xfe, b'x'], 10), "��x");
    }

    const SECRET: &str = "cs1.prefixtestsecret0123456789abcdefghijklmnopqrstuvwxyz";

    /// No 6 consecutive characters of `secret` in `text`.
    #[track_caller]
    fn assert_no_piece_of(secret: &str, text: &str) {
        for at in 0..=secret.len() - 6 {
            let piece = &secret[at..at + 6];
            assert!(!text.contains(piece), "{piece:?} of the secret in {text:?}");
        }
    }

    #[test]
    fn a_value_cut_off_by_the_end_of_a_prefix_is_dropped_not_half_shown() {
        let body = format!("{}{SECRET} and more after it", "x".repeat(100));
        for cut in 100..body.len() {
            let shown = scrubbed_prefix_excerpt(&body.as_bytes()[..cut], &[SECRET], 120);
            assert_no_piece_of(SECRET, &shown);
            assert!(shown.starts_with("xxxxxxxxxx"), "{shown}");
        }
        // Whole in the prefix: replaced, and what follows still shown.
        let shown =
            scrubbed_prefix_excerpt(&body.as_bytes()[..100 + SECRET.len() + 4], &[SECRET], 120);
        assert!(shown.ends_with("x[REDACTED] and"), "{shown}");
    }

    #[test]
    fn a_cut_value_stays_hidden_when_redactions_before_it_bring_it_into_view() {
        // Each [REDACTED] is shorter than the secret it replaces, so a cut
        // one at the end moves within the 120 characters shown.
        let body = format!("{SECRET} {SECRET} {SECRET} ").repeat(3);
        for cut in 0..body.len() {
            let shown = scrubbed_prefix_excerpt(&body.as_bytes()[..cut], &[SECRET], 120);
            assert_no_piece_of(SECRET, &shown);
        }
    }

    #[test]
    fn a_cut_value_in_another_spelling_is_dropped_too() {
        let secret = "cs1.with/slash+plus0123456789abcdefghijklmnopqrstuvwxyz";
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let form = format!("client_secret={encoded}");
        let json = format!(r#"{{"client_secret":"{}"}}"#, secret.replace('/', "\\/"));
        let lower = format!("ECHO {}", secret.to_lowercase());
        for body in [form, json, lower] {
            for cut in 0..body.len() {
                let shown = scrubbed_prefix_excerpt(&body.as_bytes()[..cut], &[secret], 120);
                assert_no_piece_of("0123456789abcdefghijklmnopqrstuvwxyz", &shown);
                assert_no_piece_of("with/slash+plus", &shown);
            }
        }
    }

    #[test]
    fn a_character_cut_by_the_end_of_a_prefix_is_left_out() {
        let text = "a\u{e9}b\u{20ac}c\u{1f600}";
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let kept = without_a_cut_last_char(&bytes[..cut]);
            assert!(std::str::from_utf8(kept).is_ok(), "cut at {cut}: {kept:?}");
            assert!(cut - kept.len() < 4, "cut at {cut}: {kept:?}");
        }
        // Bytes that are not UTF-8 at all are left to lossy decoding.
        assert_eq!(without_a_cut_last_char(&[0xff, 0xfe]), &[0xff, 0xfe]);
        // A non-ASCII secret cut in the middle of a character.
        let secret = "cs1.\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}0123456789";
        let body = format!("{}{secret}", "x".repeat(10));
        for cut in 10..body.len() {
            let shown = scrubbed_prefix_excerpt(&body.as_bytes()[..cut], &[secret], 120);
            assert!(!shown.contains("cs1."), "cut at {cut}: {shown}");
            assert!(!shown.contains('\u{fffd}'), "cut at {cut}: {shown}");
        }
    }

    #[test]
    fn any_long_run_of_the_secret_is_hidden_in_any_case_and_spelling() {
        let secret = "cs1.Mixed/Case+Secret=0123456789abcdefghijklmnopqrst";
        let run40: String = secret.chars().skip(5).take(40).collect();
        let html_dec: String = secret.chars().map(|c| format!("&#{};", c as u32)).collect();
        let html_hex: String = secret
            .chars()
            .map(|c| format!("&#X{:X};", c as u32))
            .collect();
        let html_named = secret
            .replace('/', "&sol;")
            .replace('+', "&plus;")
            .replace('=', "&equals;");
        let json_unicode: String = secret
            .chars()
            .map(|c| format!("\\u{:04X}", c as u32))
            .collect();
        let form_upper: String = url::form_urlencoded::byte_serialize(secret.as_bytes())
            .collect::<String>()
            .to_uppercase();
        let twelve: String = secret.chars().skip(20).take(RUN).collect();
        for echoed in [
            secret.to_string(),
            secret.to_uppercase(),
            secret.to_lowercase(),
            run40.clone(),
            run40.to_uppercase(),
            html_dec,
            html_hex,
            html_named,
            json_unicode,
            form_upper,
            secret.replace('/', "\\/"),
            twelve,
        ] {
            let body = format!(r#"{{"error":"invalid_client","echo":"{echoed}","more":"x"}}"#);
            let shown = scrubbed_excerpt(body.as_bytes(), &[secret], 400);
            assert!(shown.contains("[REDACTED]"), "{echoed}: {shown}");
            let upper = shown.to_uppercase();
            for piece in secret.to_uppercase().as_bytes().windows(8) {
                let piece = std::str::from_utf8(piece).unwrap();
                assert!(!upper.contains(piece), "{piece} of {echoed} in {shown}");
            }
            assert!(shown.ends_with(r#"","more":"x"}"#), "{shown}");
        }
        // Eleven characters in a row are not a run: ordinary text stays.
        let eleven: String = secret.chars().skip(20).take(RUN - 1).collect();
        let shown = scrubbed_excerpt(eleven.as_bytes(), &[secret], 400);
        assert_eq!(shown, eleven);
    }

    #[test]
    fn an_echoed_app_key_is_masked() {
        let body = "GET /x HTTP/1.1\r\nST-App-Key: ak1.fakesandboxappkey00000001\r\nAccept: */*";
        let shown = scrubbed_excerpt(body.as_bytes(), &[], 200);
        assert!(!shown.contains("fakesandbox"), "{shown}");
        assert!(shown.contains("ST-App-Key: ak1.****0001"), "{shown}");
        let shown = scrubbed_excerpt(b"key=AK1.FAKESANDBOXAPPKEY00000001;", &[], 200);
        assert!(shown.contains("key=AK1.****0001;"), "{shown}");
        // Not an App Key: kept.
        for text in ["break1.x", "ak1.short", "tasks: ak.1"] {
            assert_eq!(scrubbed_excerpt(text.as_bytes(), &[], 200), text);
        }
    }

    #[test]
    fn server_text_cannot_reach_the_terminal_as_escapes() {
        let body = "title\u{1b}]52;c;cHduZWQ=\u{7}\u{9b}2J\u{202e}\u{2066}\u{200f}end";
        let shown = scrubbed_excerpt(body.as_bytes(), &[], 200);
        assert!(!shown.chars().any(crate::printable::is_unsafe), "{shown:?}");
        assert!(shown.starts_with("title\\x1b]52;"), "{shown}");
    }
}
