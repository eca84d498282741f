//! What a command needed that is not configured, as data: which profile,
//! pattern or store. Every kind is exit 7 and has one message that says
//! how to configure it. (A profile that does not exist at all is
//! `Error::ProfileNotConfigured`, which lists the ones that do.)

use crate::store::SecretStorage;

#[derive(Debug, thiserror::Error)]
pub(crate) enum NotConfigured {
    /// `--app-key-from` names a profile that is not configured.
    #[error("--app-key-from {profile}: no such profile. `st-setup list` shows the profiles.")]
    AppKeyFrom { profile: String },

    /// Values for a profile that is not stored, without `ST_CLIENT_SECRET`.
    #[error(
        "no Client Secret for {profile:?}: the profile is not stored, so set ST_CLIENT_SECRET \
         (or run `st-setup init --profile {profile}`)."
    )]
    SecretNotGiven { profile: String },

    /// A stored profile's Client Secret is gone from its store.
    #[error(
        "the Client Secret of profile {profile:?} is missing from {}. \
         Repair it with `st-setup init --profile {profile}` (the other values are kept as defaults).",
        match storage {
            SecretStorage::Keyring => "the OS keyring (it may have been deleted with a keyring manager)",
            SecretStorage::File => "its plain text file",
        }
    )]
    SecretMissing {
        profile: String,
        storage: SecretStorage,
    },

    /// No profile is stored at all.
    #[error("no profiles are configured: run `st-setup init` first.")]
    NoProfiles,

    /// `check --all` with filters (`filter`: "--match \"x\" and --environment y")
    /// that select no stored profile.
    #[error("no stored profile is selected by {filter}. Run `st-setup list` to see them.")]
    NoneSelected { filter: String },

    /// `remove --match` (`pattern`: made printable) matches no profile.
    #[error(
        "no profile matches --match {pattern:?}, so there is nothing to remove. `st-setup list` shows the profiles."
    )]
    NothingMatches { pattern: String },

    /// `remove` names a profile that is not configured.
    #[error(
        "profile {profile:?} is not configured, so there is nothing to remove. `st-setup list` shows the profiles."
    )]
    NothingToRemove { profile: String },

    /// Every profile `remove` was about to remove was removed by another run first.
    #[error(
        "{} {} removed by another st-setup run meanwhile.",
        describe_profiles(profiles),
        if profiles.len() == 1 { "was" } else { "were" }
    )]
    RemovedMeanwhile { profiles: Vec<String> },
}

/// "profile \"a\"", "2 profiles (a, b)", or the first 20 and how many more.
pub(crate) fn describe_profiles(names: &[String]) -> String {
    const SHOWN: usize = 20;
    match names {
        [one] => format!("profile {one:?}"),
        many if many.len() > SHOWN => format!(
            "{} profiles ({}, and {} more)",
            many.len(),
            many[..SHOWN].join(", "),
            many.len() - SHOWN
        ),
        many => format!("{} profiles ({})", many.len(), many.join(", ")),
    }
}
