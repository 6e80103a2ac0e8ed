//! "deployment-ready": the page's Deployment shows 2/2 Ready, Running, 0 restarts, and
//! its sidecar "will start and remain running during the entire life of the Pod": the
//! scenario goes on watching for [`WATCH_AFTER_READY`] after both replicas were Ready,
//! and no container may restart, change or stop in that time.

use std::time::Duration;

use jiff::Timestamp;
use sidecar_conformance_model::recorder::Recorder;
use sidecar_conformance_model::timeline::{
    ContainerEventKind, ContainerRole, ContainerTimeline, PodEventKind, Timeline,
};

use super::{Judgement, Observation};
use crate::evidence::{
    Findings, STUCK_WINDOW, ready_column, restarts_column, sidecar_ignored, status_column, stuck_behind_init,
};

/// Replicas of the page's Deployment.
const REPLICAS: usize = 2;

/// How long the replicas must be watched after they were first all Ready. "Remain
/// running during the entire life of the Pod" cannot be seen at the instant of Ready;
/// 20 s is twice the kubelet's first crash-loop back-off (10 s), so a container that
/// exits soon after it starts is seen restarting within it.
pub const WATCH_AFTER_READY: Duration = Duration::from_secs(20);

/// How much longer than [`WATCH_AFTER_READY`] the scenario watches. The judge's lower
/// bound of when the watch ended is the Deployment's creationTimestamp (whole seconds,
/// rounded down) plus the duration of the settle wait; the wait starts after the apply,
/// up to a second or so later than that timestamp says.
const SLACK: Duration = Duration::from_secs(2);

/// When the timeline first shows `replicas` pods Ready at once (the pods' `Ready`
/// condition, as the watch saw it; a deleted pod no longer counts).
fn all_ready_at(timeline: &Timeline, replicas: usize) -> Option<Timestamp> {
    let mut changes: Vec<(Timestamp, &str, bool)> = Vec::new();
    for (name, pod) in &timeline.pods {
        for e in &pod.events {
            match &e.kind {
                PodEventKind::Condition {
                    condition, status, ..
                } if condition == "Ready" => changes.push((e.observed_at, name, status == "True")),
                PodEventKind::Deleted => changes.push((e.observed_at, name, false)),
                _ => {}
            }
        }
    }
    changes.sort_by_key(|(t, _, _)| *t);
    let mut ready: Vec<&str> = Vec::new();
    for (t, name, is_ready) in changes {
        ready.retain(|n| *n != name);
        if is_ready {
            ready.push(name);
        }
        if ready.len() >= replicas {
            return Some(t);
        }
    }
    None
}

/// The first thing that happened to a container after `since` that a container
/// "remaining running" cannot do: a restart, another container ID, a state other than
/// running. A sentence saying what, when.
fn change_after(pod: &str, c: &ContainerTimeline, since: Timestamp) -> Option<String> {
    let before: Vec<_> = c.events.iter().filter(|e| e.observed_at <= since).collect();
    let restarts = before.iter().map(|e| e.restart_count).max().unwrap_or(0);
    let id = before.iter().rev().find_map(|e| e.container_id.as_deref());
    c.events.iter().filter(|e| e.observed_at > since).find_map(|e| {
        let after = e.observed_at.duration_since(since).as_secs_f64();
        let at = format!(
            "at {} ({after:.1} s after both replicas were Ready)",
            e.observed_at
        );
        if e.restart_count > restarts || matches!(e.kind, ContainerEventKind::Restarted { .. }) {
            return Some(format!(
                "pod {pod}: {} restarted after both replicas were Ready: restart count {} {at}",
                c.name, e.restart_count
            ));
        }
        if let (Some(new), Some(old)) = (e.container_id.as_deref(), id)
            && new != old
        {
            return Some(format!(
                "pod {pod}: {} changed container after both replicas were Ready: {old} -> {new} {at}",
                c.name
            ));
        }
        match &e.kind {
            ContainerEventKind::Waiting { reason, .. } => Some(format!(
                "pod {pod}: {} stopped running after both replicas were Ready: waiting ({}) {at}",
                c.name,
                reason.as_deref().unwrap_or("-")
            )),
            ContainerEventKind::Terminated { exit_code, .. } => Some(format!(
                "pod {pod}: {} stopped running after both replicas were Ready: exit code {exit_code} {at}",
                c.name
            )),
            _ => None,
        }
    })
}

/// A lower bound of when the watch ended, and how it is known: the later of the last
/// event it saw and the Deployment's creation plus the settle wait (the runner's wait
/// for `settled`; it starts after the Deployment was created). A quiet pod sends no
/// events, so the wait is what shows the watch went on. (The API server's clock
/// stamps the creation, the harness's the events: one clock on a kind node.)
fn watched_until(obs: &Observation) -> Option<(Timestamp, String)> {
    let last_event = obs
        .timeline
        .pods
        .values()
        .flat_map(|p| {
            p.events.iter().map(|e| e.observed_at).chain(
                p.containers
                    .iter()
                    .flat_map(|c| c.events.iter().map(|e| e.observed_at)),
            )
        })
        .max()
        .map(|t| (t, format!("the last event the watch saw, at {t}")));
    let created: Option<Timestamp> = obs
        .object("Deployment", "myapp")
        .and_then(|d| d["metadata"]["creationTimestamp"].as_str())
        .and_then(|t| t.parse().ok());
    let settle = obs
        .waits
        .iter()
        .find(|w| w.what.starts_with("pods settled"))
        .or(obs.waits.first());
    let waited = match (created, settle) {
        (Some(c), Some(w)) => c.checked_add(Duration::from_millis(w.after_ms)).ok().map(|t| {
            (
                t,
                format!(
                    "the Deployment's creation at {c} + the settle wait of {} ms",
                    w.after_ms
                ),
            )
        }),
        _ => None,
    };
    // Recordings since the runner kept it say when the settle wait ended, exactly.
    let ended = settle
        .and_then(|w| w.ended_at)
        .map(|t| (t, format!("the end of the settle wait, at {t}")));
    [last_event, waited, ended]
        .into_iter()
        .flatten()
        .max_by_key(|(t, _)| *t)
}

