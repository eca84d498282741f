//! Prompts for the wizard: a value is asked for until it passes the hard rules,
//! and a value with an unexpected shape is only kept if the user says so.
//!
//! Every prompt fits the terminal, so that redrawing it leaves no stale line:
//! a menu whose entries are too wide lists their details above it and offers
//! the labels alone (shortened if even they do not fit), and a prompt whose
//! line is too wide shows its "(explanation)" on a line of its own.

use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, Password, Select};

use crate::credentials::{self, ClientSecret, Field};
use crate::error::Result;
use crate::layout::{self, Stream};
use crate::ui::Ui;

/// A menu entry: what to pick, and what it means (after it on its line when
/// that fits the terminal, listed above the menu otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Choice {
    pub(crate) label: String,
    pub(crate) detail: Option<String>,
}

impl Choice {
    pub(crate) fn new(label: impl Into<String>) -> Choice {
        Choice {
            label: label.into(),
            detail: None,
        }
    }

    pub(crate) fn with_detail(label: impl Into<String>, detail: impl Into<String>) -> Choice {
        Choice {
            label: label.into(),
            detail: Some(detail.into()),
        }
    }
}

/// A menu entry written as one line: `label   detail` (a column of two or
/// more spaces) or `label (detail)`; otherwise all label.
impl From<&str> for Choice {
    fn from(item: &str) -> Choice {
        let item = item.trim();
        if let Some((label, detail)) = item.split_once("  ") {
            return Choice::with_detail(label, detail.trim_start());
        }
        match item.strip_suffix(')').and_then(|i| i.split_once(" (")) {
            Some((label, detail)) => Choice::with_detail(label, format!("({detail})")),
            None => Choice::new(item),
        }
    }
}

impl From<String> for Choice {
    fn from(item: String) -> Choice {
        Choice::from(item.as_str())
    }
}

impl From<&String> for Choice {
    fn from(item: &String) -> Choice {
        Choice::from(item.as_str())
    }
}

/// Columns a menu entry takes besides its text: the `> ` or `❯ ` before it,
/// and the terminal's last column (writing into it wraps on some terminals).
const MENU_ITEM_EXTRA: usize = 3;

/// The fewest columns a prompt's own words are wrapped in (see [`Prompter::fit_prompt`]).
const MIN_PROMPT_ROOM: usize = 20;

/// A menu's lines for entries `room` columns wide (`None`: any width):
/// `label  detail` when every one fits; otherwise the labels alone (cut
/// with `…` if even they do not fit), and the details as lines to print
/// above the menu. Returns (details, items).
fn menu_layout(choices: &[Choice], room: Option<usize>) -> (Vec<String>, Vec<String>) {
    let detailed: Vec<&Choice> = choices.iter().filter(|c| c.detail.is_some()).collect();
    let column = match detailed.len() {
        0 | 1 => 0,
        _ => detailed
            .iter()
            .map(|c| console::measure_text_width(&c.label) + 1)
            .max()
            .unwrap_or(0),
    };
    let full = |choice: &Choice| match &choice.detail {
        Some(detail) => format!("{:<column$} {detail}", choice.label),
        None => choice.label.clone(),
    };
    let items: Vec<String> = choices.iter().map(full).collect();
    if room.is_none_or(|room| items.iter().all(|i| console::measure_text_width(i) <= room)) {
        return (Vec::new(), items);
    }
    let details = detailed.iter().map(|c| format!("  {}", full(c))).collect();
    let labels = choices.iter().map(|c| fit_label(&c.label, room)).collect();
    (details, labels)
}

fn fit_label(label: &str, room: Option<usize>) -> String {
    match room {
        Some(room) => console::truncate_str(label, room, "…").into_owned(),
        None => label.to_string(),
    }
}

pub(crate) struct Prompter {
    ui: Ui,
    theme: Box<dyn Theme>,
}

impl Prompter {
    pub(crate) fn new(ui: Ui) -> Prompter {
        let theme: Box<dyn Theme> = if ui.fancy() {
            Box::new(ColorfulTheme::default())
        } else {
            Box::new(SimpleTheme)
        };
        Prompter { ui, theme }
    }

    pub(crate) fn text(&self, prompt: &str, default: Option<&str>) -> Result<String> {
        // A stored value the terminal cannot show as it is (planted in the
        // config file) is not offered: it would fail validation anyway.
        let default = default.filter(|d| !d.chars().any(crate::printable::is_unsafe));
        let prompt = self.fit_prompt(prompt, |theme, f, prompt| {
            theme.format_input_prompt(f, prompt, default)
        });
        let mut input = Input::<String>::with_theme(self.theme.as_ref()).with_prompt(prompt);
        if let Some(d) = default {
            input = input.default(d.to_string());
        }
        Ok(input.interact_text()?)
    }

