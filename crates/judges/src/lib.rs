//! sidecar-conformance-judges: the page's claims and the judges of what a cluster did
//! with them.
//!
//! - [`behaviour`]: the catalogue, one [`behaviour::Behaviour`] per claim of the page,
//!   with the scenario the harness plays to observe it and its judge;
//! - [`evidence`]: facts the judges and the lint read from an observation, as sentences;
//! - [`lint`]: the page itself under review (code fences, commands, dry-run answers).
//!
//! A judge is a function from an [`Observation`] to a [`Judgement`]. This crate depends
//! on the model alone (`sidecar-conformance-model`: no Kubernetes client, no async
//! runtime, no HTTP), so a judge cannot name `kube::Client`, watch a pod or call the
//! API server: the compiler enforces what the docs claim, and every judge can be
//! replayed on a recorded observation without a cluster.
//!
//! [`Observation`]: sidecar_conformance_model::observation::Observation
//! [`Judgement`]: sidecar_conformance_model::judgement::Judgement

pub mod behaviour;
pub mod evidence;
pub mod lint;
pub mod workload;
