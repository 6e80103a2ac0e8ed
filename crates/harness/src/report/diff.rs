//! `report diff`: two runs' reports side by side, for a CI gate and for cluster
//! upgrades. A result that passed before and does not pass after is a regression; a
//! result of the first run that the second did not produce is a coverage loss. Either
//! fails the diff. Results are matched on behaviour, Kubernetes version and gate; for an
//! upgrade (`MatchBy::Behaviour`) each report holds one cluster and results are matched
//! on behaviour alone.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::{CheckResult, Report, Verdict};
use crate::behaviour::Outcome;
use crate::gate::GateSetting;

/// How results of the two reports are paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchBy {
    /// Same behaviour on a cluster of the same version and gate setting.
    VersionAndGate,
    /// Same behaviour; each report has results of one cluster only (before and after an
    /// upgrade, or two clusters someone wants compared).
    Behaviour,
}

/// Why two reports cannot be compared.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DiffError {
    #[error(
        "the {side} report has results of {count} clusters ({names}); matching on behaviour alone needs exactly one"
    )]
    NotOneCluster {
        side: &'static str,
        count: usize,
        names: String,
    },
}

/// One result as the diff shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub cluster: String,
    pub kubernetes_version: String,
    pub sidecar_gate: GateSetting,
    pub expected: Outcome,
    pub observed: Option<Outcome>,
    pub verdict: Verdict,
    /// The evidence lines that failed (`NOT: ...`), or the error.
    pub failed_evidence: Vec<String>,
    /// The second question: whether this result confirmed the page or showed it wrong.
    #[serde(default = "not_shown")]
    pub page: super::PageStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub page_findings: Vec<String>,
}

fn not_shown() -> super::PageStatus {
    super::PageStatus::NotShown
}

/// What happened to a result between the two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Passed before, fails now: the cluster deviates where it did not.
    Regressed,
    /// Passed before, could not be checked now (an `error`: the cluster, its runtime or
    /// its image supply failed). Not a regression, but no proof of its absence either.
    Unchecked,
    /// In the first report, not in the second.
    Missing,
    /// Did not pass before, passes now.
    Fixed,
    /// Did not pass in either.
    StillFailing,
    /// Passes in both, but the cluster does something else now (e.g. `sidecar-ignored`
    /// before and `holds` after an upgrade, each as its table expects).
    ChangedAsExpected,
    /// Passes in both with the same outcome.
    Unchanged,
    /// Only in the second report.
    New,
}

impl Change {
    /// Whether this change fails the diff.
    pub fn fails(self) -> bool {
        matches!(self, Change::Regressed | Change::Unchecked | Change::Missing)
    }
}

/// One paired result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffEntry {
    pub behaviour: String,
    pub change: Change,
    pub before: Option<Side>,
    pub after: Option<Side>,
}

/// The comparison of two reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportDiff {
    pub before_run: String,
    pub after_run: String,
    pub matched_by: MatchBy,
    /// Entries, regressions first.
    pub entries: Vec<DiffEntry>,
    /// How many entries of each kind.
    pub counts: BTreeMap<String, usize>,
    /// For an upgrade between two versions: what the behaviour-change table
    /// (`sidecar_conformance_model::changes`) says changed between them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<UpstreamChange>,
}

/// A row of the behaviour-change table that one side of an upgrade has and the other
/// has not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpstreamChange {
    pub id: String,
    /// `true`: the later version has the fix; `false`: the later version brings it.
    pub fixed_by_upgrade: bool,
    pub behaviour: String,
    pub refs: Vec<String>,
    pub fixed_in: String,
    /// The catalogue behaviour that observes it, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_by: Option<String>,
}

/// The one Kubernetes version of a report's results, when it has one.
fn one_version(report: &Report) -> Option<crate::version::KubeVersion> {
    let mut versions: Vec<&str> = report
        .results
        .iter()
        .map(|r| r.kubernetes_version.as_str())
        .collect();
    versions.sort();
    versions.dedup();
    match versions.as_slice() {
        [v] => v.parse().ok(),
        _ => None,
    }
}

/// The table's rows between the versions of two one-version reports.
fn upstream_between(before: &Report, after: &Report) -> Vec<UpstreamChange> {
    let (Some(b), Some(a)) = (one_version(before), one_version(after)) else {
        return vec![];
    };
    crate::model::changes::between(b, a)
        .into_iter()
        .map(|(c, fixed)| UpstreamChange {
            id: c.id.into(),
            fixed_by_upgrade: fixed,
            behaviour: c.affected_behaviour.into(),
            refs: c.refs.iter().map(|r| r.to_string()).collect(),
            fixed_in: c.fixed_text(),
            observed_by: c.behaviour.map(String::from),
        })
        .collect()
}

