//! Shared helpers of the behaviour tests (`tests/conformance`, `tests/e2e`), and the list
//! of e2e tests: the catalogue x `clusters.txt` ([`e2e_cases`]).
//!
//! An e2e test names a cluster (version and gate) and a behaviour; [`check_on_cluster`]
//! finds that cluster in the list the nextest setup script published, plays the
//! behaviour there with the harness's runner, saves the result for the run's report,
//! and fails unless the verdict is `pass`: observed what the gate table expects.

use std::path::PathBuf;

use anyhow::{Context, bail};
use sidecar_conformance::behaviour::{self, Observation};
use sidecar_conformance::gate::GateSetting;
use sidecar_conformance::keeper::{self, ClustersFile};
use sidecar_conformance::progress::Progress;
use sidecar_conformance::report::{CheckResult, Verdict};
use sidecar_conformance::runner::{self, Target};
use sidecar_conformance::version::KubeVersion;

/// Plays `behaviour` on the kind cluster of `version` and `gate` and checks the verdict.
pub async fn check_on_cluster(version: &str, gate: GateSetting, behaviour: &str) -> anyhow::Result<()> {
    let file = ClustersFile::from_env()?;
    let entry = file.find(version, gate).with_context(|| {
        format!(
            "no cluster {version}:{gate} in the setup script's list: add `{version}:{gate}` to clusters.txt"
        )
    })?;
    let b = behaviour::by_id(behaviour).with_context(|| format!("unknown behaviour {behaviour}"))?;
    let kube_version: KubeVersion = version.parse()?;
    let progress = Progress::new(false);
    let result = match entry.failure() {
        Some(failure) => {
            runner::refused_results(&[b], &entry.report.name, kube_version, gate, &failure).remove(0)
        }
        // A play that restarts its node would kill every other test's pods on the
        // shared cluster: it gets a cluster of its own, of the same version and gate.
        None if b.disrupts_node() => alone_on_own_cluster(&file, kube_version, gate, b, &progress).await?,
        None => {
            let cluster = entry.cluster()?;
            let client = cluster.client().await?;
            let target =
                Target::connect(&entry.report.name, kube_version, gate, client, &file.run_dir).await?;
            runner::check(&target, b, &progress).await
        }
    };
    keeper::save_result(&file.run_dir, &result)?;
    print_result(&result);
    match result.verdict {
        Verdict::Pass => Ok(()),
        Verdict::Fail => bail!(
            "{behaviour} on {version}:{gate}: expected {}, observed {}",
            result.expected,
            result.observed.map(|o| o.to_string()).unwrap_or_default()
        ),
        Verdict::Error => bail!(
            "{behaviour} on {version}:{gate}: {}",
            result.error.unwrap_or_default()
        ),
    }
}

/// `b` on a kind cluster of its own (`version`, `gate`), brought up, played and deleted
/// as `run` does it.
async fn alone_on_own_cluster(
    file: &ClustersFile,
    version: KubeVersion,
    gate: GateSetting,
    b: &'static behaviour::Behaviour,
    progress: &Progress,
) -> anyhow::Result<sidecar_conformance::report::CheckResult> {
    use sidecar_conformance::matrix::{self, ClusterRequest, RunOptions};
    let label = format!("{}-{gate}-{}", version.slug(), b.id);
    let opts = RunOptions {
        run_id: format!("{}-{label}", file.run_id),
        run_dir: file.run_dir.join(&label),
        cache: sidecar_conformance::supply::default_cache_dir(),
        clusters: vec![ClusterRequest::Kind { version, gate }],
        behaviours: vec![b],
        keep: false,
        reuse: false,
        template: sidecar_conformance::cluster::kind::DEFAULT_TEMPLATE.to_string(),
        parallel: 1,
        check: None,
        served: None,
    };
    let report = matrix::run(opts, progress).await?;
    report
        .results
        .into_iter()
        .find(|r| r.behaviour == b.id)
        .with_context(|| format!("the run of {} on a cluster of its own left no result", b.id))
}

