//! sidecar-conformance: proves or refutes, on real kind clusters, what a Kubernetes
//! sidecar-containers documentation page claims.
//!
//! The workspace follows the pipeline, one crate per stage:
//! - `sidecar-conformance-model` ([`model`]): the data and the pure logic over it
//!   (timelines, the recorder, observations, judgements, the gate table, the page and
//!   its manifests, the report model), with no Kubernetes client and no runtime;
//! - `sidecar-conformance-judges` ([`judges`]): the page's claims and their judges,
//!   which depend on the model alone and so cannot reach a cluster;
//! - this crate, the live layer: everything that talks to Docker, kind or an API
//!   server, and the command line.
//!
//! The pieces here, one concern each:
//! - [`supply`]: Docker engine, kind, node images and workload images, built and cached
//!   where no registry answers;
//! - [`cluster`]: where clusters come from (kind, built here; or a given kubeconfig);
//!   [`registry`]: the local registry; [`cleanup`] and [`process`]: what a run started
//!   and created goes away with it;
//! - [`apply`]: the page's manifests, server-side applied through discovery;
//! - [`observe`]: the live recorder, a pod watch fed to the model's recorder;
//! - [`gate`]: the dry-run probe of an API server's sidecar support;
//! - [`fault`]: the cluster's faults while behaviours play;
//! - [`runner`]: plays behaviours on a cluster and turns judgements into verdicts;
//!   [`diagnose`]: what a failed play leaves for a person to read;
//! - [`matrix`]: runs over several clusters; [`keeper`]: clusters kept for test runners;
//! - [`report`]: the report's files and formats.
//!
//! The model's and the judges' modules are re-exported here ([`behaviour`],
//! [`evidence`], [`lint`], [`doc`], [`timeline`], [`version`]), and [`gate`],
//! [`report`], [`observe`], [`fault`] and [`apply`] re-export their data next to what
//! they add, so paths such as `sidecar_conformance::behaviour::by_id` and
//! `sidecar_conformance::report::Verdict` name what they named before the split.

pub use sidecar_conformance_judges as judges;
pub use sidecar_conformance_judges::{behaviour, evidence, lint};
pub use sidecar_conformance_model as model;
pub use sidecar_conformance_model::{doc, manifest, timeline, version};

pub mod apply;
pub mod bench;
pub mod check;
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
pub mod testing;
