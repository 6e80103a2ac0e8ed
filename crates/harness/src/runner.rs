//! Plays a behaviour's scenario on one cluster, in a namespace of its own, records what
//! happens, has the behaviour judge it, and compares the judgement with what the gate
//! table expects of that cluster.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use kube::Client;
use kube::api::{Api, AttachParams, DeleteParams, DynamicObject, PostParams};
use kube::core::GroupVersionKind;
use kube::runtime::wait::await_condition;
use serde_json::json;

use crate::apply::{AppliedObject, Applier};
use crate::behaviour::{Action, Behaviour, Observation, Rejection, Step, WaitRecord};
use crate::diagnose;
use crate::error::{ApplyError, PlayError, WaitTimeout};
use crate::evidence::{STUCK_WINDOW, runtime_start_failures, stuck_behind_init};
use crate::fault::{Fault, FaultWatch, image_pull_failure};
use crate::gate::{GateEffect, effect};
use crate::observe::{LiveRecorder, Recorder};
use crate::progress::Progress;
use crate::report::{CheckResult, RetriedAttempt, Verdict};

pub use crate::apply::MANAGED_BY;

/// A cluster ready for checks.
#[derive(Clone)]
pub struct Target {
    /// Cluster name, for reports and file names.
    pub name: String,
    pub version: crate::version::KubeVersion,
    pub gate: crate::gate::GateSetting,
    pub client: Client,
    pub applier: Applier,
    /// Where observations are saved (`<run dir>/observations/<cluster>/`).
    pub observations_dir: PathBuf,
    /// Directory observation paths in the report are relative to.
    pub run_dir: PathBuf,
    /// The cluster's faults while behaviours play: a play it touches ends as `error`.
    pub faults: FaultWatch,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish()
    }
}

impl Target {
    /// Connects to a cluster and runs discovery.
    pub async fn connect(
        name: &str,
        version: crate::version::KubeVersion,
        gate: crate::gate::GateSetting,
        client: Client,
        run_dir: &std::path::Path,
    ) -> Result<Target, ApplyError> {
        let applier = Applier::new(client.clone()).await?;
        // Kind node containers are found by the cluster's name; a cluster that is not
        // a kind cluster of this machine just has none to watch.
        let faults = FaultWatch::start(client.clone(), Some(name));
        Ok(Target {
            faults,
            name: name.to_string(),
            version,
            gate,
            client,
            applier,
            observations_dir: run_dir.join("observations").join(name),
            run_dir: run_dir.to_path_buf(),
        })
    }

    /// What the gate table says this cluster does.
    pub fn gate_effect(&self) -> GateEffect {
        effect(self.version, self.gate)
    }
}

/// How many times a behaviour is played at most. A play is set aside and played again,
/// in a new namespace, only when its verdict is not `pass` and the container runtime
/// failed to start one of its containers (`StartError`): such a play shows a fault of
/// the node (runc's `unable to freeze` on a loaded cgroup-v1 host), not the behaviour.
/// Every set-aside play stays in the report under `retried`, with its evidence.
pub const MAX_ATTEMPTS: u32 = 2;

/// Whether a play with this verdict and these runtime start failures is set aside.
pub fn inconclusive(verdict: Verdict, runtime_failures: &[String]) -> bool {
    verdict != Verdict::Pass && !runtime_failures.is_empty()
}

/// Whether every failed check of a judgement (its `NOT:` lines) names a container whose
/// start the runtime failed: only then can the runtime's fault explain the verdict. A
/// failure about another container stands, runtime fault or not.
pub fn concerns_failed_start(obs: &Observation, evidence: &[String]) -> bool {
    let failed: Vec<&str> = obs
        .timeline
        .pods
        .values()
        .flat_map(|p| &p.containers)
        .filter(|c| !c.start_failures().is_empty())
        .map(|c| c.name.as_str())
        .collect();
    let checks: Vec<&String> = evidence.iter().filter(|e| e.starts_with("NOT:")).collect();
    !failed.is_empty()
        && !checks.is_empty()
        && checks
            .iter()
            .all(|line| failed.iter().any(|name| names_word(line, name)))
}

/// Whether `name` stands in `text` as a word of its own (not inside `application`).
fn names_word(text: &str, name: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(part) && !after.is_some_and(part)
    })
}

