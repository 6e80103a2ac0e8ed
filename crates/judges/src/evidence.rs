//! Facts several judges read from an observation.

use k8s_openapi::api::core::v1::Pod;
use sidecar_conformance_model::judgement::{Judgement, Outcome};
use sidecar_conformance_model::observation::{Observation, Rejection};
use sidecar_conformance_model::timeline::{ContainerEventKind, ContainerRole};

/// Evidence gathered check by check: a failed check makes the claim `Violated` and is
/// marked `NOT:` in the evidence.
#[derive(Debug)]
pub struct Findings {
    holds: bool,
    evidence: Vec<String>,
}

impl Default for Findings {
    fn default() -> Self {
        Findings {
            holds: true,
            evidence: Vec::new(),
        }
    }
}

impl Findings {
    /// Records a check: `msg` states what should be true.
    pub fn check(&mut self, ok: bool, msg: String) {
        self.holds &= ok;
        self.evidence.push(if ok { msg } else { format!("NOT: {msg}") });
    }

    /// Records a fact that does not decide anything.
    pub fn note(&mut self, msg: String) {
        self.evidence.push(msg);
    }

    /// Records a failed check.
    pub fn fail(&mut self, msg: String) {
        self.check(false, msg);
    }

    /// Whether every check so far passed.
    pub fn holds(&self) -> bool {
        self.holds
    }

    /// `Holds` if every check passed, else `Violated`.
    pub fn judgement(self) -> Judgement {
        Judgement {
            page_findings: vec![],
            outcome: if self.holds {
                Outcome::Holds
            } else {
                Outcome::Violated
            },
            evidence: self.evidence,
        }
    }
}

/// Names of the init containers the applied manifests declare with
/// `restartPolicy: Always` (in pods and in pod templates).
pub fn declared_sidecars(obs: &Observation) -> Vec<String> {
    let mut names = Vec::new();
    for path in &obs.manifests {
        let Some(text) = manifest_text(obs, path) else {
            continue;
        };
        let Ok(docs) = serde_saphyr::from_multiple::<serde_json::Value>(text) else {
            continue;
        };
        for d in docs {
            for c in pod_spec(&d)["initContainers"].as_array().into_iter().flatten() {
                if c["restartPolicy"] == "Always"
                    && let Some(n) = c["name"].as_str()
                {
                    names.push(n.to_string());
                }
            }
        }
    }
    names
}

/// The text applied under `path`: one of the catalogue's manifests, or a document a
/// `check` applied (kept in the observation).
fn manifest_text<'a>(obs: &'a Observation, path: &str) -> Option<&'a str> {
    match crate::behaviour::manifest(path) {
        Some(m) => Some(m.text),
        None => obs.sources.get(path).map(String::as_str),
    }
}

/// The pod spec of a manifest document: its own for a Pod, its template's otherwise.
pub fn pod_spec(d: &serde_json::Value) -> &serde_json::Value {
    if d["kind"] == "Pod" {
        &d["spec"]
    } else {
        &d["spec"]["template"]["spec"]
    }
}

/// The init container a refusal names (`spec.initContainers[N]...`, or
/// `spec.template.spec.initContainers[N]...`), looked up in the refused object of the
/// manifest the runner applied: its name, when the manifest declares it with
/// `restartPolicy: Always`.
fn refused_declared_sidecar(obs: &Observation, r: &Rejection) -> Option<String> {
    let index: usize = r
        .message
        .split("initContainers[")
        .nth(1)?
        .split(']')
        .next()?
        .parse()
        .ok()?;
    let docs = serde_saphyr::from_multiple::<serde_json::Value>(manifest_text(obs, &r.file)?).ok()?;
    // The runner names a refused object `Kind name`, or `Kind name (apiVersion)`.
    let mut words = r.object.split_whitespace();
    let (kind, name) = (words.next()?, words.next()?);
    let d = docs
        .iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)?;
    let c = &pod_spec(d)["initContainers"][index];
    (c["restartPolicy"] == "Always").then(|| c["name"].as_str().unwrap_or_default().to_string())
}

/// The refusal the API server gives, with the gate off, to a pod whose declared sidecar
/// has a probe: once `restartPolicy` is dropped, the probe sits on a regular init
/// container, which may not have one.
pub const PROBE_WITHOUT_RESTART_POLICY: &str =
    "may not be set for init containers without restartPolicy=Always";

