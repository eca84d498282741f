//! Input that failed validation, as data: which option, field, URL or line
//! was wrong and how. Every kind is a usage error (exit 2) and has one
//! message that names what is wrong and the fix. Values that may be a
//! pasted secret are never held here: a credential's problem names the
//! field, and shown URLs have secret shapes hidden by the caller.

use crate::credentials::Field;

/// A value given on the command line, in the environment or in a file that
/// st-setup will not use.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InvalidInput {
    /// An option's value is not valid: `option` says where it was given
    /// ("--profile / ST_PROFILE"), `problem` what is wrong with it, `fix`
    /// (when the problem alone does not say) what to give instead.
    #[error("{option}: {problem}.{}", fix.as_ref().map(|fix| format!(" {fix}")).unwrap_or_default())]
    Option {
        option: &'static str,
        problem: String,
        fix: Option<String>,
    },

    /// `--match` is not a glob pattern (`shown`: the pattern, made printable).
    #[error(
        "--match {shown:?} is not a valid pattern: {source}. Use * for any run of \
         characters, ? for one, [a-z] for a range."
    )]
    Pattern {
        shown: String,
        source: glob::PatternError,
    },

    /// A profile's saved requirement (`require` in config.toml) does not parse.
    #[error(
        "profile {profile:?} requires {value:?} (`require` in config.toml), which is not a \
         scope name or module code. Fix it with `st-setup init --profile {profile} \
         --require ...`, or edit the file."
    )]
    SavedRequirement { profile: String, value: String },

    /// Two options that name the same thing were both given.
    #[error("{first} and {second} both {what}: give one of them.")]
    BothGiven {
        first: &'static str,
        second: &'static str,
        what: &'static str,
    },

    /// A credential given by flag, variable or stdin failed its check.
    #[error("{problem} (given by {})", field.script_sources())]
    Credential { field: Field, problem: String },

    /// A credential given without a prompt looks like another one pasted in its place.
    #[error("{field} ({}): {warning}", field.script_sources())]
    CredentialSwapped { field: Field, warning: String },

    /// `--client-secret-stdin`, and standard input could not be read.
    #[error("could not read the Client Secret from stdin: {source}")]
    SecretStdinUnreadable { source: std::io::Error },

    /// `ST_CLIENT_SECRET` holds bytes that are not UTF-8.
    #[error(
        "ST_CLIENT_SECRET is not valid UTF-8 text; set it to the Client Secret exactly as shown in ServiceTitan."
    )]
    SecretNotUnicode,

    /// An endpoint override (`name`: the variable) that does not parse as a URL.
    #[error("{name} is not a valid URL ({source}): {shown}")]
    UrlUnparsable {
        name: String,
        shown: String,
        source: url::ParseError,
    },

    /// An endpoint override without a host.
    #[error("{name} has no host: {shown}")]
    UrlWithoutHost { name: String, shown: String },

    /// An endpoint override with plain http to a host that is not this machine.
    #[error(
        "{name} uses plain http to {host}, which would send the Client Secret unencrypted. \
         Use an https:// URL (plain http is allowed only for 127.0.0.1, ::1 and localhost)."
    )]
    UrlPlainHttp { name: String, host: String },

    /// An endpoint override with a scheme other than https or http.
    #[error("{name} must be an https:// URL, not {scheme}://")]
    UrlScheme { name: String, scheme: String },

    /// A value flag given with `check --all`, which checks each profile's stored values.
    #[error(
        "{flag} cannot be used with --all: --all checks every stored profile with \
         its own stored values. Use `st-setup check {flag} ...` for one set of values."
    )]
    NotWithAll { flag: &'static str },

    /// `export --format dotenv` of a value (`name`: its variable) that a .env file
    /// cannot hold literally.
    #[error(
        "{name} holds a character that a .env file cannot carry literally (a single quote, \
         a backslash or a control character), so it was not exported. Use --format env or \
         --format json, or fix the value."
    )]
    NotDotenvSafe { name: String },

    /// `remove` without `--yes` and without a terminal to confirm on.
    #[error(
        "refusing to remove {} without confirmation: pass --yes when running without a terminal.",
        crate::not_configured::describe_profiles(profiles)
    )]
    Unconfirmed { profiles: Vec<String> },

    /// `--client-secret` was given: a secret is never taken as an argument.
    #[error(
        "--client-secret is not accepted: a secret given as an argument is visible to other \
         users in the process list and stays in your shell history.\n\
         Use one of:\n\
         \x20 ST_CLIENT_SECRET=... st-setup init ...              (environment variable)\n\
         \x20 printf '%s\\n' \"$SECRET\" | st-setup init --client-secret-stdin ...\n\
         \x20 st-setup init                                       (hidden prompt)"
    )]
    SecretAsArgument,

    /// `exec --env-style servicepytan` without `--with-secret`.
    #[error(
        "--env-style servicepytan needs --with-secret: servicepytan requests its own \
         tokens with the Client ID and Client Secret (SERVICETITAN_CLIENT_SECRET)."
    )]
    ServicepytanNeedsSecret,

    /// `exec`'s command looks like a Client Secret (a value given to `--with-secret`).
    #[error(
        "the command to run looks like a Client Secret. --with-secret takes no value: it \
         passes the stored secret (or ST_CLIENT_SECRET) to the command as ST_CLIENT_SECRET. \
         Usage: st-setup exec [--with-secret] -- CMD [ARGS]"
    )]
    CommandLooksLikeSecret,

    /// `--environment auto` with one environment's `ST_AUTH_URL` / `ST_API_URL`.
    #[error(
        "--environment auto asks both environments, so ST_AUTH_URL / ST_API_URL (one \
         environment's URLs) cannot be used with it: set ST_PRODUCTION_AUTH_URL, \
         ST_INTEGRATION_AUTH_URL (and their _API_URL) instead, or name the environment."
    )]
    AutoWithOneEnvironmentUrls,

    /// `init --environment auto --no-verify`: nothing would find out the environment.
    #[error(
        "--environment auto finds out the environment by asking ServiceTitan, so it \
         cannot be used with --no-verify: name the environment (production or integration)."
    )]
    AutoWithoutVerify,

    /// `check --match` without `--all`.
    #[error("--match selects profiles for --all: use `st-setup check --all --match GLOB`.")]
    MatchWithoutAll,

    /// `check --all --environment auto`: auto selects no profiles.
    #[error(
        "--environment auto cannot select profiles: with --all, give production or \
         integration to check only that environment's profiles."
    )]
    AutoWithAll,

    /// `--output` names no file.
    #[error("--output: the file name is empty.")]
    OutputEmpty,

    /// `--output` names a file that exists, and `--force` was not given.
    #[error(
        "--output: {path} already exists and was left unchanged. Choose another file, or add \
         --force to replace it."
    )]
    OutputExists { path: String },

    /// The file to import could not be read (`path` as shown).
    #[error("could not read {path}: {source}")]
    InputUnreadable {
        path: String,
        source: std::io::Error,
    },

    /// The file to import is not a regular file.
    #[error(
        "{path} is not a regular file: give the CSV or JSON Lines file (or - for standard input)."
    )]
    InputNotAFile { path: String },

    /// The file to import is larger than `max_mib` MiB.
    #[error("{path} is larger than {max_mib} MiB: split it into smaller files.")]
    InputTooLarge { path: String, max_mib: u64 },

    /// The file to import is not UTF-8 from byte `byte` on.
    #[error("{path} is not UTF-8 text (byte {byte}): save it as UTF-8 CSV or JSON Lines.")]
    InputNotText { path: String, byte: usize },

    /// The file to import holds no rows.
    #[error("{path} holds no rows: nothing to import.")]
    InputEmpty { path: String },

    /// `--ca-bundle` / `SSL_CERT_FILE` names a file that cannot be read.
    #[error("could not read the CA bundle {} (--ca-bundle / SSL_CERT_FILE): {source}", path.display())]
    CaBundleUnreadable {
        path: std::path::PathBuf,
        source: std::io::Error,
    },

    /// The CA bundle is not PEM, or holds a certificate that cannot be a
    /// certificate authority (`problem`: the parser's words).
    #[error("{} is not a PEM certificate bundle (--ca-bundle / SSL_CERT_FILE): {problem}", path.display())]
    CaBundleNotPem {
        path: std::path::PathBuf,
        problem: String,
    },

    /// The CA bundle holds no certificate.
    #[error("{} contains no PEM certificates (--ca-bundle / SSL_CERT_FILE)", path.display())]
    CaBundleEmpty { path: std::path::PathBuf },

    /// Rows of the file to import have problems; nothing was stored.
    #[error(
        "the file has {} problem{}, so nothing was stored:\n{}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
    )]
    Rows { problems: Vec<RowProblem> },
}

