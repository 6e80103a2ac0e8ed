//! The judges on observations recorded from real runs (`suites/fixtures/observations/`,
//! copied from `runs/<id>/observations/` of runs on kind clusters built here), and on
//! copies of them broken on purpose: each behaviour is shown to fail where the page's
//! claim does not hold. No cluster needed.

use serde_json::{Value, json};
use sidecar_conformance::behaviour::{self, Observation, Outcome};
use sidecar_conformance::report::{CheckResult, Verdict};
use sidecar_conformance_suites::{fixtures_dir, recorded};

fn judge(obs: &Observation) -> behaviour::Judgement {
    let b = behaviour::by_id(&obs.behaviour).expect("known behaviour");
    (b.judge)(obs)
}

fn raw(cluster: &str, behaviour: &str) -> Value {
    serde_json::to_value(recorded(cluster, behaviour)).unwrap()
}

fn from(v: Value) -> Observation {
    serde_json::from_value(v).unwrap()
}

/// The events of one container of one pod in a recorded observation.
fn events<'a>(obs: &'a mut Value, pod: &str, container: &str) -> &'a mut Vec<Value> {
    let containers = obs["timeline"]["pods"][pod]["containers"]
        .as_array_mut()
        .expect("containers");
    let c = containers
        .iter_mut()
        .find(|c| c["name"] == container)
        .expect("container");
    c["events"].as_array_mut().expect("events")
}

fn assert_violated(j: &behaviour::Judgement, needle: &str) {
    assert_eq!(j.outcome, Outcome::Violated, "{:#?}", j.evidence);
    assert!(
        j.evidence
            .iter()
            .any(|e| e.starts_with("NOT:") && e.contains(needle))
            || j.evidence.iter().any(|e| e.contains(needle)),
        "no evidence mentioning {needle:?}: {:#?}",
        j.evidence
    );
}

const GATE_ON: &str = "1.37.2-default";

#[test]
fn recorded_gate_on_runs_hold() {
    for b in RUNTIME {
        let j = judge(&recorded(GATE_ON, b));
        assert_eq!(j.outcome, Outcome::Holds, "{b}: {:#?}", j.evidence);
        assert!(
            !j.evidence.iter().any(|e| e.starts_with("NOT:")),
            "{b}: {:#?}",
            j.evidence
        );
    }
}

#[test]
fn deployment_ready_fails_when_a_replica_is_not_2_of_2() {
    let mut obs = raw(GATE_ON, "deployment-ready");
    let pod = &mut obs["pods"][0];
    pod["status"]["containerStatuses"][0]["ready"] = json!(false);
    assert_violated(&judge(&from(obs)), "READY 1/2");
}

#[test]
fn deployment_ready_fails_on_a_restart() {
    let mut obs = raw(GATE_ON, "deployment-ready");
    obs["pods"][1]["status"]["initContainerStatuses"][0]["restartCount"] = json!(1);
    assert_violated(&judge(&from(obs)), "RESTARTS 1");
}

