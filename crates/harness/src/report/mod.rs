//! The report's formats. The report itself is a plain serde model
//! ([`sidecar_conformance_model::report`], re-exported here); this writes and reads its
//! files ([`ReportFiles`]) and renders it: `report.json` (the model itself), JUnit XML
//! ([`junit`]), Markdown ([`markdown`]), HTML ([`html`]); the text summary for the
//! terminal is the model's. [`diff`] compares two reports; [`journal`] is the run's
//! results as they are reached.

pub mod diff;
pub mod html;
pub mod journal;
pub mod junit;
pub mod markdown;
pub mod timeline;

use std::path::{Path, PathBuf};

pub use sidecar_conformance_model::report::*;

use crate::error::ReportError;

/// A report's files: what the harness writes into a run directory and reads back.
pub trait ReportFiles: Sized {
    /// Writes `report.json` into `dir`.
    fn write_json(&self, dir: &Path) -> std::io::Result<PathBuf>;
    /// Writes every format into `dir`: `report.json`, `report.xml` (JUnit), `report.md`
    /// and `report.html`; returns their paths in that order.
    fn write_all(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>>;
    /// Reads a `report.json`.
    fn read_json(path: &Path) -> Result<Self, ReportError>;
}

impl ReportFiles for Report {
    fn write_json(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join("report.json");
        std::fs::write(&path, serde_json::to_vec_pretty(self)?)?;
        Ok(path)
    }

    fn write_all(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        let json = self.write_json(dir)?;
        let mut paths = vec![json];
        for (file, text) in [
            ("report.xml", junit::render(self)),
            ("report.md", markdown::render(self)),
            ("report.html", html::render_with(self, |r| observation_in(dir, r))),
        ] {
            let path = dir.join(file);
            std::fs::write(&path, text)?;
            paths.push(path);
        }
        Ok(paths)
    }

