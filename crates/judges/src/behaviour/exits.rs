//! "sidecar-exit-during-termination": a sidecar that exits on its own while its pod
//! terminates is not restarted (1.29-1.37; restarting sidecars during termination is
//! KEP-4438), and the app still gets its time to stop.

use sidecar_conformance_model::timeline::ContainerEventKind;

use super::{Judgement, Observation};
use crate::evidence::{Findings, acted_on, fmt_time, sidecar_and_app, termination};

const POD: &str = "termination-sidecar-exits";
const SIDECAR: &str = "sidecar";
const APP: &str = "app";
const MESSAGE: &str = "exited during termination";

/// Judges the fixture.
pub fn judge(obs: &Observation) -> Judgement {
    let (_, sidecar, app) = match sidecar_and_app(obs, POD, SIDECAR, APP) {
        Ok(found) => found,
        Err(judgement) => return judgement,
    };
    let deleted = match acted_on(
        obs,
        POD,
        &format!("pod {POD}'s deletion"),
        "its containers did not all run",
    ) {
        Ok(at) => at,
        Err(judgement) => return judgement,
    };
    let mut f = Findings::default();
    f.note(format!("pod {POD} deleted at {deleted}"));
    let exits: Vec<_> = sidecar
        .terminations()
        .into_iter()
        .filter(|e| e.observed_at >= deleted)
        .collect();
    let Some(exit) = exits.first() else {
        f.fail(format!("{SIDECAR} was never seen exiting after the deletion"));
        return f.judgement();
    };
    let (code, _, sidecar_end) = termination(&exit.kind).unwrap_or((0, None, None));
    let message = match &exit.kind {
        ContainerEventKind::Terminated { message, .. } => message.clone().unwrap_or_default(),
        _ => String::new(),
    };
    f.check(
        code == 1 && message == MESSAGE,
        format!(
            "{SIDECAR} exited on its own during the termination: exit {code} at {}, message {message:?}",
            fmt_time(sidecar_end)
        ),
    );
    let app_end = app.terminations().last().and_then(|e| termination(&e.kind));
    match app_end {
        Some((app_code, _, Some(app_finished))) => {
            f.check(
                sidecar_end.is_some_and(|s| s < app_finished),
                format!("the app was still running then: it exited {app_code} at {app_finished}"),
            );
            f.check(
                app_code == 0,
                format!("the app finished its own stop: exit {app_code}"),
            );
        }
        _ => f.fail(format!("{APP} was never seen exiting")),
    }
    let ran_again = sidecar
        .events
        .iter()
        .any(|e| e.observed_at > exit.observed_at && matches!(e.kind, ContainerEventKind::Running { .. }));
    let restarts_before = sidecar
        .events
        .iter()
        .filter(|e| e.observed_at < deleted)
        .map(|e| e.restart_count)
        .max()
        .unwrap_or(0);
    f.check(
        !ran_again && sidecar.max_restarts() == restarts_before,
        format!(
            "{SIDECAR} was not restarted while the pod terminated (restarts {} before the deletion, {} at the end; running again: {ran_again})",
            restarts_before,
            sidecar.max_restarts()
        ),
    );
    f.judgement()
}