/// Runs one behaviour on `target` and returns its result. Never panics on cluster
/// trouble: that becomes a result with verdict `error`.
pub async fn check(target: &Target, behaviour: &Behaviour, progress: &Progress) -> CheckResult {
    let started = Instant::now();
    let mut result = behaviour.unjudged(&target.name, target.version, target.gate);
    let expected = result.expected;
    progress.say(format!("{}: {} ...", target.name, behaviour.id));
    for attempt in 1..=MAX_ATTEMPTS {
        let namespace = format!("sc-{}-{}", behaviour.id, short_random());
        let since = jiff::Timestamp::now();
        let played = observe(target, behaviour, &namespace, progress).await;
        let again = conclude(target, behaviour, attempt, played, &mut result, progress);
        if !again && result.verdict != Verdict::Pass {
            result.diagnostics = diagnose::collect(
                &target.client,
                &target.name,
                &target.run_dir,
                behaviour.id,
                &namespace,
                since,
            )
            .await;
        }
        delete_namespace(target, &namespace).await;
        if !again {
            break;
        }
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    progress.say(format!(
        "{}: {} {} (expected {}, observed {}) in {:.1} s",
        target.name,
        behaviour.id,
        result.verdict.word(),
        expected,
        result
            .observed
            .map(|o| o.to_string())
            .unwrap_or_else(|| "-".into()),
        started.elapsed().as_secs_f64()
    ));
    result
}

/// Turns one play into the result (or into a set-aside play); returns whether the
/// behaviour is to be played again.
fn conclude(
    target: &Target,
    behaviour: &Behaviour,
    attempt: u32,
    played: Result<(Observation, Option<Fault>), PlayError>,
    result: &mut CheckResult,
    progress: &Progress,
) -> bool {
    let (obs, fault) = match played {
        Ok(played) => played,
        Err(e) => {
            result.error = Some(e.to_string());
            return false;
        }
    };
    if let Some(fault) = fault {
        // The cluster (or the image supply) failed under the play: what the pods
        // show says nothing about sidecars, so no judge is asked.
        progress.warn(format!("{}: {}: stopped: {fault}", target.name, behaviour.id));
        result.observation = save_observation(target, behaviour, &obs, None).ok();
        result.error = Some(fault.to_string());
        result.evidence = std::iter::once(format!("the play was stopped and not judged: {fault}"))
            .chain(unsatisfied_waits(&obs))
            .chain(stuck_containers(&obs))
            .collect();
        result.fault = Some(fault);
        return false;
    }
    let mut judgement = (behaviour.judge)(&obs);
    let verdict =
        CheckResult::verdict_of_judgement(result.expected, result.known_bug.is_some(), &mut judgement);
    let failures = runtime_start_failures(&obs);
    let last = attempt == MAX_ATTEMPTS
        || !inconclusive(verdict, &failures)
        || !concerns_failed_start(&obs, &judgement.evidence);
    let saved = match save_observation(target, behaviour, &obs, (!last).then_some(attempt)) {
        Ok(rel) => Some(rel),
        Err(e) => {
            progress.warn(format!("could not save the observation of {}: {e}", behaviour.id));
            None
        }
    };
    if !last {
        progress.warn(format!(
            "{}: {}: observed {} while the container runtime failed to start a container the failed checks are about; playing it again in a new namespace ({})",
            target.name,
            behaviour.id,
            judgement.outcome,
            failures.join("; ")
        ));
        result.retried.push(RetriedAttempt {
            attempt,
            observed: judgement.outcome,
            runtime_failures: failures,
            evidence: judgement.evidence,
            observation: saved,
        });
        return true;
    }
    result.observed = Some(judgement.outcome);
    result.verdict = verdict;
    result.page_findings = judgement.page_findings;
    // A wait that ran out is part of the story: say which, and after how long. So
    // is a container the runtime failed to start, even when the kubelet's retry
    // let the behaviour hold.
    result.evidence = result
        .known_bug
        .iter()
        .map(|k| format!("expected to show the {k}"))
        .chain(unsatisfied_waits(&obs))
        .chain(failures)
        .chain(stuck_containers(&obs))
        .chain(judgement.evidence)
        .collect();
    result.observation = saved;
    false
}

/// Every wait that ran out, and after how long.
pub(crate) fn unsatisfied_waits(obs: &Observation) -> impl Iterator<Item = String> + '_ {
    obs.waits.iter().filter(|w| !w.satisfied).map(|w| {
        format!(
            "timed out after {:.0} s waiting for {}",
            w.after_ms as f64 / 1000.0,
            w.what
        )
    })
}

/// After a wait that ran out: every container still waiting for a reason other than
/// its turn (an image that cannot be pulled, a crash loop, a config error), with the
/// kubelet's message: the usual answer to "why did nothing happen".
fn stuck_containers(obs: &Observation) -> Vec<String> {
    if obs.waits.iter().all(|w| w.satisfied) {
        return vec![];
    }
    let mut out = Vec::new();
    for (pod, t) in &obs.timeline.pods {
        for c in &t.containers {
            let stuck = matches!(
                c.last_state(),
                Some(crate::timeline::ContainerEventKind::Waiting { reason: Some(r), .. }) if r != "PodInitializing"
            );
            if stuck && let Some(why) = c.last_waiting() {
                out.push(format!("pod {pod}: {} is waiting: {why}", c.name));
            }
        }
    }
    out
}

/// Saves an observation as `<behaviour>.json`, or `<behaviour>.attempt-N.json` for a
/// play that was set aside; returns its path relative to the run directory.
pub(crate) fn save_observation(
    target: &Target,
    behaviour: &Behaviour,
    obs: &Observation,
    set_aside: Option<u32>,
) -> Result<String, PlayError> {
    let io = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |error| PlayError::Io { path, error }
    };
    std::fs::create_dir_all(&target.observations_dir).map_err(io(&target.observations_dir))?;
    let file = match set_aside {
        Some(n) => format!("{}.attempt-{n}.json", behaviour.id),
        None => format!("{}.json", behaviour.id),
    };
    let path = target.observations_dir.join(file);
    std::fs::write(&path, serde_json::to_vec_pretty(obs)?).map_err(io(&path))?;
    Ok(path
        .strip_prefix(&target.run_dir)
        .unwrap_or(&path)
        .display()
        .to_string())
}

/// How long a play that failed may wait for the fault watch to name a cause: a play
/// whose requests were refused usually fails a moment before the watch sees why.
const FAULT_GRACE: Duration = Duration::from_secs(10);

/// Bound on requests made after a fault (clean-up), which may never be answered.
const AFTER_FAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Creates the behaviour's namespace, plays the scenario, and deletes the namespace.
/// Returns the observation and, when the cluster or its image supply failed under the
/// play, the fault (the play is stopped as soon as it is seen).
pub(crate) async fn observe(
    target: &Target,
    behaviour: &Behaviour,
    namespace: &str,
    progress: &Progress,
) -> Result<(Observation, Option<Fault>), PlayError> {
    let mark = target.faults.mark();
    let empty = || Observation {
        behaviour: behaviour.id.into(),
        namespace: namespace.to_string(),
        ..Default::default()
    };
    let created = tokio::select! {
        r = create_namespace(&target.client, namespace) => r,
        f = target.faults.next() => return Ok((empty(), Some(f))),
    };
    if let Err(e) = created {
        return match tokio::time::timeout(FAULT_GRACE, target.faults.next()).await {
            Ok(mut f) => {
                f.detail = format!("{}; creating the namespace failed: {e}", f.detail);
                Ok((empty(), Some(f)))
            }
            Err(_) => Err(e),
        };
    }
    let pods: Api<Pod> = Api::namespaced(target.client.clone(), namespace);
    let recorder = LiveRecorder::start(pods.clone());
    let mut obs = Observation {
        behaviour: behaviour.id.into(),
        namespace: namespace.to_string(),
        ..Default::default()
    };
    // In a check of the user's workloads an image that cannot be pulled is the
    // workload's own error (judged per workload), not a fault of the run's supply.
    let pulls_are_faults = behaviour.id != crate::check::CHECK_ID;
    let fault_seen = async {
        tokio::select! {
            f = target.faults.next() => f,
            f = pull_failure(&recorder), if pulls_are_faults => f,
        }
    };
    let played = tokio::select! {
        r = play(target, behaviour, namespace, &recorder, &mut obs, progress) => r,
        f = fault_seen => Err(PlayError::Stopped(f)),
    };
    let played: Result<Option<Fault>, PlayError> = match played {
        // A play during which the cluster failed is no evidence either, even when the
        // fault has cleared since.
        Ok(()) => Ok(target.faults.since(mark).or_else(|| {
            pulls_are_faults
                .then(|| image_pull_failure(&recorder.snapshot(), jiff::Timestamp::now()))
                .flatten()
        })),
        Err(PlayError::Stopped(f)) => Ok(Some(f)),
        Err(e) => match tokio::time::timeout(FAULT_GRACE, target.faults.next()).await {
            Ok(mut f) => {
                f.detail = format!("{}; the play itself failed with: {e}", f.detail);
                Ok(Some(f))
            }
            Err(_) => Err(e),
        },
    };
    let final_state = recorder.stop();
    obs.timeline = final_state.timeline().clone();
    obs.pods = final_state.pods().values().cloned().collect();
    if let Ok(Some(_)) = &played {
        // The play was stopped before it could take its node resources away.
        for step in behaviour.scenario.steps {
            if let Step::AdvertiseNodeResources(resources) = *step {
                let removal = advertise(&target.client, resources, false);
                let _ = tokio::time::timeout(AFTER_FAULT_TIMEOUT, removal).await;
            }
        }
    }
    Ok((obs, played?))
}