/// `SidecarIgnored` when the observation shows the API server treating the declared
/// sidecars as regular init containers, and only then; `None` (the judge goes on with
/// its own checks, which then fail) when any of that evidence is missing:
///
/// - either the API server refused a pod for a probe on an init container the manifest
///   declares with `restartPolicy: Always` (the field was dropped, the probe stayed);
/// - or, in every pod of the recording that has declared sidecars: each is stored
///   without `restartPolicy` (a regular init container), the first of them was seen
///   running and never exited (a regular init container that never exits holds up
///   everything after it), each later one never started (it waits behind the first),
///   and no app container ever started.
///
/// A would-be sidecar that never ran (an image that cannot be pulled, a pod never
/// scheduled) shows nothing of the gate: the same pod looks alike with sidecars enabled.
pub fn sidecar_ignored(obs: &Observation) -> Option<Judgement> {
    let declared = declared_sidecars(obs);
    if declared.is_empty() {
        return None;
    }
    if let Some((r, name)) = obs
        .rejections
        .iter()
        .filter(|r| r.message.contains(PROBE_WITHOUT_RESTART_POLICY))
        .find_map(|r| refused_declared_sidecar(obs, r).map(|n| (r, n)))
    {
        return Some(Judgement {
            page_findings: vec![],
            outcome: Outcome::SidecarIgnored,
            evidence: vec![
                format!("the API server refused {} of {}: {}", r.object, r.file, r.message),
                format!(
                    "the manifest declares {name} with restartPolicy: Always; the API server dropped the field, which left a probe on a regular init container"
                ),
            ],
        });
    }
    let mut evidence = Vec::new();
    let mut pods_held_up = 0;
    for (pod_name, pod) in &obs.timeline.pods {
        // The would-be sidecars of this pod, in spec order.
        let would_be: Vec<_> = pod
            .containers
            .iter()
            .filter(|c| declared.contains(&c.name))
            .collect();
        if would_be.is_empty() {
            continue;
        }
        // The would-be sidecar that holds the pod up: seen running, never exited.
        let mut holder: Option<&str> = None;
        for c in would_be {
            if c.role != ContainerRole::Init {
                return None;
            }
            evidence.push(format!(
                "pod {pod_name}: init container {} is declared with restartPolicy: Always but the stored pod has none (the API server dropped the field)",
                c.name
            ));
            // A regular init container that exited is not holding anything up (and
            // one that failed is the business of the judges that expect it).
            if !c.terminations().is_empty() {
                return None;
            }
            let running = matches!(c.last_state(), Some(ContainerEventKind::Running { .. }));
            match (c.ever_ran(), running, holder) {
                (true, true, None) => {
                    holder = Some(&c.name);
                    evidence.push(format!(
                        "pod {pod_name}: {} has been running since {} as a regular init container and never exited",
                        c.name,
                        fmt_time(c.first_started_at())
                    ));
                }
                (false, _, Some(h)) => evidence.push(format!(
                    "pod {pod_name}: {} never started: it waits behind {h}, which never exits",
                    c.name
                )),
                // Never ran with nothing before it to wait for; ran but is not running;
                // or running alongside the first, which a regular init container cannot.
                _ => return None,
            }
        }
        // A pod none of whose would-be sidecars is seen holding it up shows nothing.
        holder?;
        let apps: Vec<&str> = pod
            .with_role(ContainerRole::App)
            .map(|a| a.name.as_str())
            .collect();
        if pod.with_role(ContainerRole::App).any(|a| a.ever_ran()) {
            return None;
        }
        evidence.push(format!(
            "pod {pod_name}: app container(s) {} never started; last phase {}",
            apps.join(", "),
            pod.last_phase().unwrap_or("unknown")
        ));
        if let Some(p) = obs.pod(pod_name) {
            let (ready, total) = ready_column(p);
            evidence.push(format!(
                "pod {pod_name}: kubectl would show READY {ready}/{total}, STATUS {}",
                status_column(p)
            ));
        }
        pods_held_up += 1;
    }
    (pods_held_up > 0).then_some(Judgement {
        page_findings: vec![],
        outcome: Outcome::SidecarIgnored,
        evidence,
    })
}

