//! Storing the rows that passed: one config write under the lock, each
//! secret in its store, with signals held so that a save is never cut short.

use super::{EXISTS, Outcome, ToStore, outcome};
use crate::cli::Context;
use crate::credentials::ClientSecret;
use crate::error::{ExitStatus, Result};
use crate::store::config::Profile;

/// Store `to_store` in one go under the config lock; record each row's
/// outcome. Returns whether a signal arrived during the save.
pub(super) fn store_rows(
    ctx: &Context,
    config_store: &crate::store::config::ConfigStore,
    secrets: &crate::store::SecretStore,
    to_store: &[ToStore],
    overwrite: bool,
    outcomes: &mut Vec<Outcome>,
) -> Result<bool> {
    if to_store.is_empty() {
        return Ok(false);
    }
    let lock = config_store.lock()?;
    // A profile another run created since the file was checked is left
    // alone too, unless --overwrite.
    let (now, _) = config_store.load()?;
    let (to_store, created): (Vec<&ToStore>, Vec<&ToStore>) = to_store
        .iter()
        .partition(|(row, _)| overwrite || !now.profiles.contains_key(&row.profile));
    for (row, _) in created {
        outcomes.push(outcome(row, ExitStatus::Usage, EXISTS.into()));
    }
    let held = crate::signals::hold_interrupts();
    let batch: Vec<(&str, &Profile, &ClientSecret)> = to_store
        .iter()
        .filter_map(|(row, profile)| {
            Some((row.profile.as_str(), profile, row.client_secret.as_ref()?))
        })
        .collect();
    let saved = crate::store::save_profiles(&lock, config_store, secrets, &batch);
    let interrupted = held.release();
    drop(lock);
    record_saved(ctx, &to_store, saved, outcomes);
    Ok(interrupted)
}

/// Each row's outcome after the save: stored (with the store's warning
/// about it, if any), or, when the save failed, not stored and why.
fn record_saved(
    ctx: &Context,
    to_store: &[&ToStore],
    saved: Result<Vec<Option<String>>>,
    outcomes: &mut Vec<Outcome>,
) {
    match saved {
        Ok(warnings) => {
            for ((row, profile), warning) in to_store.iter().copied().zip(warnings) {
                if let Some(w) = warning {
                    ctx.ui.warn(&format!("profile {:?}: {w}", row.profile));
                }
                outcomes.push(outcome(row, ExitStatus::Ok, stored_message(profile)));
            }
        }
        Err(err) => {
            let status = err.exit_status();
            for (row, _) in to_store {
                outcomes.push(outcome(
                    row,
                    status,
                    format!("not stored: the rows could not be saved: {err}"),
                ));
            }
        }
    }
}

/// What became of a stored row: verified or not, and where its secret is.
fn stored_message(profile: &Profile) -> String {
    if profile.verified {
        format!(
            "verified and stored ({})",
            profile.secret_storage.describe()
        )
    } else {
        format!(
            "stored unverified, not checked with ServiceTitan ({})",
            profile.secret_storage.describe()
        )
    }
}
