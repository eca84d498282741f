//! Many profiles at once (`check --all`, `import`): verified at most `--jobs`
//! at a time, so at most that many token requests are in flight (ServiceTitan
//! throttles its token endpoint), with a progress bar on a terminal, and the
//! closing summary grouped by outcome. Also the profile-name filter
//! (`--match GLOB`) that `check --all`, `list` and `remove` share.

use std::sync::Arc;

use clap::Args;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::credentials::Credentials;
use crate::environment::Environment;
use crate::error::{Error, ExitStatus, Result};
use crate::scopes::Requirement;
use crate::ui::Ui;
use crate::verify::{self, Plan, Verification};

/// `--jobs N` / `ST_JOBS`.
#[derive(Args, Debug, Clone)]
pub(crate) struct JobsArgs {
    /// Verify at most N profiles at once (so at most N token requests are in flight)
    #[arg(
        long,
        env = "ST_JOBS",
        value_name = "N",
        default_value_t = 8,
        value_parser = clap::value_parser!(u16).range(1..=1000),
        hide_env_values = true
    )]
    pub(crate) jobs: u16,
}

/// `--environment` and `--match GLOB`: which stored profiles a command over
/// many of them takes.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct ProfileFilter {
    /// Only profiles whose name matches this shell pattern (* any run, ? one character, [a-z])
    #[arg(
        long = "match",
        value_name = "GLOB",
        help_heading = "Selecting profiles"
    )]
    pub(crate) glob: Option<String>,
}

impl ProfileFilter {
    /// The pattern, checked (a malformed one is a usage error naming it).
    pub(crate) fn pattern(&self) -> Result<Option<glob::Pattern>> {
        self.glob
            .as_deref()
            .map(|raw| {
                glob::Pattern::new(raw).map_err(|source| {
                    Error::from(crate::invalid_input::InvalidInput::Pattern {
                        shown: crate::printable::field(raw, 100),
                        source,
                    })
                })
            })
            .transpose()
    }
}

/// Does a profile pass `--environment` and `--match`?
pub(crate) fn selected(
    name: &str,
    environment: Environment,
    only_environment: Option<Environment>,
    pattern: Option<&glob::Pattern>,
) -> bool {
    only_environment.is_none_or(|e| e == environment) && pattern.is_none_or(|p| p.matches(name))
}

/// One verification to run.
pub(crate) struct Job {
    pub(crate) plan: Plan,
    pub(crate) credentials: Credentials,
    pub(crate) required: Vec<Requirement>,
}

/// Run `jobs` (in their order; `None` is skipped), at most `limit` at once.
/// The result has one entry per job, `None` where there was none.
pub(crate) fn verify_all(
    runtime: &tokio::runtime::Runtime,
    jobs: Vec<Option<Job>>,
    limit: usize,
    ui: Ui,
) -> Vec<Option<Verification>> {
    let count = jobs.len();
    let (sender, arriving) = tokio::sync::mpsc::unbounded_channel();
    for (index, job) in jobs.into_iter().enumerate() {
        let _ = sender.send((index, job));
    }
    drop(sender);
    runtime.block_on(verify_arriving(arriving, count, limit, ui))
}

/// Verify jobs as they arrive (`(index, job)`; `None` is skipped), at most
/// `limit` at once, until the sender is dropped: `check --all` sends each
/// profile's job as soon as its secret is read, so reading the keyring and
/// verifying overlap instead of adding up. The result has `count` entries,
/// `None` where no job came.
pub(crate) async fn verify_arriving(
    mut arriving: tokio::sync::mpsc::UnboundedReceiver<(usize, Option<Job>)>,
    count: usize,
    limit: usize,
    ui: Ui,
) -> Vec<Option<Verification>> {
    let progress = (count > limit).then(|| ui.progress(count as u64, "checking"));
    let permits = Arc::new(Semaphore::new(limit.max(1)));
    let mut tasks = JoinSet::new();
    let mut done: Vec<Option<Verification>> = (0..count).map(|_| None).collect();
    let mut record = |joined: Result<(usize, Verification), tokio::task::JoinError>| {
        if let Ok((index, verification)) = joined
            && let Some(slot) = done.get_mut(index)
        {
            *slot = Some(verification);
        }
        if let Some(bar) = &progress {
            bar.inc();
        }
    };
    loop {
        tokio::select! {
            next = arriving.recv() => match next {
                Some((index, Some(job))) => {
                    let permits = Arc::clone(&permits);
                    tasks.spawn(async move {
                        let _permit = permits.acquire_owned().await;
                        let verification =
                            verify::verify(job.plan, &job.credentials, &job.required).await;
                        (index, verification)
                    });
                }
                Some((_, None)) => {}
                None => break,
            },
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => record(joined),
        }
    }
    while let Some(joined) = tasks.join_next().await {
        record(joined);
    }
    done
}

