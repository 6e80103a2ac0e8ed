//! The report of a run: one record per (behaviour, cluster), the clusters, and the
//! images that stood in for upstream ones. It is a plain serde model: `report.json` is
//! the model itself, and the text summary for the terminal is here; the harness writes
//! and reads the files and renders the other formats (JUnit XML, Markdown, HTML) and
//! the diff of two reports over it.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fault::Fault;
use crate::gate::{GateEffect, GateProbe, GateSetting};
use crate::judgement::{Outcome, Subject};

/// The report format's version, bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

/// Whether a result is what the gate table says it must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Observed equals expected.
    Pass,
    /// Observed differs from expected.
    Fail,
    /// The check could not be carried out (infrastructure failure); see `error`.
    Error,
}

/// One behaviour on one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub behaviour: String,
    pub title: String,
    pub subject: Subject,
    /// The page's section and sentences the behaviour checks.
    pub section: String,
    pub claims: Vec<String>,
    pub cluster: String,
    pub kubernetes_version: String,
    pub sidecar_gate: GateSetting,
    pub expected: Outcome,
    /// `None` when the check errored before a judgement.
    pub observed: Option<Outcome>,
    pub verdict: Verdict,
    pub evidence: Vec<String>,
    pub duration_ms: u64,
    /// The recorded observation (timeline and objects), relative to the run directory.
    pub observation: Option<String>,
    pub error: Option<String>,
    /// Earlier plays of the same behaviour that were set aside because the container
    /// runtime failed to start a container (see the harness's `runner::MAX_ATTEMPTS`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried: Vec<RetriedAttempt>,
    /// For an `error`: the fault of the cluster or of its image supply that stopped the
    /// play (no judge was asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// The second question, apart from the verdict: where this result shows the page
    /// itself wrong, with what Kubernetes does instead (see [`CheckResult::page_status`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub page_findings: Vec<String>,
    /// For a `fail` or an `error`: the directory (relative to the run directory) with
    /// the namespace's events, container logs, pod objects and the node's journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<String>,
    /// When the behaviour-change table ([`crate::changes`]) says this version has a bug
    /// this behaviour observes: the citation (`known upstream bug
    /// kubernetes/kubernetes#N, fixed in 1.X`). The expectation is then `violated`: the
    /// cluster is to show the bug, as its version does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_bug: Option<String>,
}

/// A play of a behaviour that was set aside, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetriedAttempt {
    /// 1 for the first play.
    pub attempt: u32,
    pub observed: Outcome,
    /// The runtime's start failures that made the play inconclusive.
    pub runtime_failures: Vec<String>,
    /// The judge's evidence for that play.
    pub evidence: Vec<String>,
    /// Its recorded observation, relative to the run directory.
    pub observation: Option<String>,
}

impl Verdict {
    /// `PASS`, `FAIL` or `ERROR`, as summaries print it.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Error => "ERROR",
        }
    }
}

/// The second question of a result: is the page right about what it checked?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PageStatus {
    /// The cluster did what the page says.
    Confirmed,
    /// The page is wrong here: see the result's `page_findings`.
    Wrong,
    /// This result does not show it either way (gate off, a failure, an error).
    NotShown,
}

impl PageStatus {
    pub fn word(self) -> &'static str {
        match self {
            PageStatus::Confirmed => "confirmed",
            PageStatus::Wrong => "page wrong",
            PageStatus::NotShown => "-",
        }
    }
}

impl CheckResult {
    /// A result on a cluster that names no behaviour yet (for checks outside the
    /// catalogue, such as `gate-probe`; the judges' `Behaviour::unjudged` fills in a
    /// behaviour): verdict `error`, nothing observed.
    pub fn blank(
        cluster: &str,
        version: crate::version::KubeVersion,
        gate: GateSetting,
        expected: Outcome,
    ) -> CheckResult {
        CheckResult {
            behaviour: String::new(),
            title: String::new(),
            subject: Subject::Runtime,
            section: String::new(),
            claims: vec![],
            cluster: cluster.into(),
            kubernetes_version: version.to_string(),
            sidecar_gate: gate,
            expected,
            observed: None,
            verdict: Verdict::Error,
            evidence: vec![],
            duration_ms: 0,
            observation: None,
            error: None,
            retried: vec![],
            fault: None,
            page_findings: vec![],
            diagnostics: None,
            known_bug: None,
        }
    }

    /// Whether this result confirms the page, shows it wrong, or neither.
    pub fn page_status(&self) -> PageStatus {
        if !self.page_findings.is_empty() {
            PageStatus::Wrong
        } else if self.verdict == Verdict::Pass
            && self.observed == Some(Outcome::Holds)
            && !self.claims.is_empty()
        {
            PageStatus::Confirmed
        } else {
            PageStatus::NotShown
        }
    }

