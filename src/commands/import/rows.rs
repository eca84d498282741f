//! `import`'s rows: reading the file (bounded, UTF-8, wiped when dropped),
//! parsing it as CSV or JSON Lines, and checking every row, with all the
//! problems at once and their lines, before anything is verified or stored
//! (the checks are in `rows/check.rs`); then the secrets left empty, asked
//! for in a terminal.

mod check;

use std::collections::HashMap;
use std::io::{IsTerminal, Read};
use std::path::Path;

use zeroize::Zeroizing;

pub(super) use check::{Defaults, validate};

use super::{COLUMNS, ImportFormat, MAX_FILE_BYTES};
use crate::cli::Context;
use crate::credentials::ClientSecret;
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::invalid_input::{InvalidInput, RowProblem};
use crate::printable;

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
    let unreadable = |source: std::io::Error| InvalidInput::InputUnreadable {
        path: shown_path(path),
        source,
    };
    // Sized up front for a file, so that growing the buffer leaves no
    // unwiped copy of the secrets behind (stdin may still grow it).
    let mut size_hint = 64 * 1024;
    let reader: Box<dyn Read> = if from_stdin {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(unreadable)?;
        let meta = file.metadata().map_err(unreadable)?;
        if !meta.is_file() {
            return Err(InvalidInput::InputNotAFile {
                path: shown_path(path),
            }
            .into());
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
        return Err(InvalidInput::InputTooLarge {
            path: shown_path(path),
            max_mib: MAX_FILE_BYTES / 1024 / 1024,
        }
        .into());
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(
            text.trim_start_matches('\u{feff}').to_string(),
        )),
        Err(e) => Err(InvalidInput::InputNotText {
            path: shown_path(path),
            byte: e.valid_up_to(),
        }
        .into()),
    }
}

/// The rows' problems, each on its line: nothing is stored.
pub(super) fn invalid_rows(problems: Vec<RowProblem>) -> Error {
    InvalidInput::Rows { problems }.into()
}

pub(super) fn parse_csv(text: &str) -> Result<Vec<RawRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| invalid_rows(vec![RowProblem::on(1, csv_problem(&e))]))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut problems = header_problems(&header);
    if !problems.is_empty() {
        return Err(invalid_rows(problems));
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                problems.push(RowProblem::on(line, csv_problem(&e)));
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if record.len() != header.len() {
            problems.push(RowProblem::on(
                line,
                format!(
                    "{} cells, but the header has {}",
                    record.len(),
                    header.len()
                ),
            ));
            continue;
        }
        rows.push(csv_row(line, &header, &record));
    }
    // The csv reader's own buffers held the secrets too and are not wiped:
    // a limit of the crate, noted in SECURITY.md.
    drop(record);
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(invalid_rows(problems))
    }
}

/// One CSV record as a row: its cells under the columns the header names.
fn csv_row(line: u64, header: &[String], record: &csv::StringRecord) -> RawRow {
    let mut row = RawRow {
        line,
        ..RawRow::default()
    };
    for (name, value) in header.iter().zip(record.iter()) {
        if let Some(column) = COLUMNS.iter().find(|c| *c == name) {
            row.cells.insert(column, Zeroizing::new(value.to_string()));
        }
    }
    row
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
pub(super) fn header_problems(header: &[String]) -> Vec<RowProblem> {
    let mut problems = Vec::new();
    for (i, name) in header.iter().enumerate() {
        if !COLUMNS.contains(&name.as_str()) {
            problems.push(RowProblem::on(
                1,
                format!(
                    "unknown column {:?}; the header is {}",
                    printable::field(name, 40),
                    COLUMNS.join(",")
                ),
            ));
        } else if header[..i].contains(name) {
            problems.push(RowProblem::on(1, format!("column {name} appears twice")));
        }
    }
    for column in COLUMNS {
        if !header.iter().any(|h| h == column) {
            problems.push(RowProblem::on(
                1,
                format!(
                    "the header lacks the column {column}; it is {}",
                    COLUMNS.join(",")
                ),
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
                problems.push(RowProblem::on(
                    line_number,
                    format!("not a JSON object with the keys {}", COLUMNS.join(", ")),
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
                problems.push(RowProblem::on(
                    line_number,
                    format!(
                        "unknown key {:?}; the keys are {}",
                        printable::field(&key, 40),
                        COLUMNS.join(", ")
                    ),
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
                _ => problems.push(RowProblem::on(
                    line_number,
                    format!("{key} must be a string"),
                )),
            }
        }
        rows.push(row);
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(invalid_rows(problems))
    }
}

/// Rows whose secret cell was empty: asked for in a terminal (hidden), else refused.
pub(super) fn ask_missing_secrets(ctx: &Context, rows: &mut [Row], from_stdin: bool) -> Result<()> {
    let missing: Vec<u64> = rows
        .iter()
        .filter(|r| r.client_secret.is_none())
        .map(|r| r.line)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let terminal = !from_stdin && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !terminal {
        return Err(invalid_rows(
            missing
                .iter()
                .map(|&line| {
                    RowProblem::on(
                        line,
                        "client_secret is empty, and without a terminal it cannot be asked \
                         for: fill it in, or run the import in a terminal",
                    )
                })
                .collect(),
        ));
    }
    let prompter = crate::wizard::Prompter::new(ctx.ui);
    for row in rows.iter_mut().filter(|r| r.client_secret.is_none()) {
        ctx.ui.info(&format!(
            "Client Secret of profile {:?} (tenant {}, line {}):",
            row.profile, row.tenant_id, row.line
        ));
        row.client_secret = prompter.secret(false)?;
    }
    Ok(())
}
