//! `check`: the sidecar invariants, judged on every pod of workloads the user brings
//! (their manifests, or any page's yaml blocks), not on fixtures written for one claim.
//!
//! The catalogue's judges know their pods and containers by name; these know nothing of
//! the workload and read everything from the stored pods: which init containers are
//! sidecars (`restartPolicy: Always` in the stored spec), which have readiness probes,
//! which pods belong to a Job. Each invariant is judged per workload (a Deployment, a
//! Job, a bare Pod) over all of its pods. An invariant a workload gave no occasion to
//! show (no sidecar restarted, the pod was not deleted) is not judged at all: it gets a
//! note saying why, never a pass without evidence.
//!
//! The rules are stated as this project reads the Kubernetes documentation
//! (concepts/workloads/pods/sidecar-containers and pod lifecycle); [`Invariant::rule`]
//! is the sentence a result cites.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use sidecar_conformance_model::judgement::{Judgement, Outcome};
use sidecar_conformance_model::observation::Observation;
use sidecar_conformance_model::recorder::Recorder;
use sidecar_conformance_model::timeline::{
    ContainerEventKind, ContainerRole, ContainerTimeline, PodTimeline,
};

use sidecar_conformance_model::fault::{PULL_GRACE, pod_image_pull_failure};

use crate::evidence::{Findings, declared_sidecars, fmt_time, stuck_behind_init, termination};

/// A rule every pod with sidecars must follow, whatever its workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Invariant {
    /// The API server accepts the object as written.
    Accepted,
    StartsFirst,
    ReadyFollowsSidecars,
    AppsSurviveSidecarRestarts,
    JobCompletes,
    TerminationOrder,
    EffectiveRequests,
}

impl Invariant {
    pub const ALL: [Invariant; 7] = [
        Invariant::Accepted,
        Invariant::StartsFirst,
        Invariant::ReadyFollowsSidecars,
        Invariant::AppsSurviveSidecarRestarts,
        Invariant::JobCompletes,
        Invariant::TerminationOrder,
        Invariant::EffectiveRequests,
    ];

    /// Stable identifier: with the workload, the result's `behaviour` in reports
    /// (`sidecars-start-first@Deployment/web`), so `report diff` pairs them across runs.
    pub fn id(self) -> &'static str {
        match self {
            Invariant::Accepted => "accepted",
            Invariant::StartsFirst => "sidecars-start-first",
            Invariant::ReadyFollowsSidecars => "ready-follows-sidecars",
            Invariant::AppsSurviveSidecarRestarts => "apps-survive-sidecar-restarts",
            Invariant::JobCompletes => "job-completes-with-sidecars",
            Invariant::TerminationOrder => "sidecars-terminate-last",
            Invariant::EffectiveRequests => "effective-requests",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Invariant::Accepted => "The API server accepts the object",
            Invariant::StartsFirst => "Each sidecar is started before the containers after it start",
            Invariant::ReadyFollowsSidecars => "The pod is Ready only while its sidecars are ready",
            Invariant::AppsSurviveSidecarRestarts => "App containers keep running when a sidecar restarts",
            Invariant::JobCompletes => "A Job's pod completes once its main containers finished",
            Invariant::TerminationOrder => "Sidecars stop after the app containers, later sidecars first",
            Invariant::EffectiveRequests => "The scheduler places the pod by its effective requests",
        }
    }

    /// The rule as this project states it from the Kubernetes documentation.
    pub fn rule(self) -> &'static str {
        match self {
            Invariant::Accepted => {
                "A manifest a cluster is to run must be valid Kubernetes for that cluster (strict field validation)."
            }
            Invariant::StartsFirst => {
                "Sidecar containers are started in the order of initContainers; the kubelet starts the next init container, and the app containers, only after a sidecar is running and its startupProbe (if any) has succeeded (started: true)."
            }
            Invariant::ReadyFollowsSidecars => {
                "A pod's Ready condition counts its sidecars: the pod is Ready only while every sidecar is ready (by its readinessProbe, or by running when it has none)."
            }
            Invariant::AppsSurviveSidecarRestarts => {
                "A sidecar that exits is restarted on its own, like an app container under restartPolicy Always; the app containers keep running in the containers they had."
            }
            Invariant::JobCompletes => {
                "Sidecars do not keep a pod from completing: once the main containers finished, the kubelet stops the sidecars and the pod (and its Job) completes, or fails as it would without sidecars."
            }
            Invariant::TerminationOrder => {
                "On pod termination the kubelet stops the app containers first, then the sidecars in the reverse order of initContainers; a sidecar's non-zero exit code at termination is normal."
            }
            Invariant::EffectiveRequests => {
                "A pod's effective request is the higher of the sum of its app containers and sidecars, and the peak of its init phase, where a regular init container runs alongside the sidecars started before it (resourcehelper.PodRequests); the scheduler places the pod only on a node whose allocatable covers it."
            }
        }
    }
}

