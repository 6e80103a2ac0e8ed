//! Facts several judges read from an observation.

use k8s_openapi::api::core::v1::Pod;

use super::{Judgement, Observation, Outcome};

/// Evidence gathered check by check: a failed check makes the claim `Violated` and is
/// marked `NOT:` in the evidence.
#[derive(Debug)]
pub struct Findings {
    holds: bool,
    evidence: Vec<String>,
}

impl Default for Findings {
    fn default() -> Self {
        Findings {
            holds: true,
            evidence: Vec::new(),
        }
    }
}

impl Findings {
    /// Records a check: `msg` states what should be true.
    pub fn check(&mut self, ok: bool, msg: String) {
        self.holds &= ok;
        self.evidence.push(if ok { msg } else { format!("NOT: {msg}") });
    }

    /// Records a fact that does not decide anything.
    pub fn note(&mut self, msg: String) {
        self.evidence.push(msg);
    }

    /// Records a failed check.
    pub fn fail(&mut self, msg: String) {
        self.check(false, msg);
    }

    /// `Holds` if every check passed, else `Violated`.
    pub fn judgement(self) -> Judgement {
        Judgement {
            outcome: if self.holds {
                Outcome::Holds
            } else {
                Outcome::Violated
            },
            evidence: self.evidence,
        }
    }
}
use crate::doc;
use crate::timeline::{ContainerEventKind, ContainerRole};

/// Names of the init containers the applied manifests declare with
/// `restartPolicy: Always` (in pods and in pod templates).
pub fn declared_sidecars(obs: &Observation) -> Vec<String> {
    let mut names = Vec::new();
    for path in &obs.manifests {
        let Some(m) = doc::ALL_MANIFESTS.iter().find(|m| m.path == path) else {
            continue;
        };
        let Ok(docs) = serde_saphyr::from_multiple::<serde_json::Value>(m.text) else {
            continue;
        };
        for d in docs {
            let spec = if d["kind"] == "Pod" {
                &d["spec"]
            } else {
                &d["spec"]["template"]["spec"]
            };
            for c in spec["initContainers"].as_array().into_iter().flatten() {
                if c["restartPolicy"] == "Always"
                    && let Some(n) = c["name"].as_str()
                {
                    names.push(n.to_string());
                }
            }
        }
    }
    names
}

/// `SidecarIgnored` when a declared sidecar was stored without `restartPolicy` (the API
/// server dropped it), ran, and no app container of its pod ever started.
pub fn sidecar_ignored(obs: &Observation) -> Option<Judgement> {
    let declared = declared_sidecars(obs);
    // A sidecar with a startup probe: once the API server has dropped its restartPolicy,
    // the probe is invalid on what is now a regular init container, and the pod is refused.
    if let Some(r) = obs.rejections.iter().find(|r| {
        r.message
            .contains("may not be set for init containers without restartPolicy=Always")
    }) {
        return Some(Judgement {
            outcome: Outcome::SidecarIgnored,
            evidence: vec![
                format!("the API server refused {} of {}: {}", r.object, r.file, r.message),
                format!(
                    "the manifest declares {} with restartPolicy: Always; the API server dropped the field, which left a probe on a regular init container",
                    declared.join(", ")
                ),
            ],
        });
    }
    let mut evidence = Vec::new();
    // At least one would-be sidecar must be seen holding its pod up.
    let mut held_up = false;
    for (pod_name, pod) in &obs.timeline.pods {
        for c in pod.containers.iter().filter(|c| declared.contains(&c.name)) {
            if c.role != ContainerRole::Init {
                return None;
            }
            evidence.push(format!(
                "pod {pod_name}: init container {} is declared with restartPolicy: Always but the stored pod has none (the API server dropped the field)",
                c.name
            ));
            let ran = c.ever_ran();
            let exited = !c.terminations().is_empty();
            if exited {
                return None;
            }
            if !ran {
                // A later would-be sidecar waits behind the first, which never exits.
                evidence.push(format!(
                    "pod {pod_name}: {} never started: it waits behind the init container before it",
                    c.name
                ));
                continue;
            }
            held_up = true;
            evidence.push(format!(
                "pod {pod_name}: {} has been running since {} as a regular init container and never exited",
                c.name,
                fmt_time(c.first_started_at())
            ));
            let apps: Vec<&str> = pod
                .with_role(ContainerRole::App)
                .map(|a| a.name.as_str())
                .collect();
            if pod.with_role(ContainerRole::App).any(|a| a.ever_ran()) {
                return None;
            }
            evidence.push(format!(
                "pod {pod_name}: app container(s) {} never started; last phase {}",
                apps.join(", "),
                pod.last_phase().unwrap_or("unknown")
            ));
            if let Some(p) = obs.pod(pod_name) {
                let (ready, total) = ready_column(p);
                evidence.push(format!(
                    "pod {pod_name}: kubectl would show READY {ready}/{total}, STATUS {}",
                    status_column(p)
                ));
            }
        }
    }
    held_up.then_some(Judgement {
        outcome: Outcome::SidecarIgnored,
        evidence,
    })
}

