//! The page's claims as checks.
//!
//! A [`Behaviour`] is a catalogue entry: the sentence(s) of the page it checks, the
//! [`Scenario`] the runner plays on a cluster to observe it (a list of [`Step`]s, data
//! the runner plays in a loop), and a judge: a pure function from the resulting
//! [`Observation`] to a [`Judgement`]. Adding a claim is adding an entry and its judge;
//! the runner, the report and the tests pick it up.
//!
//! Judges do not know what they should find on a given cluster; they say what they
//! found ([`Outcome`]). The expected outcome comes from the gate table
//! ([`sidecar_conformance_model::gate::effect`]) via [`expected_outcome`]; the runner
//! compares the two.

mod available;
mod backoff;
mod crash_probe;
mod exits;
mod image_change;
mod job;
mod node_restart;
pub use job::fix_api_version_only;
mod job_fails;
mod ordering;
mod qos;
mod readiness;
mod ready;
mod resize;
mod resources;
mod restart;
mod sequencing;
mod shared;
mod termination;
mod unstarted;

use std::time::Duration;

pub use sidecar_conformance_model::judgement::{Judgement, Outcome, Subject};
pub use sidecar_conformance_model::observation::{Action, Observation, Rejection, WaitRecord};

use sidecar_conformance_model::doc;
use sidecar_conformance_model::gate::{GateEffect, GateSetting, effect};
use sidecar_conformance_model::manifest::Manifest;
use sidecar_conformance_model::recorder::Recorder;
use sidecar_conformance_model::report::CheckResult;
use sidecar_conformance_model::version::KubeVersion;

/// What the runner does to observe a behaviour: steps, played in order. A step that
/// leaves nothing more to observe (a manifest refused, a pod whose containers never all
/// run) ends the play; the judge reads what was recorded up to there.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub steps: &'static [Step],
}

