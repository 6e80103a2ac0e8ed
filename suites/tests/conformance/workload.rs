//! `check`'s invariants (`judges::workload`) on observations recorded from real runs:
//! the catalogue's fixtures are pods with sidecars like any user's, so every invariant
//! is shown holding on a recording where the cluster did its job, flagging a gate-off
//! cluster, and coming out `violated` on a copy broken on purpose. No cluster needed.

use serde_json::{Value, json};
use sidecar_conformance::behaviour::{Observation, Outcome};
use sidecar_conformance::judges::workload::{self, Checked, Invariant};
use sidecar_conformance_suites::{events, first_pod, recorded};

const GATE_ON: &str = "1.37.2-default";

fn raw(cluster: &str, behaviour: &str) -> Value {
    serde_json::to_value(recorded(cluster, behaviour)).unwrap()
}

fn judged(obs: Value) -> Checked {
    workload::judge(&serde_json::from_value::<Observation>(obs).unwrap())
}

/// The verdict of one invariant on one workload.
fn verdict<'a>(c: &'a Checked, invariant: Invariant, workload: &str) -> &'a workload::Verdict {
    c.verdicts
        .iter()
        .find(|v| v.invariant == invariant && v.workload == workload)
        .unwrap_or_else(|| panic!("no {} verdict on {workload}: {c:#?}", invariant.id()))
}

fn assert_holds(c: &Checked, invariant: Invariant, workload: &str) {
    let v = verdict(c, invariant, workload);
    assert_eq!(v.judgement.outcome, Outcome::Holds, "{:#?}", v.judgement.evidence);
    assert!(!v.judgement.evidence.is_empty());
}

fn assert_violated(c: &Checked, invariant: Invariant, workload: &str, needle: &str) {
    let v = verdict(c, invariant, workload);
    assert_eq!(
        v.judgement.outcome,
        Outcome::Violated,
        "{:#?}",
        v.judgement.evidence
    );
    assert!(
        v.judgement
            .evidence
            .iter()
            .any(|e| e.starts_with("NOT:") && e.contains(needle)),
        "no failed check mentioning {needle:?}: {:#?}",
        v.judgement.evidence
    );
}

fn at(e: &Value) -> String {
    e["observed_at"].as_str().unwrap().to_string()
}

#[test]
fn every_invariant_holds_on_recorded_gate_on_runs_and_no_judged_check_fails() {
    for b in [
        "deployment-ready",
        "job-completes",
        "start-ordering",
        "restart-independence",
        "sidecar-readiness",
        "init-sequencing",
        "termination-order",
    ] {
        let c = judged(raw(GATE_ON, b));
        for v in &c.verdicts {
            assert_eq!(
                v.judgement.outcome,
                Outcome::Holds,
                "{b}: {}: {:#?}",
                v.id(),
                v.judgement.evidence
            );
        }
    }
    let deployment = judged(raw(GATE_ON, "deployment-ready"));
    assert_holds(&deployment, Invariant::StartsFirst, "Deployment/myapp");
    assert_holds(&deployment, Invariant::ReadyFollowsSidecars, "Deployment/myapp");
    assert_holds(&deployment, Invariant::Accepted, "Deployment/myapp");
    assert!(
        deployment
            .notes
            .iter()
            .any(|n| n.contains("apps-survive-sidecar-restarts not judged")),
        "an invariant the workload gave no occasion to show is a note, not a pass: {:#?}",
        deployment.notes
    );
    assert_holds(
        &judged(raw(GATE_ON, "job-completes")),
        Invariant::JobCompletes,
        "Job/myapp",
    );
    assert_holds(
        &judged(raw(GATE_ON, "restart-independence")),
        Invariant::AppsSurviveSidecarRestarts,
        "Pod/restart-independence",
    );
    assert_holds(
        &judged(raw(GATE_ON, "termination-order")),
        Invariant::TerminationOrder,
        "Pod/termination-order",
    );
}

#[test]
fn a_gate_off_cluster_flags_the_sidecars_as_ignored() {
    for b in ["deployment-ready", "job-completes", "restart-independence"] {
        let c = judged(raw("1.32.2-off", b));
        let ignored: Vec<_> = c
            .verdicts
            .iter()
            .filter(|v| v.invariant != Invariant::Accepted)
            .collect();
        assert!(!ignored.is_empty(), "{b}: {c:#?}");
        for v in ignored {
            assert_eq!(
                v.judgement.outcome,
                Outcome::SidecarIgnored,
                "{b}: {:#?}",
                v.judgement.evidence
            );
            assert!(
                v.judgement
                    .evidence
                    .iter()
                    .any(|e| e.contains("stored as a regular init container")),
                "{:#?}",
                v.judgement.evidence
            );
        }
    }
}