/// The closing lines of a run over many profiles: one per outcome, with the
/// profiles that had it ("3 refused by the token endpoint: a, b, c"); the
/// worst outcome first, successes last.
pub(crate) fn outcome_summary(results: &[(&str, ExitStatus)]) -> Vec<String> {
    let mut statuses: Vec<ExitStatus> = results.iter().map(|(_, s)| *s).collect();
    statuses.sort_by_key(|s| std::cmp::Reverse(s.severity()));
    statuses.dedup();
    statuses
        .into_iter()
        .map(|status| {
            let names: Vec<&str> = results
                .iter()
                .filter(|(_, s)| *s == status)
                .map(|(name, _)| *name)
                .collect();
            let what = match status {
                ExitStatus::Ok => "ok",
                ExitStatus::CredentialsRejected => "refused by the token endpoint (exit 3)",
                ExitStatus::ApiAccessRefused => "refused by the API or missing a scope (exit 4)",
                ExitStatus::Network => "not reached: network or server error (exit 5)",
                ExitStatus::StoreUnavailable => "not read: credential store unavailable (exit 6)",
                ExitStatus::NotConfigured => "not configured or without a secret (exit 7)",
                ExitStatus::Usage => "not valid (exit 2)",
                ExitStatus::Interrupted => "interrupted",
                ExitStatus::Other | ExitStatus::Child(_) => "failed (exit 1)",
            };
            const SHOWN: usize = 20;
            let mut list = names
                .iter()
                .take(SHOWN)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            if names.len() > SHOWN {
                list.push_str(&format!(", and {} more", names.len() - SHOWN));
            }
            if status == ExitStatus::Ok {
                format!("{} {what}", names.len())
            } else {
                format!("{} {what}: {list}", names.len())
            }
        })
        .collect()
}

/// Print the closing lines of a run over many profiles on stderr:
/// `first_line` (the count), then, when anything went wrong, one line per
/// outcome with its profiles.
pub(crate) fn print_summary(ui: Ui, first_line: &str, results: &[(&str, ExitStatus)]) {
    ui.info(first_line);
    if results.iter().any(|(_, status)| *status != ExitStatus::Ok) {
        for line in outcome_summary(results) {
            ui.info(&format!("  {line}"));
        }
    }
}

/// The worst of many outcomes (`Ok` for none).
pub(crate) fn worst(statuses: impl IntoIterator<Item = ExitStatus>) -> ExitStatus {
    statuses
        .into_iter()
        .max_by_key(|s| s.severity())
        .unwrap_or(ExitStatus::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_groups_by_outcome_worst_first() {
        let lines = outcome_summary(&[
            ("a", ExitStatus::CredentialsRejected),
            ("b", ExitStatus::Ok),
            ("c", ExitStatus::CredentialsRejected),
            ("d", ExitStatus::Network),
        ]);
        assert_eq!(
            lines,
            vec![
                "1 not reached: network or server error (exit 5): d",
                "2 refused by the token endpoint (exit 3): a, c",
                "1 ok",
            ]
        );
    }

    #[test]
    fn filters_take_environment_and_pattern() {
        let p = glob::Pattern::new("acme-*").unwrap();
        assert!(selected("acme-1", Environment::Production, None, Some(&p)));
        assert!(!selected("beta", Environment::Production, None, Some(&p)));
        assert!(!selected(
            "acme-1",
            Environment::Production,
            Some(Environment::Integration),
            Some(&p)
        ));
        assert!(
            ProfileFilter {
                glob: Some("[".into())
            }
            .pattern()
            .is_err()
        );
    }
}