/// `check` on the project's example workloads (`examples/workloads`), with every
/// sidecar made to exit once and the workloads deleted at the end, on the kind cluster
/// of `version` and `gate`: every result must be `pass` (with sidecars enabled, each
/// invariant holds; with them disabled, each workload is flagged `sidecar-ignored`), and
/// with sidecars enabled each invariant must have been judged on a workload that shows
/// it. Its results go into the run's report.
pub async fn check_examples_on_cluster(version: &str, gate: GateSetting) -> anyhow::Result<()> {
    use sidecar_conformance::behaviour::Outcome;
    use sidecar_conformance::check::Workloads;
    let file = ClustersFile::from_env()?;
    let entry = file
        .find(version, gate)
        .with_context(|| format!("no cluster {version}:{gate} in the setup script's list"))?;
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/workloads");
    let mut workloads = Workloads::load(&[examples])?;
    workloads.disrupt = true;
    workloads.terminate = true;
    workloads.deadline = std::time::Duration::from_secs(120);
    let cluster = entry.cluster()?;
    let client = cluster.client().await?;
    let target = Target::connect(&entry.report.name, version.parse()?, gate, client, &file.run_dir).await?;
    let checked =
        sidecar_conformance::check::check(&target, &workloads, workloads.behaviour(), &Progress::new(false))
            .await;
    for r in &checked.results {
        keeper::save_result(&file.run_dir, r)?;
        print_result(r);
    }
    for n in &checked.notes {
        println!("note: {n}");
    }
    let bad: Vec<String> = checked
        .results
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| {
            format!(
                "{}: {} ({})",
                r.behaviour,
                r.verdict.word(),
                r.error.clone().unwrap_or_default()
            )
        })
        .collect();
    anyhow::ensure!(bad.is_empty(), "not passed on {version}:{gate}: {bad:?}");
    let observed = |id: &str| {
        checked
            .results
            .iter()
            .find(|r| r.behaviour == id)
            .and_then(|r| r.observed)
    };
    let disabled = sidecar_conformance::gate::effect(version.parse()?, gate)
        == sidecar_conformance::gate::GateEffect::Disabled;
    let (shown, want): (&[&str], Outcome) = if disabled {
        // The web Deployment and the api-server pod declare probed sidecars: refused for
        // the probe left on a regular init container. The Job's pod runs, held up.
        (
            &[
                "accepted@Deployment/web",
                "accepted@Pod/api-server",
                "sidecars-start-first@Job/nightly-report",
                "job-completes-with-sidecars@Job/nightly-report",
            ],
            Outcome::SidecarIgnored,
        )
    } else {
        (
            &[
                "sidecars-start-first@Deployment/web",
                "ready-follows-sidecars@Deployment/web",
                "apps-survive-sidecar-restarts@Deployment/web",
                "sidecars-terminate-last@Deployment/web",
                "job-completes-with-sidecars@Job/nightly-report",
                "sidecars-start-first@Pod/api-server",
                "apps-survive-sidecar-restarts@Pod/api-server",
                "sidecars-terminate-last@Pod/api-server",
                "effective-requests@Pod/api-server",
            ],
            Outcome::Holds,
        )
    };
    for id in shown {
        anyhow::ensure!(
            observed(id) == Some(want),
            "{id} on {version}:{gate}: observed {:?}, expected {want}",
            observed(id)
        );
    }
    Ok(())
}

