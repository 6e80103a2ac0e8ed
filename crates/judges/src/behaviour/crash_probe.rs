//! "sidecar-crash-startup-probe": in a `restartPolicy: Never` pod, a startup-probed
//! sidecar that crashed on its first run is restarted, its second run becomes
//! `started`, and the app starts after it (kubernetes/kubernetes#132826: on affected
//! versions the probe worker stops with the first run and the app stays
//! PodInitializing; the behaviour-change table's `sidecar-startupprobe-never-policy`).

use std::time::Duration;

use sidecar_conformance_model::recorder::Recorder;

use super::{Judgement, Observation};
use crate::evidence::{Findings, fmt_time, sidecar_and_app};

const POD: &str = "sidecar-crash-startup-probe";
const SIDECAR: &str = "sidecar";
const APP: &str = "app";
/// How long the app gets, after the sidecar's second run began, before it counts as
/// held up: the probe passes within seconds of the second run.
pub const HELD_UP: Duration = Duration::from_secs(40);

/// Settled once the app ran, or once the sidecar's second run has gone `HELD_UP`
/// without the app starting, or when a pod is held up by an init container.
pub fn settled(rec: &Recorder) -> bool {
    let Some(pod) = rec.timeline().pods.get(POD) else {
        return false;
    };
    let app_ran = pod.container(APP).is_some_and(|a| a.ever_ran());
    let second_run_waited = pod.container(SIDECAR).is_some_and(|s| {
        let runs = s.run_starts();
        runs.len() >= 2
            && jiff::Timestamp::now().duration_since(runs[1]).as_secs() >= HELD_UP.as_secs() as i64
    });
    app_ran || second_run_waited || crate::evidence::stuck_behind_init(rec, crate::evidence::STUCK_WINDOW)
}

/// Judges the fixture.
pub fn judge(obs: &Observation) -> Judgement {
    let (pod, sidecar, app) = match sidecar_and_app(obs, POD, SIDECAR, APP) {
        Ok(found) => found,
        Err(judgement) => return judgement,
    };
    let mut f = Findings::default();
    let codes = sidecar.exit_codes();
    f.check(
        codes.first() == Some(&1),
        format!("{SIDECAR} crashed on its first run: exit codes {codes:?}"),
    );
    // From the runtime's start times: the watch may see the first run (a second long)
    // only as its termination.
    let runs = sidecar.run_starts();
    f.check(
        runs.len() >= 2,
        format!(
            "{SIDECAR} was restarted in the Never pod: runs began at {}",
            runs.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
        ),
    );
    let started_after_restart = runs.get(1).and_then(|second| {
        sidecar.events.iter().find_map(|e| match e.kind {
            sidecar_conformance_model::timeline::ContainerEventKind::Started { started: true }
                if e.observed_at.as_second() >= second.as_second() =>
            {
                Some(e.observed_at)
            }
            _ => None,
        })
    });
    f.check(
        started_after_restart.is_some(),
        format!(
            "{SIDECAR}'s second run passed its startup probe: started: true at {}",
            fmt_time(started_after_restart)
        ),
    );
    match (app.first_seen_running(), started_after_restart) {
        (Some(app_at), Some(s)) => f.check(
            app_at >= s,
            format!(
                "{APP} was first seen running at {app_at}, after the sidecar's second run was started at {s}"
            ),
        ),
        (None, _) => f.fail(format!(
            "{APP} never started (last waiting: {}; pod last phase {})",
            app.last_waiting().unwrap_or_else(|| "-".into()),
            pod.last_phase().unwrap_or("unknown")
        )),
        (Some(app_at), None) => f.fail(format!(
            "{APP} started at {app_at} although the sidecar's second run was never started"
        )),
    }
    f.judgement()
}