#[test]
fn job_completes_fails_when_the_sidecar_ended_before_the_main_container() {
    let mut obs = raw(GATE_ON, "job-completes");
    let pod = obs["timeline"]["pods"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let main_finished = events(&mut obs, &pod, "myjob")
        .iter()
        .find(|e| e["event"] == "terminated")
        .map(|e| e["finished_at"].as_str().unwrap().to_string())
        .unwrap();
    let early: jiff::Timestamp =
        main_finished.parse::<jiff::Timestamp>().unwrap() - jiff::SignedDuration::from_secs(1);
    for e in events(&mut obs, &pod, "logshipper")
        .iter_mut()
        .filter(|e| e["event"] == "terminated")
    {
        e["finished_at"] = json!(early.to_string());
    }
    assert_violated(&judge(&from(obs)), "before myjob exited");
}

#[test]
fn job_completes_fails_when_the_job_failed() {
    let mut obs = raw(GATE_ON, "job-completes");
    for o in obs["objects"].as_array_mut().unwrap() {
        for c in o["status"]["conditions"].as_array_mut().unwrap() {
            if c["type"] == "Complete" {
                c["type"] = json!("Failed");
            }
        }
    }
    assert_violated(&judge(&from(obs)), "condition Failed=True");
}

#[test]
fn start_ordering_fails_when_the_next_init_container_did_not_wait() {
    let mut obs = raw(GATE_ON, "start-ordering");
    let sidecar_start = events(&mut obs, "start-ordering", "sidecar")
        .iter()
        .find_map(|e| e["started_at"].as_str().map(str::to_string))
        .unwrap();
    for e in events(&mut obs, "start-ordering", "after-sidecar")
        .iter_mut()
        .filter(|e| e["event"] == "terminated")
    {
        e["started_at"] = json!(sidecar_start);
        e["message"] = json!("sidecar-started-file-absent");
    }
    let j = judge(&from(obs));
    assert_violated(&j, "0 s after sidecar started");
    assert_violated(&j, "sidecar-started-file-absent");
}

#[test]
fn restart_independence_fails_when_the_app_restarts_with_the_sidecar() {
    let mut obs = raw(GATE_ON, "restart-independence");
    let kill_sidecar_at = obs["actions"][0]["at"].as_str().unwrap().to_string();
    let app = events(&mut obs, "restart-independence", "app");
    let first_id = app
        .iter()
        .find_map(|e| e["container_id"].as_str().map(str::to_string))
        .unwrap();
    // The app restarting right after the sidecar was made to exit.
    app.push(
        json!({"observed_at": kill_sidecar_at, "container_id": "containerd://0000000000aa",
        "restart_count": 1, "event": "restarted", "previous_id": first_id}),
    );
    app.sort_by(|a, b| a["observed_at"].as_str().cmp(&b["observed_at"].as_str()));
    assert_violated(&judge(&from(obs)), "meanwhile app kept its container");
}

#[test]
fn restart_independence_fails_when_nothing_restarted() {
    let mut obs = raw(GATE_ON, "restart-independence");
    for c in ["sidecar", "app"] {
        events(&mut obs, "restart-independence", c).retain(|e| e["event"] != "restarted");
    }
    assert_violated(&judge(&from(obs)), "restarted");
}

#[test]
fn a_gate_on_expectation_fails_on_a_recorded_gate_on_run_only_when_broken() {
    // The verdict compares; shown here on the real recording both ways.
    let obs = recorded(GATE_ON, "job-completes");
    let j = judge(&obs);
    assert_eq!(CheckResult::verdict_of(Outcome::Holds, j.outcome), Verdict::Pass);
    assert_eq!(
        CheckResult::verdict_of(Outcome::SidecarIgnored, j.outcome),
        Verdict::Fail
    );
}

#[test]
fn fixtures_are_real_recordings() {
    // Every fixture carries the namespace and pod UIDs of the run it came from.
    for dir in std::fs::read_dir(fixtures_dir()).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            let obs: Observation = serde_json::from_str(&text).unwrap();
            assert!(obs.namespace.starts_with("sc-"), "{}", obs.namespace);
            assert!(obs.timeline.pods.values().all(|p| !p.uid.is_empty()) || obs.timeline.pods.is_empty());
        }
    }
}

const GATE_OFF: &str = "1.32.2-off";
const RUNTIME: [&str; 11] = [
    "deployment-ready",
    "job-completes",
    "start-ordering",
    "restart-independence",
    "sidecar-readiness",
    "init-sequencing",
    "sidecar-backoff",
    "job-fails",
    "shared-namespaces",
    "termination-order",
    "effective-requests",
];

#[test]
fn recorded_gate_on_runs_of_1_32_hold_too() {
    for b in RUNTIME {
        let j = judge(&recorded("1.32.2-on", b));
        assert_eq!(j.outcome, Outcome::Holds, "{b}: {:#?}", j.evidence);
    }
}

