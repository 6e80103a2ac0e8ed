//! A run over several clusters: images and registry first, then each cluster is brought
//! up, checked and deleted, several at a time. Used by `run` and, split in its halves,
//! by `clusters up` (the nextest setup script) and the e2e tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::behaviour::Behaviour;
use crate::cluster::kind::{ClusterSpec, HostFacts, RegistryMirror};
use crate::cluster::{Cluster, CreateFailure, KindProvider, Origin};
use crate::error::RunError;
use crate::gate::{GateSetting, effect};
use crate::progress::{Progress, human};
use crate::registry::LocalRegistry;
use crate::report::journal::{Entry, Journal};
use crate::report::{CheckResult, ClusterReport, Report};
use crate::runner::{self, Target};
use crate::supply::{NodeImage, StandIn, Supply, Workload};
use crate::version::KubeVersion;

/// Reads a list of clusters, one `VERSION[:GATE]` a line (as `--cluster` takes them);
/// `#` starts a comment, blank lines are skipped. The format of the repository's
/// `clusters.txt`, the clusters of the e2e tests.
pub fn parse_clusters_list(text: &str) -> Result<Vec<(KubeVersion, GateSetting)>, RunError> {
    let mut clusters = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let (v, g) = line.split_once(':').unwrap_or((line, "default"));
        let bad = |detail: String| RunError::ClustersList {
            line: n + 1,
            text: line.to_string(),
            detail,
        };
        let version = KubeVersion::parse_supported(v.trim()).map_err(|e| bad(e.to_string()))?;
        let gate: GateSetting = g.trim().parse().map_err(|e: String| bad(e))?;
        if clusters.contains(&(version, gate)) {
            return Err(bad("listed twice".into()));
        }
        clusters.push((version, gate));
    }
    Ok(clusters)
}

/// One cluster a run asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum ClusterRequest {
    /// A kind cluster built here.
    Kind { version: KubeVersion, gate: GateSetting },
    /// An existing cluster; `gate` is what the user says it runs with.
    /// An existing cluster; `gate` is what the user says of it, `None` to let a dry-run
    /// probe of its API server decide.
    Kubeconfig {
        path: PathBuf,
        gate: Option<GateSetting>,
    },
}

impl ClusterRequest {
    /// `VERSION:GATE` for kind, `kubeconfig PATH` otherwise (the journal's plan).
    pub fn label(&self) -> String {
        match self {
            ClusterRequest::Kind { version, gate } => format!("{version}:{gate}"),
            ClusterRequest::Kubeconfig { path, .. } => format!("kubeconfig {}", path.display()),
        }
    }
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub run_id: String,
    pub run_dir: PathBuf,
    pub cache: PathBuf,
    pub clusters: Vec<ClusterRequest>,
    pub behaviours: Vec<&'static Behaviour>,
    /// Keep created clusters after the run.
    pub keep: bool,
    /// Reuse kept clusters of the same spec.
    pub reuse: bool,
    /// The kind config template (`kind-config.yaml`).
    pub template: String,
    /// Clusters brought up and checked at the same time.
    pub parallel: usize,
    /// A `check` of the user's workloads instead of the catalogue (then `behaviours`
    /// holds the check's play alone).
    pub check: Option<Arc<crate::check::Workloads>>,
    /// Set for a matrix over every minor (`--every-minor`): the versions the Go module
    /// proxy serves. A version whose images cannot be supplied is replaced by the next
    /// older served patch of its minor, and a minor with none left becomes a row of
    /// errors naming why, instead of ending the run.
    pub served: Option<Vec<KubeVersion>>,
}

/// The cells of a matrix over every minor the harness accepts: the newest patch the Go
/// module proxy serves of each (`.0` where it serves none: that cell then says so), at
/// each gate setting the gate table gives its stage
/// ([`crate::gate::GateStage::matrix_settings`]).
pub fn every_minor_cells(served: &[KubeVersion]) -> Vec<(KubeVersion, GateSetting)> {
    use crate::version::{NEWEST_MINOR, OLDEST_MINOR};
    (OLDEST_MINOR..=NEWEST_MINOR)
        .flat_map(|minor| {
            let v = served
                .iter()
                .filter(|v| v.minor == minor)
                .max()
                .copied()
                .unwrap_or(KubeVersion { minor, patch: 0 });
            crate::gate::GateStage::of(v)
                .matrix_settings()
                .iter()
                .map(move |g| (v, *g))
        })
        .collect()
}

