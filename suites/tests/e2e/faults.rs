//! Faults injected into a real kind cluster while a behaviour plays. None of them is
//! about sidecars, so each must end the play as `error` naming the fault, never as a
//! `fail` (a regression that is not one) or a `pass`, within 15 s of the fault
//! becoming visible; and the clean-up must leave no container behind.
//!
//! One cluster of its own (the keeper's clusters serve the other tests), one fault after
//! another, each undone before the next, the node container's stop last:
//! 1. `systemctl stop kubelet` in the node: visible when its lease is not renewed for
//!    two renew intervals (20 s);
//! 2. the run's registry stopped: visible when a pod waits with `ErrImagePull`;
//! 3. kube-apiserver killed in the node: visible at once (watches break);
//! 4. the node container stopped (`docker stop`): visible at once (Docker events).

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use k8s_openapi::api::core::v1::Pod;
use sidecar_conformance::behaviour;
use sidecar_conformance::cluster::kind::DEFAULT_TEMPLATE;
use sidecar_conformance::fault::{Fault, FaultKind};
use sidecar_conformance::gate::GateSetting;
use sidecar_conformance::keeper::ClustersFile;
use sidecar_conformance::matrix::{self, ClusterRequest, RunOptions};
use sidecar_conformance::progress::Progress;
use sidecar_conformance::report::{CheckResult, Verdict};
use sidecar_conformance::runner::{self, Target};
use sidecar_conformance::version::KubeVersion;

/// How long after a fault becomes visible its play must have ended as `error`.
const WITHIN: Duration = Duration::from_secs(15);
/// How long a kubelet's lease may go unrenewed before that is the fault: two renew
/// intervals of kind's 40 s lease.
const LEASE_VISIBLE: Duration = Duration::from_secs(20);
/// A behaviour whose pods run for about 35 s: long enough to be interrupted.
const BEHAVIOUR: &str = "job-completes";

pub async fn every_fault_of_the_cluster_is_an_error_naming_it() -> anyhow::Result<()> {
    // The keeper has built the images; this test brings up a cluster of its own.
    let file = ClustersFile::from_env()?;
    let version: KubeVersion = "1.37.2".parse()?;
    let run_dir = file.run_dir.join("faults");
    let opts = RunOptions {
        run_id: format!("{}-faults", file.run_id),
        run_dir: run_dir.clone(),
        cache: sidecar_conformance::supply::default_cache_dir(),
        clusters: vec![ClusterRequest::Kind {
            version,
            gate: GateSetting::Default,
        }],
        behaviours: vec![],
        keep: false,
        reuse: false,
        template: DEFAULT_TEMPLATE.to_string(),
        parallel: 1,
        check: None,
        served: None,
    };
    let progress = Progress::new(false);
    let prepared = matrix::prepare(&opts, &progress).await?;
    let registry = prepared.registry.as_ref().context("a registry")?.name.clone();
    let up = matrix::bring_up(&opts.clusters[0], &prepared, &opts, &progress).await?;
    let cluster = up
        .cluster
        .map_err(|f| anyhow::anyhow!("the fault test's cluster did not come up: {}", f.error))?;
    let name = cluster.name.clone();
    let node = format!("{name}-control-plane");
    // No fallback to Docker Hub behind the run's registry: on a machine that reaches it,
    // a stopped registry would otherwise go unnoticed (containerd reads this at every pull).
    let hosts = run_dir
        .join("clusters")
        .join(&name)
        .join("certs.d/docker.io/hosts.toml");
    let text = std::fs::read_to_string(&hosts).with_context(|| hosts.display().to_string())?;
    std::fs::write(
        &hosts,
        text.replace("https://registry-1.docker.io", "http://127.0.0.1:9"),
    )?;
    let target = Target::connect(
        &name,
        version,
        GateSetting::Default,
        cluster.client().await?,
        &run_dir,
    )
    .await?;
    let outcome = async {
        // 1. The kubelet.
        let (r, injected) = play_and_inject(&target, || {
            docker(&["exec", &node, "systemctl", "stop", "kubelet"])
        })
        .await?;
        let f = expect_error(&r, FaultKind::Kubelet, injected, LEASE_VISIBLE + WITHIN)?;
        println!("kubelet stopped: error after {:.1} s: {f}", secs(injected, &f));
        docker(&["exec", &node, "systemctl", "start", "kubelet"])?;
        recovered(&target).await?;

        // 2. The registry: the play's image cannot be pulled.
        docker(&["stop", &registry])?;
        let injected = jiff::Timestamp::now();
        let started = Instant::now();
        let r = runner::check(&target, by_id(BEHAVIOUR)?, &Progress::new(false)).await;
        let ended = started.elapsed();
        let f = expect_error(&r, FaultKind::ImagePull, injected, ended)?;
        // Visible when the kubelet reports the failed pull; the play ends right after
        // (its result also waits for the diagnostics).
        let after_visible = ended.saturating_sub(Duration::from_secs_f64(secs(injected, &f)));
        ensure!(
            after_visible <= WITHIN,
            "the play ended {after_visible:?} after the pull failure was visible"
        );
        println!("registry stopped: error {after_visible:.1?} after the pull failure showed: {f}");
        docker(&["start", &registry])?;

        // 3. The API server.
        let (r, injected) = play_and_inject(&target, || {
            docker(&["exec", &node, "pkill", "-9", "kube-apiserver"])
        })
        .await?;
        let f = expect_error(&r, FaultKind::ApiServer, injected, WITHIN)?;
        println!(
            "kube-apiserver killed: error after {:.1} s: {f}",
            secs(injected, &f)
        );
        recovered(&target).await?;

        // 4. The node container.
        let (r, injected) = play_and_inject(&target, || docker(&["stop", &node])).await?;
        let f = expect_error(&r, FaultKind::NodeContainer, injected, WITHIN)?;
        println!(
            "node container stopped: error after {:.1} s: {f}",
            secs(injected, &f)
        );
        anyhow::Ok(())
    }
    .await;
    // Clean-up runs whatever happened: the cluster and the registry go with their guards.
    drop(target);
    let deleted = tokio::task::spawn_blocking(move || cluster.delete()).await;
    drop(prepared);
    let left = sidecar_conformance_suites::docker(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        &format!("label=io.x-k8s.kind.cluster={name}"),
    ])? + &sidecar_conformance_suites::docker(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        &format!("name={registry}"),
    ])?;
    // The test's own failure first; a failed clean-up after it second.
    outcome?;
    deleted??;
    ensure!(left.trim().is_empty(), "containers left behind: {left}");
    Ok(())
}

