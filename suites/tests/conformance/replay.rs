//! The judges on observations recorded from real runs (`suites/fixtures/observations/`,
//! copied from `runs/<id>/observations/` of runs on kind clusters built here), and on
//! copies of them broken on purpose: each behaviour is shown to fail where the page's
//! claim does not hold. No cluster needed.

use serde_json::{Value, json};
use sidecar_conformance::behaviour::{self, Observation, Outcome};
use sidecar_conformance::report::{CheckResult, Verdict};
use sidecar_conformance_suites::{events, first_pod, fixtures_dir, recorded};

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
    for b in runtime() {
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
    let pod = first_pod(&obs);
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
/// The behaviours whose expectation follows the gate: from the catalogue, so that a new
/// one is replayed without being added here.
fn runtime() -> Vec<&'static str> {
    behaviour::catalogue()
        .iter()
        .filter(|b| b.subject == behaviour::Subject::Runtime)
        .map(|b| b.id)
        .collect()
}

#[test]
fn recorded_gate_on_runs_of_1_32_do_what_both_tables_expect() {
    // Holds, except where the behaviour-change table knows 1.32.2 has a bug the
    // behaviour observes: there the recording shows the bug.
    let v: sidecar_conformance::version::KubeVersion = "1.32.2".parse().unwrap();
    let mut known = Vec::new();
    for b in runtime() {
        let j = judge(&recorded("1.32.2-on", b));
        let expected = behaviour::by_id(b)
            .unwrap()
            .unjudged("c", v, sidecar_conformance::gate::GateSetting::On)
            .expected;
        assert_eq!(j.outcome, expected, "{b}: {:#?}", j.evidence);
        if expected == Outcome::Violated {
            known.push(b);
        }
    }
    assert_eq!(
        known,
        ["sidecar-crash-startup-probe", "sidecar-resize", "node-restart"]
    );
}

#[test]
fn sidecar_crash_startup_probe_shows_kubernetes_132826_on_1_32_and_not_on_1_37() {
    let on_132 = judge(&recorded("1.32.2-on", "sidecar-crash-startup-probe"));
    assert_violated(&on_132, "app never started (last waiting: PodInitializing");
    let on_137 = judge(&recorded(GATE_ON, "sidecar-crash-startup-probe"));
    assert_eq!(on_137.outcome, Outcome::Holds, "{:#?}", on_137.evidence);
    // 1.37.2's recording judged where the table expects the bug fails, and so would
    // 1.32.2's where the table says it is fixed (a regression).
    let b = behaviour::by_id("sidecar-crash-startup-probe").unwrap();
    let expect = |v: &str| {
        b.unjudged(
            "c",
            v.parse().unwrap(),
            sidecar_conformance::gate::GateSetting::On,
        )
        .expected
    };
    assert_eq!(
        CheckResult::verdict_of(expect("1.32.2"), on_137.outcome),
        Verdict::Fail
    );
    assert_eq!(
        CheckResult::verdict_of(expect("1.34.2"), on_132.outcome),
        Verdict::Fail
    );
    assert_eq!(
        CheckResult::verdict_of(expect("1.34.1"), on_132.outcome),
        Verdict::Pass
    );
}

#[test]
fn recorded_gate_off_runs_show_the_sidecar_ignored() {
    for b in runtime() {
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
    for b in runtime() {
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
    let failures = sidecar_conformance::evidence::runtime_start_failures(&obs);
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
    let failures = sidecar_conformance::evidence::runtime_start_failures(&obs);
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
fn the_readme_lists_every_behaviour_of_the_catalogue_once_and_no_other() {
    // The README's behaviour table is written by hand: this keeps it the catalogue's.
    let ids: Vec<&str> = behaviour::catalogue().iter().map(|b| b.id).collect();
    assert_eq!(
        readme_rows("## The behaviours"),
        ids,
        "README's behaviour table against the catalogue, in order"
    );
}

/// The first column of the tables of one README section (`| \`id\` | ...`).
fn readme_rows(heading: &str) -> Vec<&'static str> {
    let readme = include_str!("../../../README.md");
    let start = readme.find(&format!("\n{heading}")).expect("section") + 1;
    let section = &readme[start..];
    let end = section[1..].find("\n## ").map(|i| i + 1).unwrap_or(section.len());
    section[..end]
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1))
        .collect()
}

#[test]
fn the_readme_lists_every_check_invariant_and_every_upstream_change_once() {
    use sidecar_conformance::judges::workload::Invariant;
    use sidecar_conformance::model::changes::CHANGES;
    let mut invariants: Vec<&str> = Invariant::ALL.iter().map(|i| i.id()).collect();
    let accepted = invariants.remove(0);
    invariants.push(accepted);
    assert_eq!(readme_rows("## Your own workloads: `check`"), invariants);
    let rows = readme_rows("## What each cluster must do");
    let ids: Vec<&str> = CHANGES.iter().map(|c| c.id).collect();
    assert_eq!(rows, ids, "README's table of upstream changes against changes.rs");
}