/// Settled when the replicas have been Ready for [`WATCH_AFTER_READY`] (and a margin),
/// as soon as a container restarts, changes or stops after they were Ready (the verdict
/// is made), or when the pods are held up by their init container.
pub fn settled(rec: &Recorder) -> bool {
    let live: Vec<_> = rec
        .pods()
        .values()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    let all_ready = live.len() >= REPLICAS
        && live.iter().all(|p| {
            let (ready, total) = ready_column(p);
            total > 0 && ready == total
        });
    let timeline = rec.timeline();
    let ready_at = all_ready_at(timeline, REPLICAS);
    let watched_long_enough = ready_at.is_some_and(|t| {
        Timestamp::now().duration_since(t).as_secs_f64() >= (WATCH_AFTER_READY + SLACK).as_secs_f64()
    });
    let broke = ready_at.is_some_and(|t| {
        timeline
            .pods
            .iter()
            .any(|(name, p)| p.containers.iter().any(|c| change_after(name, c, t).is_some()))
    });
    (all_ready && watched_long_enough) || broke || stuck_behind_init(rec, STUCK_WINDOW)
}

/// ` (of NAME, ...)`: which containers the RESTARTS column counts, so that a failed
/// check names them (the runner retries a play whose failed checks are all about a
/// container the runtime failed to start).
fn restarted_names(pod: &k8s_openapi::api::core::v1::Pod) -> String {
    let names: Vec<String> = pod
        .status
        .iter()
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .filter(|c| c.restart_count > 0)
        .map(|c| c.name.clone())
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" (of {})", names.join(", "))
    }
}

/// Judges the Deployment example.
pub fn judge(obs: &Observation) -> Judgement {
    if let Some(ignored) = sidecar_ignored(obs) {
        return ignored;
    }
    let mut f = Findings::default();
    let desired = obs
        .object("Deployment", "myapp")
        .and_then(|d| d["spec"]["replicas"].as_u64())
        .unwrap_or(REPLICAS as u64) as usize;
    let pods: Vec<_> = obs
        .pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    f.check(
        pods.len() == desired,
        format!("{} pod(s) of the Deployment exist, {desired} desired", pods.len()),
    );
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let (ready, total) = ready_column(pod);
        let restarts = restarts_column(pod);
        let status = status_column(pod);
        f.check(
            ready == 2 && total == 2 && restarts == 0 && status == "Running",
            format!(
                "pod {name}: READY {ready}/{total}, STATUS {status}, RESTARTS {restarts}{} (the page shows 2/2 Running 0)",
                restarted_names(pod)
            ),
        );
        if let Some(t) = obs.timeline.pods.get(&name) {
            for c in &t.containers {
                let running = matches!(c.last_state(), Some(ContainerEventKind::Running { .. }));
                let role = match c.role {
                    ContainerRole::Sidecar => "sidecar",
                    ContainerRole::Init => "regular init container",
                    ContainerRole::App => "app container",
                };
                if !running && let Some(waiting) = c.last_waiting() {
                    f.note(format!("pod {name}: {} last waited: {waiting}", c.name));
                }
                f.check(
                    running && c.container_ids().len() == 1,
                    format!(
                        "pod {name}: {role} {} running in one container (running: {running}, container IDs seen: {})",
                        c.name,
                        c.container_ids().len()
                    ),
                );
            }
            f.check(
                t.with_role(ContainerRole::Sidecar)
                    .any(|c| c.name == "logshipper"),
                format!("pod {name}: logshipper is a sidecar in the stored pod"),
            );
        }
    }

    // "Remain running during the entire life of the Pod": watched after Ready, nothing
    // restarted, changed container or stopped.
    let need = WATCH_AFTER_READY.as_secs();
    let Some(ready_at) = all_ready_at(&obs.timeline, desired) else {
        f.fail(format!(
            "the watch never saw {desired} replicas Ready at once, so nothing shows them remaining running ({need} s needed after Ready)"
        ));
        return f.judgement();
    };
    match watched_until(obs) {
        Some((end, how)) => {
            let watched = end.duration_since(ready_at).as_secs_f64().max(0.0);
            f.check(
                watched >= need as f64,
                format!(
                    "watched {watched:.1} s after both replicas were Ready at {ready_at}, need {need} s (the watch ran until at least {end}: {how})"
                ),
            );
        }
        None => f.fail(format!(
            "watched 0 s after both replicas were Ready at {ready_at}, need {need} s: the observation shows no time after it"
        )),
    }
    let mut changed = false;
    for (name, p) in &obs.timeline.pods {
        for c in &p.containers {
            if let Some(change) = change_after(name, c, ready_at) {
                changed = true;
                f.fail(change);
            }
        }
    }
    if !changed {
        f.note(format!(
            "no container restarted, changed container or stopped after both replicas were Ready at {ready_at}"
        ));
    }
    f.judgement()
}