/// Values that are needed and were not given, with no terminal to ask for
/// them. A usage error (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum MissingInput {
    /// Credentials given neither by flag, variable nor the stored profile.
    #[error(
        "missing {} value{} (no terminal to ask, so nothing was saved):\n{}",
        fields.len(),
        if fields.len() == 1 { "" } else { "s" },
        fields
            .iter()
            .map(|f| format!("  {:<16} {}", f.label(), f.script_sources()))
            .collect::<Vec<_>>()
            .join("\n")
    )]
    Credentials { fields: Vec<Field> },

    /// `--client-secret-stdin`, and stdin ended before a line.
    #[error(
        "--client-secret-stdin: standard input was closed before a Client Secret line arrived. \
         Pipe the secret in, for example: printf '%s\\n' \"$SECRET\" | st-setup init --client-secret-stdin ..."
    )]
    SecretStdinClosed,

    /// `--client-secret-stdin`, and the first line is empty.
    #[error(
        "--client-secret-stdin: the first line of standard input is empty; it must hold the Client Secret."
    )]
    SecretStdinEmpty,
}

/// One problem of a file to import, and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowProblem {
    pub(crate) line: u64,
    pub(crate) problem: String,
}

impl RowProblem {
    pub(crate) fn on(line: u64, problem: impl Into<String>) -> RowProblem {
        RowProblem {
            line,
            problem: problem.into(),
        }
    }
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}