#[test]
fn the_e2e_tests_are_the_catalogue_times_the_clusters() {
    // One test per behaviour, a gate probe and a check of the example workloads on each
    // cluster that comes up; one
    // `cluster_refused` on each the gate table refuses; names unique.
    use sidecar_conformance::gate::{self, GateEffect};
    use sidecar_conformance_suites::{E2eCase, e2e_cases};
    let cases = e2e_cases().unwrap();
    let names: std::collections::BTreeSet<&str> = cases.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), cases.len(), "duplicate e2e test names");
    let clusters = sidecar_conformance_suites::clusters().unwrap();
    assert!(!clusters.is_empty());
    let mut expected = 5; // the faults, published-path, registry, drawing and bad-input tests
    for (v, g) in &clusters {
        let module = sidecar_conformance_suites::cluster_module(*v, *g);
        if let GateEffect::ClusterRefused { .. } = gate::effect(*v, *g) {
            assert!(names.contains(format!("{module}::cluster_refused").as_str()));
            expected += 1;
            continue;
        }
        assert!(names.contains(format!("{module}::gate_probe").as_str()));
        assert!(names.contains(format!("{module}::check_examples").as_str()));
        for b in behaviour::catalogue() {
            let name = format!("{module}::{}", b.id.replace('-', "_"));
            assert!(names.contains(name.as_str()), "no e2e test {name}");
        }
        expected += behaviour::catalogue().len() + 2;
    }
    assert_eq!(cases.len(), expected);
    assert!(cases.iter().all(|(n, _)| n.starts_with("e2e::")));
    assert!(matches!(
        cases
            .iter()
            .find(|(n, _)| n == "e2e::faults::every_fault_of_the_cluster_is_an_error_naming_it"),
        Some((_, E2eCase::Faults))
    ));
    for (name, case) in [
        (
            "e2e::published::a_user_without_root_runs_the_published_path_through_a_registry_mirror",
            E2eCase::Published,
        ),
        (
            "e2e::registry::the_run_serves_on_the_kind_network_only_and_refuses_pushes",
            E2eCase::Registry,
        ),
    ] {
        assert!(
            cases.iter().any(|(n, c)| n == name && *c == case),
            "no e2e test {name}"
        );
    }
}

#[test]
fn the_clusters_are_listed_once_in_clusters_txt() {
    // Every place that needs the cluster matrix reads clusters.txt; none lists its own.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    for (path, reads) in [
        (".config/nextest.toml", "--clusters-file clusters.txt"),
        ("conformance", "clusters.txt"),
        ("Justfile", "clusters.txt"),
        (".github/workflows/conformance.yml", "clusters.txt"),
        ("ci/github/matrix.sh", "--clusters-file clusters.txt"),
    ] {
        let text = read(path);
        assert!(text.contains(reads), "{path} does not read clusters.txt");
        assert!(
            !text.contains("--cluster 1.") && !text.contains("kubernetes: 1."),
            "{path} lists clusters of its own: read them from clusters.txt"
        );
    }
    let workflow = read(".github/workflows/conformance.yml");
    assert!(workflow.contains("fromJSON(needs.matrix.outputs.include)"));
    assert!(workflow.contains("ci/github/matrix.sh"));
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
    // The API server's answers are evidence; the page's defects are page findings.
    for cluster in [GATE_ON, GATE_OFF] {
        let j = judge(&recorded(cluster, "page-lint"));
        assert_eq!(j.outcome, Outcome::Rejected, "{:#?}", j.evidence);
        assert!(
            j.evidence.iter().any(|e| e.contains("accepted Deployment/myapp")),
            "{cluster}: {:#?}",
            j.evidence
        );
        // The server's own words stay in the evidence.
        assert!(
            j.evidence
                .iter()
                .any(|e| e.contains("HTTP 404 NotFound at POST /api/v1/")),
            "{cluster}: {:#?}",
            j.evidence
        );
        for needle in [
            "lines 58-64: the page applies deployment-sidecar.yaml",
            "lines 74-152: the code block opened at line 74",
            "line 85: no pod is named myapp",
            "lines 167-194: the API server refuses Job myapp (v1) -- suggestion: apiVersion: batch/v1",
            "lines 167-194: the API server refuses Job myapp -- suggestion: move `command` and `volumeMounts`",
        ] {
            assert!(
                j.page_findings.iter().any(|e| e.contains(needle)),
                "{cluster}: no {needle:?} in {:#?}",
                j.page_findings
            );
        }
    }
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

// ---------------------------------------------------------------------------------
// A verdict never lies (issue 9, point 3): every judge checks what makes its verdict.
// Each test below breaks a real recording where the evidence for the verdict is, and
// shows the verdict goes with it.

/// Makes `container` of `pod` look as if it never ran: its running and terminated
/// events (and the container IDs, started and ready flags that came with them) are
/// taken out of the timeline, and the kubelet is left reporting an image it cannot
/// pull, in the timeline and in the stored pod's status.
fn never_ran(obs: &mut Value, pod: &str, container: &str) {
    let evs = events(obs, pod, container);
    let at = evs
        .iter()
        .find(|e| e["event"] == "running" || e["event"] == "terminated")
        .map(|e| e["observed_at"].clone())
        .expect("the recording shows a run to remove");
    evs.retain(|e| {
        e["container_id"].is_null()
            && !matches!(e["event"].as_str(), Some("running" | "terminated" | "restarted"))
    });
    evs.push(json!({"observed_at": at, "container_id": null, "restart_count": 0, "event": "waiting",
        "reason": "ErrImagePull", "message": "failed to pull and unpack image \"docker.io/library/alpine:latest\": connection refused"}));
    for p in obs["pods"].as_array_mut().unwrap() {
        if p["metadata"]["name"] != pod {
            continue;
        }
        for key in ["initContainerStatuses", "containerStatuses"] {
            for s in p["status"][key].as_array_mut().into_iter().flatten() {
                if s["name"] == container {
                    s["state"] = json!({"waiting": {"reason": "ErrImagePull",
                        "message": "failed to pull and unpack image \"docker.io/library/alpine:latest\": connection refused"}});
                    s["lastState"] = json!({});
                    s["ready"] = json!(false);
                    s["started"] = json!(false);
                    s["restartCount"] = json!(0);
                    if let Some(o) = s.as_object_mut() {
                        o.remove("containerID");
                    }
                }
            }
        }
    }
}

