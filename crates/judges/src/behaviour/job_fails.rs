//! "job-fails": a Job whose main container fails fails as it would without its sidecar:
//! every pod fails with its main container, its sidecar is stopped, the Job retries up
//! to its backoffLimit and then fails.

use sidecar_conformance_model::recorder::Recorder;
use sidecar_conformance_model::timeline::ContainerRole;

use super::{Judgement, Observation};
use crate::evidence::{Findings, STUCK_WINDOW, fmt_time, sidecar_ignored, stuck_behind_init, termination};

const JOB: &str = "job-fails";
const MAIN: &str = "myjob";
const SIDECAR: &str = "logshipper";
/// The main container's exit code in the fixture.
const MAIN_EXIT: i32 = 3;

/// Settled once as many pods failed as the Job may run (backoffLimit + 1), or when a
/// pod is held up by its init container.
pub fn settled(rec: &Recorder) -> bool {
    let failed = rec
        .timeline()
        .pods
        .values()
        .filter(|p| p.last_phase() == Some("Failed"))
        .count();
    failed >= ATTEMPTS || stuck_behind_init(rec, STUCK_WINDOW)
}

/// Pods the fixture's Job may run: its backoffLimit (1) + 1. The recorder watches pods
/// only, so this is fixed here and a unit test ties it to the fixture.
const ATTEMPTS: usize = 2;

/// Judges the failing-Job fixture.
pub fn judge(obs: &Observation) -> Judgement {
    if let Some(ignored) = sidecar_ignored(obs) {
        return ignored;
    }
    let mut f = Findings::default();
    let job = obs.object("Job", JOB);
    let backoff_limit = job.and_then(|j| j["spec"]["backoffLimit"].as_u64()).unwrap_or(6) as usize;
    let condition = |kind: &str| {
        job.and_then(|j| j["status"]["conditions"].as_array())
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c["type"] == kind && c["status"] == "True")
                    .map(|c| {
                        (
                            c["lastTransitionTime"].as_str().unwrap_or("-").to_string(),
                            c["reason"].as_str().unwrap_or("-").to_string(),
                        )
                    })
            })
    };
    match (condition("Failed"), condition("Complete")) {
        (Some((at, reason)), _) => f.check(
            reason == "BackoffLimitExceeded",
            format!(
                "Job {JOB}: condition Failed=True at {at}, reason {reason} (BackoffLimitExceeded expected)"
            ),
        ),
        (None, Some((at, _))) => f.fail(format!(
            "Job {JOB}: condition Complete=True at {at}, though {MAIN} fails"
        )),
        (None, None) => f.fail(format!(
            "Job {JOB}: neither Failed nor Complete when observation ended"
        )),
    }

    let owner = format!("Job/{JOB}");
    let pods = obs.timeline.owned_by(&owner);
    f.check(
        pods.len() == backoff_limit + 1,
        format!(
            "Job {JOB} ran {} pod(s): backoffLimit {backoff_limit} allows {} (a retry per failure, as without a sidecar)",
            pods.len(),
            backoff_limit + 1
        ),
    );
    for (pod_name, pod) in pods {
        f.check(
            pod.last_phase() == Some("Failed"),
            format!("pod {pod_name}: phase {}", pod.last_phase().unwrap_or("unknown")),
        );
        let (Some(main), Some(sidecar)) = (pod.container(MAIN), pod.container(SIDECAR)) else {
            f.fail(format!(
                "pod {pod_name}: containers {MAIN} and {SIDECAR} not both present"
            ));
            continue;
        };
        f.check(
            sidecar.role == ContainerRole::Sidecar,
            format!("pod {pod_name}: {SIDECAR} is a sidecar in the stored pod"),
        );
        let main_end = main.terminations().first().and_then(|e| termination(&e.kind));
        let Some((code, _, Some(main_finished))) = main_end else {
            f.fail(format!("pod {pod_name}: {MAIN} never terminated"));
            continue;
        };
        f.check(
            code == MAIN_EXIT && main.max_restarts() == 0,
            format!(
                "pod {pod_name}: {MAIN} exited {code} at {main_finished}, {} restart(s) (the pod's restartPolicy is Never)",
                main.max_restarts()
            ),
        );
        let sidecar_start = sidecar.first_started_at();
        f.check(
            sidecar_start.is_some_and(|s| s <= main_finished),
            format!(
                "pod {pod_name}: {SIDECAR} running since {}, before {MAIN} exited",
                fmt_time(sidecar_start)
            ),
        );
        match sidecar.terminations().first().and_then(|e| termination(&e.kind)) {
            Some((code, _, Some(end))) if end >= main_finished => f.note(format!(
                "pod {pod_name}: {SIDECAR} was stopped after {MAIN} failed: exit code {code} at {end}"
            )),
            Some((code, _, end)) => f.fail(format!(
                "pod {pod_name}: {SIDECAR} ended (exit code {code}) at {}, before {MAIN} exited",
                fmt_time(end)
            )),
            None => f.fail(format!(
                "pod {pod_name}: {SIDECAR} was never stopped: it kept the pod from finishing"
            )),
        }
    }
    f.judgement()
}

#[cfg(test)]
mod tests {
    use sidecar_conformance_model::doc;

    use super::*;

    #[test]
    fn attempts_follow_the_fixtures_backoff_limit() {
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(doc::JOB_FAILS.text).unwrap();
        assert_eq!(
            docs[0]["spec"]["backoffLimit"].as_u64(),
            Some(ATTEMPTS as u64 - 1)
        );
    }
}
