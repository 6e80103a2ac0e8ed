//! `bench`: what the harness costs on top of kind, measured side by side in one run so
//! that the ratio holds on a noisy machine (absolute times on 2 shared cores do not).
//!
//! Cluster bring-up: the harness's own (`kind create cluster`, then its health wait,
//! watching for node Ready) against a bare `kind create cluster --wait 3m` (kind's own
//! wait for the node, as a user runs it) with the same node image and the same rendered
//! config, followed by the same health wait.
//! Rounds alternate which goes first; medians are compared. Every cluster is deleted
//! after its round (also on Ctrl-C: each is a registered resource).
//!
//! Plays: a warm `run` of every behaviour on one cluster, each play's wall time against
//! its inherent waits (the catalogue's `inherent`: sleeps, grace periods, back-offs the
//! scenario cannot avoid), and the whole run against its floor: the bare bring-up
//! measured in the same bench plus the longest inherent wait.
//!
//! Matrix: the clusters given, each run alone one after the other, then all in one
//! run at the machine's bound: the matrix's wall against the sum of its cells.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cleanup::{Owned, Resource};
use crate::error::RunError;
use crate::matrix::{self, RunOptions};
use crate::progress::Progress;

/// Bring-up times of both sides, round by round.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BringUp {
    pub harness: Vec<Duration>,
    pub bare: Vec<Duration>,
}

impl BringUp {
    /// Median harness time over median bare time.
    pub fn ratio(&self) -> Option<f64> {
        Some(median(&self.harness)?.as_secs_f64() / median(&self.bare)?.as_secs_f64())
    }

    pub fn render(&self) -> String {
        let secs = |v: &[Duration]| {
            v.iter()
                .map(|d| format!("{:.1}", d.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let med = |v: &[Duration]| {
            median(v)
                .map(|d| format!("{:.1} s", d.as_secs_f64()))
                .unwrap_or("-".into())
        };
        format!(
            "cluster bring-up, {} rounds side by side:\n  harness   {} (median {})\n  bare kind {} (median {})\n  ratio     {}\n",
            self.harness.len(),
            secs(&self.harness),
            med(&self.harness),
            secs(&self.bare),
            med(&self.bare),
            self.ratio().map(|r| format!("{r:.2}x")).unwrap_or("-".into())
        )
    }
}

/// A warm run of every behaviour on one cluster.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Plays {
    /// The whole `run`: registry, bring-up, every play, deletion.
    pub run: Duration,
    /// Bring-up of its cluster (kind create and the health wait).
    pub bring_up: Duration,
    /// Each behaviour: wall time of its play, its inherent waits, whether it plays
    /// alone (after the others: it restarts its node).
    pub behaviours: Vec<(String, Duration, Duration, bool)>,
}

impl Plays {
    /// The run's floor: a bare bring-up (`bare`, measured alongside), the longest
    /// inherent wait of the plays that run together, and the inherent waits of those
    /// that must play alone, one after another.
    pub fn floor(&self, bare: Duration) -> Duration {
        let together = self
            .behaviours
            .iter()
            .filter(|b| !b.3)
            .map(|b| b.2)
            .max()
            .unwrap_or_default();
        let alone: Duration = self.behaviours.iter().filter(|b| b.3).map(|b| b.2).sum();
        bare + together + alone
    }

    pub fn render(&self, bare: Option<Duration>) -> String {
        let mut out = String::from("plays, one warm run of every behaviour:\n");
        for (id, wall, inherent, _) in &self.behaviours {
            let ratio = if inherent.is_zero() {
                "-".to_string()
            } else {
                format!("{:.2}x", wall.as_secs_f64() / inherent.as_secs_f64())
            };
            out.push_str(&format!(
                "  {id:<32} {:>6.1} s, inherent {:>4.0} s, {ratio:>6}, overhead {:.1} s\n",
                wall.as_secs_f64(),
                inherent.as_secs_f64(),
                wall.as_secs_f64() - inherent.as_secs_f64()
            ));
        }
        out.push_str(&format!(
            "  run {:.1} s (bring-up {:.1} s)\n",
            self.run.as_secs_f64(),
            self.bring_up.as_secs_f64()
        ));
        if let Some(bare) = bare {
            let floor = self.floor(bare);
            out.push_str(&format!(
                "  floor {:.1} s (bare bring-up {:.1} s + the longest inherent wait + those of plays alone): run/floor {:.2}x\n",
                floor.as_secs_f64(),
                bare.as_secs_f64(),
                self.run.as_secs_f64() / floor.as_secs_f64()
            ));
        }
        out
    }
}

/// A matrix against its cells run one by one.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Matrix {
    pub cells: Vec<(String, Duration)>,
    pub together: Duration,
    pub parallel: usize,
}

impl Matrix {
    pub fn ratio(&self) -> Option<f64> {
        let sum: Duration = self.cells.iter().map(|(_, d)| *d).sum();
        (!sum.is_zero()).then(|| self.together.as_secs_f64() / sum.as_secs_f64())
    }