/// One step of a scenario.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// Apply the manifests in turn; one the API server refuses ends the play (the
    /// refusal is recorded).
    Apply(&'static [Manifest]),
    /// Apply one manifest, expecting refusal; then apply `retry` (the same text with
    /// only its first mistake corrected) to surface the next ones.
    ExpectRejection {
        manifest: Manifest,
        retry: Option<fn(&str) -> String>,
    },
    /// Advertise extended resources on every node for the rest of the play; they are
    /// taken away again when it ends, whatever happened (also after a fault).
    AdvertiseNodeResources(&'static [(&'static str, i64)]),
    /// Record until `settled` holds (or `window` ends); `what` names the wait in the
    /// observation.
    Settle {
        settled: fn(&Recorder) -> bool,
        window: Duration,
        what: &'static str,
    },
    /// Once a pod has finished, wait (at most 30 s) for every applied Job to be
    /// Complete or Failed.
    WaitForJobs,
    /// Fetch the final state of every applied object other than pods (into
    /// [`Observation::objects`]).
    FetchObjects,
    /// Read every container's log (into [`Observation::logs`]).
    ReadLogs,
    /// Wait until every container of `pod` runs; if they do not, the play ends.
    WaitAllRunning { pod: &'static str, window: Duration },
    /// Delete `pod` (its own grace period) and record until it is gone.
    DeletePod { pod: &'static str, window: Duration },
    /// Make each named container's process exit in turn, waiting after each for the
    /// container to be running again.
    RestartInTurn {
        pod: &'static str,
        containers: &'static [&'static str],
        window: Duration,
    },
    /// Apply each manifest (one document each), going on past those the API server
    /// refuses (each refusal is recorded): a `check` of the user's workloads, where a
    /// refused object is a result of its own and the others still run. The texts go
    /// into [`Observation::sources`].
    ApplyEach(&'static [Manifest]),
    /// Make every sidecar of every recorded pod exit once, in turn, by stopping its
    /// container through the node's runtime (kind nodes only), waiting after each for it
    /// to run again.
    DisruptSidecars { window: Duration },
    /// Fetch the nodes the recorded pods were scheduled to (into
    /// [`Observation::objects`], kind `Node`): their allocatable resources.
    FetchNodes,
    /// Delete every applied object (pods through their owners' deletion), record a
    /// deletion action per recorded pod, and record until every such pod is gone.
    DeleteWorkloads { window: Duration },
    /// Patch `pod` (a strategic merge patch, on `subresource` when given: `resize`).
    /// A patch the API server refuses is recorded as a rejection and ends the play: the
    /// refusal is what the judge reads (a version without the feature says so in its
    /// answer).
    PatchPod {
        pod: &'static str,
        subresource: Option<&'static str>,
        patch: &'static str,
        what: &'static str,
    },
    /// Restart the node `pod` runs on (a kind node's container, `docker restart`: every
    /// container of the node dies, as in a reboot) and record until every container of
    /// `pod` has run again (or `window` ends). The faults the restart causes are
    /// planned, not faults of the run; one left when the node is back is. A scenario
    /// with this step plays alone on its cluster, after the others
    /// ([`Behaviour::disrupts_node`]).
    RestartNode { pod: &'static str, window: Duration },
    /// Check the page itself: each of its YAML blocks as a server-side dry run (strict),
    /// a block refused for its apiVersion once more with only that corrected. The judge
    /// adds what the page shows without a cluster ([`crate::lint`]).
    LintPage,
}

impl Step {
    /// The step's name, as the catalogue's tests list scenarios.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Apply(_) => "apply",
            Step::ExpectRejection { .. } => "expect-rejection",
            Step::AdvertiseNodeResources(_) => "advertise-node-resources",
            Step::Settle { .. } => "settle",
            Step::WaitForJobs => "wait-for-jobs",
            Step::FetchObjects => "fetch-objects",
            Step::ReadLogs => "read-logs",
            Step::WaitAllRunning { .. } => "wait-all-running",
            Step::DeletePod { .. } => "delete-pod",
            Step::RestartInTurn { .. } => "restart-in-turn",
            Step::LintPage => "lint-page",
            Step::ApplyEach(_) => "apply-each",
            Step::FetchNodes => "fetch-nodes",
            Step::DisruptSidecars { .. } => "disrupt-sidecars",
            Step::DeleteWorkloads { .. } => "delete-workloads",
            Step::PatchPod { .. } => "patch-pod",
            Step::RestartNode { .. } => "restart-node",
        }
    }
}

/// The page's sentence on sidecars' own lifecycles, which several behaviours check.
const INDEPENDENT_LIFECYCLES: &str = "Sidecar containers have their own independent lifecycles. They can be started, stopped, and restarted independently of app containers.";

/// The page's sentence on updating and scaling sidecars.
const UPDATE_WITHOUT_AFFECTING: &str = "This means you can update, scale, or maintain sidecar containers without affecting the primary application.";

/// What the runner records of a [`Step::Settle`] wait, for most scenarios.
const SETTLED: &str = "pods settled (finished, ready, or held up by an init container)";

/// A claim of the page and how to check it.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Stable identifier, used in test names, reports and `--behaviour`.
    pub id: &'static str,
    pub title: &'static str,
    /// The page's section the claim is in.
    pub section: &'static str,
    /// The sentences of the page this checks, verbatim.
    pub claims: &'static [&'static str],
    pub subject: Subject,
    pub scenario: Scenario,
    pub judge: fn(&Observation) -> Judgement,
    /// How long the scenario must take on a cluster that does what the table expects,
    /// whatever the harness: its fixture's sleeps, grace periods, probe delays and
    /// back-offs, and its fixed watch windows. `bench` sets each play's wall time
    /// against it.
    pub inherent: Duration,
}

impl Behaviour {
    /// Whether the scenario restarts its node: then it must have the cluster to itself
    /// (every other play there would see its pods die).
    pub fn disrupts_node(&self) -> bool {
        self.scenario
            .steps
            .iter()
            .any(|s| matches!(s, Step::RestartNode { .. }))
    }