#[test]
fn a_gate_off_refusal_of_a_declared_probed_sidecar_is_flagged_too() {
    let c = judged(raw("1.32.2-off", "start-ordering"));
    let v = verdict(&c, Invariant::Accepted, "Pod/start-ordering");
    assert_eq!(v.judgement.outcome, Outcome::SidecarIgnored, "{c:#?}");
    assert!(
        v.judgement
            .evidence
            .iter()
            .any(|e| e.contains("dropped restartPolicy: Always"))
    );
}

#[test]
fn sidecars_start_first_is_violated_when_the_app_ran_before_its_sidecar_was_started() {
    let mut obs = raw(GATE_ON, "start-ordering");
    let started = events(&mut obs, "start-ordering", "sidecar")
        .iter()
        .find(|e| e["event"] == "started" && e["started"] == true)
        .map(at)
        .unwrap();
    // The sidecar's `started: true` arrives only after everything else ran.
    for e in events(&mut obs, "start-ordering", "sidecar").iter_mut() {
        if e["event"] == "started" && e["started"] == true {
            e["observed_at"] = json!("2099-01-01T00:00:00Z");
        }
    }
    let c = judged(obs);
    assert_violated(
        &c,
        Invariant::StartsFirst,
        "Pod/start-ordering",
        "after sidecar sidecar was seen started",
    );
    let _ = started;
}

#[test]
fn ready_follows_sidecars_is_violated_when_the_pod_is_ready_before_its_sidecar() {
    let mut obs = raw(GATE_ON, "sidecar-readiness");
    let app_ready = events(&mut obs, "sidecar-readiness", "app")
        .iter()
        .find(|e| e["event"] == "ready" && e["ready"] == true)
        .map(at)
        .unwrap();
    let evs = obs["timeline"]["pods"]["sidecar-readiness"]["events"]
        .as_array_mut()
        .unwrap();
    evs.push(json!({"observed_at": app_ready, "event": "condition", "condition": "Ready", "status": "True", "reason": null}));
    evs.sort_by(|a, b| a["observed_at"].as_str().cmp(&b["observed_at"].as_str()));
    assert_violated(
        &judged(obs),
        Invariant::ReadyFollowsSidecars,
        "Pod/sidecar-readiness",
        "when sidecar sidecar was ready",
    );
}

#[test]
fn ready_follows_sidecars_is_violated_when_the_pod_stays_ready_after_a_sidecar_is_not() {
    let mut obs = raw(GATE_ON, "sidecar-readiness");
    let evs = obs["timeline"]["pods"]["sidecar-readiness"]["events"]
        .as_array_mut()
        .unwrap();
    let first_true = evs
        .iter()
        .find(|e| e["condition"] == "Ready" && e["status"] == "True")
        .map(at)
        .unwrap();
    evs.retain(|e| !(e["condition"] == "Ready" && e["status"] == "False" && at(e) > first_true));
    assert_violated(
        &judged(obs),
        Invariant::ReadyFollowsSidecars,
        "Pod/sidecar-readiness",
        "still Ready",
    );
}

#[test]
fn apps_survive_is_violated_when_the_app_got_a_new_container_with_the_sidecar() {
    let mut obs = raw(GATE_ON, "restart-independence");
    let back = events(&mut obs, "restart-independence", "sidecar")
        .iter()
        .filter(|e| e["event"] == "running")
        .nth(1)
        .map(at)
        .expect("the sidecar ran again");
    // From the sidecar's return on, the app runs in another container.
    for e in events(&mut obs, "restart-independence", "app").iter_mut() {
        if at(e) >= back && e["container_id"].is_string() {
            e["container_id"] = json!("containerd://replaced");
        }
    }
    let evs = events(&mut obs, "restart-independence", "app");
    evs.push(json!({"observed_at": back, "container_id": "containerd://replaced", "restart_count": 1, "event": "running", "started_at": back}));
    evs.sort_by(|a, b| a["observed_at"].as_str().cmp(&b["observed_at"].as_str()));
    assert_violated(
        &judged(obs),
        Invariant::AppsSurviveSidecarRestarts,
        "Pod/restart-independence",
        "app app ran in container",
    );
}

