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
use crate::gate::{GateSetting, effect};
use crate::progress::{Progress, human};
use crate::registry::LocalRegistry;
use crate::report::{CheckResult, ClusterReport, Report};
use crate::runner::{self, Target};
use crate::supply::{NodeImage, StandIn, Supply};
use crate::version::KubeVersion;

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
}

/// What the kind side of a run needs, prepared once.
pub struct Prepared {
    pub provider: Option<KindProvider>,
    pub node_images: Vec<NodeImage>,
    pub registry: Option<LocalRegistry>,
    pub host: HostFacts,
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
pub async fn prepare(opts: &RunOptions, progress: &Progress) -> anyhow::Result<Prepared> {
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
            host: HostFacts::detect(),
        });
    }
    let supply = Supply::new(opts.cache.clone(), progress.clone())?;
    let (kind, node_images, workload) = {
        let supply = supply.clone();
        let versions = kind_versions.clone();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let started = Instant::now();
            supply.check_versions(&versions)?;
            supply.ensure_engine()?;
            let kind = supply.ensure_kind()?;
            let mut images = Vec::new();
            for v in versions {
                images.push(supply.ensure_node_image(v)?);
            }
            let workload = supply.ensure_workload_images()?;
            progress.say(format!("images ready in {}", human(started.elapsed())));
            Ok((kind, images, workload))
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
    progress.say("starting the local registry (testcontainers)");
    let registry = LocalRegistry::start(&workload, &opts.run_id).await?;
    for s in &registry.stand_ins {
        progress.say(format!(
            "registry {} serves {} as {} ({})",
            registry.endpoint, s.local_image, s.upstream, s.content
        ));
    }
    let provider = KindProvider {
        kind,
        cache: opts.cache.clone(),
        run_dir: opts.run_dir.clone(),
        template: opts.template.clone(),
    };
    Ok(Prepared {
        provider: Some(provider),
        node_images,
        registry: Some(registry),
        host,
    })
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
) -> anyhow::Result<BroughtUp> {
    match request {
        ClusterRequest::Kubeconfig { path, gate } => {
            let mut cluster = Cluster::from_kubeconfig(path, gate.unwrap_or(GateSetting::Default)).await?;
            let gate_probe = probe_gate(&mut cluster, *gate, progress).await;
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
            };
            Ok(BroughtUp {
                report,
                cluster: Ok(cluster),
            })
        }
        ClusterRequest::Kind { version, gate } => {
            let provider = prepared
                .provider
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("no kind provider prepared"))?;
            let image = prepared
                .node_images
                .iter()
                .find(|i| i.version == *version)
                .ok_or_else(|| anyhow::anyhow!("no node image prepared for {version}"))?;
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
                            "{}: node(s) {} Ready, CoreDNS {} Running ({:.1} s after creation)",
                            cluster.name,
                            h.nodes.join(", "),
                            h.coredns_pods.join(", "),
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

/// Probes a `--kubeconfig` cluster's API server for sidecar support and sets the
/// cluster's gate setting from it, unless the user named one that agrees. A user's
/// setting that the cluster contradicts is overridden, with a warning: checking a
/// cluster against a gate it does not have would only produce false failures.
async fn probe_gate(
    cluster: &mut Cluster,
    given: Option<GateSetting>,
    progress: &Progress,
) -> Option<crate::gate::GateProbe> {
    let client = match cluster.client().await {
        Ok(c) => c,
        Err(e) => {
            progress.warn(format!("{}: cannot probe the gate: {e}", cluster.name));
            return None;
        }
    };
    match crate::gate::probe(&client, "default").await {
        Ok(p) => {
            let probed = crate::gate::setting_for(cluster.version, &p);
            let enabled = |g: GateSetting| effect(cluster.version, g) == crate::gate::GateEffect::Enabled;
            match given {
                Some(g) if enabled(g) != p.sidecars_enabled => {
                    progress.warn(format!(
                        "{}: --gate {g} does not match the cluster ({}); checking it as gate {probed}",
                        cluster.name, p.detail
                    ));
                    cluster.gate = probed;
                }
                Some(_) => {}
                None => cluster.gate = probed,
            }
            progress.say(format!(
                "{}: sidecars {} ({}): gate {}",
                cluster.name,
                if p.sidecars_enabled { "enabled" } else { "disabled" },
                p.detail,
                cluster.gate
            ));
            Some(p)
        }
        Err(e) => {
            progress.warn(format!(
                "{}: could not probe the gate ({e}); taking it as {}",
                cluster.name, cluster.gate
            ));
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
        .map_err(|e| crate::error::ClusterError::Other(format!("{}: {e}", cluster.name)))
}

/// Runs `behaviours` on a cluster (concurrently: each has its own namespace).
pub async fn check_cluster(
    cluster: &Cluster,
    behaviours: &[&'static Behaviour],
    run_dir: &Path,
    progress: &Progress,
) -> anyhow::Result<Vec<CheckResult>> {
    let client = cluster.client().await?;
    let target =
        Arc::new(Target::connect(&cluster.name, cluster.version, cluster.gate, client, run_dir).await?);
    let checks = behaviours.iter().map(|b| {
        let target = target.clone();
        let progress = progress.clone();
        async move { runner::check(&target, b, &progress).await }
    });
    Ok(futures::future::join_all(checks).await)
}

/// A whole run: prepare, then each cluster (up to `parallel` at once) is brought up,
/// checked and deleted.
pub async fn run(opts: RunOptions, progress: &Progress) -> anyhow::Result<Report> {
    let started_at = jiff::Timestamp::now();
    std::fs::create_dir_all(&opts.run_dir)?;
    let prepared = prepare(&opts, progress).await?;
    let results = futures::stream::iter(opts.clusters.iter())
        .map(|request| {
            let (prepared, opts) = (&prepared, &opts);
            async move {
                let up = bring_up(request, prepared, opts, progress).await?;
                let results = match up.cluster {
                    Ok(cluster) => {
                        let results =
                            check_cluster(&cluster, &opts.behaviours, &opts.run_dir, progress).await;
                        let name = cluster.name.clone();
                        if cluster.origin == Origin::KindCreated && !opts.keep {
                            progress.say(format!("{name}: deleting"));
                        }
                        tokio::task::spawn_blocking(move || cluster.delete()).await??;
                        results?
                    }
                    Err(failure) => runner::refused_results(
                        &opts.behaviours,
                        &up.report.name,
                        version_of(request, &up.report),
                        gate_of(request),
                        &failure,
                    ),
                };
                anyhow::Ok((up.report, results))
            }
        })
        .buffered(opts.parallel.max(1))
        .collect::<Vec<_>>()
        .await;
    let mut clusters = Vec::new();
    let mut all_results = Vec::new();
    for r in results {
        let (cluster, results) = r?;
        clusters.push(cluster);
        all_results.extend(results);
    }
    Ok(Report::new(
        &opts.run_id,
        &opts.run_dir,
        started_at,
        prepared.stand_ins(),
        clusters,
        all_results,
    ))
}

fn version_of(request: &ClusterRequest, report: &ClusterReport) -> KubeVersion {
    match request {
        ClusterRequest::Kind { version, .. } => *version,
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
