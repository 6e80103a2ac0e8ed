//! HTML: one self-contained page (no scripts, no external files) to open from a CI
//! artifact: the verdict table, then each result's claims and evidence, failures open.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{CheckResult, Report, Verdict};
use crate::behaviour::Observation;

/// The report as an HTML document; maud escapes every value it interpolates.
pub fn render(report: &Report) -> String {
    render_with(report, |_| None)
}

/// The report with each result's pods drawn from its observation (`observation` finds
/// it, e.g. in the run directory).
pub fn render_with(report: &Report, observation: impl Fn(&CheckResult) -> Option<Observation>) -> String {
    let s = &report.summary;
    let findings = report.page_findings();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Sidecar conformance report " (report.run_id) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "Sidecar conformance report" }
                p {
                    "Run " code { (report.run_id) } " of sidecar-conformance " (report.tool_version)
                    ", " (report.started_at) " to " (report.finished_at) ", page " code { (report.page) } "."
                }
                p.summary {
                    span.pass { (s.pass) " passed" } ", "
                    span.fail { (s.fail) " failed" } ", "
                    span.error { (s.error) " errors" }
                }
                h2 { "Clusters" }
                table {
                    tr { th { "cluster" } th { "Kubernetes" } th { "gate" } th { "origin" } th { "node image" } th { "created" } }
                    @for c in &report.clusters {
                        tr {
                            td { code { (c.name) } }
                            td { (c.kubernetes_version) }
                            td { (c.sidecar_gate) }
                            td { (c.origin) }
                            td { (c.node_image.as_deref().unwrap_or("-")) }
                            td {
                                @match &c.creation_error {
                                    None => "yes",
                                    Some(e) => { "no: " (e.split("; kind's output").next().unwrap_or(e)) }
                                }
                            }
                        }
                    }
                }
                (grid(report))
                h2 { "Results" }
                table {
                    tr { th { "behaviour" } th { "cluster" } th { "expected" } th { "observed" } th { "verdict" } th { "the page" } th { "time" } }
                    @for (i, r) in report.results.iter().enumerate() {
                        tr class=(class(r.verdict)) {
                            td { a href={ "#r" (i) } { code { (r.behaviour) } } }
                            td { (r.kubernetes_version) " " (r.sidecar_gate) }
                            td { (r.expected) }
                            td { (observed(r)) }
                            td {
                                (r.verdict.word())
                                @match (&r.error, r.retried.len()) {
                                    (Some(e), _) => { ": " (e) }
                                    (None, 0) => {}
                                    (None, n) => { " (played " (n + 1) " times)" }
                                }
                            }
                            // The page's own question, apart from the verdict's colour.
                            td class=(format!("page-{}", serde_plain(r.page_status()))) { (r.page_status().word()) }
                            td { (format!("{:.1} s", r.duration_ms as f64 / 1000.0)) }
                        }
                    }
                }
                @if !findings.is_empty() {
                    h2 { "Where the page is wrong" }
                    p { "The clusters did what Kubernetes does; the page says otherwise here:" }
                    ul {
                        @for (behaviour, f) in &findings {
                            li { code { (behaviour) } ": " (f) }
                        }
                    }
                }
                @if !report.notes.is_empty() {
                    h2 { "Not judged" }
                    ul {
                        @for n in &report.notes {
                            li { (n) }
                        }
                    }
                }
                h2 { "Evidence" }
                @for (i, r) in report.results.iter().enumerate() {
                    (details(i, r, observation(r).as_ref()))
                }
                @if !report.stand_ins.is_empty() {
                    h2 { "Images that stood in for upstream ones" }
                    ul {
                        @for s in &report.stand_ins {
                            li { code { (s.upstream) } " was served by " code { (s.local_image) } ": " (s.content) }
                        }
                    }
                }
                @if !report.upstream_images.is_empty() {
                    h2 { "Images pulled from their registries" }
                    ul {
                        @for image in &report.upstream_images {
                            li { code { (image) } ", as the manifests name it (no stand-in)" }
                        }
                    }
                }
            }
        }
    };
    let mut out = page.into_string();
    out.push('\n');
    out
}

