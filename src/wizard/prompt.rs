//! Prompts for the wizard: a value is asked for until it passes the hard rules,
//! and a value with an unexpected shape is only kept if the user says so.

use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, Password, Select};

use crate::credentials::{self, ClientSecret, Field};
use crate::error::Result;
use crate::ui::Ui;

pub struct Prompter {
    ui: Ui,
    theme: Box<dyn Theme>,
}

impl Prompter {
    pub fn new(ui: Ui) -> Prompter {
        let theme: Box<dyn Theme> = if ui.fancy() {
            Box::new(ColorfulTheme::default())
        } else {
            Box::new(SimpleTheme)
        };
        Prompter { ui, theme }
    }

    pub fn text(&self, prompt: &str, default: Option<&str>) -> Result<String> {
        let mut input = Input::<String>::with_theme(self.theme.as_ref()).with_prompt(prompt);
        // A stored value the terminal cannot show as it is (planted in the
        // config file) is not offered: it would fail validation anyway.
        if let Some(d) = default.filter(|d| !d.chars().any(crate::printable::is_unsafe)) {
            input = input.default(d.to_string());
        }
        Ok(input.interact_text()?)
    }

    pub fn confirm(&self, prompt: &str, default: bool) -> Result<bool> {
        Ok(Confirm::with_theme(self.theme.as_ref())
            .with_prompt(prompt)
            .default(default)
            .interact()?)
    }

    pub fn select(&self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        Ok(Select::with_theme(self.theme.as_ref())
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact()?)
    }

    /// Ask for `field` until the value passes its checks (or the user keeps an
    /// unusual-looking value on purpose). `default` is the current value.
    pub fn field(&self, field: Field, default: Option<&str>) -> Result<String> {
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
    pub fn visible_text(
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
        self.ui.info(&line);
    }

    /// Ask for the Client Secret with hidden input. With a stored secret,
    /// an empty answer keeps it (`None`).
    pub fn secret(&self, has_stored: bool) -> Result<Option<ClientSecret>> {
        let prompt = if has_stored {
            "Client Secret (hidden; press Enter to keep the stored one)"
        } else {
            "Client Secret (hidden)"
        };
        loop {
            let raw = zeroize::Zeroizing::new(
                Password::with_theme(self.theme.as_ref())
                    .with_prompt(prompt)
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
