//! JUnit XML: what CI systems (GitHub Actions test reporters, GitLab, Jenkins) read.
//! One `<testsuite>` per cluster, one `<testcase>` per behaviour; a `fail` verdict is a
//! `<failure>`, an `error` an `<error>`, and the evidence goes into the element's text,
//! so a reader of the CI page sees why without opening `report.json`. The document is
//! built and escaped by `quick-junit`, the serializer cargo-nextest uses.

use std::time::Duration;

use quick_junit::{
    FlakyOrRerun, NonSuccessKind, Property, Report as JUnit, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use super::{CheckResult, Report, Verdict};

/// The report as a JUnit XML document.
pub fn render(report: &Report) -> String {
    let mut doc = JUnit::new("sidecar-conformance");
    let total_ms: u64 = report.results.iter().map(|r| r.duration_ms).sum();
    let started = chrono::DateTime::parse_from_rfc3339(&report.started_at.to_string()).ok();
    if let Some(t) = started {
        doc.set_timestamp(t);
    }
    doc.set_time(Duration::from_millis(total_ms));
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
        let mut suite = TestSuite::new(format!("{cluster} (Kubernetes {version}, gate {gate})"));
        if let Some(t) = started {
            suite.set_timestamp(t);
        }
        suite.set_time(Duration::from_millis(results.iter().map(|r| r.duration_ms).sum()));
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
        for image in &report.upstream_images {
            props.push(("upstream_image", image.clone()));
        }
        suite.add_properties(props.into_iter().map(|(name, value)| Property::new(name, value)));
        suite.add_test_cases(results.into_iter().map(|r| testcase(r, &version, &gate)));
        doc.add_test_suite(suite);
    }
    doc.to_string().unwrap_or_default()
}

fn testcase(r: &CheckResult, version: &str, gate: &str) -> TestCase {
    let observed = r.observed.map(|o| o.to_string()).unwrap_or_else(|| "-".into());
    let body = super::details_text(r);
    let mut status = match r.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(format!("expected {}, observed {observed}", r.expected))
                .set_type(observed.as_str())
                .set_description(body.as_str());
            s
        }
        Verdict::Error => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_message(r.error.as_deref().unwrap_or("the check could not be carried out"))
                .set_type("error")
                .set_description(body.as_str());
            s
        }
    };
    // Plays set aside and played again, as Maven Surefire reports reruns (read by
    // GitHub test reporters, Jenkins, GitLab): flaky when the last play passed, a rerun
    // failure when it did not.
    status.set_rerun_kind(FlakyOrRerun::Rerun);
    status.add_reruns(r.retried.iter().map(|a| {
        let mut rerun = TestRerun::new(NonSuccessKind::Failure);
        rerun
            .set_message(format!(
                "play {} set aside: observed {} while the container runtime failed to start a container",
                a.attempt, a.observed
            ))
            .set_type(a.observed.to_string())
            .set_description(a.runtime_failures.join("\n"));
        rerun
    }));
    let mut case = TestCase::new(r.behaviour.as_str(), status);
    case.set_classname(format!(
        "sidecar-conformance.k8s-{}.gate-{gate}",
        version.replace('.', "-")
    ))
    .set_time(Duration::from_millis(r.duration_ms))
    .set_system_out(body);
    case
}
