//! What a judge says of an observation: an [`Outcome`] with its evidence
//! ([`Judgement`]), and what kind of claim a behaviour checks ([`Subject`]), which with
//! the gate table fixes the outcome a cluster must show.

use serde::{Deserialize, Serialize};

/// What a judge found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The page's claim holds on this cluster.
    Holds,
    /// The API server dropped `restartPolicy: Always` from the init container, so the
    /// would-be sidecar ran as a regular init container that never exits and nothing
    /// after it started: what a cluster with the gate off does.
    SidecarIgnored,
    /// The claim does not hold, and not because the gate is off.
    Violated,
    /// The cluster could not be created with the requested gate setting.
    ClusterRefused,
    /// The API server refused the manifest as written (a documentation defect).
    Rejected,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Holds => "holds",
            Outcome::SidecarIgnored => "sidecar-ignored",
            Outcome::Violated => "violated",
            Outcome::ClusterRefused => "cluster-refused",
            Outcome::Rejected => "rejected",
        })
    }
}

/// A judge's finding with the facts behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judgement {
    pub outcome: Outcome,
    /// Facts read from the observation, each a sentence with names, times and values.
    pub evidence: Vec<String>,
    /// Where the observation shows the page itself wrong (a rule it states that
    /// Kubernetes does not follow, an example that is not valid Kubernetes), each with
    /// what Kubernetes actually does. Empty when the page is confirmed or not at issue.
    /// This is the second question of a result, separate from the verdict: a cluster
    /// that does what Kubernetes does passes, however wrong the page is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub page_findings: Vec<String>,
}

/// Whether a behaviour checks the cluster or the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subject {
    /// What a cluster does with the page's examples.
    Runtime,
    /// What a cluster does, where the claim holds with sidecars disabled too (init
    /// containers count either way), so the gate does not change the expectation.
    RuntimeAnyGate,
    /// Whether the page's example is valid Kubernetes at all.
    DocumentationDefect,
}
