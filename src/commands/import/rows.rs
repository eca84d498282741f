//! `import`'s rows: reading the file (bounded, UTF-8, wiped when dropped),
//! parsing it as CSV or JSON Lines, and checking every row, with all the
//! problems at once and their lines, before anything is verified or stored.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use clap::ValueEnum;
use zeroize::Zeroizing;

use super::{COLUMNS, ImportArgs, ImportFormat, MAX_FILE_BYTES};
use crate::credentials::{self, ClientSecret, Field};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::printable;
use crate::profile::check_name;

/// One row as written in the file.
#[derive(Default)]
pub(super) struct RawRow {
    pub(super) line: u64,
    pub(super) cells: HashMap<&'static str, Zeroizing<String>>,
}

impl RawRow {
    pub(super) fn cell(&self, column: &str) -> &str {
        self.cells.get(column).map_or("", |v| v.trim())
    }
}

/// A row that passed every check.
pub(super) struct Row {
    pub(super) line: u64,
    pub(super) profile: String,
    pub(super) environment: Environment,
    pub(super) tenant_id: String,
    pub(super) app_key: String,
    pub(super) client_id: String,
    /// `None`: empty in the file, to be asked for.
    pub(super) client_secret: Option<ClientSecret>,
}

/// `.jsonl` / `.ndjson` are JSON Lines; anything else (and stdin) is CSV.
pub(super) fn format_of(path: &Path) -> ImportFormat {
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("jsonl") || ext.eq_ignore_ascii_case("ndjson") => {
            ImportFormat::Jsonl
        }
        _ => ImportFormat::Csv,
    }
}

pub(super) fn shown_path(path: &Path) -> String {
    printable::field(&path.to_string_lossy(), 200)
}

/// The whole file (or stdin), refused past [`MAX_FILE_BYTES`] or when it is
/// not UTF-8; the buffer is wiped when dropped (it holds secrets).
pub(super) fn read_bounded(path: &Path, from_stdin: bool) -> Result<Zeroizing<String>> {
    let unreadable =
        |e: std::io::Error| Error::Usage(format!("could not read {}: {e}", shown_path(path)));
    // Sized up front for a file, so that growing the buffer leaves no
    // unwiped copy of the secrets behind (stdin may still grow it).
    let mut size_hint = 64 * 1024;
    let reader: Box<dyn Read> = if from_stdin {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(unreadable)?;
        let meta = file.metadata().map_err(unreadable)?;
        if !meta.is_file() {
            return Err(Error::Usage(format!(
                "{} is not a regular file: give the CSV or JSON Lines file (or - for standard input).",
                shown_path(path)
            )));
        }
        size_hint = meta.len().min(MAX_FILE_BYTES) as usize + 1;
        Box::new(file)
    };
    let mut bytes = Zeroizing::new(Vec::with_capacity(size_hint));
    reader
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::Usage(format!(
            "{} is larger than {} MiB: split it into smaller files.",
            shown_path(path),
            MAX_FILE_BYTES / 1024 / 1024
        )));
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(
            text.trim_start_matches('\u{feff}').to_string(),
        )),
        Err(e) => Err(Error::Usage(format!(
            "{} is not UTF-8 text (byte {}): save it as UTF-8 CSV or JSON Lines.",
            shown_path(path),
            e.valid_up_to()
        ))),
    }
}

pub(super) fn malformed(problems: Vec<String>) -> Error {
    Error::Usage(format!(
        "the file has {} problem{}, so nothing was stored:\n{}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems
            .iter()
            .map(|p| format!("  {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    ))
}

pub(super) fn parse_csv(text: &str) -> Result<Vec<RawRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| malformed(vec![format!("line 1: {}", csv_problem(&e))]))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut problems = header_problems(&header);
    if !problems.is_empty() {
        return Err(malformed(problems));
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                problems.push(format!("line {line}: {}", csv_problem(&e)));
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if record.len() != header.len() {
            problems.push(format!(
                "line {line}: {} cells, but the header has {}",
                record.len(),
                header.len()
            ));
            continue;
        }
        let mut row = RawRow {
            line,
            ..RawRow::default()
        };
        for (name, value) in header.iter().zip(record.iter()) {
            if let Some(column) = COLUMNS.iter().find(|c| *c == name) {
                row.cells.insert(column, Zeroizing::new(value.to_string()));
            }
        }
        rows.push(row);
    }
    // The csv reader's own buffers held the secrets too and are not wiped:
    // a limit of the crate, noted in SECURITY.md.
    drop(record);
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(malformed(problems))
    }
}

/// A CSV error in words, without the cell contents it may quote.
pub(super) fn csv_problem(err: &csv::Error) -> String {
    match err.kind() {
        csv::ErrorKind::Utf8 { .. } => "a cell is not UTF-8 text".into(),
        csv::ErrorKind::UnequalLengths { .. } => "the row has a different number of cells".into(),
        _ => "the row is not valid CSV (an unclosed quote?)".into(),
    }
}

/// The header must name the six columns, each once, and nothing else.
pub(super) fn header_problems(header: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, name) in header.iter().enumerate() {
        if !COLUMNS.contains(&name.as_str()) {
            problems.push(format!(
                "line 1: unknown column {:?}; the header is {}",
                printable::field(name, 40),
                COLUMNS.join(",")
            ));
        } else if header[..i].contains(name) {
            problems.push(format!("line 1: column {name} appears twice"));
        }
    }
    for column in COLUMNS {
        if !header.iter().any(|h| h == column) {
            problems.push(format!(
                "line 1: the header lacks the column {column}; it is {}",
                COLUMNS.join(",")
            ));
        }
    }
    problems
}