/// One invariant's judgement on one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub invariant: Invariant,
    /// `Kind/name` of the workload (the owning Deployment or Job, or the Pod).
    pub workload: String,
    pub judgement: Judgement,
}

impl Verdict {
    /// The result's identifier in reports: `invariant@Kind/name`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.invariant.id(), self.workload)
    }
}

/// What a check found: verdicts, notes for what it could not judge, and workloads that
/// could not be judged at all because an image could not be pulled (`Kind/name`, why).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checked {
    pub verdicts: Vec<Verdict>,
    pub notes: Vec<String>,
    pub unpulled: Vec<(String, String)>,
}

/// Settled once at least one pod was seen and every pod has finished, is Ready, or is
/// held up behind an init container (what a cluster with sidecars disabled does).
pub fn settled(rec: &Recorder) -> bool {
    let pods = &rec.timeline().pods;
    let now = Timestamp::now();
    !pods.is_empty()
        && (stuck_behind_init(rec, crate::evidence::STUCK_WINDOW)
            || pods.iter().all(|(name, p)| {
                matches!(p.last_phase(), Some("Succeeded" | "Failed"))
                    || rec.pods().get(name).is_some_and(pod_ready)
                    || pod_image_pull_failure(name, p, now).is_some()
            }))
}

fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Judges every invariant on every workload of the observation.
pub fn judge(obs: &Observation) -> Checked {
    let mut out = Checked::default();
    for o in &obs.applied {
        out.verdicts.push(Verdict {
            invariant: Invariant::Accepted,
            workload: o.to_string(),
            judgement: Judgement {
                outcome: Outcome::Holds,
                evidence: vec![format!("the API server accepted {o} ({})", o.api_version)],
                page_findings: vec![],
            },
        });
    }
    let declared = declared_sidecars(obs);
    for r in &obs.rejections {
        let ignored = r.message.contains(crate::evidence::PROBE_WITHOUT_RESTART_POLICY);
        out.verdicts.push(Verdict {
            invariant: Invariant::Accepted,
            workload: if r.object.starts_with("document ") {
                r.file.clone()
            } else {
                r.object.split_whitespace().take(2).collect::<Vec<_>>().join("/")
            },
            judgement: Judgement {
                outcome: if ignored { Outcome::SidecarIgnored } else { Outcome::Rejected },
                evidence: std::iter::once(format!("the API server rejected {} of {}: {}", r.object, r.file, r.message))
                    .chain(ignored.then(|| "the API server dropped restartPolicy: Always from a declared sidecar, which left a probe on a regular init container: sidecars are disabled on this cluster".to_string()))
                    .collect(),
                page_findings: vec![],
            },
        });
    }
    let mut workloads: BTreeMap<String, Vec<(&String, &PodTimeline)>> = BTreeMap::new();
    for (name, pod) in &obs.timeline.pods {
        workloads
            .entry(workload_of(obs, name, pod))
            .or_default()
            .push((name, pod));
    }
    for (workload, pods) in workloads {
        // A pod still waiting for an image at the end shows nothing of its sidecars.
        let end = pods
            .iter()
            .flat_map(|(_, p)| {
                p.containers
                    .iter()
                    .flat_map(|c| c.events.iter().map(|e| e.observed_at))
            })
            .max()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let unpulled: Vec<String> = pods
            .iter()
            .filter_map(|(name, p)| {
                pod_image_pull_failure(name, p, end.saturating_add(PULL_GRACE).unwrap_or(end))
            })
            .map(|f| f.detail)
            .collect();
        if !unpulled.is_empty() {
            out.unpulled.push((workload, unpulled.join("; ")));
            continue;
        }
        let with_sidecars: Vec<_> = pods
            .iter()
            .filter(|(_, p)| p.with_role(ContainerRole::Sidecar).next().is_some())
            .copied()
            .collect();
        let ignored: Vec<String> = pods
            .iter()
            .flat_map(|(name, p)| ignored_in_pod(&declared, name, p))
            .collect();
        if !ignored.is_empty() {
            for inv in applicable(&workload) {
                out.verdicts.push(Verdict {
                    invariant: inv,
                    workload: workload.clone(),
                    judgement: Judgement {
                        outcome: Outcome::SidecarIgnored,
                        evidence: ignored.clone(),
                        page_findings: vec![],
                    },
                });
            }
            continue;
        }
        if with_sidecars.is_empty() {
            out.notes.push(format!(
                "{workload}: no pod has a sidecar (an init container with restartPolicy: Always): no sidecar invariant applies"
            ));
            continue;
        }
        for inv in applicable(&workload) {
            let mut f = Findings::default();
            let mut why_not = Vec::new();
            for (name, pod) in &with_sidecars {
                let judged = match inv {
                    Invariant::StartsFirst => starts_first(name, pod),
                    Invariant::ReadyFollowsSidecars => ready_follows_sidecars(obs, name, pod),
                    Invariant::AppsSurviveSidecarRestarts => apps_survive(obs, name, pod),
                    Invariant::JobCompletes => job_completes(obs, &workload, name, pod),
                    Invariant::TerminationOrder => termination_order(obs, name, pod),
                    Invariant::EffectiveRequests => effective_requests(obs, name),
                    Invariant::Accepted => continue,
                };
                match judged {
                    Ok(pod_findings) => pod_findings.into_iter().for_each(|(ok, line)| match ok {
                        Some(ok) => f.check(ok, line),
                        None => f.note(line),
                    }),
                    Err(why) => why_not.push(why),
                }
            }
            let judged_any = why_not.len() < with_sidecars.len();
            if judged_any {
                out.verdicts.push(Verdict {
                    invariant: inv,
                    workload: workload.clone(),
                    judgement: f.judgement(),
                });
            } else {
                out.notes.push(format!(
                    "{workload}: {} not judged: {}",
                    inv.id(),
                    why_not.join("; ")
                ));
            }
        }
    }
    out
}