/// The pods of a recording's timeline.
fn timeline_pods(obs: &Value) -> Vec<String> {
    obs["timeline"]["pods"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// A gate-off recording whose would-be sidecars (`containers`, in every pod) never ran
/// must not be judged sidecar-ignored: nothing shows the API server turned them into
/// regular init containers that hold the pod up.
fn gate_off_without_runs_is_not_sidecar_ignored(behaviour: &str, containers: &[&str]) {
    let mut obs = raw(GATE_OFF, behaviour);
    for pod in timeline_pods(&obs) {
        for c in containers {
            never_ran(&mut obs, &pod, c);
        }
    }
    let j = judge(&from(obs));
    assert_eq!(j.outcome, Outcome::Violated, "{behaviour}: {:#?}", j.evidence);
}

#[test]
fn sidecar_backoff_gate_off_is_not_sidecar_ignored_when_the_would_be_sidecar_never_ran() {
    // The case: restartPolicy dropped, the app never ran, but nothing shows the
    // would-be sidecar running as a regular init container and failing the pod.
    gate_off_without_runs_is_not_sidecar_ignored("sidecar-backoff", &["sidecar"]);
}

#[test]
fn deployment_ready_gate_off_is_not_sidecar_ignored_when_the_would_be_sidecar_never_ran() {
    gate_off_without_runs_is_not_sidecar_ignored("deployment-ready", &["logshipper"]);
}

#[test]
fn deployment_ready_gate_off_needs_every_replica_held_up_by_its_would_be_sidecar() {
    // One replica shows its would-be sidecar running as a regular init container; the
    // other never ran it (its image could not be pulled): that pod shows nothing of the
    // gate.
    let mut obs = raw(GATE_OFF, "deployment-ready");
    let second = timeline_pods(&obs)[1].clone();
    never_ran(&mut obs, &second, "logshipper");
    let j = judge(&from(obs));
    assert_eq!(j.outcome, Outcome::Violated, "{:#?}", j.evidence);
}

#[test]
fn job_completes_gate_off_is_not_sidecar_ignored_when_the_would_be_sidecar_never_ran() {
    gate_off_without_runs_is_not_sidecar_ignored("job-completes", &["logshipper"]);
}

#[test]
fn job_fails_gate_off_is_not_sidecar_ignored_when_the_would_be_sidecar_never_ran() {
    gate_off_without_runs_is_not_sidecar_ignored("job-fails", &["logshipper"]);
}

#[test]
fn restart_independence_gate_off_is_not_sidecar_ignored_when_the_would_be_sidecar_never_ran() {
    gate_off_without_runs_is_not_sidecar_ignored("restart-independence", &["sidecar"]);
}

#[test]
fn shared_namespaces_gate_off_is_not_sidecar_ignored_when_the_would_be_sidecar_never_ran() {
    gate_off_without_runs_is_not_sidecar_ignored("shared-namespaces", &["sidecar"]);
}

#[test]
fn termination_order_gate_off_is_not_sidecar_ignored_when_the_would_be_sidecar_never_ran() {
    // sidecar-2 never runs on a gate-off cluster anyway (it waits behind sidecar-1):
    // only sidecar-1's run is the evidence.
    gate_off_without_runs_is_not_sidecar_ignored("termination-order", &["sidecar-1"]);
}

/// A gate-off recording of a fixture the API server refused (a probe on a would-be
/// sidecar that lost its restartPolicy), with the refusal's message replaced.
fn gate_off_refused_for(behaviour: &str, message: &str) -> behaviour::Judgement {
    let mut obs = raw(GATE_OFF, behaviour);
    obs["rejections"][0]["message"] = json!(message);
    judge(&from(obs))
}

#[test]
fn refused_gate_off_fixtures_are_not_sidecar_ignored_without_the_servers_reason() {
    for b in ["start-ordering", "sidecar-readiness", "init-sequencing"] {
        let j = gate_off_refused_for(
            b,
            "the server has received too many requests and has asked us to try again later (TooManyRequests, HTTP 429)",
        );
        assert_eq!(j.outcome, Outcome::Violated, "{b}: {:#?}", j.evidence);
    }
}

#[test]
fn refused_gate_off_fixtures_are_sidecar_ignored_only_for_a_probe_on_a_declared_sidecar() {
    // The same refusal, about an init container the manifest does not declare a
    // sidecar (the manifest's own mistake, on any cluster), shows nothing of the gate.
    for (b, pod, regular) in [
        ("start-ordering", "start-ordering", 1),
        ("init-sequencing", "init-sequencing", 0),
        ("sidecar-readiness", "sidecar-readiness", 1),
    ] {
        let j = gate_off_refused_for(
            b,
            &format!(
                "Pod \"{pod}\" is invalid: spec.initContainers[{regular}].startupProbe: Forbidden: may not be set for init containers without restartPolicy=Always (Invalid, HTTP 422)"
            ),
        );
        assert_eq!(j.outcome, Outcome::Violated, "{b}: {:#?}", j.evidence);
    }
}

#[test]
fn effective_requests_gate_off_is_not_sidecar_ignored_without_the_schedulers_answers() {
    let mut obs = raw(GATE_OFF, "effective-requests");
    for p in obs["pods"].as_array_mut().unwrap() {
        p["status"]["conditions"]
            .as_array_mut()
            .unwrap()
            .retain(|c| c["type"] != "PodScheduled");
    }
    let j = judge(&from(obs));
    assert_eq!(j.outcome, Outcome::Violated, "{:#?}", j.evidence);
}

// page-lint: `rejected` only when the API server's answers confirm the page's defects.

const HTTP_429: &str = "the server has received too many requests and has asked us to try again later (TooManyRequests, HTTP 429)";

#[test]
fn page_lint_is_rejected_on_the_recording_with_the_defects_as_page_findings() {
    let j = judge(&recorded(GATE_ON, "page-lint"));
    assert_eq!(j.outcome, Outcome::Rejected, "{:#?}", j.evidence);
    assert_eq!(j.page_findings.len(), 5, "{:#?}", j.page_findings);
    assert!(
        !j.evidence.iter().any(|e| e.starts_with("NOT:")),
        "{:#?}",
        j.evidence
    );
}

#[test]
fn page_lint_without_the_servers_answers_is_violated() {
    let mut obs = raw(GATE_ON, "page-lint");
    obs["applied"] = json!([]);
    obs["rejections"] = json!([]);
    assert_violated(&judge(&from(obs)), "lines 13-53");
}

#[test]
fn page_lint_is_violated_when_the_deployment_block_is_refused() {
    let mut obs = raw(GATE_ON, "page-lint");
    obs["applied"] = json!([]);
    obs["rejections"].as_array_mut().unwrap().insert(
        0,
        json!({"file": "manifests/page/sidecar-containers.md:13-53", "object": "Deployment myapp",
            "message": "deployments.apps \"myapp\" is forbidden: User \"kind-admin\" cannot patch resource \"deployments\" (Forbidden, HTTP 403)"}),
    );
    assert_violated(&judge(&from(obs)), "HTTP 403");
}

#[test]
fn page_lint_is_violated_when_the_job_block_is_accepted_or_refused_for_another_reason() {
    // Accepted in v1: no Kubernetes serves that.
    let mut obs = raw(GATE_ON, "page-lint");
    obs["rejections"] = json!([]);
    obs["applied"]
        .as_array_mut()
        .unwrap()
        .push(json!({"api_version": "v1", "kind": "Job", "name": "myapp", "namespace": "sc-page-lint-9410"}));
    let j = judge(&from(obs));
    assert_violated(&j, "lines 167-194");
    assert!(
        !j.page_findings.iter().any(|f| f.contains("lines 167-194")),
        "{:#?}",
        j.page_findings
    );
    // Refused, but for too many requests: not the page's defect.
    let mut obs = raw(GATE_ON, "page-lint");
    obs["rejections"][0]["message"] = json!(HTTP_429);
    assert_violated(&judge(&from(obs)), "HTTP 429");
    let mut obs = raw(GATE_ON, "page-lint");
    obs["rejections"][1]["message"] = json!(HTTP_429);
    assert_violated(&judge(&from(obs)), "HTTP 429");
}

// job-example-as-written: `rejected` only for the page's two defects.

#[test]
fn the_job_block_refused_for_too_many_requests_is_not_the_pages_defect() {
    let mut obs = raw(GATE_OFF, "job-example-as-written");
    obs["rejections"][0]["message"] = json!(HTTP_429);
    let j = judge(&from(obs));
    assert_ne!(j.outcome, Outcome::Rejected, "{:#?}", j.evidence);
    assert_violated(&j, "HTTP 429");
}

#[test]
fn the_job_block_is_not_rejected_without_the_answer_to_its_corrected_apiversion() {
    let mut obs = raw(GATE_OFF, "job-example-as-written");
    obs["rejections"].as_array_mut().unwrap().remove(1);
    let j = judge(&from(obs));
    assert_ne!(j.outcome, Outcome::Rejected, "{:#?}", j.evidence);
    assert_violated(&j, "apiVersion corrected");
}

#[test]
fn the_job_block_refused_for_other_reasons_is_not_the_pages_defect() {
    for (i, message) in [
        (
            0,
            "jobs is forbidden: User \"system:anonymous\" cannot create resource \"jobs\" in API group \"\" (Forbidden, HTTP 403)",
        ),
        (
            0,
            "no matches for kind \"Job\" in version \"v1\" (discovery); the API server answered a direct create with: HTTP 403 Forbidden at POST /api/v1/namespaces/x/jobs: forbidden",
        ),
        (
            0,
            "no matches for kind \"Job\" in version \"v1\" (discovery); the API server answered a direct create with: HTTP 503 ServiceUnavailable at POST /api/v1/namespaces/x/jobs: the server is currently unable to handle the request",
        ),
        (1, "jobs.batch \"myapp\" already exists (AlreadyExists, HTTP 409)"),
        (
            1,
            "Internal error occurred: etcdserver: request timed out (InternalError, HTTP 500)",
        ),
        (
            1,
            "Job.batch \"myapp\" is invalid: spec.template.spec.containers[0].image: Required value (Invalid, HTTP 422)",
        ),
    ] {
        let mut obs = raw(GATE_OFF, "job-example-as-written");
        obs["rejections"][i]["message"] = json!(message);
        let j = judge(&from(obs));
        assert_eq!(j.outcome, Outcome::Violated, "{message}: {:#?}", j.evidence);
    }
}

#[test]
fn the_job_block_is_rejected_with_both_defects_as_page_findings() {
    for cluster in ["1.32.2-on", GATE_OFF] {
        let j = judge(&recorded(cluster, "job-example-as-written"));
        assert_eq!(j.outcome, Outcome::Rejected, "{cluster}: {:#?}", j.evidence);
        assert_eq!(j.page_findings.len(), 2, "{cluster}: {:#?}", j.page_findings);
        assert!(j.page_findings[0].contains("batch/v1"), "{:#?}", j.page_findings);
        assert!(j.page_findings[1].contains("command"), "{:#?}", j.page_findings);
    }
}

// qos-class: the sidecar must be stored as a sidecar where the recording shows one.

/// Removes `restartPolicy` from the init containers of the stored pods.
fn drop_stored_restart_policy(obs: &mut Value) {
    for p in obs["pods"].as_array_mut().unwrap() {
        for c in p["spec"]["initContainers"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("restartPolicy");
        }
    }
}

#[test]
fn qos_states_per_pod_whether_the_sidecar_is_stored_as_one() {
    let j = judge(&recorded(GATE_ON, "qos-class"));
    assert_eq!(j.outcome, Outcome::Holds, "{:#?}", j.evidence);
    for pod in ["qos-all-equal", "qos-sidecar-unbounded", "qos-init-unbounded"] {
        assert!(
            j.evidence
                .iter()
                .any(|e| e.contains(&format!("pod {pod}: sidecar is stored as a sidecar"))),
            "{pod}: {:#?}",
            j.evidence
        );
    }
    // Gate off: the field is dropped, said as a fact; the claim is about init
    // containers there, and holds.
    let j = judge(&recorded(GATE_OFF, "qos-class"));
    assert_eq!(j.outcome, Outcome::Holds, "{:#?}", j.evidence);
    assert!(
        j.evidence.iter().any(|e| e.contains(
            "pod qos-all-equal: sidecar is declared with restartPolicy: Always but stored without it"
        )),
        "{:#?}",
        j.evidence
    );
}

#[test]
fn qos_is_violated_when_the_stored_sidecar_lost_its_restart_policy_and_its_class_changed() {
    let mut obs = raw(GATE_ON, "qos-class");
    drop_stored_restart_policy(&mut obs);
    for p in obs["pods"].as_array_mut().unwrap() {
        if p["metadata"]["name"] == "qos-sidecar-unbounded" {
            p["status"]["qosClass"] = json!("Guaranteed");
        }
    }
    let j = judge(&from(obs));
    assert_violated(&j, "pod qos-sidecar-unbounded: qosClass Guaranteed");
    assert_violated(&j, "pod qos-sidecar-unbounded: sidecar");
}

#[test]
fn qos_is_violated_when_the_stored_pod_contradicts_the_recorded_sidecar() {
    // The watch saw the sidecar stored with restartPolicy: Always; the last object has
    // none. The field cannot change on a stored pod: the observation is wrong.
    let mut obs = raw(GATE_ON, "qos-class");
    drop_stored_restart_policy(&mut obs);
    assert_violated(&judge(&from(obs)), "pod qos-all-equal: sidecar");
}

#[test]
fn qos_is_violated_without_the_pods() {
    let mut obs = raw(GATE_ON, "qos-class");
    obs["pods"] = json!([]);
    assert_violated(&judge(&from(obs)), "pod qos-all-equal was never seen");
}

// deployment-ready: "remain running during the entire life of the Pod" needs a watch
// after Ready.

/// When both replicas of the deployment-ready recording were Ready (the later of the
/// two pods' Ready=True).
fn both_ready_at(obs: &Value) -> jiff::Timestamp {
    obs["timeline"]["pods"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| {
            p["events"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["condition"] == "Ready" && e["status"] == "True")
                .and_then(|e| e["observed_at"].as_str())
                .expect("Ready=True")
                .parse::<jiff::Timestamp>()
                .unwrap()
        })
        .max()
        .unwrap()
}

#[test]
fn deployment_ready_fails_on_a_container_id_change_after_ready() {
    let mut obs = raw(GATE_ON, "deployment-ready");
    let later = (both_ready_at(&obs) + jiff::SignedDuration::from_secs(5)).to_string();
    let pod = timeline_pods(&obs)[0].clone();
    let app = events(&mut obs, &pod, "myapp");
    app.push(
        json!({"observed_at": later, "container_id": "containerd://00000000000000cc", "restart_count": 0,
        "event": "running", "started_at": later}),
    );
    assert_violated(&judge(&from(obs)), "after both replicas were Ready");
}

#[test]
fn deployment_ready_fails_on_a_restart_after_ready() {
    let mut obs = raw(GATE_ON, "deployment-ready");
    let later = (both_ready_at(&obs) + jiff::SignedDuration::from_secs(5)).to_string();
    let pod = timeline_pods(&obs)[1].clone();
    let side = events(&mut obs, &pod, "logshipper");
    let id = side.last().unwrap()["container_id"].clone();
    side.push(
        json!({"observed_at": later, "container_id": null, "restart_count": 1, "event": "restarted",
        "previous_id": id}),
    );
    assert_violated(&judge(&from(obs)), "restarted after both replicas were Ready");
}

#[test]
fn deployment_ready_fails_when_the_recording_stops_at_ready() {
    // "remain running during the entire life of the Pod" needs a watch after Ready: a
    // recording cut at the moment both replicas were Ready (as the scenario did before
    // it watched on) proves nothing about the time after it.
    for cluster in [GATE_ON, "1.32.2-on"] {
        let mut obs = recorded(cluster, "deployment-ready");
        let ready_at = obs
            .timeline
            .pods
            .values()
            .flat_map(|p| &p.containers)
            .flat_map(|c| &c.events)
            .filter(|e| {
                matches!(
                    e.kind,
                    sidecar_conformance::timeline::ContainerEventKind::Ready { ready: true }
                )
            })
            .map(|e| e.observed_at)
            .max()
            .expect("a Ready event");
        for p in obs.timeline.pods.values_mut() {
            p.events.retain(|e| e.observed_at <= ready_at);
            for c in &mut p.containers {
                c.events.retain(|e| e.observed_at <= ready_at);
            }
        }
        for w in &mut obs.waits {
            w.ended_at = None;
            w.after_ms = 1000;
        }
        let j = judge(&obs);
        assert_eq!(j.outcome, Outcome::Violated, "{cluster}: {:#?}", j.evidence);
        let failed: Vec<&String> = j.evidence.iter().filter(|e| e.starts_with("NOT:")).collect();
        assert_eq!(failed.len(), 1, "{cluster}: {:#?}", j.evidence);
        assert!(failed[0].contains("need 20 s"), "{cluster}: {failed:#?}");
    }
}

// effective-requests: the cluster does what Kubernetes does (holds); that the page's
// formula is wrong is a finding about the page.

#[test]
fn effective_requests_holds_and_names_the_pages_wrong_rule_as_a_page_finding() {
    for cluster in [GATE_ON, "1.32.2-on"] {
        let j = judge(&recorded(cluster, "effective-requests"));
        assert_eq!(j.outcome, Outcome::Holds, "{cluster}: {:#?}", j.evidence);
        assert_eq!(j.page_findings.len(), 1, "{cluster}: {:#?}", j.page_findings);
        assert!(
            j.page_findings[0]
                .contains("sidecars started before a regular init container add to its request"),
            "{cluster}: {:#?}",
            j.page_findings
        );
        assert!(
            !j.evidence.iter().any(|e| e.contains("formula is incomplete")),
            "{cluster}: the page's defect is not evidence of the cluster: {:#?}",
            j.evidence
        );
    }
    // Gate off: the would-be sidecars are regular init containers, for which the
    // page's rule (the highest init request) is Kubernetes' rule: nothing to say.
    let j = judge(&recorded(GATE_OFF, "effective-requests"));
    assert_eq!(j.outcome, Outcome::SidecarIgnored, "{:#?}", j.evidence);
    assert!(j.page_findings.is_empty(), "{:#?}", j.page_findings);
}

// deployment-available: the Deployment's status as `kubectl describe deploy/myapp` shows
// it on the page.

#[test]
fn deployment_available_is_violated_when_a_replica_is_unavailable() {
    let mut obs = raw(GATE_ON, "deployment-available");
    let deploy = obs["objects"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|o| o["kind"] == "Deployment")
        .unwrap();
    deploy["status"]["availableReplicas"] = json!(1);
    deploy["status"]["unavailableReplicas"] = json!(1);
    assert_violated(&judge(&from(obs)), "1 available | 1 unavailable");
}

#[test]
fn deployment_available_is_violated_when_the_deployment_is_not_available() {
    let mut obs = raw(GATE_ON, "deployment-available");
    let deploy = obs["objects"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|o| o["kind"] == "Deployment")
        .unwrap();
    for c in deploy["status"]["conditions"].as_array_mut().unwrap() {
        if c["type"] == "Available" {
            c["status"] = json!("False");
            c["reason"] = json!("MinimumReplicasUnavailable");
        }
    }
    assert_violated(
        &judge(&from(obs)),
        "condition Available False MinimumReplicasUnavailable",
    );
    // Without the Deployment at all there is nothing to judge it on.
    let mut obs = raw(GATE_ON, "deployment-available");
    obs["objects"] = json!([]);
    assert_violated(&judge(&from(obs)), "no Deployment myapp");
}

#[test]
fn deployment_available_gate_off_is_not_sidecar_ignored_when_the_would_be_sidecar_never_ran() {
    gate_off_without_runs_is_not_sidecar_ignored("deployment-available", &["logshipper"]);
}

/// The unstarted-sidecar recording as a version with kubernetes/kubernetes#125880 would
/// have shown it: the started sidecar got no SIGTERM and was killed at the end of the
/// 30 s grace period.
fn sigkilled_at_grace_end() -> Observation {
    let mut obs = raw(GATE_ON, "termination-unstarted-sidecar");
    let deleted = obs["actions"][0]["at"].as_str().unwrap().to_string();
    let killed = deleted.parse::<jiff::Timestamp>().unwrap() + jiff::SignedDuration::from_secs(30);
    for e in events(&mut obs, "termination-unstarted", "sidecar-1").iter_mut() {
        if e["event"] == "terminated" {
            e["exit_code"] = json!(137);
            e["reason"] = json!("Error");
            e["message"] = json!(null);
            e["finished_at"] = json!(killed.to_string());
        }
    }
    from(obs)
}

#[test]
fn termination_unstarted_sidecar_fails_when_the_started_sidecar_waits_for_sigkill() {
    let j = judge(&sigkilled_at_grace_end());
    assert_violated(&j, "30 s after the deletion");
    assert_violated(&j, "got SIGTERM and exited by it: exit 137");
}

#[test]
fn a_version_with_the_known_bug_passes_by_showing_it_and_a_fixed_one_fails_by_showing_it() {
    // The behaviour-change table: #125880 affects 1.30.0-1.30.3, fixed in 1.30.4.
    let b = behaviour::by_id("termination-unstarted-sidecar").unwrap();
    let broken = judge(&sigkilled_at_grace_end());
    let on = |v: &str| {
        let r = b.unjudged(
            "c",
            v.parse().unwrap(),
            sidecar_conformance::gate::GateSetting::On,
        );
        (CheckResult::verdict_of(r.expected, broken.outcome), r.known_bug)
    };
    let (verdict, cited) = on("1.30.3");
    assert_eq!(verdict, Verdict::Pass);
    assert!(cited.unwrap().contains("kubernetes/kubernetes#125880"));
    // The same recording on a fixed version is a regression.
    assert_eq!(on("1.30.4"), (Verdict::Fail, None));
    assert_eq!(on("1.37.2"), (Verdict::Fail, None));
    // And the recording of the fixed behaviour fails where the table expects the bug.
    let fixed = judge(&recorded(GATE_ON, "termination-unstarted-sidecar"));
    let r = b.unjudged(
        "c",
        "1.29.7".parse().unwrap(),
        sidecar_conformance::gate::GateSetting::On,
    );
    assert_eq!(CheckResult::verdict_of(r.expected, fixed.outcome), Verdict::Fail);
}

#[test]
fn sidecar_exit_during_termination_fails_when_the_sidecar_is_restarted() {
    let mut obs = raw(GATE_ON, "sidecar-exit-during-termination");
    let evs = events(&mut obs, "termination-sidecar-exits", "sidecar");
    let exit = evs.iter().rfind(|e| e["event"] == "terminated").unwrap().clone();
    let at = exit["observed_at"].as_str().unwrap().to_string();
    evs.push(json!({"observed_at": at, "container_id": "containerd://again", "restart_count": 1, "event": "restarted", "previous_id": exit["container_id"]}));
    evs.push(json!({"observed_at": at, "container_id": "containerd://again", "restart_count": 1, "event": "running", "started_at": at}));
    assert_violated(&judge(&from(obs)), "was not restarted while the pod terminated");
}

#[test]
fn a_first_run_the_watch_saw_only_as_its_termination_still_counts() {
    // Recorded on 1.37.2 under load (the published-path e2e test): the sidecar's first
    // run lasted one second and the watch saw it only terminated. Its start is in the
    // termination's runtime times; the judge must not need to see it running.
    let text = std::fs::read_to_string(
        fixtures_dir().join("1.37.2-default/sidecar-crash-startup-probe.first-run-unseen.json"),
    )
    .unwrap();
    let obs: Observation = serde_json::from_str(&text).unwrap();
    let j = judge(&obs);
    assert_eq!(j.outcome, Outcome::Holds, "{:#?}", j.evidence);
    assert!(
        j.evidence
            .iter()
            .any(|e| e.contains("runs began at 2026-12-05T07:39:26Z, 2026-12-05T07:39:29Z")),
        "{:#?}",
        j.evidence
    );
}

/// The 1.37.2 recording of `sidecar-image-change` with the sidecar's events cut off
/// where the change took effect: the change ignored, the sidecar still in its first
/// container (what 1.28-1.31 do, kubernetes/kubernetes#121333).
fn image_change_ignored() -> Observation {
    let mut obs = raw(GATE_ON, "sidecar-image-change");
    let evs = events(&mut obs, "sidecar-image-change", "sidecar");
    let effect = evs.iter().position(|e| e["event"] == "terminated").unwrap();
    evs.truncate(effect);
    from(obs)
}

#[test]
fn sidecar_image_change_fails_when_the_change_is_ignored_or_the_app_restarts() {
    assert_violated(
        &judge(&image_change_ignored()),
        "was restarted in a new container after the change",
    );
    let mut obs = raw(GATE_ON, "sidecar-image-change");
    let evs = events(&mut obs, "sidecar-image-change", "app");
    let at = evs.last().unwrap()["observed_at"].as_str().unwrap().to_string();
    let first = evs
        .iter()
        .find_map(|e| e["container_id"].as_str().map(String::from));
    evs.push(json!({"observed_at": at, "container_id": "containerd://again", "restart_count": 1, "event": "restarted", "previous_id": first}));
    evs.push(json!({"observed_at": at, "container_id": "containerd://again", "restart_count": 1, "event": "running", "started_at": at}));
    assert_violated(&judge(&from(obs)), "app kept its first container");
}

#[test]
fn an_ignored_image_change_is_the_known_bug_before_1_32_and_a_regression_after() {
    let b = behaviour::by_id("sidecar-image-change").unwrap();
    let ignored = judge(&image_change_ignored());
    let on = |v: &str| {
        let r = b.unjudged(
            "c",
            v.parse().unwrap(),
            sidecar_conformance::gate::GateSetting::On,
        );
        (CheckResult::verdict_of(r.expected, ignored.outcome), r.known_bug)
    };
    let (verdict, cited) = on("1.31.14");
    assert_eq!(verdict, Verdict::Pass);
    assert!(cited.unwrap().contains("kubernetes/kubernetes#126525"));
    assert_eq!(on("1.32.2"), (Verdict::Fail, None));
}

#[test]
fn sidecar_resize_fails_when_not_applied_or_the_sidecar_restarts() {
    let mut obs = raw(GATE_ON, "sidecar-resize");
    for pod in obs["pods"].as_array_mut().unwrap() {
        for c in pod["status"]["initContainerStatuses"].as_array_mut().unwrap() {
            c["resources"]["requests"]["cpu"] = json!("100m");
            c["resources"]["limits"]["cpu"] = json!("100m");
        }
    }
    assert_violated(
        &judge(&from(obs)),
        "the kubelet reports sidecar's CPU as applied: requests 100m",
    );
    let mut obs = raw(GATE_ON, "sidecar-resize");
    let evs = events(&mut obs, "sidecar-resize", "sidecar");
    let at = evs.last().unwrap()["observed_at"].as_str().unwrap().to_string();
    let first = evs
        .iter()
        .find_map(|e| e["container_id"].as_str().map(String::from));
    evs.push(json!({"observed_at": at, "container_id": "containerd://again", "restart_count": 1, "event": "restarted", "previous_id": first}));
    evs.push(json!({"observed_at": at, "container_id": "containerd://again", "restart_count": 1, "event": "running", "started_at": at}));
    assert_violated(
        &judge(&from(obs)),
        "sidecar kept its container through the resize",
    );
}

#[test]
fn a_refused_resize_is_expected_before_1_33_and_a_regression_from_it() {
    // Recorded on 1.32.2: no `resize` subresource, the API server's 404.
    let refused = judge(&recorded("1.32.2-on", "sidecar-resize"));
    assert_violated(&refused, "404 NotFound");
    let b = behaviour::by_id("sidecar-resize").unwrap();
    let on = |v: &str, j: &behaviour::Judgement| {
        let r = b.unjudged(
            "c",
            v.parse().unwrap(),
            sidecar_conformance::gate::GateSetting::On,
        );
        CheckResult::verdict_of(r.expected, j.outcome)
    };
    assert_eq!(on("1.32.2", &refused), Verdict::Pass);
    assert_eq!(on("1.33.0", &refused), Verdict::Fail);
    let resized = judge(&recorded(GATE_ON, "sidecar-resize"));
    assert_eq!(on("1.32.2", &resized), Verdict::Fail);
    assert_eq!(on("1.36.3", &resized), Verdict::Pass);
}

#[test]
fn node_restart_fails_without_the_pending_phase_or_with_the_app_first() {
    // The 1.37.2 recording with the phase changes after the restart taken out: the pod
    // kept phase Running through it, as 1.32 does (kubernetes/kubernetes#127793).
    let mut obs = raw(GATE_ON, "node-restart");
    let restarted = obs["actions"][0]["at"].as_str().unwrap().to_string();
    let pod_events = obs["timeline"]["pods"]["node-restart"]["events"]
        .as_array_mut()
        .unwrap();
    pod_events.retain(|e| e["event"] != "phase" || e["observed_at"].as_str().unwrap() < restarted.as_str());
    assert_violated(&judge(&from(obs)), "the pod went back to Pending");
    // The app's new run a second before the sidecar's new run was started.
    let mut obs = raw(GATE_ON, "node-restart");
    for e in events(&mut obs, "node-restart", "app") {
        if e["event"] == "running" && e["started_at"] == "2026-12-05T13:10:36Z" {
            e["started_at"] = json!("2026-12-05T13:10:22Z");
        }
    }
    assert_violated(
        &judge(&from(obs)),
        "app started again at 2026-12-05T13:10:22Z, once sidecar was started",
    );
}

#[test]
fn node_restart_shows_kubernetes_127793_on_1_32_and_a_regression_after_it() {
    let b = behaviour::by_id("node-restart").unwrap();
    let on_132 = judge(&recorded("1.32.2-on", "node-restart"));
    assert_violated(&on_132, "none seen (it stayed in its phase)");
    let verdict = |v: &str, j: &behaviour::Judgement| {
        let mut r = b.unjudged(
            "c",
            v.parse().unwrap(),
            sidecar_conformance::gate::GateSetting::On,
        );
        let mut j = j.clone();
        CheckResult::verdict_of_judgement(r.expected, r.known_bug.take().is_some(), &mut j)
    };
    assert_eq!(verdict("1.32.2", &on_132), Verdict::Pass);
    assert_eq!(verdict("1.33.0", &on_132), Verdict::Fail);
    let on_137 = judge(&recorded(GATE_ON, "node-restart"));
    assert_eq!(verdict("1.32.2", &on_137), Verdict::Fail);
    assert_eq!(verdict("1.36.3", &on_137), Verdict::Pass);
    // A play that never restarted the node shows no bug, known or not: it fails.
    let mut obs = raw("1.32.2-on", "node-restart");
    obs["actions"] = json!([]);
    let unplayed = judge(&from(obs));
    assert_eq!(unplayed.outcome, Outcome::Violated);
    assert_eq!(verdict("1.32.2", &unplayed), Verdict::Fail);
}

#[test]
fn a_restart_after_the_runtime_failed_to_start_the_sidecar_names_it_so_the_play_is_retried() {
    // Recorded on 1.30.14 in the every-minor matrix (four clusters on two cores): the
    // runtime failed to start `logshipper` once (StartError, exit 128), the kubelet
    // started it again, and the Job completed. The failed check names the container, so
    // the runner takes it for the runtime's doing and plays the behaviour again instead
    // of reporting a sidecar regression.
    let text =
        std::fs::read_to_string(fixtures_dir().join("1.30.14-on/job-completes.start-error.json")).unwrap();
    let obs: Observation = serde_json::from_str(&text).unwrap();
    let j = judge(&obs);
    assert_violated(&j, "logshipper 1 time(s) restarted");
    assert!(sidecar_conformance::runner::concerns_failed_start(
        &obs,
        &j.evidence
    ));
}

#[test]
fn a_deployment_pod_whose_sidecar_the_runtime_failed_to_start_is_retried_not_failed() {
    // Recorded on 1.34.4 in the every-minor matrix: `failed to create shim task` for
    // one replica's logshipper (StartError), started again by the kubelet. Every failed
    // check names logshipper, so the runner plays the behaviour again.
    let text =
        std::fs::read_to_string(fixtures_dir().join("1.34.4-default/deployment-ready.start-error.json"))
            .unwrap();
    let obs: Observation = serde_json::from_str(&text).unwrap();
    let j = judge(&obs);
    assert_violated(&j, "RESTARTS 1 (of logshipper)");
    assert!(sidecar_conformance::runner::concerns_failed_start(
        &obs,
        &j.evidence
    ));
}