impl ReportDiff {
    /// Whether the diff fails (a regression or a result no longer produced).
    pub fn fails(&self) -> bool {
        self.entries.iter().any(|e| e.change.fails())
    }
}

/// Compares `before` with `after`.
pub fn diff(before: &Report, after: &Report, by: MatchBy) -> Result<ReportDiff, DiffError> {
    if by == MatchBy::Behaviour {
        one_cluster("first", before)?;
        one_cluster("second", after)?;
    }
    let key = |r: &CheckResult| match by {
        MatchBy::VersionAndGate => format!(
            "{}\u{0}{}\u{0}{}",
            r.behaviour, r.kubernetes_version, r.sidecar_gate
        ),
        MatchBy::Behaviour => r.behaviour.clone(),
    };
    let mut pairs: BTreeMap<String, (Option<&CheckResult>, Option<&CheckResult>)> = BTreeMap::new();
    for r in &before.results {
        pairs.entry(key(r)).or_default().0 = Some(r);
    }
    for r in &after.results {
        pairs.entry(key(r)).or_default().1 = Some(r);
    }
    let mut entries: Vec<DiffEntry> = pairs
        .into_values()
        .map(|(b, a)| {
            let change = match (b, a) {
                (Some(b), Some(a)) => match (b.verdict == Verdict::Pass, a.verdict == Verdict::Pass) {
                    (true, false) if a.verdict == Verdict::Error => Change::Unchecked,
                    (true, false) => Change::Regressed,
                    // A baseline that errored proves nothing: a failure after it is one.
                    (false, false) if b.verdict == Verdict::Error && a.verdict == Verdict::Fail => {
                        Change::Regressed
                    }
                    (false, true) => Change::Fixed,
                    (false, false) => Change::StillFailing,
                    (true, true) if b.observed != a.observed => Change::ChangedAsExpected,
                    (true, true) => Change::Unchanged,
                },
                (Some(_), None) => Change::Missing,
                (None, _) => Change::New,
            };
            DiffEntry {
                behaviour: b.or(a).map(|r| r.behaviour.clone()).unwrap_or_default(),
                change,
                before: b.map(side),
                after: a.map(side),
            }
        })
        .collect();
    entries.sort_by(|x, y| {
        (
            x.change,
            &x.behaviour,
            x.after
                .as_ref()
                .or(x.before.as_ref())
                .map(|s| &s.kubernetes_version),
        )
            .cmp(&(
                y.change,
                &y.behaviour,
                y.after
                    .as_ref()
                    .or(y.before.as_ref())
                    .map(|s| &s.kubernetes_version),
            ))
    });
    let mut counts = BTreeMap::new();
    for e in &entries {
        *counts.entry(change_word(e.change).to_string()).or_insert(0) += 1;
    }
    Ok(ReportDiff {
        before_run: before.run_id.clone(),
        after_run: after.run_id.clone(),
        matched_by: by,
        entries,
        counts,
        upstream: upstream_between(before, after),
    })
}

fn one_cluster(side: &'static str, report: &Report) -> Result<(), DiffError> {
    let mut names: Vec<&str> = report.results.iter().map(|r| r.cluster.as_str()).collect();
    names.sort();
    names.dedup();
    if names.len() == 1 {
        Ok(())
    } else {
        Err(DiffError::NotOneCluster {
            side,
            count: names.len(),
            names: names.join(", "),
        })
    }
}

fn side(r: &CheckResult) -> Side {
    Side {
        cluster: r.cluster.clone(),
        kubernetes_version: r.kubernetes_version.clone(),
        sidecar_gate: r.sidecar_gate,
        expected: r.expected,
        observed: r.observed,
        verdict: r.verdict,
        failed_evidence: r
            .error
            .iter()
            .map(|e| format!("error: {e}"))
            .chain(r.evidence.iter().filter(|e| e.starts_with("NOT:")).cloned())
            .collect(),
        page: r.page_status(),
        page_findings: r.page_findings.clone(),
    }
}

fn change_word(c: Change) -> &'static str {
    match c {
        Change::Regressed => "regressed",
        Change::Unchecked => "unchecked",
        Change::Missing => "missing",
        Change::Fixed => "fixed",
        Change::StillFailing => "still-failing",
        Change::ChangedAsExpected => "changed-as-expected",
        Change::Unchanged => "unchanged",
        Change::New => "new",
    }
}

