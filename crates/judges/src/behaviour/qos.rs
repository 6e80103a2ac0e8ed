//! "qos-class": a pod's QoS class counts init, sidecar and app containers alike.
//! The class is the API server's (`status.qosClass`); the judge also computes it from
//! the stored pod by the rule the page states, so a cluster that ignored sidecars (or
//! init containers) would disagree with both.

use k8s_openapi::api::core::v1::{Container, Pod};
use sidecar_conformance_model::recorder::Recorder;
use sidecar_conformance_model::timeline::ContainerRole;

use super::{Judgement, Observation};
use crate::evidence::{Findings, declared_sidecars};

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

/// Whether the claim's "sidecar" is one in a stored pod, with a sentence saying so.
///
/// The claim covers init, sidecar and app containers alike, so the class alone cannot
/// tell a sidecar from a regular init container: the stored pod must. With the gate on,
/// each declared sidecar must be stored with `restartPolicy: Always`. With the gate
/// off, the API server drops the field and the would-be sidecar is a regular init
/// container, which the claim also covers: said as a fact, not a failure (the gate
/// table expects `holds` on every cluster). The judge does not know the gate; what it
/// can hold the stored pod to is the watch: the field cannot change on a stored pod, so
/// a last object that disagrees with the role the watch first saw is a wrong
/// observation. (A gate-on API server that dropped the field from the start would look
/// like a gate-off one here; the gate probe of the cluster is where that shows.)
fn sidecar_stored(obs: &Observation, pod: &Pod, name: &str, sidecar: &str) -> (Option<bool>, String) {
    let stored = pod
        .spec
        .as_ref()
        .and_then(|s| s.init_containers.as_ref())
        .and_then(|ics| ics.iter().find(|c| c.name == sidecar));
    let Some(stored) = stored else {
        return (
            Some(false),
            format!(
                "pod {name}: {sidecar}, declared as a sidecar, is not among the stored pod's init containers"
            ),
        );
    };
    let kept = stored.restart_policy.as_deref() == Some("Always");
    let watched = obs
        .timeline
        .pods
        .get(name)
        .and_then(|t| t.container(sidecar))
        .map(|c| c.role);
    match (kept, watched) {
        (true, None | Some(ContainerRole::Sidecar)) => (
            Some(true),
            format!("pod {name}: {sidecar} is stored as a sidecar (restartPolicy: Always)"),
        ),
        (false, None | Some(ContainerRole::Init)) => (
            None,
            format!(
                "pod {name}: {sidecar} is declared with restartPolicy: Always but stored without it (the API server dropped the field: sidecars are disabled); it counts as a regular init container, which the claim covers too"
            ),
        ),
        (kept, Some(role)) => (
            Some(false),
            format!(
                "pod {name}: {sidecar} is stored {} restartPolicy: Always in the pod's last object, but the watch first saw it stored as {}: the field cannot change on a stored pod, the observation contradicts itself",
                if kept { "with" } else { "without" },
                match role {
                    ContainerRole::Sidecar => "a sidecar",
                    ContainerRole::Init => "a regular init container",
                    ContainerRole::App => "an app container",
                }
            ),
        ),
    }
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
    let declared = declared_sidecars(obs);
    for name in PODS {
        let Some(pod) = obs.pod(name) else {
            f.fail(format!("pod {name} was never seen"));
            continue;
        };
        let declared_here: Vec<&String> = pod
            .spec
            .iter()
            .flat_map(|s| s.init_containers.iter().flatten())
            .filter(|c| declared.contains(&c.name))
            .map(|c| &c.name)
            .collect();
        if declared_here.is_empty() {
            f.fail(format!(
                "pod {name}: no init container of the stored pod is one the manifest declares a sidecar ({})",
                declared.join(", ")
            ));
        }
        for sidecar in declared_here {
            match sidecar_stored(obs, pod, name, sidecar) {
                (Some(ok), msg) => f.check(ok, msg),
                (None, msg) => f.note(msg),
            }
        }
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
    use sidecar_conformance_model::doc;

    use super::*;

    #[test]
    fn the_rule_reads_every_fixture_pod_as_annotated() {
        let docs: Vec<Pod> = serde_saphyr::from_multiple(doc::QOS.text).unwrap();
        assert_eq!(docs.len(), 3);
        for pod in &docs {
            let expected = &pod.metadata.annotations.as_ref().unwrap()[EXPECTED_ANNOTATION];
            assert_eq!(page_rule(pod), expected, "{:?}", pod.metadata.name);
        }
    }
}
