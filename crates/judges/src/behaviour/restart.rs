//! "restart-independence": when the sidecar's process exits, the sidecar restarts and
//! the app container keeps its container; and the other way round.

use jiff::Timestamp;
use sidecar_conformance_model::timeline::{ContainerEventKind, ContainerTimeline};

use super::{Judgement, Observation};
use crate::evidence::{Findings, sidecar_ignored};

/// Terminations and restarts of `c` seen in `[from, to)`.
fn disruptions(c: &ContainerTimeline, from: Timestamp, to: Option<Timestamp>) -> usize {
    c.events
        .iter()
        .filter(|e| e.observed_at >= from && to.is_none_or(|to| e.observed_at < to))
        .filter(|e| {
            matches!(
                e.kind,
                ContainerEventKind::Terminated { .. } | ContainerEventKind::Restarted { .. }
            )
        })
        .count()
}

/// Judges the restart-independence fixture.
pub fn judge(obs: &Observation) -> Judgement {
    if let Some(ignored) = sidecar_ignored(obs) {
        return ignored;
    }
    let mut f = Findings::default();
    if obs.actions.is_empty() {
        f.check(false, "no container was made to exit (the pod never ran)".into());
    }
    for (i, action) in obs.actions.iter().enumerate() {
        let next = obs.actions.get(i + 1).map(|a| a.at);
        let Some(pod) = obs.timeline.pods.get(&action.pod) else {
            f.check(false, format!("pod {} was never seen", action.pod));
            continue;
        };
        let Some(target) = pod.container(&action.container) else {
            f.check(
                false,
                format!("{}: no container {}", action.pod, action.container),
            );
            continue;
        };
        let before = target.id_at(action.at).map(str::to_string);
        let restarted = target.events.iter().find(|e| {
            e.observed_at >= action.at
                && next.is_none_or(|n| e.observed_at < n)
                && matches!(e.kind, ContainerEventKind::Restarted { .. })
        });
        match restarted {
            Some(e) => f.check(
                e.container_id.is_some() && e.container_id != before,
                format!(
                    "after {} at {}: {} restarted (restartCount {}), container {} replaced by {}",
                    action.what,
                    action.at,
                    target.name,
                    e.restart_count,
                    short(before.as_deref()),
                    short(e.container_id.as_deref())
                ),
            ),
            None => f.check(
                false,
                format!(
                    "after {} at {}: {} restarted",
                    action.what, action.at, target.name
                ),
            ),
        }
        let running_again = target.events.iter().any(|e| {
            e.observed_at >= action.at
                && next.is_none_or(|n| e.observed_at < n)
                && matches!(e.kind, ContainerEventKind::Running { .. })
                && e.container_id.is_some()
                && e.container_id != before
        });
        f.check(
            running_again,
            format!("{} was running again in a new container", target.name),
        );

        for other in pod.containers.iter().filter(|c| c.name != target.name) {
            let id_before = other.id_at(action.at);
            let id_after = next.map_or_else(|| other.container_ids().last().copied(), |n| other.id_at(n));
            let hits = disruptions(other, action.at, next);
            f.check(
                hits == 0 && id_before.is_some() && id_before == id_after,
                format!(
                    "meanwhile {} kept its container {} (seen terminating or restarting {hits} time(s))",
                    other.name,
                    short(id_before)
                ),
            );
        }
    }
    // Each container restarted exactly once over the whole scenario: once per action on it.
    if let Some(pod) = obs.actions.first().and_then(|a| obs.timeline.pods.get(&a.pod)) {
        for c in &pod.containers {
            let acted = obs.actions.iter().filter(|a| a.container == c.name).count() as i32;
            f.check(
                c.max_restarts() == acted,
                format!(
                    "{} restartCount {} at the end ({} exit(s) caused)",
                    c.name,
                    c.max_restarts(),
                    acted
                ),
            );
        }
    }
    f.judgement()
}

/// The first 12 hex digits of a container ID (`containerd://0123...` → `0123456789ab`).
fn short(id: Option<&str>) -> String {
    match id {
        Some(id) => {
            let hex = id.rsplit("://").next().unwrap_or(id);
            hex.chars().take(12).collect()
        }
        None => "-".into(),
    }
}