#[test]
fn recorded_gate_off_runs_show_the_sidecar_ignored() {
    for b in RUNTIME {
        let j = judge(&recorded(GATE_OFF, b));
        assert_eq!(j.outcome, Outcome::SidecarIgnored, "{b}: {:#?}", j.evidence);
        assert!(
            j.evidence.iter().any(|e| e.contains("restartPolicy")),
            "{b}: the evidence must say the field was dropped: {:#?}",
            j.evidence
        );
    }
}

#[test]
fn the_gate_on_expectation_is_violated_on_a_gate_off_cluster() {
    // What a user of a gate-off cluster would see if they expected the page's claims.
    for b in RUNTIME {
        let j = judge(&recorded(GATE_OFF, b));
        assert_eq!(
            CheckResult::verdict_of(Outcome::Holds, j.outcome),
            Verdict::Fail,
            "{b}"
        );
    }
}

#[test]
fn the_pages_job_block_is_refused_with_both_defects_named() {
    for cluster in ["1.32.2-on", GATE_OFF] {
        let j = judge(&recorded(cluster, "job-example-as-written"));
        assert_eq!(j.outcome, Outcome::Rejected, "{cluster}: {:#?}", j.evidence);
        assert!(
            j.evidence[0].contains("no matches for kind \"Job\" in version \"v1\""),
            "{:#?}",
            j.evidence
        );
        assert!(
            j.evidence[1].contains(".spec.template.spec.command"),
            "{:#?}",
            j.evidence
        );
    }
}

#[test]
fn an_accepted_job_block_would_not_count_as_rejected() {
    let mut obs = raw(GATE_OFF, "job-example-as-written");
    obs["rejections"] = json!([]);
    obs["applied"] = json!([{"api_version": "batch/v1", "kind": "Job", "name": "myapp", "namespace": "x"}]);
    assert_eq!(judge(&from(obs)).outcome, Outcome::Holds);
}

/// Puts, before the first run of `container`, an attempt the runtime failed to start, as
/// containerd and the kubelet report it (seen in a CI run on a loaded cgroup-v1 host),
/// followed by the kubelet's restart.
fn insert_start_failure(obs: &mut Value, pod: &str, container: &str) {
    let evs = events(obs, pod, container);
    let first_run = evs
        .iter()
        .position(|e| e["event"] == "running")
        .expect("a running event");
    let at = evs[first_run]["observed_at"].as_str().unwrap().to_string();
    let failed_id = "containerd://00000000000000000000000000000000000000000000000000000000000dead0";
    for e in evs.iter_mut().skip(first_run) {
        e["restart_count"] = json!(1);
    }
    evs.insert(
        first_run,
        json!({"observed_at": at, "container_id": failed_id, "restart_count": 0, "event": "terminated",
            "exit_code": 128, "reason": "StartError",
            "message": "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error setting cgroup config for procHooks process: unable to freeze",
            "started_at": "1970-01-01T00:00:00Z", "finished_at": at}),
    );
    evs.insert(
        first_run + 1,
        json!({"observed_at": at, "container_id": null, "restart_count": 1, "event": "restarted", "previous_id": failed_id}),
    );
}

#[test]
fn a_start_the_runtime_failed_is_not_a_run_of_the_container() {
    let mut obs = raw(GATE_ON, "start-ordering");
    insert_start_failure(&mut obs, "start-ordering", "after-sidecar");
    let obs = from(obs);
    let next = obs.timeline.pods["start-ordering"]
        .container("after-sidecar")
        .unwrap();
    assert_eq!(next.start_failures().len(), 1);
    assert_eq!(next.terminations().len(), 1, "only the run that started counts");
    assert_eq!(
        next.first_started_at().unwrap().to_string(),
        "2026-11-27T08:20:10Z",
        "the failed attempt's zero start time is not a start"
    );
    // The kubelet retried, the retry waited for the sidecar: the claim holds, and the
    // runtime's failure is reported beside it.
    let j = judge(&obs);
    assert_eq!(j.outcome, Outcome::Holds, "{:#?}", j.evidence);
    let failures = behaviour::evidence::runtime_start_failures(&obs);
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(failures[0].contains("after-sidecar") && failures[0].contains("unable to freeze"));
    assert!(!sidecar_conformance::runner::inconclusive(
        Verdict::Pass,
        &failures
    ));
}

