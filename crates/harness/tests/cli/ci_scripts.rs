//! The GitHub workflow's scripts (ci/github/), run here as a user without root, as the
//! runner user runs them on GitHub: the workflow itself is only wiring around them.
//! As root (this project's CI) they run as `sc-user`, created if missing; as anyone
//! else, as that user. Only what needs no cluster: the matrix, the supply step's
//! published route, the artifact collection, the summary, and the pull-request diff
//! against a base report given as a file.

use std::path::{Path, PathBuf};
use std::process::Output;

use sidecar_conformance::testing;

/// A copy of the scripts, clusters.txt and the harness binary in a fresh directory the
/// user owns, laid out as in the repository.
struct Checkout {
    root: PathBuf,
}

impl Checkout {
    fn new(name: &str) -> Checkout {
        if sidecar_conformance::supply::is_root() {
            testing::ensure_user().expect("a user without root");
        }
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let root = std::env::temp_dir().join(format!("sc-ci-scripts-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("ci/github")).unwrap();
        std::fs::create_dir_all(root.join("target/debug")).unwrap();
        for entry in std::fs::read_dir(repo.join("ci/github")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, root.join("ci/github").join(path.file_name().unwrap())).unwrap();
        }
        std::fs::copy(repo.join("clusters.txt"), root.join("clusters.txt")).unwrap();
        std::fs::copy(
            env!("CARGO_BIN_EXE_sidecar-conformance"),
            root.join("target/debug/sidecar-conformance"),
        )
        .unwrap();
        if sidecar_conformance::supply::is_root() {
            testing::give_to_user(&root).unwrap();
        }
        Checkout { root }
    }

    /// Runs `ci/github/<script>` as the user, from the checkout.
    fn run(&self, script: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = testing::as_user(Path::new("bash"), &self.root);
        c.arg(self.root.join("ci/github").join(script))
            .args(args)
            .current_dir(&self.root)
            // The user's cache: never root's.
            .env("SIDECAR_CONFORMANCE_CACHE", self.root.join("cache"))
            .env_remove("CARGO_TARGET_DIR");
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().expect("runs");
        // Proof that the user was not root.
        let who = testing::as_user(Path::new("id"), &self.root)
            .arg("-u")
            .output()
            .unwrap();
        assert_ne!(
            String::from_utf8_lossy(&who.stdout).trim(),
            "0",
            "the scripts must run without root"
        );
        out
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_matrix_is_clusters_txt_on_published_images_where_kind_publishes_the_minor() {
    let c = Checkout::new("matrix");
    let out = c.run("matrix.sh", &[], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = stdout
        .trim()
        .strip_prefix("include=")
        .expect("a GITHUB_OUTPUT line");
    let cells: Vec<serde_json::Value> = serde_json::from_str(json).unwrap();
    let listed = sidecar_conformance::matrix::parse_clusters_list(
        &std::fs::read_to_string(c.root.join("clusters.txt")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        cells.len(),
        listed.len(),
        "one cell per line of clusters.txt: {json}"
    );
    for ((v, g), cell) in listed.iter().zip(&cells) {
        assert_eq!(cell["cell"], format!("{v}:{g}"));
        assert_eq!(cell["slug"], format!("{v}-{g}"));
        let expected = if v.minor >= 34 { "published" } else { "build" };
        assert_eq!(cell["route"], expected, "{cell}");
        let kubernetes = cell["kubernetes"].as_str().unwrap();
        assert!(kubernetes.starts_with(&format!("1.{}.", v.minor)), "{cell}");
        assert_eq!(cell["cluster"], format!("{kubernetes}:{g}"));
    }
}

#[test]
fn the_supply_step_does_nothing_for_a_published_cell_and_refuses_an_unknown_route() {
    let c = Checkout::new("supply");
    let images = c.root.join("images").display().to_string();
    let out = c.run("supply.sh", &["published", "1.37.0", &images], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("pulled by run"), "{}", text(&out));
    let out = c.run("supply.sh", &["sideways", "1.37.0", &images], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn artifacts_never_hold_kubeconfigs_or_keys() {
    let c = Checkout::new("collect");
    let run = c.root.join("run");
    std::fs::create_dir_all(run.join("clusters/sc-1-37-2-default-ab12")).unwrap();
    std::fs::create_dir_all(run.join("observations/sc-1-37-2-default-ab12")).unwrap();
    std::fs::create_dir_all(run.join("logs")).unwrap();
    std::fs::write(
        run.join("clusters/sc-1-37-2-default-ab12/kubeconfig"),
        "users:\n- user:\n    client-key-data: c2VjcmV0\n",
    )
    .unwrap();
    std::fs::write(run.join("report.json"), "{}").unwrap();
    std::fs::write(run.join("report.md"), "# report\n").unwrap();
    std::fs::write(
        run.join("observations/sc-1-37-2-default-ab12/job-completes.json"),
        "{}",
    )
    .unwrap();
    std::fs::write(run.join("logs/kind.log"), "Creating cluster\n").unwrap();
    testing::give_to_user(&c.root).ok();

    let out_dir = c.root.join("artifacts");
    let out = c.run(
        "collect.sh",
        &[&run.display().to_string(), &out_dir.display().to_string()],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(out_dir.join("report.json").is_file() && out_dir.join("logs/kind.log").is_file());
    assert!(
        out_dir
            .join("observations/sc-1-37-2-default-ab12/job-completes.json")
            .is_file()
    );
    assert!(
        !out_dir.join("clusters").exists(),
        "the clusters' kubeconfigs were copied"
    );

    // A symlink into clusters/ is followed, and stops the step.
    std::fs::remove_dir_all(&out_dir).unwrap();
    let link = run.join("observations/sc-1-37-2-default-ab12/link.json");
    std::os::unix::fs::symlink(run.join("clusters/sc-1-37-2-default-ab12/kubeconfig"), &link).unwrap();
    let out = c.run(
        "collect.sh",
        &[&run.display().to_string(), &out_dir.display().to_string()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("link.json"), "{}", text(&out));
    std::fs::remove_file(&link).unwrap();

    // A credential that slipped into a file that is copied stops the step.
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::write(
        run.join("logs/kind.log"),
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n",
    )
    .unwrap();
    let out = c.run(
        "collect.sh",
        &[&run.display().to_string(), &out_dir.display().to_string()],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("logs/kind.log"), "{}", text(&out));
    assert!(!out_dir.exists(), "nothing is left to upload");
}

#[test]
fn the_summary_is_the_report_or_says_there_is_none() {
    let c = Checkout::new("summary");
    std::fs::create_dir_all(c.root.join("a")).unwrap();
    std::fs::write(c.root.join("a/report.md"), "| behaviour | verdict |\n").unwrap();
    testing::give_to_user(&c.root).ok();
    let out = c.run(
        "summary.sh",
        &[&c.root.join("a").display().to_string(), "1.37.2:default"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("## 1.37.2:default\n| behaviour | verdict |"),
        "{stdout}"
    );
    let out = c.run(
        "summary.sh",
        &[&c.root.join("none").display().to_string(), "1.32.2:off"],
        &[],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("left no report"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_pull_request_fails_on_a_regression_against_the_base_report() {
    let c = Checkout::new("diff");
    let recorded =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../suites/fixtures/reports/four-clusters.json");
    let base = c.root.join("base.json");
    std::fs::copy(&recorded, &base).unwrap();
    let mut head: serde_json::Value = serde_json::from_slice(&std::fs::read(&recorded).unwrap()).unwrap();
    head["run_id"] = "head".into();
    let same = c.root.join("same.json");
    std::fs::write(&same, serde_json::to_vec(&head).unwrap()).unwrap();
    head["results"][0]["verdict"] = "fail".into();
    let worse = c.root.join("worse.json");
    std::fs::write(&worse, serde_json::to_vec(&head).unwrap()).unwrap();
    testing::give_to_user(&c.root).ok();

    let base_env = base.display().to_string();
    let out = c.run(
        "diff-base.sh",
        &["1.37.2:default", &same.display().to_string()],
        &[("BASE_REPORT", &base_env)],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = c.run(
        "diff-base.sh",
        &["1.37.2:default", &worse.display().to_string()],
        &[("BASE_REPORT", &base_env)],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a regression must fail the job: {}",
        text(&out)
    );
    assert!(text(&out).contains("regressed"), "{}", text(&out));
    // No report from the run: an error, not a pass.
    let out = c.run(
        "diff-base.sh",
        &["1.37.2:default", "/nonexistent/report.json"],
        &[("BASE_REPORT", &base_env)],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
