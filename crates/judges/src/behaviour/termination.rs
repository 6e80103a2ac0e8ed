//! "termination-order": on pod deletion the kubelet stops sidecars only after the app
//! containers have exited, later sidecars first; when the app took the grace period,
//! SIGTERM reaches each sidecar and SIGKILL follows, and their non-zero exit codes are
//! the normal end of a pod.

use sidecar_conformance_model::timeline::{
    ContainerEventKind, ContainerRole, ContainerTimeline, PodEventKind,
};

use super::{Judgement, Observation};
use crate::evidence::{Findings, missing, sidecar_ignored};

const POD: &str = "termination-order";
const APP: &str = "app";
/// Sidecars in spec order; the kubelet stops them in reverse.
const SIDECARS: [&str; 2] = ["sidecar-1", "sidecar-2"];

/// The last termination of a container: exit code and termination message.
fn end(c: &ContainerTimeline) -> Option<(i32, String)> {
    c.terminations().last().and_then(|e| match &e.kind {
        ContainerEventKind::Terminated {
            exit_code, message, ..
        } => Some((*exit_code, message.clone().unwrap_or_default())),
        _ => None,
    })
}

/// A node-uptime time the fixture wrote after `key` (`TERM at 123.45`).
fn uptime_after(message: &str, key: &str) -> Option<f64> {
    let rest = message.split(key).nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

/// Judges the termination fixture.
pub fn judge(obs: &Observation) -> Judgement {
    if let Some(ignored) = sidecar_ignored(obs) {
        return ignored;
    }
    let mut f = Findings::default();
    let Some(pod) = obs.timeline.pods.get(POD) else {
        return missing(format!("pod {POD} was never seen"));
    };
    if obs.actions.is_empty() {
        f.fail(format!(
            "pod {POD} was never deleted: its containers did not all run"
        ));
        return f.judgement();
    }
    let deleted = pod.events.iter().any(|e| matches!(e.kind, PodEventKind::Deleted));
    f.note(format!(
        "pod {POD} deleted at {}{}",
        obs.actions[0].at,
        if deleted {
            "; the watch saw it go"
        } else {
            "; the watch did not see it go"
        }
    ));

    // The app: SIGTERM at deletion, then 8 s of work, exit 0.
    let Some(app) = pod.container(APP) else {
        f.fail(format!("pod {POD}: container {APP} missing"));
        return f.judgement();
    };
    let app_end = end(app);
    let app_term = app_end.as_ref().and_then(|(_, m)| uptime_after(m, "TERM at"));
    let app_exit = app_end.as_ref().and_then(|(_, m)| uptime_after(m, "exit at"));
    match &app_end {
        Some((code, message)) => f.check(
            *code == 0 && app_term.is_some() && app_exit.is_some(),
            format!("{APP} got SIGTERM and exited {code} after its work: termination message {message:?} (node uptime, s)"),
        ),
        None => f.fail(format!("{APP}'s end was not seen before the pod was gone")),
    }

    // The sidecars: SIGTERM only after the app exited, the later one first, then SIGKILL.
    let mut terms: Vec<(&str, Option<f64>)> = Vec::new();
    for name in SIDECARS {
        let Some(c) = pod.container(name) else {
            f.fail(format!("pod {POD}: container {name} missing"));
            continue;
        };
        f.check(
            c.role == ContainerRole::Sidecar,
            format!("{name} is a sidecar in the stored pod"),
        );
        let Some((code, message)) = end(c) else {
            f.fail(format!("{name}'s end was not seen before the pod was gone"));
            terms.push((name, None));
            continue;
        };
        let term = uptime_after(&message, "TERM at");
        f.check(
            term.is_some(),
            format!("{name} received SIGTERM: termination message {message:?}"),
        );
        f.check(
            code == 137,
            format!("{name} exited {code}: SIGKILL (137) ended it before it finished (the page: non-zero exit codes of sidecars are normal on pod termination)"),
        );
        if let (Some(t), Some(exit)) = (term, app_exit) {
            f.check(
                t >= exit,
                format!(
                    "{name} got SIGTERM at {t:.2}, {:.2} s after {APP} exited at {exit:.2}",
                    t - exit
                ),
            );
        }
        terms.push((name, term));
    }
    if let [(first, Some(t1)), (second, Some(t2))] = terms[..] {
        f.check(
            t2 <= t1,
            format!("{second} (later in the list) got SIGTERM at {t2:.2}, {first} at {t1:.2}: reverse order"),
        );
    }
    if let (Some(t), Some(exit)) = (app_term, app_exit) {
        f.note(format!(
            "{APP} worked {:.2} s between SIGTERM and its exit",
            exit - t
        ));
    }
    f.judgement()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptimes_are_read_from_termination_messages() {
        assert_eq!(uptime_after("TERM at 12.5 exit at 20.75", "TERM at"), Some(12.5));
        assert_eq!(uptime_after("TERM at 12.5 exit at 20.75", "exit at"), Some(20.75));
        assert_eq!(uptime_after("", "TERM at"), None);
    }
}