fn by_id(id: &str) -> anyhow::Result<&'static behaviour::Behaviour> {
    behaviour::by_id(id).with_context(|| format!("no behaviour {id}"))
}

/// Plays [`BEHAVIOUR`], injects a fault once one of its containers runs, and returns
/// the result and when the fault was injected.
async fn play_and_inject(
    target: &Target,
    inject: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<(CheckResult, jiff::Timestamp)> {
    let b = by_id(BEHAVIOUR)?;
    // Namespaces of earlier plays may linger (deleted while the API server was down):
    // only a pod of this play's new namespace counts.
    let earlier: Vec<String> = kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(target.client.clone())
        .list(&Default::default())
        .await?
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    let play = {
        let target = target.clone();
        Abort(tokio::spawn(async move {
            runner::check(&target, b, &Progress::new(false)).await
        }))
    };
    let pods: kube::Api<Pod> = kube::Api::all(target.client.clone());
    let prefix = format!("sc-{BEHAVIOUR}-");
    sidecar_conformance::observe::wait_for_set(
        pods,
        Default::default(),
        "a container of the play running",
        Duration::from_secs(120),
        |pods: &[Pod]| {
            pods.iter().any(|p| {
                p.metadata
                    .namespace
                    .as_deref()
                    .is_some_and(|n| n.starts_with(&prefix) && !earlier.iter().any(|e| e == n))
                    && p.status.as_ref().is_some_and(|s| {
                        s.init_container_statuses
                            .iter()
                            .flatten()
                            .chain(s.container_statuses.iter().flatten())
                            .any(|c| c.state.as_ref().is_some_and(|st| st.running.is_some()))
                    })
            })
        },
        |_| String::new(),
    )
    .await?;
    let injected = jiff::Timestamp::now();
    inject()?;
    Ok((play.finish().await?, injected))
}

/// A spawned play that is stopped when the test gives up on it, so that nothing of it
/// runs on beside the clean-up.
struct Abort<T>(tokio::task::JoinHandle<T>);

impl<T> Abort<T> {
    async fn finish(mut self) -> Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for Abort<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The result must be an `error` of `kind`, seen at most `within` after `injected`.
fn expect_error(
    r: &CheckResult,
    kind: FaultKind,
    injected: jiff::Timestamp,
    within: Duration,
) -> anyhow::Result<Fault> {
    sidecar_conformance_suites::print_result(r);
    if r.verdict != Verdict::Error {
        bail!(
            "expected an error for {kind}, got {:?} (observed {:?})",
            r.verdict,
            r.observed
        );
    }
    ensure!(
        r.observed.is_none(),
        "a judge was asked: observed {:?}",
        r.observed
    );
    let f = r
        .fault
        .clone()
        .with_context(|| format!("an error without a fault: {:?}", r.error))?;
    ensure!(f.kind == kind, "expected {kind}, the fault is {f}");
    let after = secs(injected, &f);
    ensure!(
        after <= within.as_secs_f64(),
        "{kind} seen {after:.1} s after it was injected, more than {within:?}"
    );
    Ok(f)
}

fn secs(injected: jiff::Timestamp, f: &Fault) -> f64 {
    f.seen_at.duration_since(injected).as_secs_f64().max(0.0)
}

/// Waits until the cluster's fault watch sees no fault and every kube-system pod runs
/// ready again (a restarted kubelet or API server takes a minute or two on a loaded
/// machine, and the controller manager and scheduler restart after it).
async fn recovered(target: &Target) -> anyhow::Result<()> {
    let deadline = Duration::from_secs(240);
    target
        .faults
        .cleared(deadline)
        .await
        .map_err(|f| anyhow::anyhow!("the cluster did not recover: {f}"))?;
    let pods: kube::Api<Pod> = kube::Api::namespaced(target.client.clone(), "kube-system");
    sidecar_conformance::observe::wait_for_set(
        pods,
        Default::default(),
        "every kube-system pod running and ready",
        deadline,
        |pods: &[Pod]| {
            !pods.is_empty()
                && pods.iter().all(|p| {
                    p.status.as_ref().is_some_and(|s| {
                        s.phase.as_deref() == Some("Running")
                            && s.conditions
                                .iter()
                                .flatten()
                                .any(|c| c.type_ == "Ready" && c.status == "True")
                    })
                })
        },
        |pods: &[Pod]| {
            pods.iter()
                .map(|p| {
                    format!(
                        "{} {}",
                        p.metadata.name.as_deref().unwrap_or("?"),
                        p.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("?")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        },
    )
    .await?;
    Ok(())
}

fn docker(args: &[&str]) -> anyhow::Result<()> {
    sidecar_conformance_suites::docker(args).map(|_| ())
}
