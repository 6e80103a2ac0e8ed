//! Typed errors of the library, for the places where callers branch on what went wrong.
//! The binary and the tests wrap them in `anyhow` with context.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Errors of the image supply (engine, tools, images).
#[derive(Debug, thiserror::Error)]
pub enum SupplyError {
    #[error("{what}\n  {hint}")]
    Missing { what: String, hint: String },
    #[error(
        "not enough disk space: {free_gib:.1} GiB free on {path}, building needs at least {need_gib} GiB (set SIDECAR_CONFORMANCE_MIN_FREE_GIB to change the threshold)"
    )]
    NoDiskSpace {
        path: PathBuf,
        free_gib: f64,
        need_gib: u64,
    },
    #[error(
        "unknown Kubernetes version {version}: the Go module proxy lists no k8s.io/kubernetes {version}; versions of 1.{minor} it lists: {listed}"
    )]
    UnknownVersion {
        version: String,
        minor: u32,
        listed: String,
    },
    #[error("{step} failed; full log: {log}\n--- last lines ---\n{tail}")]
    StepFailed {
        step: String,
        log: PathBuf,
        tail: String,
    },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{name}: {detail}")]
    BadSetting { name: &'static str, detail: String },
    /// A build from source was needed and the user is not root: said before anything
    /// is built, with the versions that need no build.
    #[error(
        "the node image for Kubernetes {version} must be built from source ({reason}), which needs root (debootstrap, apt-get); run as root, or choose a version kind publishes, pulled by digest where a registry answers: {published}"
    )]
    NeedsRoot {
        version: String,
        reason: String,
        published: String,
    },
    #[error("pulling {reference} failed although the registry answered for it: {detail}")]
    PullFailed { reference: String, detail: String },
}

impl SupplyError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        SupplyError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Errors of cluster creation and access.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// `kind create cluster` failed. When the gate setting is one the version refuses,
    /// this is the expected outcome, so the runner looks at it rather than bailing out.
    #[error("creating kind cluster {name} failed after {:.0} s; kind's output: {log}\n--- last lines ---\n{tail}", elapsed.as_secs_f64())]
    CreateFailed {
        name: String,
        log: PathBuf,
        tail: String,
        elapsed: Duration,
    },
    #[error("cluster behind {kubeconfig} is unreachable: {detail}")]
    Unreachable { kubeconfig: PathBuf, detail: String },
    #[error(transparent)]
    Cleanup(#[from] crate::cleanup::CleanupError),
    #[error("{0}")]
    Other(String),
}

/// Errors of applying manifests.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{file}: document {index} is not valid YAML for a Kubernetes object: {detail}")]
    Parse {
        file: String,
        index: usize,
        detail: String,
    },
    /// The API server refused the object: for the page's verbatim blocks, a documentation
    /// defect the report records.
    #[error("{file}: the API server rejected {object}: {message}")]
    Rejected {
        file: String,
        object: String,
        message: String,
    },
    #[error("{file}: {detail}")]
    Other { file: String, detail: String },
}

/// A wait that ran out of time, with what was last seen of the awaited objects.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {:.0} s waiting for {what}{}", after.as_secs_f64(), last_seen.as_deref().map(|s| format!("; last seen: {s}")).unwrap_or_default())]
pub struct WaitTimeout {
    pub what: String,
    pub after: Duration,
    pub last_seen: Option<String>,
}

/// Why a play could not be completed. Never a verdict: the result is `error`, with this
/// as its reason.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    /// The cluster or the image supply failed under the play.
    #[error("stopped: {0}")]
    Stopped(crate::fault::Fault),
    /// A request to the API server failed (`what` says which).
    #[error("{what}: {error}")]
    Kube { what: String, error: kube::Error },
    /// A watch behind a wait failed.
    #[error("{what}: {error}")]
    Watch {
        what: String,
        error: kube::runtime::wait::Error,
    },
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Wait(#[from] WaitTimeout),
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// Making a sidecar exit through the node's container runtime failed.
    #[error(
        "stopping {container} on node {node} through its runtime (a kind node of this machine is needed): {detail}"
    )]
    Disrupt {
        container: String,
        node: String,
        detail: String,
    },
}

impl PlayError {
    /// For `map_err`: a failed API request, named.
    pub fn kube(what: impl Into<String>) -> impl FnOnce(kube::Error) -> PlayError {
        let what = what.into();
        move |error| PlayError::Kube { what, error }
    }
}

/// Errors of the run's local registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("starting the local registry from {image}: {detail}")]
    Start { image: String, detail: String },
    #[error("docker {command} failed: {stderr}")]
    Docker { command: String, stderr: String },
    #[error("docker {command}: {error}")]
    Spawn { command: String, error: std::io::Error },
    #[error("removing the loading registry: {0}")]
    Cleanup(#[from] crate::cleanup::CleanupError),
}

/// Errors of reading reports and journals.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("reading {path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{path} is not a report.json: {error}")]
    NotAReport { path: PathBuf, error: serde_json::Error },
    #[error("{path} has report format {found}, this tool reads up to {supported}")]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error(
        "{run_dir} has no readable {file}: it is not a run directory, or the run ended before any result ({error})"
    )]
    NoJournal {
        run_dir: PathBuf,
        file: &'static str,
        error: std::io::Error,
    },
}

/// Errors of a run over clusters (`run`, `clusters up`, the keeper).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Supply(#[from] SupplyError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Play(#[from] PlayError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A line of a clusters list (`clusters.txt`).
    #[error("line {line}: {text}: {detail}")]
    ClustersList {
        line: usize,
        text: String,
        detail: String,
    },
    /// What was asked cannot be run (said before anything is created).
    #[error("{0}")]
    Refused(String),
    /// The keeper of clusters for a test runner.
    #[error("{0}")]
    Keeper(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("a task of the run ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
}