    fn read_json(path: &Path) -> Result<Report, ReportError> {
        let text = std::fs::read(path).map_err(|error| ReportError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let report: Report = serde_json::from_slice(&text).map_err(|error| ReportError::NotAReport {
            path: path.to_path_buf(),
            error,
        })?;
        if report.format_version > FORMAT_VERSION {
            return Err(ReportError::NewerFormat {
                path: path.to_path_buf(),
                found: report.format_version,
                supported: FORMAT_VERSION,
            });
        }
        Ok(report)
    }
}

/// Cluster names in report order: the clusters' list first, then any cluster only the
/// results name.
fn clusters_in_order(report: &Report) -> Vec<String> {
    let mut names: Vec<String> = report.clusters.iter().map(|c| c.name.clone()).collect();
    for r in &report.results {
        if !names.contains(&r.cluster) {
            names.push(r.cluster.clone());
        }
    }
    names.retain(|n| report.results.iter().any(|r| &r.cluster == n));
    names
}

/// A result's claims, error, evidence, set-aside plays and observation, as plain text.
fn details_text(r: &CheckResult) -> String {
    let mut lines = Vec::new();
    lines.push(format!(
        "{}: expected {}, observed {}",
        r.behaviour,
        r.expected,
        r.observed.map(|o| o.to_string()).unwrap_or_else(|| "-".into())
    ));
    lines.extend(r.claims.iter().map(|c| format!("claim: {c}")));
    lines.extend(r.error.iter().map(|e| format!("error: {e}")));
    lines.extend(r.evidence.iter().map(|e| format!("- {e}")));
    lines.extend(
        r.page_findings
            .iter()
            .map(|f| format!("the page is wrong here: {f}")),
    );
    for a in &r.retried {
        lines.push(format!(
            "play {} set aside (observed {}): {}",
            a.attempt,
            a.observed,
            a.runtime_failures.join("; ")
        ));
    }
    lines.extend(r.observation.iter().map(|o| format!("observation: {o}")));
    lines.extend(r.diagnostics.iter().map(|d| format!("diagnostics: {d}")));
    lines.join("\n")
}

/// A result's saved observation, read from the run directory `dir`.
pub fn observation_in(dir: &Path, r: &CheckResult) -> Option<crate::behaviour::Observation> {
    let text = std::fs::read(dir.join(r.observation.as_ref()?)).ok()?;
    serde_json::from_slice(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::Outcome;

    #[test]
    fn every_format_is_written() {
        let report: Report = serde_json::from_str(include_str!(
            "../../../../suites/fixtures/reports/four-clusters.json"
        ))
        .unwrap();
        let dir = std::env::temp_dir().join(format!("sc-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let paths = report.write_all(&dir).unwrap();
        let names: Vec<_> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["report.json", "report.xml", "report.md", "report.html"]);
        for p in &paths {
            assert!(std::fs::metadata(p).unwrap().len() > 1000, "{}", p.display());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A report with every field a result can carry: a replayed play, a gate probe that
    /// fails, an error with its fault and diagnostics, and a page finding.
    fn every_field() -> Report {
        let mut report: Report = serde_json::from_str(include_str!(
            "../../../../suites/fixtures/reports/four-clusters.json"
        ))
        .unwrap();
        report.results.truncate(3);
        let replayed = &mut report.results[0];
        replayed.retried.push(RetriedAttempt {
            attempt: 1,
            observed: Outcome::Violated,
            runtime_failures: vec![
                "pod p: the container runtime failed to start app (StartError): unable to freeze".into(),
            ],
            evidence: vec!["NOT: app started after sidecar".into()],
            observation: Some("observations/c/deployment-ready.attempt-1.json".into()),
        });
        let errored = &mut report.results[1];
        errored.verdict = Verdict::Error;
        errored.observed = None;
        errored.fault = Some(crate::fault::Fault {
            kind: crate::fault::FaultKind::Kubelet,
            seen_at: jiff::Timestamp::UNIX_EPOCH,
            detail: "node n: its kubelet has not renewed its lease for 20 s".into(),
        });
        errored.error = Some(errored.fault.as_ref().unwrap().to_string());
        errored.diagnostics = Some("diagnostics/c/job-completes".into());
        let found = &mut report.results[2];
        found.page_findings =
            vec!["the page's effective-request rule <ignores> sidecars before an init container".into()];
        let mut probe = report.results[0].clone();
        probe.behaviour = "gate-probe".into();
        probe.retried.clear();
        probe.verdict = Verdict::Fail;
        probe.observed = Some(Outcome::SidecarIgnored);
        probe.evidence =
            vec!["NOT: sidecars stripped on a cluster whose version and gate enable them".into()];
        report.results.push(probe);
        report.tally();
        report
    }

    #[test]
    fn every_format_shows_both_questions_errors_replays_and_the_probe() {
        let report = every_field();
        assert_eq!(report.exit_status(), 1, "a fail outranks an error");
        let text = report.summary_text();
        let junit = junit::render(&report);
        let md = markdown::render(&report);
        let page = html::render(&report);
        for (format, out) in [
            ("text", &text),
            ("junit", &junit),
            ("markdown", &md),
            ("html", &page),
        ] {
            assert!(out.contains("gate-probe"), "{format}: no gate probe");
            assert!(out.contains("kubelet lost"), "{format}: no fault");
            assert!(
                out.contains("effective-request rule"),
                "{format}: no page finding"
            );
        }
        assert!(text.contains("page wrong") && text.contains("error: job-completes"));
        assert!(junit.contains("<flakyFailure") && junit.contains("unable to freeze"));
        assert!(junit.contains("<error message=\"kubelet lost"));
        assert!(md.contains("played 2 times") && md.contains("## Where the page is wrong"));
        assert!(md.contains("diagnostics/c/job-completes"));
        assert!(page.contains("played 2 times") && page.contains("&lt;ignores&gt;"));
        assert!(page.contains("href=\"diagnostics/c/job-completes/\""));
        // The model round-trips through report.json with every field.
        let back: Report = serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
        assert_eq!(back, report);
        // Without the failure, an error alone exits 2: no verdict, no pass either.
        let mut errors_only = report.clone();
        errors_only.results.retain(|r| r.verdict != Verdict::Fail);
        errors_only.tally();
        assert_eq!(errors_only.exit_status(), 2);
    }
}
