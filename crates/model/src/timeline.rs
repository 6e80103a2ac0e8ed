//! Timelines: what happened to each pod and each of its containers, in order, with
//! times. The recorder ([`crate::recorder`]) builds them from watch events; behaviours
//! judge them. They serialize to JSON so that real runs can be replayed in unit tests.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Everything recorded in one namespace during one behaviour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Pods by name, in the order their names sort.
    pub pods: BTreeMap<String, PodTimeline>,
}

/// What a container is in its pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContainerRole {
    /// An init container with `restartPolicy: Always` in the stored pod: a sidecar.
    Sidecar,
    /// An init container without it: runs to completion before the next one starts.
    Init,
    /// A regular (app) container.
    App,
}

/// One pod's history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PodTimeline {
    pub uid: String,
    /// Owner, as `Kind/name` (e.g. `ReplicaSet/myapp-5ffc9bd7f5`, `Job/myapp`).
    pub owner: Option<String>,
    pub events: Vec<PodEvent>,
    /// Containers by name, in spec order: init containers first.
    pub containers: Vec<ContainerTimeline>,
}

/// Something that happened to a pod as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodEvent {
    /// When the recorder saw it (the watch event's arrival).
    pub observed_at: Timestamp,
    #[serde(flatten)]
    pub kind: PodEventKind,
}

/// Kinds of pod events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum PodEventKind {
    /// First seen by the recorder.
    Seen,
    /// `status.phase` changed.
    Phase { phase: String },
    /// A condition (`Ready`, `Initialized`, ...) changed status.
    Condition {
        condition: String,
        status: String,
        reason: Option<String>,
    },
    /// The pod was deleted.
    Deleted,
}

/// One container's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerTimeline {
    pub name: String,
    pub role: ContainerRole,
    pub events: Vec<ContainerEvent>,
}

/// Something that happened to a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerEvent {
    /// When the recorder saw it.
    pub observed_at: Timestamp,
    /// The runtime's container ID at that moment, when there was one.
    pub container_id: Option<String>,
    /// `restartCount` at that moment.
    pub restart_count: i32,
    #[serde(flatten)]
    pub kind: ContainerEventKind,
}

/// Kinds of container events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum ContainerEventKind {
    /// Waiting, with the kubelet's reason (`PodInitializing`, `ContainerCreating`, `CrashLoopBackOff`, ...).
    Waiting {
        reason: Option<String>,
        /// The kubelet's message (e.g. why an image pull failed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Running since `started_at` (the runtime's time, whole seconds).
    Running { started_at: Option<Timestamp> },
    /// The `started` flag changed (startup probe passed, or the process runs and there is no probe).
    Started { started: bool },
    /// The `ready` flag changed.
    Ready { ready: bool },
    /// Terminated, with the runtime's times.
    Terminated {
        exit_code: i32,
        reason: Option<String>,
        message: Option<String>,
        started_at: Option<Timestamp>,
        finished_at: Option<Timestamp>,
    },
    /// `restartCount` went up; `previous_id` is the container that was replaced.
    Restarted { previous_id: Option<String> },
}

/// containerd's reason for a container whose task could not be created or started.
pub const START_ERROR: &str = "StartError";

impl ContainerEventKind {
    /// Whether this is the termination of a container whose process never ran: the
    /// runtime failed to create or start it (containerd reports `StartError`, exit code
    /// 128 and no start time; the kubelet then tries again with a new container). Such
    /// an attempt is a fault of the node, not a step of the pod's life.
    pub fn is_start_failure(&self) -> bool {
        match self {
            ContainerEventKind::Terminated {
                exit_code,
                reason,
                started_at,
                ..
            } => {
                reason.as_deref() == Some(START_ERROR)
                    || (*exit_code == 128 && started_at.is_none_or(|t| t == Timestamp::UNIX_EPOCH))
            }
            _ => false,
        }
    }
}

impl Timeline {
    /// Pods whose owner is `owner` (`Kind/name`), by name.
    pub fn owned_by<'a>(&'a self, owner: &'a str) -> Vec<(&'a String, &'a PodTimeline)> {
        self.pods
            .iter()
            .filter(|(_, p)| p.owner.as_deref() == Some(owner))
            .collect()
    }
}

impl PodTimeline {
    /// A container's timeline by name.
    pub fn container(&self, name: &str) -> Option<&ContainerTimeline> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// Containers of one role.
    pub fn with_role(&self, role: ContainerRole) -> impl Iterator<Item = &ContainerTimeline> {
        self.containers.iter().filter(move |c| c.role == role)
    }

    /// The pod's Ready condition as the watch saw it change: when, and whether True.
    pub fn ready_changes(&self) -> Vec<(Timestamp, bool)> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                PodEventKind::Condition {
                    condition, status, ..
                } if condition == "Ready" => Some((e.observed_at, status == "True")),
                _ => None,
            })
            .collect()
    }

    /// The last phase seen.
    pub fn last_phase(&self) -> Option<&str> {
        self.events.iter().rev().find_map(|e| match &e.kind {
            PodEventKind::Phase { phase } => Some(phase.as_str()),
            _ => None,
        })
    }
}

impl ContainerTimeline {
    /// Every `Running.started_at` the container had, in order (one per incarnation).
    pub fn running_since(&self) -> Vec<Timestamp> {
        let mut out: Vec<Timestamp> = Vec::new();
        for e in &self.events {
            if let ContainerEventKind::Running { started_at: Some(t) } = e.kind
                && out.last() != Some(&t)
            {
                out.push(t);
            }
        }
        out
    }