/// `check` on `suites/fixtures/check/bad-input.yaml` (a document that is not YAML, a
/// misspelt field, a kind not served, an image no registry has, a pod never Ready) on
/// the first cluster of the list with sidecars enabled, with a 30 s deadline: each
/// object gets a result of its own (rejected, or an error naming the image), the pod
/// that is never Ready is judged on what was recorded with the wait that ran out in its
/// evidence, the whole check ends within a bound, and its namespace goes.
pub async fn check_bad_input() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Namespace;
    use sidecar_conformance::behaviour::Outcome;
    use sidecar_conformance::check::Workloads;
    use sidecar_conformance::gate::{GateEffect, effect};
    let file = ClustersFile::from_env()?;
    let entry = file
        .clusters
        .iter()
        .find(|c| {
            c.kubeconfig.is_some()
                && c.report
                    .kubernetes_version
                    .parse()
                    .is_ok_and(|v| effect(v, c.report.sidecar_gate) == GateEffect::Enabled)
        })
        .context("no cluster with sidecars enabled in the setup script's list")?;
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/check/bad-input.yaml");
    let mut workloads = Workloads::load(&[fixture])?;
    workloads.deadline = std::time::Duration::from_secs(30);
    let cluster = entry.cluster()?;
    let client = cluster.client().await?;
    let version = entry.report.kubernetes_version.parse()?;
    let target = Target::connect(
        &entry.report.name,
        version,
        entry.report.sidecar_gate,
        client.clone(),
        &file.run_dir,
    )
    .await?;
    let started = std::time::Instant::now();
    let checked =
        sidecar_conformance::check::check(&target, &workloads, workloads.behaviour(), &Progress::new(false))
            .await;
    let took = started.elapsed();
    for r in &checked.results {
        print_result(r);
    }
    for n in &checked.notes {
        println!("note: {n}");
    }
    // Settling (30 s) and the rest, never the 180 s default or a hang.
    anyhow::ensure!(
        took < std::time::Duration::from_secs(120),
        "the check took {took:?}"
    );
    let result = |id: &str| {
        checked
            .results
            .iter()
            .find(|r| r.behaviour == id)
            .with_context(|| {
                format!(
                    "no result {id}: {:?}",
                    checked.results.iter().map(|r| &r.behaviour).collect::<Vec<_>>()
                )
            })
    };
    for id in ["accepted@Pod/misspelt", "accepted@Widget/gadget"] {
        let r = result(id)?;
        anyhow::ensure!(
            r.observed == Some(Outcome::Rejected) && r.verdict == Verdict::Fail,
            "{id}: {r:?}"
        );
    }
    let misspelt = result("accepted@Pod/misspelt")?;
    anyhow::ensure!(
        misspelt.evidence.iter().any(|e| e.contains("commnd")),
        "the refusal names the field: {:?}",
        misspelt.evidence
    );
    let unparsable = checked
        .results
        .iter()
        .find(|r| r.behaviour.starts_with("accepted@") && r.behaviour.contains("bad-input.yaml"))
        .context("no result for the document that is not YAML")?;
    anyhow::ensure!(unparsable.observed == Some(Outcome::Rejected), "{unparsable:?}");
    let unpulled = result("images-pulled@Pod/unpullable")?;
    anyhow::ensure!(
        unpulled.verdict == Verdict::Error
            && unpulled
                .error
                .as_deref()
                .unwrap_or("")
                .contains("registry.invalid/agent:1"),
        "{unpulled:?}"
    );
    let starts = result("sidecars-start-first@Pod/never-ready")?;
    anyhow::ensure!(starts.verdict == Verdict::Pass, "{starts:?}");
    anyhow::ensure!(
        starts
            .evidence
            .iter()
            .any(|e| e.starts_with("timed out after 30 s")),
        "the wait that ran out is in the evidence: {:?}",
        starts.evidence
    );
    anyhow::ensure!(
        checked
            .notes
            .iter()
            .any(|n| n.contains("Pod/never-ready: ready-follows-sidecars not judged")),
        "{:?}",
        checked.notes
    );
    // The namespace is deleted (its pods' grace periods are short).
    let namespaces: kube::Api<Namespace> = kube::Api::all(client);
    let label = format!("{}={}", runner::MANAGED_BY.0, runner::MANAGED_BY.1);
    let gone = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        loop {
            let left = namespaces
                .list(&kube::api::ListParams::default().labels(&label))
                .await?
                .items
                .into_iter()
                .filter(|n| {
                    n.metadata
                        .name
                        .as_deref()
                        .is_some_and(|n| n.starts_with("sc-check-"))
                })
                .count();
            if left == 0 {
                return anyhow::Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    })
    .await;
    anyhow::ensure!(
        matches!(gone, Ok(Ok(()))),
        "the check's namespace is still there: {gone:?}"
    );
    Ok(())
}

/// Probes the API server of the kind cluster of `version` and `gate` for sidecar
/// support (a dry-run pod, as for `--kubeconfig` clusters) and checks that the probe
/// finds what the gate table says. A cluster that could not come up passes only when
/// the table says it must not.
pub async fn probe_on_cluster(version: &str, gate: GateSetting) -> anyhow::Result<()> {
    use sidecar_conformance::gate::{self, GateEffect};
    let file = ClustersFile::from_env()?;
    let entry = file
        .find(version, gate)
        .with_context(|| format!("no cluster {version}:{gate} in the setup script's list"))?;
    let kube_version: KubeVersion = version.parse()?;
    let expected = gate::effect(kube_version, gate);
    if let Some(failure) = entry.failure() {
        bail!(
            "{version}:{gate} did not come up ({}), though the gate table says {expected:?}",
            failure.error
        );
    }
    let client = entry.cluster()?.client().await?;
    let probe = gate::probe(&client, "default").await?;
    println!(
        "{version}:{gate}: sidecars {} ({}); the gate table says {expected:?}",
        if probe.sidecars_enabled {
            "enabled"
        } else {
            "disabled"
        },
        probe.detail
    );
    anyhow::ensure!(
        probe.sidecars_enabled == (expected == GateEffect::Enabled),
        "the probe found sidecars {} on {version}:{gate}, the gate table says {expected:?}",
        if probe.sidecars_enabled {
            "enabled"
        } else {
            "disabled"
        }
    );
    Ok(())
}

