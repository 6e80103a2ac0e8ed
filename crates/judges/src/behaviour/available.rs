//! "deployment-available": the page's `kubectl describe deploy/myapp` shows the
//! Deployment with `2 desired | 2 updated | 2 total | 2 available | 0 unavailable` and
//! the conditions `Available True MinimumReplicasAvailable` and `Progressing True
//! NewReplicaSetAvailable`: a sidecar counts for the Deployment controller as it does
//! for the pod's readiness. Read from the Deployment's final status, as the API returned
//! it after the replicas had been Ready for a while.

use super::{Judgement, Observation};
use crate::evidence::{Findings, missing, sidecar_ignored};

/// Replicas of the page's Deployment.
const REPLICAS: i64 = 2;

/// Judges the page's `kubectl describe deploy/myapp` against the Deployment's status.
pub fn judge(obs: &Observation) -> Judgement {
    if let Some(ignored) = sidecar_ignored(obs) {
        return ignored;
    }
    let Some(deploy) = obs.object("Deployment", "myapp") else {
        return missing("the observation holds no Deployment myapp".into());
    };
    let status = &deploy["status"];
    let count = |field: &str| status[field].as_i64().unwrap_or(0);
    let mut f = Findings::default();
    let replicas = format!(
        "{} desired | {} updated | {} total | {} available | {} unavailable",
        deploy["spec"]["replicas"].as_i64().unwrap_or(0),
        count("updatedReplicas"),
        count("replicas"),
        count("availableReplicas"),
        count("unavailableReplicas"),
    );
    let expected = format!(
        "{REPLICAS} desired | {REPLICAS} updated | {REPLICAS} total | {REPLICAS} available | 0 unavailable"
    );
    f.check(
        replicas == expected,
        format!("Deployment myapp: Replicas: {replicas} (the page shows {expected})"),
    );
    for (kind, reason) in [
        ("Available", "MinimumReplicasAvailable"),
        ("Progressing", "NewReplicaSetAvailable"),
    ] {
        let condition = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == kind);
        let seen = condition.map(|c| {
            format!(
                "{} {}",
                c["status"].as_str().unwrap_or("-"),
                c["reason"].as_str().unwrap_or("-")
            )
        });
        f.check(
            seen.as_deref() == Some(&format!("True {reason}")),
            format!(
                "Deployment myapp: condition {kind} {} (the page shows {kind} True {reason})",
                seen.as_deref().unwrap_or("absent")
            ),
        );
    }
    f.judgement()
}