#[test]
fn a_play_spoiled_by_the_runtime_is_set_aside_only_when_it_did_not_pass() {
    // The app's only start failed and nothing ran after it: ordering cannot be shown.
    let mut obs = raw(GATE_ON, "start-ordering");
    insert_start_failure(&mut obs, "start-ordering", "app");
    events(&mut obs, "start-ordering", "app").retain(|e| e["event"] != "running");
    let obs = from(obs);
    let j = judge(&obs);
    assert_violated(&j, "app started at -");
    let failures = behaviour::evidence::runtime_start_failures(&obs);
    let verdict = CheckResult::verdict_of(Outcome::Holds, j.outcome);
    assert!(sidecar_conformance::runner::inconclusive(verdict, &failures));
    // Without a runtime failure, a violation stands as it is.
    let plain = judge(&from(raw(GATE_ON, "start-ordering")));
    assert!(!sidecar_conformance::runner::inconclusive(
        CheckResult::verdict_of(Outcome::SidecarIgnored, plain.outcome),
        &[]
    ));
}

#[test]
fn every_behaviour_of_the_catalogue_has_e2e_tests() {
    // A behaviour added to the catalogue but not to the e2e macro would never run on a
    // cluster under `cargo nextest`.
    let e2e = include_str!("e2e.rs");
    for b in behaviour::catalogue() {
        let call = format!("check_on_cluster($version, $gate, \"{}\")", b.id);
        assert!(e2e.contains(&call), "{} has no e2e test in e2e.rs", b.id);
    }
}

/// The pod-level events of a recorded pod.
fn pod_events<'a>(obs: &'a mut Value, pod: &str) -> &'a mut Vec<Value> {
    obs["timeline"]["pods"][pod]["events"]
        .as_array_mut()
        .expect("pod events")
}

/// When the recorded sidecar of the readiness fixture first became ready.
fn sidecar_ready_at(obs: &mut Value) -> String {
    events(obs, "sidecar-readiness", "sidecar")
        .iter()
        .find(|e| e["event"] == "ready" && e["ready"] == true)
        .and_then(|e| e["observed_at"].as_str())
        .expect("sidecar ready")
        .to_string()
}

#[test]
fn sidecar_readiness_fails_when_the_pod_is_ready_before_its_sidecar() {
    let mut obs = raw(GATE_ON, "sidecar-readiness");
    // The pod reported Ready as soon as the app was, ignoring the sidecar's probe.
    let app_ready = events(&mut obs, "sidecar-readiness", "app")
        .iter()
        .find(|e| e["event"] == "ready" && e["ready"] == true)
        .and_then(|e| e["observed_at"].as_str())
        .unwrap()
        .to_string();
    let evs = pod_events(&mut obs, "sidecar-readiness");
    evs.push(json!({"observed_at": app_ready, "event": "condition", "condition": "Ready", "status": "True", "reason": null}));
    evs.sort_by(|a, b| a["observed_at"].as_str().cmp(&b["observed_at"].as_str()));
    let j = judge(&from(obs));
    assert_violated(&j, "before sidecar was ready");
}

#[test]
fn sidecar_readiness_fails_when_the_pod_stays_ready_after_its_sidecar_is_not() {
    let mut obs = raw(GATE_ON, "sidecar-readiness");
    let ready_at = sidecar_ready_at(&mut obs);
    // Drop every Ready=False of the pod after the sidecar first became ready.
    pod_events(&mut obs, "sidecar-readiness").retain(|e| {
        !(e["condition"] == "Ready" && e["status"] == "False" && e["observed_at"].as_str() > Some(&ready_at))
    });
    assert_violated(
        &judge(&from(obs)),
        "the pod stayed Ready after sidecar became unready",
    );
}

