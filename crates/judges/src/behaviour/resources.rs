//! "effective-requests": the scheduler places pods by their effective request, which
//! the page states as the higher of the app + sidecar sum and the highest init request.
//! Two pods at the exact boundary of extended resources only they use: one fits only
//! because init requests are not added to the rest (as the page says); the other fits
//! by the page's rule but not by Kubernetes', which adds to a regular init container the
//! sidecars started before it. The judge computes both rules from the stored pods and
//! reads the scheduler's answer from their `PodScheduled` condition.

use k8s_openapi::api::core::v1::{Container, Pod};
use sidecar_conformance_model::recorder::Recorder;

use super::{Judgement, Observation, Outcome};
use crate::evidence::{Findings, declared_sidecars};

/// Extended resources the runner advertises on every node for this scenario, and their
/// capacity.
pub const RESOURCES: [(&str, i64); 2] = [
    ("sidecar-conformance.io/widget-a", CAPACITY),
    ("sidecar-conformance.io/widget-b", CAPACITY),
];
const CAPACITY: i64 = 10;
/// Each fixture pod and the resource it asks for.
const PODS: [(&str, &str); 2] = [
    ("sidecar-after-init", "sidecar-conformance.io/widget-a"),
    ("sidecar-before-init", "sidecar-conformance.io/widget-b"),
];

/// Settled once the scheduler has answered for both pods (PodScheduled True, or False
/// as Unschedulable).
pub fn settled(rec: &Recorder) -> bool {
    PODS.iter()
        .all(|(name, _)| scheduled(rec.pods().get(*name)).is_some())
}

/// The scheduler's answer for a pod: `Some(true)` placed, `Some(false)` unschedulable
/// (with its message), `None` not yet.
fn scheduled(pod: Option<&Pod>) -> Option<bool> {
    let cond = pod?
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "PodScheduled")?;
    match (cond.status.as_str(), cond.reason.as_deref()) {
        ("True", _) => Some(true),
        ("False", Some("Unschedulable")) => Some(false),
        _ => None,
    }
}

fn request(c: &Container, resource: &str) -> i64 {
    c.resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|m| m.get(resource))
        .and_then(|q| q.0.parse().ok())
        .unwrap_or(0)
}

fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// The page's rule: the higher of the sum over app containers and sidecars, and the
/// highest request of any init container.
pub fn page_rule(pod: &Pod, resource: &str) -> i64 {
    let spec = pod.spec.clone().unwrap_or_default();
    let inits = spec.init_containers.unwrap_or_default();
    let running: i64 = spec.containers.iter().map(|c| request(c, resource)).sum::<i64>()
        + inits
            .iter()
            .filter(|c| is_sidecar(c))
            .map(|c| request(c, resource))
            .sum::<i64>();
    let init_max = inits.iter().map(|c| request(c, resource)).max().unwrap_or(0);
    running.max(init_max)
}

/// Kubernetes' rule (`resourcehelper.PodRequests`): a regular init container runs
/// alongside the sidecars started before it, so their requests add to its own.
pub fn kubernetes_rule(pod: &Pod, resource: &str) -> i64 {
    let spec = pod.spec.clone().unwrap_or_default();
    let mut sidecars = 0;
    let mut init_peak = 0;
    for c in spec.init_containers.unwrap_or_default() {
        if is_sidecar(&c) {
            sidecars += request(&c, resource);
            init_peak = init_peak.max(sidecars);
        } else {
            init_peak = init_peak.max(request(&c, resource) + sidecars);
        }
    }
    let apps: i64 = spec.containers.iter().map(|c| request(c, resource)).sum();
    (apps + sidecars).max(init_peak)
}