fn describe(s: Option<&Side>) -> String {
    match s {
        None => "-".into(),
        Some(s) => format!(
            "{} {}: {} ({}, expected {}{})",
            s.kubernetes_version,
            s.sidecar_gate,
            s.observed.map(|o| o.to_string()).unwrap_or_else(|| "-".into()),
            match s.verdict {
                Verdict::Pass => "pass",
                Verdict::Fail => "fail",
                Verdict::Error => "error",
            },
            s.expected,
            match s.page {
                super::PageStatus::Wrong => "; the page is wrong here",
                _ => "",
            }
        ),
    }
}

/// The diff as text for the terminal.
pub fn render_text(d: &ReportDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "report diff: {} -> {}", d.before_run, d.after_run);
    for e in &d.entries {
        let _ = writeln!(
            out,
            "{:<20} {:<24} {}  ->  {}",
            change_word(e.change),
            e.behaviour,
            describe(e.before.as_ref()),
            describe(e.after.as_ref())
        );
        if e.change.fails() {
            for line in e.after.iter().flat_map(|a| &a.failed_evidence) {
                let _ = writeln!(out, "{:<20}   {line}", "");
            }
        }
    }
    for u in &d.upstream {
        let _ = writeln!(out, "{}", upstream_line(u));
    }
    let _ = writeln!(
        out,
        "{}",
        d.counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(
        out,
        "{}",
        if d.fails() {
            "FAIL: a result regressed, could not be checked (error) or is missing in the second run"
        } else {
            "OK: no regression"
        }
    );
    out
}

/// A row of the behaviour-change table as a line of the diff.
fn upstream_line(u: &UpstreamChange) -> String {
    format!(
        "upstream {}: {} ({}; fixed in {}{})",
        if u.fixed_by_upgrade {
            "fixed by the upgrade"
        } else {
            "brought by the upgrade"
        },
        u.behaviour,
        u.refs.join(", "),
        u.fixed_in,
        u.observed_by
            .as_deref()
            .map(|b| format!("; observed by {b}"))
            .unwrap_or_default()
    )
}