    pub(crate) fn confirm(&self, prompt: &str, default: bool) -> Result<bool> {
        let prompt = self.fit_prompt(prompt, |theme, f, prompt| {
            theme.format_confirm_prompt(f, prompt, Some(default))
        });
        Ok(Confirm::with_theme(self.theme.as_ref())
            .with_prompt(prompt)
            .default(default)
            .interact()?)
    }

    /// A menu of `choices` ([`Choice`]s, or lines such as `label   detail`);
    /// returns the index of the one taken. The answer line left behind names
    /// the choice's label.
    pub(crate) fn select<C>(&self, prompt: &str, choices: &[C], default: usize) -> Result<usize>
    where
        C: Clone + Into<Choice>,
    {
        let choices: Vec<Choice> = choices.iter().cloned().map(Into::into).collect();
        let items = self.menu_items(&choices);
        let index = Select::with_theme(self.theme.as_ref())
            .with_prompt(prompt)
            .items(&items)
            .default(default)
            .report(false)
            .interact()?;
        let mut answer = String::new();
        let _ = self.theme.format_select_prompt_selection(
            &mut answer,
            prompt,
            &crate::printable::message(&self.fit_label(&choices[index].label)),
        );
        self.ui.prompt_line(&answer);
        Ok(index)
    }

    /// The menu's lines, with the details listed first when they do not fit.
    fn menu_items(&self, choices: &[Choice]) -> Vec<String> {
        let (details, items) = menu_layout(choices, self.menu_room());
        for line in details {
            self.ui.prompt_line(&crate::printable::message(&line));
        }
        items
    }

    /// `label`, shortened with `…` if even it does not fit in a menu.
    fn fit_label(&self, label: &str) -> String {
        fit_label(label, self.menu_room())
    }

    /// Columns for the text of a menu entry (`None`: not a terminal).
    fn menu_room(&self) -> Option<usize> {
        layout::width(Stream::Stderr).map(|w| w.saturating_sub(MENU_ITEM_EXTRA).max(1))
    }

    /// `prompt`, or, when its line (as `format` draws it) would not fit the
    /// terminal: the part before a closing `(explanation)`, with the
    /// explanation printed on a line of its own first; or else the last line
    /// of the prompt wrapped, with the lines before it printed first.
    fn fit_prompt(
        &self,
        prompt: &str,
        format: impl Fn(&dyn Theme, &mut String, &str) -> std::fmt::Result,
    ) -> String {
        let Some(width) = layout::width(Stream::Stderr) else {
            return prompt.to_string();
        };
        let drawn = |prompt: &str| {
            let mut line = String::new();
            let _ = format(self.theme.as_ref(), &mut line, prompt);
            console::measure_text_width(&line)
        };
        // The cursor, and what is typed, need a column after the prompt.
        if drawn(prompt) < width {
            return prompt.to_string();
        }
        if let Some((short, explanation)) =
            prompt.strip_suffix(')').and_then(|p| p.split_once(" ("))
            && drawn(short) < width
        {
            self.ui
                .prompt_line(&crate::printable::message(&format!("({explanation})")));
            return short.to_string();
        }
        let room = width.saturating_sub(drawn(prompt) - console::measure_text_width(prompt) + 1);
        // What the theme adds (a long default) leaves no room worth wrapping in.
        if room < MIN_PROMPT_ROOM {
            return prompt.to_string();
        }
        let wrapped = layout::wrap_line(prompt, room, 0);
        let (last, before) = match wrapped.rsplit_once('\n') {
            Some((before, last)) => (last, Some(before)),
            None => (wrapped.as_str(), None),
        };
        if let Some(before) = before {
            self.ui.prompt_line(&crate::printable::message(before));
        }
        last.to_string()
    }

    /// Ask for `field` until the value passes its checks (or the user keeps an
    /// unusual-looking value on purpose). `default` is the current value.
    pub(crate) fn field(&self, field: Field, default: Option<&str>) -> Result<String> {
        loop {
            let raw = self.visible_text(field.label(), default)?;
            // A value that looks like a Client Secret is refused here
            // (credentials::check), never kept after "use anyway?": every
            // field but the secret is shown and stored in plain text.
            match credentials::check(field, &raw) {
                Err(problem) => self.ui.warn(&problem),
                Ok(checked) => {
                    // Show what is kept, not the paste (quotes, spaces, a newline).
                    if checked.value != raw.as_str() {
                        self.replace_answer(field.label(), &raw, &checked.value);
                    }
                    match checked.warning {
                        None => return Ok(checked.value),
                        Some(warning) => {
                            self.ui.warn(&warning);
                            if self.confirm("Use this value anyway?", false)? {
                                return Ok(checked.value);
                            }
                        }
                    }
                }
            }
        }
    }

