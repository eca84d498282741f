//! Every way st-setup can fail, and the exit code each one maps to.
//!
//! Commands return [`Error`]; `main` only turns it into a message and an exit
//! code. Messages are written for the person at the terminal: they name the
//! value that is wrong and say what to do. They never contain a secret.

use std::path::PathBuf;

/// The documented exit codes (README and `--help` list the same table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    Ok,
    Other,
    Usage,
    CredentialsRejected,
    ApiAccessRefused,
    Network,
    StoreUnavailable,
    NotConfigured,
    Interrupted,
    /// `exec` passes its child's exit code through.
    Child(u8),
}

impl ExitStatus {
    pub(crate) fn code(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Other => 1,
            ExitStatus::Usage => 2,
            ExitStatus::CredentialsRejected => 3,
            ExitStatus::ApiAccessRefused => 4,
            ExitStatus::Network => 5,
            ExitStatus::StoreUnavailable => 6,
            ExitStatus::NotConfigured => 7,
            ExitStatus::Interrupted => 130,
            ExitStatus::Child(code) => code,
        }
    }

    /// How bad an outcome is, for "exit with the worst outcome" across many
    /// profiles. Interruptions and local problems outrank credential findings.
    pub(crate) fn severity(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::ApiAccessRefused => 1,
            ExitStatus::CredentialsRejected => 2,
            ExitStatus::Network => 3,
            ExitStatus::NotConfigured => 4,
            ExitStatus::StoreUnavailable => 5,
            ExitStatus::Usage => 6,
            ExitStatus::Other => 7,
            ExitStatus::Interrupted => 8,
            ExitStatus::Child(code) => code.min(1),
        }
    }
}

/// The table shown in `--help` and README.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  ok
  1  other error
  2  usage error or missing input
  3  Client ID / Client Secret rejected
  4  API access refused (App Key, tenant, scope)
  5  network or server error
  6  credential store unavailable (keyring, config file)
  7  profile not configured
  130  interrupted";

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// Wrong flags or values on the command line, or a value that failed validation.
    #[error("{0}")]
    Usage(String),

    /// Required values were not given and there is no terminal to ask for them.
    #[error("{0}")]
    MissingInput(String),

    /// The token endpoint refused the Client ID / Client Secret.
    #[error("{0}")]
    CredentialsRejected(String),

    /// The token was issued but the API refused the App Key, tenant or scope.
    #[error("{0}")]
    ApiAccessRefused(String),

    /// DNS, connection, TLS, timeout or a server error: not a credential problem.
    #[error("{0}")]
    Network(String),

    /// The OS keyring (or the opted-in secret file) could not be used.
    #[error("{0}")]
    Store(String),

    /// The config file exists but cannot be read or parsed; it is left untouched.
    #[error("{path}{}: {message}\nThe file was left unchanged. Fix it by hand, or move it away and run `st-setup init` again.", line.map(|l| format!(", line {l}")).unwrap_or_default(), path = path.display())]
    ConfigUnreadable {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },

    /// The named profile does not exist.
    #[error("{0}")]
    NotConfigured(String),

    /// The user pressed Ctrl-C or chose to quit.
    #[error("interrupted: nothing was saved")]
    Interrupted,

    /// Anything else (I/O on the config directory, a child process that failed to start).
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub(crate) fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Usage(_) | Error::MissingInput(_) => ExitStatus::Usage,
            Error::CredentialsRejected(_) => ExitStatus::CredentialsRejected,
            Error::ApiAccessRefused(_) => ExitStatus::ApiAccessRefused,
            Error::Network(_) => ExitStatus::Network,
            Error::Store(_) | Error::ConfigUnreadable { .. } => ExitStatus::StoreUnavailable,
            Error::NotConfigured(_) => ExitStatus::NotConfigured,
            Error::Interrupted => ExitStatus::Interrupted,
            Error::Other(_) => ExitStatus::Other,
        }
    }

    /// An error with a given exit status (for outcomes computed elsewhere, like a verification).
    pub(crate) fn with_status(status: ExitStatus, message: String) -> Error {
        match status {
            ExitStatus::Usage => Error::Usage(message),
            ExitStatus::CredentialsRejected => Error::CredentialsRejected(message),
            ExitStatus::ApiAccessRefused => Error::ApiAccessRefused(message),
            ExitStatus::Network => Error::Network(message),
            ExitStatus::StoreUnavailable => Error::Store(message),
            ExitStatus::NotConfigured => Error::NotConfigured(message),
            ExitStatus::Interrupted => Error::Interrupted,
            ExitStatus::Ok | ExitStatus::Other | ExitStatus::Child(_) => Error::Other(message),
        }
    }

    /// Wrap an I/O failure on a named path.
    /// A file of the config directory could not be read or written: the
    /// credential store is unavailable (exit 6), whatever the cause.
    pub(crate) fn io(what: &str, path: &std::path::Path, err: std::io::Error) -> Error {
        Error::Store(format!("could not {what} {}: {err}", path.display()))
    }
}

/// Prompts report Ctrl-C as an interrupted read; everything else is a terminal problem.
impl From<dialoguer::Error> for Error {
    fn from(err: dialoguer::Error) -> Self {
        let dialoguer::Error::IO(io) = err;
        if io.kind() == std::io::ErrorKind::Interrupted {
            crate::signals::note_ctrl_c_key();
            Error::Interrupted
        } else {
            Error::Other(format!("could not read from the terminal: {io}"))
        }
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
