//! `check`'s overlap of local and network work: each profile's secret is
//! read on a thread while the HTTP client is set up and the early
//! connections are opened, and each profile is verified as soon as its
//! secret is read.

use std::sync::Arc;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::Target;
use crate::batch::{self, Job};
use crate::cli::Context;
use crate::error::{Error, Result};
use crate::resolve::Resolved;
use crate::servicetitan::http::Transport;
use crate::verify::Verification;

/// What [`read_and_verify`] gives back.
pub(super) type ReadAndVerified = (Vec<Target>, Vec<Option<Verification>>, Vec<(usize, Error)>);

/// Read each profile's secret on a thread while the HTTP client is set up
/// and the connections to every token host and API host are opened (their
/// TLS handshakes need no secret); each profile is
/// verified as soon as its secret is read, at most `limit` at once, so that
/// with many profiles reading the keyring and asking ServiceTitan overlap
/// instead of adding up. Returns the targets, their verifications (`None`
/// where none ran) and the profiles whose plan could not be made.
pub(super) fn read_and_verify(
    ctx: &Context,
    runtime: &tokio::runtime::Runtime,
    resolved: &[Resolved],
    early: &[&url::Url],
    read_target: impl Fn(&Resolved) -> Target + Sync,
    limit: usize,
) -> Result<ReadAndVerified> {
    let (sender, arriving) = tokio::sync::mpsc::unbounded_channel::<(usize, Target)>();
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| read_in_order(resolved, &read_target, sender));
        let transport = ctx.transport().map(Arc::new);
        let mut arriving = arriving;
        let mut run = ReadAndVerify {
            ctx,
            resolved,
            limit,
            targets: resolved.iter().map(|_| None).collect(),
            plan_failures: Vec::new(),
        };
        let verifications = match &transport {
            Ok(transport) => runtime.block_on(async {
                transport.connect_early(early).await;
                run.verify_as_read(transport, &mut arriving).await
            }),
            Err(_) => run.only_read(&mut arriving),
        };
        reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let transport = transport?;
        drop(transport);
        run.finish(verifications)
    })
}

/// The reader thread: each profile's target, in order, until the receiver
/// is gone.
fn read_in_order(
    resolved: &[Resolved],
    read_target: &(impl Fn(&Resolved) -> Target + Sync),
    sender: UnboundedSender<(usize, Target)>,
) {
    for (index, r) in resolved.iter().enumerate() {
        if sender.send((index, read_target(r))).is_err() {
            break;
        }
    }
    drop(sender);
}

/// The profiles being checked, and their targets and plan failures as the
/// reader thread hands the targets over.
struct ReadAndVerify<'a> {
    ctx: &'a Context,
    resolved: &'a [Resolved],
    /// At most this many verifications at once.
    limit: usize,
    /// Each profile's target, in its place, once read.
    targets: Vec<Option<Target>>,
    /// The profiles whose verification plan could not be made.
    plan_failures: Vec<(usize, Error)>,
}

impl ReadAndVerify<'_> {
    /// Queue each target for verification as it arrives, while the queued
    /// ones are verified.
    async fn verify_as_read(
        &mut self,
        transport: &Arc<Transport>,
        arriving: &mut UnboundedReceiver<(usize, Target)>,
    ) -> Vec<Option<Verification>> {
        let (jobs, queued) = tokio::sync::mpsc::unbounded_channel();
        let verifying =
            batch::verify_arriving(queued, self.resolved.len(), self.limit, self.ctx.ui);
        let feeding = async {
            while let Some((index, target)) = arriving.recv().await {
                let job = self.job(transport, index, &target);
                self.targets[index] = Some(target);
                let _ = jobs.send((index, job));
            }
            drop(jobs);
        };
        let ((), verifications) = tokio::join!(feeding, verifying);
        verifications
    }

    /// The verification of `target` (the profile at `index`), when its
    /// credentials were read; a plan that cannot be made is kept as a
    /// failure.
    fn job(&mut self, transport: &Arc<Transport>, index: usize, target: &Target) -> Option<Job> {
        let credentials = target.job.as_ref().ok()?;
        let stored = self.resolved[index].stored.as_ref();
        match crate::commands::verification::plan(
            self.ctx,
            transport,
            Some(target.environment),
            stored,
        ) {
            Ok(plan) => Some(Job {
                plan,
                credentials: credentials.clone(),
                required: target.required.clone(),
            }),
            Err(err) => {
                self.plan_failures.push((index, err));
                None
            }
        }
    }

    /// No HTTP client: read the secrets all the same (their problems are
    /// reported too), verify nothing.
    fn only_read(
        &mut self,
        arriving: &mut UnboundedReceiver<(usize, Target)>,
    ) -> Vec<Option<Verification>> {
        while let Some((index, target)) = arriving.blocking_recv() {
            self.targets[index] = Some(target);
        }
        self.resolved.iter().map(|_| None).collect()
    }

    /// Every target, with `verifications` and the plan failures.
    fn finish(self, verifications: Vec<Option<Verification>>) -> Result<ReadAndVerified> {
        let targets = self
            .targets
            .into_iter()
            .map(|t| t.ok_or_else(|| Error::Other("a profile was not read".into())))
            .collect::<Result<Vec<Target>>>()?;
        Ok((targets, verifications, self.plan_failures))
    }
}