/// Deletes a play's namespace. Deleting waits for its pods' grace periods; nothing
/// waits for that here (a `--kubeconfig` run waits for all of its namespaces at the end).
pub(crate) async fn delete_namespace(target: &Target, namespace: &str) {
    let namespaces: Api<Namespace> = Api::all(target.client.clone());
    let _ = tokio::time::timeout(
        AFTER_FAULT_TIMEOUT,
        namespaces.delete(namespace, &DeleteParams::background()),
    )
    .await;
}

/// Resolves once a container of the play's pods waits for an image that cannot be pulled.
async fn pull_failure(recorder: &LiveRecorder) -> Fault {
    // As long as a play can last; the play's own waits end it long before.
    let forever = Duration::from_secs(24 * 3600);
    let _ = recorder
        .wait_for("an image that cannot be pulled", forever, |rec| {
            image_pull_failure(rec, jiff::Timestamp::now()).is_some()
        })
        .await;
    match image_pull_failure(&recorder.snapshot(), jiff::Timestamp::now()) {
        Some(f) => f,
        None => futures::future::pending().await,
    }
}

/// Plays the scenario's steps in order until one leaves nothing more to observe; then
/// takes away the node resources it advertised, whatever happened.
async fn play(
    target: &Target,
    behaviour: &Behaviour,
    namespace: &str,
    recorder: &LiveRecorder,
    obs: &mut Observation,
    progress: &Progress,
) -> Result<(), PlayError> {
    let play = Play {
        target,
        behaviour,
        namespace,
        recorder,
        progress,
    };
    let mut advertised = Vec::new();
    let mut played = Ok(());
    for step in behaviour.scenario.steps {
        match play_step(&play, step, obs, &mut advertised).await {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                played = Err(e);
                break;
            }
        }
    }
    // Take the resources away before anything else, whatever happened; the pods that
    // hold them go with the namespace.
    let mut removed = Ok(0);
    for (resources, nodes) in advertised {
        removed = removed.and(advertise(&target.client, resources, false).await);
        progress.say(format!(
            "{}: {}: advertised {} on {} node(s) for the scenario, then removed them",
            target.name,
            behaviour.id,
            resources
                .iter()
                .map(|(r, n)| format!("{r}={n}"))
                .collect::<Vec<_>>()
                .join(", "),
            nodes
        ));
    }
    played?;
    removed?;
    Ok(())
}

/// What every step of a play works with.
struct Play<'a> {
    target: &'a Target,
    behaviour: &'a Behaviour,
    namespace: &'a str,
    recorder: &'a LiveRecorder,
    progress: &'a Progress,
}