    /// The verdict of `observed` against `expected`.
    /// The verdict of a judgement where `known_bug` says the expectation is a known
    /// upstream bug. Such a bug is shown only by a check that failed (evidence marked
    /// `NOT:`): a judgement `violated` for want of anything to judge (a play that never
    /// reached what shows the bug) does not show it, and fails, saying so.
    pub fn verdict_of_judgement(
        expected: Outcome,
        known_bug: bool,
        judgement: &mut crate::judgement::Judgement,
    ) -> Verdict {
        let shown = judgement.evidence.iter().any(|e| e.starts_with("NOT:"));
        if known_bug && expected == Outcome::Violated && judgement.outcome == Outcome::Violated && !shown {
            judgement.evidence.push(
                "NOT: the known bug was shown: no check failed, the play never reached what shows it".into(),
            );
            return Verdict::Fail;
        }
        Self::verdict_of(expected, judgement.outcome)
    }

    pub fn verdict_of(expected: Outcome, observed: Outcome) -> Verdict {
        if expected == observed {
            Verdict::Pass
        } else {
            Verdict::Fail
        }
    }
}

/// One cluster of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterReport {
    pub name: String,
    pub kubernetes_version: String,
    pub sidecar_gate: GateSetting,
    /// What the gate table says the cluster does with that setting.
    pub gate_effect: GateEffect,
    /// `kind-created`, `kind-reused` or `kubeconfig`.
    pub origin: String,
    pub node_image: Option<String>,
    /// How the node image was obtained (pulled by digest, or built here with its key).
    pub node_image_origin: Option<serde_json::Value>,
    pub created: bool,
    pub create_ms: u64,
    pub creation_error: Option<String>,
    /// The node's kubelet log lines about feature gates, when creation failed.
    pub gate_log: Vec<String>,
    /// Nodes Ready and CoreDNS running, checked before any behaviour.
    pub health: Option<Health>,
    pub kept: bool,
    /// For a `--kubeconfig` cluster: what a dry run showed of its sidecar support,
    /// which sets `sidecar_gate` when `--gate` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate_probe: Option<GateProbe>,
    /// The cell's wall time: bring-up, every behaviour, deletion (a matrix's cells
    /// against its whole wall time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_ms: Option<u64>,
}

/// What was checked of a new cluster before any behaviour ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Nodes, each Ready.
    pub nodes: Vec<String>,
    /// CoreDNS pods as they were when the nodes were Ready (not waited for).
    pub coredns_pods: Vec<String>,
    /// Time until both held.
    pub ready_ms: u64,
}

/// An image served under another image's name, which every report names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandIn {
    /// What the manifests ask for, e.g. `docker.io/library/alpine:latest`.
    pub upstream: String,
    /// Repository and tag it is pushed under in the local registry (`library/alpine:latest`).
    pub served_as: String,
    /// The local image pushed there.
    pub local_image: String,
    /// What it really is.
    pub content: String,
}