/// How many clusters a matrix brings up at once by default: two per core (a cluster
/// needs a core while it comes up and a fraction of one after), and no more than the
/// available memory holds at [`CLUSTER_MEMORY_GIB`] each; with the reason, for the
/// progress output.
pub fn machine_bound() -> (usize, String) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let available_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(4.0, |kib| kib / (1024.0 * 1024.0));
    let by_memory = (available_gib / CLUSTER_MEMORY_GIB).floor().max(1.0) as usize;
    let bound = (cores * 2).min(by_memory).max(1);
    (
        bound,
        format!(
            "{bound} at once: {cores} cores x 2, memory {available_gib:.1} GiB available / {CLUSTER_MEMORY_GIB} GiB a cluster = {by_memory}; --parallel changes it"
        ),
    )
}

/// Memory a cluster and its plays take at most, with margin (measured: 530-650 MiB a
/// cluster, up to 1 GiB with twenty behaviours' pods).
pub const CLUSTER_MEMORY_GIB: f64 = 1.5;

/// What the kind side of a run needs, prepared once.
pub struct Prepared {
    pub provider: Option<KindProvider>,
    pub node_images: Vec<NodeImage>,
    pub registry: Option<LocalRegistry>,
    /// Workload images the nodes pull from their registry (no stand-in, no registry).
    pub upstream_images: Vec<String>,
    pub host: HostFacts,
    /// In a matrix over every minor: versions replaced by an older served patch of
    /// their minor (asked, taken, why), and versions with no image at all (and why).
    pub substitutes: Vec<(KubeVersion, KubeVersion, String)>,
    pub unsupplied: Vec<(KubeVersion, String)>,
}

impl Prepared {
    /// Stand-ins served by the registry.
    pub fn stand_ins(&self) -> Vec<StandIn> {
        self.registry
            .as_ref()
            .map(|r| r.stand_ins.clone())
            .unwrap_or_default()
    }
}

/// Default run id: UTC time and a random suffix, e.g. `20261127-101500-a1b2`.
pub fn new_run_id() -> String {
    let now = jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S");
    format!("{now}-{}", runner::short_random())
}