/// Plays one step; `Ok(false)` when it leaves nothing more to observe (a manifest
/// refused, a pod whose containers never all ran). Node resources it advertises are
/// added to `advertised` (with the number of nodes), for [`play`] to take away.
async fn play_step(
    play: &Play<'_>,
    step: &Step,
    obs: &mut Observation,
    advertised: &mut Vec<(&'static [(&'static str, i64)], usize)>,
) -> Result<bool, PlayError> {
    let Play {
        target,
        behaviour,
        namespace,
        recorder,
        progress,
    } = *play;
    match *step {
        Step::Apply(manifests) => {
            for m in manifests {
                obs.manifests.push(m.path.to_string());
                if !apply_recording(target, m.path, m.text, namespace, obs).await? {
                    return Ok(false);
                }
            }
        }
        Step::ExpectRejection { manifest, retry } => {
            obs.manifests.push(manifest.path.to_string());
            let accepted = apply_recording(target, manifest.path, manifest.text, namespace, obs).await?;
            if let (false, Some(retry)) = (accepted, retry) {
                let fixed = retry(manifest.text);
                let path = format!("{} (apiVersion corrected only)", manifest.path);
                apply_recording(target, &path, &fixed, namespace, obs).await?;
            }
        }
        Step::AdvertiseNodeResources(resources) => {
            let nodes = advertise(&target.client, resources, true).await?;
            advertised.push((resources, nodes));
        }
        Step::Settle {
            settled,
            window,
            what,
        } => {
            let wait = recorder.wait_for(what, window, settled).await;
            obs.waits.push(wait_record(what, &wait, window));
        }
        Step::WaitForJobs => wait_for_jobs(target, namespace, recorder, obs).await,
        Step::FetchObjects => obs.objects = fetch_objects(target, namespace, &obs.applied).await,
        Step::FetchNodes => {
            let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(target.client.clone());
            let names: std::collections::BTreeSet<String> = recorder
                .snapshot()
                .pods()
                .values()
                .filter_map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()))
                .collect();
            for name in names {
                let node = nodes
                    .get(&name)
                    .await
                    .map_err(PlayError::kube(format!("reading node {name}")))?;
                let mut v = serde_json::to_value(&node)?;
                v["kind"] = json!("Node");
                obs.objects.push(v);
            }
        }
        Step::ReadLogs => obs.logs = read_logs(target, namespace, &recorder.snapshot()).await,
        Step::WaitAllRunning { pod, window } => return Ok(wait_all_running(recorder, pod, window, obs).await),
        Step::DeletePod { pod, window } => {
            let pods: Api<Pod> = Api::namespaced(target.client.clone(), namespace);
            let at = jiff::Timestamp::now();
            pods.delete(pod, &DeleteParams::default())
                .await
                .map_err(PlayError::kube(format!("deleting pod {pod}")))?;
            obs.actions.push(Action {
                at,
                pod: pod.into(),
                container: String::new(),
                what: "deleted the pod (its own terminationGracePeriodSeconds)".into(),
            });
            let what = format!("pod {pod} gone");
            let gone = |rec: &Recorder| {
                rec.timeline().pods.get(pod).is_some_and(|p| {
                    p.events
                        .iter()
                        .any(|e| matches!(e.kind, crate::timeline::PodEventKind::Deleted))
                })
            };
            let wait = recorder.wait_for(&what, window, gone).await;
            obs.waits.push(wait_record(&what, &wait, window));
        }
        Step::LintPage => {
            for block in crate::doc::yaml_blocks(crate::doc::PAGE) {
                let label = crate::doc::block_label(crate::doc::PAGE, block);
                obs.manifests.push(label.clone());
                if !dry_run_recording(target, &label, block, namespace, obs).await? {
                    let fixed = crate::behaviour::fix_api_version_only(block);
                    if fixed != block {
                        let label = format!("{label} (apiVersion corrected only)");
                        dry_run_recording(target, &label, &fixed, namespace, obs).await?;
                    }
                }
            }
        }
        Step::ApplyEach(manifests) => {
            for m in manifests {
                obs.manifests.push(m.path.to_string());
                obs.sources.insert(m.path.to_string(), m.text.to_string());
                match target.applier.apply_text(m.path, m.text, namespace).await {
                    // Not even an object: refused here, as the API server would.
                    Err(ApplyError::Parse { file, index, detail }) => obs.rejections.push(Rejection {
                        file,
                        object: format!("document {index}"),
                        message: format!("not valid YAML for a Kubernetes object: {detail}"),
                    }),
                    applied => {
                        record(applied, obs)?;
                    }
                }
            }
        }
        Step::DisruptSidecars { window } => disrupt_sidecars(play, window, obs).await?,
        Step::PatchPod {
            pod,
            subresource,
            patch,
            what,
        } => return patch_pod(play, pod, subresource, patch, what, obs).await,
        Step::DeleteWorkloads { window } => delete_workloads(play, window, obs).await?,
        Step::RestartNode { pod, window } => restart_node(play, pod, window, obs).await?,
        Step::RestartInTurn {
            pod,
            containers,
            window,
        } => {
            let pods: Api<Pod> = Api::namespaced(target.client.clone(), namespace);
            for container in containers {
                let restarts_before = restart_count(&recorder.snapshot(), pod, container);
                let at = jiff::Timestamp::now();
                let ended = kill_child(&pods, pod, container).await?;
                let what = format!("killing the child process of {container}'s shell ({ended})");
                progress.say(format!("{}: {}: {what}", target.name, behaviour.id));
                obs.actions.push(Action {
                    at,
                    pod: pod.into(),
                    container: container.to_string(),
                    what,
                });
                let back = |rec: &Recorder| {
                    restart_count(rec, pod, container) > restarts_before
                        && rec.pods().get(pod).is_some_and(|p| {
                            let s = p.status.clone().unwrap_or_default();
                            s.init_container_statuses
                                .iter()
                                .flatten()
                                .chain(s.container_statuses.iter().flatten())
                                .any(|c| {
                                    c.name == *container
                                        && c.state.as_ref().is_some_and(|st| st.running.is_some())
                                })
                        })
                };
                let what = format!("{container} restarted and running");
                let wait = recorder.wait_for(&what, window, back).await;
                obs.waits.push(wait_record(&what, &wait, window));
                if wait.is_err() {
                    break;
                }
            }
            // One more moment of watching would not prove more: the judge reads the
            // timeline up to here, and the other container's state is in it.
        }
    }
    Ok(true)
}

/// How long the fault sources get, once the pod runs again after a planned node restart,
/// to see the node whole (API server ready, node Ready, lease renewed).
const NODE_BACK: Duration = Duration::from_secs(60);

/// Restarts the node `pod` runs on (`docker restart` of the kind node's container) and
/// records until every container of `pod` runs again in a container started after the
/// restart. The faults this causes are planned (see [`FaultWatch::plan_outage`]); what
/// is still wrong [`NODE_BACK`] after the pod is back is a fault of the run.
async fn restart_node(
    play: &Play<'_>,
    pod: &str,
    window: Duration,
    obs: &mut Observation,
) -> Result<(), PlayError> {
    let node = play
        .recorder
        .snapshot()
        .pods()
        .get(pod)
        .and_then(|p| p.spec.as_ref()?.node_name.clone())
        .ok_or_else(|| PlayError::RestartNode {
            node: "-".into(),
            detail: format!("pod {pod} was never scheduled"),
        })?;
    // Only a pod whose sidecars and apps all run has something to show after a
    // restart; the judge says why there was none.
    let all_running = play.recorder.snapshot().pods().get(pod).is_some_and(|p| {
        let s = p.status.clone().unwrap_or_default();
        let spec = p.spec.clone().unwrap_or_default();
        let long_lived: Vec<&str> = spec
            .init_containers
            .iter()
            .flatten()
            .filter(|c| c.restart_policy.as_deref() == Some("Always"))
            .map(|c| c.name.as_str())
            .chain(spec.containers.iter().map(|c| c.name.as_str()))
            .collect();
        long_lived.iter().all(|name| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
                .any(|c| c.name == *name && c.state.as_ref().is_some_and(|st| st.running.is_some()))
        })
    });
    if !all_running {
        return Ok(());
    }
    let what = format!("restarted node {node} (docker restart of its container)");
    play.progress
        .say(format!("{}: {}: {what}", play.target.name, play.behaviour.id));
    play.target.faults.plan_outage(&what);
    let at = jiff::Timestamp::now();
    let out = tokio::process::Command::new("docker")
        .args(["restart", &node])
        .output()
        .await;
    let failed = match &out {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(String::from_utf8_lossy(&o.stderr).trim().to_string()),
        Err(e) => Some(e.to_string()),
    };
    if let Some(detail) = failed {
        play.target.faults.end_planned_outage(Duration::ZERO).await;
        return Err(PlayError::RestartNode { node, detail });
    }
    obs.actions.push(Action {
        at,
        pod: pod.into(),
        container: String::new(),
        what,
    });
    let since = at.as_second();
    let again = |rec: &Recorder| {
        rec.pods().get(pod).is_some_and(|p| {
            let spec = p.spec.clone().unwrap_or_default();
            let expected = spec.containers.len()
                + spec
                    .init_containers
                    .iter()
                    .flatten()
                    .filter(|c| c.restart_policy.as_deref() == Some("Always"))
                    .count();
            let s = p.status.clone().unwrap_or_default();
            let running_again = s
                .init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
                .filter(|c| {
                    c.state
                        .as_ref()
                        .and_then(|st| st.running.as_ref()?.started_at.as_ref())
                        // A later second: the first runs may have begun in the restart's.
                        .is_some_and(|t| t.0.as_second() > since)
                })
                .count();
            running_again == expected
        })
    };
    let what = "every sidecar and app container running again after the node restart";
    let wait = play.recorder.wait_for(what, window, again).await;
    obs.waits.push(wait_record(what, &wait, window));
    play.target.faults.end_planned_outage(NODE_BACK).await;
    Ok(())
}