/// Judges the effective-requests fixture. The verdict is whether the scheduler follows
/// Kubernetes' rule over the pods as stored; where its answer also shows the page's
/// rule wrong, that goes into the page findings, not the verdict.
pub fn judge(obs: &Observation) -> Judgement {
    let mut f = Findings::default();
    if let Some(r) = obs.rejections.first() {
        f.fail(format!("the API server refused {}: {}", r.object, r.message));
        return f.judgement();
    }
    let mut declared = declared_sidecars(obs);
    declared.sort();
    declared.dedup();
    let mut page_findings = Vec::new();
    // Per pod: whether its declared sidecars are stored as sidecars.
    let mut stored_as_sidecars: Vec<bool> = Vec::new();
    for (name, resource) in PODS {
        let Some(pod) = obs.pod(name) else {
            f.fail(format!("pod {name} was never seen"));
            continue;
        };
        stored_as_sidecars.push(
            pod.spec
                .iter()
                .flat_map(|s| s.init_containers.iter().flatten())
                .any(|c| declared.contains(&c.name) && is_sidecar(c)),
        );
        let (page, kube) = (page_rule(pod, resource), kubernetes_rule(pod, resource));
        let sum: i64 = {
            let spec = pod.spec.clone().unwrap_or_default();
            spec.init_containers
                .unwrap_or_default()
                .iter()
                .chain(spec.containers.iter())
                .map(|c| request(c, resource))
                .sum()
        };
        let answer = scheduled(Some(pod));
        let message = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
            .and_then(|c| c.message.clone())
            .unwrap_or_default();
        let said = match answer {
            Some(true) => "scheduled".to_string(),
            Some(false) => format!("unschedulable: {message}"),
            None => "not answered".to_string(),
        };
        // The scheduler must agree with Kubernetes' rule over the pod as stored (with
        // the gate off, the would-be sidecars are regular init containers there).
        let follows_kubernetes = answer == Some(kube <= CAPACITY);
        f.check(
            follows_kubernetes,
            format!(
                "pod {name} ({resource}, capacity {CAPACITY}): plain sum {sum}, the page's rule {page}, Kubernetes' rule {kube}; the scheduler: {said}"
            ),
        );
        // The page is shown wrong only where a scheduler that does what Kubernetes does
        // answers against the page's rule. (With the gate off there are no sidecars in
        // the stored pods, the two rules agree, and nothing here speaks against the page.)
        if follows_kubernetes && (kube <= CAPACITY) != (page <= CAPACITY) {
            page_findings.push(format!(
                "the page says the effective init request is the highest request of any init container; Kubernetes' rule is that sidecars started before a regular init container add to its request, since they run alongside it (resourcehelper.PodRequests). Pod {name} ({resource}, capacity {CAPACITY}): the page's rule gives {page}, which fits; Kubernetes' rule gives {kube}, which does not, and the scheduler leaves it Pending"
            ));
        }
    }
    let all_dropped = !stored_as_sidecars.is_empty() && stored_as_sidecars.iter().all(|s| !s);
    if stored_as_sidecars.iter().any(|s| *s) && stored_as_sidecars.iter().any(|s| !s) {
        f.fail(format!(
            "the stored pods disagree on whether the declared sidecars ({}) are sidecars: some keep restartPolicy: Always, some do not",
            declared.join(", ")
        ));
    }
    let mut judgement = f.judgement();
    judgement.page_findings = page_findings;
    if all_dropped && judgement.outcome == Outcome::Holds {
        // Sidecar-ignored needs what makes it: every pod stored without the field, and
        // the scheduler's answers (checked above) following the rule for regular init
        // containers, under which the pod with its would-be sidecar first fits.
        return Judgement {
            page_findings: vec![],
            outcome: Outcome::SidecarIgnored,
            evidence: std::iter::once(format!(
                "the stored pods have no restartPolicy: Always on the init containers the manifest declares sidecars ({}): the API server dropped it, and every init container counts once, by the highest request",
                declared.join(", ")
            ))
            .chain(judgement.evidence)
            .collect(),
        };
    }
    judgement
}

#[cfg(test)]
mod tests {
    use sidecar_conformance_model::doc;

    use super::*;

    #[test]
    fn both_rules_on_the_fixture_pods() {
        let pods: Vec<Pod> = serde_saphyr::from_multiple(doc::EFFECTIVE_REQUESTS.text).unwrap();
        let (after, before) = (&pods[0], &pods[1]);
        assert_eq!(page_rule(after, PODS[0].1), 8);
        assert_eq!(kubernetes_rule(after, PODS[0].1), 8);
        assert_eq!(page_rule(before, PODS[1].1), 8);
        assert_eq!(kubernetes_rule(before, PODS[1].1), 11);
    }
}
