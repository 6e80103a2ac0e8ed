//! Typed errors of the library, for the places where callers branch on what went wrong.
//! The binary and the tests add context to them; no library module returns a string or
//! a type-erased error.
//!
//! The messages are what users read (`error: ...`, the reports' reasons). The binary
//! prints an error with its chain of sources, so a variant either says its cause in its
//! message and keeps it out of `source()` (a field named `error`), or is `transparent`.

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

/// Why no registry answered for an image (asked through the Docker engine).
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("starting an async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the Docker engine: {0}")]
    Engine(testcontainers::bollard::errors::Error),
    #[error("no answer within {} s", .0.as_secs())]
    NoAnswer(Duration),
    /// The engine asked the registry, which failed or refused.
    #[error("{0}")]
    Registry(testcontainers::bollard::errors::Error),
    #[error("the registry probe panicked")]
    Panicked,
}

/// Why the nodes cannot pull the workload images from their registry themselves.
#[derive(Debug, thiserror::Error)]
pub enum NoUpstream {
    #[error("the Docker engine reaches registries through mirrors {mirrors}")]
    Mirrors { mirrors: String },
    #[error("no registry answers for {image}: {error}")]
    NoAnswer { image: String, error: ResolveError },
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
    /// A matrix cell whose version's images could not be supplied (nor those of an
    /// older served patch of its minor): the cell is a row of errors, the run goes on.
    #[error("no node image for Kubernetes {version}: {detail}")]
    NotSupplied { version: String, detail: String },
    #[error("cluster behind {kubeconfig} is unreachable: {detail}")]
    Unreachable { kubeconfig: PathBuf, detail: String },
    #[error(transparent)]
    Cleanup(#[from] crate::cleanup::CleanupError),
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    /// `kind` could not be started, or waited for.
    #[error("{doing} {program}: {error}")]
    Tool {
        doing: &'static str,
        program: PathBuf,
        error: std::io::Error,
    },
    #[error("kind-config.yaml is not valid YAML: {0}")]
    ConfigYaml(Box<serde_saphyr::DeserializeError>),
    /// The kind config template does not have the shape the harness fills in.
    #[error("{0}")]
    ConfigShape(&'static str),
    #[error("rendering kind config: {0}")]
    RenderConfig(serde_saphyr::SerializeError),
    #[error("{kubeconfig}: cannot read a 1.MINOR.PATCH version from the server's {server_version:?}")]
    ServerVersion {
        kubeconfig: PathBuf,
        server_version: String,
    },
    #[error("{0}")]
    Version(sidecar_conformance_model::version::VersionError),
    #[error("refusing to delete {name}: not a cluster of the harness")]
    NotOurs { name: String },
    #[error("kind delete cluster --name {name} failed: {stderr}")]
    DeleteFailed { name: String, stderr: String },
    /// A new cluster whose nodes or CoreDNS were not ready in time.
    #[error("{name}: {error}")]
    Unhealthy { name: String, error: WaitTimeout },
    /// A cluster the keeper could not create, for the tests that find it in its list.
    #[error("cluster {name} was not created: {reason}")]
    NotCreated { name: String, reason: String },
    /// A creation error as the keeper recorded it in its list of clusters.
    #[error("{0}")]
    Recorded(String),
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
    /// Said in the message, not as a source: the binary would print it twice.
    #[error("{0}")]
    Json(serde_json::Error),
    /// Making a sidecar exit through the node's container runtime failed.
    #[error(
        "stopping {container} on node {node} through its runtime (a kind node of this machine is needed): {detail}"
    )]
    Disrupt {
        container: String,
        node: String,
        detail: String,
    },
    /// `docker restart` of a kind node failed (or there is no such node here).
    #[error(
        "restarting node {node} (docker restart of its container, a kind node of this machine is needed): {detail}"
    )]
    RestartNode { node: String, detail: String },
}

impl From<serde_json::Error> for PlayError {
    fn from(e: serde_json::Error) -> Self {
        PlayError::Json(e)
    }
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
    #[error("starting the local registry from {image}: {error}")]
    Start {
        image: String,
        error: Box<testcontainers::TestcontainersError>,
    },
    #[error("starting the local registry from {image}: its port: {error}")]
    Port {
        image: String,
        error: Box<testcontainers::TestcontainersError>,
    },
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
    #[error(transparent)]
    Keeper(#[from] KeeperError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Said in the message, not as a source: the binary would print it twice.
    #[error("a task of the run ended abnormally: {0}")]
    Task(tokio::task::JoinError),
}

impl From<tokio::task::JoinError> for RunError {
    fn from(e: tokio::task::JoinError) -> Self {
        RunError::Task(e)
    }
}

/// Errors of the keeper of clusters for a test runner (`clusters up`, `clusters serve`,
/// `clusters wait`) and of the tests reading the list of clusters it publishes.
#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    /// A test was run without the nextest setup script that names the clusters.
    #[error(
        "{env} is not set: e2e tests get their clusters from the nextest setup script; run them with `./conformance test` or `cargo nextest run --profile e2e` (see README)"
    )]
    NoClustersList { env: &'static str },
    #[error("{path}: {error}")]
    ReadClustersList { path: PathBuf, error: std::io::Error },
    #[error("{path} is not a clusters list of the keeper: {error}")]
    BadClustersList { path: PathBuf, error: serde_json::Error },
    /// The keeper ended before it announced the clusters; its log says why.
    #[error("the cluster keeper exited ({status}) before the clusters were up; its log {log}:\n{tail}")]
    ExitedEarly {
        status: std::process::ExitStatus,
        log: PathBuf,
        tail: String,
    },
    #[error("cluster keeper {pid} still running after {} s", after.as_secs())]
    StillRunning { pid: u32, after: Duration },
    #[error("pidfd_open({pid}): not a process id")]
    NotAPid { pid: u32 },
    #[error("pidfd_open({pid}): {error}")]
    Pidfd { pid: u32, error: std::io::Error },
}

/// Why a resource the harness created could not be deleted (the cause inside
/// [`crate::cleanup::CleanupError`]).
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    /// `kind delete cluster` failed and node containers of the cluster are left.
    #[error("{0}")]
    Kind(Box<ClusterError>),
    /// A docker command could not be started.
    #[error("{command}: {error}")]
    Spawn { command: String, error: std::io::Error },
    /// A docker command failed.
    #[error("{command}: {stderr}")]
    Docker { command: String, stderr: String },
}

/// Why the API server's readiness probe (`GET /readyz`) failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{0}")]
    Request(http::Error),
    #[error("GET /readyz: {0}")]
    Failed(kube::Error),
    #[error("no answer to GET /readyz within {} s", .0.as_secs())]
    NoAnswer(Duration),
}

/// A request of the diagnostics that failed or did not answer in time.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("{0}")]
    Kube(kube::Error),
    #[error("no answer within {} s", .0.as_secs())]
    NoAnswer(Duration),
}

/// Why the tests' user without root ([`crate::testing::USER`]) cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TestUserError {
    /// A command could not be started.
    #[error("{command}: {error}")]
    Spawn { command: String, error: std::io::Error },
    #[error("useradd {user}: {stderr}")]
    Useradd { user: &'static str, stderr: String },
    #[error("{user} is not in the docker group: {groups}")]
    NotInDockerGroup { user: &'static str, groups: String },
    #[error("chown -R {user} {path}")]
    Chown { user: &'static str, path: PathBuf },
}