/// Patches `pod` (strategic merge; on `subresource` when given) and records the action.
/// A patch the API server refuses with a client error (other than throttling) is the
/// cluster's answer, recorded as a rejection in its own words, and ends the play; any
/// other failure is the play's error.
async fn patch_pod(
    play: &Play<'_>,
    pod: &str,
    subresource: Option<&str>,
    patch: &str,
    what: &str,
    obs: &mut Observation,
) -> Result<bool, PlayError> {
    let pods: Api<Pod> = Api::namespaced(play.target.client.clone(), play.namespace);
    let body: serde_json::Value = serde_json::from_str(patch)?;
    let params = kube::api::PatchParams::default();
    let patch = kube::api::Patch::Strategic(&body);
    let at = jiff::Timestamp::now();
    let answer = match subresource {
        Some(sub) => pods.patch_subresource(sub, pod, &params, &patch).await,
        None => pods.patch(pod, &params, &patch).await,
    };
    let target = match subresource {
        Some(sub) => format!("pods/{sub} of {pod}"),
        None => format!("pod {pod}"),
    };
    match answer {
        Ok(_) => {
            play.progress
                .say(format!("{}: {}: {what}", play.target.name, play.behaviour.id));
            obs.actions.push(Action {
                at,
                pod: pod.into(),
                container: String::new(),
                what: format!("{what} (patched {target}: {body})"),
            });
            Ok(true)
        }
        Err(kube::Error::Api(status)) if (400..500).contains(&status.code) && status.code != 429 => {
            obs.rejections.push(Rejection {
                file: format!("patch of {target}: {body}"),
                object: format!("Pod/{pod}"),
                message: format!("{} {}: {}", status.code, status.reason, status.message),
            });
            Ok(false)
        }
        Err(e) => Err(PlayError::kube(format!("patching {target}"))(e)),
    }
}

