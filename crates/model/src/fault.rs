//! Faults as data: what went away under a play ([`Fault`]), and the one fault a play's
//! own recording shows ([`image_pull_failure`]). The harness's fault watch detects the
//! others (Docker events, the API server, node Ready, kubelet leases); a play a fault
//! touches ends as `error` naming it, and no judge is asked.

use std::time::Duration;

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

/// How long a container must go on waiting for its image before that is a fault: the
/// kubelet retries a failed pull, and one that a retry mends is no fault.
pub const PULL_GRACE: Duration = Duration::from_secs(10);

/// The first container of the recorded pods that has been waiting for an image that
/// cannot be pulled for [`PULL_GRACE`] up to `now`, as a fault seen when the grace ran
/// out.
pub fn image_pull_failure(rec: &Recorder, now: jiff::Timestamp) -> Option<Fault> {
    rec.timeline()
        .pods
        .iter()
        .find_map(|(pod, t)| pod_image_pull_failure(pod, t, now))
}

/// The first container of one pod that has been waiting for an image that cannot be
/// pulled for [`PULL_GRACE`] up to `now` (see [`image_pull_failure`]).
pub fn pod_image_pull_failure(
    pod: &str,
    t: &crate::timeline::PodTimeline,
    now: jiff::Timestamp,
) -> Option<Fault> {
    for c in &t.containers {
        // The pull failures at the end of the container's history, unbroken.
        let mut streak: Option<(jiff::Timestamp, &str, Option<&str>)> = None;
        for e in &c.events {
            streak = match &e.kind {
                ContainerEventKind::Waiting {
                    reason: Some(reason),
                    message,
                } if IMAGE_PULL_REASONS.contains(&reason.as_str()) => Some(streak.map_or(
                    (e.observed_at, reason.as_str(), message.as_deref()),
                    |(since, _, _)| (since, reason.as_str(), message.as_deref()),
                )),
                _ => None,
            };
        }
        let Some((since, reason, message)) = streak else {
            continue;
        };
        let Ok(visible) = since.checked_add(PULL_GRACE) else {
            continue;
        };
        if visible <= now {
            return Some(Fault {
                kind: FaultKind::ImagePull,
                seen_at: visible,
                detail: format!(
                    "pod {pod}: container {} has been waiting for its image since {since} ({reason}): {}",
                    c.name,
                    message.unwrap_or("no message")
                ),
            });
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
        let t0: jiff::Timestamp = "2026-12-04T10:00:00Z".parse().unwrap();
        let at = |s: i64| t0.checked_add(jiff::SignedDuration::from_secs(s)).unwrap();
        let mut rec = Recorder::default();
        rec.observe(&pod("ContainerCreating"), t0);
        assert!(image_pull_failure(&rec, at(60)).is_none());
        rec.observe(&pod("ErrImagePull"), at(1));
        // A failure the kubelet's retry may still mend is not a fault yet.
        assert!(image_pull_failure(&rec, at(5)).is_none());
        rec.observe(&pod("ImagePullBackOff"), at(3));
        let f = image_pull_failure(&rec, at(11)).expect("a pull failure past the grace");
        assert_eq!(f.kind, FaultKind::ImagePull);
        assert_eq!(f.seen_at, at(11), "visible when the grace ran out");
        assert!(f.detail.contains("no such host"), "{}", f.detail);
        // Mended by a retry: no fault, however long ago it failed.
        rec.observe(&pod("ContainerCreating"), at(12));
        assert!(image_pull_failure(&rec, at(60)).is_none());
    }
}
