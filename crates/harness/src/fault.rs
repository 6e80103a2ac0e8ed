//! Faults of the cluster under a play: detected, never judged.
//!
//! A play whose cluster went away looks, from its pods' timelines, exactly like a
//! sidecar regression: containers stop changing, a Job never completes, a restart never
//! comes. So while behaviours play, a [`FaultWatch`] per cluster watches what a play
//! cannot see: the node containers (Docker events, for kind clusters of this machine),
//! the API server (its watches break; a `/version` request confirms), every node's Ready
//! condition and its kubelet's lease. A play also watches its own pods for images that
//! cannot be pulled ([`image_pull_failure`]). When any of these goes, the play ends as
//! `error` naming it, and no judge is asked (see [`crate::runner`]).
//!
//! Everything here is driven by watch events and deadlines: the only timer is the
//! lease's own renew interval, after which a missing renewal *is* the fault.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher;
use kube::{Api, Client};
pub use sidecar_conformance_model::fault::{
    Fault, FaultKind, IMAGE_PULL_REASONS, PULL_GRACE, image_pull_failure,
};
use tokio::io::AsyncBufReadExt;
use tokio::sync::watch;

use crate::apply::MANAGED_BY;
use crate::error::ProbeError;

/// Where a fault came from; each source sets and clears its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Docker,
    Api,
    Lease,
    Node,
}

/// How long a `/version` request may take before the API server counts as unreachable.
const API_PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The faults of one cluster, as they come and go.
#[derive(Debug, Clone)]
pub struct FaultWatch {
    current: watch::Receiver<Option<Fault>>,
    board: Arc<Board>,
    _tasks: Arc<Tasks>,
}

#[derive(Debug)]
struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// The faults each source holds now (the earliest is published), and every fault ever
/// set: one that came and went between two looks of a play is still one it must see.
#[derive(Debug)]
struct Board {
    faults: Mutex<BTreeMap<Source, Fault>>,
    history: Mutex<Vec<Fault>>,
    publish: watch::Sender<Option<Fault>>,
    /// While a play restarts the node on purpose: what it does. Faults are still held
    /// per source (and cleared), but neither published nor kept in the history; one
    /// still held when the outage ends is published then, as new.
    planned: Mutex<Option<String>>,
    /// How many sources hold a fault, published or not: the end of a planned outage
    /// waits on it.
    held: watch::Sender<usize>,
}

impl Board {
    fn new(publish: watch::Sender<Option<Fault>>) -> Board {
        Board {
            faults: Mutex::new(BTreeMap::new()),
            history: Mutex::new(Vec::new()),
            publish,
            planned: Mutex::new(None),
            held: watch::Sender::new(0),
        }
    }

    fn set(&self, source: Source, fault: Option<Fault>) {
        let planned = self.planned.lock().expect("fault board lock").is_some();
        let mut faults = self.faults.lock().expect("fault board lock");
        match fault {
            // A fault that persists keeps the time it was first seen.
            Some(f) => {
                let new = faults.get(&source).is_none_or(|e| e.kind != f.kind);
                if new {
                    if !planned {
                        self.history.lock().expect("fault history lock").push(f.clone());
                    }
                    faults.insert(source, f);
                }
            }
            None => {
                faults.remove(&source);
            }
        }
        self.held.send_replace(faults.len());
        if planned {
            return;
        }
        let earliest = faults.values().min_by_key(|f| f.seen_at).cloned();
        self.publish.send_if_modified(|now| {
            let changed = *now != earliest;
            *now = earliest;
            changed
        });
    }

    /// Ends a planned outage: what is still held becomes a fault seen now.
    fn end_planned(&self) {
        *self.planned.lock().expect("fault board lock") = None;
        let mut faults = self.faults.lock().expect("fault board lock");
        let now = jiff::Timestamp::now();
        for f in faults.values_mut() {
            f.seen_at = now;
            f.detail = format!("{} (still, after the planned restart)", f.detail);
            self.history.lock().expect("fault history lock").push(f.clone());
        }
        let earliest = faults.values().min_by_key(|f| f.seen_at).cloned();
        self.publish.send_replace(earliest);
    }
}

fn fault(kind: FaultKind, detail: String) -> Fault {
    Fault {
        kind,
        seen_at: jiff::Timestamp::now(),
        detail,
    }
}

