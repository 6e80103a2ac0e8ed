//! "deployment-ready": the page's Deployment shows 2/2 Ready, Running, 0 restarts.

use super::evidence::{
    Findings, STUCK_WINDOW, ready_column, restarts_column, sidecar_ignored, status_column, stuck_behind_init,
};
use super::{Judgement, Observation};
use crate::observe::Recorder;
use crate::timeline::{ContainerEventKind, ContainerRole};

/// Replicas of the page's Deployment.
const REPLICAS: usize = 2;

/// Settled when the replicas are all ready, or when the pods are held up by their init container.
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
    all_ready || stuck_behind_init(rec, STUCK_WINDOW)
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
            format!("pod {name}: READY {ready}/{total}, STATUS {status}, RESTARTS {restarts} (the page shows 2/2 Running 0)"),
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
    f.judgement()
}