    /// A result of this behaviour on a cluster, before anything is known of it: verdict
    /// `error`, nothing observed. The runner, a refused cluster and a rebuilt report
    /// fill in what they know.
    pub fn unjudged(&self, cluster: &str, version: KubeVersion, gate: GateSetting) -> CheckResult {
        let mut expected = expected_outcome(self, &effect(version, gate));
        // The second table: a version with a known bug this behaviour observes is to
        // show it; the same behaviour on a fixed version passes as usual, so a fixed bug
        // that comes back is a regression.
        let known_bug = (expected == Outcome::Holds)
            .then(|| sidecar_conformance_model::changes::explains(self.id, version))
            .flatten();
        if known_bug.is_some() {
            expected = Outcome::Violated;
        }
        CheckResult {
            known_bug: known_bug.map(|c| c.citation()),
            behaviour: self.id.into(),
            title: self.title.into(),
            subject: self.subject,
            section: self.section.into(),
            claims: self.claims.iter().map(|c| c.to_string()).collect(),
            ..CheckResult::blank(cluster, version, gate, expected)
        }
    }
}

/// All behaviours, in report order.
pub fn catalogue() -> &'static [Behaviour] {
    CATALOGUE
}

/// A behaviour by id.
pub fn by_id(id: &str) -> Option<&'static Behaviour> {
    CATALOGUE.iter().find(|b| b.id == id)
}

/// Every manifest the catalogue's scenarios apply, in catalogue order, once each: the
/// one list of the harness's manifests (a judge reads a manifest's declared sidecars
/// from it, so a manifest cannot be left out of a list kept by hand).
pub fn manifests() -> Vec<Manifest> {
    let mut out: Vec<Manifest> = Vec::new();
    for b in CATALOGUE {
        for step in b.scenario.steps {
            let applied: &[Manifest] = match step {
                Step::Apply(ms) | Step::ApplyEach(ms) => ms,
                Step::ExpectRejection { manifest, .. } => std::slice::from_ref(manifest),
                _ => &[],
            };
            for m in applied {
                if !out.iter().any(|o| o.path == m.path) {
                    out.push(*m);
                }
            }
        }
    }
    out
}

/// The manifest the catalogue applies under `path`.
pub fn manifest(path: &str) -> Option<Manifest> {
    manifests().into_iter().find(|m| m.path == path)
}

/// What a behaviour must show on a cluster where the gate has `effect`.
pub fn expected_outcome(behaviour: &Behaviour, effect: &GateEffect) -> Outcome {
    match (behaviour.subject, effect) {
        (_, GateEffect::ClusterRefused { .. }) => Outcome::ClusterRefused,
        (Subject::DocumentationDefect, _) => Outcome::Rejected,
        (Subject::Runtime, GateEffect::Enabled) => Outcome::Holds,
        (Subject::Runtime, GateEffect::Disabled) => Outcome::SidecarIgnored,
        (Subject::RuntimeAnyGate, _) => Outcome::Holds,
    }
}

