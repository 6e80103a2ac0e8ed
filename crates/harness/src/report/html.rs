//! HTML: one self-contained page (no scripts, no external files) to open from a CI
//! artifact: the verdict table, then each result's claims and evidence, failures open.

use std::fmt::Write;

use super::{CheckResult, Report, Verdict};

/// The report as an HTML document.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let s = &report.summary;
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>Sidecar conformance report {}</title>\n<style>{STYLE}</style></head><body>\n",
        esc(&report.run_id)
    );
    let _ = writeln!(
        out,
        "<h1>Sidecar conformance report</h1>\n<p>Run <code>{}</code> of sidecar-conformance {}, {} to {}, page <code>{}</code>.</p>",
        esc(&report.run_id),
        esc(&report.tool_version),
        report.started_at,
        report.finished_at,
        esc(&report.page)
    );
    let _ = writeln!(
        out,
        "<p class=\"summary\"><span class=\"pass\">{} passed</span>, <span class=\"fail\">{} failed</span>, <span class=\"error\">{} errors</span></p>",
        s.pass, s.fail, s.error
    );
    out.push_str("<h2>Clusters</h2>\n<table><tr><th>cluster</th><th>Kubernetes</th><th>gate</th><th>origin</th><th>node image</th><th>created</th></tr>\n");
    for c in &report.clusters {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.name),
            esc(&c.kubernetes_version),
            c.sidecar_gate,
            esc(&c.origin),
            esc(c.node_image.as_deref().unwrap_or("-")),
            match &c.creation_error {
                None => "yes".to_string(),
                Some(e) => format!("no: {}", esc(e.split("; kind's output").next().unwrap_or(e))),
            }
        );
    }
    out.push_str("</table>\n<h2>Results</h2>\n<table><tr><th>behaviour</th><th>cluster</th><th>expected</th><th>observed</th><th>verdict</th><th>the page</th><th>time</th></tr>\n");
    for (i, r) in report.results.iter().enumerate() {
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td><a href=\"#r{i}\"><code>{}</code></a></td><td>{} {}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{:.1} s</td></tr>",
            class(r.verdict),
            esc(&r.behaviour),
            esc(&r.kubernetes_version),
            r.sidecar_gate,
            r.expected,
            r.observed.map(|o| o.to_string()).unwrap_or_else(|| "-".into()),
            r.verdict.word(),
            match (&r.error, r.retried.len()) {
                (Some(e), _) => format!(": {}", esc(e)),
                (None, 0) => String::new(),
                (None, n) => format!(" (played {} times)", n + 1),
            },
            r.page_status().word(),
            r.duration_ms as f64 / 1000.0
        );
    }
    out.push_str("</table>\n");
    let findings = report.page_findings();
    if !findings.is_empty() {
        out.push_str("<h2>Where the page is wrong</h2>\n<p>The clusters did what Kubernetes does; the page says otherwise here:</p>\n<ul>\n");
        for (behaviour, f) in findings {
            let _ = writeln!(out, "<li><code>{}</code>: {}</li>", esc(behaviour), esc(f));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<h2>Evidence</h2>\n");
    for (i, r) in report.results.iter().enumerate() {
        details(&mut out, i, r);
    }
    if !report.stand_ins.is_empty() {
        out.push_str("<h2>Images that stood in for upstream ones</h2>\n<ul>\n");
        for s in &report.stand_ins {
            let _ = writeln!(
                out,
                "<li><code>{}</code> was served by <code>{}</code>: {}</li>",
                esc(&s.upstream),
                esc(&s.local_image),
                esc(&s.content)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn details(out: &mut String, i: usize, r: &CheckResult) {
    let _ = writeln!(
        out,
        "<details id=\"r{i}\" class=\"{}\"{}><summary>{} <code>{}</code> on {} ({} {}): expected {}, observed {}</summary>",
        class(r.verdict),
        if r.verdict == Verdict::Pass { "" } else { " open" },
        r.verdict.word(),
        esc(&r.behaviour),
        esc(&r.cluster),
        esc(&r.kubernetes_version),
        r.sidecar_gate,
        r.expected,
        r.observed.map(|o| o.to_string()).unwrap_or_else(|| "-".into())
    );
    let _ = writeln!(out, "<p>{} ({})</p>", esc(&r.title), esc(&r.section));
    for c in &r.claims {
        let _ = writeln!(out, "<blockquote>{}</blockquote>", esc(c));
    }
    if let Some(e) = &r.error {
        let _ = writeln!(out, "<p class=\"error\">Error: {}</p>", esc(e));
    }
    out.push_str("<ul>\n");
    for e in &r.evidence {
        let not = e.starts_with("NOT:");
        let _ = writeln!(
            out,
            "<li{}>{}</li>",
            if not { " class=\"not\"" } else { "" },
            esc(e)
        );
    }
    for f in &r.page_findings {
        let _ = writeln!(out, "<li class=\"page\">the page is wrong here: {}</li>", esc(f));
    }
    out.push_str("</ul>\n");
    for a in &r.retried {
        let _ = writeln!(
            out,
            "<p>Play {} was set aside (observed {}): {}</p>",
            a.attempt,
            a.observed,
            esc(&a.runtime_failures.join("; "))
        );
    }
    if let Some(o) = &r.observation {
        let _ = writeln!(
            out,
            "<p>Observation: <a href=\"{0}\"><code>{0}</code></a></p>",
            esc(o)
        );
    }
    if let Some(d) = &r.diagnostics {
        let _ = writeln!(
            out,
            "<p>Diagnostics (events, logs, pods, node journal): <a href=\"{0}/\"><code>{0}/</code></a></p>",
            esc(d)
        );
    }
    out.push_str("</details>\n");
}

const STYLE: &str = "body{font-family:sans-serif;max-width:70em;margin:1em auto;padding:0 1em}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}\
tr.fail td,details.fail>summary,.fail{color:#a00}tr.error td,details.error>summary,.error{color:#a60}\
.pass{color:#070}li.not{color:#a00;font-weight:bold}blockquote{border-left:3px solid #ccc;margin:.3em 0;padding-left:.6em;color:#444}\
details{margin:.3em 0}summary{cursor:pointer}";

fn class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Error => "error",
    }
}

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
