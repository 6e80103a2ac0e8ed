//! `sidecar-conformance`: the command line. A thin layer over the library: it parses
//! arguments, picks defaults and turns errors into messages and exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use sidecar_conformance::behaviour::{self, Behaviour, Outcome};
use sidecar_conformance::gate::GateSetting;
use sidecar_conformance::matrix::{self, ClusterRequest, RunOptions};
use sidecar_conformance::progress::Progress;
use sidecar_conformance::report::{CheckResult, ReportFiles, Verdict};
use sidecar_conformance::supply::{self, Supply};
use sidecar_conformance::version::{DEFAULT_VERSION, KubeVersion};
use sidecar_conformance::{check, cleanup, cluster, keeper};

/// Proves or refutes, on real kind clusters, what the sidecar-containers page claims.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Print only warnings and results.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Check the page's behaviours on kind clusters (built here) or a given cluster.
    Run(RunArgs),
    /// Check your own workloads: apply YAML files, directories of them, or Markdown
    /// pages' yaml blocks in a namespace of their own on each cluster, record every pod,
    /// and judge the sidecar invariants on each workload (start order, readiness,
    /// restarts, Job completion, termination order). Writes the same reports as `run`.
    Check(CheckArgs),
    /// Pull or build (or find in the cache) the images kind clusters of these versions
    /// need.
    Supply {
        /// Kubernetes versions (1.MINOR.PATCH).
        #[arg(long = "kubernetes", short = 'k', default_values_t = [DEFAULT_VERSION], value_parser = parse_version)]
        versions: Vec<KubeVersion>,
        /// Only say, per version, whether its node image is published (present or
        /// pulled by digest) or built here, and why; one line each:
        /// VERSION<TAB>published|build<TAB>REFERENCE|-<TAB>REASON.
        #[arg(long)]
        plan: bool,
    },
    /// Report what is present on this machine and what is missing.
    Doctor,
    /// Measure what the harness costs on top of kind, side by side in one run: cluster
    /// bring-up against a bare `kind create cluster` with the same image and config;
    /// each play against its inherent waits and a warm run against its floor; a matrix
    /// against the sum of its cells.
    Bench {
        #[command(flatten)]
        spec: ClusterArgs,
        /// Rounds of each side (they alternate which goes first).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// What to measure (repeatable; default bring-up and plays; matrix needs two or
        /// more --cluster).
        #[arg(long = "part", value_parser = ["bring-up", "plays", "matrix"])]
        parts: Vec<String>,
        /// Clusters at once for the matrix part (default: the machine's bound).
        #[arg(long)]
        parallel: Option<usize>,
    },
    /// List the behaviours and the sentences of the page they check.
    Behaviours,
    /// Judge a recorded observation again (e.g. against another expectation).
    Judge {
        /// An observation file of a run (`observations/<cluster>/<behaviour>.json`).
        observation: PathBuf,
        /// The outcome to expect: holds, sidecar-ignored, violated, rejected.
        #[arg(long, default_value = "holds")]
        expect: String,
    },
    /// Clusters that outlive the command (for test runners), and leftovers.
    #[command(subcommand)]
    Clusters(ClustersCmd),
    /// Saved reports.
    #[command(subcommand)]
    Report(ReportCmd),
    /// The page's own defects, with line numbers and suggested corrections; exit 1 if
    /// there are any. Static checks always; the API server's answers to its YAML
    /// blocks from a recorded `page-lint` observation when given.
    LintPage {
        /// An observation of the `page-lint` behaviour
        /// (`runs/<id>/observations/<cluster>/page-lint.json`).
        #[arg(long)]
        observation: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = LintFormat::Markdown)]
        format: LintFormat,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum LintFormat {
    Markdown,
    Json,
}

