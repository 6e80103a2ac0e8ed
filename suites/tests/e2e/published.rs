//! The published path, end to end, as its users meet it: a user without root, in the
//! `docker` group, whose Docker engine reaches a registry. This machine reaches none, so
//! the test makes one answer: a local registry, started with testcontainers and
//! listening on loopback only, holds the node image built here under `kindest/node`;
//! the Docker engine gets it as its registry mirror for Docker Hub (a reload, no
//! restart: the other tests' clusters keep running); and the digest table is overridden
//! with that image's digest through the documented setting
//! (`SIDECAR_CONFORMANCE_NODE_IMAGES`).
//!
//! Then, as that user: `supply --plan` says the version is published; `run` pulls it by
//! digest through the mirror and reaches every behaviour's expected verdict; and a
//! version that would need a source build is refused at once, naming the published
//! versions.
//!
//! As a chainsaw test: try { mirror; engine setting; plan; run; refusal } finally
//! { engine setting restored; mirror removed }.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use sidecar_conformance::report::{Report, ReportFiles};
use sidecar_conformance::supply::{self, published::NODE_IMAGES_ENV};
use sidecar_conformance::testing::{self, USER};
use sidecar_conformance::version::DEFAULT_VERSION;
use sidecar_conformance::{behaviour, registry};
use sidecar_conformance_suites::docker;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};

const DAEMON_JSON: &str = "/etc/docker/daemon.json";

pub async fn a_user_without_root_runs_the_published_path_through_a_registry_mirror() -> anyhow::Result<()> {
    ensure!(
        supply::is_root(),
        "this test sets the Docker engine's registry mirror and runs the harness as another user: run it as root (./conformance test does)"
    );
    let version = DEFAULT_VERSION;
    let built = format!("sidecar-conformance/node:{}", version.tag());
    ensure!(
        supply::step::image_key(&built).is_some(),
        "{built} is missing: the e2e setup (./conformance test) builds it"
    );
    testing::ensure_user().map_err(anyhow::Error::msg)?;
    let work = tempdir_for_user("published")?;

    // The mirror: loopback only, as a user's local mirror would be.
    let registry = format!("sidecar-conformance/registry:{}", supply::DISTRIBUTION_VERSION);
    let (repo, tag) = registry.split_once(':').context("registry image tag")?;
    let mirror = GenericImage::new(repo, tag)
        .with_exposed_port(5000.tcp())
        .with_wait_for(WaitFor::message_on_either_std("listening on"))
        .with_host_config_modifier(registry::publish_on_loopback)
        .with_startup_timeout(Duration::from_secs(60))
        .start()
        .await
        .context("starting the mirror registry")?;
    let port = mirror.get_host_port_ipv4(5000.tcp()).await?;
    let served = format!("kindest/node:{}", version.tag());
    let pushed = format!("127.0.0.1:{port}/{served}");
    docker(&["tag", &built, &pushed])?;
    let push = docker(&["push", &pushed]);
    let _ = docker(&["rmi", &pushed]);
    let digest = push?
        .split_whitespace()
        .find(|w| w.starts_with("sha256:"))
        .map(str::to_string)
        .context("no digest in docker push's output")?;
    let reference = format!("{served}@{digest}");
    // Nothing of it present under its published name: the run must pull it.
    let _ = docker(&["rmi", &format!("kindest/node@{digest}")]);

    let _engine = EngineMirror::set(&format!("http://127.0.0.1:{port}"))?;
    let exe = harness_for_user(&work)?;
    let env = [
        (NODE_IMAGES_ENV.to_string(), format!("{version}={reference}")),
        (
            "PATH".into(),
            format!("{}:{}", work.display(), std::env::var("PATH")?),
        ),
    ];

    let plan = as_user(
        &exe,
        &env,
        &work,
        &["supply", "--plan", "-k", &version.to_string()],
    )?;
    let line = String::from_utf8_lossy(&plan.stdout).to_string();
    ensure!(
        plan.status.success() && line.starts_with(&format!("{version}\tpublished\t{reference}\t")),
        "the plan should take the published image through the mirror: {line}{}",
        String::from_utf8_lossy(&plan.stderr)
    );

    let started = Instant::now();
    let run_dir = work.join("run");
    let run = as_user(
        &exe,
        &env,
        &work,
        &[
            "run",
            "--cluster",
            &version.to_string(),
            "--run-dir",
            &run_dir.display().to_string(),
        ],
    )?;
    let took = started.elapsed();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    ensure!(
        run.status.success(),
        "the run as {USER} failed after {took:?}:\n{log}"
    );
    ensure!(
        log.contains(&format!("pulling {reference}")),
        "it did not pull {reference}:\n{log}"
    );
    let report = Report::read_json(&run_dir.join("report.json"))?;
    let cluster = report.clusters.first().context("no cluster in the report")?;
    let origin = serde_json::to_string(&cluster.node_image_origin)?;
    ensure!(
        origin.contains("pulled") && origin.contains(&reference),
        "the report should name the pulled image, not {origin}"
    );
    let behaviours = behaviour::catalogue().len();
    ensure!(
        report.summary.pass == behaviours && report.summary.fail == 0 && report.summary.error == 0,
        "expected {behaviours} passed: {:?}\n{log}",
        report.summary
    );
    eprintln!("published path as {USER}: {behaviours}/{behaviours} in {took:.0?}");

    // A version that would need a build from source is refused at once.
    let unbuilt = ["1.33.1", "1.31.1", "1.30.1"]
        .into_iter()
        .find(|v| supply::step::image_key(&format!("sidecar-conformance/node:v{v}")).is_none())
        .context("every candidate version is built here")?;
    let started = Instant::now();
    let refused = as_user(&exe, &env, &work, &["supply", "-k", unbuilt])?;
    let said = String::from_utf8_lossy(&refused.stderr);
    ensure!(
        !refused.status.success()
            && said.contains("needs root")
            && said.contains("1.37.0, 1.36.4, 1.35.8, 1.34.11")
            && started.elapsed() < Duration::from_secs(60),
        "a source build without root must stop at once naming the published versions, got {:?} after {:?}: {said}",
        refused.status,
        started.elapsed()
    );
    Ok(())
}