    /// The runtime start time of every run seen, in order, whether the watch saw the run
    /// running or only its termination (a run of a second can end between two status
    /// updates). Attempts the runtime failed to start do not count.
    pub fn run_starts(&self) -> Vec<Timestamp> {
        let mut out: Vec<Timestamp> = Vec::new();
        for e in &self.events {
            let start = match &e.kind {
                ContainerEventKind::Running { started_at: Some(t) } => Some(*t),
                k @ ContainerEventKind::Terminated {
                    started_at: Some(t), ..
                } if !k.is_start_failure() => Some(*t),
                _ => None,
            };
            if let Some(t) = start
                && !out.contains(&t)
            {
                out.push(t);
            }
        }
        out
    }

    /// The first time the container was running (runtime clock). Attempts the runtime
    /// failed to start do not count.
    pub fn first_started_at(&self) -> Option<Timestamp> {
        self.events.iter().find_map(|e| match &e.kind {
            ContainerEventKind::Running { started_at } => *started_at,
            k @ ContainerEventKind::Terminated { started_at, .. } if !k.is_start_failure() => *started_at,
            _ => None,
        })
    }

    /// The terminations of runs that really started, in order (see
    /// [`ContainerEventKind::is_start_failure`] for the others).
    pub fn terminations(&self) -> Vec<&ContainerEvent> {
        self.events
            .iter()
            .filter(|e| matches!(e.kind, ContainerEventKind::Terminated { .. }) && !e.kind.is_start_failure())
            .collect()
    }

    /// The exit codes of the runs that really started, in order.
    pub fn exit_codes(&self) -> Vec<i32> {
        self.terminations()
            .iter()
            .filter_map(|e| match &e.kind {
                ContainerEventKind::Terminated { exit_code, .. } => Some(*exit_code),
                _ => None,
            })
            .collect()
    }

    /// The attempts the runtime failed to start, in order.
    pub fn start_failures(&self) -> Vec<&ContainerEvent> {
        self.events.iter().filter(|e| e.kind.is_start_failure()).collect()
    }

    /// Distinct container IDs, in the order they appeared.
    pub fn container_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for id in self.events.iter().filter_map(|e| e.container_id.as_deref()) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// Whether the container is running at the end in the only container it ever had,
    /// and a sentence saying so, with the facts.
    pub fn kept_first_container(&self) -> (bool, String) {
        let running = matches!(self.last_state(), Some(ContainerEventKind::Running { .. }));
        let (ids, restarts) = (self.container_ids().len(), self.max_restarts());
        (
            running && ids == 1 && restarts == 0,
            format!(
                "{} running in its first container at the end (running: {running}, container IDs seen: {ids}, restarts: {restarts})",
                self.name
            ),
        )
    }

    /// The container ID it had at `t`: that of its last event at or before `t`.
    pub fn id_at(&self, t: Timestamp) -> Option<&str> {
        self.events
            .iter()
            .filter(|e| e.observed_at <= t)
            .filter_map(|e| e.container_id.as_deref())
            .next_back()
    }

    /// The restart count as of `t` (its last event at or before `t`).
    pub fn restarts_at(&self, t: Timestamp) -> i32 {
        self.events
            .iter()
            .rfind(|e| e.observed_at <= t)
            .map_or(0, |e| e.restart_count)
    }

    /// The restart count just before `t`.
    pub fn restarts_before(&self, t: Timestamp) -> i32 {
        self.events
            .iter()
            .rfind(|e| e.observed_at < t)
            .map_or(0, |e| e.restart_count)
    }

    /// The highest restart count seen.
    pub fn max_restarts(&self) -> i32 {
        self.events.iter().map(|e| e.restart_count).max().unwrap_or(0)
    }

    /// When the recorder first saw `started: true`.
    pub fn first_started_flag(&self) -> Option<Timestamp> {
        self.events.iter().find_map(|e| match e.kind {
            ContainerEventKind::Started { started: true } => Some(e.observed_at),
            _ => None,
        })
    }

    /// When the watch first saw the container running (or already finished after
    /// running).
    pub fn first_seen_running(&self) -> Option<Timestamp> {
        self.events
            .iter()
            .find(|e| {
                matches!(
                    e.kind,
                    ContainerEventKind::Running { .. } | ContainerEventKind::Terminated { .. }
                ) && !e.kind.is_start_failure()
            })
            .map(|e| e.observed_at)
    }

    /// Whether the container was ever seen running (or finished after running).
    pub fn ever_ran(&self) -> bool {
        self.first_seen_running().is_some()
    }

    /// Why the container last waited, with the kubelet's message, if it did.
    pub fn last_waiting(&self) -> Option<String> {
        self.events.iter().rev().find_map(|e| match &e.kind {
            ContainerEventKind::Waiting { reason, message } => Some(format!(
                "{}{}",
                reason.as_deref().unwrap_or("waiting"),
                message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default()
            )),
            _ => None,
        })
    }

    /// The last state event (waiting, running or terminated).
    pub fn last_state(&self) -> Option<&ContainerEventKind> {
        self.events.iter().rev().map(|e| &e.kind).find(|k| {
            matches!(
                k,
                ContainerEventKind::Waiting { .. }
                    | ContainerEventKind::Running { .. }
                    | ContainerEventKind::Terminated { .. }
            )
        })
    }
}