    /// Ask for a value typed in the open (not the secret). An answer that
    /// looks like a Client Secret is taken off the screen at once (the
    /// terminal echoed it while it was typed); the caller refuses it.
    pub(crate) fn visible_text(
        &self,
        label: &str,
        default: Option<&str>,
    ) -> Result<zeroize::Zeroizing<String>> {
        let raw = zeroize::Zeroizing::new(self.text(label, default)?);
        if credentials::looks_like(credentials::clean_pasted(&raw)) == Some(Field::ClientSecret) {
            self.replace_answer(label, &raw, "(hidden: it looks like a Client Secret)");
        }
        Ok(raw)
    }

    /// Replace the answer line the prompt left ("✔ label · raw") with
    /// "✔ label · shown". The line wraps on a narrow terminal: every row it
    /// takes is cleared, so no part of the raw answer stays on screen.
    fn replace_answer(&self, label: &str, raw: &str, shown: &str) {
        let term = console::Term::stderr();
        let width = usize::from(term.size().1).max(1);
        let mut answered = String::new();
        let _ = self
            .theme
            .format_input_prompt_selection(&mut answered, label, raw);
        let rows = console::measure_text_width(&answered)
            .div_ceil(width)
            .max(1);
        let _ = term.clear_last_lines(rows);
        let mut line = String::new();
        let _ = self
            .theme
            .format_input_prompt_selection(&mut line, label, shown);
        self.ui.prompt_line(&line);
    }

    /// Ask for the Client Secret with hidden input. With a stored secret,
    /// an empty answer keeps it (`None`).
    pub(crate) fn secret(&self, has_stored: bool) -> Result<Option<ClientSecret>> {
        let prompt = if has_stored {
            "Client Secret (hidden; press Enter to keep the stored one)"
        } else {
            "Client Secret (hidden)"
        };
        let prompt = self.fit_prompt(prompt, |theme, f, prompt| {
            theme.format_password_prompt(f, prompt)
        });
        loop {
            let raw = zeroize::Zeroizing::new(
                Password::with_theme(self.theme.as_ref())
                    .with_prompt(prompt.as_str())
                    .allow_empty_password(true)
                    .interact()?,
            );
            if has_stored && raw.trim().is_empty() {
                return Ok(None);
            }
            match credentials::check(Field::ClientSecret, &raw) {
                Err(problem) => self.ui.warn(&problem),
                Ok(checked) => {
                    let value = ClientSecret::new(checked.value);
                    match checked.warning {
                        None => return Ok(Some(value)),
                        Some(warning) => {
                            self.ui.warn(&warning);
                            if self.confirm("Use this value anyway?", false)? {
                                return Ok(Some(value));
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_menu_line_splits_into_label_and_detail() {
        assert_eq!(
            Choice::from("production   your live tenant"),
            Choice::with_detail("production", "your live tenant")
        );
        assert_eq!(
            Choice::from("Switch and try again (it worked there)"),
            Choice::with_detail("Switch and try again", "(it worked there)")
        );
        assert_eq!(Choice::from("Quit"), Choice::new("Quit"));
    }

    #[test]
    fn details_that_do_not_fit_go_above_the_menu() {
        let choices = [
            Choice::with_detail("production", "your live ServiceTitan tenant"),
            Choice::with_detail("integration", "a test tenant, for building and testing"),
            Choice::new("Quit"),
        ];
        let (details, items) = menu_layout(&choices, Some(80));
        assert!(details.is_empty());
        assert_eq!(items[0], "production   your live ServiceTitan tenant");
        assert_eq!(items[2], "Quit");
        let (details, items) = menu_layout(&choices, Some(40));
        assert_eq!(items, ["production", "integration", "Quit"]);
        assert_eq!(
            details,
            [
                "  production   your live ServiceTitan tenant",
                "  integration  a test tenant, for building and testing"
            ]
        );
        // Even a label too wide is cut, so that no entry wraps.
        let (_, items) = menu_layout(&[Choice::new("x".repeat(50))], Some(20));
        assert_eq!(console::measure_text_width(&items[0]), 20);
        assert!(items[0].ends_with('…'));
    }
}