    pub fn render(&self) -> String {
        let sum: Duration = self.cells.iter().map(|(_, d)| *d).sum();
        let mut out = format!("matrix of {} cells:\n", self.cells.len());
        for (cell, d) in &self.cells {
            out.push_str(&format!("  alone {cell:<16} {:.1} s\n", d.as_secs_f64()));
        }
        out.push_str(&format!(
            "  sum {:.1} s; together, {} at once, {:.1} s: {}\n",
            sum.as_secs_f64(),
            self.parallel,
            self.together.as_secs_f64(),
            self.ratio().map(|r| format!("{r:.2}x")).unwrap_or("-".into())
        ));
        out
    }
}

/// Runs `behaviours` on `opts.clusters[0]` once, as `run` does; what each play took.
pub async fn plays(
    opts: &RunOptions,
    behaviours: Vec<&'static crate::behaviour::Behaviour>,
    progress: &Progress,
) -> Result<Plays, RunError> {
    let mut opts = opts.clone();
    opts.clusters.truncate(1);
    opts.run_dir = opts.run_dir.join("plays");
    opts.behaviours = behaviours.clone();
    let started = Instant::now();
    let report = matrix::run(opts, progress).await?;
    let run = started.elapsed();
    let bring_up = report
        .clusters
        .first()
        .map(|c| Duration::from_millis(c.create_ms + c.health.as_ref().map_or(0, |h| h.ready_ms)))
        .unwrap_or_default();
    let behaviours = behaviours
        .iter()
        .filter_map(|b| {
            let r = report.results.iter().find(|r| r.behaviour == b.id)?;
            Some((
                b.id.to_string(),
                Duration::from_millis(r.duration_ms),
                b.inherent,
                b.disrupts_node(),
            ))
        })
        .collect();
    Ok(Plays {
        run,
        bring_up,
        behaviours,
    })
}

/// Runs each cluster of `opts` alone (every behaviour of `opts`), then all of them in
/// one run, `parallel` at once.
pub async fn matrix(opts: &RunOptions, parallel: usize, progress: &Progress) -> Result<Matrix, RunError> {
    let mut out = Matrix {
        parallel,
        ..Default::default()
    };
    for (i, cluster) in opts.clusters.iter().enumerate() {
        let mut one = opts.clone();
        one.clusters = vec![cluster.clone()];
        one.run_dir = opts.run_dir.join(format!("matrix-alone-{i}"));
        let started = Instant::now();
        matrix::run(one, progress).await?;
        let took = started.elapsed();
        progress.say(format!(
            "matrix: {} alone {:.1} s",
            cluster.label(),
            took.as_secs_f64()
        ));
        out.cells.push((cluster.label(), took));
    }
    let mut all = opts.clone();
    all.parallel = parallel;
    all.run_dir = opts.run_dir.join("matrix-together");
    let started = Instant::now();
    matrix::run(all, progress).await?;
    out.together = started.elapsed();
    progress.say(format!(
        "matrix: {} cells together {:.1} s",
        opts.clusters.len(),
        out.together.as_secs_f64()
    ));
    Ok(out)
}

/// The median of `v` (the lower middle for an even count).
pub fn median(v: &[Duration]) -> Option<Duration> {
    let mut v = v.to_vec();
    v.sort();
    v.get(v.len().saturating_sub(1) / 2).copied()
}

/// Brings a cluster of `opts.clusters[0]` up `rounds` times each way.
pub async fn bring_up(opts: &RunOptions, rounds: usize, progress: &Progress) -> Result<BringUp, RunError> {
    let request = opts
        .clusters
        .first()
        .ok_or_else(|| RunError::Refused("bench needs one kind cluster".into()))?;
    let prepared = matrix::prepare(opts, progress).await?;
    let kind = prepared
        .provider
        .as_ref()
        .ok_or_else(|| RunError::Refused("bench needs a kind cluster, not --kubeconfig".into()))?
        .kind
        .clone();
    let mut out = BringUp::default();
    // The bare side uses the config the harness rendered for its first cluster.
    let mut config = None;
    for round in 0..rounds {
        let harness_first = round % 2 == 0 || config.is_none();
        for side in if harness_first {
            [true, false]
        } else {
            [false, true]
        } {
            if side {
                let started = Instant::now();
                let up = matrix::bring_up(request, &prepared, opts, progress).await?;
                let took = started.elapsed();
                let cluster = up.cluster.map_err(|f| RunError::Cluster(f.error))?;
                config.get_or_insert_with(|| {
                    opts.run_dir
                        .join("clusters")
                        .join(&cluster.name)
                        .join("kind-config.yaml")
                });
                tokio::task::spawn_blocking(move || cluster.delete()).await??;
                progress.say(format!(
                    "round {}: harness bring-up {:.1} s",
                    round + 1,
                    took.as_secs_f64()
                ));
                out.harness.push(took);
            } else {
                let config = config.clone().expect("set by the first harness side");
                let took = bare(&kind, &config, &opts.run_dir, round).await?;
                progress.say(format!(
                    "round {}: bare kind bring-up {:.1} s",
                    round + 1,
                    took.as_secs_f64()
                ));
                out.bare.push(took);
            }
        }
    }
    Ok(out)
}

/// `kind create cluster` with `config`, then the harness's health wait; deleted after.
async fn bare(kind: &Path, config: &Path, run_dir: &Path, round: usize) -> Result<Duration, RunError> {
    let name = format!("sc-bench-bare-{}-{round}", crate::runner::short_random());
    let dir = run_dir.join("bench").join(&name);
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = dir.join("kubeconfig");
    let guard = Owned::new(Resource::KindCluster {
        kind: kind.to_path_buf(),
        name: name.clone(),
    });
    let started = Instant::now();
    let status = Command::new(kind)
        .args(["create", "cluster", "--name", &name, "--wait", "3m", "--config"])
        .arg(config)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("kind-create.log"))?)
        .status()?;
    if !status.success() {
        return Err(RunError::Refused(format!(
            "bare kind create cluster {name} failed; its log: {}",
            dir.join("kind-create.log").display()
        )));
    }
    let (client, _) = crate::cluster::client_for(&kubeconfig).await?;
    crate::cluster::check_health(&client, Duration::from_secs(180))
        .await
        .map_err(crate::error::PlayError::from)?;
    let took = started.elapsed();
    tokio::task::spawn_blocking(move || guard.delete())
        .await?
        .map_err(crate::error::ClusterError::from)?;
    Ok(took)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_set_against_bare_kind_and_its_longest_inherent_wait() {
        let s = Duration::from_secs;
        let plays = Plays {
            run: s(90),
            bring_up: s(40),
            behaviours: vec![("a".into(), s(50), s(36), false), ("b".into(), s(5), s(0), false)],
        };
        assert_eq!(plays.floor(s(35)), s(71));
        let mut with_alone = plays.clone();
        with_alone.behaviours.push(("c".into(), s(40), s(26), true));
        assert_eq!(with_alone.floor(s(35)), s(97));
        let text = plays.render(Some(s(35)));
        assert!(text.contains("run/floor 1.27x"), "{text}");
        assert!(text.contains("1.39x"), "{text}");
        let m = Matrix {
            cells: vec![("x".into(), s(100)), ("y".into(), s(100))],
            together: s(120),
            parallel: 2,
        };
        assert!(m.render().contains("0.60x"), "{}", m.render());
    }

    #[test]
    fn the_ratio_is_of_medians() {
        let s = |v: &[u64]| v.iter().map(|s| Duration::from_secs(*s)).collect::<Vec<_>>();
        let b = BringUp {
            harness: s(&[44, 42, 90]),
            bare: s(&[35, 36, 34]),
        };
        assert_eq!(median(&b.harness), Some(Duration::from_secs(44)));
        assert!((b.ratio().unwrap() - 44.0 / 35.0).abs() < 1e-9);
        assert!(b.render().contains("ratio     1.26x"), "{}", b.render());
        assert_eq!(BringUp::default().ratio(), None);
    }
}