/// Stops each sidecar of each recorded pod once through the node's runtime and waits
/// for it to run again. A kind node is a container of this machine's engine, named as
/// the node: `crictl stop` there ends the container as a crash would, and the kubelet
/// restarts it under the sidecar's `restartPolicy: Always`. (An exec'd `kill` cannot do
/// it for any image: PID 1 ignores signals it has no handler for.)
async fn disrupt_sidecars(play: &Play<'_>, window: Duration, obs: &mut Observation) -> Result<(), PlayError> {
    let snapshot = play.recorder.snapshot();
    let mut targets = Vec::new();
    for (pod, p) in snapshot.pods() {
        let node = p
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        let statuses = p
            .status
            .as_ref()
            .and_then(|s| s.init_container_statuses.clone())
            .unwrap_or_default();
        for sidecar in snapshot
            .timeline()
            .pods
            .get(pod)
            .into_iter()
            .flat_map(|t| t.with_role(crate::timeline::ContainerRole::Sidecar))
        {
            let id = statuses
                .iter()
                .find(|c| c.name == sidecar.name && c.state.as_ref().is_some_and(|s| s.running.is_some()))
                .and_then(|c| c.container_id.clone());
            if let Some(id) = id {
                targets.push((pod.clone(), node.clone(), sidecar.name.clone(), id));
            }
        }
    }
    // A pod that finished (a Job's, once its main containers exited) stops its sidecars
    // instead of restarting them: nothing to wait for, and nothing to disrupt.
    let finished = |rec: &Recorder, pod: &str| {
        rec.pods().get(pod).is_some_and(|p| {
            p.metadata.deletion_timestamp.is_some()
                || p.status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .is_some_and(|ph| ph == "Succeeded" || ph == "Failed")
        })
    };
    for (pod, node, container, id) in targets {
        if finished(&play.recorder.snapshot(), &pod) {
            continue;
        }
        let restarts_before = restart_count(&play.recorder.snapshot(), &pod, &container);
        let bare = id.rsplit("://").next().unwrap_or(&id).to_string();
        let at = jiff::Timestamp::now();
        let out = tokio::process::Command::new("docker")
            .args(["exec", &node, "crictl", "stop", "--timeout", "0", &bare])
            .output()
            .await
            .map_err(|e| PlayError::Disrupt {
                container: container.clone(),
                node: node.clone(),
                detail: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(PlayError::Disrupt {
                container,
                node,
                detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        let what = format!(
            "stopped sidecar {container} (container {}) through the node's runtime",
            &bare[..bare.len().min(12)]
        );
        play.progress
            .say(format!("{}: check: pod {pod}: {what}", play.target.name));
        obs.actions.push(Action {
            at,
            pod: pod.clone(),
            container: container.clone(),
            what,
        });
        let back = |rec: &Recorder| {
            finished(rec, &pod)
                || restart_count(rec, &pod, &container) > restarts_before
                    && rec.pods().get(&pod).is_some_and(|p| {
                        p.status
                            .as_ref()
                            .and_then(|s| s.init_container_statuses.as_ref())
                            .into_iter()
                            .flatten()
                            .any(|c| {
                                c.name == container && c.state.as_ref().is_some_and(|st| st.running.is_some())
                            })
                    })
        };
        let what = format!("pod {pod}: sidecar {container} restarted and running (or the pod finished)");
        let wait = play.recorder.wait_for(&what, window, back).await;
        obs.waits.push(wait_record(&what, &wait, window));
    }
    Ok(())
}

/// Deletes every applied object (background propagation: owners take their pods with
/// them, each pod with its own grace period), marks each recorded pod as deleted, and
/// records until all of them are gone.
async fn delete_workloads(play: &Play<'_>, window: Duration, obs: &mut Observation) -> Result<(), PlayError> {
    let at = jiff::Timestamp::now();
    for o in &obs.applied {
        let (group, version) = o.api_version.rsplit_once('/').unwrap_or(("", &o.api_version));
        let resource = kube::api::ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &o.kind));
        let api: Api<DynamicObject> =
            Api::namespaced_with(play.target.client.clone(), play.namespace, &resource);
        match api.delete(&o.name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(PlayError::kube(format!("deleting {o}"))(e)),
        }
    }
    let pods: Vec<String> = play.recorder.snapshot().timeline().pods.keys().cloned().collect();
    for pod in &pods {
        obs.actions.push(Action {
            at,
            pod: pod.clone(),
            container: String::new(),
            what: "deleted with its workload (its own terminationGracePeriodSeconds)".into(),
        });
    }
    let what = "every pod of the workloads gone";
    let gone = |rec: &Recorder| {
        pods.iter().all(|pod| {
            rec.timeline().pods.get(pod).is_some_and(|p| {
                p.events
                    .iter()
                    .any(|e| matches!(e.kind, crate::timeline::PodEventKind::Deleted))
            })
        })
    };
    let wait = play.recorder.wait_for(what, window, gone).await;
    obs.waits.push(wait_record(what, &wait, window));
    Ok(())
}

/// Adds (or, with `add` false, removes) extended resources to every node's capacity
/// through the status subresource, the way device plugins advertise theirs; returns
/// how many nodes were patched.
async fn advertise(client: &kube::Client, resources: &[(&str, i64)], add: bool) -> Result<usize, PlayError> {
    use k8s_openapi::api::core::v1::Node;
    let nodes: Api<Node> = Api::all(client.clone());
    let list = nodes
        .list(&Default::default())
        .await
        .map_err(PlayError::kube("listing nodes"))?;
    let capacity: serde_json::Map<String, serde_json::Value> = resources
        .iter()
        .map(|(r, n)| {
            let value = if add {
                json!(n.to_string())
            } else {
                serde_json::Value::Null
            };
            (r.to_string(), value)
        })
        .collect();
    // Allocatable too: the scheduler reads it, and the kubelet copies it from capacity
    // only on its next status update.
    let patch = json!({"status": {"capacity": capacity, "allocatable": capacity}});
    for node in &list.items {
        let name = node.metadata.name.clone().unwrap_or_default();
        nodes
            .patch_status(
                &name,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&patch),
            )
            .await
            .map_err(PlayError::kube(format!(
                "{} extended resources on node {name}",
                if add { "advertising" } else { "removing" }
            )))?;
    }
    if add {
        let wanted: Vec<(String, String)> = resources
            .iter()
            .map(|(r, n)| (r.to_string(), n.to_string()))
            .collect();
        crate::observe::wait_for_set(
            nodes,
            kube::runtime::watcher::Config::default(),
            "every node allocatable with the advertised resources",
            Duration::from_secs(60),
            |ns: &[Node]| {
                !ns.is_empty()
                    && ns.iter().all(|n| {
                        let alloc = n.status.as_ref().and_then(|s| s.allocatable.as_ref());
                        wanted
                            .iter()
                            .all(|(r, v)| alloc.and_then(|a| a.get(r)).is_some_and(|q| &q.0 == v))
                    })
            },
            |ns: &[Node]| {
                ns.iter()
                    .map(|n| {
                        format!(
                            "{} allocatable {:?}",
                            n.metadata.name.as_deref().unwrap_or("?"),
                            n.status
                                .as_ref()
                                .and_then(|s| s.allocatable.as_ref())
                                .map(|a| a.keys().cloned().collect::<Vec<_>>())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        )
        .await?;
    }
    Ok(list.items.len())
}

/// Waits until every container of `pod` runs (or the pod is held up by an init
/// container), records the wait, and says whether they all run.
async fn wait_all_running(
    recorder: &LiveRecorder,
    pod: &str,
    window: Duration,
    obs: &mut Observation,
) -> bool {
    let wait = recorder
        .wait_for("all containers running", window, |rec| {
            all_running(rec, pod) || stuck_behind_init(rec, STUCK_WINDOW)
        })
        .await;
    obs.waits
        .push(wait_record("all containers running", &wait, window));
    all_running(&recorder.snapshot(), pod)
}

/// Whether every container of `pod` (init containers still in its status included) is
/// running and `started`.
fn all_running(rec: &Recorder, pod: &str) -> bool {
    rec.pods().get(pod).is_some_and(|p| {
        let spec = p.spec.clone().unwrap_or_default();
        let expected = spec.containers.len() + spec.init_containers.as_ref().map_or(0, |c| c.len());
        let s = p.status.clone().unwrap_or_default();
        let all: Vec<_> = s
            .init_container_statuses
            .iter()
            .flatten()
            .chain(s.container_statuses.iter().flatten())
            .collect();
        all.len() == expected
            && all
                .iter()
                .all(|c| c.started == Some(true) && c.state.as_ref().is_some_and(|st| st.running.is_some()))
    })
}

/// Applies and records the result; `Ok(false)` when the API server refused.
async fn apply_recording(
    target: &Target,
    path: &str,
    text: &str,
    namespace: &str,
    obs: &mut Observation,
) -> Result<bool, PlayError> {
    record(target.applier.apply_text(path, text, namespace).await, obs)
}

/// Dry-runs and records the result; `Ok(false)` when the API server refused.
async fn dry_run_recording(
    target: &Target,
    label: &str,
    text: &str,
    namespace: &str,
    obs: &mut Observation,
) -> Result<bool, PlayError> {
    record(target.applier.dry_run_text(label, text, namespace).await, obs)
}

/// Puts what the API server accepted or refused into the observation.
fn record(outcome: Result<Vec<AppliedObject>, ApplyError>, obs: &mut Observation) -> Result<bool, PlayError> {
    match outcome {
        Ok(accepted) => {
            obs.applied.extend(accepted);
            Ok(true)
        }
        Err(ApplyError::Rejected {
            file,
            object,
            message,
        }) => {
            obs.rejections.push(Rejection {
                file,
                object,
                message,
            });
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

fn wait_record<T>(what: &str, wait: &Result<Duration, T>, window: Duration) -> WaitRecord {
    match wait {
        Ok(d) => WaitRecord {
            what: what.into(),
            satisfied: true,
            after_ms: d.as_millis() as u64,
            ended_at: Some(jiff::Timestamp::now()),
        },
        Err(_) => WaitRecord {
            what: what.into(),
            satisfied: false,
            after_ms: window.as_millis() as u64,
            ended_at: Some(jiff::Timestamp::now()),
        },
    }
}

fn restart_count(rec: &Recorder, pod: &str, container: &str) -> i32 {
    rec.timeline()
        .pods
        .get(pod)
        .and_then(|p| p.container(container))
        .and_then(|c| c.events.last())
        .map(|e| e.restart_count)
        .unwrap_or(0)
}

/// Makes a container's shell exit by killing its child (PID 1 ignores signals it has no
/// handler for; its child does not).
async fn kill_child(pods: &Api<Pod>, pod: &str, container: &str) -> Result<String, PlayError> {
    let params = AttachParams::default()
        .container(container)
        .stdout(true)
        .stderr(true);
    let mut process = pods
        .exec(pod, vec!["sh", "-c", "kill $(cat /tmp/child)"], &params)
        .await
        .map_err(PlayError::kube(format!("exec in {pod}/{container}")))?;
    let status = process.take_status();
    // The exec session dies with the container it made exit, so its end is reported,
    // not judged: whether the container really exited and restarted is what the wait
    // after it and the judge look at.
    let joined = process.join().await;
    let status = match status {
        Some(s) => s.await,
        None => None,
    };
    Ok(match (joined, status) {
        (Ok(()), Some(s)) if s.status.as_deref() == Some("Success") => "exec succeeded".into(),
        (Ok(()), Some(s)) => format!("exec ended with: {}", s.message.unwrap_or_default()),
        (Ok(()), None) => "exec ended without a status".into(),
        (Err(e), _) => format!("exec ended with: {e}"),
    })
}

/// After the pods settled: a Job whose pod finished gets up to 30 s to show its
/// Complete or Failed condition (the Job controller sets it after the pod's phase).
async fn wait_for_jobs(target: &Target, namespace: &str, recorder: &LiveRecorder, obs: &mut Observation) {
    let finished = recorder
        .snapshot()
        .timeline()
        .pods
        .values()
        .any(|p| matches!(p.last_phase(), Some("Succeeded" | "Failed")));
    if !finished {
        return;
    }
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(target.client.clone(), namespace);
    for job in obs.applied.iter().filter(|o| o.kind == "Job") {
        let window = Duration::from_secs(30);
        let started = Instant::now();
        let done = |j: Option<&k8s_openapi::api::batch::v1::Job>| {
            j.and_then(|j| j.status.as_ref())
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
                })
        };
        let outcome = tokio::time::timeout(window, await_condition(jobs.clone(), &job.name, done)).await;
        let satisfied = matches!(outcome, Ok(Ok(_)));
        obs.waits.push(WaitRecord {
            what: format!("Job {} Complete or Failed", job.name),
            satisfied,
            after_ms: started.elapsed().as_millis() as u64,
            ended_at: Some(jiff::Timestamp::now()),
        });
    }
}

/// Every container's log of every recorded pod, by `pod/container`; a log that cannot
/// be read is recorded as the error.
async fn read_logs(
    target: &Target,
    namespace: &str,
    recorded: &Recorder,
) -> std::collections::BTreeMap<String, String> {
    let pods: Api<Pod> = Api::namespaced(target.client.clone(), namespace);
    let mut out = std::collections::BTreeMap::new();
    for (pod, timeline) in &recorded.timeline().pods {
        for c in &timeline.containers {
            let params = kube::api::LogParams {
                container: Some(c.name.clone()),
                ..Default::default()
            };
            let text = match pods.logs(pod, &params).await {
                Ok(t) => t,
                Err(e) => format!("(log not readable: {e})"),
            };
            out.insert(format!("{pod}/{}", c.name), text);
        }
    }
    out
}

/// The final state of every applied object other than pods (those are recorded).
async fn fetch_objects(
    target: &Target,
    namespace: &str,
    applied: &[AppliedObject],
) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for o in applied.iter().filter(|o| o.kind != "Pod") {
        let (group, version) = o.api_version.rsplit_once('/').unwrap_or(("", &o.api_version));
        let gvk = GroupVersionKind::gvk(group, version, &o.kind);
        let resource = kube::api::ApiResource::from_gvk(&gvk);
        let api: Api<DynamicObject> = Api::namespaced_with(target.client.clone(), namespace, &resource);
        match api.get(&o.name).await {
            Ok(obj) => {
                let mut v = serde_json::to_value(&obj).unwrap_or_default();
                v["kind"] = json!(o.kind);
                v["apiVersion"] = json!(o.api_version);
                out.push(v);
            }
            Err(e) => out.push(json!({"kind": o.kind, "metadata": {"name": o.name}, "error": e.to_string()})),
        }
    }
    out
}

async fn create_namespace(client: &Client, name: &str) -> Result<(), PlayError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {MANAGED_BY.0: MANAGED_BY.1}}
    }))?;
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .map_err(PlayError::kube(format!("creating namespace {name}")))?;
    // Pods are refused until the namespace's default service account exists.
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), name);
    let window = Duration::from_secs(60);
    tokio::time::timeout(
        window,
        await_condition(accounts, "default", kube::runtime::conditions::is_created()),
    )
    .await
    .map_err(|_| WaitTimeout {
        what: format!("service account {name}/default"),
        after: window,
        last_seen: None,
    })?
    .map_err(|error| PlayError::Watch {
        what: format!("waiting for service account {name}/default"),
        error,
    })?;
    Ok(())
}