/// The READY column of `kubectl get pods`: ready app containers plus ready sidecars,
/// over app containers plus sidecars (kubectl counts restartable init containers since
/// 1.29).
pub fn ready_column(pod: &Pod) -> (usize, usize) {
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let sidecars: Vec<String> = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.clone())
        .collect();
    let total = spec.containers.len() + sidecars.len();
    let ready_apps = status
        .container_statuses
        .iter()
        .flatten()
        .filter(|s| s.ready)
        .count();
    let ready_sidecars = status
        .init_container_statuses
        .iter()
        .flatten()
        .filter(|s| sidecars.contains(&s.name) && s.ready)
        .count();
    (ready_apps + ready_sidecars, total)
}

/// The RESTARTS column: all restarts of app and init containers.
pub fn restarts_column(pod: &Pod) -> i32 {
    let status = pod.status.clone().unwrap_or_default();
    status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
        .map(|s| s.restart_count)
        .sum()
}

/// The STATUS column, simplified: `Init:N/M` while regular init containers run, the
/// waiting reason of an app container, else the phase.
pub fn status_column(pod: &Pod) -> String {
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let regular_init: Vec<&str> = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|c| c.restart_policy.as_deref() != Some("Always"))
        .map(|c| c.name.as_str())
        .collect();
    let inits = status.init_container_statuses.clone().unwrap_or_default();
    let done = inits
        .iter()
        .filter(|s| regular_init.contains(&s.name.as_str()))
        .filter(|s| {
            s.state
                .as_ref()
                .and_then(|st| st.terminated.as_ref())
                .is_some_and(|t| t.exit_code == 0)
        })
        .count();
    // As kubectl: an init container stuck waiting (image pull, crash loop) shows its reason.
    let stuck_init = inits.iter().find_map(|s| {
        s.state
            .as_ref()
            .and_then(|st| st.waiting.as_ref())
            .and_then(|w| w.reason.clone())
            .filter(|r| r != "PodInitializing")
    });
    if let Some(reason) = stuck_init {
        return format!("Init:{reason}");
    }
    if !regular_init.is_empty() && done < regular_init.len() {
        return format!("Init:{done}/{}", regular_init.len());
    }
    for s in status.container_statuses.iter().flatten() {
        if let Some(reason) = s
            .state
            .as_ref()
            .and_then(|st| st.waiting.as_ref())
            .and_then(|w| w.reason.clone())
        {
            return reason;
        }
    }
    status.phase.unwrap_or_else(|| "Unknown".into())
}

/// A timestamp for evidence, `-` when absent.
pub fn fmt_time(t: Option<jiff::Timestamp>) -> String {
    t.map(|t| t.to_string()).unwrap_or_else(|| "-".into())
}

/// A terminated event's exit code and times, when it is one.
pub fn termination(
    kind: &ContainerEventKind,
) -> Option<(i32, Option<jiff::Timestamp>, Option<jiff::Timestamp>)> {
    match kind {
        ContainerEventKind::Terminated {
            exit_code,
            started_at,
            finished_at,
            ..
        } => Some((*exit_code, *started_at, *finished_at)),
        _ => None,
    }
}

/// Whether some pod is held up by a regular init container that has been running for
/// at least `window` (seen by the recorder) while none of its app containers ever ran:
/// the shape of a pod whose sidecar was turned into a regular init container.
pub fn stuck_behind_init(
    rec: &sidecar_conformance_model::recorder::Recorder,
    window: std::time::Duration,
) -> bool {
    let now = jiff::Timestamp::now();
    rec.timeline().pods.values().any(|pod| {
        let apps_never_ran = !pod.with_role(ContainerRole::App).any(|a| a.ever_ran());
        apps_never_ran
            && pod.with_role(ContainerRole::Init).any(|c| {
                c.terminations().is_empty()
                    && c.events.iter().any(|e| {
                        matches!(e.kind, ContainerEventKind::Running { .. })
                            && now.duration_since(e.observed_at).as_secs_f64() >= window.as_secs_f64()
                    })
            })
    })
}

/// How long a would-be sidecar must hold up its pod before a scenario stops waiting.
pub const STUCK_WINDOW: std::time::Duration = std::time::Duration::from_secs(20);

