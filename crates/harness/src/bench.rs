//! `bench`: what the harness costs on top of kind, measured side by side in one run so
//! that the ratio holds on a noisy machine (absolute times on 2 shared cores do not).
//!
//! Cluster bring-up: the harness's own (`kind create cluster --wait 3m`, then its
//! health wait: node Ready, CoreDNS Running) against a bare `kind create cluster` with
//! the same node image and the same rendered config, followed by the same health wait.
//! Rounds alternate which goes first; medians are compared. Every cluster is deleted
//! after its round (also on Ctrl-C: each is a registered resource).

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