/// The invariants that apply to a workload of this kind.
fn applicable(workload: &str) -> Vec<Invariant> {
    let job = workload.starts_with("Job/");
    Invariant::ALL
        .into_iter()
        .filter(|i| *i != Invariant::Accepted && (job || *i != Invariant::JobCompletes))
        .collect()
}

/// The workload a pod belongs to: the Deployment of its ReplicaSet when one was applied,
/// else its owner, else the pod itself.
fn workload_of(obs: &Observation, name: &str, pod: &PodTimeline) -> String {
    match pod.owner.as_deref().and_then(|o| o.split_once('/')) {
        Some(("ReplicaSet", rs)) => obs
            .applied
            .iter()
            .find(|o| {
                o.kind == "Deployment"
                    && rs
                        .strip_prefix(o.name.as_str())
                        .is_some_and(|r| r.starts_with('-'))
            })
            .map(|d| format!("Deployment/{}", d.name))
            .unwrap_or_else(|| format!("ReplicaSet/{rs}")),
        Some((kind, owner)) => format!("{kind}/{owner}"),
        None => format!("Pod/{name}"),
    }
}

/// A pod's facts, each `Some(ok)` for a check and `None` for a note; `Err(why)` when the
/// pod gave the invariant no occasion to show.
type PodFindings = Result<Vec<(Option<bool>, String)>, String>;