/// Four hex digits from the clock and PID: enough to keep namespaces and cluster names
/// of concurrent runs apart.
pub fn short_random() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed = nanos
        ^ std::process::id().rotate_left(16)
        ^ COUNTER.fetch_add(0x9e37, std::sync::atomic::Ordering::Relaxed);
    format!("{:04x}", mixed & 0xffff)
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The results for every behaviour on a cluster that could not be created.
/// `observed` is `cluster-refused` only when the node's own log refuses the gate in the
/// words the gate table expects of this version and setting
/// ([`crate::gate::refusal_words`]); any other creation failure is an error of the run,
/// not a finding.
pub fn refused_results(
    behaviours: &[&Behaviour],
    cluster: &str,
    version: crate::version::KubeVersion,
    gate: crate::gate::GateSetting,
    failure: &crate::cluster::CreateFailure,
) -> Vec<CheckResult> {
    let blames_gate = crate::gate::refusal_words(version, gate)
        .is_some_and(|words| failure.gate_lines.iter().any(|l| l.contains(&words)));
    behaviours
        .iter()
        .map(|b| {
            let mut result = b.unjudged(cluster, version, gate);
            let mut evidence = vec![format!(
                "kind create cluster with featureGates {{{}: {}}} failed after {:.0} s",
                crate::gate::GATE_NAME,
                gate.explicit_value()
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "unset".into()),
                failure.elapsed.as_secs_f64()
            )];
            evidence.extend(failure.gate_lines.iter().map(|l| format!("kubelet: {l}")));
            result.evidence = evidence;
            result.duration_ms = failure.elapsed.as_millis() as u64;
            if blames_gate {
                result.observed = Some(crate::behaviour::Outcome::ClusterRefused);
                result.verdict =
                    CheckResult::verdict_of(result.expected, crate::behaviour::Outcome::ClusterRefused);
            } else {
                result.error = Some(failure.error.to_string());
            }
            result
        })
        .collect()
}