/// The diff as Markdown (a table, failed evidence under it).
pub fn render_markdown(d: &ReportDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Report diff: `{}` → `{}`\n", d.before_run, d.after_run);
    let _ = writeln!(
        out,
        "**{}**\n",
        if d.fails() {
            "FAIL: a result regressed, could not be checked (error) or is missing in the second run"
        } else {
            "OK: no regression"
        }
    );
    out.push_str("| change | behaviour | before | after |\n|---|---|---|---|\n");
    for e in &d.entries {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} |",
            change_word(e.change),
            e.behaviour,
            describe(e.before.as_ref()).replace('|', "\\|"),
            describe(e.after.as_ref()).replace('|', "\\|")
        );
    }
    if !d.upstream.is_empty() {
        out.push_str("\n## What changed upstream between the two versions\n\n");
        for u in &d.upstream {
            let _ = writeln!(out, "- {}", upstream_line(u).replace('<', "&lt;"));
        }
    }
    for e in d.entries.iter().filter(|e| e.change.fails()) {
        if let Some(a) = &e.after {
            let _ = writeln!(out, "\n### {} `{}`\n", change_word(e.change), e.behaviour);
            for line in &a.failed_evidence {
                let _ = writeln!(out, "- {}", line.replace('<', "&lt;").replace('\n', " "));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `report.json` of a real run on four clusters (1.37.2 default and off, 1.32.2 on and off).
    fn recorded() -> Report {
        serde_json::from_str(include_str!(
            "../../../../suites/fixtures/reports/four-clusters.json"
        ))
        .unwrap()
    }

    fn only(report: &Report, version: &str, gate: GateSetting) -> Report {
        let mut r = report.clone();
        r.results
            .retain(|x| x.kubernetes_version == version && x.sidecar_gate == gate);
        r.tally();
        r
    }

    #[test]
    fn a_run_against_itself_is_unchanged() {
        let r = recorded();
        let d = diff(&r, &r, MatchBy::VersionAndGate).unwrap();
        assert_eq!(d.entries.len(), 20);
        assert!(d.entries.iter().all(|e| e.change == Change::Unchanged));
        assert!(!d.fails());
    }

    #[test]
    fn a_pass_that_fails_after_is_a_regression_with_its_evidence() {
        let before = recorded();
        let mut after = before.clone();
        let r = &mut after.results[5];
        r.observed = Some(Outcome::Violated);
        r.verdict = Verdict::Fail;
        r.evidence = vec!["NOT: pod myapp: READY 1/2".into(), "a fact".into()];
        let d = diff(&before, &after, MatchBy::VersionAndGate).unwrap();
        assert!(d.fails());
        let first = &d.entries[0];
        assert_eq!(first.change, Change::Regressed);
        assert_eq!(first.behaviour, "deployment-ready");
        assert_eq!(
            first.after.as_ref().unwrap().failed_evidence,
            vec!["NOT: pod myapp: READY 1/2"]
        );
        assert!(render_text(&d).contains("FAIL"));
        assert!(render_markdown(&d).contains("### regressed `deployment-ready`"));
        // The other way round it is a fix, and fixes do not fail the diff.
        let back = diff(&after, &before, MatchBy::VersionAndGate).unwrap();
        assert_eq!(back.entries[0].change, Change::Fixed);
        assert!(!back.fails());
    }

    #[test]
    fn a_pass_that_errors_after_is_unchecked_not_a_regression() {
        let before = recorded();
        let mut after = before.clone();
        let r = &mut after.results[5];
        r.observed = None;
        r.verdict = Verdict::Error;
        r.error = Some("kubelet lost: node x: its kubelet has not renewed its lease for 20 s".into());
        let d = diff(&before, &after, MatchBy::VersionAndGate).unwrap();
        assert_eq!(d.entries[0].change, Change::Unchecked);
        assert!(!d.entries.iter().any(|e| e.change == Change::Regressed));
        // Nothing proves the absence of a regression there: the diff still fails.
        assert!(d.fails());
        assert!(render_text(&d).contains("unchecked"));
    }

    #[test]
    fn a_result_the_second_run_did_not_produce_fails_the_diff() {
        let before = recorded();
        let mut after = before.clone();
        after.results.remove(0);
        let d = diff(&before, &after, MatchBy::VersionAndGate).unwrap();
        assert_eq!(d.entries[0].change, Change::Missing);
        assert!(d.fails());
        // Only in the second run: new, not a failure.
        let d = diff(&after, &before, MatchBy::VersionAndGate).unwrap();
        assert!(d.entries.iter().any(|e| e.change == Change::New));
        assert!(!d.fails());
    }

    #[test]
    fn an_upgrade_compares_behaviours_across_versions() {
        let r = recorded();
        let before = only(&r, "1.32.2", GateSetting::Off);
        let after = only(&r, "1.37.2", GateSetting::Default);
        let d = diff(&before, &after, MatchBy::Behaviour).unwrap();
        assert_eq!(d.entries.len(), 5);
        let of = |b: &str| d.entries.iter().find(|e| e.behaviour == b).unwrap().change;
        assert_eq!(of("deployment-ready"), Change::ChangedAsExpected);
        assert_eq!(of("job-example-as-written"), Change::Unchanged);
        assert!(!d.fails());
        // What the behaviour-change table says the upgrade fixed, with its references.
        let fixed: Vec<&str> = d
            .upstream
            .iter()
            .filter(|u| u.fixed_by_upgrade)
            .map(|u| u.id.as_str())
            .collect();
        assert_eq!(
            fixed,
            [
                "sidecar-pending-phase-after-reboot",
                "sidecar-in-place-resize-unavailable",
                "sidecar-startupprobe-never-policy"
            ]
        );
        let text = render_text(&d);
        assert!(
            text.contains("upstream fixed by the upgrade: in a restartPolicy Never pod whose sidecar's startupProbe fails once")
                && text.contains("kubernetes/kubernetes#133072; fixed in 1.35.0 (backported to 1.34.2, 1.33.6)"),
            "{text}"
        );
        assert!(render_markdown(&d).contains("## What changed upstream between the two versions"));
        // Downgrading brings them back.
        let back = diff(&after, &before, MatchBy::Behaviour).unwrap();
        assert!(back.upstream.iter().all(|u| !u.fixed_by_upgrade) && back.upstream.len() == 3);
        // By version and gate nothing pairs: everything before is missing after.
        let d = diff(&before, &after, MatchBy::VersionAndGate).unwrap();
        assert_eq!(d.counts.get("missing"), Some(&5));
        assert!(d.fails());
        // A whole matrix cannot be matched on behaviour alone.
        assert!(matches!(
            diff(&r, &after, MatchBy::Behaviour),
            Err(DiffError::NotOneCluster {
                side: "first",
                count: 4,
                ..
            })
        ));
    }
}