/// The evidence that the API server dropped `restartPolicy: Always` from the init
/// containers the manifest declares as sidecars (empty when it did not).
fn ignored_in_pod(declared: &[String], name: &str, pod: &PodTimeline) -> Vec<String> {
    let dropped: Vec<&ContainerTimeline> = pod
        .with_role(ContainerRole::Init)
        .filter(|c| declared.contains(&c.name))
        .collect();
    if dropped.is_empty() {
        return vec![];
    }
    let mut out: Vec<String> = dropped
        .iter()
        .map(|c| {
            format!(
                "pod {name}: {} is declared with restartPolicy: Always but stored as a regular init container (the API server dropped the field: sidecars are disabled)",
                c.name
            )
        })
        .collect();
    let apps: Vec<&ContainerTimeline> = pod.with_role(ContainerRole::App).collect();
    let started: Vec<&str> = apps
        .iter()
        .filter(|a| a.ever_ran())
        .map(|a| a.name.as_str())
        .collect();
    out.push(if started.is_empty() {
        format!(
            "pod {name}: app container(s) {} never started (held up behind the would-be sidecar); last phase {}",
            apps.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "),
            pod.last_phase().unwrap_or("unknown")
        )
    } else {
        format!("pod {name}: app container(s) {} started", started.join(", "))
    });
    if let Some(holder) = dropped.iter().find(|c| {
        c.terminations().is_empty() && matches!(c.last_state(), Some(ContainerEventKind::Running { .. }))
    }) {
        out.push(format!(
            "pod {name}: {} has been running since {} as a regular init container and never exited",
            holder.name,
            fmt_time(holder.first_started_at()),
        ));
    }
    out
}