/// Engine, kind, node images, workload images and registry, for the kind requests.
/// Removes leftovers of earlier runs first.
pub async fn prepare(opts: &RunOptions, progress: &Progress) -> Result<Prepared, RunError> {
    let kind_versions: Vec<KubeVersion> = {
        let mut v: Vec<KubeVersion> = opts
            .clusters
            .iter()
            .filter_map(|c| match c {
                ClusterRequest::Kind { version, .. } => Some(*version),
                ClusterRequest::Kubeconfig { .. } => None,
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    if kind_versions.is_empty() {
        return Ok(Prepared {
            provider: None,
            node_images: vec![],
            registry: None,
            upstream_images: vec![],
            host: HostFacts::detect(),
            substitutes: vec![],
            unsupplied: vec![],
        });
    }
    let supply = Supply::new(opts.cache.clone(), progress.clone())?;
    let (kind, node_images, workload, substitutes, unsupplied) = {
        let supply = supply.clone();
        let versions = kind_versions.clone();
        let progress = progress.clone();
        let served = opts.served.clone();
        tokio::task::spawn_blocking(move || -> Result<_, RunError> {
            let started = Instant::now();
            if served.is_none() {
                supply.check_versions(&versions)?;
            }
            supply.ensure_engine()?;
            let kind = supply.ensure_kind()?;
            let mut images = Vec::new();
            let (mut substitutes, mut unsupplied) = (Vec::new(), Vec::new());
            for v in versions {
                let Some(served) = &served else {
                    images.push(supply.ensure_node_image(v)?);
                    continue;
                };
                match supply_or_older(&supply, v, served, &progress) {
                    Ok((image, refusals)) => {
                        if image.version != v {
                            substitutes.push((v, image.version, refusals.join("; ")));
                        }
                        images.push(image);
                    }
                    Err(refusals) => unsupplied.push((v, refusals.join("; "))),
                }
            }
            let workload = supply.workload()?;
            progress.say(format!("images ready in {}", human(started.elapsed())));
            Ok((kind, images, workload, substitutes, unsupplied))
        })
        .await??
    };
    remove_leftovers(&kind, &opts.cache, progress).await;
    let host = HostFacts::detect();
    if host.lacks_sys_resource {
        progress.say("host lacks CAP_SYS_RESOURCE: nodes get containerd's restrict_oom_score_adj");
    }
    if host.cgroup_v1 {
        progress.say("host runs cgroup v1: kubelets from 1.35 on get failCgroupV1: false");
    }
    let (registry, upstream_images) = match workload {
        Workload::Upstream(images) => (None, images),
        Workload::StandIns(workload) => {
            progress.say("starting the local registry (testcontainers)");
            let registry = LocalRegistry::start(&workload, &opts.run_id).await?;
            for s in &registry.stand_ins {
                progress.say(format!(
                    "registry {} serves {} as {} ({})",
                    registry.endpoint, s.local_image, s.upstream, s.content
                ));
            }
            (Some(registry), vec![])
        }
    };
    let provider = KindProvider {
        kind,
        cache: opts.cache.clone(),
        run_dir: opts.run_dir.clone(),
        template: opts.template.clone(),
    };
    Ok(Prepared {
        provider: Some(provider),
        node_images,
        registry,
        upstream_images,
        host,
        substitutes,
        unsupplied,
    })
}

/// The node image of `version`, or of the newest older served patch of its minor that
/// can be supplied; `Err` with each refusal (first line and log) when none can.
fn supply_or_older(
    supply: &Supply,
    version: KubeVersion,
    served: &[KubeVersion],
    progress: &Progress,
) -> Result<(NodeImage, Vec<String>), Vec<String>> {
    let older = served
        .iter()
        .rev()
        .filter(|s| s.minor == version.minor && **s < version)
        .copied();
    let mut refusals = Vec::new();
    for candidate in std::iter::once(version).chain(older) {
        match supply.ensure_node_image(candidate) {
            Ok(image) => {
                if candidate != version {
                    progress.say(format!(
                        "{version}: taking {candidate}, the nearest served patch that builds"
                    ));
                }
                return Ok((image, refusals));
            }
            Err(e) => {
                let text = e.to_string();
                // The step's first line, and the proxy's refusal where the log has one
                // (the reason a served version cannot be built).
                let mut first = text.lines().next().unwrap_or_default().to_string();
                if let Some(refusal) = text.lines().find(|l| l.contains("proxy refused")) {
                    let refusal = refusal.rsplit("] ").next().unwrap_or(refusal).trim();
                    first = format!("{first}: {refusal}");
                }
                progress.warn(format!("{candidate}: {first}"));
                refusals.push(format!("{candidate}: {first}"));
            }
        }
    }
    Err(refusals)
}

/// Deletes clusters and registry containers of earlier runs that ended without cleaning
/// up. Never touches clusters without the harness's prefix, kept clusters, or those of
/// a run still going.
pub async fn remove_leftovers(kind: &Path, cache: &Path, progress: &Progress) {
    let kind = kind.to_path_buf();
    let cache = cache.to_path_buf();
    let progress = progress.clone();
    let _ = tokio::task::spawn_blocking(move || {
        for name in crate::cluster::kind::leftovers(&cache) {
            progress.say(format!("removing leftover cluster {name} of an earlier run"));
            // Its kubeconfig sits in `<run dir>/clusters/<name>/`: a run that was killed
            // left its journal there, and its report can still be written.
            if let Some(run_dir) = crate::cluster::kind::read_record(&cache, &name)
                .and_then(|r| r.kubeconfig.ancestors().nth(3).map(Path::to_path_buf))
                .filter(|d| d.join(crate::report::journal::JOURNAL_FILE).is_file())
                && !run_dir.join("report.json").is_file()
            {
                progress.say(format!(
                    "the run that left it ended without a report; its results so far: sidecar-conformance report rebuild {}",
                    run_dir.display()
                ));
            }
            if let Err(e) = crate::cluster::kind::delete(&kind, &name)
                && !crate::cluster::kind::force_remove_nodes(&name)
            {
                progress.warn(e.to_string());
            }
            let _ = std::fs::remove_file(crate::cluster::kind::record_path(&cache, &name));
        }
        for name in crate::registry::leftover_registries() {
            progress.say(format!("removing leftover registry container {name}"));
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f", "-v", &name])
                .output();
        }
        for name in crate::registry::leftover_volumes() {
            progress.say(format!("removing leftover registry volume {name}"));
            let _ = std::process::Command::new("docker")
                .args(["volume", "rm", "-f", &name])
                .output();
        }
    })
    .await;
}

/// A cluster brought up (or not), with its report entry.
pub struct BroughtUp {
    pub report: ClusterReport,
    pub cluster: Result<Cluster, Box<CreateFailure>>,
}

/// Creates (or connects to) the cluster of `request`.
pub async fn bring_up(
    request: &ClusterRequest,
    prepared: &Prepared,
    opts: &RunOptions,
    progress: &Progress,
) -> Result<BroughtUp, RunError> {
    match request {
        ClusterRequest::Kubeconfig { path, gate } => {
            // The expectation comes from the server's version and what the user states,
            // never from what the cluster does: the probe below is evidence, judged
            // against it (see `runner::probe_result`).
            let gate = gate.unwrap_or(GateSetting::Default);
            let cluster = Cluster::from_kubeconfig(path, gate).await?;
            if let crate::gate::GateEffect::ClusterRefused { why } = effect(cluster.version, gate) {
                return Err(RunError::Refused(format!(
                    "--gate {gate} cannot describe a running Kubernetes {} cluster ({}): {why}",
                    cluster.version,
                    path.display()
                )));
            }
            let gate_probe = probe_gate(&cluster, progress).await;
            let report = ClusterReport {
                name: cluster.name.clone(),
                kubernetes_version: cluster.version.to_string(),
                sidecar_gate: cluster.gate,
                gate_effect: effect(cluster.version, cluster.gate),
                origin: "kubeconfig".into(),
                node_image: None,
                node_image_origin: None,
                created: true,
                create_ms: 0,
                creation_error: None,
                gate_log: vec![],
                health: None,
                kept: true,
                gate_probe,
                wall_ms: None,
            };
            Ok(BroughtUp {
                report,
                cluster: Ok(cluster),
            })
        }
        ClusterRequest::Kind { version, gate } => {
            if let Some((_, why)) = prepared.unsupplied.iter().find(|(v, _)| v == version) {
                return Ok(not_supplied(*version, *gate, why, progress));
            }
            let version = &prepared
                .substitutes
                .iter()
                .find(|(asked, _, _)| asked == version)
                .map_or(*version, |(_, taken, _)| *taken);
            let provider = prepared
                .provider
                .as_ref()
                .ok_or_else(|| RunError::Refused("no kind provider prepared".into()))?;
            let image = prepared
                .node_images
                .iter()
                .find(|i| i.version == *version)
                .ok_or_else(|| RunError::Refused(format!("no node image prepared for {version}")))?;
            let name = crate::cluster::kind::cluster_name(*version, *gate, &runner::short_random());
            let mirror = prepared.registry.as_ref().map(|r| RegistryMirror {
                endpoint: r.endpoint.clone(),
                certs_dir: opts.run_dir.join("clusters").join(&name).join("certs.d"),
            });
            let spec = ClusterSpec {
                name: name.clone(),
                version: *version,
                gate: *gate,
                node_image: image.image.clone(),
                mirror,
                host: prepared.host,
            };
            progress.say(format!(
                "{name}: creating kind cluster (Kubernetes {version}, gate {gate})"
            ));
            let started = Instant::now();
            let provider = provider.clone();
            let (keep, reuse) = (opts.keep, opts.reuse);
            let mut created =
                tokio::task::spawn_blocking(move || provider.create(&spec, keep, reuse)).await?;
            let elapsed = started.elapsed();
            let mut health = None;
            if let Ok(cluster) = &created {
                match healthy(cluster).await {
                    Ok(h) => {
                        progress.say(format!("{}: created in {}", cluster.name, human(elapsed)));
                        progress.say(format!(
                            "{}: node(s) {} Ready {:.1} s after creation",
                            cluster.name,
                            h.nodes.join(", "),
                            h.ready_ms as f64 / 1000.0
                        ));
                        health = Some(h);
                    }
                    Err(error) => {
                        progress.warn(format!("{}: created, but not healthy: {error}", cluster.name));
                        let cluster = created.expect("checked Ok");
                        tokio::task::spawn_blocking(move || cluster.delete()).await??;
                        created = Err(Box::new(CreateFailure {
                            error,
                            gate_lines: vec![],
                            elapsed,
                        }));
                    }
                }
            }
            let mut report = ClusterReport {
                name: name.clone(),
                kubernetes_version: version.to_string(),
                sidecar_gate: *gate,
                gate_effect: effect(*version, *gate),
                origin: "kind-created".into(),
                node_image: Some(image.image.clone()),
                node_image_origin: serde_json::to_value(&image.origin).ok(),
                created: created.is_ok(),
                create_ms: elapsed.as_millis() as u64,
                creation_error: None,
                gate_log: vec![],
                health,
                kept: opts.keep,
                gate_probe: None,
                wall_ms: None,
            };
            match &created {
                Ok(c) => {
                    report.name = c.name.clone();
                    if c.origin == Origin::KindReused {
                        report.origin = "kind-reused".into();
                        progress.say(format!("{}: reusing kept cluster", c.name));
                    }
                }
                Err(f) => {
                    report.creation_error = Some(f.error.to_string());
                    report.gate_log = f.gate_lines.clone();
                    progress.say(format!(
                        "{name}: creation failed after {}: {}",
                        human(elapsed),
                        f.error
                    ));
                    for l in &f.gate_lines {
                        progress.say(format!("  kubelet: {l}"));
                    }
                }
            }
            Ok(BroughtUp {
                report,
                cluster: created,
            })
        }
    }
}

/// The cell of a version with no node image: not created, each behaviour an error
/// naming why.
fn not_supplied(version: KubeVersion, gate: GateSetting, why: &str, progress: &Progress) -> BroughtUp {
    let name = format!("sc-{}-{gate}-unsupplied", version.slug());
    progress.warn(format!("{name}: no node image: {why}"));
    let error = crate::error::ClusterError::NotSupplied {
        version: version.to_string(),
        detail: why.to_string(),
    };
    BroughtUp {
        report: ClusterReport {
            name,
            kubernetes_version: version.to_string(),
            sidecar_gate: gate,
            gate_effect: effect(version, gate),
            origin: "kind-created".into(),
            node_image: None,
            node_image_origin: None,
            created: false,
            create_ms: 0,
            creation_error: Some(error.to_string()),
            gate_log: vec![],
            health: None,
            kept: false,
            gate_probe: None,
            wall_ms: None,
        },
        cluster: Err(Box::new(CreateFailure {
            error,
            gate_lines: vec![],
            elapsed: std::time::Duration::ZERO,
        })),
    }
}

/// Probes a `--kubeconfig` cluster's API server for sidecar support. The probe changes
/// no expectation: when it contradicts what the version and the stated gate say, that
/// is a failing result of its own (`gate-probe`), and the behaviours are still judged
/// against the expectation (an admission webhook that strips `restartPolicy` must not
/// turn a broken 1.32 cluster into a green gate-off one).
async fn probe_gate(cluster: &Cluster, progress: &Progress) -> Option<crate::gate::GateProbe> {
    let client = match cluster.client().await {
        Ok(c) => c,
        Err(e) => {
            progress.warn(format!("{}: cannot probe the gate: {e}", cluster.name));
            return None;
        }
    };
    match crate::gate::probe(&client, "default").await {
        Ok(p) => {
            let expected = effect(cluster.version, cluster.gate) == crate::gate::GateEffect::Enabled;
            let say = format!(
                "{}: sidecars {} ({}); Kubernetes {} with gate {} {} them",
                cluster.name,
                if p.sidecars_enabled { "enabled" } else { "disabled" },
                p.detail,
                cluster.version,
                cluster.gate,
                if expected { "enables" } else { "disables" }
            );
            if expected == p.sidecars_enabled {
                progress.say(say);
            } else {
                progress.warn(format!(
                    "{say}: the cluster contradicts its version (see gate-probe)"
                ));
            }
            Some(p)
        }
        Err(e) => {
            progress.warn(format!("{}: could not probe the gate: {e}", cluster.name));
            None
        }
    }
}

/// How long a new cluster may take to have every node Ready and CoreDNS running. Mostly
/// seconds; minutes on a loaded two-CPU machine bringing several clusters up at once.
pub const HEALTH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);

/// Every node Ready and CoreDNS running within [`HEALTH_DEADLINE`].
async fn healthy(cluster: &Cluster) -> Result<crate::cluster::Health, crate::error::ClusterError> {
    let client = cluster.client().await?;
    crate::cluster::check_health(&client, HEALTH_DEADLINE)
        .await
        .map_err(|error| crate::error::ClusterError::Unhealthy {
            name: cluster.name.clone(),
            error,
        })
}

/// Runs `behaviours` on a cluster (concurrently: each has its own namespace); each
/// result goes into the run's journal as soon as it is reached.
pub async fn check_cluster(
    cluster: &Cluster,
    behaviours: &[&'static Behaviour],
    run_dir: &Path,
    journal: &Journal,
    progress: &Progress,
) -> Result<Vec<CheckResult>, RunError> {
    let client = cluster.client().await?;
    let target =
        Arc::new(Target::connect(&cluster.name, cluster.version, cluster.gate, client, run_dir).await?);
    // A play that restarts the node needs the cluster to itself: the others first, all
    // at once, then those one at a time.
    let (alone, together): (Vec<&&'static Behaviour>, Vec<_>) =
        behaviours.iter().partition(|b| b.disrupts_node());
    let checks = together.into_iter().map(|b| {
        let target = target.clone();
        let progress = progress.clone();
        async move {
            let result = runner::check(&target, b, &progress).await;
            record(journal, &result, &progress);
            result
        }
    });
    let mut results = futures::future::join_all(checks).await;
    for b in alone {
        let result = runner::check(&target, b, progress).await;
        record(journal, &result, progress);
        results.push(result);
    }
    // In catalogue order, as asked.
    results.sort_by_key(|r| behaviours.iter().position(|b| b.id == r.behaviour));
    Ok(results)
}

/// Plays a check of the user's workloads on a cluster; each result goes into the run's
/// journal.
async fn check_workloads(
    cluster: &Cluster,
    workloads: &crate::check::Workloads,
    opts: &RunOptions,
    journal: &Journal,
    progress: &Progress,
) -> Result<(Vec<CheckResult>, Vec<String>), RunError> {
    let client = cluster.client().await?;
    let target = Target::connect(
        &cluster.name,
        cluster.version,
        cluster.gate,
        client,
        &opts.run_dir,
    )
    .await?;
    let behaviour = opts
        .behaviours
        .first()
        .copied()
        .unwrap_or_else(|| workloads.behaviour());
    let checked = crate::check::check(&target, workloads, behaviour, progress).await;
    for r in &checked.results {
        record(journal, r, progress);
    }
    Ok((checked.results, checked.notes))
}

/// Appends a result to the journal; a journal that cannot be written is said, not fatal.
/// After Ctrl-C nothing more is appended: the plays the clean-up cuts short are no
/// results of the run.
fn record(journal: &Journal, result: &CheckResult, progress: &Progress) {
    if crate::cleanup::interrupted() {
        return;
    }
    let entry = Entry::Result {
        result: Box::new(result.clone()),
    };
    if let Err(e) = journal.append(&entry) {
        progress.warn(format!("could not append to {}: {e}", journal.path().display()));
    }
}

/// A whole run: prepare, then each cluster (up to `parallel` at once) is brought up,
/// checked and deleted.
pub async fn run(opts: RunOptions, progress: &Progress) -> Result<Report, RunError> {
    let started_at = jiff::Timestamp::now();
    std::fs::create_dir_all(&opts.run_dir)?;
    let journal = Journal::open(&opts.run_dir)?;
    journal.append(&Entry::Started {
        run_id: opts.run_id.clone(),
        started_at,
        behaviours: opts.behaviours.iter().map(|b| b.id.to_string()).collect(),
        clusters: opts.clusters.iter().map(ClusterRequest::label).collect(),
    })?;
    let prepared = prepare(&opts, progress).await?;
    journal.append(&Entry::StandIns {
        stand_ins: prepared.stand_ins(),
        upstream: prepared.upstream_images.clone(),
    })?;
    let results = futures::stream::iter(opts.clusters.iter())
        .map(|request| {
            let (prepared, opts, journal) = (&prepared, &opts, &journal);
            async move {
                let started = Instant::now();
                let mut up = bring_up(request, prepared, opts, progress).await?;
                journal.append(&Entry::Cluster {
                    cluster: Box::new(up.report.clone()),
                })?;
                let mut notes = Vec::new();
                let results = match up.cluster {
                    Ok(cluster) => {
                        let mut results = match &opts.check {
                            Some(w) => check_workloads(&cluster, w, opts, journal, progress).await.map(
                                |(results, n)| {
                                    notes = n;
                                    results
                                },
                            ),
                            None => {
                                check_cluster(&cluster, &opts.behaviours, &opts.run_dir, journal, progress)
                                    .await
                            }
                        };
                        if let (Ok(results), Some(probe)) = (&mut results, &up.report.gate_probe) {
                            let probed = runner::probe_result(&cluster, probe);
                            record(journal, &probed, progress);
                            results.insert(0, probed);
                        }
                        if cluster.origin == Origin::Kubeconfig {
                            wait_namespaces_gone(&cluster, progress).await;
                        }
                        let name = cluster.name.clone();
                        if cluster.origin == Origin::KindCreated && !opts.keep {
                            progress.say(format!("{name}: deleting"));
                        }
                        tokio::task::spawn_blocking(move || cluster.delete()).await??;
                        results?
                    }
                    Err(failure) => {
                        let results = runner::refused_results(
                            &opts.behaviours,
                            &up.report.name,
                            version_of(request, &up.report),
                            gate_of(request),
                            &failure,
                        );
                        for r in &results {
                            record(journal, r, progress);
                        }
                        results
                    }
                };
                up.report.wall_ms = Some(started.elapsed().as_millis() as u64);
                Ok::<_, RunError>((up.report, results, notes))
            }
        })
        .buffered(opts.parallel.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut clusters = Vec::new();
    let mut all_results = Vec::new();
    let mut notes = Vec::new();
    for r in results {
        let (cluster, results, n) = r?;
        clusters.push(cluster);
        all_results.extend(results);
        notes.extend(n);
    }
    let mut report = Report::new(
        &opts.run_id,
        &opts.run_dir,
        started_at,
        prepared.stand_ins(),
        clusters,
        all_results,
    );
    report.upstream_images = prepared.upstream_images.clone();
    for (asked, taken, why) in &prepared.substitutes {
        notes.push(format!(
            "{asked} could not be supplied ({why}): its cells ran on {taken}, the nearest served patch of 1.{} that builds",
            asked.minor
        ));
    }
    report.notes = notes;
    if let Some(w) = &opts.check {
        report.page = w.inputs.join(" ");
    }
    Ok(report)
}

/// How long a `--kubeconfig` run waits at its end for its namespaces to be deleted
/// (the page's pods ignore SIGTERM and take their 30 s grace period).
pub const NAMESPACES_GONE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(180);

/// Waits, watching, until no namespace this harness labelled is left on a cluster it
/// does not own, and says so when some are still there at the deadline.
async fn wait_namespaces_gone(cluster: &Cluster, progress: &Progress) {
    use k8s_openapi::api::core::v1::Namespace;
    let Ok(client) = cluster.client().await else {
        return;
    };
    let label = format!("{}={}", runner::MANAGED_BY.0, runner::MANAGED_BY.1);
    let api: kube::Api<Namespace> = kube::Api::all(client);
    let config = kube::runtime::watcher::Config::default().labels(&label);
    progress.say(format!(
        "{}: waiting for the run's namespaces to be deleted",
        cluster.name
    ));
    let names = |ns: &[Namespace]| {
        ns.iter()
            .filter_map(|n| n.metadata.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match crate::observe::wait_for_set(
        api,
        config,
        "the run's namespaces deleted",
        NAMESPACES_GONE_DEADLINE,
        |ns: &[Namespace]| ns.is_empty(),
        names,
    )
    .await
    {
        Ok(d) => progress.say(format!("{}: namespaces deleted after {}", cluster.name, human(d))),
        Err(e) => progress.warn(format!(
            "{}: {e}: they are still terminating; `kubectl get ns -l {label}` shows them",
            cluster.name
        )),
    }
}

fn version_of(request: &ClusterRequest, report: &ClusterReport) -> KubeVersion {
    match request {
        // The report's: a matrix cell may have run on an older patch of the minor.
        ClusterRequest::Kind { version, .. } => report.kubernetes_version.parse().unwrap_or(*version),
        ClusterRequest::Kubeconfig { .. } => report
            .kubernetes_version
            .parse()
            .unwrap_or(crate::version::DEFAULT_VERSION),
    }
}

fn gate_of(request: &ClusterRequest) -> GateSetting {
    match request {
        ClusterRequest::Kind { gate, .. } => *gate,
        ClusterRequest::Kubeconfig { gate, .. } => gate.unwrap_or(GateSetting::Default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clusters_list_skips_comments_and_defaults_the_gate() {
        let text = "# why\n1.37.2:default  # newest\n\n1.32.2:off\n1.33.0\n";
        let list = parse_clusters_list(text).unwrap();
        let v = |s: &str| s.parse::<KubeVersion>().unwrap();
        assert_eq!(
            list,
            vec![
                (v("1.37.2"), GateSetting::Default),
                (v("1.32.2"), GateSetting::Off),
                (v("1.33.0"), GateSetting::Default),
            ]
        );
    }

    #[test]
    fn every_minor_gets_its_newest_served_patch_at_the_settings_of_its_stage() {
        let v = |s: &str| s.parse::<KubeVersion>().unwrap();
        let served: Vec<KubeVersion> = ["1.29.6", "1.30.4", "1.30.14", "1.32.2", "1.32.13", "1.37.2"]
            .into_iter()
            .map(v)
            .collect();
        let cells = every_minor_cells(&served);
        let has = |s: &str, g: GateSetting| cells.contains(&(v(s), g));
        assert_eq!(cells.len(), 20, "{cells:?}");
        // Not served at all: the .0, which the supply then refuses by name.
        assert!(has("1.28.0", GateSetting::Default) && has("1.28.0", GateSetting::On));
        assert!(has("1.30.14", GateSetting::On) && has("1.30.14", GateSetting::Off));
        assert!(!cells.iter().any(|(c, _)| *c == v("1.30.4")));
        assert!(has("1.32.13", GateSetting::Off));
        assert!(has("1.33.0", GateSetting::Default) && has("1.33.0", GateSetting::Off));
        assert!(has("1.37.2", GateSetting::Default) && has("1.37.2", GateSetting::Off));
    }

    #[test]
    fn a_clusters_list_names_the_line_of_a_bad_entry() {
        let e = parse_clusters_list("1.37.2\n1.37.2:sideways\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = parse_clusters_list("1.37.2\n1.37.2:default\n").unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
    }
}