/// Counts of verdicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub format_version: u32,
    pub tool_version: String,
    pub run_id: String,
    pub run_dir: String,
    pub started_at: jiff::Timestamp,
    pub finished_at: jiff::Timestamp,
    /// The page under test (path in the repository).
    pub page: String,
    /// Images served in place of the ones the manifests name.
    pub stand_ins: Vec<StandIn>,
    /// Images the clusters pulled as the manifests name them, from their registry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream_images: Vec<String>,
    pub clusters: Vec<ClusterReport>,
    pub results: Vec<CheckResult>,
    pub summary: Summary,
    /// What a `check` of the user's workloads found that is no verdict: pods without
    /// sidecars, invariants a workload did not exercise (and why).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Report {
    /// A report of a run that started at `started_at` and ends now.
    pub fn new(
        run_id: &str,
        run_dir: &Path,
        started_at: jiff::Timestamp,
        stand_ins: Vec<StandIn>,
        clusters: Vec<ClusterReport>,
        results: Vec<CheckResult>,
    ) -> Report {
        let mut report = Report {
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            run_id: run_id.into(),
            run_dir: run_dir.display().to_string(),
            started_at,
            finished_at: jiff::Timestamp::now(),
            page: crate::doc::PAGE_PATH.into(),
            stand_ins,
            upstream_images: vec![],
            clusters,
            results,
            summary: Summary::default(),
            notes: vec![],
        };
        report.tally();
        report
    }

    /// Counts verdicts into `summary`.
    pub fn tally(&mut self) {
        let mut s = Summary::default();
        for r in &self.results {
            match r.verdict {
                Verdict::Pass => s.pass += 1,
                Verdict::Fail => s.fail += 1,
                Verdict::Error => s.error += 1,
            }
        }
        self.summary = s;
    }

    /// Whether every result passed.
    pub fn all_passed(&self) -> bool {
        !self.results.is_empty() && self.results.iter().all(|r| r.verdict == Verdict::Pass)
    }

    /// The process exit status this report stands for: 0 when every result passed, 1
    /// when a result failed (a deviation to report), else 2 when a check could not be
    /// carried out (an error: no verdict) or there were no results.
    pub fn exit_status(&self) -> u8 {
        if self.all_passed() {
            0
        } else if self.results.iter().any(|r| r.verdict == Verdict::Fail) {
            1
        } else {
            2
        }
    }

    /// Where the page is wrong, once per behaviour and finding (the same finding on
    /// several clusters is listed once), in report order.
    pub fn page_findings(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::new();
        for r in &self.results {
            for f in &r.page_findings {
                if !out.contains(&(r.behaviour.as_str(), f.as_str())) {
                    out.push((&r.behaviour, f));
                }
            }
        }
        out
    }

    /// A plain-text table for the terminal.
    pub fn summary_text(&self) -> String {
        let mut out = String::new();
        let width = self
            .results
            .iter()
            .map(|r| r.behaviour.len())
            .max()
            .unwrap_or(10)
            .max(9);
        out.push_str(&format!(
            "{:<width$}  {:<8} {:<7} {:<16} {:<16} {:<7} {}\n",
            "BEHAVIOUR", "VERSION", "GATE", "EXPECTED", "OBSERVED", "VERDICT", "PAGE"
        ));
        for r in &self.results {
            out.push_str(&format!(
                "{:<width$}  {:<8} {:<7} {:<16} {:<16} {:<7} {}\n",
                r.behaviour,
                r.kubernetes_version,
                r.sidecar_gate.to_string(),
                r.expected.to_string(),
                r.observed.map(|o| o.to_string()).unwrap_or_else(|| "-".into()),
                r.verdict.word(),
                r.page_status().word()
            ));
        }
        out.push_str(&format!(
            "{} passed, {} failed, {} errors\n",
            self.summary.pass, self.summary.fail, self.summary.error
        ));
        for r in self.results.iter().filter(|r| r.verdict == Verdict::Error) {
            out.push_str(&format!(
                "error: {} on {}: {}\n",
                r.behaviour,
                r.cluster,
                r.error.as_deref().unwrap_or("the check could not be carried out")
            ));
        }
        let findings = self.page_findings();
        if !findings.is_empty() {
            out.push_str(&format!("the page is wrong in {} place(s):\n", findings.len()));
            for (behaviour, f) in findings {
                out.push_str(&format!("  {behaviour}: {f}\n"));
            }
        }
        for r in self.results.iter().filter(|r| !r.retried.is_empty()) {
            out.push_str(&format!(
                "note: {} on {} was played {} times: the container runtime failed to start a container in an earlier play\n",
                r.behaviour,
                r.cluster,
                r.retried.len() + 1
            ));
        }
        for s in &self.stand_ins {
            out.push_str(&format!(
                "note: {} was served by a stand-in: {} ({})\n",
                s.upstream, s.local_image, s.content
            ));
        }
        for image in &self.upstream_images {
            out.push_str(&format!(
                "note: {image} was pulled from its registry (no stand-in)\n"
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_bug_is_shown_by_a_failed_check_not_by_missing_evidence() {
        use crate::judgement::Judgement;
        let mut missing = Judgement {
            outcome: Outcome::Violated,
            evidence: vec!["the node was never restarted".into()],
            page_findings: vec![],
        };
        assert_eq!(
            CheckResult::verdict_of_judgement(Outcome::Violated, true, &mut missing),
            Verdict::Fail
        );
        assert!(
            missing
                .evidence
                .last()
                .unwrap()
                .starts_with("NOT: the known bug was shown")
        );
        let mut shown = Judgement {
            outcome: Outcome::Violated,
            evidence: vec!["NOT: the app started after the sidecar".into()],
            page_findings: vec![],
        };
        assert_eq!(
            CheckResult::verdict_of_judgement(Outcome::Violated, true, &mut shown),
            Verdict::Pass
        );
        // Without a known bug nothing changes: missing evidence of a claim fails it.
        let mut missing = Judgement {
            outcome: Outcome::Violated,
            evidence: vec!["pod never seen".into()],
            page_findings: vec![],
        };
        assert_eq!(
            CheckResult::verdict_of_judgement(Outcome::Holds, false, &mut missing),
            Verdict::Fail
        );
    }

    #[test]
    fn verdict_compares_expected_and_observed() {
        assert_eq!(
            CheckResult::verdict_of(Outcome::Holds, Outcome::Holds),
            Verdict::Pass
        );
        assert_eq!(
            CheckResult::verdict_of(Outcome::SidecarIgnored, Outcome::Holds),
            Verdict::Fail
        );
        assert_eq!(
            CheckResult::verdict_of(Outcome::Holds, Outcome::SidecarIgnored),
            Verdict::Fail
        );
    }
}