/// 1. Each sidecar was running and `started` before anything after it in the pod started.
fn starts_first(name: &str, pod: &PodTimeline) -> PodFindings {
    let inits: Vec<&ContainerTimeline> = pod
        .containers
        .iter()
        .filter(|c| c.role != ContainerRole::App)
        .collect();
    let apps: Vec<&ContainerTimeline> = pod.with_role(ContainerRole::App).collect();
    let mut out = Vec::new();
    for (i, s) in inits.iter().enumerate() {
        if s.role != ContainerRole::Sidecar {
            continue;
        }
        let later: Vec<&ContainerTimeline> = inits[i + 1..].iter().chain(apps.iter()).copied().collect();
        let Some(started) = s.first_started_flag() else {
            let ran_anyway: Vec<&str> = later
                .iter()
                .filter(|c| c.ever_ran())
                .map(|c| c.name.as_str())
                .collect();
            if ran_anyway.is_empty() {
                continue;
            }
            out.push((
                Some(false),
                format!(
                    "pod {name}: {} started although sidecar {} was never seen started: true",
                    ran_anyway.join(", "),
                    s.name
                ),
            ));
            continue;
        };
        for c in later.iter().filter(|c| c.ever_ran()) {
            let seen = c.first_seen_running().expect("ran");
            let gap = match (s.first_started_at(), c.first_started_at()) {
                (Some(a), Some(b)) => format!(
                    " ({} started {} s after {} started, runtime clock)",
                    c.name,
                    b.duration_since(a).as_secs(),
                    s.name
                ),
                _ => String::new(),
            };
            out.push((
                Some(seen >= started),
                format!(
                    "pod {name}: {} was first seen running at {seen}, after sidecar {} was seen started: true at {started}{gap}",
                    c.name, s.name
                ),
            ));
        }
    }
    if out.is_empty() {
        return Err(format!(
            "pod {name}: no container after a sidecar ran (last waiting: {})",
            pod.containers
                .iter()
                .filter_map(|c| c.last_waiting().map(|w| format!("{} {w}", c.name)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(out)
}

/// A container's `ready` flag at `t` (its last change at or before `t`).
fn ready_at(c: &ContainerTimeline, t: Timestamp) -> bool {
    c.events
        .iter()
        .filter(|e| e.observed_at <= t)
        .filter_map(|e| match e.kind {
            ContainerEventKind::Ready { ready } => Some(ready),
            _ => None,
        })
        .next_back()
        .unwrap_or(false)
}

/// When the harness deleted the pod (its end is then termination, not readiness).
fn deleted_at(obs: &Observation, name: &str) -> Option<Timestamp> {
    obs.actions
        .iter()
        .find(|a| a.pod == name && a.what.starts_with("deleted"))
        .map(|a| a.at)
}

/// 2. The pod is Ready only while every sidecar is ready, and stops being Ready when one
///    stops.
fn ready_follows_sidecars(obs: &Observation, name: &str, pod: &PodTimeline) -> PodFindings {
    let changes = pod.ready_changes();
    let end = deleted_at(obs, name).unwrap_or(Timestamp::MAX);
    if !changes.iter().any(|(_, r)| *r) {
        return Err(format!("pod {name} never became Ready"));
    }
    let mut out = Vec::new();
    for s in pod.with_role(ContainerRole::Sidecar) {
        for (t, _) in changes.iter().filter(|(t, r)| *r && *t < end) {
            out.push((
                Some(ready_at(s, *t)),
                format!("pod {name}: Ready at {t}, when sidecar {} was ready", s.name),
            ));
        }
        // Each time the sidecar stopped being ready while the pod was Ready, the pod
        // must have stopped being Ready before the sidecar was ready again.
        let flips: Vec<(Timestamp, bool)> = s
            .events
            .iter()
            .filter_map(|e| match e.kind {
                ContainerEventKind::Ready { ready } => Some((e.observed_at, ready)),
                _ => None,
            })
            .collect();
        for (i, (t, ready)) in flips.iter().enumerate() {
            let pod_ready = changes.iter().rfind(|(c, _)| c <= t).is_some_and(|(_, r)| *r);
            if *ready || *t >= end || i == 0 && !pod_ready {
                continue;
            }
            let back = flips[i + 1..]
                .iter()
                .find(|(_, r)| *r)
                .map(|(b, _)| *b)
                .unwrap_or(Timestamp::MAX);
            let followed = changes.iter().any(|(c, r)| !*r && *c >= *t && *c <= back) || !pod_ready;
            out.push((
                Some(followed),
                format!(
                    "pod {name}: sidecar {} stopped being ready at {t}; the pod was {} by the time it was ready again",
                    s.name,
                    if followed { "not Ready" } else { "still Ready" }
                ),
            ));
        }
    }
    Ok(out)
}

/// Whether the container was running just before `t` (its last state strictly before).
fn running_before(c: &ContainerTimeline, t: Timestamp) -> bool {
    last_state_running(c, |at| at < t)
}

/// Whether the container was running at `t` (its last state at or before it).
fn running_at(c: &ContainerTimeline, t: Timestamp) -> bool {
    last_state_running(c, |at| at <= t)
}

/// Whether the last state event (waiting, running, terminated) seen at a time `seen`
/// accepts is a running one.
fn last_state_running(c: &ContainerTimeline, seen: impl Fn(Timestamp) -> bool) -> bool {
    c.events
        .iter()
        .filter(|e| seen(e.observed_at))
        .rfind(|e| {
            matches!(
                e.kind,
                ContainerEventKind::Running { .. }
                    | ContainerEventKind::Terminated { .. }
                    | ContainerEventKind::Waiting { .. }
            )
        })
        .is_some_and(|e| matches!(e.kind, ContainerEventKind::Running { .. }))
}

/// 3. Across each sidecar restart, every app container that was running kept its
///    container.
fn apps_survive(obs: &Observation, name: &str, pod: &PodTimeline) -> PodFindings {
    let end = deleted_at(obs, name).unwrap_or(Timestamp::MAX);
    let mut out = Vec::new();
    for s in pod.with_role(ContainerRole::Sidecar) {
        // Each restart, from the recorder's `restarted` events (restart count up): the
        // watch may see a restarted sidecar already running again, never its exit.
        for back in s
            .events
            .iter()
            .filter(|e| matches!(e.kind, ContainerEventKind::Restarted { .. }) && e.observed_at < end)
        {
            let t = back.observed_at;
            let exit = s
                .terminations()
                .into_iter()
                .rfind(|e| e.observed_at <= t)
                .and_then(|e| termination(&e.kind))
                .map(|(c, ..)| c.to_string())
                .unwrap_or_else(|| "exit not seen".into());
            for a in pod.with_role(ContainerRole::App).filter(|a| running_before(a, t)) {
                let before = a
                    .events
                    .iter()
                    .filter(|e| e.observed_at < t)
                    .filter_map(|e| e.container_id.as_deref())
                    .next_back();
                let after = a.id_at(t);
                let kept = before == after && running_at(a, t) && a.restarts_at(t) == a.restarts_before(t);
                out.push((
                    Some(kept),
                    format!(
                        "pod {name}: sidecar {} restarted ({exit}) at {t}; app {} ran in container {} before and {} after{}",
                        s.name,
                        a.name,
                        short(before),
                        short(after),
                        if running_at(a, t) { "" } else { ", and was not running" }
                    ),
                ));
            }
        }
    }
    for a in obs
        .actions
        .iter()
        .filter(|a| a.pod == name && !a.container.is_empty())
    {
        out.push((
            None,
            format!("pod {name}: at {}: {} ({})", a.at, a.what, a.container),
        ));
    }
    if out.iter().all(|(check, _)| check.is_none()) {
        return Err(format!(
            "pod {name}: no sidecar restarted while an app container ran (`--disrupt sidecars` makes each exit once)"
        ));
    }
    Ok(out)
}

fn short(id: Option<&str>) -> String {
    id.map(|i| i.rsplit("://").next().unwrap_or(i).chars().take(12).collect())
        .unwrap_or_else(|| "-".into())
}

/// The last termination's exit code and finish time.
fn last_exit(c: &ContainerTimeline) -> Option<(i32, Option<Timestamp>)> {
    c.terminations()
        .last()
        .and_then(|e| termination(&e.kind))
        .map(|(code, _, end)| (code, end))
}

/// 4. A Job's pod: once its main containers finished, the sidecars stopped after them,
///    the pod finished, and the Job is Complete (or Failed, as without sidecars).
fn job_completes(obs: &Observation, workload: &str, name: &str, pod: &PodTimeline) -> PodFindings {
    let apps: Vec<&ContainerTimeline> = pod.with_role(ContainerRole::App).collect();
    let ends: Vec<(i32, Option<Timestamp>)> = apps.iter().filter_map(|a| last_exit(a)).collect();
    if ends.len() < apps.len() {
        return Err(format!("pod {name}: its main containers had not all finished"));
    }
    let succeeded = ends.iter().all(|(c, _)| *c == 0);
    let last_app = ends.iter().filter_map(|(_, t)| *t).max();
    let mut out = vec![(
        None,
        format!(
            "pod {name}: main container(s) exited {:?}, the last at {}",
            ends.iter().map(|(c, _)| c).collect::<Vec<_>>(),
            fmt_time(last_app)
        ),
    )];
    for s in pod.with_role(ContainerRole::Sidecar) {
        match last_exit(s) {
            Some((code, end)) => out.push((
                Some(end.is_some() && end >= last_app),
                format!(
                    "pod {name}: sidecar {} stopped at {} (exit {code}), after the main containers",
                    s.name,
                    fmt_time(end)
                ),
            )),
            None => out.push((
                Some(false),
                format!("pod {name}: sidecar {} was never stopped", s.name),
            )),
        }
    }
    let phase = pod.last_phase().unwrap_or("unknown");
    let want = if succeeded { "Succeeded" } else { "Failed" };
    out.push((
        Some(phase == want || !succeeded && phase == "Running"),
        format!(
            "pod {name}: phase {phase} (main containers {})",
            if succeeded { "succeeded" } else { "failed" }
        ),
    ));
    let job = workload.strip_prefix("Job/").and_then(|j| obs.object("Job", j));
    let conditions: Vec<String> = job
        .and_then(|j| j["status"]["conditions"].as_array())
        .into_iter()
        .flatten()
        .filter(|c| c["status"] == "True")
        .filter_map(|c| c["type"].as_str().map(String::from))
        .collect();
    let done = conditions.iter().any(|c| c == "Complete" || c == "Failed");
    if succeeded {
        out.push((
            Some(conditions.iter().any(|c| c == "Complete")),
            format!(
                "{workload} is Complete (conditions true: {})",
                conditions.join(", ")
            ),
        ));
    } else {
        out.push((
            None,
            format!(
                "{workload}: conditions true: {} (a failed pod is retried up to the Job's backoffLimit, with sidecars as without)",
                if done { conditions.join(", ") } else { "none yet".into() }
            ),
        ));
    }
    Ok(out)
}

/// A termination's exit code, start and finish (runtime clock).
type Ended = (i32, Option<Timestamp>, Option<Timestamp>);

/// 5. When the harness deleted the pod: the app containers finished first, then the
///    sidecars, the later ones in spec order first.
fn termination_order(obs: &Observation, name: &str, pod: &PodTimeline) -> PodFindings {
    let Some(deleted) = deleted_at(obs, name) else {
        return Err(format!(
            "pod {name} was not deleted (`--terminate` deletes the workloads at the end)"
        ));
    };
    let end_after = |c: &ContainerTimeline| {
        c.terminations()
            .into_iter()
            .filter(|e| e.observed_at >= deleted)
            .filter_map(|e| termination(&e.kind))
            .next_back()
    };
    let apps: Vec<(&str, Ended)> = pod
        .with_role(ContainerRole::App)
        .filter_map(|a| end_after(a).map(|t| (a.name.as_str(), t)))
        .collect();
    let sidecars: Vec<(&str, Ended)> = pod
        .with_role(ContainerRole::Sidecar)
        .filter_map(|s| end_after(s).map(|t| (s.name.as_str(), t)))
        .collect();
    if sidecars.is_empty() {
        return Err(format!(
            "pod {name}: no sidecar was seen terminating after the deletion at {deleted}"
        ));
    }
    let last_app = apps.iter().filter_map(|(_, (_, _, end))| *end).max();
    let mut out = vec![(None, format!("pod {name}: deleted at {deleted}"))];
    for (a, (code, _, end)) in &apps {
        out.push((
            None,
            format!("pod {name}: app {a} finished at {} (exit {code})", fmt_time(*end)),
        ));
    }
    for (s, (code, _, end)) in &sidecars {
        out.push((
            Some(end.is_some() && *end >= last_app),
            format!(
                "pod {name}: sidecar {s} finished at {} (exit {code}{}), not before the app containers (runtime clock, whole seconds)",
                fmt_time(*end),
                if *code != 0 { ", normal at termination" } else { "" }
            ),
        ));
    }
    for pair in sidecars.windows(2) {
        let ((earlier, (_, _, e1)), (later, (_, _, e2))) = (pair[0], pair[1]);
        out.push((
            Some(e1.is_some() && e2 <= e1),
            format!(
                "pod {name}: sidecar {later} (later in initContainers) finished at {}, not after {earlier} at {}",
                fmt_time(e2),
                fmt_time(e1)
            ),
        ));
    }
    Ok(out)
}

/// Whether the document (one Kubernetes object) is `workload` (`Kind/name`) and declares
/// a sidecar with a probe: with sidecars disabled the API server drops its
/// `restartPolicy` and refuses the probe left on a regular init container.
pub fn declares_probed_sidecar(text: &str, workload: &str) -> bool {
    let Ok(d) = serde_saphyr::from_str::<serde_json::Value>(text) else {
        return false;
    };
    let is_it = d["kind"]
        .as_str()
        .zip(d["metadata"]["name"].as_str())
        .is_some_and(|(k, n)| format!("{k}/{n}") == workload);
    is_it
        && crate::evidence::pod_spec(&d)["initContainers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| {
                c["restartPolicy"] == "Always"
                    && ["readinessProbe", "startupProbe", "livenessProbe"]
                        .iter()
                        .any(|p| !c[*p].is_null())
            })
}

/// Words a page's list item must all contain (lower case) to state an invariant.
const STATED_BY: &[(Invariant, &[&str])] = &[
    (Invariant::StartsFirst, &["started", "next init container"]),
    (Invariant::ReadyFollowsSidecars, &["readinessprobe", "ready"]),
    (
        Invariant::AppsSurviveSidecarRestarts,
        &["restarted independently"],
    ),
    (Invariant::JobCompletes, &["job", "completing"]),
    (Invariant::TerminationOrder, &["sigterm"]),
    (
        Invariant::EffectiveRequests,
        &["effective request/limit for a resource is"],
    ),
];

/// The sentences of a Markdown page that state an invariant: the first list item
/// holding all of its words, verbatim, for the results to cite.
pub fn citations(page: &str) -> Vec<(Invariant, String)> {
    let items: Vec<&str> = page
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("- "))
        .collect();
    STATED_BY
        .iter()
        .filter_map(|(inv, words)| {
            items
                .iter()
                .find(|item| words.iter().all(|w| item.to_lowercase().contains(w)))
                .map(|item| (*inv, item.trim().to_string()))
        })
        .collect()
}

/// A resource quantity in the resource's base unit: thousandths for CPU (`250m`, `1.5`),
/// units otherwise (`64Mi`, `1G`, `3`). `None` for what this reader does not know.
pub fn quantity(resource: &str, q: &str) -> Option<i128> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(q.len());
    let (number, suffix) = q.split_at(split);
    let scale: f64 = match suffix {
        "" => 1.0,
        "m" => 0.001,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0f64.powi(4),
        _ => return None,
    };
    let unit = if resource == "cpu" { 1000.0 } else { 1.0 };
    let value: f64 = number.parse().ok()?;
    Some((value * scale * unit).ceil() as i128)
}

fn shown(resource: &str, v: i128) -> String {
    if resource == "cpu" {
        format!("{v}m")
    } else {
        v.to_string()
    }
}

/// The requests of a container, in base units.
fn requests(c: &k8s_openapi::api::core::v1::Container) -> BTreeMap<String, i128> {
    c.resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|(r, q)| quantity(r, &q.0).map(|v| (r.clone(), v)))
        .collect()
}

/// The effective request of `resource` by Kubernetes' rule and by the documented one
/// (the highest init container against the sum of app containers and sidecars).
fn effective(pod: &Pod, resource: &str) -> (i128, i128) {
    let spec = pod.spec.clone().unwrap_or_default();
    let get = |c: &k8s_openapi::api::core::v1::Container| requests(c).get(resource).copied().unwrap_or(0);
    let apps: i128 = spec.containers.iter().map(get).sum();
    let (mut sidecars, mut peak, mut highest_init) = (0, 0, 0);
    for c in spec.init_containers.iter().flatten() {
        highest_init = highest_init.max(get(c));
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars += get(c);
            peak = peak.max(sidecars);
        } else {
            peak = peak.max(get(c) + sidecars);
        }
    }
    let overhead = spec
        .overhead
        .as_ref()
        .and_then(|o| o.get(resource))
        .and_then(|q| quantity(resource, &q.0))
        .unwrap_or(0);
    (
        (apps + sidecars).max(peak) + overhead,
        (apps + sidecars).max(highest_init) + overhead,
    )
}

