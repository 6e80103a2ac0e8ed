//! "qos-class": a pod's QoS class counts init, sidecar and app containers alike.
//! The class is the API server's (`status.qosClass`); the judge also computes it from
//! the stored pod by the rule the page states, so a cluster that ignored sidecars (or
//! init containers) would disagree with both.

use k8s_openapi::api::core::v1::{Container, Pod};

use super::evidence::Findings;
use super::{Judgement, Observation};
use crate::observe::Recorder;

/// The annotation of each fixture pod naming the class the page's rule gives.
pub const EXPECTED_ANNOTATION: &str = "sidecar-conformance.io/expected-qos";
const PODS: [&str; 3] = ["qos-all-equal", "qos-sidecar-unbounded", "qos-init-unbounded"];

/// Settled once every fixture pod carries its QoS class.
pub fn settled(rec: &Recorder) -> bool {
    PODS.iter().all(|name| {
        rec.pods()
            .get(*name)
            .and_then(|p| p.status.as_ref())
            .is_some_and(|s| s.qos_class.is_some())
    })
}

/// The class the page's rule gives: Guaranteed when every container (init, sidecar,
/// app) has CPU and memory limits equal to its requests; BestEffort when none has any;
/// Burstable otherwise.
pub fn page_rule(pod: &Pod) -> &'static str {
    let spec = pod.spec.clone().unwrap_or_default();
    let all: Vec<Container> = spec
        .init_containers
        .unwrap_or_default()
        .into_iter()
        .chain(spec.containers)
        .collect();
    let none = all.iter().all(|c| {
        c.resources.as_ref().is_none_or(|r| {
            r.requests.as_ref().is_none_or(|m| m.is_empty()) && r.limits.as_ref().is_none_or(|m| m.is_empty())
        })
    });
    if none {
        return "BestEffort";
    }
    let guaranteed = all.iter().all(|c| {
        let r = c.resources.clone().unwrap_or_default();
        let limits = r.limits.unwrap_or_default();
        // Requests default to limits when unset.
        let requests = r.requests.unwrap_or_else(|| limits.clone());
        ["cpu", "memory"]
            .iter()
            .all(|k| limits.contains_key(*k) && requests.get(*k).unwrap_or(&limits[*k]) == &limits[*k])
    });
    if guaranteed { "Guaranteed" } else { "Burstable" }
}

/// Judges the QoS fixture.
pub fn judge(obs: &Observation) -> Judgement {
    let mut f = Findings::default();
    if !obs.rejections.is_empty() {
        for r in &obs.rejections {
            f.fail(format!("the API server refused {}: {}", r.object, r.message));
        }
        return f.judgement();
    }
    for name in PODS {
        let Some(pod) = obs.pod(name) else {
            f.fail(format!("pod {name} was never seen"));
            continue;
        };
        let class = pod
            .status
            .as_ref()
            .and_then(|s| s.qos_class.as_deref())
            .unwrap_or("-");
        let expected = pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(EXPECTED_ANNOTATION))
            .map(String::as_str)
            .unwrap_or("-");
        let rule = page_rule(pod);
        f.check(
            class == expected && class == rule,
            format!("pod {name}: qosClass {class} (the page's rule over init, sidecar and app containers: {rule}; fixture: {expected})"),
        );
    }
    f.judgement()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_reads_every_fixture_pod_as_annotated() {
        let docs: Vec<Pod> = serde_saphyr::from_multiple(crate::doc::QOS.text).unwrap();
        assert_eq!(docs.len(), 3);
        for pod in &docs {
            let expected = &pod.metadata.annotations.as_ref().unwrap()[EXPECTED_ANNOTATION];
            assert_eq!(page_rule(pod), expected, "{:?}", pod.metadata.name);
        }
    }
}
