//! Every way st-setup can fail, and the exit code each one maps to.
//!
//! Commands return [`Error`]; `main` only turns it into a message and an exit
//! code. Messages are written for the person at the terminal: they name the
//! value that is wrong and say what to do. They never contain a secret.

use std::path::PathBuf;

use crate::invalid_input::{InvalidInput, MissingInput};
use crate::not_configured::NotConfigured;
use crate::servicetitan::failure::NetworkError;
use crate::store::SecretStorage;
use crate::store::file_error::FileError;
use crate::store::keyring_error::KeyringError;

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

/// Every failure, holding what it is about; its `Display` is the message and
/// [`Error::exit_status`] its exit code. Where an underlying error caused it,
/// that is its `#[source]`, which `--verbose` prints under the message.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A value failed validation: which, and how (see [`InvalidInput`]).
    #[error(transparent)]
    Invalid(#[from] InvalidInput),

    /// Required values were not given and there is no terminal to ask for them.
    #[error(transparent)]
    MissingInput(#[from] MissingInput),

    /// The token endpoint refused the Client ID / Client Secret of `profile`
    /// with HTTP `status`; `problem` says so in words (see `verify::refusal`).
    #[error(
        "{problem}\nRun `st-setup check` for details, or `st-setup init --profile {profile}` to enter new values."
    )]
    CredentialsRejected {
        profile: String,
        status: u16,
        problem: String,
    },

    /// A verification did not pass: `status` is its outcome (credentials
    /// rejected, access refused, network), `problem` its first failed step.
    #[error("{problem}\nNothing was saved (use --no-verify to save without checking).")]
    NotVerified { status: ExitStatus, problem: String },

    /// DNS, connection, TLS, timeout or a server error: not a credential
    /// problem. It keeps the host and the kind of failure.
    #[error("{0}")]
    Network(#[source] NetworkError),

    /// The OS keyring could not be used, or holds several entries for a profile.
    #[error(transparent)]
    Keyring(#[from] KeyringError),

    /// A file or directory of the config directory was refused or is unusable.
    #[error(transparent)]
    StoreFile(#[from] FileError),

    /// Profiles were removed from the config file, but the Client Secret of
    /// each of `left` could not be deleted.
    #[error("{}", left.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    SecretsLeft { left: Vec<SecretLeft> },

    /// A file of the config directory could not be read or written.
    #[error("could not {action} {}: {source}", path.display())]
    StoreIo {
        action: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A save failed, and taking back the secrets it had already written
    /// failed too: `stuck` says which, and how to repair each.
    #[error("{cause}\n{}", stuck.join("\n"))]
    NotUndone {
        #[source]
        cause: Box<Error>,
        stuck: Vec<String>,
    },

    /// The config file exists but cannot be read or parsed; it is left untouched.
    #[error("{path}{}: {message}\nThe file was left unchanged. Fix it by hand, or move it away and run `st-setup init` again.", line.map(|l| format!(", line {l}")).unwrap_or_default(), path = path.display())]
    ConfigUnreadable {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },

    /// The named profile does not exist; `known` lists those that do.
    #[error(
        "profile {profile:?} is not configured. {}\n\
         Run `st-setup init --profile {profile}`, or give every value with flags or variables \
         (ST_TENANT_ID, ST_APP_KEY, ST_CLIENT_ID, ST_CLIENT_SECRET) to use credentials without storing them.",
        known_profiles(known)
    )]
    ProfileNotConfigured { profile: String, known: Vec<String> },

    /// Something else a command needs is not configured (see [`NotConfigured`]).
    #[error(transparent)]
    NotConfigured(#[from] NotConfigured),

    /// The user pressed Ctrl-C or chose to quit.
    #[error("interrupted: nothing was saved")]
    Interrupted,

    /// The terminal could not be read from (a prompt failed).
    #[error("could not read from the terminal: {0}")]
    Terminal(#[source] std::io::Error),

    /// A local operation failed (`action`: "write to standard output",
    /// "start the async runtime", ...), with the I/O error as its source.
    #[error("could not {action}: {source}")]
    Local {
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// The HTTP client could not be set up (the TLS configuration or reqwest
    /// refused its settings).
    #[error("could not set up HTTPS: {source}")]
    HttpsSetup {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// `--output`'s file could not be written (`action`: "write", ...).
    #[error("--output: could not {action} {}: {source}", path.display())]
    Output {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A JSON document could not be encoded.
    #[error("{0}")]
    Json(#[from] serde_json::Error),

    /// The config could not be encoded as TOML.
    #[error("could not encode the config: {0}")]
    ConfigEncoding(#[from] toml::ser::Error),

    /// What should not happen and needs no data of its own ("the check did
    /// not finish"), and the one-off local failures without a source error
    /// (no home directory to find the config in).
    #[error("{0}")]
    Other(String),
}

/// A removed profile whose Client Secret is still in `storage`: why, and how
/// to delete it by hand.
#[derive(Debug, thiserror::Error)]
#[error(
    "profile {profile:?} was removed from the config file, but its Client Secret could not be \
     deleted: {cause}\n{}",
    match storage {
        SecretStorage::Keyring => format!(
            "Delete it by hand once the keyring works: secret-tool clear service st-setup username {profile}"
        ),
        SecretStorage::File => "Delete the file by hand.".to_string(),
    }
)]
pub(crate) struct SecretLeft {
    pub(crate) profile: String,
    pub(crate) storage: SecretStorage,
    #[source]
    pub(crate) cause: Error,
}

/// "Configured profiles: a, b." (names made printable by the caller).
fn known_profiles(known: &[String]) -> String {
    if known.is_empty() {
        "No profiles are configured yet.".to_string()
    } else {
        format!("Configured profiles: {}.", known.join(", "))
    }
}

impl Error {
    pub(crate) fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Invalid(_) | Error::MissingInput(_) => ExitStatus::Usage,
            Error::CredentialsRejected { .. } => ExitStatus::CredentialsRejected,
            Error::NotVerified { status, .. } => *status,
            Error::Network(_) => ExitStatus::Network,
            Error::Keyring(_)
            | Error::StoreFile(_)
            | Error::SecretsLeft { .. }
            | Error::StoreIo { .. }
            | Error::ConfigUnreadable { .. } => ExitStatus::StoreUnavailable,
            Error::NotUndone { cause, .. } => cause.exit_status(),
            Error::ProfileNotConfigured { .. } | Error::NotConfigured(_) => {
                ExitStatus::NotConfigured
            }
            Error::Interrupted => ExitStatus::Interrupted,
            Error::Terminal(_)
            | Error::Local { .. }
            | Error::HttpsSetup { .. }
            | Error::Output { .. }
            | Error::Json(_)
            | Error::ConfigEncoding(_)
            | Error::Other(_) => ExitStatus::Other,
        }
    }

    /// The OS keyring could not be reached or used at all (missing, locked,
    /// not answering), as opposed to a problem with what it holds.
    pub(crate) fn is_keyring_unavailable(&self) -> bool {
        matches!(self, Error::Keyring(err) if err.is_unavailable())
    }

    /// The OS keyring answered that it is locked.
    pub(crate) fn is_keyring_locked(&self) -> bool {
        matches!(self, Error::Keyring(err) if err.is_locked())
    }

    /// Wrap an I/O failure on a named path.
    /// A file of the config directory could not be read or written: the
    /// credential store is unavailable (exit 6), whatever the cause.
    pub(crate) fn io(action: &str, path: &std::path::Path, source: std::io::Error) -> Error {
        Error::StoreIo {
            action: action.to_string(),
            path: path.to_path_buf(),
            source,
        }
    }

    /// The causes under this error whose words its message does not already
    /// hold, outermost first: what `--verbose` adds below the message.
    pub(crate) fn causes(&self) -> Vec<String> {
        let message = self.to_string();
        let mut causes = Vec::new();
        let mut source = std::error::Error::source(self);
        while let Some(err) = source {
            let line = err.to_string();
            if !message.contains(&line) && !causes.contains(&line) {
                causes.push(line);
            }
            source = err.source();
        }
        causes
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
            Error::Terminal(io)
        }
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
