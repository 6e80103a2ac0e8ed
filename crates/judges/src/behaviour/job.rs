//! "job-completes": the corrected Job finishes although its sidecar never exits by
//! itself; "job-example-as-written": the page's Job block is refused.

use sidecar_conformance_model::doc;
use sidecar_conformance_model::recorder::Recorder;
use sidecar_conformance_model::timeline::ContainerRole;

use super::{Judgement, Observation, Outcome};
use crate::evidence::{
    Findings, STUCK_WINDOW, confirms_kind_not_served, confirms_undeclared_fields, fmt_time,
    misplaced_container_fields, missing, sidecar_ignored, stuck_behind_init, termination,
};

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
        // By name: a restart after the runtime failed to start a container is the
        // runtime's doing, and the runner can only tell so when the check names it.
        let which: Vec<String> = pod
            .containers
            .iter()
            .filter(|c| c.max_restarts() > 0)
            .map(|c| format!("{} {} time(s)", c.name, c.max_restarts()))
            .collect();
        f.fail(format!(
            "pod {pod_name}: no container restarted: {} restarted",
            which.join(", ")
        ));
    }
    f.judgement()
}

/// The page's Job block with only its `apiVersion` corrected, to surface its next mistakes.
pub fn fix_api_version_only(text: &str) -> String {
    text.replacen("apiVersion: v1\n", "apiVersion: batch/v1\n", 1)
}

/// How the runner labels the second attempt, the block with only its apiVersion fixed.
const RETRIED: &str = "(apiVersion corrected only)";

/// Judges the page's Job block as written. `Rejected` (the page's defects confirmed)
/// only when the API server's answers are the two the block's defects call for: as
/// written, refused because there is no `Job` in `v1`; with only its apiVersion
/// corrected, refused by strict field validation for the container fields the block
/// puts on the Pod spec. A refusal for anything else (403, 409, 429, a 5xx, another
/// validation error) is no proof of the page's defect, and a missing answer none
/// either: `Violated`, naming what the server said. `Holds` if the API server accepted
/// the block as written (the page would then be right and the harness wrong).
pub fn judge_as_written(obs: &Observation) -> Judgement {
    let block: serde_json::Value = serde_saphyr::from_str(doc::JOB_AS_WRITTEN.text).unwrap_or_default();
    let kind = block["kind"].as_str().unwrap_or("Job");
    let api_version = block["apiVersion"].as_str().unwrap_or("v1");
    let misplaced = misplaced_container_fields(&block);
    let as_written = obs.rejections.iter().find(|r| !r.file.contains(RETRIED));
    let retried = obs.rejections.iter().find(|r| r.file.contains(RETRIED));
    let job_accepted = obs.applied.iter().any(|o| o.kind == kind && o.name == JOB);

    let Some(first) = as_written else {
        if job_accepted {
            let accepted: Vec<String> = obs.applied.iter().map(|o| o.to_string()).collect();
            return Judgement {
                page_findings: vec![],
                outcome: Outcome::Holds,
                evidence: vec![format!(
                    "the API server accepted the block as written: {}",
                    accepted.join(", ")
                )],
            };
        }
        return missing(format!(
            "the observation holds no answer of the API server to {} as written (neither accepted nor refused)",
            doc::JOB_AS_WRITTEN.path
        ));
    };

    let mut f = Findings::default();
    let mut page_findings = Vec::new();
    match confirms_kind_not_served(&first.message, kind, api_version) {
        Ok(why) => {
            f.check(
                true,
                format!(
                    "as written: {} refused: {} (the page's defect: no {kind} in {api_version})",
                    first.object, first.message
                ),
            );
            // The server's words (with the play's namespace) are evidence; the finding is
            // about the page and reads the same on every cluster.
            let _ = why;
            page_findings.push(format!(
                "{} (the page's Job example) has `apiVersion: {api_version}`, but Kubernetes serves {kind} only in batch/v1 (the batch API group): discovery has no {kind} in {api_version}, and the API server answers a create at the path {api_version} implies with 404 NotFound. Write `apiVersion: batch/v1`.",
                doc::JOB_AS_WRITTEN.path
            ));
        }
        Err(why) => f.fail(format!(
            "as written: {} refused, but not for the page's defect (no {kind} in {api_version}): {why}",
            first.object
        )),
    }
    match retried {
        Some(r) => match confirms_undeclared_fields(&r.message, &misplaced) {
            Ok(named) => {
                f.check(
                    true,
                    format!(
                        "with only apiVersion corrected to batch/v1: {} refused: {} (the page's defect: {} not declared in the Pod spec's schema)",
                        r.object,
                        r.message,
                        named.join(", ")
                    ),
                );
                page_findings.push(format!(
                    "{} (the page's Job example) puts `command` and `volumeMounts` on the Pod spec ({}), whose schema declares no such fields: they belong inside the container, under `containers:`; with only the apiVersion corrected, strict field validation refuses the block. See manifests/corrected/job.yaml.",
                    doc::JOB_AS_WRITTEN.path,
                    misplaced.join(", "),
                ));
            }
            Err(why) => f.fail(format!(
                "with only apiVersion corrected to batch/v1: {} refused, but not for the page's defect (container fields on the Pod spec): {why}",
                r.object
            )),
        },
        None if job_accepted => f.fail(format!(
            "with only apiVersion corrected to batch/v1, the API server accepted the block: {} were not refused",
            misplaced.join(", ")
        )),
        None => f.fail(
            "the observation holds no answer of the API server to the block with only apiVersion corrected to batch/v1"
                .to_string(),
        ),
    }
    let confirmed = f.holds();
    let mut judgement = f.judgement();
    judgement.outcome = if confirmed {
        Outcome::Rejected
    } else {
        Outcome::Violated
    };
    judgement.page_findings = page_findings;
    judgement
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixing_the_api_version_changes_only_that_line() {
        let fixed = fix_api_version_only(doc::JOB_AS_WRITTEN.text);
        assert!(fixed.starts_with("apiVersion: batch/v1\nkind: Job\n"));
        assert_eq!(fixed.lines().count(), doc::JOB_AS_WRITTEN.text.lines().count());
    }
}