/// A cluster the gate table says must refuse its gate setting: it must have failed to
/// come up, for that reason (the kubelet's own words, [`gate::refusal_words`]), and
/// every behaviour's result on it is then `cluster-refused`, saved for the report. One
/// test, not one per behaviour: a cluster that never came up ran none of them.
///
/// [`gate::refusal_words`]: sidecar_conformance::gate::refusal_words
pub fn refused_on_cluster(version: &str, gate: GateSetting) -> anyhow::Result<()> {
    use sidecar_conformance::gate::{self, GateEffect};
    let file = ClustersFile::from_env()?;
    let entry = file
        .find(version, gate)
        .with_context(|| format!("no cluster {version}:{gate} in the setup script's list"))?;
    let kube_version: KubeVersion = version.parse()?;
    let GateEffect::ClusterRefused { why } = gate::effect(kube_version, gate) else {
        bail!("the gate table does not expect {version}:{gate} to be refused");
    };
    let Some(failure) = entry.failure() else {
        bail!("{version}:{gate} came up, though the gate table says: {why}");
    };
    let words = gate::refusal_words(kube_version, gate).context("refusal words")?;
    anyhow::ensure!(
        failure.gate_lines.iter().any(|l| l.contains(&words)),
        "{version}:{gate} did not come up, but not because of the gate: no kubelet line says {words:?}; the failure: {}; kubelet lines: {:?}",
        failure.error,
        failure.gate_lines
    );
    let all: Vec<&behaviour::Behaviour> = behaviour::catalogue().iter().collect();
    let results = runner::refused_results(&all, &entry.report.name, kube_version, gate, &failure);
    for r in &results {
        keeper::save_result(&file.run_dir, r)?;
        anyhow::ensure!(
            r.verdict == Verdict::Pass,
            "{} on a refused cluster: {:?}",
            r.behaviour,
            r.verdict
        );
    }
    println!(
        "{version}:{gate} was refused as the gate table says ({why}); {} behaviours recorded as cluster-refused",
        results.len()
    );
    Ok(())
}

/// Prints a result the way a reader of a test log wants it.
pub fn print_result(r: &CheckResult) {
    println!(
        "{} on {} (Kubernetes {}, gate {}): expected {}, observed {}, verdict {:?}",
        r.behaviour,
        r.cluster,
        r.kubernetes_version,
        r.sidecar_gate,
        r.expected,
        r.observed.map(|o| o.to_string()).unwrap_or_else(|| "-".into()),
        r.verdict
    );
    for c in &r.claims {
        println!("  claim: {}", c.replace('\n', " "));
    }
    for e in &r.evidence {
        println!("  - {e}");
    }
    if let Some(err) = &r.error {
        println!("  error: {err}");
    }
}

/// Directory of the recorded observations used as fixtures.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("observations")
}

