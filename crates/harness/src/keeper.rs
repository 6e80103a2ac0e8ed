//! Clusters that outlive the command that created them, for test runners: the nextest
//! setup script runs `clusters up`, which starts a keeper process (`clusters serve`)
//! that prepares images and registry, brings the clusters up, writes
//! `clusters.json`, and then waits for the test runner to exit. When it does (normally,
//! on failure, on Ctrl-C, even when killed) the keeper deletes the clusters and the
//! registry and writes `report.json` from the results the tests left in the run
//! directory.
//!
//! The test runner's exit is watched through a pidfd: the kernel wakes the keeper, no
//! polling.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::unix::AsyncFd;

use crate::behaviour::Behaviour;
use crate::cluster::{Cluster, CreateFailure};
use crate::error::{ClusterError, KeeperError, RunError};
use crate::matrix::{self, ClusterRequest, RunOptions};
use crate::progress::Progress;
use crate::report::{CheckResult, ClusterReport, Report, ReportFiles};
use crate::supply::StandIn;

/// File name of the clusters list in the run directory.
pub const CLUSTERS_FILE: &str = "clusters.json";
/// Environment variable through which tests find the clusters list.
pub const CLUSTERS_ENV: &str = "SIDECAR_CONFORMANCE_CLUSTERS";
/// Directory of the run where tests leave their results.
pub const RESULTS_DIR: &str = "results";
/// The line the keeper prints when the clusters are up.
const READY: &str = "sidecar-conformance-keeper-ready";

/// One cluster of a kept set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterEntry {
    pub request: ClusterRequest,
    pub report: ClusterReport,
    /// Present when the cluster is up.
    pub kubeconfig: Option<PathBuf>,
}

/// What the keeper publishes to the tests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClustersFile {
    pub run_id: String,
    pub run_dir: PathBuf,
    pub stand_ins: Vec<StandIn>,
    /// Workload images the nodes pull from their registry.
    #[serde(default)]
    pub upstream_images: Vec<String>,
    pub clusters: Vec<ClusterEntry>,
}

impl ClustersFile {
    /// Reads the file named by [`CLUSTERS_ENV`].
    pub fn from_env() -> Result<ClustersFile, KeeperError> {
        let path = PathBuf::from(
            std::env::var_os(CLUSTERS_ENV).ok_or(KeeperError::NoClustersList { env: CLUSTERS_ENV })?,
        );
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) => return Err(KeeperError::ReadClustersList { path, error }),
        };
        serde_json::from_str(&text).map_err(|error| KeeperError::BadClustersList { path, error })
    }

    /// The entry of a kind cluster of `version` and `gate`.
    pub fn find(&self, version: &str, gate: crate::gate::GateSetting) -> Option<&ClusterEntry> {
        self.clusters.iter().find(|c| match &c.request {
            ClusterRequest::Kind { version: v, gate: g } => v.to_string() == version && *g == gate,
            ClusterRequest::Kubeconfig { .. } => false,
        })
    }
}

impl ClusterEntry {
    /// A [`Cluster`] handle for the tests (not owned: the keeper deletes it).
    pub fn cluster(&self) -> Result<Cluster, ClusterError> {
        let path = self.kubeconfig.as_ref().ok_or_else(|| ClusterError::NotCreated {
            name: self.report.name.clone(),
            reason: self.report.creation_error.clone().unwrap_or_default(),
        })?;
        let version = self
            .report
            .kubernetes_version
            .parse()
            .map_err(ClusterError::Version)?;
        Ok(Cluster::known(
            &self.report.name,
            path,
            version,
            self.report.sidecar_gate,
        ))
    }

    /// The failure of a cluster that could not be created, as the runner needs it.
    pub fn failure(&self) -> Option<CreateFailure> {
        self.kubeconfig.is_none().then(|| CreateFailure {
            error: ClusterError::Recorded(self.report.creation_error.clone().unwrap_or_default()),
            gate_lines: self.report.gate_log.clone(),
            elapsed: Duration::from_millis(self.report.create_ms),
        })
    }
}

/// Saves a test's result where the keeper collects it into the report.
pub fn save_result(run_dir: &Path, result: &CheckResult) -> std::io::Result<()> {
    let dir = run_dir.join(RESULTS_DIR);
    std::fs::create_dir_all(&dir)?;
    // A check's result names its workload (`accepted@Deployment/web`): one file name.
    let behaviour = result.behaviour.replace(['/', ':'], "_");
    let path = dir.join(format!("{}--{behaviour}.json", result.cluster));
    std::fs::write(path, serde_json::to_vec_pretty(result)?)
}

