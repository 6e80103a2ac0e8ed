//! What the runner observed while playing one scenario ([`Observation`]): the judges'
//! only input, saved beside every result and replayed by the tests.

use k8s_openapi::api::core::v1::Pod;
use serde::{Deserialize, Serialize};

use crate::manifest::AppliedObject;
use crate::timeline::Timeline;

/// A step of a scenario the runner performed (for evidence and for judges that compare
/// times, e.g. "the app kept its container across the sidecar's restart").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub at: jiff::Timestamp,
    /// Pod and container acted on.
    pub pod: String,
    pub container: String,
    pub what: String,
}

/// A wait of the scenario and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitRecord {
    pub what: String,
    pub satisfied: bool,
    pub after_ms: u64,
    /// When the wait ended (host clock); absent in recordings made before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<jiff::Timestamp>,
}

/// An object the API server refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub file: String,
    pub object: String,
    pub message: String,
}

/// Everything the runner observed while playing one scenario: the judge's only input.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Observation {
    pub behaviour: String,
    pub namespace: String,
    /// The manifests applied, by path.
    pub manifests: Vec<String>,
    pub applied: Vec<AppliedObject>,
    pub rejections: Vec<Rejection>,
    pub timeline: Timeline,
    /// The last object seen of every pod.
    pub pods: Vec<Pod>,
    /// Final state of the workload objects (Jobs, Deployments), as the API returned them.
    pub objects: Vec<serde_json::Value>,
    pub actions: Vec<Action>,
    pub waits: Vec<WaitRecord>,
    /// Container logs read at the end, by `pod/container` (only for scenarios that
    /// ask for them).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub logs: std::collections::BTreeMap<String, String>,
    /// The text of each applied document that is not one of the catalogue's manifests
    /// (a `check` of the user's own workloads), by the label it was applied under: the
    /// judges read declared sidecars from it as from the catalogue's manifests.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sources: std::collections::BTreeMap<String, String>,
}

impl Observation {
    /// The last object of a pod.
    pub fn pod(&self, name: &str) -> Option<&Pod> {
        self.pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name))
    }

    /// A workload object by kind and name.
    pub fn object(&self, kind: &str, name: &str) -> Option<&serde_json::Value> {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    }
}