pub(super) fn parse_jsonl(text: &str) -> Result<Vec<RawRow>> {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = index as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let object: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(line) {
            Ok(object) => object,
            Err(_) => {
                problems.push(format!(
                    "line {line_number}: not a JSON object with the keys {}",
                    COLUMNS.join(", ")
                ));
                continue;
            }
        };
        let mut row = RawRow {
            line: line_number,
            ..RawRow::default()
        };
        for (key, value) in object {
            let Some(column) = COLUMNS.iter().find(|c| **c == key) else {
                problems.push(format!(
                    "line {line_number}: unknown key {:?}; the keys are {}",
                    printable::field(&key, 40),
                    COLUMNS.join(", ")
                ));
                continue;
            };
            match value {
                serde_json::Value::String(s) => {
                    row.cells.insert(column, Zeroizing::new(s));
                }
                serde_json::Value::Null => {}
                serde_json::Value::Number(n) if *column == "tenant_id" => {
                    row.cells.insert(column, Zeroizing::new(n.to_string()));
                }
                _ => problems.push(format!("line {line_number}: {key} must be a string")),
            }
        }
        rows.push(row);
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(malformed(problems))
    }
}

/// What empty cells default to.
pub(super) struct Defaults {
    pub(super) environment: Option<Environment>,
    pub(super) app_key: Option<String>,
}

impl Defaults {
    pub(super) fn new(
        args: &ImportArgs,
        config: &crate::store::config::Config,
    ) -> Result<Defaults> {
        let from = match &args.app_key_from {
            Some(name) => {
                check_name(name).map_err(|e| Error::Usage(format!("--app-key-from: {e}.")))?;
                Some(config.profiles.get(name).ok_or_else(|| {
                    Error::NotConfigured(format!(
                        "--app-key-from {name}: no such profile. `st-setup list` shows the profiles."
                    ))
                })?)
            }
            None => None,
        };
        Ok(Defaults {
            environment: args.environment.or(from.map(|p| p.environment)),
            app_key: from.map(|p| p.app_key.clone()),
        })
    }
}

/// Check every row; all problems at once, with their lines.
pub(super) fn validate(raw_rows: &[RawRow], defaults: &Defaults) -> Result<Vec<Row>> {
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for raw in raw_rows {
        let line = raw.line;
        let mut problem = |text: String| problems.push(format!("line {line}: {text}"));
        let profile = raw.cell("profile");
        let profile_ok = match check_name(profile) {
            Ok(()) => true,
            Err(e) => {
                problem(format!("profile: {e}"));
                false
            }
        };
        if profile_ok && let Some(first) = seen.insert(profile.to_string(), line) {
            problem(format!("profile {profile:?} is also on line {first}"));
        }
        let environment = match raw.cell("environment") {
            "" => defaults.environment.or_else(|| {
                problem(
                    "environment is empty: fill it in (production or integration) or pass \
                     --environment"
                        .into(),
                );
                None
            }),
            text => Environment::from_str(text, true).ok().or_else(|| {
                problem(format!(
                    "environment {:?} is not production or integration",
                    printable::field(text, 40)
                ));
                None
            }),
        };
        let mut value = |field: Field, column: &str, default: Option<&String>| {
            let raw_value = raw.cell(column);
            if raw_value.is_empty() {
                if let Some(default) = default {
                    return Some(default.clone());
                }
                let hint = if column == "app_key" {
                    ", or pass --app-key-from PROFILE (a stored profile of the same app)"
                } else {
                    ""
                };
                problem(format!("{column} is empty: fill it in{hint}"));
                return None;
            }
            match credentials::check(field, raw_value) {
                // The messages name the field, never the value (it may be a secret).
                Err(text) => {
                    problem(text);
                    None
                }
                Ok(checked) if checked.looks_swapped => {
                    problem(format!("{field}: {}", checked.warning.unwrap_or_default()));
                    None
                }
                Ok(checked) => Some(checked.value),
            }
        };
        let tenant_id = value(Field::TenantId, "tenant_id", None);
        let app_key = value(Field::AppKey, "app_key", defaults.app_key.as_ref());
        let client_id = value(Field::ClientId, "client_id", None);
        // `Some(None)`: empty in the file, asked for later.
        let client_secret = if raw.cell("client_secret").is_empty() {
            Some(None)
        } else {
            value(Field::ClientSecret, "client_secret", None).map(|v| Some(ClientSecret::new(v)))
        };
        if let (
            true,
            Some(environment),
            Some(tenant_id),
            Some(app_key),
            Some(client_id),
            Some(client_secret),
        ) = (
            profile_ok,
            environment,
            tenant_id,
            app_key,
            client_id,
            client_secret,
        ) {
            rows.push(Row {
                line,
                profile: profile.to_string(),
                environment,
                tenant_id,
                app_key,
                client_id,
                client_secret,
            });
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(malformed(problems))
    }
}