/// A recorded observation: `fixtures/observations/<cluster kind>/<behaviour>.json`.
pub fn recorded(cluster: &str, behaviour: &str) -> Observation {
    let path = fixtures_dir().join(cluster).join(format!("{behaviour}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The clusters of the e2e tests: the repository's `clusters.txt`, one `VERSION:GATE` a
/// line (also read by the nextest setup script, `./conformance`, `just matrix` and the
/// GitHub workflow).
pub const CLUSTERS_TXT: &str = include_str!("../../clusters.txt");

/// The clusters of [`CLUSTERS_TXT`].
pub fn clusters() -> anyhow::Result<Vec<(KubeVersion, GateSetting)>> {
    sidecar_conformance::matrix::parse_clusters_list(CLUSTERS_TXT).context("clusters.txt")
}

/// The module path of a cluster's e2e tests: `e2e::k1_37_2_default`.
pub fn cluster_module(version: KubeVersion, gate: GateSetting) -> String {
    format!("e2e::k{}_{gate}", version.to_string().replace('.', "_"))
}

/// One e2e test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum E2eCase {
    /// [`check_on_cluster`] of a behaviour.
    Check {
        version: String,
        gate: GateSetting,
        behaviour: &'static str,
    },
    /// [`probe_on_cluster`].
    Probe { version: String, gate: GateSetting },
    /// [`check_examples_on_cluster`].
    CheckExamples { version: String, gate: GateSetting },
    /// [`check_bad_input`].
    CheckBadInput,
    /// [`refused_on_cluster`]: a cluster the gate table says cannot come up.
    Refused { version: String, gate: GateSetting },
    /// The faults test (`suites/tests/e2e/faults.rs`), on a cluster of its own.
    Faults,
    /// The published path as a user without root (`suites/tests/e2e/published.rs`).
    Published,
    /// The run's registry: kind network only, read-only (`suites/tests/e2e/registry.rs`).
    Registry,
    /// The HTML timelines in a real Chromium (`suites/tests/e2e/drawing.rs`).
    Drawing,
}

/// The e2e tests, named as nextest shows them: the catalogue on each cluster of
/// `clusters.txt` that comes up (`e2e::k1_37_2_default::deployment_ready`, with a
/// `gate_probe`), `cluster_refused` for each the gate table refuses
/// (`e2e::k1_37_2_off::cluster_refused`), and `e2e::faults::…`.
pub fn e2e_cases() -> anyhow::Result<Vec<(String, E2eCase)>> {
    use sidecar_conformance::gate::{self, GateEffect};
    let mut cases = Vec::new();
    for (v, g) in clusters()? {
        let module = cluster_module(v, g);
        let version = v.to_string();
        if let GateEffect::ClusterRefused { .. } = gate::effect(v, g) {
            cases.push((
                format!("{module}::cluster_refused"),
                E2eCase::Refused { version, gate: g },
            ));
            continue;
        }
        for b in behaviour::catalogue() {
            cases.push((
                format!("{module}::{}", b.id.replace('-', "_")),
                E2eCase::Check {
                    version: version.clone(),
                    gate: g,
                    behaviour: b.id,
                },
            ));
        }
        cases.push((
            format!("{module}::check_examples"),
            E2eCase::CheckExamples {
                version: version.clone(),
                gate: g,
            },
        ));
        cases.push((
            format!("{module}::gate_probe"),
            E2eCase::Probe { version, gate: g },
        ));
    }
    cases.push((
        "e2e::faults::every_fault_of_the_cluster_is_an_error_naming_it".to_string(),
        E2eCase::Faults,
    ));
    cases.push((
        "e2e::published::a_user_without_root_runs_the_published_path_through_a_registry_mirror".to_string(),
        E2eCase::Published,
    ));
    cases.push((
        "e2e::registry::the_run_serves_on_the_kind_network_only_and_refuses_pushes".to_string(),
        E2eCase::Registry,
    ));
    cases.push((
        "e2e::drawing::timelines_render_in_chromium_as_recorded".to_string(),
        E2eCase::Drawing,
    ));
    cases.push((
        "e2e::check::bad_input_gets_a_result_per_object_within_its_deadline".to_string(),
        E2eCase::CheckBadInput,
    ));
    Ok(cases)
}

/// Runs `docker ARGS`; its standard output, or an error with its standard error.
pub fn docker(args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new("docker")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The events of one container of one pod in a recorded observation (as JSON, for the
/// replay tests to break on purpose).
pub fn events<'a>(
    obs: &'a mut serde_json::Value,
    pod: &str,
    container: &str,
) -> &'a mut Vec<serde_json::Value> {
    obs["timeline"]["pods"][pod]["containers"]
        .as_array_mut()
        .expect("containers")
        .iter_mut()
        .find(|c| c["name"] == container)
        .expect("container")["events"]
        .as_array_mut()
        .expect("events")
}

/// The name of the first pod of a recorded observation (as JSON): the one pod of a
/// Job's recording.
pub fn first_pod(obs: &serde_json::Value) -> String {
    obs["timeline"]["pods"]
        .as_object()
        .and_then(|pods| pods.keys().next())
        .expect("a recorded pod")
        .clone()
}