/// The container starts the runtime failed (`StartError`), one line each, with the
/// runtime's message: faults of the node that the kubelet retries on its own. On cgroup
/// v1 hosts under load, runc's `unable to freeze` is the usual one.
pub fn runtime_start_failures(obs: &Observation) -> Vec<String> {
    let mut out = Vec::new();
    for (pod_name, pod) in &obs.timeline.pods {
        for c in &pod.containers {
            for e in c.start_failures() {
                if let ContainerEventKind::Terminated { reason, message, .. } = &e.kind {
                    out.push(format!(
                        "pod {pod_name}: the container runtime failed to start {} ({}, seen at {}): {}",
                        c.name,
                        reason.as_deref().unwrap_or("exit 128"),
                        e.observed_at,
                        message.as_deref().unwrap_or("no message")
                    ));
                }
            }
        }
    }
    out
}

/// What most fixture judges read first: the sidecar ignored (the gate off) is the
/// judgement; otherwise the pod's timeline and its `sidecar` and `app` containers, or
/// a judgement saying which is missing.
pub fn sidecar_and_app<'a>(
    obs: &'a Observation,
    pod: &str,
    sidecar: &str,
    app: &str,
) -> Result<
    (
        &'a sidecar_conformance_model::timeline::PodTimeline,
        &'a sidecar_conformance_model::timeline::ContainerTimeline,
        &'a sidecar_conformance_model::timeline::ContainerTimeline,
    ),
    Judgement,
> {
    if let Some(ignored) = sidecar_ignored(obs) {
        return Err(ignored);
    }
    let timeline = obs
        .timeline
        .pods
        .get(pod)
        .ok_or_else(|| missing(format!("pod {pod} was never seen")))?;
    match (timeline.container(sidecar), timeline.container(app)) {
        (Some(s), Some(a)) => Ok((timeline, s, a)),
        _ => Err(missing(format!("pod {pod}: containers missing"))),
    }
}

/// When the play acted on `pod` (its first action), or a judgement saying it never did
/// and why (`why`: what kept it from acting).
pub fn acted_on(obs: &Observation, pod: &str, what: &str, why: &str) -> Result<jiff::Timestamp, Judgement> {
    obs.actions
        .iter()
        .find(|a| a.pod == pod)
        .map(|a| a.at)
        .ok_or_else(|| missing(format!("{what} never happened: {why}")))
}

/// `events` as `label at time, ...`, or `none` when there are none.
pub fn listed(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_string()
    } else {
        items.join(", ")
    }
}

/// A `Violated` judgement for an observation that lacks what the judge needs.
pub fn missing(what: String) -> Judgement {
    Judgement {
        page_findings: vec![],
        outcome: Outcome::Violated,
        evidence: vec![what],
    }
}

/// Settled once `container` of `pod` ran, or when a pod is held up by an init container.
pub fn ran_or_held_up(
    rec: &sidecar_conformance_model::recorder::Recorder,
    pod: &str,
    container: &str,
) -> bool {
    let ran = rec
        .timeline()
        .pods
        .get(pod)
        .and_then(|p| p.container(container))
        .is_some_and(|c| c.ever_ran());
    ran || stuck_behind_init(rec, STUCK_WINDOW)
}

/// Fields of a container that the Pod schema does not declare on the pod spec itself.
const CONTAINER_ONLY_FIELDS: [&str; 8] = [
    "command",
    "args",
    "image",
    "volumeMounts",
    "env",
    "envFrom",
    "ports",
    "workingDir",
];

/// The container fields a manifest document puts on its pod spec instead of inside a
/// container, as the paths strict validation names (`.spec.template.spec.command`):
/// what the page's Job block does with `command` and `volumeMounts`.
pub fn misplaced_container_fields(d: &serde_json::Value) -> Vec<String> {
    let prefix = if d["kind"] == "Pod" {
        ".spec"
    } else {
        ".spec.template.spec"
    };
    let spec = pod_spec(d);
    CONTAINER_ONLY_FIELDS
        .iter()
        .filter(|f| !spec[**f].is_null())
        .map(|f| format!("{prefix}.{f}"))
        .collect()
}

