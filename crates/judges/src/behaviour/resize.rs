//! "sidecar-resize": a running sidecar's CPU is resized in place through the pod's
//! `resize` subresource: the kubelet applies it to the same container, nothing
//! restarts (1.33: in-place pod resize beta with sidecar support,
//! kubernetes/kubernetes#128367; before it, the behaviour-change table's
//! `sidecar-in-place-resize-unavailable`).

use k8s_openapi::api::core::v1::ContainerStatus;
use sidecar_conformance_model::recorder::Recorder;

use super::{Judgement, Observation};
use crate::evidence::{Findings, acted_on, listed, sidecar_and_app};

const POD: &str = "sidecar-resize";
const SIDECAR: &str = "sidecar";
const APP: &str = "app";
/// The CPU the sidecar is resized to (requests and limits).
pub const NEW_CPU: &str = "200m";
/// The patch the scenario applies, on the `resize` subresource.
pub const PATCH: &str = r#"{"spec":{"initContainers":[{"name":"sidecar","resources":{"requests":{"cpu":"200m"},"limits":{"cpu":"200m"}}}]}}"#;

fn sidecar_status(pod: &k8s_openapi::api::core::v1::Pod) -> Option<&ContainerStatus> {
    pod.status
        .as_ref()?
        .init_container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == SIDECAR)
}

/// The CPU request and limit the container status reports as applied.
fn applied_cpu(status: &ContainerStatus) -> (Option<String>, Option<String>) {
    let r = status.resources.as_ref();
    let get = |m: Option<
        &std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >| { m.and_then(|m| m.get("cpu")).map(|q| q.0.clone()) };
    (
        get(r.and_then(|r| r.requests.as_ref())),
        get(r.and_then(|r| r.limits.as_ref())),
    )
}

/// Settled once the sidecar's status reports the new CPU as applied.
pub fn settled(rec: &Recorder) -> bool {
    rec.pods()
        .get(POD)
        .and_then(sidecar_status)
        .is_some_and(|s| applied_cpu(s) == (Some(NEW_CPU.into()), Some(NEW_CPU.into())))
}

/// Judges the fixture.
pub fn judge(obs: &Observation) -> Judgement {
    let (_, sidecar, app) = match sidecar_and_app(obs, POD, SIDECAR, APP) {
        Ok(found) => found,
        Err(judgement) => return judgement,
    };
    // A refusal is the cluster's answer to the resize, not missing evidence.
    if let Some(r) = obs.rejections.iter().find(|r| r.object == format!("Pod/{POD}")) {
        let mut f = Findings::default();
        f.fail(format!(
            "the API server took the in-place resize of the running sidecar: it refused it: {}",
            r.message
        ));
        return f.judgement();
    }
    let resized = match acted_on(
        obs,
        POD,
        "the sidecar's resize",
        "the pod's containers did not all run",
    ) {
        Ok(at) => at,
        Err(judgement) => return judgement,
    };
    let mut f = Findings::default();
    let last = obs.pod(POD).and_then(sidecar_status);
    let (requests, limits) = last.map(applied_cpu).unwrap_or_default();
    f.check(
        requests.as_deref() == Some(NEW_CPU) && limits.as_deref() == Some(NEW_CPU),
        format!(
            "the kubelet reports {SIDECAR}'s CPU as applied: requests {}, limits {} (asked {NEW_CPU} at {resized})",
            requests.as_deref().unwrap_or("-"),
            limits.as_deref().unwrap_or("-"),
        ),
    );
    let (kept, detail) = sidecar.kept_first_container();
    f.check(
        kept,
        format!("{SIDECAR} kept its container through the resize: {detail}"),
    );
    let (kept, detail) = app.kept_first_container();
    f.check(kept, format!("{APP} kept its first container: {detail}"));
    let pending: Vec<String> = obs
        .pod(POD)
        .and_then(|p| p.status.as_ref()?.conditions.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.type_.starts_with("PodResize") && c.status == "True")
        .map(|c| format!("{} ({})", c.type_, c.reason.unwrap_or_default()))
        .collect();
    f.check(
        pending.is_empty(),
        format!(
            "no resize left pending or in progress: {}",
            listed(&pending, "none")
        ),
    );
    f.judgement()
}
