//! sidecar-conformance-model: the data of the harness and the pure logic over it, with
//! no Kubernetes client, no async runtime and no HTTP stack.
//!
//! What a run observes, what judges conclude and what reports say is data here; the
//! harness crate fills it in from a live cluster, the judges crate reads it. Because
//! this crate cannot reach a cluster, nothing built on it alone can either: a judge
//! that depends only on the model is a pure function of what was recorded, and the
//! compiler enforces it (as `nextest-metadata` holds nextest's data types, and
//! `kube-core` Kubernetes' types without a client).
//!
//! - [`timeline`]: what happened to each pod and container, in order;
//! - [`recorder`]: [`recorder::Recorder`], pod objects in, timeline events out;
//! - [`observation`]: everything a play observed, a judge's only input;
//! - [`judgement`]: what a judge found ([`judgement::Outcome`]) and why;
//! - [`manifest`]: manifests as compiled-in text, and the objects applied from them;
//! - [`doc`]: the documentation page under test and the manifests taken from it;
//! - [`version`]: Kubernetes versions the harness accepts;
//! - [`changes`]: what changed between minors beyond the gate (bugs, fixes, backports);
//! - [`gate`]: what each version does with the `SidecarContainers` gate, hence what
//!   each behaviour must show on each cluster;
//! - [`fault`]: what went away under a play (an error, never a verdict);
//! - [`report`]: the report model every format renders.

pub mod changes;
pub mod doc;
pub mod fault;
pub mod gate;
pub mod judgement;
pub mod manifest;
pub mod observation;
pub mod recorder;
pub mod report;
pub mod timeline;
pub mod version;
