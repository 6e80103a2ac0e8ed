//! "sidecar-readiness": a sidecar's readiness probe decides the pod's Ready condition,
//! and a failing readiness probe restarts nothing.

use jiff::Timestamp;
use sidecar_conformance_model::recorder::Recorder;
use sidecar_conformance_model::timeline::{ContainerEventKind, ContainerRole, ContainerTimeline};

use super::{Judgement, Observation};
use crate::evidence::{Findings, STUCK_WINDOW, missing, sidecar_ignored, stuck_behind_init};

const POD: &str = "sidecar-readiness";
const SIDECAR: &str = "sidecar";
const APP: &str = "app";

/// The `ready` flag of a container as the watch saw it change.
fn ready_flags(c: &ContainerTimeline) -> Vec<(Timestamp, bool)> {
    c.events
        .iter()
        .filter_map(|e| match e.kind {
            ContainerEventKind::Ready { ready } => Some((e.observed_at, ready)),
            _ => None,
        })
        .collect()
}

/// The value a flag had at `t` (the last change seen at or before it).
fn at(flags: &[(Timestamp, bool)], t: Timestamp) -> Option<bool> {
    flags.iter().rev().find(|(s, _)| *s <= t).map(|(_, v)| *v)
}

/// When the sidecar became ready, and when it became unready after that.
fn sidecar_cycle(c: &ContainerTimeline) -> (Option<Timestamp>, Option<Timestamp>) {
    let flags = ready_flags(c);
    let ready = flags.iter().find(|(_, r)| *r).map(|(t, _)| *t);
    let unready = ready.and_then(|r| flags.iter().find(|(t, v)| *t > r && !*v).map(|(t, _)| *t));
    (ready, unready)
}

/// Settled once the pod's Ready condition went False after the sidecar became unready
/// again, or when the pod is held up by an init container.
pub fn settled(rec: &Recorder) -> bool {
    let done = rec.timeline().pods.get(POD).is_some_and(|p| {
        let Some(sidecar) = p.container(SIDECAR) else {
            return false;
        };
        let (_, unready) = sidecar_cycle(sidecar);
        unready.is_some_and(|u| p.ready_changes().iter().any(|(t, v)| *t >= u && !*v))
    });
    done || stuck_behind_init(rec, STUCK_WINDOW)
}

/// Judges the readiness fixture.
pub fn judge(obs: &Observation) -> Judgement {
    if let Some(ignored) = sidecar_ignored(obs) {
        return ignored;
    }
    let mut f = Findings::default();
    let Some(pod) = obs.timeline.pods.get(POD) else {
        return missing(format!("pod {POD} was never seen"));
    };
    let (Some(sidecar), Some(app)) = (pod.container(SIDECAR), pod.container(APP)) else {
        return missing(format!("pod {POD}: containers missing"));
    };
    f.check(
        sidecar.role == ContainerRole::Sidecar,
        format!("{SIDECAR} is a sidecar in the stored pod"),
    );
    let pod_flags = pod.ready_changes();
    let app_flags = ready_flags(app);
    let app_ready = app_flags.iter().find(|(_, r)| *r).map(|(t, _)| *t);
    let (ready, unready) = sidecar_cycle(sidecar);

    // 1. Before the sidecar was ready, the pod was not, even with its app ready.
    match ready {
        Some(r) => {
            let early_true = pod_flags.iter().find(|(t, v)| *t < r && *v);
            f.check(
                early_true.is_none(),
                match early_true {
                    Some((t, _)) => format!("the pod was Ready at {t}, before {SIDECAR} was ready ({r})"),
                    None => format!("the pod was not Ready before {SIDECAR} was ready ({r})"),
                },
            );
            match app_ready {
                Some(a) if a < r => f.check(
                    at(&pod_flags, a) == Some(false),
                    format!(
                        "{APP} was ready at {a} while {SIDECAR} was not; the pod's Ready condition then: {}",
                        show(at(&pod_flags, a))
                    ),
                ),
                Some(a) => f.note(format!(
                    "{APP} became ready at {a}, not before {SIDECAR}: the interval with only the app ready was not observed"
                )),
                None => f.fail(format!("{APP} never became ready")),
            }
        }
        None => f.fail(format!(
            "{SIDECAR} never became ready (its probe should pass after a delay)"
        )),
    }

    // 2. Once the sidecar (and the app) were ready, the pod became Ready.
    if let Some(r) = ready {
        let became = pod_flags
            .iter()
            .find(|(t, v)| *t >= r && *v && unready.is_none_or(|u| *t <= u));
        f.check(
            became.is_some(),
            match became {
                Some((t, _)) => format!("the pod became Ready at {t}, once {SIDECAR} was ready ({r})"),
                None => format!("the pod did not become Ready after {SIDECAR} was ready ({r})"),
            },
        );
    }

    // 3. When the sidecar's probe failed again, the pod stopped being Ready, while the
    //    app stayed ready.
    match unready {
        Some(u) => {
            let went = pod_flags.iter().find(|(t, v)| *t >= u && !*v);
            f.check(
                went.is_some(),
                match went {
                    Some((t, _)) => format!(
                        "the pod's Ready condition went False at {t}, when {SIDECAR} became unready ({u})"
                    ),
                    None => format!("the pod stayed Ready after {SIDECAR} became unready ({u})"),
                },
            );
            if let Some((t, _)) = went {
                f.check(
                    at(&app_flags, *t) == Some(true),
                    format!("{APP} was ready meanwhile (ready: {})", show(at(&app_flags, *t))),
                );
            }
        }
        None => f.fail(format!(
            "{SIDECAR} did not become unready again (its probe should fail after a while)"
        )),
    }

    // 4. Readiness restarts nothing: both keep their first container.
    for c in [sidecar, app] {
        let (kept, said) = c.kept_first_container();
        f.check(kept, said);
    }
    f.judgement()
}

fn show(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "True",
        Some(false) => "False",
        None => "not reported yet",
    }
}