#[test]
fn job_completes_is_violated_when_the_sidecar_stopped_before_the_main_container() {
    let mut obs = raw(GATE_ON, "job-completes");
    let pod = first_pod(&obs);
    for e in events(&mut obs, &pod, "logshipper").iter_mut() {
        if e["event"] == "terminated" {
            e["finished_at"] = json!("2000-01-01T00:00:00Z");
        }
    }
    assert_violated(
        &judged(obs),
        Invariant::JobCompletes,
        "Job/myapp",
        "after the main containers",
    );
}

#[test]
fn job_completes_is_violated_when_the_job_never_completes() {
    let mut obs = raw(GATE_ON, "job-completes");
    for o in obs["objects"].as_array_mut().unwrap() {
        o["status"]["conditions"] = json!([]);
    }
    assert_violated(&judged(obs), Invariant::JobCompletes, "Job/myapp", "is Complete");
}

#[test]
fn termination_order_is_violated_when_a_sidecar_stops_before_the_app_or_out_of_order() {
    let obs = raw(GATE_ON, "termination-order");
    let c = judged(obs.clone());
    let v = verdict(&c, Invariant::TerminationOrder, "Pod/termination-order");
    let sidecars: Vec<String> = v
        .judgement
        .evidence
        .iter()
        .filter_map(|e| {
            e.split("sidecar ")
                .nth(1)
                .and_then(|s| s.split(' ').next())
                .map(String::from)
        })
        .collect();
    assert!(
        sidecars.len() >= 2,
        "two sidecars terminate: {:#?}",
        v.judgement.evidence
    );
    // The first sidecar stops long before anything else.
    let mut early = obs.clone();
    for e in events(&mut early, "termination-order", &sidecars[0]).iter_mut() {
        if e["event"] == "terminated" {
            e["finished_at"] = json!("2000-01-01T00:00:00Z");
        }
    }
    let c = judged(early);
    assert_violated(
        &c,
        Invariant::TerminationOrder,
        "Pod/termination-order",
        "not before the app containers",
    );
    assert_violated(
        &c,
        Invariant::TerminationOrder,
        "Pod/termination-order",
        "(later in initContainers)",
    );
}

#[test]
fn an_object_the_api_server_refuses_is_its_own_result() {
    let c = judged(raw("1.37.2-default", "page-lint"));
    let refused: Vec<_> = c
        .verdicts
        .iter()
        .filter(|v| v.judgement.outcome == Outcome::Rejected)
        .collect();
    assert!(!refused.is_empty(), "{c:#?}");
    assert!(refused.iter().all(|v| v.invariant == Invariant::Accepted));
    assert!(
        refused[0].judgement.evidence[0].contains("rejected"),
        "{:#?}",
        refused[0].judgement.evidence
    );
}

#[test]
fn a_gate_off_refusal_of_a_probed_sidecar_is_flagged_and_expected_from_the_manifest() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  initContainers:\n    - name: s\n      image: alpine\n      restartPolicy: Always\n      readinessProbe:\n        exec:\n          command: [true]\n  containers:\n    - name: a\n      image: alpine\n";
    assert!(workload::declares_probed_sidecar(text, "Pod/p"));
    assert!(!workload::declares_probed_sidecar(text, "Pod/q"));
    assert!(!workload::declares_probed_sidecar(
        &text.replace("      restartPolicy: Always\n", ""),
        "Pod/p"
    ));
}

#[test]
fn the_page_states_six_invariants_in_its_own_words() {
    let cited = workload::citations(sidecar_conformance::doc::PAGE);
    let ids: Vec<&str> = cited.iter().map(|(i, _)| i.id()).collect();
    assert_eq!(
        ids,
        [
            "sidecars-start-first",
            "ready-follows-sidecars",
            "apps-survive-sidecar-restarts",
            "job-completes-with-sidecars",
            "sidecars-terminate-last",
            "effective-requests"
        ]
    );
    for (_, sentence) in &cited {
        assert!(sidecar_conformance::doc::page_contains(sentence), "{sentence}");
    }
}

#[test]
fn a_workload_whose_image_cannot_be_pulled_is_not_judged_and_says_why() {
    let mut obs = raw(GATE_ON, "start-ordering");
    let evs = events(&mut obs, "start-ordering", "app");
    let last = at(evs.last().unwrap());
    evs.push(json!({"observed_at": last, "container_id": null, "restart_count": 0, "event": "waiting", "reason": "ImagePullBackOff", "message": "Back-off pulling image \"registry.invalid/app:1\""}));
    let c = judged(obs);
    assert!(
        c.verdicts.iter().all(|v| v.invariant == Invariant::Accepted),
        "{c:#?}"
    );
    assert_eq!(c.unpulled.len(), 1, "{c:#?}");
    assert_eq!(c.unpulled[0].0, "Pod/start-ordering");
    assert!(c.unpulled[0].1.contains("registry.invalid/app:1"), "{c:#?}");
}