#[test]
fn sidecar_readiness_fails_when_a_failing_probe_restarts_the_sidecar() {
    let mut obs = raw(GATE_ON, "sidecar-readiness");
    let side = events(&mut obs, "sidecar-readiness", "sidecar");
    let last = side.last().unwrap().clone();
    side.push(
        json!({"observed_at": last["observed_at"], "container_id": "containerd://00000000000000aa",
        "restart_count": 1, "event": "restarted", "previous_id": last["container_id"]}),
    );
    assert_violated(&judge(&from(obs)), "sidecar running in its first container");
}

#[test]
fn init_sequencing_fails_when_an_entry_does_not_wait_for_the_sidecar_before_it() {
    let mut obs = raw(GATE_ON, "init-sequencing");
    let sidecar_a_start = events(&mut obs, "init-sequencing", "sidecar-a")
        .iter()
        .find_map(|e| e["started_at"].as_str().map(str::to_string))
        .unwrap();
    for e in events(&mut obs, "init-sequencing", "init-2")
        .iter_mut()
        .filter(|e| e["event"] == "terminated")
    {
        e["started_at"] = json!(sidecar_a_start);
        e["message"] = json!("init-1-done ");
    }
    let j = judge(&from(obs));
    assert_violated(&j, "0 s after sidecar-a started");
    assert_violated(&j, "init-2 found init-1-done, sidecar-a-started");
}

#[test]
fn init_sequencing_fails_when_a_regular_init_container_is_overtaken() {
    let mut obs = raw(GATE_ON, "init-sequencing");
    // sidecar-b starting a whole minute before init-2 finished.
    let init_2_end = events(&mut obs, "init-sequencing", "init-2")
        .iter()
        .find_map(|e| e["finished_at"].as_str().map(str::to_string))
        .unwrap();
    let early =
        (init_2_end.parse::<jiff::Timestamp>().unwrap() - jiff::SignedDuration::from_secs(60)).to_string();
    for e in events(&mut obs, "init-sequencing", "sidecar-b")
        .iter_mut()
        .filter(|e| e["event"] == "running")
    {
        e["started_at"] = json!(early);
    }
    assert_violated(&judge(&from(obs)), "not before init-2 finished");
}

#[test]
fn init_sequencing_fails_when_a_regular_init_container_ran_twice() {
    let mut obs = raw(GATE_ON, "init-sequencing");
    let init_1 = events(&mut obs, "init-sequencing", "init-1");
    let first = init_1
        .iter()
        .find(|e| e["event"] == "terminated")
        .unwrap()
        .clone();
    init_1.push(first);
    assert_violated(
        &judge(&from(obs)),
        "init-1 ran once to completion: exit 0, 2 run(s)",
    );
}

#[test]
fn job_fails_is_violated_when_the_job_completes_or_does_not_retry() {
    let mut obs = raw(GATE_ON, "job-fails");
    for c in obs["objects"][0]["status"]["conditions"].as_array_mut().unwrap() {
        if c["type"] == "Failed" {
            c["type"] = json!("Complete");
        }
    }
    assert_violated(&judge(&from(obs)), "condition Complete=True");

    let mut obs = raw(GATE_ON, "job-fails");
    let pods = obs["timeline"]["pods"].as_object_mut().unwrap();
    let second = pods.keys().nth(1).unwrap().clone();
    pods.remove(&second);
    assert_violated(&judge(&from(obs)), "ran 1 pod(s): backoffLimit 1 allows 2");
}

