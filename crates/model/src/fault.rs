//! Faults as data: what went away under a play ([`Fault`]), and the one fault a play's
//! own recording shows ([`image_pull_failure`]). The harness's fault watch detects the
//! others (Docker events, the API server, node Ready, kubelet leases); a play a fault
//! touches ends as `error` naming it, and no judge is asked.

use serde::{Deserialize, Serialize};

use crate::recorder::Recorder;
use crate::timeline::ContainerEventKind;

/// What went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The Docker engine stopped answering (its event stream ended).
    Engine,
    /// A node container stopped, died, was killed, paused or removed.
    NodeContainer,
    /// The API server does not answer.
    ApiServer,
    /// A node's kubelet stopped renewing its lease.
    Kubelet,
    /// A node's Ready condition is not True.
    NodeNotReady,
    /// An image of the play's pods cannot be pulled.
    ImagePull,
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FaultKind::Engine => "container engine lost",
            FaultKind::NodeContainer => "node container lost",
            FaultKind::ApiServer => "API server unreachable",
            FaultKind::Kubelet => "kubelet lost",
            FaultKind::NodeNotReady => "node not ready",
            FaultKind::ImagePull => "image not pullable",
        })
    }
}

/// A fault and when it became visible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub kind: FaultKind,
    /// When the harness saw it (host clock).
    pub seen_at: jiff::Timestamp,
    /// What was seen, with names and the source's own words.
    pub detail: String,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} (seen at {})", self.kind, self.detail, self.seen_at)
    }
}

/// Waiting reasons that mean an image cannot be had: the play's workload never got to
/// run, so nothing it shows is about sidecars.
pub const IMAGE_PULL_REASONS: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "RegistryUnavailable",
];

/// The first container of the recorded pods whose image cannot be pulled, as a fault.
pub fn image_pull_failure(rec: &Recorder) -> Option<Fault> {
    for (pod, t) in &rec.timeline().pods {
        for c in &t.containers {
            for e in &c.events {
                if let ContainerEventKind::Waiting {
                    reason: Some(reason),
                    message,
                } = &e.kind
                    && IMAGE_PULL_REASONS.contains(&reason.as_str())
                {
                    return Some(Fault {
                        kind: FaultKind::ImagePull,
                        seen_at: e.observed_at,
                        detail: format!(
                            "pod {pod}: container {} is waiting with {reason}: {}",
                            c.name,
                            message.as_deref().unwrap_or("no message")
                        ),
                    });
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    #[test]
    fn an_image_that_cannot_be_pulled_is_a_fault_and_a_waiting_turn_is_not() {
        let pod = |reason: &str| -> Pod {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "p", "uid": "u"},
                "spec": {"containers": [{"name": "app", "image": "alpine:latest"}]},
                "status": {"phase": "Pending", "containerStatuses": [
                    {"name": "app", "image": "alpine:latest", "imageID": "", "ready": false, "restartCount": 0,
                     "state": {"waiting": {"reason": reason, "message": "dial tcp: lookup registry: no such host"}}}
                ]}
            }))
            .unwrap()
        };
        let mut rec = Recorder::default();
        rec.observe(&pod("ContainerCreating"), jiff::Timestamp::now());
        assert!(image_pull_failure(&rec).is_none());
        rec.observe(&pod("ErrImagePull"), jiff::Timestamp::now());
        let f = image_pull_failure(&rec).expect("a pull failure");
        assert_eq!(f.kind, FaultKind::ImagePull);
        assert!(f.detail.contains("no such host"), "{}", f.detail);
    }
}
