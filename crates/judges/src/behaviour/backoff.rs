//! "sidecar-backoff": a failing sidecar is restarted with crash-loop back-off although
//! the pod's restartPolicy is Never, and the app keeps running untouched.

use sidecar_conformance_model::recorder::Recorder;
use sidecar_conformance_model::timeline::{
    ContainerEventKind, ContainerRole, ContainerTimeline, PodTimeline,
};

use super::{Judgement, Observation, Outcome};
use crate::evidence::{Findings, fmt_time, missing};

const POD: &str = "sidecar-backoff";
const SIDECAR: &str = "sidecar";
const APP: &str = "app";
/// Restarts to wait for. The kubelet restarts the first time at once and then backs off
/// (10 s, 20 s, ...): three restarts give three intervals, each longer than the last.
const RESTARTS: i32 = 3;

/// Settled once the sidecar restarted [`RESTARTS`] times and runs again, or once the pod failed (a would-be
/// sidecar that is a regular init container fails the pod when it exits).
pub fn settled(rec: &Recorder) -> bool {
    rec.timeline().pods.get(POD).is_some_and(|p| {
        p.last_phase() == Some("Failed")
            || p.container(SIDECAR)
                .is_some_and(|c| c.max_restarts() >= RESTARTS && c.running_since().len() > RESTARTS as usize)
    })
}

/// The evidence that the API server dropped the sidecar's `restartPolicy` and the
/// kubelet ran it as a regular init container, or why the recording does not show it.
/// A regular init container that exits non-zero under the pod's `restartPolicy: Never`
/// fails the pod, without a restart; one still running holds the pod up. Either way it
/// must have been seen running, and the app never: a would-be sidecar that never ran
/// (an image that cannot be pulled) shows nothing of the gate.
fn ignored(
    obs: &Observation,
    pod: &PodTimeline,
    sidecar: &ContainerTimeline,
    app: &ContainerTimeline,
) -> Result<Vec<String>, String> {
    let stored_policy = obs
        .pod(POD)
        .and_then(|p| p.spec.as_ref())
        .and_then(|s| s.init_containers.as_ref())
        .and_then(|ics| ics.iter().find(|c| c.name == SIDECAR))
        .map(|c| c.restart_policy.clone());
    if let Some(Some(policy)) = &stored_policy {
        return Err(format!(
            "pod {POD}: the watch saw {SIDECAR} stored without restartPolicy, the pod's last object has restartPolicy: {policy}: the observation contradicts itself"
        ));
    }
    let mut evidence = vec![format!(
        "pod {POD}: init container {SIDECAR} is declared with restartPolicy: Always but the stored pod has none (the API server dropped the field)"
    )];
    if app.ever_ran() {
        return Err(format!(
            "pod {POD}: {APP} ran although {SIDECAR} was a regular init container before it"
        ));
    }
    let Some(seen_running) = sidecar.first_seen_running() else {
        return Err(format!(
            "pod {POD}: {SIDECAR} is stored as a regular init container but was never seen running (last waited: {}): nothing shows it holding up or failing the pod",
            sidecar.last_waiting().unwrap_or_else(|| "-".into())
        ));
    };
    let phase = pod.last_phase().unwrap_or("unknown");
    let exits: Vec<i32> = sidecar.exit_codes();
    match exits.as_slice() {
        [code] if *code != 0 && phase == "Failed" && sidecar.max_restarts() == 0 => evidence.push(format!(
            "pod {POD}: {SIDECAR} ran as a regular init container from {} (seen {seen_running}), exited {code} and was not restarted: under restartPolicy Never that failed the pod (phase {phase})",
            fmt_time(sidecar.first_started_at())
        )),
        [] if matches!(sidecar.last_state(), Some(ContainerEventKind::Running { .. })) => evidence.push(format!(
            "pod {POD}: {SIDECAR} has been running since {} as a regular init container and never exited; pod phase {phase}",
            fmt_time(sidecar.first_started_at())
        )),
        _ => {
            return Err(format!(
                "pod {POD}: {SIDECAR}, a regular init container in the stored pod, exited {exits:?} with {} restart(s), pod phase {phase}: neither failing the pod once nor holding it up",
                sidecar.max_restarts()
            ));
        }
    }
    evidence.push(format!("pod {POD}: app container {APP} never started"));
    Ok(evidence)
}

/// Judges the back-off fixture.
pub fn judge(obs: &Observation) -> Judgement {
    let Some(pod) = obs.timeline.pods.get(POD) else {
        return missing(format!("pod {POD} was never seen"));
    };
    let (Some(sidecar), Some(app)) = (pod.container(SIDECAR), pod.container(APP)) else {
        return missing(format!("pod {POD}: containers missing"));
    };

    // Gate off: the API server dropped restartPolicy, the "sidecar" is a regular init
    // container. That is a verdict only with what shows it (see `ignored`).
    let mut f = Findings::default();
    if sidecar.role == ContainerRole::Init {
        match ignored(obs, pod, sidecar, app) {
            Ok(evidence) => {
                return Judgement {
                    page_findings: vec![],
                    outcome: Outcome::SidecarIgnored,
                    evidence,
                };
            }
            Err(why) => f.fail(why),
        }
    }

    f.check(
        sidecar.role == ContainerRole::Sidecar,
        format!("{SIDECAR} is a sidecar in the stored pod"),
    );
    let exits: Vec<i32> = sidecar.exit_codes();
    let runs = sidecar.running_since();
    f.check(
        sidecar.max_restarts() >= RESTARTS && sidecar.container_ids().len() as i32 > RESTARTS,
        format!(
            "{SIDECAR} restarted {} time(s) after exiting {:?}, in {} containers (the pod's restartPolicy is Never)",
            sidecar.max_restarts(),
            exits,
            sidecar.container_ids().len()
        ),
    );
    let backoff_seen = sidecar.events.iter().any(
        |e| matches!(&e.kind, ContainerEventKind::Waiting { reason: Some(r), .. } if r == "CrashLoopBackOff"),
    );
    // The waiting state between runs is not always in a status update the watch sees
    // (1.32 rarely reports it for sidecars): the start times below are the proof.
    f.note(format!(
        "{SIDECAR} was {}seen waiting in CrashLoopBackOff between runs",
        if backoff_seen { "" } else { "not " }
    ));
    // Each start comes later after the previous one: the back-off grows.
    let gaps: Vec<i64> = runs
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).as_secs())
        .collect();
    f.check(
        gaps.len() >= RESTARTS as usize && gaps.windows(2).all(|g| g[1] > g[0]),
        format!(
            "{SIDECAR} started at {} (runtime clock): {} s between starts, growing",
            runs.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", "),
            gaps.iter()
                .map(|g| g.to_string())
                .collect::<Vec<_>>()
                .join(" s, ")
        ),
    );
    let app_running = matches!(app.last_state(), Some(ContainerEventKind::Running { .. }));
    f.check(
        app_running && app.container_ids().len() == 1 && app.max_restarts() == 0,
        format!(
            "meanwhile {APP} kept running in its first container since {} (running: {app_running}, container IDs seen: {}, restarts: {})",
            fmt_time(app.first_started_at()),
            app.container_ids().len(),
            app.max_restarts()
        ),
    );
    f.check(
        pod.last_phase() == Some("Running"),
        format!("pod {POD}: phase {}", pod.last_phase().unwrap_or("unknown")),
    );
    f.judgement()
}