/// The READY column of `kubectl get pods`: ready app containers plus ready sidecars,
/// over app containers plus sidecars (kubectl counts restartable init containers since
/// 1.29).
pub fn ready_column(pod: &Pod) -> (usize, usize) {
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let sidecars: Vec<String> = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.clone())
        .collect();
    let total = spec.containers.len() + sidecars.len();
    let ready_apps = status
        .container_statuses
        .iter()
        .flatten()
        .filter(|s| s.ready)
        .count();
    let ready_sidecars = status
        .init_container_statuses
        .iter()
        .flatten()
        .filter(|s| sidecars.contains(&s.name) && s.ready)
        .count();
    (ready_apps + ready_sidecars, total)
}

/// The RESTARTS column: all restarts of app and init containers.
pub fn restarts_column(pod: &Pod) -> i32 {
    let status = pod.status.clone().unwrap_or_default();
    status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
        .map(|s| s.restart_count)
        .sum()
}

/// The STATUS column, simplified: `Init:N/M` while regular init containers run, the
/// waiting reason of an app container, else the phase.
pub fn status_column(pod: &Pod) -> String {
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let regular_init: Vec<&str> = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() != Some("Always"))
        .map(|c| c.name.as_str())
        .collect();
    let inits = status.init_container_statuses.clone().unwrap_or_default();
    let done = inits
        .iter()
        .filter(|s| regular_init.contains(&s.name.as_str()))
        .filter(|s| {
            s.state
                .as_ref()
                .and_then(|st| st.terminated.as_ref())
                .is_some_and(|t| t.exit_code == 0)
        })
        .count();
    // As kubectl: an init container stuck waiting (image pull, crash loop) shows its reason.
    let stuck_init = inits.iter().find_map(|s| {
        s.state
            .as_ref()
            .and_then(|st| st.waiting.as_ref())
            .and_then(|w| w.reason.clone())
            .filter(|r| r != "PodInitializing")
    });
    if let Some(reason) = stuck_init {
        return format!("Init:{reason}");
    }
    if !regular_init.is_empty() && done < regular_init.len() {
        return format!("Init:{done}/{}", regular_init.len());
    }
    for s in status.container_statuses.iter().flatten() {
        if let Some(reason) = s
            .state
            .as_ref()
            .and_then(|st| st.waiting.as_ref())
            .and_then(|w| w.reason.clone())
        {
            return reason;
        }
    }
    status.phase.unwrap_or_else(|| "Unknown".into())
}

/// A timestamp for evidence, `-` when absent.
pub fn fmt_time(t: Option<jiff::Timestamp>) -> String {
    t.map(|t| t.to_string()).unwrap_or_else(|| "-".into())
}

/// A terminated event's exit code and times, when it is one.
pub fn termination(
    kind: &ContainerEventKind,
) -> Option<(i32, Option<jiff::Timestamp>, Option<jiff::Timestamp>)> {
    match kind {
        ContainerEventKind::Terminated {
            exit_code,
            started_at,
            finished_at,
            ..
        } => Some((*exit_code, *started_at, *finished_at)),
        _ => None,
    }
}

/// Whether some pod is held up by a regular init container that has been running for
/// at least `window` (seen by the recorder) while none of its app containers ever ran:
/// the shape of a pod whose sidecar was turned into a regular init container.
pub fn stuck_behind_init(rec: &crate::observe::Recorder, window: std::time::Duration) -> bool {
    let now = jiff::Timestamp::now();
    rec.timeline().pods.values().any(|pod| {
        let apps_never_ran = !pod.with_role(ContainerRole::App).any(|a| a.ever_ran());
        apps_never_ran
            && pod.with_role(ContainerRole::Init).any(|c| {
                c.terminations().is_empty()
                    && c.events.iter().any(|e| {
                        matches!(e.kind, ContainerEventKind::Running { .. })
                            && now.duration_since(e.observed_at).as_secs_f64() >= window.as_secs_f64()
                    })
            })
    })
}

/// How long a would-be sidecar must hold up its pod before a scenario stops waiting.
pub const STUCK_WINDOW: std::time::Duration = std::time::Duration::from_secs(20);

/// The container starts the runtime failed (`StartError`), one line each, with the
/// runtime's message: faults of the node that the kubelet retries on its own. On cgroup
/// v1 hosts under load, runc's `unable to freeze` is the usual one.
pub fn runtime_start_failures(obs: &Observation) -> Vec<String> {
    let mut out = Vec::new();
    for (pod_name, pod) in &obs.timeline.pods {
        for c in &pod.containers {
            for e in c.start_failures() {
                if let ContainerEventKind::Terminated { reason, message, .. } = &e.kind {
                    out.push(format!(
                        "pod {pod_name}: the container runtime failed to start {} ({}, seen at {}): {}",
                        c.name,
                        reason.as_deref().unwrap_or("exit 128"),
                        e.observed_at,
                        message.as_deref().unwrap_or("no message")
                    ));
                }
            }
        }
    }
    out
}

/// A `Violated` judgement for an observation that lacks what the judge needs.
pub fn missing(what: String) -> Judgement {
    Judgement {
        outcome: Outcome::Violated,
        evidence: vec![what],
    }
}

/// Settled once `container` of `pod` ran, or when a pod is held up by an init container.
pub fn ran_or_held_up(rec: &crate::observe::Recorder, pod: &str, container: &str) -> bool {
    let ran = rec
        .timeline()
        .pods
        .get(pod)
        .and_then(|p| p.container(container))
        .is_some_and(|c| c.ever_ran());
    ran || stuck_behind_init(rec, STUCK_WINDOW)
}
