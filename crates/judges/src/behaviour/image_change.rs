//! "sidecar-image-change": changing a running sidecar's image restarts that sidecar
//! alone, in a new container, and leaves the app running (kubernetes/kubernetes#126525,
//! 1.32, for #121333; before it the change was ignored: the behaviour-change table's
//! `sidecar-image-change-ignored`).

use std::time::Duration;

use sidecar_conformance_model::recorder::Recorder;
use sidecar_conformance_model::timeline::ContainerEventKind;

use super::{Judgement, Observation};
use crate::evidence::{Findings, acted_on, fmt_time, missing, sidecar_and_app};

const POD: &str = "sidecar-image-change";
const SIDECAR: &str = "sidecar";
const APP: &str = "app";
/// The same image, named in full: a different reference, no other image needed.
pub const NEW_IMAGE: &str = "docker.io/library/alpine:latest";
/// How long the pod is watched after the sidecar's new container runs: an app restarted
/// with it (a whole-pod restart) shows within seconds.
pub const WATCH_AFTER: Duration = Duration::from_secs(10);
/// The patch the scenario applies.
pub const PATCH: &str =
    r#"{"spec":{"initContainers":[{"name":"sidecar","image":"docker.io/library/alpine:latest"}]}}"#;

/// Settled once the stored pod has the new image and the sidecar has run `WATCH_AFTER`
/// in a container started after its first (restart count above 0).
pub fn settled(rec: &Recorder) -> bool {
    let Some(pod) = rec.pods().get(POD) else {
        return false;
    };
    let changed = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == SIDECAR))
        .is_some_and(|c| c.image.as_deref() == Some(NEW_IMAGE));
    let restarted_since = pod
        .status
        .as_ref()
        .and_then(|s| s.init_container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == SIDECAR))
        .filter(|c| c.restart_count > 0)
        .and_then(|c| c.state.as_ref()?.running.as_ref()?.started_at.clone());
    changed
        && restarted_since.is_some_and(|t| {
            jiff::Timestamp::now().duration_since(t.0).as_secs() >= WATCH_AFTER.as_secs() as i64
        })
}

/// Judges the fixture.
pub fn judge(obs: &Observation) -> Judgement {
    let (_, sidecar, app) = match sidecar_and_app(obs, POD, SIDECAR, APP) {
        Ok(found) => found,
        Err(judgement) => return judgement,
    };
    if let Some(r) = obs.rejections.first() {
        return missing(format!("the image change was refused: {}", r.message));
    }
    let changed = match acted_on(
        obs,
        POD,
        "the sidecar's image change",
        "the pod's containers did not all run",
    ) {
        Ok(at) => at,
        Err(judgement) => return judgement,
    };
    let mut f = Findings::default();
    let stored = obs
        .pod(POD)
        .and_then(|p| {
            p.spec
                .as_ref()?
                .init_containers
                .as_ref()?
                .iter()
                .find(|c| c.name == SIDECAR)
        })
        .and_then(|c| c.image.clone());
    f.check(
        stored.as_deref() == Some(NEW_IMAGE),
        format!(
            "the stored pod's {SIDECAR} has the new image: {} (changed at {changed})",
            stored.as_deref().unwrap_or("-")
        ),
    );
    // The containers the sidecar ran in after the one that ran at the change.
    let before = sidecar.id_at(changed).map(str::to_string);
    let ids = sidecar.container_ids();
    let new_id = before
        .as_deref()
        .and_then(|b| ids.iter().skip_while(|i| **i != b).nth(1).copied());
    let new_start = new_id.and_then(|id| {
        sidecar.events.iter().find_map(|e| match e.kind {
            ContainerEventKind::Running { started_at } if e.container_id.as_deref() == Some(id) => {
                Some(started_at.unwrap_or(e.observed_at))
            }
            _ => None,
        })
    });
    f.check(
        new_start.is_some_and(|t| t.as_second() >= changed.as_second()),
        format!(
            "{SIDECAR} was restarted in a new container after the change: container {} at the change, then {} running from {}",
            before.as_deref().unwrap_or("-"),
            new_id.unwrap_or("none"),
            fmt_time(new_start),
        ),
    );
    let (kept, app_detail) = app.kept_first_container();
    f.check(kept, format!("{APP} kept its first container: {app_detail}"));
    let watched = obs
        .waits
        .iter()
        .find(|w| w.what == SETTLE)
        .is_some_and(|w| w.satisfied);
    f.check(
        watched,
        format!(
            "the pod was watched {} s with the sidecar's new container running",
            WATCH_AFTER.as_secs()
        ),
    );
    f.judgement()
}

/// What the scenario's wait is called in the observation.
pub const SETTLE: &str = "the sidecar running 10 s in a container started after the change";