#[derive(Subcommand, Debug)]
enum ReportCmd {
    /// Print a saved report.json in another format.
    Render {
        /// A run's report.json.
        report: PathBuf,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Compare two runs' report.json; exit 1 if a result that passed in the first does
    /// not pass in the second, or is missing from it.
    Diff {
        /// The earlier run's report.json (e.g. before a cluster upgrade).
        before: PathBuf,
        /// The later run's report.json.
        after: PathBuf,
        /// Each report is of one cluster, at different versions: match on behaviour only.
        #[arg(long)]
        upgrade: bool,
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
    },
    /// Write the reports of a run that ended without them (killed, machine stopped)
    /// from its journal, results.jsonl: every result it had reached. Exit status as
    /// for `run`.
    Rebuild {
        /// The run's directory, e.g. runs/20261204-101500-a1b2.
        run_dir: PathBuf,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum DiffFormat {
    Text,
    Json,
    Markdown,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ReportFormat {
    Text,
    Json,
    Junit,
    Markdown,
    Html,
}

#[derive(Subcommand, Debug)]
enum ClustersCmd {
    /// Bring clusters up and keep them until a process (the test runner) exits.
    Up {
        #[command(flatten)]
        spec: ClusterArgs,
        /// Also bring up the clusters listed in this file, one VERSION[:GATE] a line,
        /// `#` comments (the repository's clusters.txt).
        #[arg(long)]
        clusters_file: Option<PathBuf>,
        /// Append SIDECAR_CONFORMANCE_CLUSTERS=<clusters.json> to this file (nextest's $NEXTEST_ENV).
        #[arg(long, env = "NEXTEST_ENV")]
        env_file: Option<PathBuf>,
        /// Process to outlive; default: the enclosing cargo-nextest, else the parent.
        #[arg(long)]
        watch_pid: Option<u32>,
    },
    /// The keeper process started by `up` (internal).
    #[command(hide = true)]
    Serve {
        #[command(flatten)]
        spec: ClusterArgs,
        #[arg(long)]
        watch_pid: u32,
        #[arg(long)]
        log: Option<PathBuf>,
    },
    /// Wait until cluster keepers of finished test runs have deleted their clusters.
    Wait {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// List the harness's kind clusters on this Docker host.
    List,
    /// The clusters of a list file as a CI matrix (JSON) for machines that reach Docker
    /// Hub: each cell on kind's published image of its version or minor, else built.
    Matrix {
        #[arg(long, default_value = "clusters.txt")]
        clusters_file: PathBuf,
    },
    /// Delete the harness's leftover clusters and registries (`--all`: also kept ones).
    Prune {
        #[arg(long)]
        all: bool,
    },
}

#[derive(Args, Debug, Clone)]
struct ClusterArgs {
    /// A cluster as VERSION[:GATE], GATE one of default, on, off; repeatable.
    #[arg(long = "cluster", short = 'c', value_parser = parse_cluster)]
    clusters: Vec<(KubeVersion, GateSetting)>,
    /// Directory of the run (default: runs/<run id> under the current directory).
    #[arg(long)]
    run_dir: Option<PathBuf>,
    /// kind config template (default: the harness's kind-config.yaml).
    #[arg(long)]
    kind_config: Option<PathBuf>,
    /// Harness cache (default: $XDG_CACHE_HOME/sidecar-conformance).
    #[arg(long, env = "SIDECAR_CONFORMANCE_CACHE")]
    cache: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    spec: ClusterArgs,
    #[command(flatten)]
    clusters: WhereArgs,
    /// Only these behaviours (ids from `behaviours`); repeatable.
    #[arg(long = "behaviour", short = 'b')]
    behaviours: Vec<String>,
    /// Every minor from 1.28 to 1.37: the newest patch of each the Go module proxy
    /// serves (the nearest older one that builds, where it refuses a module), at each
    /// gate setting the gate table gives it; several clusters at once (see --parallel).
    #[arg(long, conflicts_with_all = ["clusters", "kubeconfig"])]
    every_minor: bool,
}

/// Where a run or a check plays, beyond the kind clusters of [`ClusterArgs`].
#[derive(Args, Debug, Default)]
struct WhereArgs {
    /// Check an existing cluster instead of creating kind clusters.
    #[arg(long, conflicts_with = "clusters")]
    kubeconfig: Option<PathBuf>,
    /// The gate setting of the --kubeconfig cluster, as far as you know it (default: a
    /// dry run against its API server finds out; a setting it contradicts is overridden).
    #[arg(long, requires = "kubeconfig")]
    gate: Option<GateSetting>,
    /// Keep the clusters after the run.
    #[arg(long)]
    keep: bool,
    /// Reuse kept clusters of the same version and gate.
    #[arg(long)]
    reuse: bool,
    /// Clusters brought up and checked at the same time (default 1; with --every-minor,
    /// as many as the machine's cores and memory allow: two per core, 1.5 GiB each).
    #[arg(long)]
    parallel: Option<usize>,
}

#[derive(Args, Debug)]
struct CheckArgs {
    /// YAML files (.yaml, .yml), Markdown pages (.md: their yaml blocks) or directories
    /// of them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    spec: ClusterArgs,
    #[command(flatten)]
    clusters: WhereArgs,
    /// Seconds the pods get to settle (finished, Ready, or held up), and each later
    /// wait (a disrupted sidecar back, the pods gone); a workload that does not settle
    /// is judged on what was recorded, with the wait that ran out in its evidence.
    #[arg(long, default_value_t = check::DEFAULT_DEADLINE.as_secs())]
    deadline: u64,
    /// `sidecars`: once the pods settled, make each sidecar exit once (through the kind
    /// node's runtime) and judge whether the app containers kept running.
    #[arg(long, value_parser = ["sidecars"])]
    disrupt: Option<String>,
    /// Delete the workloads at the end and judge their termination order.
    #[arg(long)]
    terminate: bool,
}

impl WhereArgs {
    /// Kind clusters only, one at a time, deleted afterwards (`bench`, `clusters up`).
    fn none() -> WhereArgs {
        WhereArgs {
            parallel: Some(1),
            ..Default::default()
        }
    }
}

fn parse_version(s: &str) -> Result<KubeVersion, String> {
    KubeVersion::parse_supported(s).map_err(|e| e.to_string())
}

fn parse_cluster(s: &str) -> Result<(KubeVersion, GateSetting), String> {
    let (v, g) = s.split_once(':').unwrap_or((s, "default"));
    let version = parse_version(v)?;
    Ok((version, g.parse()?))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let progress = Progress::new(cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(dispatch(cli.command, progress)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn dispatch(cmd: Cmd, progress: Progress) -> anyhow::Result<ExitCode> {
    match cmd {
        Cmd::Run(args) => run(args, progress).await,
        Cmd::Check(args) => check_workloads(args, progress).await,
        Cmd::Supply { versions, plan: true } => {
            let supply = Supply::new(supply::default_cache_dir(), progress.clone())?;
            let lines = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
                let published = supply::published::published_images()?;
                if !supply::docker_answers() {
                    progress.say(
                        "no Docker engine answers: a published image counts as neither present nor pullable",
                    );
                }
                Ok(versions
                    .iter()
                    .map(|v| supply.plan(*v, &published).line())
                    .collect())
            })
            .await??;
            for line in lines {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Supply {
            versions,
            plan: false,
        } => {
            // Ctrl-C stops the running build script and its process group.
            cleanup::delete_all_on_signal();
            let supply = Supply::new(supply::default_cache_dir(), progress.clone())?;
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                supply.check_versions(&versions)?;
                supply.ensure_engine()?;
                let kind = supply.ensure_kind()?;
                progress.say(format!("kind: {}", kind.display()));
                for v in versions {
                    let image = supply.ensure_node_image(v)?;
                    progress.say(format!(
                        "node image for {v}: {} ({:?})",
                        image.image, image.origin
                    ));
                }
                match supply.workload()? {
                    supply::Workload::Upstream(images) => progress.say(format!(
                        "workload images from their registry: {}",
                        images.join(", ")
                    )),
                    supply::Workload::StandIns(w) => {
                        progress.say(format!("registry image: {}", w.registry_image));
                        for s in w.stand_ins {
                            progress.say(format!(
                                "stand-in for {}: {} ({})",
                                s.upstream, s.local_image, s.content
                            ));
                        }
                    }
                }
                Ok(())
            })
            .await??;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Doctor => Ok(doctor()),
        Cmd::Bench {
            spec,
            rounds,
            parts,
            parallel,
        } => bench(spec, rounds, parts, parallel, progress).await,
        Cmd::Behaviours => {
            for b in behaviour::catalogue() {
                println!("{}  [{}]\n  {}", b.id, b.section, b.title);
                for c in b.claims {
                    println!("  > {}", c.replace('\n', " "));
                }
                println!();
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Judge { observation, expect } => judge(&observation, &expect),
        Cmd::Clusters(c) => clusters(c, progress).await,
        Cmd::Report(ReportCmd::Render { report, format }) => render_report(&report, format),
        Cmd::Report(ReportCmd::Rebuild { run_dir }) => {
            let report = sidecar_conformance::report::journal::rebuild(&run_dir)?;
            let paths = report.write_all(&run_dir)?;
            print!("{}", report.summary_text());
            for path in paths {
                println!("report: {}", path.display());
            }
            Ok(ExitCode::from(report.exit_status()))
        }
        Cmd::LintPage { observation, format } => lint_page(observation.as_deref(), format),
        Cmd::Report(ReportCmd::Diff {
            before,
            after,
            upgrade,
            format,
        }) => diff_reports(&before, &after, upgrade, format),
    }
}

fn lint_page(observation: Option<&std::path::Path>, format: LintFormat) -> anyhow::Result<ExitCode> {
    use sidecar_conformance::lint;
    let obs: Option<behaviour::Observation> = match observation {
        Some(p) => {
            let text = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            let obs: behaviour::Observation = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not an observation", p.display()))?;
            anyhow::ensure!(
                obs.behaviour == "page-lint",
                "{} is an observation of {}, not of page-lint",
                p.display(),
                obs.behaviour
            );
            Some(obs)
        }
        None => None,
    };
    let defects = lint::all_defects(obs.as_ref());
    match format {
        LintFormat::Markdown => print!("{}", lint::render_markdown(&defects)),
        LintFormat::Json => println!("{}", serde_json::to_string_pretty(&defects)?),
    }
    Ok(if defects.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn diff_reports(
    before: &std::path::Path,
    after: &std::path::Path,
    upgrade: bool,
    format: DiffFormat,
) -> anyhow::Result<ExitCode> {
    use sidecar_conformance::report::Report;
    use sidecar_conformance::report::diff::{self, MatchBy};
    let by = if upgrade {
        MatchBy::Behaviour
    } else {
        MatchBy::VersionAndGate
    };
    let d = diff::diff(&Report::read_json(before)?, &Report::read_json(after)?, by)?;
    let text = match format {
        DiffFormat::Text => diff::render_text(&d),
        DiffFormat::Json => serde_json::to_string_pretty(&d)? + "\n",
        DiffFormat::Markdown => diff::render_markdown(&d),
    };
    print!("{text}");
    Ok(if d.fails() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn render_report(path: &std::path::Path, format: ReportFormat) -> anyhow::Result<ExitCode> {
    use sidecar_conformance::report::{Report, junit, markdown};
    let report = Report::read_json(path)?;
    let text = match format {
        ReportFormat::Text => report.summary_text(),
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Junit => junit::render(&report),
        ReportFormat::Markdown => markdown::render(&report),
        // The observations sit beside report.json, in its run directory.
        ReportFormat::Html => {
            let dir = path.parent().unwrap_or(std::path::Path::new("."));
            sidecar_conformance::report::html::render_with(&report, |r| {
                sidecar_conformance::report::observation_in(dir, r)
            })
        }
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn run_options(
    spec: &ClusterArgs,
    clusters: &WhereArgs,
    requests: Vec<ClusterRequest>,
    behaviours: Vec<&'static Behaviour>,
) -> anyhow::Result<RunOptions> {
    // A given run directory names the run; otherwise a new id names both.
    let run_id = spec
        .run_dir
        .as_ref()
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(matrix::new_run_id);
    let run_dir = spec
        .run_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(&run_id));
    let template = match &spec.kind_config {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        None => cluster::kind::DEFAULT_TEMPLATE.to_string(),
    };
    Ok(RunOptions {
        run_id,
        run_dir: std::path::absolute(run_dir)?,
        cache: spec.cache.clone().unwrap_or_else(supply::default_cache_dir),
        clusters: requests,
        behaviours,
        keep: clusters.keep,
        reuse: clusters.reuse,
        template,
        parallel: clusters.parallel.unwrap_or(1),
        check: None,
        served: None,
    })
}

/// `run`'s version when none is given: the newest one kind publishes where a registry
/// answers (or its image is here), else the newest one built here.
fn default_version(progress: &Progress) -> anyhow::Result<KubeVersion> {
    let published = supply::published::published_images()?;
    if supply::docker_answers() {
        let supply = Supply::new(supply::default_cache_dir(), progress.clone())?;
        let first = published.first().map(|p| supply.plan(p.version, &published));
        match first {
            Some(plan) if plan.is_published() => {
                progress.say(format!(
                    "no --cluster given: Kubernetes {}, the newest version kind {} publishes",
                    plan.version,
                    sidecar_conformance::version::KIND_VERSION
                ));
                return Ok(plan.version);
            }
            Some(supply::Plan {
                route: supply::Route::Build { reason },
                ..
            }) => progress.say(format!(
                "no --cluster given: Kubernetes {DEFAULT_VERSION}, built here ({reason})"
            )),
            _ => {}
        }
    }
    Ok(DEFAULT_VERSION)
}

fn kind_requests(spec: &ClusterArgs) -> Vec<ClusterRequest> {
    if spec.clusters.is_empty() {
        return vec![ClusterRequest::Kind {
            version: DEFAULT_VERSION,
            gate: GateSetting::Default,
        }];
    }
    spec.clusters
        .iter()
        .map(|(version, gate)| ClusterRequest::Kind {
            version: *version,
            gate: *gate,
        })
        .collect()
}

async fn run(args: RunArgs, progress: Progress) -> anyhow::Result<ExitCode> {
    let behaviours: Vec<&'static Behaviour> = if args.behaviours.is_empty() {
        behaviour::catalogue().iter().collect()
    } else {
        args.behaviours
            .iter()
            .map(|id| {
                behaviour::by_id(id).ok_or_else(|| {
                    let ids: Vec<&str> = behaviour::catalogue().iter().map(|b| b.id).collect();
                    anyhow::anyhow!("unknown behaviour {id:?}; known: {}", ids.join(", "))
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    if args.every_minor {
        return every_minor(args, behaviours, progress).await;
    }
    let requests = cluster_requests(&args.spec, &args.clusters, &progress).await?;
    let opts = run_options(&args.spec, &args.clusters, requests, behaviours)?;
    play_all(opts, progress).await
}

/// `bench`: the parts asked for, in one process, their figures printed and written to
/// `bench.json`.
async fn bench(
    spec: ClusterArgs,
    rounds: usize,
    parts: Vec<String>,
    parallel: Option<usize>,
    progress: Progress,
) -> anyhow::Result<ExitCode> {
    use sidecar_conformance::bench;
    let parts: Vec<&str> = if parts.is_empty() {
        vec!["bring-up", "plays"]
    } else {
        parts.iter().map(String::as_str).collect()
    };
    let mut opts = run_options(&spec, &WhereArgs::none(), kind_requests(&spec), vec![])?;
    if parts.contains(&"matrix") && opts.clusters.len() < 2 {
        anyhow::bail!("bench --part matrix needs two or more --cluster");
    }
    std::fs::create_dir_all(&opts.run_dir)?;
    cleanup::delete_all_on_signal();
    let mut json = serde_json::Map::new();
    let mut bare = None;
    if parts.contains(&"bring-up") {
        let single = RunOptions {
            clusters: opts.clusters[..1].to_vec(),
            ..opts.clone()
        };
        let measured = bench::bring_up(&single, rounds.max(1), &progress).await?;
        bare = bench::median(&measured.bare);
        print!("{}", measured.render());
        json.insert("bring_up".into(), serde_json::to_value(&measured)?);
    }
    let everything: Vec<&'static Behaviour> = behaviour::catalogue().iter().collect();
    if parts.contains(&"plays") {
        let measured = bench::plays(&opts, everything.clone(), &progress).await?;
        print!("{}", measured.render(bare));
        json.insert("plays".into(), serde_json::to_value(&measured)?);
    }
    if parts.contains(&"matrix") {
        opts.behaviours = everything;
        let parallel = parallel.unwrap_or_else(|| matrix::machine_bound().0);
        let measured = bench::matrix(&opts, parallel, &progress).await?;
        print!("{}", measured.render());
        json.insert("matrix".into(), serde_json::to_value(&measured)?);
    }
    let path = opts.run_dir.join("bench.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&json)?)?;
    println!("bench: {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// `run --every-minor`: the cells from what the Go module proxy serves and the gate
/// table, several clusters at once.
async fn every_minor(
    args: RunArgs,
    behaviours: Vec<&'static Behaviour>,
    progress: Progress,
) -> anyhow::Result<ExitCode> {
    let cache = args.spec.cache.clone().unwrap_or_else(supply::default_cache_dir);
    let served = tokio::task::spawn_blocking({
        let progress = progress.clone();
        move || Supply::new(cache, progress).map(|s| s.served_versions())
    })
    .await??
    .ok_or_else(|| {
        anyhow::anyhow!("the Go module proxy did not list k8s.io/kubernetes: --every-minor needs its list")
    })?;
    let cells = matrix::every_minor_cells(&served);
    let requests: Vec<ClusterRequest> = cells
        .iter()
        .map(|(version, gate)| ClusterRequest::Kind {
            version: *version,
            gate: *gate,
        })
        .collect();
    let mut opts = run_options(&args.spec, &args.clusters, requests, behaviours)?;
    opts.parallel = match args.clusters.parallel {
        Some(n) => {
            progress.say(format!(
                "--every-minor: {} cells, {n} at once (--parallel)",
                cells.len()
            ));
            n
        }
        None => {
            let (bound, why) = matrix::machine_bound();
            progress.say(format!("--every-minor: {} cells, {why}", cells.len()));
            bound
        }
    };
    progress.say(format!(
        "cells: {}",
        cells
            .iter()
            .map(|(v, g)| format!("{v}:{g}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    opts.served = Some(served);
    play_all(opts, progress).await
}

async fn check_workloads(args: CheckArgs, progress: Progress) -> anyhow::Result<ExitCode> {
    let mut workloads = check::Workloads::load(&args.paths)?;
    workloads.deadline = std::time::Duration::from_secs(args.deadline.max(1));
    workloads.disrupt = args.disrupt.is_some();
    workloads.terminate = args.terminate;
    if workloads.disrupt && args.clusters.kubeconfig.is_some() {
        anyhow::bail!(
            "--disrupt sidecars stops containers through a kind node's runtime: it needs kind clusters, not --kubeconfig"
        );
    }
    let requests = cluster_requests(&args.spec, &args.clusters, &progress).await?;
    let mut opts = run_options(&args.spec, &args.clusters, requests, vec![workloads.behaviour()])?;
    progress.say(format!(
        "check: {} document(s) from {}",
        workloads.documents.len(),
        workloads.inputs.join(", ")
    ));
    opts.check = Some(std::sync::Arc::new(workloads));
    play_all(opts, progress).await
}

/// The clusters of a run or a check: the given kubeconfig's, or kind clusters as given,
/// or the default version's.
async fn cluster_requests(
    spec: &ClusterArgs,
    clusters: &WhereArgs,
    progress: &Progress,
) -> anyhow::Result<Vec<ClusterRequest>> {
    Ok(match &clusters.kubeconfig {
        Some(path) => vec![ClusterRequest::Kubeconfig {
            path: std::path::absolute(path)?,
            gate: clusters.gate,
        }],
        None if spec.clusters.is_empty() => {
            let version = tokio::task::spawn_blocking({
                let progress = progress.clone();
                move || default_version(&progress)
            })
            .await??;
            vec![ClusterRequest::Kind {
                version,
                gate: GateSetting::Default,
            }]
        }
        None => kind_requests(spec),
    })
}

/// Runs the matrix of a run or a check, writes its reports and prints its summary.
async fn play_all(opts: RunOptions, progress: Progress) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&opts.run_dir)?;
    let progress = progress.with_log(&opts.run_dir.join("run.log"))?;
    progress.say(format!("run {} in {}", opts.run_id, opts.run_dir.display()));
    cleanup::delete_all_on_signal();
    let outcome = matrix::run(opts.clone(), &progress).await;
    if cleanup::interrupted() {
        // The signal handler is deleting what the run created; the runtime waits for it
        // before the process exits.
        return Ok(ExitCode::from(130));
    }
    let report = outcome?;
    let paths = report.write_all(&opts.run_dir)?;
    for note in &report.notes {
        println!("note: {note}");
    }
    print!("{}", report.summary_text());
    for path in paths {
        println!("report: {}", path.display());
    }
    Ok(ExitCode::from(report.exit_status()))
}

fn judge(observation: &std::path::Path, expect: &str) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(observation).with_context(|| format!("reading {}", observation.display()))?;
    let obs: behaviour::Observation = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an observation", observation.display()))?;
    let b =
        behaviour::by_id(&obs.behaviour).with_context(|| format!("unknown behaviour {}", obs.behaviour))?;
    let expected: Outcome = serde_json::from_value(serde_json::Value::String(expect.into()))
        .with_context(|| format!("unknown outcome {expect:?}"))?;
    let j = (b.judge)(&obs);
    let verdict = CheckResult::verdict_of(expected, j.outcome);
    println!(
        "{}: expected {expected}, observed {} => {verdict:?}",
        b.id, j.outcome
    );
    for e in &j.evidence {
        println!("  - {e}");
    }
    for f in &j.page_findings {
        println!("  the page is wrong here: {f}");
    }
    Ok(if verdict == Verdict::Pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn clusters(cmd: ClustersCmd, progress: Progress) -> anyhow::Result<ExitCode> {
    match cmd {
        ClustersCmd::Up {
            mut spec,
            clusters_file,
            env_file,
            watch_pid,
        } => {
            if let Some(path) = &clusters_file {
                // A relative path is looked up from the current directory upwards, so that
                // `cargo nextest` run in a subdirectory of the workspace finds clusters.txt.
                let path = if path.is_relative() && !path.exists() {
                    std::env::current_dir()?
                        .ancestors()
                        .map(|d| d.join(path))
                        .find(|p| p.exists())
                        .unwrap_or_else(|| path.clone())
                } else {
                    path.clone()
                };
                let text =
                    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                for c in sidecar_conformance::matrix::parse_clusters_list(&text)
                    .with_context(|| path.display().to_string())?
                {
                    if !spec.clusters.contains(&c) {
                        spec.clusters.push(c);
                    }
                }
            }
            let opts = run_options(&spec, &WhereArgs::none(), kind_requests(&spec), vec![])?;
            let mut serve_args = vec!["--run-dir".to_string(), opts.run_dir.display().to_string()];
            for (v, g) in &spec.clusters {
                serve_args.extend(["--cluster".into(), format!("{v}:{g}")]);
            }
            if let Some(k) = &spec.kind_config {
                serve_args.extend([
                    "--kind-config".into(),
                    std::path::absolute(k)?.display().to_string(),
                ]);
            }
            if let Some(c) = &spec.cache {
                serve_args.extend(["--cache".into(), c.display().to_string()]);
            }
            let pid = watch_pid.unwrap_or_else(keeper::test_runner_pid);
            let file = tokio::task::spawn_blocking(move || {
                keeper::up(&serve_args, &opts.run_dir, env_file.as_deref(), pid)
            })
            .await??;
            progress.say(format!("clusters up: {}", file.display()));
            Ok(ExitCode::SUCCESS)
        }
        ClustersCmd::Serve { spec, watch_pid, log } => {
            let opts = run_options(
                &spec,
                &WhereArgs::none(),
                kind_requests(&spec),
                keeper::all_behaviours(),
            )?;
            let progress = match log {
                Some(l) => progress.with_log(&l)?,
                None => progress,
            };
            keeper::serve(opts, watch_pid, &progress).await?;
            Ok(ExitCode::SUCCESS)
        }
        ClustersCmd::Wait { timeout } => {
            keeper::wait_for_keepers(
                &supply::default_cache_dir(),
                std::time::Duration::from_secs(timeout),
                &progress,
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        ClustersCmd::Matrix { clusters_file } => {
            let text = std::fs::read_to_string(&clusters_file)
                .with_context(|| format!("reading {}", clusters_file.display()))?;
            let published = supply::published::published_images()?;
            let cells: Vec<_> = matrix::parse_clusters_list(&text)?
                .into_iter()
                .map(|(v, g)| supply::published::hosted_cell(v, &g.to_string(), &published))
                .collect();
            println!("{}", serde_json::to_string(&cells)?);
            Ok(ExitCode::SUCCESS)
        }
        ClustersCmd::List => {
            let cache = supply::default_cache_dir();
            for name in cluster::kind::owned_clusters() {
                let state = if cluster::kind::is_running(&name) {
                    "running"
                } else {
                    "stopped"
                };
                let record = cluster::kind::read_record(&cache, &name);
                let owner = match &record {
                    Some(r) if r.keep => "kept".to_string(),
                    Some(r) if cluster::kind::process_alive(r.owner_pid) => {
                        format!("in use by process {}", r.owner_pid)
                    }
                    _ => "leftover".to_string(),
                };
                println!("{name}\t{state}\t{owner}");
            }
            Ok(ExitCode::SUCCESS)
        }
        ClustersCmd::Prune { all } => {
            let cache = supply::default_cache_dir();
            let s = Supply::new(cache.clone(), progress.clone())?;
            let kind = tokio::task::spawn_blocking(move || s.ensure_kind()).await??;
            if all {
                for name in cluster::kind::owned_clusters() {
                    progress.say(format!("deleting {name}"));
                    cluster::kind::delete(&kind, &name)?;
                    let _ = std::fs::remove_file(cluster::kind::record_path(&cache, &name));
                }
            }
            matrix::remove_leftovers(&kind, &cache, &progress).await;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn doctor() -> ExitCode {
    let findings = sidecar_conformance::doctor::examine(&supply::default_cache_dir());
    for f in &findings {
        println!(
            "{} {}: {}",
            if f.ok { "ok     " } else { "MISSING" },
            f.what,
            f.detail
        );
    }
    if findings.iter().all(|f| f.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
