//! "termination-unstarted-sidecar": a pod whose later sidecar never passed its startup
//! probe is deleted; the earlier, started sidecar must get SIGTERM at once, not wait
//! for the never-started one until the grace period ends and SIGKILL
//! (kubernetes/kubernetes#125880; the behaviour-change table's
//! `sidecar-sigterm-uninitialized-pod`).

use sidecar_conformance_model::recorder::Recorder;
use sidecar_conformance_model::timeline::ContainerEventKind;

use super::{Judgement, Observation};
use crate::evidence::{Findings, fmt_time, missing, sidecar_ignored};

const POD: &str = "termination-unstarted";
const STARTED: &str = "sidecar-1";
const NEVER_STARTED: &str = "sidecar-2";
const APP: &str = "app";
/// The fixture's grace period.
const GRACE_SECONDS: i64 = 30;
/// How soon after the deletion the started sidecar must have finished (runtime clock,
/// whole seconds): well inside the grace period, which the bug uses up.
const PROMPT_SECONDS: i64 = 10;

/// Settled once the never-started sidecar has run for 5 s without passing its probe
/// (the premise of the scenario), or when a pod is held up by an init container.
pub fn settled(rec: &Recorder) -> bool {
    let waited = rec
        .timeline()
        .pods
        .get(POD)
        .and_then(|p| p.container(NEVER_STARTED))
        .is_some_and(|c| {
            c.first_seen_running()
                .is_some_and(|t| jiff::Timestamp::now().duration_since(t).as_secs() >= 5)
        });
    waited || crate::evidence::stuck_behind_init(rec, crate::evidence::STUCK_WINDOW)
}

/// Judges the fixture.
pub fn judge(obs: &Observation) -> Judgement {
    if let Some(ignored) = sidecar_ignored(obs) {
        return ignored;
    }
    let Some(pod) = obs.timeline.pods.get(POD) else {
        return missing(format!("pod {POD} was never seen"));
    };
    let (Some(first), Some(second), Some(app)) = (
        pod.container(STARTED),
        pod.container(NEVER_STARTED),
        pod.container(APP),
    ) else {
        return missing(format!("pod {POD}: containers missing"));
    };
    let Some(deleted) = obs.actions.iter().find(|a| a.pod == POD).map(|a| a.at) else {
        return missing(format!("pod {POD} was never deleted: its sidecars did not run"));
    };
    let mut f = Findings::default();
    f.note(format!(
        "pod {POD} deleted at {deleted} (grace period {GRACE_SECONDS} s)"
    ));
    // The premise: one sidecar started, the later one running but never started, the
    // app never started.
    f.check(
        first.first_started_flag().is_some_and(|t| t < deleted),
        format!(
            "{STARTED} was started (started: true at {})",
            fmt_time(first.first_started_flag())
        ),
    );
    f.check(
        second.ever_ran() && second.first_started_flag().is_none_or(|t| t > deleted),
        format!("{NEVER_STARTED} ran but never passed its startupProbe before the deletion"),
    );
    f.check(
        !app.ever_ran(),
        format!("{APP} never started (the pod never initialized)"),
    );
    // The claim: the started sidecar got SIGTERM promptly and ended by it.
    match first.terminations().last().map(|e| &e.kind) {
        Some(ContainerEventKind::Terminated {
            exit_code,
            message,
            finished_at,
            ..
        }) => {
            let after = finished_at.map(|t| t.as_second() - deleted.as_second());
            f.check(
                after.is_some_and(|s| s <= PROMPT_SECONDS),
                format!(
                    "{STARTED} finished at {} ({} s after the deletion; the bug holds it until SIGKILL at {GRACE_SECONDS} s)",
                    fmt_time(*finished_at),
                    after.map(|s| s.to_string()).unwrap_or_else(|| "?".into())
                ),
            );
            f.check(
                *exit_code == 0 && message.as_deref().is_some_and(|m| m.starts_with("TERM at")),
                format!(
                    "{STARTED} got SIGTERM and exited by it: exit {exit_code}, termination message {:?}",
                    message.as_deref().unwrap_or("")
                ),
            );
        }
        _ => f.fail(format!("{STARTED} was never seen terminating after the deletion")),
    }
    f.judgement()
}