#[test]
fn sidecars_ignored_is_refused_without_the_manifest_that_declares_them() {
    // The same gate-off recording, without the manifest: nothing shows that the init
    // container was meant as a sidecar, so nothing may be called ignored.
    let mut obs = raw("1.32.2-off", "deployment-ready");
    obs["manifests"] = json!([]);
    let c = judged(obs);
    assert!(
        c.verdicts
            .iter()
            .all(|v| v.judgement.outcome != Outcome::SidecarIgnored),
        "{c:#?}"
    );
    assert!(
        c.notes.iter().any(|n| n.contains("no pod has a sidecar")),
        "{c:#?}"
    );
}

/// The effective-requests recording with the node the scheduled pod ran on, as a check
/// records it (`fetch-nodes`), with `allocatable` for the widget it asks for.
fn with_node(allocatable: &str) -> Value {
    let mut obs = raw(GATE_ON, "effective-requests");
    let pod = obs["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metadata"]["name"] == "sidecar-after-init")
        .unwrap()
        .clone();
    let node = pod["spec"]["nodeName"].as_str().unwrap().to_string();
    obs["objects"].as_array_mut().unwrap().push(json!({
        "kind": "Node",
        "metadata": {"name": node},
        "status": {"allocatable": {"sidecar-conformance.io/widget-a": allocatable, "cpu": "2", "memory": "8Gi"}}
    }));
    obs
}

#[test]
fn effective_requests_holds_where_the_scheduler_followed_the_rule_and_fails_where_it_could_not_have() {
    let c = judged(with_node("10"));
    assert_holds(&c, Invariant::EffectiveRequests, "Pod/sidecar-after-init");
    let v = verdict(&c, Invariant::EffectiveRequests, "Pod/sidecar-after-init");
    assert!(
        v.judgement
            .evidence
            .iter()
            .any(|e| e.contains("effective sidecar-conformance.io/widget-a request 8 by Kubernetes' rule")),
        "{:#?}",
        v.judgement.evidence
    );
    // Refused for the widget it asks for, with the rules' two answers in the evidence.
    let refused = verdict(&c, Invariant::EffectiveRequests, "Pod/sidecar-before-init");
    assert_eq!(
        refused.judgement.outcome,
        Outcome::Holds,
        "{:#?}",
        refused.judgement.evidence
    );
    assert!(
        refused
            .judgement
            .evidence
            .iter()
            .any(|e| e.contains("request 11 by Kubernetes' rule (8 by the rule that leaves out")),
        "{:#?}",
        refused.judgement.evidence
    );
    // Placed on a node that cannot hold it.
    assert_violated(
        &judged(with_node("7")),
        Invariant::EffectiveRequests,
        "Pod/sidecar-after-init",
        "covers its effective request",
    );
    // Refused for something it never asked for.
    let mut obs = with_node("10");
    for p in obs["pods"].as_array_mut().unwrap() {
        for c in p["status"]["conditions"].as_array_mut().into_iter().flatten() {
            if c["type"] == "PodScheduled" && c["status"] == "False" {
                c["message"] = json!("0/1 nodes are available: 1 Insufficient memory.");
            }
        }
    }
    assert_violated(
        &judged(obs),
        Invariant::EffectiveRequests,
        "Pod/sidecar-before-init",
        "short of a resource it requests",
    );
}

#[test]
fn quantities_are_read_in_base_units() {
    assert_eq!(workload::quantity("cpu", "250m"), Some(250));
    assert_eq!(workload::quantity("cpu", "1.5"), Some(1500));
    assert_eq!(workload::quantity("memory", "64Mi"), Some(64 * 1024 * 1024));
    assert_eq!(workload::quantity("memory", "1G"), Some(1_000_000_000));
    assert_eq!(workload::quantity("example.com/widget", "3"), Some(3));
    assert_eq!(workload::quantity("memory", "3Zi"), None);
}

#[test]
fn a_sidecar_restart_the_watch_saw_only_as_running_again_is_still_judged() {
    // A restart can fall between two status updates: the watch sees the sidecar running
    // in a new container, never its exit. The restart count shows it all the same.
    let mut obs = raw(GATE_ON, "restart-independence");
    events(&mut obs, "restart-independence", "sidecar").retain(|e| e["event"] != "terminated");
    assert_holds(
        &judged(obs),
        Invariant::AppsSurviveSidecarRestarts,
        "Pod/restart-independence",
    );
}
