//! "job-completes": the corrected Job finishes although its sidecar never exits by
//! itself; "job-example-as-written": the page's Job block is refused.

use super::evidence::{Findings, STUCK_WINDOW, fmt_time, sidecar_ignored, stuck_behind_init, termination};
use super::{Judgement, Observation, Outcome};
use crate::observe::Recorder;
use crate::timeline::ContainerRole;

const JOB: &str = "myapp";
const MAIN: &str = "myjob";
const SIDECAR: &str = "logshipper";

/// Settled once a pod of the Job has finished (all its containers stopped), or when it
/// is held up by its init container.
pub fn settled(rec: &Recorder) -> bool {
    let finished = rec
        .timeline()
        .pods
        .values()
        .any(|p| matches!(p.last_phase(), Some("Succeeded" | "Failed")));
    finished || stuck_behind_init(rec, STUCK_WINDOW)
}

/// Judges the corrected Job example.
pub fn judge(obs: &Observation) -> Judgement {
    if let Some(ignored) = sidecar_ignored(obs) {
        return ignored;
    }
    let mut f = Findings::default();

    let job = obs.object("Job", JOB);
    let condition = |kind: &str| {
        job.and_then(|j| j["status"]["conditions"].as_array())
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c["type"] == kind && c["status"] == "True")
                    .map(|c| c["lastTransitionTime"].as_str().unwrap_or("-").to_string())
            })
    };
    match (condition("Complete"), condition("Failed")) {
        (Some(at), _) => f.note(format!("Job {JOB}: condition Complete=True at {at}")),
        (None, Some(at)) => f.fail(format!("Job {JOB}: condition Failed=True at {at}")),
        (None, None) => f.fail(format!(
            "Job {JOB}: neither Complete nor Failed when observation ended"
        )),
    }

    let owner = format!("Job/{JOB}");
    let pods = obs.timeline.owned_by(&owner);
    if pods.len() != 1 {
        f.fail(format!(
            "Job {JOB} created {} pods (1 expected: no retry)",
            pods.len()
        ));
    }
    let Some((pod_name, pod)) = pods.first() else {
        return f.judgement();
    };
    let (Some(main), Some(sidecar)) = (pod.container(MAIN), pod.container(SIDECAR)) else {
        f.fail(format!(
            "pod {pod_name}: containers {MAIN} and {SIDECAR} not both present"
        ));
        return f.judgement();
    };
    if sidecar.role != ContainerRole::Sidecar {
        f.fail(format!(
            "pod {pod_name}: {SIDECAR} is not a sidecar in the stored pod"
        ));
    }
    let main_end = main.terminations().first().and_then(|e| termination(&e.kind));
    let Some((main_code, _, Some(main_finished))) = main_end else {
        f.fail(format!("pod {pod_name}: {MAIN} never terminated"));
        return f.judgement();
    };
    if main_code == 0 {
        f.note(format!("pod {pod_name}: {MAIN} exited 0 at {main_finished}"));
    } else {
        f.fail(format!(
            "pod {pod_name}: {MAIN} exited {main_code} at {main_finished}"
        ));
    }
    match sidecar.first_started_at() {
        Some(s) if s <= main_finished => f.note(format!(
            "pod {pod_name}: {SIDECAR} running since {s}, before {MAIN} exited"
        )),
        other => f.fail(format!(
            "pod {pod_name}: {SIDECAR} started at {}, not before {MAIN} exited",
            fmt_time(other)
        )),
    }
    let sidecar_end = sidecar.terminations().first().and_then(|e| termination(&e.kind));
    match sidecar_end {
        Some((code, _, Some(finished))) if finished >= main_finished => f.note(format!(
            "pod {pod_name}: {SIDECAR} was still running when {MAIN} exited and was stopped afterwards: exit code {code} at {finished} ({:.0} s later){}",
            finished.duration_since(main_finished).as_secs_f64(),
            if code != 0 { "; a non-zero exit of a sidecar at pod termination is normal, the page says" } else { "" }
        )),
        Some((code, _, finished)) => f.fail(
            format!("pod {pod_name}: {SIDECAR} ended (exit code {code}) at {} before {MAIN} exited", fmt_time(finished)),
        ),
        None => f.fail(format!("pod {pod_name}: {SIDECAR} was never stopped")),
    }
    let restarts: i32 = pod.containers.iter().map(|c| c.max_restarts()).sum();
    if restarts == 0 {
        f.note(format!("pod {pod_name}: no container restarted"));
    } else {
        f.fail(format!("pod {pod_name}: {restarts} container restart(s)"));
    }
    f.judgement()
}

/// The page's Job block with only its `apiVersion` corrected, to surface its next mistakes.
pub fn fix_api_version_only(text: &str) -> String {
    text.replacen("apiVersion: v1\n", "apiVersion: batch/v1\n", 1)
}

/// Judges the page's Job block as written: `Rejected` with the API server's reasons, or
/// `Holds` if it was accepted (the page would then be right and the harness wrong).
pub fn judge_as_written(obs: &Observation) -> Judgement {
    if obs.rejections.is_empty() {
        let accepted: Vec<String> = obs.applied.iter().map(|o| o.to_string()).collect();
        return Judgement {
            outcome: Outcome::Holds,
            evidence: vec![format!(
                "the API server accepted the block as written: {}",
                accepted.join(", ")
            )],
        };
    }
    let evidence = obs
        .rejections
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let attempt = if i == 0 {
                "as written"
            } else {
                "with only apiVersion corrected to batch/v1"
            };
            format!("{attempt}: {} refused: {}", r.object, r.message)
        })
        .collect();
    Judgement {
        outcome: Outcome::Rejected,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixing_the_api_version_changes_only_that_line() {
        let fixed = fix_api_version_only(crate::doc::JOB_AS_WRITTEN.text);
        assert!(fixed.starts_with("apiVersion: batch/v1\nkind: Job\n"));
        assert_eq!(
            fixed.lines().count(),
            crate::doc::JOB_AS_WRITTEN.text.lines().count()
        );
    }
}