/// The `gate-probe` result of a `--kubeconfig` cluster: whether its API server keeps
/// an init container's `restartPolicy: Always` as its version and the stated gate say.
/// A contradiction fails here, on its own line, and changes no other expectation.
pub fn probe_result(cluster: &crate::cluster::Cluster, probe: &crate::gate::GateProbe) -> CheckResult {
    use crate::behaviour::Outcome;
    let effect = effect(cluster.version, cluster.gate);
    let expected = if effect == GateEffect::Enabled {
        Outcome::Holds
    } else {
        Outcome::SidecarIgnored
    };
    let observed = if probe.sidecars_enabled {
        Outcome::Holds
    } else {
        Outcome::SidecarIgnored
    };
    let verdict = CheckResult::verdict_of(expected, observed);
    let mut evidence = vec![
        probe.detail.clone(),
        format!(
            "Kubernetes {} with gate {} {} sidecars (the gate table)",
            cluster.version,
            cluster.gate,
            if expected == Outcome::Holds {
                "enables"
            } else {
                "disables"
            }
        ),
    ];
    if verdict != Verdict::Pass {
        evidence.push(format!(
            "NOT: sidecars {} on a cluster whose version and gate {} them: something between the client and storage (an admission webhook, a patched API server) changes init containers; every behaviour is still judged against the version's expectation",
            if probe.sidecars_enabled { "kept" } else { "stripped" },
            if expected == Outcome::Holds { "enable" } else { "disable" }
        ));
    }
    CheckResult {
        behaviour: "gate-probe".into(),
        title: "The API server keeps or drops an init container's restartPolicy: Always as the version and gate say".into(),
        section: "the gate table".into(),
        observed: Some(observed),
        verdict,
        evidence,
        ..CheckResult::blank(&cluster.name, cluster.version, cluster.gate, expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_that_contradicts_the_version_fails_on_its_own_line() {
        let cluster = crate::cluster::Cluster::known(
            "kubeconfig-1-32-2",
            std::path::Path::new("/nonexistent"),
            "1.32.2".parse().unwrap(),
            crate::gate::GateSetting::Default,
        );
        let stripped = crate::gate::GateProbe {
            sidecars_enabled: false,
            detail: "a dry-run pod came back with the init container's restartPolicy dropped".into(),
        };
        let r = probe_result(&cluster, &stripped);
        assert_eq!(r.verdict, Verdict::Fail, "{:#?}", r.evidence);
        assert!(
            r.evidence.iter().any(|e| e.contains("stripped")),
            "{:#?}",
            r.evidence
        );
        // The cluster's gate is what the user stated, not what the probe showed.
        assert_eq!(r.sidecar_gate, crate::gate::GateSetting::Default);
        let kept = crate::gate::GateProbe {
            sidecars_enabled: true,
            detail: "kept".into(),
        };
        assert_eq!(probe_result(&cluster, &kept).verdict, Verdict::Pass);
    }

    #[test]
    fn a_play_is_played_again_only_for_checks_about_the_container_the_runtime_failed() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "uid": "u"},
            "spec": {"initContainers": [{"name": "sidecar", "image": "i", "restartPolicy": "Always"}],
                     "containers": [{"name": "app", "image": "i"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "sidecar", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"terminated": {"exitCode": 128, "reason": "StartError", "message": "unable to freeze"}}}
            ]}
        }))
        .unwrap();
        let mut rec = Recorder::default();
        rec.observe(&pod, jiff::Timestamp::now());
        let obs = Observation {
            timeline: rec.timeline().clone(),
            ..Default::default()
        };
        let about_sidecar = vec!["NOT: sidecar started before app".to_string()];
        assert!(concerns_failed_start(&obs, &about_sidecar));
        // A failed check about another container stands, runtime fault or not.
        let about_app = vec![
            "NOT: sidecar started before app".to_string(),
            "NOT: app kept its container".to_string(),
        ];
        assert!(!concerns_failed_start(&obs, &about_app));
        // A name inside another word does not count.
        assert!(!concerns_failed_start(
            &obs,
            &["NOT: the sidecars-b file".to_string()]
        ));
        assert!(!concerns_failed_start(&obs, &[]));
    }

    #[test]
    fn a_wait_that_ran_out_names_the_containers_still_waiting_and_why() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "uid": "u"},
            "spec": {"containers": [{"name": "app", "image": "alpine:latest"}, {"name": "next", "image": "i"}]},
            "status": {"phase": "Pending", "containerStatuses": [
                {"name": "app", "image": "alpine:latest", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"waiting": {"reason": "ErrImagePull", "message": "no such host"}}},
                {"name": "next", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"waiting": {"reason": "PodInitializing"}}}
            ]}
        }))
        .unwrap();
        let mut rec = Recorder::default();
        rec.observe(&pod, jiff::Timestamp::now());
        let mut obs = Observation {
            timeline: rec.timeline().clone(),
            ..Default::default()
        };
        assert!(stuck_containers(&obs).is_empty(), "no wait ran out");
        obs.waits.push(WaitRecord {
            what: "pods settled".into(),
            satisfied: false,
            after_ms: 120_000,
            ended_at: None,
        });
        assert_eq!(
            stuck_containers(&obs),
            vec!["pod p: app is waiting: ErrImagePull (no such host)"]
        );
    }
}