/// The engine's registry mirror for Docker Hub, set by a configuration reload (SIGHUP:
/// `registry-mirrors` is reloadable) and restored on drop.
struct EngineMirror {
    before: Option<String>,
}

impl EngineMirror {
    fn set(url: &str) -> anyhow::Result<EngineMirror> {
        let before = std::fs::read_to_string(DAEMON_JSON).ok();
        let mut config: serde_json::Value =
            serde_json::from_str(before.as_deref().unwrap_or("{}")).context(DAEMON_JSON)?;
        config["registry-mirrors"] = serde_json::json!([url]);
        let guard = EngineMirror { before };
        std::fs::create_dir_all("/etc/docker")?;
        std::fs::write(DAEMON_JSON, serde_json::to_string_pretty(&config)?)?;
        reload_engine(|mirrors| mirrors.contains(url))?;
        Ok(guard)
    }
}

impl Drop for EngineMirror {
    fn drop(&mut self) {
        // A reload leaves alone what the file does not name: name the mirrors as they
        // were (none, unless the file had some), reload, then put the file back as it was.
        let mut config: serde_json::Value =
            serde_json::from_str(self.before.as_deref().unwrap_or("{}")).unwrap_or_default();
        if config.get("registry-mirrors").is_none() {
            config["registry-mirrors"] = serde_json::json!([]);
        }
        let expected = config["registry-mirrors"].to_string();
        let _ = std::fs::write(DAEMON_JSON, config.to_string());
        if let Err(e) = reload_engine(|mirrors| mirrors == expected) {
            eprintln!("warning: restoring the engine's registry mirrors: {e}");
        }
        let _ = match &self.before {
            Some(text) => std::fs::write(DAEMON_JSON, text),
            None => std::fs::remove_file(DAEMON_JSON),
        };
    }
}

/// Signals dockerd to reload its configuration and waits until `docker info` shows
/// mirrors that satisfy `done` (the engine has no event for a reload).
fn reload_engine(done: impl Fn(&str) -> bool) -> anyhow::Result<()> {
    let pid = String::from_utf8(
        Command::new("pgrep")
            .args(["-x", "dockerd"])
            .output()
            .context("pgrep")?
            .stdout,
    )?;
    let pid = pid.lines().next().context("no dockerd process to reload")?;
    let status = Command::new("kill").args(["-HUP", pid]).status()?;
    ensure!(status.success(), "kill -HUP {pid} failed");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mirrors = docker(&["info", "--format", "{{json .RegistryConfig.Mirrors}}"])?;
        let mirrors = mirrors.trim().replace("null", "[]");
        if done(&mirrors) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("dockerd did not apply {DAEMON_JSON} within 20 s (mirrors: {mirrors})");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A fresh directory under /tmp owned by [`USER`].
fn tempdir_for_user(name: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("sc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let status = Command::new("chown")
        .args([USER, &dir.display().to_string()])
        .status()?;
    ensure!(status.success(), "chown {USER} {}", dir.display());
    Ok(dir)
}

/// Copies the harness binary (beside this test's binary) and the kind binary into `dir`,
/// where the user can run them: the checkout may sit under a directory only root reads.
fn harness_for_user(dir: &Path) -> anyhow::Result<PathBuf> {
    let test_exe = std::env::current_exe()?;
    let bin = test_exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("sidecar-conformance"))
        .context("the test binary's directory")?;
    ensure!(
        bin.is_file(),
        "{} is missing: cargo build -p sidecar-conformance",
        bin.display()
    );
    let exe = dir.join("sidecar-conformance");
    std::fs::copy(&bin, &exe)?;
    let kind = supply::Supply::new(
        supply::default_cache_dir(),
        sidecar_conformance::progress::Progress::new(true),
    )?
    .ensure_kind()?;
    std::fs::copy(&kind, dir.join("kind"))?;
    Ok(exe)
}

fn as_user(exe: &Path, env: &[(String, String)], home: &Path, args: &[&str]) -> anyhow::Result<Output> {
    testing::as_user(exe, home)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(home)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("{} {} as {USER}", exe.display(), args.join(" ")))
}
