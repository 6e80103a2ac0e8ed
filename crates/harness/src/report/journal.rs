//! The run's journal, `results.jsonl`: every cluster and every result appended (and
//! flushed) the moment it is reached, so that a run that is killed (SIGKILL, a machine
//! that stops) loses no verdict it had reached. `report rebuild <run dir>` writes the
//! four reports of such a run from it; a run that ends normally writes them itself.

use crate::error::ReportError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{CheckResult, ClusterReport, Report};
use crate::supply::StandIn;

/// File name of the journal in the run directory.
pub const JOURNAL_FILE: &str = "results.jsonl";

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "kebab-case")]
pub enum Entry {
    /// The run began, with what it set out to check: a rebuilt report names every
    /// planned result the run did not reach.
    Started {
        run_id: String,
        started_at: jiff::Timestamp,
        #[serde(default)]
        behaviours: Vec<String>,
        /// The clusters asked for, as `VERSION:GATE` (kind) or `kubeconfig PATH`.
        #[serde(default)]
        clusters: Vec<String>,
    },
    /// Images served in place of upstream ones, and those pulled as named.
    StandIns {
        stand_ins: Vec<StandIn>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        upstream: Vec<String>,
    },
    /// A cluster was brought up (or could not be).
    Cluster { cluster: Box<ClusterReport> },
    /// A result was reached.
    Result { result: Box<CheckResult> },
}