impl FaultWatch {
    /// Starts watching the cluster behind `client`; `kind_cluster` names a kind cluster
    /// whose node containers are watched through Docker when this machine runs them.
    pub fn start(client: Client, kind_cluster: Option<&str>) -> FaultWatch {
        let (tx, rx) = watch::channel(None);
        let board = Arc::new(Board::new(tx));
        let mut tasks = vec![tokio::spawn(watch_api(client.clone(), board.clone()))];
        if let Some(name) = kind_cluster {
            tasks.push(tokio::spawn(watch_kind(name.to_string(), client, board.clone())));
        }
        FaultWatch {
            current: rx,
            board,
            _tasks: Arc::new(Tasks(tasks)),
        }
    }

    /// A mark in the fault history, for [`FaultWatch::since`].
    pub fn mark(&self) -> usize {
        self.board.history.lock().expect("fault history lock").len()
    }

    /// The first fault set after `mark`, even one that has cleared since.
    pub fn since(&self, mark: usize) -> Option<Fault> {
        self.board
            .history
            .lock()
            .expect("fault history lock")
            .get(mark)
            .cloned()
    }

    /// The fault present now, if any.
    pub fn current(&self) -> Option<Fault> {
        self.current.borrow().clone()
    }

    /// Waits until a fault is present and returns it.
    pub async fn next(&self) -> Fault {
        let mut rx = self.current.clone();
        let seen = rx.wait_for(|f| f.is_some()).await.ok().and_then(|f| f.clone());
        match seen {
            Some(f) => f,
            // The board is gone only with the watch itself.
            None => futures::future::pending().await,
        }
    }

    /// Starts a planned outage (`what`: a node restart a play makes on purpose): until
    /// [`FaultWatch::end_planned_outage`], what the sources see is not a fault of the
    /// run. Only a play that has the cluster to itself may plan one.
    pub fn plan_outage(&self, what: &str) {
        *self.board.planned.lock().expect("fault board lock") = Some(what.to_string());
    }

    /// Ends a planned outage once every source has cleared (at most `deadline`); what
    /// is still wrong then is a fault, published as seen now.
    pub async fn end_planned_outage(&self, deadline: Duration) {
        let mut held = self.board.held.subscribe();
        let _ = tokio::time::timeout(deadline, held.wait_for(|n| *n == 0)).await;
        self.board.end_planned();
    }

    /// Waits at most `deadline` until no fault is present; returns the one still there.
    pub async fn cleared(&self, deadline: Duration) -> Result<(), Fault> {
        let mut rx = self.current.clone();
        let cleared =
            tokio::time::timeout(deadline, async { rx.wait_for(|f| f.is_none()).await.is_ok() }).await;
        match (cleared, self.current()) {
            (Ok(true), _) | (_, None) => Ok(()),
            (_, Some(f)) => Err(f),
        }
    }
}

/// The node containers of kind cluster `name` on this machine's Docker engine, or
/// `None` when there are none (a cluster elsewhere, or no engine).
fn local_node_containers(name: &str) -> Option<Vec<String>> {
    let out = std::process::Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("label=io.x-k8s.kind.cluster={name}"),
            "--format",
            "{{.Names}}",
        ])
        .output()
        .ok()?;
    let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect();
    (out.status.success() && !names.is_empty()).then_some(names)
}

/// The API server alone: enough for a cluster the harness does not own, whose nodes
/// come and go (joining nodes are NotReady for a while, drained ones stop renewing their
/// leases) without touching a play. A broken watch is confirmed with `/readyz`.
async fn watch_api(client: Client, board: Arc<Board>) {
    // The harness's own namespaces change rarely; the watch is there to break when the
    // server goes.
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let label = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
    let stream = watcher(api, watcher::Config::default().labels(&label)).default_backoff();
    futures::pin_mut!(stream);
    while let Some(event) = stream.next().await {
        match event {
            Err(e) => api_error(&client, &board, &e).await,
            Ok(_) => board.set(Source::Api, None),
        }
    }
}

