//! The recorder: turns every change it is shown of a namespace's pods into
//! [`Timeline`] events. The harness's live recorder feeds it the objects of a pod watch
//! and has scenario steps wait on its state (each watch event wakes them); the
//! catalogue's `settled` conditions and the judges read it.
//!
//! [`Recorder::observe`] is a pure function of the pod objects it is fed, so the
//! conversion is unit-tested without a cluster.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ContainerState, ContainerStatus, Pod};

use crate::timeline::{
    ContainerEvent, ContainerEventKind, ContainerRole, ContainerTimeline, PodEvent, PodEventKind,
    PodTimeline, Timeline,
};

/// The last status seen of one container, to tell what changed.
#[derive(Debug, Clone, Default, PartialEq)]
struct Snapshot {
    id: Option<String>,
    restart_count: i32,
    state: Option<ContainerEventKind>,
    started: Option<bool>,
    ready: Option<bool>,
}

/// Builds a timeline from successive pod objects.
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    timeline: Timeline,
    /// The last object seen of each pod (also of deleted ones).
    last: BTreeMap<String, Pod>,
    snapshots: BTreeMap<(String, String), Snapshot>,
    phases: BTreeMap<String, String>,
    conditions: BTreeMap<(String, String), String>,
}

impl Recorder {
    /// The timeline so far.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The last object seen of each pod.
    pub fn pods(&self) -> &BTreeMap<String, Pod> {
        &self.last
    }

    /// Feeds one pod object, seen at `now`.
    pub fn observe(&mut self, pod: &Pod, now: Timestamp) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let entry = self.timeline.pods.entry(name.clone()).or_insert_with(|| {
            let owner = pod
                .metadata
                .owner_references
                .as_ref()
                .and_then(|o| o.first())
                .map(|o| format!("{}/{}", o.kind, o.name));
            let mut t = PodTimeline {
                uid: pod.metadata.uid.clone().unwrap_or_default(),
                owner,
                ..Default::default()
            };
            t.events.push(PodEvent {
                observed_at: now,
                kind: PodEventKind::Seen,
            });
            t
        });
        let spec = pod.spec.clone().unwrap_or_default();
        if entry.containers.is_empty() {
            for c in spec.init_containers.iter().flatten() {
                let role = if c.restart_policy.as_deref() == Some("Always") {
                    ContainerRole::Sidecar
                } else {
                    ContainerRole::Init
                };
                entry.containers.push(ContainerTimeline {
                    name: c.name.clone(),
                    role,
                    events: vec![],
                });
            }
            for c in &spec.containers {
                entry.containers.push(ContainerTimeline {
                    name: c.name.clone(),
                    role: ContainerRole::App,
                    events: vec![],
                });
            }
        }
        let status = pod.status.clone().unwrap_or_default();
        if let Some(phase) = &status.phase
            && self.phases.get(&name) != Some(phase)
        {
            self.phases.insert(name.clone(), phase.clone());
            entry.events.push(PodEvent {
                observed_at: now,
                kind: PodEventKind::Phase { phase: phase.clone() },
            });
        }
        for c in status.conditions.iter().flatten() {
            let key = (name.clone(), c.type_.clone());
            if self.conditions.get(&key) != Some(&c.status) {
                self.conditions.insert(key, c.status.clone());
                entry.events.push(PodEvent {
                    observed_at: now,
                    kind: PodEventKind::Condition {
                        condition: c.type_.clone(),
                        status: c.status.clone(),
                        reason: c.reason.clone(),
                    },
                });
            }
        }
        let statuses = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten());
        for cs in statuses {
            let Some(ct) = entry.containers.iter_mut().find(|c| c.name == cs.name) else {
                continue;
            };
            let key = (name.clone(), cs.name.clone());
            let before = self.snapshots.get(&key).cloned().unwrap_or_default();
            let after = snapshot(cs);
            record_container_changes(ct, &before, &after, cs, now);
            self.snapshots.insert(key, after);
        }
        self.last.insert(name, pod.clone());
    }

    /// Records that a pod was deleted.
    pub fn deleted(&mut self, pod: &Pod, now: Timestamp) {
        self.observe(pod, now);
        if let Some(t) = self
            .timeline
            .pods
            .get_mut(pod.metadata.name.as_deref().unwrap_or_default())
        {
            t.events.push(PodEvent {
                observed_at: now,
                kind: PodEventKind::Deleted,
            });
        }
    }
}

