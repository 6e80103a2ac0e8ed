//! "start-ordering": the sidecar starts before the app; the init container after it
//! waits until the sidecar is `started` (here: until its startup probe passed).

use sidecar_conformance_model::recorder::Recorder;
use sidecar_conformance_model::timeline::{ContainerEventKind, ContainerRole};

use super::{Judgement, Observation};
use crate::evidence::{Findings, fmt_time, missing, ran_or_held_up, sidecar_ignored, termination};

const POD: &str = "start-ordering";
const SIDECAR: &str = "sidecar";
const NEXT_INIT: &str = "after-sidecar";
const APP: &str = "app";
/// The annotation carrying the sidecar's startup delay (see the fixture).
pub const DELAY_ANNOTATION: &str = "sidecar-conformance.io/startup-delay-seconds";
/// What `after-sidecar` writes as its termination message when the sidecar's file was there.
const FILE_PRESENT: &str = "sidecar-started-file-present";

/// Settled once the app container ran, or when the pod is held up by an init container.
pub fn settled(rec: &Recorder) -> bool {
    ran_or_held_up(rec, POD, APP)
}

/// Judges the start-ordering fixture.
pub fn judge(obs: &Observation) -> Judgement {
    if let Some(ignored) = sidecar_ignored(obs) {
        return ignored;
    }
    let mut f = Findings::default();
    let Some(pod) = obs.timeline.pods.get(POD) else {
        return missing(format!("pod {POD} was never seen"));
    };
    let delay: i64 = obs
        .pod(POD)
        .and_then(|p| p.metadata.annotations.as_ref())
        .and_then(|a| a.get(DELAY_ANNOTATION))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (Some(sidecar), Some(next), Some(app)) = (
        pod.container(SIDECAR),
        pod.container(NEXT_INIT),
        pod.container(APP),
    ) else {
        return missing(format!("pod {POD}: containers missing"));
    };
    f.check(
        sidecar.role == ContainerRole::Sidecar,
        format!("{SIDECAR} is a sidecar in the stored pod"),
    );

    let sidecar_start = sidecar.first_started_at();
    let next_run = next.terminations().first().and_then(|e| match &e.kind {
        ContainerEventKind::Terminated { message, .. } => termination(&e.kind).map(|t| (t, message.clone())),
        _ => None,
    });
    let app_start = app.first_started_at();

    // 1. The next init container started no earlier than the sidecar's startup probe
    //    could pass (runtime clock, whole seconds).
    match (sidecar_start, &next_run) {
        (Some(s), Some(((code, Some(n_start), n_end), message))) => {
            let gap = n_start.duration_since(s).as_secs();
            f.check(
                gap >= delay,
                format!(
                    "{NEXT_INIT} started at {n_start}, {gap} s after {SIDECAR} started at {s} (its startup probe cannot pass before {delay} s)"
                ),
            );
            f.check(
                message.as_deref() == Some(FILE_PRESENT),
                format!(
                    "{NEXT_INIT} found the file the sidecar writes when its probe can pass: termination message {:?}",
                    message.as_deref().unwrap_or("")
                ),
            );
            f.check(
                *code == 0,
                format!("{NEXT_INIT} exited {code} at {}", fmt_time(*n_end)),
            );
        }
        _ => f.check(
            false,
            format!(
                "{SIDECAR} started at {} and {NEXT_INIT} ran to completion",
                fmt_time(sidecar_start)
            ),
        ),
    }

    // 2. The watch saw the sidecar become `started` no later than it saw the next init
    //    container run (both arrive in pod status updates; one update may carry both).
    let started_flag = sidecar.first_started_flag();
    let next_seen_running = next.first_seen_running();
    match (started_flag, next_seen_running) {
        (Some(flag), Some(n)) => f.check(
            flag <= n,
            format!("the watch saw {SIDECAR} started=true at {flag}, {NEXT_INIT} running/finished at {n}"),
        ),
        (flag, n) => f.check(
            false,
            format!(
                "the watch saw {SIDECAR} started=true at {} and {NEXT_INIT} run at {}",
                fmt_time(flag),
                fmt_time(n)
            ),
        ),
    }
    // The sidecar's `started` flag was false for a while: the probe, not the process
    // start, set it.
    let was_unstarted = sidecar
        .events
        .iter()
        .any(|e| matches!(e.kind, ContainerEventKind::Started { started: false }));
    if was_unstarted {
        f.note(format!(
            "{SIDECAR} was seen running with started=false before its probe passed"
        ));
    }

    // 3. The app container started after the sidecar and after the init sequence.
    let next_end = next_run.as_ref().and_then(|((_, _, end), _)| *end);
    match (app_start, sidecar_start, next_end) {
        (Some(a), Some(s), Some(e)) => {
            f.check(
                a >= s,
                format!("{APP} started at {a}, not before {SIDECAR} ({s})"),
            );
            f.check(
                a >= e,
                format!("{APP} started at {a}, not before {NEXT_INIT} finished ({e})"),
            );
        }
        (a, s, e) => f.check(
            false,
            format!(
                "{APP} started at {}, {SIDECAR} at {}, {NEXT_INIT} finished at {}",
                fmt_time(a),
                fmt_time(s),
                fmt_time(e)
            ),
        ),
    }
    f.judgement()
}