/// Behaviour x cluster, for a run over several clusters: each cell the verdict, linked
/// to its evidence.
fn grid(report: &Report) -> Markup {
    let mut clusters: Vec<&str> = Vec::new();
    let mut behaviours: Vec<&str> = Vec::new();
    for r in &report.results {
        if !clusters.contains(&r.cluster.as_str()) {
            clusters.push(&r.cluster);
        }
        if !behaviours.contains(&r.behaviour.as_str()) {
            behaviours.push(&r.behaviour);
        }
    }
    if clusters.len() < 2 {
        return html! {};
    }
    let label = |c: &str| {
        report
            .results
            .iter()
            .find(|r| r.cluster == c)
            .map(|r| format!("{} {}", r.kubernetes_version, r.sidecar_gate))
            .unwrap_or_default()
    };
    html! {
        h2 { "Behaviour × cluster" }
        table.grid {
            tr { th { "behaviour" } @for c in &clusters { th title=(c) { (label(c)) } } }
            @for b in &behaviours {
                tr {
                    td { code { (b) } }
                    @for c in &clusters {
                        @match report.results.iter().position(|r| r.behaviour == *b && r.cluster == *c) {
                            Some(i) => td class=(class(report.results[i].verdict)) {
                                a href={ "#r" (i) } { (report.results[i].verdict.word()) }
                            },
                            None => td { "-" },
                        }
                    }
                }
            }
        }
    }
}

fn observed(r: &CheckResult) -> String {
    r.observed.map(|o| o.to_string()).unwrap_or_else(|| "-".into())
}

fn details(i: usize, r: &CheckResult, obs: Option<&Observation>) -> Markup {
    html! {
        details id={ "r" (i) } class=(class(r.verdict)) open[r.verdict != Verdict::Pass] {
            summary {
                (r.verdict.word()) " " code { (r.behaviour) } " on " (r.cluster) " (" (r.kubernetes_version) " "
                (r.sidecar_gate) "): expected " (r.expected) ", observed " (observed(r))
            }
            p { (r.title) " (" (r.section) ")" }
            @for c in &r.claims {
                blockquote { (c) }
            }
            @if let Some(e) = &r.error {
                p.error { "Error: " (e) }
            }
            ul {
                @for e in &r.evidence {
                    li class=[e.starts_with("NOT:").then_some("not")] { (e) }
                }
                @for f in &r.page_findings {
                    li.page { "the page is wrong here: " (f) }
                }
            }
            @if let Some(obs) = obs {
                @for (name, pod) in obs.timeline.pods.iter().filter(|(name, _)| drawn_for(r, name)) {
                    (super::timeline::pod_figure(name, pod))
                }
            }
            @for a in &r.retried {
                p { "Play " (a.attempt) " was set aside (observed " (a.observed) "): " (a.runtime_failures.join("; ")) }
            }
            @if let Some(o) = &r.observation {
                p { "Observation: " a href=(o) { code { (o) } } }
            }
            @if let Some(d) = &r.diagnostics {
                p { "Diagnostics (events, logs, pods, node journal): " a href={ (d) "/" } { code { (d) "/" } } }
            }
        }
    }
}

/// Whether a result's drawing shows `pod`: a `check` result (`invariant@Kind/name`)
/// shares its observation with every workload of the check, so it draws the pods its
/// evidence names; a catalogue behaviour's observation is its own, drawn whole.
fn drawn_for(r: &CheckResult, pod: &str) -> bool {
    !r.behaviour.contains('@') || r.evidence.iter().any(|e| e.contains(&format!("pod {pod}:")))
}

/// `confirmed`, `wrong` or `not-shown`, as report.json spells a page status.
fn serde_plain(s: crate::report::PageStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

const STYLE: &str = "body{font-family:sans-serif;max-width:70em;margin:1em auto;padding:0 1em}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}\
tr.fail td,details.fail>summary,.fail{color:#a00}tr.error td,details.error>summary,.error{color:#a60}\
.pass{color:#070}td.page-wrong,li.page{color:#707;font-weight:bold}li.not{color:#a00;font-weight:bold}blockquote{border-left:3px solid #ccc;margin:.3em 0;padding-left:.6em;color:#444}\
details{margin:.3em 0}summary{cursor:pointer}\
figure.timeline{margin:.6em 0}figure.timeline figcaption{font-size:.9em;color:#444}ul.marks{font-size:.9em;color:#707;margin:.2em 0}";

fn class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Error => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded() -> Report {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../suites/fixtures/reports/four-clusters.json"
        );
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn a_run_over_several_clusters_gets_a_behaviour_by_cluster_grid() {
        let report = recorded();
        let page = render(&report);
        assert!(page.contains("Behaviour × cluster"));
        let grid = &page[page.find("<table class=\"grid\">").unwrap()..];
        let grid = &grid[..grid.find("</table>").unwrap()];
        // A column per cluster, a cell per result, each linked to its evidence.
        let clusters: std::collections::BTreeSet<&str> =
            report.results.iter().map(|r| r.cluster.as_str()).collect();
        assert_eq!(grid.matches("<th title=").count(), clusters.len());
        assert_eq!(grid.matches("href=\"#r").count(), report.results.len(), "{grid}");

        let mut one = report.clone();
        let first = one.results[0].cluster.clone();
        one.results.retain(|r| r.cluster == first);
        assert!(!render(&one).contains("Behaviour × cluster"));
    }
}