/// Checks a refusal of a manifest whose `kind` its `apiVersion` does not serve (the
/// page's `Job` in `v1`): `Ok` with what confirms it when the answer says exactly that
/// (discovery knows no such kind there, and the API server answered a create at the
/// path the apiVersion implies with 404 NotFound, as the runner records it), `Err`
/// naming the answer otherwise. A refusal for any other reason (403 Forbidden, 409
/// Conflict, 429 TooManyRequests, a 5xx, a validation error) says nothing about the
/// manifest's apiVersion.
pub fn confirms_kind_not_served(message: &str, kind: &str, api_version: &str) -> Result<String, String> {
    let no_match = format!("no matches for kind \"{kind}\" in version \"{api_version}\"");
    let not_found = |answer: &str| answer.contains("HTTP 404") && answer.contains("NotFound");
    let direct = message
        .split_once("answered a direct create with: ")
        .map(|(_, answer)| answer);
    match (message.contains(&no_match), direct) {
        (true, Some(answer)) if not_found(answer) => Ok(format!(
            "discovery serves no {kind} in {api_version}, and the API server answered a create at the path {api_version} implies with 404 NotFound: {answer}"
        )),
        (true, Some(answer)) => Err(format!(
            "discovery serves no {kind} in {api_version}, but the API server answered a create at its path with something else than 404 NotFound: {answer}"
        )),
        (true, None) => Ok(format!("discovery serves no {kind} in {api_version}: {message}")),
        (false, _) if not_found(message) => Ok(format!(
            "the API server answered with 404 NotFound: it serves no {kind} in {api_version}: {message}"
        )),
        (false, _) => Err(format!(
            "refused for another reason than {kind} not being served in {api_version}: {message}"
        )),
    }
}

/// Checks a refusal by strict field validation for fields the schema does not declare
/// where the manifest puts them (`fields`, as [`misplaced_container_fields`] gives
/// them): `Ok` with the fields the API server named, `Err` naming the answer when it
/// names none of them.
pub fn confirms_undeclared_fields(message: &str, fields: &[String]) -> Result<Vec<String>, String> {
    let named: Vec<String> = fields
        .iter()
        .filter(|f| {
            // Server-side apply: `.spec.template.spec.command: field not declared in
            // schema`; a strict create or update: `unknown field "spec.template.spec.command"`.
            message.contains(&format!("{f}: field not declared in schema"))
                || message.contains(&format!("unknown field \"{}\"", f.trim_start_matches('.')))
        })
        .cloned()
        .collect();
    if named.is_empty() {
        Err(format!(
            "refused, but not for a field the schema does not declare among {}: {message}",
            fields.join(", ")
        ))
    } else {
        Ok(named)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_job_block_misplaces_command_and_volume_mounts() {
        let d: serde_json::Value =
            serde_saphyr::from_str(sidecar_conformance_model::doc::JOB_AS_WRITTEN.text).unwrap();
        assert_eq!(
            misplaced_container_fields(&d),
            vec![".spec.template.spec.command", ".spec.template.spec.volumeMounts"]
        );
        let d: serde_json::Value =
            serde_saphyr::from_str(sidecar_conformance_model::doc::JOB_CORRECTED.text).unwrap();
        assert!(misplaced_container_fields(&d).is_empty());
    }

    #[test]
    fn only_the_servers_own_reasons_confirm_a_defect() {
        let direct = |answer: &str| {
            format!(
                "no matches for kind \"Job\" in version \"v1\" (discovery); the API server answered a direct create with: {answer}"
            )
        };
        assert!(
            confirms_kind_not_served(
                &direct("HTTP 404 NotFound at POST /api/v1/namespaces/x/jobs: the server could not find the requested resource"),
                "Job",
                "v1"
            )
            .is_ok()
        );
        for refused in [
            direct("HTTP 429 TooManyRequests at POST /api/v1/namespaces/x/jobs: slow down"),
            direct("HTTP 403 Forbidden at POST /api/v1/namespaces/x/jobs: forbidden"),
            "the server has received too many requests (TooManyRequests, HTTP 429)".to_string(),
            "no matches for kind \"Job\" in version \"batch/v1\"".to_string(),
        ] {
            assert!(
                confirms_kind_not_served(&refused, "Job", "v1").is_err(),
                "{refused}"
            );
        }
        let fields = vec![".spec.template.spec.command".to_string()];
        assert!(
            confirms_undeclared_fields(
                "failed to create typed patch object (ns/myapp; batch/v1, Kind=Job): .spec.template.spec.command: field not declared in schema (, HTTP 500)",
                &fields
            )
            .is_ok()
        );
        assert!(
            confirms_undeclared_fields(
                "Job.batch \"myapp\" is invalid: strict decoding error: unknown field \"spec.template.spec.command\" (BadRequest, HTTP 400)",
                &fields
            )
            .is_ok()
        );
        assert!(
            confirms_undeclared_fields("Internal error occurred (InternalError, HTTP 500)", &fields).is_err()
        );
    }
}
