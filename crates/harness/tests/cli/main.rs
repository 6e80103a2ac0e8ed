//! The command line, driven as a user would (assert_cmd). None of these needs a cluster:
//! they check that bad input is refused early, clearly, and without side effects.

use std::io::Write;

// The GitHub workflow's scripts, as a user without root.
mod ci_scripts;

use assert_cmd::Command;

fn cli() -> Command {
    let mut c = Command::cargo_bin("sidecar-conformance").expect("binary");
    // Never touch the user's cache or leave runs in the repository.
    let tmp = std::env::temp_dir().join(format!("sc-cli-test-{}", std::process::id()));
    c.env("SIDECAR_CONFORMANCE_CACHE", tmp.join("cache"))
        .current_dir(std::env::temp_dir());
    c
}

fn stderr_of(c: &mut Command) -> (i32, String) {
    let out = c.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn malformed_versions_are_refused_before_anything_runs() {
    for bad in ["1.x.2", "1.32", "latest", "2.0.0"] {
        let (code, err) = stderr_of(cli().args(["run", "--cluster", bad]));
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("malformed Kubernetes version"), "{bad}: {err}");
    }
}

#[test]
fn versions_the_pinned_kind_cannot_run_are_refused() {
    let (code, err) = stderr_of(cli().args(["run", "--cluster", "1.38.0"]));
    assert_eq!(code, 2);
    assert!(err.contains("newer than kind v0.33.0 can run"), "{err}");
    let (code, err) = stderr_of(cli().args(["supply", "-k", "1.27.3"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("SidecarContainers feature did not exist yet"),
        "{err}"
    );
}

#[test]
fn unknown_gate_settings_and_behaviours_are_refused() {
    let (code, err) = stderr_of(cli().args(["run", "--cluster", "1.32.2:maybe"]));
    assert_eq!(code, 2);
    assert!(err.contains("expected default, on or off"), "{err}");
    let (code, err) = stderr_of(cli().args(["run", "--behaviour", "flying"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown behaviour \"flying\"") && err.contains("deployment-ready"),
        "{err}"
    );
}

#[test]
fn behaviours_are_listed_with_their_claims() {
    let out = cli()
        .arg("behaviours")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for id in [
        "deployment-ready",
        "job-completes",
        "start-ordering",
        "restart-independence",
        "job-example-as-written",
    ] {
        assert!(text.contains(id), "{id} missing from:\n{text}");
    }
    assert!(text.contains("> If you define a job that uses sidecar"));
}

#[test]
fn an_unreachable_cluster_is_named_with_its_kubeconfig() {
    // An API server address where nothing listens.
    let dir = std::env::temp_dir().join(format!("sc-cli-kubeconfig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    let mut f = std::fs::File::create(&kubeconfig).unwrap();
    write!(
        f,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'https://127.0.0.1:9'}}\n\
         contexts:\n- name: c\n  context: {{cluster: c, user: u}}\ncurrent-context: c\nusers:\n- name: u\n  user: {{token: t}}\n"
    )
    .unwrap();
    let (code, err) = stderr_of(
        cli()
            .args(["run", "--run-dir"])
            .arg(dir.join("run"))
            .arg("--kubeconfig")
            .arg(&kubeconfig),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unreachable") && err.contains(kubeconfig.to_str().unwrap()),
        "{err}"
    );
}

#[test]
fn a_missing_kubeconfig_is_named() {
    let (code, err) = stderr_of(cli().args(["run", "--kubeconfig", "/nonexistent/kubeconfig"]));
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/kubeconfig"), "{err}");
}

#[test]
fn a_version_that_does_not_exist_is_refused_before_any_build() {
    // Asks the Go module proxy for its list of k8s.io/kubernetes versions.
    let (code, err) = stderr_of(cli().args(["supply", "-k", "1.37.99"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("unknown Kubernetes version 1.37.99") && err.contains("v1.37."),
        "{err}"
    );
    assert!(!err.contains("building"), "nothing may be built for it: {err}");
}

#[test]
fn a_build_that_cannot_fit_on_disk_does_not_start() {
    let cache = std::env::temp_dir().join(format!("sc-cli-disk-{}", std::process::id()));
    let (code, err) = stderr_of(
        cli()
            .env("SIDECAR_CONFORMANCE_CACHE", &cache)
            .env("SIDECAR_CONFORMANCE_MIN_FREE_GIB", "1000000")
            // A version whose node image cannot be in any cache here: the proxy serves
            // no 1.28, so it was never built (the disk check comes before the listing).
            .args(["supply", "-k", "1.28.15"]),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("not enough disk space") && err.contains("1000000 GiB"),
        "{err}"
    );
    assert!(
        !cache.join("tools").exists() && !cache.join("logs").exists(),
        "nothing may be built"
    );
}

/// `report.json` of a real run (four clusters: 1.37.2 default and off, 1.32.2 on and off).
fn recorded_report() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../suites/fixtures/reports/four-clusters.json")
}

fn stdout_of(c: &mut Command) -> (i32, String) {
    let out = c.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_saved_report_renders_as_junit_and_markdown() {
    let report = recorded_report();
    let (code, xml) = stdout_of(
        cli()
            .arg("report")
            .arg("render")
            .arg(&report)
            .args(["--format", "junit"]),
    );
    assert_eq!(code, 0, "{xml}");
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(
        xml.contains(r#"tests="20" skipped="0" failures="0" errors="0""#),
        "{xml}"
    );
    assert_eq!(xml.matches("<testsuite ").count(), 4);
    assert_eq!(xml.matches("<testcase ").count(), 20);
    assert!(xml.contains("unrecognized feature gate: SidecarContainers"));
    assert!(!xml.contains("<failure"));

    let (code, md) = stdout_of(
        cli()
            .arg("report")
            .arg("render")
            .arg(&report)
            .args(["--format", "markdown"]),
    );
    assert_eq!(code, 0, "{md}");
    assert!(md.contains("**20 passed, 0 failed, 0 errors**"), "{md}");
    let results = &md[md.find("## Results").unwrap()..];
    assert_eq!(results.matches("| PASS |").count(), 20, "{md}");
    assert!(md.contains("kubelet: panic: failed to merge"), "{md}");
}

#[test]
fn a_failed_result_is_a_junit_failure_and_leads_the_markdown_evidence() {
    let mut report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(recorded_report()).unwrap()).unwrap();
    let r = &mut report["results"][5];
    r["observed"] = "violated".into();
    r["verdict"] = "fail".into();
    r["evidence"] = serde_json::json!(["NOT: pod myapp: READY 1/2 <sidecar not ready>"]);
    report["summary"]["pass"] = 19.into();
    report["summary"]["fail"] = 1.into();
    let dir = std::env::temp_dir().join(format!("sc-cli-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.json");
    std::fs::write(&path, serde_json::to_vec(&report).unwrap()).unwrap();

    let (_, xml) = stdout_of(
        cli()
            .arg("report")
            .arg("render")
            .arg(&path)
            .args(["--format", "junit"]),
    );
    assert!(
        xml.contains(r#"tests="20" skipped="0" failures="1" errors="0""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<failure message="expected holds, observed violated" type="violated">"#),
        "{xml}"
    );
    assert!(xml.contains("READY 1/2 &lt;sidecar not ready&gt;"), "{xml}");

    let (_, md) = stdout_of(
        cli()
            .arg("report")
            .arg("render")
            .arg(&path)
            .args(["--format", "markdown"]),
    );
    assert!(md.contains("**19 passed, 1 failed, 0 errors**"), "{md}");
    assert!(md.contains("### FAIL `deployment-ready`"), "{md}");
    assert!(
        md.contains("- NOT: pod myapp: READY 1/2 &lt;sidecar not ready&gt;"),
        "{md}"
    );

    let (_, html) = stdout_of(
        cli()
            .arg("report")
            .arg("render")
            .arg(&path)
            .args(["--format", "html"]),
    );
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"),
        "{html}"
    );
    assert_eq!(html.matches("<details").count(), 20);
    assert_eq!(html.matches("</details>").count(), 20);
    assert_eq!(html.matches(" open>").count(), 1, "only the failure is open");
    assert!(
        html.contains("<li class=\"not\">NOT: pod myapp: READY 1/2 &lt;sidecar not ready&gt;</li>"),
        "{html}"
    );

    std::fs::write(&path, b"{}").unwrap();
    let (code, err) = stderr_of(cli().arg("report").arg("render").arg(&path));
    assert_ne!(code, 0);
    assert!(err.contains("is not a report.json"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_diff_exits_1_on_a_regression_only() {
    let before = recorded_report();
    let (code, out) = stdout_of(cli().arg("report").arg("diff").arg(&before).arg(&before));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("20 unchanged") && out.contains("OK: no regression"),
        "{out}"
    );

    let mut after: serde_json::Value = serde_json::from_slice(&std::fs::read(&before).unwrap()).unwrap();
    after["run_id"] = "after".into();
    after["results"][0]["verdict"] = "error".into();
    after["results"][0]["observed"] = serde_json::Value::Null;
    after["results"][0]["error"] = "creating namespace: connection refused".into();
    let dir = std::env::temp_dir().join(format!("sc-cli-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.json");
    std::fs::write(&path, serde_json::to_vec(&after).unwrap()).unwrap();
    let (code, out) = stdout_of(cli().arg("report").arg("diff").arg(&before).arg(&path));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("report diff: 20261127-105042-01d5 -> after"),
        "{out}"
    );
    assert!(
        out.contains("regressed") && out.contains("error: creating namespace: connection refused"),
        "{out}"
    );

    // A whole matrix is not an upgrade: said, not guessed.
    let (code, err) = stderr_of(
        cli()
            .arg("report")
            .arg("diff")
            .arg(&before)
            .arg(&path)
            .arg("--upgrade"),
    );
    assert_ne!(code, 0);
    assert!(err.contains("needs exactly one"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_readme_shows_the_page_lint_the_harness_produces() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let recorded = root.join("suites/fixtures/observations/1.37.2-default/page-lint.json");
    let (code, table) = stdout_of(cli().arg("lint-page").arg("--observation").arg(&recorded));
    assert_eq!(code, 1, "the page has defects: {table}");
    assert!(table.contains("| lines 167-194 | invalid-manifest |"), "{table}");
    assert!(table.contains("| line 85 | no-such-object |"), "{table}");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start =
        readme.find("<!-- page-lint:start -->\n").expect("start marker") + "<!-- page-lint:start -->\n".len();
    let end = readme.find("<!-- page-lint:end -->").expect("end marker");
    assert_eq!(
        &readme[start..end],
        table,
        "README is stale: run `just readme-lint`"
    );
}

#[test]
fn lint_page_refuses_an_observation_of_another_behaviour() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let other = root.join("suites/fixtures/observations/1.37.2-default/job-completes.json");
    let (code, err) = stderr_of(cli().arg("lint-page").arg("--observation").arg(&other));
    assert_ne!(code, 0);
    assert!(err.contains("not of page-lint"), "{err}");
}

#[test]
fn check_refuses_inputs_that_hold_no_manifests_before_any_cluster() {
    let dir = std::env::temp_dir().join(format!("sc-cli-check-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::write(dir.join("notes.txt"), "hello").unwrap();
    std::fs::write(dir.join("comments.yaml"), "# nothing here\n---\n# nor here\n").unwrap();
    let (code, err) = stderr_of(cli().args(["check", "/nonexistent/workloads.yaml"]));
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/workloads.yaml"), "{err}");
    let (code, err) = stderr_of(cli().arg("check").arg(dir.join("notes.txt")));
    assert_eq!(code, 2);
    assert!(err.contains("notes.txt: not a YAML file"), "{err}");
    for empty in ["empty", "comments.yaml"] {
        let (code, err) = stderr_of(cli().arg("check").arg(dir.join(empty)));
        assert_eq!(code, 2, "{empty}");
        assert!(err.contains("no Kubernetes object found"), "{empty}: {err}");
    }
    let (code, err) = stderr_of(cli().args(["check"]));
    assert_eq!(code, 2);
    assert!(err.contains("<PATHS>"), "{err}");
    let (code, err) = stderr_of(
        cli()
            .arg("check")
            .arg(dir.join("comments.yaml"))
            .args(["--disrupt", "everything"]),
    );
    assert_eq!(code, 2);
    assert!(err.contains("sidecars"), "{err}");
}

#[test]
fn check_states_its_deadline_default_in_its_help() {
    let (code, out) = stdout_of(cli().args(["check", "--help"]));
    assert_eq!(code, 0);
    assert!(out.contains("[default: 180]"), "{out}");
    assert!(out.contains("--terminate") && out.contains("--disrupt"), "{out}");
}