#[test]
fn job_fails_is_violated_when_the_sidecar_keeps_running() {
    let mut obs = raw(GATE_ON, "job-fails");
    let first = obs["timeline"]["pods"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    events(&mut obs, &first, "logshipper").retain(|e| e["event"] != "terminated");
    assert_violated(&judge(&from(obs)), "logshipper was never stopped");
}

#[test]
fn sidecar_backoff_is_violated_without_growing_back_off() {
    let mut obs = raw(GATE_ON, "sidecar-backoff");
    // Restarts at a steady 3 s: no back-off.
    let mut n = 0;
    let mut last = String::new();
    for e in events(&mut obs, "sidecar-backoff", "sidecar")
        .iter_mut()
        .filter(|e| e["event"] == "running")
    {
        let t = e["started_at"].as_str().unwrap().to_string();
        if t != last {
            n += 1;
            last = t;
        }
        e["started_at"] = json!(format!("2026-11-27T11:00:{:02}Z", 3 * n));
    }
    assert_violated(&judge(&from(obs)), "3 s, 3 s, 3 s between starts, growing");
}

#[test]
fn sidecar_backoff_is_violated_when_the_app_restarts_or_the_sidecar_does_not() {
    let mut obs = raw(GATE_ON, "sidecar-backoff");
    let app = events(&mut obs, "sidecar-backoff", "app");
    let last = app.last().unwrap().clone();
    app.push(
        json!({"observed_at": last["observed_at"], "container_id": "containerd://00000000000000bb",
        "restart_count": 1, "event": "restarted", "previous_id": last["container_id"]}),
    );
    assert_violated(
        &judge(&from(obs)),
        "meanwhile app kept running in its first container",
    );

    let mut obs = raw(GATE_ON, "sidecar-backoff");
    let side = events(&mut obs, "sidecar-backoff", "sidecar");
    let first_id = side
        .iter()
        .find_map(|e| e["container_id"].as_str().map(str::to_string));
    side.retain(|e| {
        e["container_id"].as_str().map(str::to_string) == first_id || e["container_id"].is_null()
    });
    for e in side.iter_mut() {
        e["restart_count"] = json!(0);
    }
    assert_violated(&judge(&from(obs)), "sidecar restarted 0 time(s)");
}

#[test]
fn the_page_lint_lists_every_defect_with_its_lines() {
    for cluster in [GATE_ON, GATE_OFF] {
        let j = judge(&recorded(cluster, "page-lint"));
        assert_eq!(j.outcome, Outcome::Rejected, "{:#?}", j.evidence);
        for needle in [
            "accepted Deployment/myapp",
            "lines 58-64: the page applies deployment-sidecar.yaml",
            "lines 74-152: the code block opened at line 74",
            "line 85: no pod is named myapp",
            "lines 167-194: server-side dry run (strict): no matches for kind \"Job\" in version \"v1\"",
            "lines 167-194: server-side dry run (strict), with only apiVersion corrected",
        ] {
            assert!(
                j.evidence.iter().any(|e| e.contains(needle)),
                "{cluster}: no {needle:?} in {:#?}",
                j.evidence
            );
        }
    }
}

#[test]
fn the_page_lint_reports_a_block_the_server_accepts_as_no_manifest_defect() {
    // Were the Job block valid, only the page's static defects would remain.
    let mut obs = raw(GATE_ON, "page-lint");
    obs["rejections"] = json!([]);
    let j = judge(&from(obs));
    assert_eq!(j.outcome, Outcome::Rejected);
    assert!(
        !j.evidence.iter().any(|e| e.contains("lines 167-194")),
        "{:#?}",
        j.evidence
    );
}

#[test]
fn shared_namespaces_is_violated_by_another_network_or_an_unshipped_line() {
    let set_log = |obs: &mut Value, c: &str, f: &dyn Fn(&str) -> String| {
        let key = format!("shared-namespaces/{c}");
        let text = obs["logs"][&key].as_str().unwrap().to_string();
        obs["logs"][&key] = json!(f(&text));
    };
    let mut obs = raw(GATE_ON, "shared-namespaces");
    set_log(&mut obs, "app", &|t| {
        t.lines()
            .map(|l| {
                if l.starts_with("app net=") {
                    "app net=net:[1]"
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    assert_violated(&judge(&from(obs)), "of app: net:[1]");

    let mut obs = raw(GATE_ON, "shared-namespaces");
    set_log(&mut obs, "app", &|t| t.replace("from-sidecar", ""));
    assert_violated(&judge(&from(obs)), "got \"\" from sidecar's server");

    let mut obs = raw(GATE_ON, "shared-namespaces");
    set_log(&mut obs, "sidecar", &|t| t.replace("app-line-1", ""));
    assert_violated(&judge(&from(obs)), "holds app-line-1");
}

/// Rewrites the termination message of a container's terminations in a recording.
fn set_message(obs: &mut Value, container: &str, message: &str) {
    for e in events(obs, "termination-order", container)
        .iter_mut()
        .filter(|e| e["event"] == "terminated")
    {
        e["message"] = json!(message);
    }
}

#[test]
fn termination_order_is_violated_when_a_sidecar_is_stopped_before_the_app_exited() {
    let mut obs = raw(GATE_ON, "termination-order");
    // sidecar-2 signalled together with the app, at deletion.
    set_message(&mut obs, "sidecar-2", "TERM at 15119.30");
    assert_violated(
        &judge(&from(obs)),
        "sidecar-2 got SIGTERM at 15119.30, -7.90 s after app exited",
    );
}

#[test]
fn termination_order_is_violated_when_sidecars_stop_in_spec_order() {
    let mut obs = raw(GATE_ON, "termination-order");
    set_message(&mut obs, "sidecar-1", "TERM at 15127.25");
    set_message(&mut obs, "sidecar-2", "TERM at 15129.19");
    assert_violated(&judge(&from(obs)), "reverse order");
}

#[test]
fn termination_order_is_violated_when_a_sidecar_never_got_sigterm() {
    let mut obs = raw(GATE_ON, "termination-order");
    set_message(&mut obs, "sidecar-1", "");
    assert_violated(&judge(&from(obs)), "sidecar-1 received SIGTERM");
}

#[test]
fn qos_holds_on_every_recorded_cluster_and_fails_when_a_sidecar_is_left_out() {
    for cluster in [GATE_ON, "1.32.2-on", GATE_OFF] {
        let j = judge(&recorded(cluster, "qos-class"));
        assert_eq!(j.outcome, Outcome::Holds, "{cluster}: {:#?}", j.evidence);
    }
    // A cluster that left the sidecar out of the computation would call this pod
    // Guaranteed.
    let mut obs = raw(GATE_ON, "qos-class");
    for p in obs["pods"].as_array_mut().unwrap() {
        if p["metadata"]["name"] == "qos-sidecar-unbounded" {
            p["status"]["qosClass"] = json!("Guaranteed");
        }
    }
    assert_violated(
        &judge(&from(obs)),
        "pod qos-sidecar-unbounded: qosClass Guaranteed",
    );
}

/// Sets the scheduler's answer for a pod of the effective-requests recording.
fn set_scheduled(obs: &mut Value, pod: &str, scheduled: bool) {
    for p in obs["pods"].as_array_mut().unwrap() {
        if p["metadata"]["name"] == pod {
            for c in p["status"]["conditions"].as_array_mut().unwrap() {
                if c["type"] == "PodScheduled" {
                    c["status"] = json!(if scheduled { "True" } else { "False" });
                    c["reason"] = if scheduled {
                        Value::Null
                    } else {
                        json!("Unschedulable")
                    };
                }
            }
        }
    }
}

#[test]
fn effective_requests_is_violated_when_the_scheduler_follows_another_rule() {
    // Scheduled by the page's rule, as if sidecars before an init container did not run
    // alongside it.
    let mut obs = raw(GATE_ON, "effective-requests");
    set_scheduled(&mut obs, "sidecar-before-init", true);
    assert_violated(
        &judge(&from(obs)),
        "Kubernetes' rule 11; the scheduler: scheduled",
    );
    // Refused by the plain sum, as if init requests were added to the rest.
    let mut obs = raw(GATE_ON, "effective-requests");
    set_scheduled(&mut obs, "sidecar-after-init", false);
    assert_violated(&judge(&from(obs)), "pod sidecar-after-init");
    // With the gate off, a scheduler that added sidecars up would be wrong too.
    let mut obs = raw(GATE_OFF, "effective-requests");
    set_scheduled(&mut obs, "sidecar-before-init", false);
    assert_violated(&judge(&from(obs)), "pod sidecar-before-init");
}
