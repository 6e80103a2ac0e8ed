//! Markdown: for a pull request comment, a CI job summary (`$GITHUB_STEP_SUMMARY`) or a
//! README. A verdict table first, then the evidence of every result that did not pass
//! in full, and of the passing ones folded.

use std::fmt::Write;

use super::{CheckResult, Report, Verdict};

/// The report as a Markdown document.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Sidecar conformance report\n");
    let _ = writeln!(
        out,
        "Run `{}` of sidecar-conformance {}, {} to {}, page `{}`.\n",
        report.run_id, report.tool_version, report.started_at, report.finished_at, report.page
    );
    let s = &report.summary;
    let _ = writeln!(
        out,
        "**{} passed, {} failed, {} errors** ({} results).\n",
        s.pass,
        s.fail,
        s.error,
        report.results.len()
    );

    if !report.clusters.is_empty() {
        out.push_str("## Clusters\n\n");
        out.push_str("| cluster | Kubernetes | gate | gate effect | origin | node image | ready | wall |\n");
        out.push_str("|---|---|---|---|---|---|---|---|\n");
        for c in &report.clusters {
            let effect = match &c.gate_effect {
                crate::gate::GateEffect::Enabled => "sidecars enabled".to_string(),
                crate::gate::GateEffect::Disabled => "sidecars disabled".to_string(),
                crate::gate::GateEffect::ClusterRefused { why } => format!("cluster refused: {why}"),
            };
            let ready = match (&c.health, &c.creation_error) {
                (Some(h), _) => format!("nodes Ready after {:.1} s", h.ready_ms as f64 / 1000.0),
                // The first line says what failed; kind's whole output is in its log.
                (None, Some(e)) => format!(
                    "not created: {}{}",
                    e.split("; kind's output").next().unwrap_or(e),
                    c.gate_log
                        .iter()
                        .map(|l| format!("; kubelet: {l}"))
                        .collect::<String>()
                ),
                (None, None) => "-".into(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
                c.name,
                c.kubernetes_version,
                c.sidecar_gate,
                cell(&effect),
                c.origin,
                cell(c.node_image.as_deref().unwrap_or("-")),
                cell(&ready),
                c.wall_ms
                    .map(|ms| format!("{:.0} s", ms as f64 / 1000.0))
                    .unwrap_or_else(|| "-".into())
            );
        }
        out.push('\n');
    }
    grid(&mut out, report);

    out.push_str("## Results\n\n");
    out.push_str("| behaviour | cluster | expected | observed | verdict | the page | time |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for r in &report.results {
        let verdict = match (&r.error, r.retried.len()) {
            (Some(e), _) => format!("{}: {}", r.verdict.word(), cell(e)),
            (None, 0) => r.verdict.word().to_string(),
            (None, n) => format!("{} (played {} times)", r.verdict.word(), n + 1),
        };
        let _ = writeln!(
            out,
            "| `{}` | {} {} | {} | {} | {} | {} | {:.1} s |",
            r.behaviour,
            r.kubernetes_version,
            r.sidecar_gate,
            r.expected,
            r.observed.map(|o| o.to_string()).unwrap_or_else(|| "-".into()),
            verdict,
            r.page_status().word(),
            r.duration_ms as f64 / 1000.0
        );
    }
    out.push('\n');

    let findings = report.page_findings();
    if !findings.is_empty() {
        out.push_str("## Where the page is wrong\n\n");
        out.push_str("The clusters did what Kubernetes does; the page says otherwise here:\n\n");
        for (behaviour, f) in findings {
            let _ = writeln!(out, "- `{behaviour}`: {}", bullet(f));
        }
        out.push('\n');
    }

    out.push_str("## Evidence\n\n");
    for r in &report.results {
        let heading = format!(
            "{} `{}` on {} ({} {}): expected {}, observed {}",
            r.verdict.word(),
            r.behaviour,
            r.cluster,
            r.kubernetes_version,
            r.sidecar_gate,
            r.expected,
            r.observed.map(|o| o.to_string()).unwrap_or_else(|| "-".into())
        );
        if r.verdict == Verdict::Pass {
            let _ = writeln!(out, "<details><summary>{}</summary>\n", html(&heading));
            details(&mut out, r);
            out.push_str("</details>\n\n");
        } else {
            let _ = writeln!(out, "### {heading}\n");
            details(&mut out, r);
        }
    }

    if !report.notes.is_empty() {
        out.push_str("## Not judged\n\n");
        for n in &report.notes {
            let _ = writeln!(out, "- {}", bullet(n));
        }
        out.push('\n');
    }
    if !report.stand_ins.is_empty() {
        out.push_str("## Images that stood in for upstream ones\n\n");
        for s in &report.stand_ins {
            let _ = writeln!(
                out,
                "- `{}` was served by `{}`: {}",
                s.upstream, s.local_image, s.content
            );
        }
        out.push('\n');
    }
    if !report.upstream_images.is_empty() {
        out.push_str("## Images pulled from their registries\n\n");
        for image in &report.upstream_images {
            let _ = writeln!(out, "- `{image}`, as the manifests name it (no stand-in)");
        }
        out.push('\n');
    }
    out
}