/// 6. The pod's effective requests by Kubernetes' rule against where the scheduler put
///    it: placed only on a node whose allocatable covers them; refused only for a
///    resource it asks for.
fn effective_requests(obs: &Observation, name: &str) -> PodFindings {
    let Some(pod) = obs.pod(name) else {
        return Err(format!("pod {name}: its object was not recorded"));
    };
    let spec = pod.spec.clone().unwrap_or_default();
    let mut resources: Vec<String> = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .flat_map(|c| requests(c).into_keys())
        .collect();
    resources.sort();
    resources.dedup();
    if resources.is_empty() {
        return Err(format!("pod {name}: no container requests resources"));
    }
    let scheduled = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
        .map(|c| {
            (
                c.status == "True",
                c.reason.clone(),
                c.message.clone().unwrap_or_default(),
            )
        });
    let mut out = Vec::new();
    for r in &resources {
        let (k8s, documented) = effective(pod, r);
        let other = if documented != k8s {
            format!(
                " ({} by the rule that leaves out the sidecars started before an init container)",
                shown(r, documented)
            )
        } else {
            String::new()
        };
        out.push((
            None,
            format!(
                "pod {name}: effective {r} request {} by Kubernetes' rule{other}",
                shown(r, k8s)
            ),
        ));
    }
    match scheduled {
        Some((true, _, _)) => {
            let node_name = spec.node_name.clone().unwrap_or_default();
            let Some(node) = obs.object("Node", &node_name) else {
                return Err(format!("pod {name}: node {node_name} was not recorded"));
            };
            for r in &resources {
                let (k8s, _) = effective(pod, r);
                let alloc = node["status"]["allocatable"][r.as_str()]
                    .as_str()
                    .and_then(|q| quantity(r, q))
                    .unwrap_or(0);
                out.push((
                    Some(k8s <= alloc),
                    format!(
                        "pod {name}: scheduled to {node_name}, whose allocatable {r} {} covers its effective request {}",
                        shown(r, alloc),
                        shown(r, k8s)
                    ),
                ));
            }
        }
        Some((false, Some(reason), message)) if reason == "Unschedulable" => {
            let asked = resources
                .iter()
                .any(|r| message.contains(&format!("Insufficient {r}")));
            out.push((
                Some(asked),
                format!("pod {name}: not scheduled, short of a resource it requests: {message}"),
            ));
        }
        _ => return Err(format!("pod {name}: the scheduler had not answered")),
    }
    Ok(out)
}