const CATALOGUE: &[Behaviour] = &[
    Behaviour {
        id: "deployment-ready",
        title: "The Deployment example runs 2/2 Ready, Running, without restarts",
        section: "Example application",
        claims: &[
            "myapp-5ffc9bd7f5-6qh4j   2/2     Running   0          3m41s",
            "If an init container is created with its `restartPolicy` set to `Always`, it will start and remain running during the entire life of the Pod.",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::DEPLOYMENT]),
                Step::Settle {
                    settled: ready::settled,
                    window: Duration::from_secs(120),
                    what: SETTLED,
                },
                Step::WaitForJobs,
                Step::FetchObjects,
            ],
        },
        judge: ready::judge,
        // The 20 s watch after both replicas are Ready.
        inherent: Duration::from_secs(20),
    },
    Behaviour {
        id: "deployment-available",
        title: "The Deployment example is Available with 2 of 2 replicas, as `kubectl describe deploy/myapp` shows on the page",
        section: "Example application",
        claims: &[
            "Replicas:               2 desired | 2 updated | 2 total | 2 available | 0 unavailable",
            "Available      True    MinimumReplicasAvailable",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::DEPLOYMENT]),
                Step::Settle {
                    settled: ready::settled,
                    window: Duration::from_secs(120),
                    what: SETTLED,
                },
                Step::FetchObjects,
            ],
        },
        judge: available::judge,
        // The same 20 s watch.
        inherent: Duration::from_secs(20),
    },
    Behaviour {
        id: "job-completes",
        title: "The (corrected) Job example completes although its sidecar is still running",
        section: "Jobs with sidecar containers",
        claims: &[
            "If you define a job that uses sidecar using Kubernetes-style init containers, the sidecar container in each Pod does not prevent the job from completing after the main container has finished.",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::JOB_CORRECTED]),
                Step::Settle {
                    settled: job::settled,
                    window: Duration::from_secs(150),
                    what: SETTLED,
                },
                Step::WaitForJobs,
                Step::FetchObjects,
            ],
        },
        judge: job::judge,
        // The Job's container exits at once; its sidecar (`tail`, which ignores SIGTERM)
        // is stopped by SIGKILL at the end of the pod's default 30 s grace period.
        inherent: Duration::from_secs(30),
    },
    Behaviour {
        id: "start-ordering",
        title: "A sidecar starts before the app, and the next init container waits for its `started` status",
        section: "Sidecar containers and Pod lifecycle",
        claims: &[
            "After a sidecar-style init container is running (the kubelet has set the `started` status for that init container to true), the kubelet then starts the next init container from the ordered `.spec.initContainers` list.",
            "That status either becomes true because there is a process running in the container and no startup probe defined, or as a result of its `startupProbe` succeeding.",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::START_ORDERING]),
                Step::Settle {
                    settled: ordering::settled,
                    window: Duration::from_secs(120),
                    what: SETTLED,
                },
                Step::WaitForJobs,
                Step::FetchObjects,
            ],
        },
        judge: ordering::judge,
        // The sidecar's startup probe can pass 6 s after it starts.
        inherent: Duration::from_secs(6),
    },
    Behaviour {
        id: "sidecar-readiness",
        title: "A sidecar's readiness probe decides the Pod's Ready condition, and restarts nothing",
        section: "Sidecar containers and Pod lifecycle",
        claims: &[
            "If a readinessProbe is specified for this init container, its result will be used to determine the `ready` state of the Pod.",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::SIDECAR_READINESS]),
                Step::Settle {
                    settled: readiness::settled,
                    window: Duration::from_secs(120),
                    what: SETTLED,
                },
                Step::WaitForJobs,
                Step::FetchObjects,
            ],
        },
        judge: readiness::judge,
        // Ready 10 s after the start, unready 8 s later.
        inherent: Duration::from_secs(18),
    },
    Behaviour {
        id: "init-sequencing",
        title: "Regular init containers and sidecars mixed in one list start in its order",
        section: "Sidecar containers and Pod lifecycle",
        claims: &[
            "Since these containers are defined as init containers, they benefit from the same ordering and sequential guarantees as regular init containers, allowing you to mix sidecar containers with regular init containers for complex Pod initialization flows.",
            "This is important when there is more than one entry inside `.spec.initContainers` for a Pod.",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::INIT_SEQUENCING]),
                Step::Settle {
                    settled: sequencing::settled,
                    window: Duration::from_secs(120),
                    what: SETTLED,
                },
                Step::WaitForJobs,
                Step::FetchObjects,
            ],
        },
        judge: sequencing::judge,
        // Init-1 2 s, sidecar-a's probe 5 s, init-2 2 s.
        inherent: Duration::from_secs(9),
    },
    Behaviour {
        id: "restart-independence",
        title: "Sidecar and app container restart without affecting each other",
        section: "Differences from application containers",
        claims: &[
            "These can be `started`, `stopped` or `restarted` without affecting the main application container and other initContainers.",
            "Sidecar containers have their own independent lifecycles. They can be started, stopped, and restarted independently of app containers.",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::RESTART_INDEPENDENCE]),
                Step::WaitAllRunning {
                    pod: "restart-independence",
                    window: Duration::from_secs(90),
                },
                Step::RestartInTurn {
                    pod: "restart-independence",
                    containers: &["sidecar", "app"],
                    window: Duration::from_secs(90),
                },
            ],
        },
        judge: restart::judge,
        // A first restart is immediate.
        inherent: Duration::from_secs(0),
    },
    Behaviour {
        id: "sidecar-backoff",
        title: "A failing sidecar is restarted with back-off under restartPolicy Never, the app untouched",
        section: "Sidecar containers and Pod lifecycle",
        claims: &[
            "If an init container is created with its `restartPolicy` set to `Always`, it will start and remain running during the entire life of the Pod.",
            "These can be `started`, `stopped` or `restarted` without affecting the main application container and other initContainers.",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::SIDECAR_BACKOFF]),
                Step::Settle {
                    settled: backoff::settled,
                    window: Duration::from_secs(120),
                    what: SETTLED,
                },
                Step::WaitForJobs,
                Step::FetchObjects,
            ],
        },
        judge: backoff::judge,
        // Three 2 s runs, the kubelet's back-off of 10 s then 20 s (the first restart is immediate).
        inherent: Duration::from_secs(36),
    },
    Behaviour {
        id: "job-fails",
        title: "A Job whose main container fails retries and fails as it would without its sidecar",
        section: "Jobs with sidecar containers",
        claims: &[
            "If you define a job that uses sidecar using Kubernetes-style init containers, the sidecar container in each Pod does not prevent the job from completing after the main container has finished.",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::JOB_FAILS]),
                Step::Settle {
                    settled: job_fails::settled,
                    window: Duration::from_secs(150),
                    what: SETTLED,
                },
                Step::WaitForJobs,
                Step::FetchObjects,
            ],
        },
        judge: job_fails::judge,
        // Two 2 s runs, each sidecar's 5 s grace (tail ignores SIGTERM), the Job controller's 10 s back-off.
        inherent: Duration::from_secs(24),
    },
    Behaviour {
        id: "shared-namespaces",
        title: "Sidecar and app share the network namespace (localhost) and a volume (the log shipper ships the app's line)",
        section: "Differences from application containers",
        claims: &[
            "Sidecar containers share the same network and storage namespaces with the primary container. This co-location allows them to interact closely and share resources.",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::SHARED_NAMESPACES]),
                Step::Settle {
                    settled: shared::settled,
                    window: Duration::from_secs(120),
                    what: SETTLED,
                },
                Step::WaitForJobs,
                Step::FetchObjects,
                Step::ReadLogs,
            ],
        },
        judge: shared::judge,
        // The containers' 1 s and 3 s sleeps.
        inherent: Duration::from_secs(4),
    },
    Behaviour {
        id: "termination-order",
        title: "On pod deletion sidecars get SIGTERM only after the app has exited, later sidecars first; SIGKILL ends them when the app used the grace period",
        section: "Differences from application containers",
        claims: &[
            "When other containers take all allotted graceful termination time, the sidecar containers will receive the SIGTERM signal, followed by the SIGKILL signal, before they have time to terminate gracefully.",
            "So exit codes different from 0 (0 indicates successful exit), for sidecar containers are normal on Pod termination and should be generally ignored by the external tooling.",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::TERMINATION_ORDER]),
                Step::WaitAllRunning {
                    pod: "termination-order",
                    window: Duration::from_secs(90),
                },
                Step::DeletePod {
                    pod: "termination-order",
                    window: Duration::from_secs(90),
                },
            ],
        },
        judge: termination::judge,
        // The 10 s grace period, used up by the app.
        inherent: Duration::from_secs(10),
    },
    Behaviour {
        id: "termination-unstarted-sidecar",
        title: "On deletion of a pod whose later sidecar never started, the started sidecar gets SIGTERM at once",
        section: "Differences from application containers",
        claims: &[INDEPENDENT_LIFECYCLES],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::TERMINATION_UNSTARTED]),
                Step::Settle {
                    settled: unstarted::settled,
                    window: Duration::from_secs(90),
                    what: "the later sidecar running without passing its startup probe for 5 s",
                },
                Step::DeletePod {
                    pod: "termination-unstarted",
                    window: Duration::from_secs(60),
                },
            ],
        },
        judge: unstarted::judge,
        // 5 s of the later sidecar running unstarted.
        inherent: Duration::from_secs(5),
    },
    Behaviour {
        id: "sidecar-exit-during-termination",
        title: "A sidecar that exits while its pod terminates is not restarted; the app still gets its time to stop",
        section: "Differences from application containers",
        claims: &[INDEPENDENT_LIFECYCLES],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::TERMINATION_SIDECAR_EXITS]),
                Step::WaitAllRunning {
                    pod: "termination-sidecar-exits",
                    window: Duration::from_secs(90),
                },
                Step::DeletePod {
                    pod: "termination-sidecar-exits",
                    window: Duration::from_secs(60),
                },
            ],
        },
        judge: exits::judge,
        // The app's 8 s stop.
        inherent: Duration::from_secs(8),
    },
    Behaviour {
        id: "sidecar-crash-startup-probe",
        title: "In a restartPolicy Never pod, a startup-probed sidecar that crashed once starts again and the app starts after it",
        section: "Sidecar containers and Pod lifecycle",
        claims: &[
            "If an init container is created with its `restartPolicy` set to `Always`, it will start and remain running during the entire life of the Pod.",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::SIDECAR_CRASH_STARTUP_PROBE]),
                Step::Settle {
                    settled: crash_probe::settled,
                    window: Duration::from_secs(120),
                    what: "the app running, or held up 40 s after the sidecar's second run began",
                },
            ],
        },
        judge: crash_probe::judge,
        // A 1 s first run, the probe's 2 s initial delay.
        inherent: Duration::from_secs(3),
    },
    Behaviour {
        id: "sidecar-image-change",
        title: "Changing a running sidecar's image restarts that sidecar alone, in a new container; the app keeps running",
        section: "Differences from application containers",
        claims: &[UPDATE_WITHOUT_AFFECTING],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::SIDECAR_IMAGE_CHANGE]),
                Step::WaitAllRunning {
                    pod: "sidecar-image-change",
                    window: Duration::from_secs(90),
                },
                Step::PatchPod {
                    pod: "sidecar-image-change",
                    subresource: None,
                    patch: image_change::PATCH,
                    what: "changed the sidecar's image to docker.io/library/alpine:latest",
                },
                Step::Settle {
                    settled: image_change::settled,
                    window: Duration::from_secs(45),
                    what: image_change::SETTLE,
                },
            ],
        },
        judge: image_change::judge,
        // The 10 s watch after the new container runs.
        inherent: Duration::from_secs(10),
    },
    Behaviour {
        id: "sidecar-resize",
        title: "A running sidecar's CPU is resized in place: applied to the same container, nothing restarts",
        section: "Differences from application containers",
        claims: &[UPDATE_WITHOUT_AFFECTING],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::SIDECAR_RESIZE]),
                Step::WaitAllRunning {
                    pod: "sidecar-resize",
                    window: Duration::from_secs(90),
                },
                Step::PatchPod {
                    pod: "sidecar-resize",
                    subresource: Some("resize"),
                    patch: resize::PATCH,
                    what: "resized the sidecar's CPU from 100m to 200m",
                },
                Step::Settle {
                    settled: resize::settled,
                    window: Duration::from_secs(60),
                    what: "the kubelet reporting the sidecar's new CPU as applied",
                },
            ],
        },
        judge: resize::judge,
        // Nothing waits.
        inherent: Duration::from_secs(0),
    },
    Behaviour {
        id: "node-restart",
        title: "After a node restart the pod initializes again: Pending until its sidecar, run again, is started; then the app",
        section: "Sidecar containers and Pod lifecycle",
        claims: &[
            "Since these containers are defined as init containers, they benefit from the same ordering and sequential guarantees as regular init containers, allowing you to mix sidecar containers with regular init containers for complex Pod initialization flows.",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::NODE_RESTART]),
                Step::Settle {
                    settled: node_restart::settled,
                    window: Duration::from_secs(90),
                    what: "the sidecar and the app running (or the pod held up by the would-be sidecar)",
                },
                Step::RestartNode {
                    pod: "node-restart",
                    window: Duration::from_secs(180),
                },
            ],
        },
        judge: node_restart::judge,
        // The sidecar's 15 s to `started`, twice (long enough for the watch to see the
        // pod Pending after the API server is back), and Docker's 10 s stop timeout.
        inherent: Duration::from_secs(40),
    },
    Behaviour {
        id: "qos-class",
        title: "A pod's QoS class counts init, sidecar and app containers alike",
        section: "Resource sharing within containers",
        claims: &[
            "The QoS (quality of service) tier of the Pod's effective QoS tier is the QoS tier for all init, sidecar and app containers alike.",
        ],
        subject: Subject::RuntimeAnyGate,
        scenario: Scenario {
            steps: &[
                Step::Apply(&[doc::QOS]),
                Step::Settle {
                    settled: qos::settled,
                    window: Duration::from_secs(60),
                    what: SETTLED,
                },
                Step::WaitForJobs,
                Step::FetchObjects,
            ],
        },
        judge: qos::judge,
        // Nothing waits.
        inherent: Duration::from_secs(0),
    },
    Behaviour {
        id: "effective-requests",
        title: "The scheduler places pods by their effective request: init requests are not added to the rest, but sidecars before a regular init container are",
        section: "Resource sharing within containers",
        claims: &[
            "The highest of any particular resource request or limit defined on all init containers is the effective init request/limit.",
            "Scheduling is done based on effective requests/limits, which means init containers can reserve resources for initialization that are not used during the life of the Pod.",
        ],
        subject: Subject::Runtime,
        scenario: Scenario {
            steps: &[
                Step::AdvertiseNodeResources(&resources::RESOURCES),
                Step::Apply(&[doc::EFFECTIVE_REQUESTS]),
                Step::Settle {
                    settled: resources::settled,
                    window: Duration::from_secs(60),
                    what: "the scheduler's answer for every pod",
                },
            ],
        },
        judge: resources::judge,
        // Nothing waits.
        inherent: Duration::from_secs(0),
    },
    Behaviour {
        id: "page-lint",
        title: "The page's YAML blocks pass a server-side dry run, its code fences close, its commands name what its examples create",
        section: "the whole page",
        claims: &["kubectl describe pod/myapp", "apiVersion: v1\nkind: Job"],
        subject: Subject::DocumentationDefect,
        scenario: Scenario {
            steps: &[Step::LintPage],
        },
        judge: crate::lint::judge,
        // Dry runs only.
        inherent: Duration::from_secs(0),
    },
    Behaviour {
        id: "job-example-as-written",
        title: "The page's Job example, applied verbatim, is refused by the API server",
        section: "Jobs with sidecar containers",
        claims: &["apiVersion: v1\nkind: Job"],
        subject: Subject::DocumentationDefect,
        scenario: Scenario {
            steps: &[Step::ExpectRejection {
                manifest: doc::JOB_AS_WRITTEN,
                retry: Some(job::fix_api_version_only),
            }],
        },
        judge: job::judge_as_written,
        // Refusals only.
        inherent: Duration::from_secs(0),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use sidecar_conformance_model::gate::GateEffect;

    #[test]
    fn a_version_with_a_known_bug_is_expected_to_show_it_and_a_fixed_one_to_pass() {
        let b = by_id("termination-order").unwrap();
        let v = |s: &str| s.parse::<KubeVersion>().unwrap();
        let alpha = b.unjudged("c", v("1.28.15"), GateSetting::On);
        assert_eq!(alpha.expected, Outcome::Violated);
        let cited = alpha.known_bug.unwrap();
        assert!(
            cited.starts_with("known upstream bug kubernetes/kubernetes#120620"),
            "{cited}"
        );
        assert!(cited.ends_with("fixed in 1.29.0"), "{cited}");
        let fixed = b.unjudged("c", v("1.29.0"), GateSetting::On);
        assert_eq!((fixed.expected, fixed.known_bug), (Outcome::Holds, None));
        // The gate table comes first: with the gate off there is no sidecar to show it.
        let off = b.unjudged("c", v("1.28.15"), GateSetting::Default);
        assert_eq!((off.expected, off.known_bug), (Outcome::SidecarIgnored, None));
    }

    #[test]
    fn every_claim_is_quoted_from_the_page() {
        for b in catalogue() {
            for claim in b.claims {
                assert!(doc::page_contains(claim), "{}: not in the page: {claim:?}", b.id);
            }
        }
    }

    #[test]
    fn every_scenario_applies_before_it_waits_and_advertises_before_it_applies() {
        let applies = |s: &Step| matches!(s, Step::Apply(_) | Step::ExpectRejection { .. } | Step::LintPage);
        for b in catalogue() {
            let steps = b.scenario.steps;
            let names: Vec<&str> = steps.iter().map(Step::name).collect();
            let first = steps
                .iter()
                .position(applies)
                .unwrap_or_else(|| panic!("{}: nothing applied: {names:?}", b.id));
            for (i, step) in steps.iter().enumerate() {
                match step {
                    Step::AdvertiseNodeResources(_) => assert!(i < first, "{}: {names:?}", b.id),
                    s if applies(s) => {}
                    _ => assert!(i > first, "{}: {names:?}", b.id),
                }
            }
        }
        let names =
            |id: &str| -> Vec<&str> { by_id(id).unwrap().scenario.steps.iter().map(Step::name).collect() };
        assert_eq!(
            names("termination-order"),
            ["apply", "wait-all-running", "delete-pod"]
        );
        assert_eq!(
            names("shared-namespaces"),
            ["apply", "settle", "wait-for-jobs", "fetch-objects", "read-logs"]
        );
    }

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<&str> = catalogue().iter().map(|b| b.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), catalogue().len());
    }

    #[test]
    fn expectations_follow_the_gate() {
        let job = by_id("job-completes").unwrap();
        let lint = by_id("job-example-as-written").unwrap();
        assert_eq!(expected_outcome(job, &GateEffect::Enabled), Outcome::Holds);
        assert_eq!(
            expected_outcome(job, &GateEffect::Disabled),
            Outcome::SidecarIgnored
        );
        assert_eq!(expected_outcome(lint, &GateEffect::Disabled), Outcome::Rejected);
        // Init containers count for QoS whether or not sidecars are enabled.
        let qos = by_id("qos-class").unwrap();
        assert_eq!(expected_outcome(qos, &GateEffect::Disabled), Outcome::Holds);
        let refused = GateEffect::ClusterRefused { why: "locked".into() };
        assert_eq!(expected_outcome(job, &refused), Outcome::ClusterRefused);
        assert_eq!(expected_outcome(lint, &refused), Outcome::ClusterRefused);
    }
}