fn details(out: &mut String, r: &CheckResult) {
    let _ = writeln!(out, "{} ({}). The page says:\n", r.title, r.section);
    for c in &r.claims {
        let _ = writeln!(out, "> {c}\n");
    }
    if let Some(e) = &r.error {
        let _ = writeln!(out, "Error: `{}`\n", e.replace('`', "'"));
    }
    for e in &r.evidence {
        let _ = writeln!(out, "- {}", bullet(e));
    }
    if !r.evidence.is_empty() {
        out.push('\n');
    }
    for f in &r.page_findings {
        let _ = writeln!(out, "- the page is wrong here: {}", bullet(f));
    }
    if !r.page_findings.is_empty() {
        out.push('\n');
    }
    for a in &r.retried {
        let _ = writeln!(
            out,
            "Play {} was set aside (observed {}): {}\n",
            a.attempt,
            a.observed,
            bullet(&a.runtime_failures.join("; "))
        );
    }
    if let Some(o) = &r.observation {
        let _ = writeln!(out, "Observation: `{o}`\n");
    }
    if let Some(d) = &r.diagnostics {
        let _ = writeln!(out, "Diagnostics (events, logs, pods, node journal): `{d}/`\n");
    }
}

/// Behaviour x cluster, for a run over several clusters: each cell the verdict, with
/// the observed outcome where it is not `holds`, and `known bug` where the
/// behaviour-change table expected the cluster to show one.
fn grid(out: &mut String, report: &Report) {
    let mut clusters: Vec<(&str, String)> = Vec::new();
    let mut behaviours: Vec<&str> = Vec::new();
    for r in &report.results {
        if !clusters.iter().any(|(c, _)| *c == r.cluster) {
            clusters.push((&r.cluster, format!("{} {}", r.kubernetes_version, r.sidecar_gate)));
        }
        if !behaviours.contains(&r.behaviour.as_str()) {
            behaviours.push(&r.behaviour);
        }
    }
    if clusters.len() < 2 {
        return;
    }
    out.push_str(
        "## Behaviour × cluster

| behaviour |",
    );
    for (_, label) in &clusters {
        let _ = write!(out, " {label} |");
    }
    out.push_str(
        "
|---|",
    );
    out.push_str(&"---|".repeat(clusters.len()));
    out.push('\n');
    for b in &behaviours {
        let _ = write!(out, "| `{b}` |");
        for (c, _) in &clusters {
            let text = match report
                .results
                .iter()
                .find(|r| r.behaviour == *b && r.cluster == *c)
            {
                None => "-".to_string(),
                Some(r) => {
                    let mut t = r.verdict.word().to_string();
                    match r.observed {
                        Some(o) if o != crate::behaviour::Outcome::Holds => {
                            let _ = write!(t, " ({o})");
                        }
                        _ => {}
                    }
                    if r.known_bug.is_some() {
                        t.push_str(", known bug");
                    }
                    t
                }
            };
            let _ = write!(out, " {} |", cell(&text));
        }
        out.push('\n');
    }
    out.push('\n');
}

/// A table cell: pipes and line breaks would end it.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A list item: one line, with HTML-looking text kept literal.
fn bullet(s: &str) -> String {
    html(&s.replace('\n', " "))
}

/// Text inside HTML (`<summary>`) or Markdown that GitHub would read as tags.
fn html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_and_bullets_stay_on_one_line() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(bullet("x <y>\nz"), "x &lt;y&gt; z");
    }

    #[test]
    fn a_run_over_several_clusters_gets_a_behaviour_by_cluster_grid() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../suites/fixtures/reports/four-clusters.json"
        );
        let report: Report = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let text = render(&report);
        let grid = &text[text.find("## Behaviour × cluster").expect("a grid")..];
        let grid = &grid[..grid.find("|\n\n").unwrap() + 1];
        let rows: Vec<&str> = grid.lines().filter(|l| l.starts_with("| `")).collect();
        let behaviours: std::collections::BTreeSet<&str> =
            report.results.iter().map(|r| r.behaviour.as_str()).collect();
        let clusters: std::collections::BTreeSet<&str> =
            report.results.iter().map(|r| r.cluster.as_str()).collect();
        assert_eq!(rows.len(), behaviours.len(), "{grid}");
        // A column per cluster; a gate-off cell says what it observed.
        assert!(
            rows.iter().all(|r| r.matches(" |").count() == clusters.len() + 1),
            "{grid}"
        );
        assert!(grid.contains("PASS (sidecar-ignored)"), "{grid}");
        let mut one = report.clone();
        let first = one.results[0].cluster.clone();
        one.results.retain(|r| r.cluster == first);
        assert!(!render(&one).contains("Behaviour × cluster"));
    }
}