/// `clusters up`: starts the keeper in the background, relays its progress, and returns
/// once the clusters are up (or the keeper failed). Writes `NAME=VALUE` for
/// [`CLUSTERS_ENV`] to `env_file` when given (nextest's `$NEXTEST_ENV`).
pub fn up(
    serve_args: &[String],
    run_dir: &Path,
    env_file: Option<&Path>,
    watch_pid: u32,
) -> Result<PathBuf, RunError> {
    std::fs::create_dir_all(run_dir)?;
    let log_path = run_dir.join("keeper.log");
    let exe = std::env::current_exe()?;
    // Its own process group: a Ctrl-C meant for the test runner must not kill the
    // keeper before it has cleaned up; it learns of the runner's end through a pidfd.
    let mut child = Command::new(exe)
        .args([
            "clusters",
            "serve",
            "--watch-pid",
            &watch_pid.to_string(),
            "--log",
        ])
        .arg(&log_path)
        .args(serve_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()?;
    // Relay the keeper's progress while we wait; it also writes it to its log.
    let stderr = child.stderr.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
        }
    });
    let stdout = child.stdout.take().expect("piped");
    let mut ready = None;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(path) = line.strip_prefix(READY).map(|p| p.trim().to_string()) {
            ready = Some(PathBuf::from(path));
            break;
        }
    }
    let Some(clusters_file) = ready else {
        let status = child.wait()?;
        return Err(KeeperError::ExitedEarly {
            status,
            tail: crate::process::tail(&log_path, 30),
            log: log_path,
        }
        .into());
    };
    if let Some(env_file) = env_file {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(env_file)?;
        writeln!(f, "{CLUSTERS_ENV}={}", clusters_file.display())?;
    }
    Ok(clusters_file)
}

/// `clusters serve`: the keeper itself.
pub async fn serve(opts: RunOptions, watch_pid: u32, progress: &Progress) -> Result<(), RunError> {
    // Progress goes to stdout, where `up` relays it, until the clusters are up.
    let started_at = jiff::Timestamp::now();
    std::fs::create_dir_all(&opts.run_dir)?;
    // Announce this keeper so that `clusters wait` can wait for its clean-up.
    let _announced = Announcement::new(&opts.cache, &opts.run_dir)?;
    let exit = wait_for_exit(pidfd_open(watch_pid)?);
    tokio::pin!(exit);
    let setup = async {
        let prepared = matrix::prepare(&opts, progress).await?;
        // Two at a time: creation is CPU-bound (2 cores here), but a cluster that is
        // expected to fail spends most of its minute waiting for a crashing kubelet.
        let ups = futures::stream::iter(opts.clusters.iter())
            .map(|request| {
                let (prepared, opts) = (&prepared, &opts);
                async move { (request, matrix::bring_up(request, prepared, opts, progress).await) }
            })
            .buffered(2)
            .collect::<Vec<_>>()
            .await;
        let mut kept: Vec<Cluster> = Vec::new();
        let mut entries = Vec::new();
        for (request, up) in ups {
            let up = up?;
            let kubeconfig = up.cluster.as_ref().ok().map(|c| c.kubeconfig.clone());
            entries.push(ClusterEntry {
                request: request.clone(),
                report: up.report,
                kubeconfig,
            });
            if let Ok(c) = up.cluster {
                kept.push(c);
            }
        }
        Ok::<_, RunError>((prepared, kept, entries))
    };
    let (prepared, kept, entries) = tokio::select! {
        r = setup => r?,
        _ = &mut exit => {
            progress.say(format!("process {watch_pid} ended before the clusters were up"));
            crate::cleanup::delete_all();
            return Ok(());
        }
    };
    let file = ClustersFile {
        run_id: opts.run_id.clone(),
        run_dir: opts.run_dir.clone(),
        stand_ins: prepared.stand_ins(),
        upstream_images: prepared.upstream_images.clone(),
        clusters: entries,
    };
    let path = opts.run_dir.join(CLUSTERS_FILE);
    std::fs::write(&path, serde_json::to_vec_pretty(&file)?)?;
    println!("{READY} {}", path.display());
    std::io::stdout().flush()?;

    exit.await;
    progress.say(format!(
        "process {watch_pid} ended: deleting {} cluster(s) and the registry",
        kept.len()
    ));
    for c in kept {
        let name = c.name.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || c.delete()).await? {
            progress.warn(format!("deleting {name}: {e}"));
        }
    }
    drop(prepared);
    // Anything a dropped future left registered.
    crate::cleanup::delete_all();
    let report = collect_report(&opts, &file, started_at)?;
    for path in report.write_all(&opts.run_dir)? {
        progress.say(format!("report: {}", path.display()));
    }
    Ok(())
}