fn snapshot(cs: &ContainerStatus) -> Snapshot {
    Snapshot {
        id: cs.container_id.clone(),
        restart_count: cs.restart_count,
        state: cs.state.as_ref().and_then(state_kind),
        started: cs.started,
        ready: Some(cs.ready),
    }
}

fn state_kind(state: &ContainerState) -> Option<ContainerEventKind> {
    if let Some(r) = &state.running {
        return Some(ContainerEventKind::Running {
            started_at: r.started_at.as_ref().map(|t| t.0),
        });
    }
    if let Some(t) = &state.terminated {
        return Some(ContainerEventKind::Terminated {
            exit_code: t.exit_code,
            reason: t.reason.clone(),
            message: t.message.clone(),
            started_at: t.started_at.as_ref().map(|t| t.0),
            finished_at: t.finished_at.as_ref().map(|t| t.0),
        });
    }
    if let Some(w) = &state.waiting {
        return Some(ContainerEventKind::Waiting {
            reason: w.reason.clone(),
            message: w.message.clone(),
        });
    }
    None
}

fn record_container_changes(
    ct: &mut ContainerTimeline,
    before: &Snapshot,
    after: &Snapshot,
    cs: &ContainerStatus,
    now: Timestamp,
) {
    // The incarnation that ended, as lastState reports it, and whether its end is
    // already in the timeline (seen as the current state earlier, possibly followed by
    // a CrashLoopBackOff wait).
    let last_terminated = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    let last_id = last_terminated
        .and_then(|t| t.container_id.clone())
        .or_else(|| before.id.clone());
    let end_recorded = matches!(before.state, Some(ContainerEventKind::Terminated { .. }))
        || (last_id.is_some()
            && ct.events.iter().any(|e| {
                matches!(e.kind, ContainerEventKind::Terminated { .. }) && e.container_id == last_id
            }));
    let mut push = |kind: ContainerEventKind, id: Option<String>| {
        ct.events.push(ContainerEvent {
            observed_at: now,
            container_id: id,
            restart_count: after.restart_count,
            kind,
        });
    };
    if after.restart_count > before.restart_count {
        // A restart between two watch events: the terminated incarnation only shows in
        // lastState. Record its end unless it is already recorded.
        if !end_recorded && let Some(last) = last_terminated {
            push(
                ContainerEventKind::Terminated {
                    exit_code: last.exit_code,
                    reason: last.reason.clone(),
                    message: last.message.clone(),
                    started_at: last.started_at.as_ref().map(|t| t.0),
                    finished_at: last.finished_at.as_ref().map(|t| t.0),
                },
                last_id.clone(),
            );
        }
        push(
            ContainerEventKind::Restarted {
                previous_id: before.id.clone(),
            },
            after.id.clone(),
        );
    }
    if (after.state != before.state || (after.id != before.id && after.id.is_some()))
        && let Some(state) = &after.state
    {
        push(state.clone(), after.id.clone());
    }
    if after.started != before.started
        && let Some(started) = after.started
    {
        push(ContainerEventKind::Started { started }, after.id.clone());
    }
    if after.ready != before.ready
        && let Some(ready) = after.ready
    {
        push(ContainerEventKind::Ready { ready }, after.id.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(init_status: serde_json::Value, app_status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "uid": "u1"},
            "spec": {
                "initContainers": [{"name": "side", "image": "i", "restartPolicy": "Always"}],
                "containers": [{"name": "app", "image": "i"}]
            },
            "status": {
                "phase": "Running",
                "initContainerStatuses": [init_status],
                "containerStatuses": [app_status]
            }
        }))
        .unwrap()
    }

    fn running(name: &str, id: &str, restarts: i32, started_at: &str) -> serde_json::Value {
        json!({"name": name, "image": "i", "imageID": "", "ready": true, "started": true,
               "restartCount": restarts, "containerID": id,
               "state": {"running": {"startedAt": started_at}}})
    }

    #[test]
    fn a_restart_between_two_events_is_recorded_with_its_termination() {
        let mut rec = Recorder::default();
        let t0: Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        let t1: Timestamp = "2026-11-27T10:00:05Z".parse().unwrap();
        rec.observe(
            &pod(
                running("side", "c://a", 0, "2026-11-27T09:59:58Z"),
                running("app", "c://x", 0, "2026-11-27T09:59:59Z"),
            ),
            t0,
        );
        let mut restarted = running("side", "c://b", 1, "2026-11-27T10:00:04Z");
        restarted["lastState"] = json!({"terminated": {"exitCode": 143, "reason": "Error", "containerID": "c://a",
            "startedAt": "2026-11-27T09:59:58Z", "finishedAt": "2026-11-27T10:00:03Z"}});
        rec.observe(
            &pod(restarted, running("app", "c://x", 0, "2026-11-27T09:59:59Z")),
            t1,
        );

        let p = &rec.timeline().pods["p"];
        let side = p.container("side").unwrap();
        assert_eq!(side.role, ContainerRole::Sidecar);
        assert_eq!(side.container_ids(), vec!["c://a", "c://b"]);
        assert_eq!(side.max_restarts(), 1);
        assert_eq!(side.terminations().len(), 1);
        assert!(matches!(
            side.terminations()[0].kind,
            ContainerEventKind::Terminated { exit_code: 143, .. }
        ));
        assert_eq!(side.running_since().len(), 2);
        let app = p.container("app").unwrap();
        assert_eq!(app.container_ids(), vec!["c://x"]);
        assert_eq!(app.max_restarts(), 0);
        // Unchanged status produces no events.
        let n = app.events.len();
        rec.observe(
            &pod(
                running("side", "c://b", 1, "2026-11-27T10:00:04Z"),
                running("app", "c://x", 0, "2026-11-27T09:59:59Z"),
            ),
            t1,
        );
        assert_eq!(rec.timeline().pods["p"].container("app").unwrap().events.len(), n);
    }

    #[test]
    fn an_end_seen_before_a_back_off_wait_is_recorded_once() {
        // As a real 1.37.2 run showed it: terminated, then waiting in CrashLoopBackOff,
        // then running in a new container with the old end in lastState.
        let app = running("app", "c://x", 0, "2026-11-27T09:59:59Z");
        let ended = json!({"terminated": {"exitCode": 1, "reason": "Error", "containerID": "c://a",
            "startedAt": "2026-11-27T10:00:00Z", "finishedAt": "2026-11-27T10:00:02Z"}});
        let mut rec = Recorder::default();
        let at = |s: &str| -> Timestamp { s.parse().unwrap() };
        rec.observe(
            &pod(running("side", "c://a", 0, "2026-11-27T10:00:00Z"), app.clone()),
            at("2026-11-27T10:00:01Z"),
        );
        let mut terminated = running("side", "c://a", 0, "2026-11-27T10:00:00Z");
        terminated["state"] = ended.clone();
        rec.observe(&pod(terminated, app.clone()), at("2026-11-27T10:00:03Z"));
        let mut waiting = running("side", "c://a", 1, "2026-11-27T10:00:00Z");
        waiting["state"] = json!({"waiting": {"reason": "CrashLoopBackOff"}});
        waiting["lastState"] = ended.clone();
        rec.observe(&pod(waiting, app.clone()), at("2026-11-27T10:00:04Z"));
        let mut back = running("side", "c://b", 2, "2026-11-27T10:00:14Z");
        back["lastState"] = ended;
        rec.observe(&pod(back, app), at("2026-11-27T10:00:15Z"));

        let side = rec.timeline().pods["p"].container("side").unwrap().clone();
        assert_eq!(side.terminations().len(), 1, "{:#?}", side.events);
        assert_eq!(side.container_ids(), vec!["c://a", "c://b"]);
        assert_eq!(side.running_since().len(), 2);
    }

    #[test]
    fn an_init_container_without_restart_policy_is_not_a_sidecar() {
        let mut p = pod(
            running("side", "c://a", 0, "2026-11-27T09:59:58Z"),
            json!({"name": "app", "image": "i",
            "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}),
        );
        p.spec.as_mut().unwrap().init_containers.as_mut().unwrap()[0].restart_policy = None;
        let mut rec = Recorder::default();
        rec.observe(&p, Timestamp::now());
        let t = &rec.timeline().pods["p"];
        assert_eq!(t.container("side").unwrap().role, ContainerRole::Init);
        assert!(!t.container("app").unwrap().ever_ran());
    }
}
