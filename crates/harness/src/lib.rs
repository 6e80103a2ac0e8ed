//! sidecar-conformance: proves or refutes, on real kind clusters, what a Kubernetes
//! sidecar-containers documentation page claims.
//!
//! The pieces, one concern each:
//! - [`supply`]: Docker engine, kind, node images and workload images, built and cached
//!   where no registry answers;
//! - [`cluster`]: where clusters come from (kind, built here; or a given kubeconfig);
//! - [`apply`]: the page's manifests, server-side applied through discovery;
//! - [`observe`]: the recorder, from watch events to [`timeline`]s;
//! - [`behaviour`]: the page's claims, each a pure judge of what was observed;
//! - [`gate`]: what each Kubernetes version does with the `SidecarContainers` gate,
//!   hence what each behaviour must do on each cluster;
//! - [`runner`]: runs behaviours on a cluster and turns judgements into verdicts;
//! - [`matrix`]: runs over several clusters; [`keeper`]: clusters kept for test runners;
//! - [`report`]: the report model and its formats.

pub use sidecar_conformance_judges as judges;
pub use sidecar_conformance_judges::{behaviour, evidence, lint};
pub use sidecar_conformance_model as model;
pub use sidecar_conformance_model::{doc, timeline, version};

pub mod apply;
pub mod cleanup;
pub mod cluster;
pub mod diagnose;
pub mod doctor;
pub mod error;
pub mod fault;
pub mod gate;
pub mod keeper;
pub mod matrix;
pub mod observe;
pub mod process;
pub mod progress;
pub mod registry;
pub mod report;
pub mod runner;
pub mod supply;