/// The report of a keeper run from the results the tests saved.
fn collect_report(
    opts: &RunOptions,
    file: &ClustersFile,
    started_at: jiff::Timestamp,
) -> Result<Report, RunError> {
    let mut results: Vec<CheckResult> = Vec::new();
    if let Ok(dir) = std::fs::read_dir(opts.run_dir.join(RESULTS_DIR)) {
        for entry in dir.flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path())
                && let Ok(r) = serde_json::from_str(&text)
            {
                results.push(r);
            }
        }
    }
    results.sort_by(|a: &CheckResult, b| (&a.cluster, &a.behaviour).cmp(&(&b.cluster, &b.behaviour)));
    let mut report = Report::new(
        &opts.run_id,
        &opts.run_dir,
        started_at,
        file.stand_ins.clone(),
        file.clusters.iter().map(|c| c.report.clone()).collect(),
        results,
    );
    report.upstream_images = file.upstream_images.clone();
    Ok(report)
}

/// `<cache>/keepers/<pid>`, naming the run directory, while a keeper lives.
struct Announcement(PathBuf);

impl Announcement {
    fn new(cache: &Path, run_dir: &Path) -> std::io::Result<Announcement> {
        let dir = cache.join("keepers");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(std::process::id().to_string());
        std::fs::write(&path, run_dir.display().to_string())?;
        Ok(Announcement(path))
    }
}

impl Drop for Announcement {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Waits (at most `deadline`) until every live keeper has deleted its clusters and
/// exited: test runners return before their keepers are done, and a CI job that ends
/// then might be torn down with clusters still half-deleted.
pub async fn wait_for_keepers(cache: &Path, deadline: Duration, progress: &Progress) -> Result<(), RunError> {
    let Ok(entries) = std::fs::read_dir(cache.join("keepers")) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fd) = pidfd_open(pid) else {
            // Gone without cleaning its announcement (killed): nothing to wait for.
            let _ = std::fs::remove_file(entry.path());
            continue;
        };
        progress.say(format!("waiting for cluster keeper {pid} to delete its clusters"));
        let readable = async {
            // SAFETY: the AsyncFd owns the pidfd; it stays open and unchanged until dropped.
            if let Ok(fd) = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) } {
                let _ = fd.readable().await;
            }
        };
        tokio::time::timeout(deadline, readable)
            .await
            .map_err(|_| KeeperError::StillRunning { pid, after: deadline })?;
    }
    Ok(())
}

/// Every behaviour, for keeper runs (tests pick theirs).
pub fn all_behaviours() -> Vec<&'static Behaviour> {
    crate::behaviour::catalogue().iter().collect()
}

/// The process to watch for a setup script: the nearest ancestor that is nextest
/// (`cargo-nextest`), else the parent.
pub fn test_runner_pid() -> u32 {
    let parent = std::os::unix::process::parent_id();
    let mut pid = parent;
    for _ in 0..16 {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim().starts_with("cargo-nextest") || comm.trim() == "nextest" {
            return pid;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Field 4 of /proc/PID/stat, after the parenthesised command name.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok());
        match ppid {
            Some(p) if p > 1 => pid = p,
            _ => break,
        }
    }
    parent
}

fn pidfd_open(pid: u32) -> Result<OwnedFd, KeeperError> {
    let raw = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw);
    let pid_t = raw.ok_or(KeeperError::NotAPid { pid })?;
    rustix::process::pidfd_open(pid_t, rustix::process::PidfdFlags::empty()).map_err(|e| KeeperError::Pidfd {
        pid,
        error: std::io::Error::from(e),
    })
}

/// Returns when the process behind `pidfd` has exited, or on SIGINT/SIGTERM.
async fn wait_for_exit(pidfd: OwnedFd) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    else {
        return;
    };
    let readable = async {
        // SAFETY: the AsyncFd owns the pidfd; it stays open and unchanged until dropped.
        match unsafe { AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE) } {
            // A pidfd becomes readable when its process exits.
            Ok(fd) => {
                let _ = fd.readable().await;
            }
            Err(_) => futures::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = readable => {}
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}
