//! "shared-namespaces": sidecar and app share the pod's network namespace (they meet
//! over 127.0.0.1) and its volumes (the sidecar ships the line the app wrote), read in
//! the containers' own logs.

use sidecar_conformance_model::recorder::Recorder;
use sidecar_conformance_model::timeline::ContainerRole;

use super::{Judgement, Observation};
use crate::evidence::{Findings, STUCK_WINDOW, missing, sidecar_ignored, stuck_behind_init};

const POD: &str = "shared-namespaces";
const SIDECAR: &str = "sidecar";
const APP: &str = "app";
/// What the app writes into the shared volume, and the sidecar's server answers.
const APP_LINE: &str = "app-line-1";
const ANSWER: &str = "from-sidecar";

/// Settled once the pod finished (the app exits after its checks), or when it is held
/// up by its init container.
pub fn settled(rec: &Recorder) -> bool {
    let finished = rec
        .timeline()
        .pods
        .get(POD)
        .is_some_and(|p| matches!(p.last_phase(), Some("Succeeded" | "Failed")));
    finished || stuck_behind_init(rec, STUCK_WINDOW)
}

/// The value after `prefix` on the first line of `log` that starts with it.
fn logged<'a>(log: &'a str, prefix: &str) -> Option<&'a str> {
    log.lines().find_map(|l| l.strip_prefix(prefix)).map(str::trim)
}

/// Judges the shared-namespaces fixture.
pub fn judge(obs: &Observation) -> Judgement {
    if let Some(ignored) = sidecar_ignored(obs) {
        return ignored;
    }
    let mut f = Findings::default();
    let Some(pod) = obs.timeline.pods.get(POD) else {
        return missing(format!("pod {POD} was never seen"));
    };
    if let Some(sidecar) = pod.container(SIDECAR) {
        f.check(
            sidecar.role == ContainerRole::Sidecar,
            format!("{SIDECAR} is a sidecar in the stored pod"),
        );
    }
    let log = |c: &str| {
        obs.logs
            .get(&format!("{POD}/{c}"))
            .map(String::as_str)
            .unwrap_or("")
    };
    let (sidecar_log, app_log) = (log(SIDECAR), log(APP));

    // Network: one namespace, and localhost reaches the sidecar.
    let sidecar_net = logged(sidecar_log, "sidecar net=");
    let app_net = logged(app_log, "app net=");
    f.check(
        sidecar_net.is_some() && sidecar_net == app_net,
        format!(
            "network namespace of {SIDECAR}: {}, of {APP}: {} (from their logs)",
            sidecar_net.unwrap_or("-"),
            app_net.unwrap_or("-")
        ),
    );
    let received = logged(app_log, "app received over 127.0.0.1:8080:");
    f.check(
        received == Some(ANSWER),
        format!(
            "{APP} asked 127.0.0.1:8080 and got {:?} from {SIDECAR}'s server",
            received.unwrap_or("")
        ),
    );

    // Storage: the line the app wrote into the shared volume is in the sidecar's log.
    f.check(
        sidecar_log.lines().any(|l| l.trim() == APP_LINE),
        format!(
            "{SIDECAR}'s log (the shipper's tail -F of /shared/app.log) holds {APP_LINE}, written by {APP}"
        ),
    );

    // The app finished cleanly, after which the sidecar was stopped.
    if let Some(app) = pod.container(APP) {
        let exit = app.exit_codes().first().copied();
        f.check(
            exit == Some(0),
            format!(
                "{APP} exited {}",
                exit.map(|c| c.to_string()).unwrap_or("-".into())
            ),
        );
    }
    f.note(format!(
        "pod {POD}: phase {}",
        pod.last_phase().unwrap_or("unknown")
    ));
    f.judgement()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_values_are_read_from_their_line() {
        let log = "x\napp net=net:[4026532185]\napp received over 127.0.0.1:8080: from-sidecar\n";
        assert_eq!(logged(log, "app net="), Some("net:[4026532185]"));
        assert_eq!(
            logged(log, "app received over 127.0.0.1:8080:"),
            Some("from-sidecar")
        );
        assert_eq!(logged(log, "sidecar net="), None);
    }
}