/// A kind cluster of this machine, all of whose nodes serve the plays: its node
/// containers, nodes and kubelet leases.
async fn watch_kind(cluster: String, client: Client, board: Arc<Board>) {
    let name = cluster.clone();
    // Not a kind cluster of this machine (or no engine): nothing more to watch here.
    let Ok(Some(_)) = tokio::task::spawn_blocking(move || local_node_containers(&name)).await else {
        return;
    };
    tokio::join!(
        watch_docker(cluster, board.clone()),
        watch_leases(client.clone(), board.clone()),
        watch_nodes(client, board),
    );
}

/// Docker's event stream for the cluster's node containers. A stop, death, kill, pause
/// or removal is a fault until the container starts again; the stream ending while the
/// engine no longer answers means the engine itself went away.
async fn watch_docker(cluster: String, board: Arc<Board>) {
    loop {
        let name = cluster.clone();
        if let Ok(false) = tokio::task::spawn_blocking(move || crate::cluster::kind::is_running(&name)).await
        {
            board.set(
                Source::Docker,
                Some(fault(
                    FaultKind::NodeContainer,
                    format!("the node container of {cluster} is not running"),
                )),
            );
        }
        let ended = follow_docker_events(&cluster, &board).await;
        // `docker events` ends with the engine, but also on its own (a client killed by a
        // signal meant for the harness): only an engine that does not answer is a fault.
        let answers = tokio::task::spawn_blocking(|| {
            std::process::Command::new("docker")
                .args(["info", "--format", "{{.ServerVersion}}"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .await
        .unwrap_or(false);
        if !answers {
            board.set(
                Source::Docker,
                Some(fault(
                    FaultKind::Engine,
                    format!(
                        "the Docker engine that runs the nodes of {cluster} stopped answering (its event stream ended: {ended})"
                    ),
                )),
            );
            return;
        }
    }
}

/// Follows `docker events` for the cluster's containers until the stream ends; returns
/// how it ended.
async fn follow_docker_events(cluster: &str, board: &Board) -> String {
    let mut command = tokio::process::Command::new("docker");
    command
        .args([
            "events",
            "--filter",
            "type=container",
            "--filter",
            &format!("label=io.x-k8s.kind.cluster={cluster}"),
            // `.Action`, not the deprecated `.Status` that newer engines no longer send.
            "--format",
            "{{.Action}}\t{{.Actor.Attributes.name}}",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .stdin(std::process::Stdio::null())
        // Its own process group: a Ctrl-C meant for the harness must not end it and look
        // like a lost engine; and it dies with the harness, however that ends.
        .process_group(0)
        .kill_on_drop(true);
    // SAFETY: prctl is async-signal-safe and touches only the child being started.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => return format!("docker events could not start: {e}"),
    };
    let Some(stdout) = child.stdout.take() else {
        return "no output".into();
    };
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let (action, name) = line.split_once('\t').unwrap_or((line.as_str(), ""));
        match action {
            // Not `oom`: on cgroup v2 a pod's OOM kill inside the node is reported for the
            // node container too, and the node lives on.
            "die" | "stop" | "kill" | "pause" | "destroy" => board.set(
                Source::Docker,
                Some(fault(
                    FaultKind::NodeContainer,
                    format!("node container {name}: Docker event `{action}`"),
                )),
            ),
            "start" | "unpause" | "restart" => board.set(Source::Docker, None),
            // exec_create, exec_start, exec_die (diagnostics and logs use docker exec), ...
            _ => {}
        }
    }
    match child.wait().await {
        Ok(status) => status.to_string(),
        Err(e) => e.to_string(),
    }
}

/// Asks the API server whether it is ready (`/readyz` checks etcd too, unlike
/// `/version`); `Err` with the reason when it is not or does not answer.
async fn probe_api(client: &Client) -> Result<(), ProbeError> {
    let request = http::Request::get("/readyz")
        .body(Vec::new())
        .map_err(ProbeError::Request)?;
    match tokio::time::timeout(API_PROBE_TIMEOUT, client.request_text(request)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(ProbeError::Failed(e)),
        Err(_) => Err(ProbeError::NoAnswer(API_PROBE_TIMEOUT)),
    }
}

/// After a watch error: the API server is unreachable when `/readyz` fails too.
async fn api_error(client: &Client, board: &Board, error: &watcher::Error) {
    match probe_api(client).await {
        Ok(()) => board.set(Source::Api, None),
        Err(why) => board.set(
            Source::Api,
            Some(fault(
                FaultKind::ApiServer,
                format!("a watch broke ({error}) and {why}"),
            )),
        ),
    }
}

/// One kubelet lease as the watch last saw it.
#[derive(Debug)]
struct Renewal {
    renew_time: Option<String>,
    /// When the harness saw `renew_time` change (its own clock: no skew to the node's).
    seen: tokio::time::Instant,
    /// The lease's duration; the kubelet renews every quarter of it.
    duration: Duration,
}

impl Renewal {
    /// Two renew intervals after the last renewal seen: from then on, a fault.
    fn overdue_at(&self) -> tokio::time::Instant {
        self.seen + self.duration / 2
    }
}

/// The kubelets' leases in `kube-node-lease`. A kubelet renews its lease every quarter
/// of the lease's duration (10 s of 40 s by default); a lease not renewed for two renew
/// intervals means its kubelet is gone (or cut off), unless the API server itself is.
/// Before saying so, the lease is read once more: the watch may lag behind a renewal
/// (a reconnect after an outage, a harness busy elsewhere).
async fn watch_leases(client: Client, board: Arc<Board>) {
    let api: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let stream = watcher(api.clone(), watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut leases: BTreeMap<String, Renewal> = BTreeMap::new();
    // Leases whose kubelet is overdue, and when that was found.
    let mut overdue: BTreeMap<String, Fault> = BTreeMap::new();
    loop {
        // The next lease to become overdue that is not already.
        let next = leases
            .iter()
            .filter(|(name, _)| !overdue.contains_key(*name))
            .map(|(name, r)| (r.overdue_at(), name.clone()))
            .min();
        let deadline = async {
            match &next {
                Some((at, _)) => tokio::time::sleep_until(*at).await,
                None => futures::future::pending().await,
            }
        };
        tokio::select! {
            // A renewal already delivered wins over a deadline that passed meanwhile.
            biased;
            event = stream.next() => match event {
                None => return,
                Some(Err(e)) => api_error(&client, &board, &e).await,
                Some(Ok(watcher::Event::Apply(l) | watcher::Event::InitApply(l))) => {
                    board.set(Source::Api, None);
                    let name = l.metadata.name.clone().unwrap_or_default();
                    let spec = l.spec.unwrap_or_default();
                    let renew_time = spec.renew_time.map(|t| t.0.to_string());
                    let duration = Duration::from_secs(spec.lease_duration_seconds.unwrap_or(40).max(4) as u64);
                    if leases.get(&name).is_none_or(|r| r.renew_time != renew_time) {
                        leases.insert(name.clone(), Renewal { renew_time, seen: tokio::time::Instant::now(), duration });
                        overdue.remove(&name);
                    }
                }
                Some(Ok(watcher::Event::Delete(l))) => {
                    let name = l.metadata.name.unwrap_or_default();
                    leases.remove(&name);
                    overdue.remove(&name);
                }
                Some(Ok(_)) => {}
            },
            () = deadline => {
                let Some((_, name)) = next else { continue };
                match tokio::time::timeout(API_PROBE_TIMEOUT, api.get(&name)).await {
                    Ok(Ok(l)) => {
                        let renew_time = l.spec.and_then(|s| s.renew_time).map(|t| t.0.to_string());
                        let Some(r) = leases.get_mut(&name) else { continue };
                        if r.renew_time != renew_time {
                            // Renewed; the watch had not told yet.
                            r.renew_time = renew_time;
                            r.seen = tokio::time::Instant::now();
                        } else {
                            overdue.insert(name.clone(), fault(
                                FaultKind::Kubelet,
                                format!(
                                    "node {name}: its kubelet has not renewed its lease for {} s (last renewTime {}; it renews every {} s)",
                                    (r.duration / 2).as_secs(),
                                    r.renew_time.as_deref().unwrap_or("-"),
                                    (r.duration / 4).as_secs()
                                ),
                            ));
                        }
                    }
                    // The lease cannot be read: the API server is the fault, not the kubelet.
                    _ => match probe_api(&client).await {
                        Err(why) => board.set(Source::Api, Some(fault(FaultKind::ApiServer, why.to_string()))),
                        // Read again one renew interval later, not in a tight loop.
                        Ok(()) => {
                            if let Some(r) = leases.get_mut(&name) {
                                r.seen += r.duration / 4;
                            }
                        }
                    },
                }
            }
        }
        board.set(Source::Lease, overdue.values().next().cloned());
    }
}

/// Every node's Ready condition: anything but True is a fault, and so is a node that
/// is deleted (a kind cluster's nodes do not come and go).
async fn watch_nodes(client: Client, board: Arc<Board>) {
    let api: Api<Node> = Api::all(client.clone());
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut not_ready: BTreeMap<String, Fault> = BTreeMap::new();
    while let Some(event) = stream.next().await {
        match event {
            Err(e) => api_error(&client, &board, &e).await,
            Ok(watcher::Event::Apply(n) | watcher::Event::InitApply(n)) => {
                let name = n.metadata.name.clone().unwrap_or_default();
                let ready = n
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
                match ready {
                    Some(c) if c.status != "True" => {
                        if !not_ready.contains_key(&name) {
                            not_ready.insert(
                                name.clone(),
                                fault(
                                    FaultKind::NodeNotReady,
                                    format!(
                                        "node {name}: Ready={} ({}: {})",
                                        c.status,
                                        c.reason.as_deref().unwrap_or("-"),
                                        c.message.as_deref().unwrap_or("-")
                                    ),
                                ),
                            );
                        }
                    }
                    _ => {
                        not_ready.remove(&name);
                    }
                }
            }
            Ok(watcher::Event::Delete(n)) => {
                let name = n.metadata.name.unwrap_or_default();
                not_ready.insert(
                    name.clone(),
                    fault(FaultKind::NodeNotReady, format!("node {name} was deleted")),
                );
            }
            Ok(_) => {}
        }
        board.set(Source::Node, not_ready.values().next().cloned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> (Board, watch::Receiver<Option<Fault>>) {
        let (tx, rx) = watch::channel(None);
        (Board::new(tx), rx)
    }

    #[test]
    fn a_planned_outage_hides_what_clears_in_it_and_publishes_what_does_not() {
        let (board, rx) = board();
        *board.planned.lock().unwrap() = Some("restarting the node".into());
        board.set(
            Source::Docker,
            Some(fault(FaultKind::NodeContainer, "die".into())),
        );
        board.set(Source::Api, Some(fault(FaultKind::ApiServer, "refused".into())));
        board.set(Source::Docker, None);
        assert!(rx.borrow().is_none());
        assert_eq!(*board.held.borrow(), 1);
        board.end_planned();
        // The API server did not come back: a fault of the run, seen now.
        let f = rx.borrow().clone().expect("published");
        assert_eq!(f.kind, FaultKind::ApiServer);
        assert!(f.detail.contains("after the planned restart"), "{}", f.detail);
        assert_eq!(board.history.lock().unwrap().len(), 1);
        // Nothing held at the end: nothing published, nothing in the history.
        let (board, rx) = super::tests::board();
        *board.planned.lock().unwrap() = Some("restarting the node".into());
        board.set(
            Source::Docker,
            Some(fault(FaultKind::NodeContainer, "die".into())),
        );
        board.set(Source::Docker, None);
        board.end_planned();
        assert!(rx.borrow().is_none());
        assert!(board.history.lock().unwrap().is_empty());
    }

    #[test]
    fn the_earliest_fault_is_published_and_cleared_by_its_own_source() {
        let (b, rx) = board();
        let first = fault(FaultKind::NodeContainer, "node gone".into());
        b.set(Source::Docker, Some(first.clone()));
        b.set(Source::Api, Some(fault(FaultKind::ApiServer, "refused".into())));
        assert_eq!(
            rx.borrow().as_ref().map(|f| f.kind),
            Some(FaultKind::NodeContainer)
        );
        // The same fault seen again keeps its first time.
        b.set(
            Source::Docker,
            Some(fault(FaultKind::NodeContainer, "again".into())),
        );
        assert_eq!(rx.borrow().as_ref().map(|f| f.seen_at), Some(first.seen_at));
        b.set(Source::Docker, None);
        assert_eq!(rx.borrow().as_ref().map(|f| f.kind), Some(FaultKind::ApiServer));
        b.set(Source::Api, None);
        assert!(rx.borrow().is_none());
        // Gone now, but a play that started before it still learns of both.
        let history = b.history.lock().unwrap();
        assert_eq!(history.len(), 2);
        assert_eq!(history[0].kind, FaultKind::NodeContainer);
    }
}
