//! "node-restart": after its node restarts, a pod whose init container is a sidecar
//! initializes again as a new pod would: phase Pending until the sidecar, run again, is
//! `started`; then the app runs again (kubernetes/kubernetes#127793, fixed in 1.33 by
//! #128516: the behaviour-change table's `sidecar-pending-phase-after-reboot`).

use jiff::Timestamp;
use sidecar_conformance_model::timeline::{ContainerEventKind, ContainerTimeline, PodEventKind};

use super::{Judgement, Observation};
use crate::evidence::{Findings, acted_on, fmt_time, listed, sidecar_and_app};

const POD: &str = "node-restart";
const SIDECAR: &str = "sidecar";
const APP: &str = "app";

/// Settled once the sidecar and the app run, or when the pod is held up by an init
/// container (the gate off: the would-be sidecar never exits).
pub fn settled(rec: &sidecar_conformance_model::recorder::Recorder) -> bool {
    let running = |name: &str| {
        rec.timeline()
            .pods
            .get(POD)
            .and_then(|p| p.container(name))
            .is_some_and(|c| matches!(c.last_state(), Some(ContainerEventKind::Running { .. })))
    };
    (running(SIDECAR) && running(APP))
        || crate::evidence::stuck_behind_init(rec, crate::evidence::STUCK_WINDOW)
}

/// The runtime start of `c`'s first run after `t`. The runtime's times are whole
/// seconds, and the pod's first runs may have begun in the very second of the restart:
/// only a later second counts (no container comes back within a second of its node's
/// restart, which takes ten).
fn start_after(c: &ContainerTimeline, t: Timestamp) -> Option<Timestamp> {
    c.run_starts().into_iter().find(|s| s.as_second() > t.as_second())
}

/// Judges the fixture.
pub fn judge(obs: &Observation) -> Judgement {
    let (pod, sidecar, app) = match sidecar_and_app(obs, POD, SIDECAR, APP) {
        Ok(found) => found,
        Err(judgement) => return judgement,
    };
    let restarted = match acted_on(
        obs,
        POD,
        "the node's restart",
        "the sidecar and the app never both ran",
    ) {
        Ok(at) => at,
        Err(judgement) => return judgement,
    };
    let mut f = Findings::default();
    f.note(format!("node restarted at {restarted}"));
    let sidecar_start = start_after(sidecar, restarted);
    let app_start = start_after(app, restarted);
    // `started` of the sidecar's new run, as the watch saw it (the status has no time
    // of its own for it).
    let started = sidecar_start.and_then(|s| {
        sidecar.events.iter().find_map(|e| match e.kind {
            ContainerEventKind::Started { started: true } if e.observed_at.as_second() >= s.as_second() => {
                Some(e.observed_at)
            }
            _ => None,
        })
    });
    f.check(
        sidecar_start.is_some() && started.is_some(),
        format!(
            "{SIDECAR} ran again after the restart from {} and was started at {}",
            fmt_time(sidecar_start),
            fmt_time(started)
        ),
    );
    match (started, app_start) {
        (Some(s), Some(a)) => f.check(
            a.as_second() >= s.as_second(),
            format!("{APP} started again at {a}, once {SIDECAR} was started ({s})"),
        ),
        _ => f.fail(format!(
            "{APP} started again once {SIDECAR} was started: {APP} at {}, {SIDECAR} started at {}",
            fmt_time(app_start),
            fmt_time(started)
        )),
    }
    // Until the sidecar is started again the pod is initializing again: Pending.
    let pending = pod.events.iter().find_map(|e| match &e.kind {
        PodEventKind::Phase { phase } if phase == "Pending" && e.observed_at > restarted => {
            Some(e.observed_at)
        }
        _ => None,
    });
    let phases: Vec<String> = pod
        .events
        .iter()
        .filter(|e| e.observed_at > restarted)
        .filter_map(|e| match &e.kind {
            PodEventKind::Phase { phase } => Some(format!("{phase} at {}", e.observed_at)),
            _ => None,
        })
        .collect();
    f.check(
        pending.is_some(),
        format!(
            "the pod went back to Pending while it initialized again: phases after the restart: {}",
            listed(&phases, "none seen (it stayed in its phase)")
        ),
    );
    f.judgement()
}
