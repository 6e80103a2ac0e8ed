//! JUnit XML: what CI systems (GitHub Actions test reporters, GitLab, Jenkins) read.
//! One `<testsuite>` per cluster, one `<testcase>` per behaviour; a `fail` verdict is a
//! `<failure>`, an `error` an `<error>`, and the evidence goes into the element's text,
//! so a reader of the CI page sees why without opening `report.json`.

use std::fmt::Write;

use super::{CheckResult, Report, Verdict};

/// The report as a JUnit XML document.
pub fn render(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total_ms: u64 = report.results.iter().map(|r| r.duration_ms).sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"sidecar-conformance\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\" timestamp=\"{}\">",
        report.results.len(),
        report.summary.fail,
        report.summary.error,
        seconds(total_ms),
        report.started_at
    );
    for cluster in super::clusters_in_order(report) {
        let results: Vec<&CheckResult> = report.results.iter().filter(|r| r.cluster == cluster).collect();
        let first = results.first();
        let info = report.clusters.iter().find(|c| c.name == cluster);
        let version = info
            .map(|c| c.kubernetes_version.clone())
            .or_else(|| first.map(|r| r.kubernetes_version.clone()))
            .unwrap_or_default();
        let gate = info
            .map(|c| c.sidecar_gate.to_string())
            .or_else(|| first.map(|r| r.sidecar_gate.to_string()))
            .unwrap_or_default();
        let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\" timestamp=\"{}\">",
            escape(&format!("{cluster} (Kubernetes {version}, gate {gate})")),
            results.len(),
            count(Verdict::Fail),
            count(Verdict::Error),
            seconds(results.iter().map(|r| r.duration_ms).sum()),
            report.started_at
        );
        out.push_str("    <properties>\n");
        let mut props = vec![
            ("kubernetes_version", version.clone()),
            ("sidecar_gate", gate.clone()),
        ];
        if let Some(c) = info {
            props.push((
                "gate_effect",
                serde_json::to_string(&c.gate_effect).unwrap_or_default(),
            ));
            props.push(("origin", c.origin.clone()));
            if let Some(image) = &c.node_image {
                props.push(("node_image", image.clone()));
            }
        }
        for s in &report.stand_ins {
            props.push((
                "stand_in",
                format!("{} served by {} ({})", s.upstream, s.local_image, s.content),
            ));
        }
        for (name, value) in props {
            let _ = writeln!(
                out,
                "      <property name=\"{}\" value=\"{}\"/>",
                escape(name),
                escape(&value)
            );
        }
        out.push_str("    </properties>\n");
        for r in results {
            testcase(&mut out, r, &version, &gate);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn testcase(out: &mut String, r: &CheckResult, version: &str, gate: &str) {
    let _ = writeln!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\">",
        escape(&r.behaviour),
        escape(&format!(
            "sidecar-conformance.k8s-{}.gate-{gate}",
            version.replace('.', "-")
        )),
        seconds(r.duration_ms)
    );
    let observed = r.observed.map(|o| o.to_string()).unwrap_or_else(|| "-".into());
    let body = super::details_text(r);
    match r.verdict {
        Verdict::Pass => {}
        Verdict::Fail => {
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                escape(&format!("expected {}, observed {observed}", r.expected)),
                escape(&observed),
                escape_text(&body)
            );
        }
        Verdict::Error => {
            let _ = writeln!(
                out,
                "      <error message=\"{}\" type=\"error\">{}</error>",
                escape(r.error.as_deref().unwrap_or("the check could not be carried out")),
                escape_text(&body)
            );
        }
    }
    // Plays set aside and played again, as Maven Surefire reports reruns (read by
    // GitHub test reporters, Jenkins, GitLab): flaky when the last play passed, a rerun
    // failure when it did not.
    let element = if r.verdict == Verdict::Pass {
        "flakyFailure"
    } else {
        "rerunFailure"
    };
    for a in &r.retried {
        let _ = writeln!(
            out,
            "      <{element} message=\"{}\" type=\"{}\">{}</{element}>",
            escape(&format!(
                "play {} set aside: observed {} while the container runtime failed to start a container",
                a.attempt, a.observed
            )),
            escape(&a.observed.to_string()),
            escape_text(&a.runtime_failures.join("\n"))
        );
    }
    let _ = writeln!(out, "      <system-out>{}</system-out>", escape_text(&body));
    out.push_str("    </testcase>\n");
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// Escapes an attribute value: line breaks become character references so that they
/// survive attribute normalisation.
fn escape(s: &str) -> String {
    escape_text(s).replace('\n', "&#10;")
}

/// Escapes element text; drops characters XML 1.0 cannot carry (container messages
/// may hold control characters).
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(escape("x\ny"), "x&#10;y");
        assert_eq!(escape_text("x\ny"), "x\ny");
    }
}