/// An append-only journal, shared by the concurrent parts of a run.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Journal {
    /// Opens (creating) the journal of `run_dir`.
    pub fn open(run_dir: &Path) -> std::io::Result<Journal> {
        let path = run_dir.join(JOURNAL_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(Journal {
            path,
            file: Mutex::new(file),
        })
    }

    /// Appends one entry as one line and flushes it to the file system: a line is
    /// written whole or not at all as far as a reader after a kill is concerned (a torn
    /// last line is skipped by [`read`]).
    pub fn append(&self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        let mut f = self.file.lock().expect("journal lock");
        f.write_all(&line)?;
        f.flush()?;
        f.sync_data()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The entries of a journal; a line that does not parse (the last one, torn by a kill)
/// is skipped.
pub fn read(run_dir: &Path) -> std::io::Result<Vec<Entry>> {
    let text = std::fs::read_to_string(run_dir.join(JOURNAL_FILE))?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// The report of a run from its journal: every cluster and result it reached. A result
/// reached twice (a keeper that saved it again) counts once, the later one.
pub fn rebuild(run_dir: &Path) -> Result<Report, ReportError> {
    let entries = read(run_dir).map_err(|error| ReportError::NoJournal {
        run_dir: run_dir.to_path_buf(),
        file: JOURNAL_FILE,
        error,
    })?;
    let mut run_id = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut started_at = None;
    let mut planned: (Vec<String>, Vec<String>) = (vec![], vec![]);
    let mut stand_ins = Vec::new();
    let mut upstream = Vec::new();
    let mut clusters: Vec<ClusterReport> = Vec::new();
    let mut results: Vec<CheckResult> = Vec::new();
    for e in entries {
        match e {
            Entry::Started {
                run_id: id,
                started_at: at,
                behaviours,
                clusters,
            } => {
                run_id = id;
                started_at = Some(at);
                planned = (behaviours, clusters);
            }
            Entry::StandIns {
                stand_ins: s,
                upstream: u,
            } => (stand_ins, upstream) = (s, u),
            Entry::Cluster { cluster } => {
                clusters.retain(|c| c.name != cluster.name);
                clusters.push(*cluster);
            }
            Entry::Result { result } => {
                results.retain(|r| !(r.cluster == result.cluster && r.behaviour == result.behaviour));
                results.push(*result);
            }
        }
    }
    results.extend(not_reached(&planned.0, &planned.1, &clusters, &results));
    let mut report = Report::new(
        &run_id,
        run_dir,
        started_at.unwrap_or_else(jiff::Timestamp::now),
        stand_ins,
        clusters,
        results,
    );
    report.upstream_images = upstream;
    // The run did not finish: its end is the last thing the journal saw.
    if let Ok(meta) = std::fs::metadata(run_dir.join(JOURNAL_FILE))
        && let Ok(modified) = meta.modified()
        && let Ok(t) = jiff::Timestamp::try_from(modified)
    {
        report.finished_at = t;
    }
    Ok(report)
}

/// An `error` result for every planned (cluster, behaviour) the journal has no result
/// of: a rebuilt report of a run that was cut short must not pass on what it never did.
fn not_reached(
    behaviours: &[String],
    requested: &[String],
    clusters: &[ClusterReport],
    results: &[CheckResult],
) -> Vec<CheckResult> {
    let label = |c: &ClusterReport| match c.origin.as_str() {
        "kubeconfig" => None,
        _ => Some(format!("{}:{}", c.kubernetes_version, c.sidecar_gate)),
    };
    // Requests without a cluster entry never came up: name them by the request.
    let mut unmatched: Vec<String> = requested.to_vec();
    for c in clusters {
        let pos = match label(c) {
            Some(l) => unmatched.iter().position(|r| *r == l),
            None => unmatched.iter().position(|r| r.starts_with("kubeconfig ")),
        };
        if let Some(i) = pos {
            unmatched.remove(i);
        }
    }
    let targets = clusters
        .iter()
        .map(|c| (c.name.clone(), c.kubernetes_version.clone(), c.sidecar_gate))
        .chain(unmatched.iter().map(|r| {
            let (version, gate) = r.split_once(':').unwrap_or((r.as_str(), "default"));
            (
                format!("{r} (never brought up)"),
                version.to_string(),
                gate.parse().unwrap_or(crate::gate::GateSetting::Default),
            )
        }));
    let mut out = Vec::new();
    for (cluster, version, gate) in targets {
        for id in behaviours {
            if results.iter().any(|r| r.cluster == cluster && &r.behaviour == id) {
                continue;
            }
            let Some(b) = crate::behaviour::by_id(id) else {
                continue;
            };
            let version = version.parse().unwrap_or(crate::version::DEFAULT_VERSION);
            let mut result = b.unjudged(&cluster, version, gate);
            result.error = Some(
                "not reached: the run ended before this result (report rebuilt from its journal)".into(),
            );
            out.push(result);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_run_is_rebuilt_from_its_journal_and_a_torn_line_is_skipped() {
        let full: Report = serde_json::from_str(include_str!(
            "../../../../suites/fixtures/reports/four-clusters.json"
        ))
        .unwrap();
        let dir = std::env::temp_dir().join(format!("sc-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let j = Journal::open(&dir).unwrap();
        j.append(&Entry::Started {
            run_id: full.run_id.clone(),
            started_at: full.started_at,
            behaviours: vec![],
            clusters: vec![],
        })
        .unwrap();
        j.append(&Entry::Cluster {
            cluster: Box::new(full.clusters[0].clone()),
        })
        .unwrap();
        for r in full.results.iter().take(3) {
            j.append(&Entry::Result {
                result: Box::new(r.clone()),
            })
            .unwrap();
        }
        // A kill in the middle of a write.
        std::fs::OpenOptions::new()
            .append(true)
            .open(j.path())
            .unwrap()
            .write_all(b"{\"entry\":\"result\",\"result\":{\"behav")
            .unwrap();
        let rebuilt = rebuild(&dir).unwrap();
        assert_eq!(rebuilt.run_id, full.run_id);
        assert_eq!(rebuilt.results, full.results[..3].to_vec());
        assert_eq!(rebuilt.clusters.len(), 1);
        assert_eq!(
            rebuilt.summary.pass + rebuilt.summary.fail + rebuilt.summary.error,
            3
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_rebuilt_report_names_what_the_run_did_not_reach_as_errors() {
        let full: Report = serde_json::from_str(include_str!(
            "../../../../suites/fixtures/reports/four-clusters.json"
        ))
        .unwrap();
        let cluster = full.clusters[0].clone();
        let done: Vec<CheckResult> = full
            .results
            .iter()
            .filter(|r| r.cluster == cluster.name && r.verdict == super::super::Verdict::Pass)
            .take(1)
            .cloned()
            .collect();
        assert_eq!(done.len(), 1);
        let behaviours = vec![done[0].behaviour.clone(), "job-completes".to_string()];
        let requested = vec![
            format!("{}:{}", cluster.kubernetes_version, cluster.sidecar_gate),
            "1.32.2:off".to_string(),
        ];
        let missing = not_reached(&behaviours, &requested, std::slice::from_ref(&cluster), &done);
        let names: Vec<(String, String)> = missing
            .iter()
            .map(|r| (r.cluster.clone(), r.behaviour.clone()))
            .collect();
        assert_eq!(
            names,
            vec![
                (cluster.name.clone(), "job-completes".to_string()),
                (
                    "1.32.2:off (never brought up)".to_string(),
                    done[0].behaviour.clone()
                ),
                (
                    "1.32.2:off (never brought up)".to_string(),
                    "job-completes".to_string()
                ),
            ]
        );
        assert!(missing.iter().all(|r| r.verdict == super::super::Verdict::Error));
        // One pass reached before the kill does not make the rebuilt run green.
        let mut results = done.clone();
        results.extend(missing);
        let report = Report::new(
            "r",
            std::path::Path::new("/tmp"),
            full.started_at,
            vec![],
            vec![cluster],
            results,
        );
        assert_eq!(report.exit_status(), 2);
    }
}
