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
pub use sidecar_conformance_model::fault::{Fault, FaultKind, IMAGE_PULL_REASONS, image_pull_failure};
use tokio::io::AsyncBufReadExt;
use tokio::sync::watch;

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

/// The faults each source holds now; the earliest is published.
#[derive(Debug)]
struct Board {
    faults: Mutex<BTreeMap<Source, Fault>>,
    publish: watch::Sender<Option<Fault>>,
}

impl Board {
    fn set(&self, source: Source, fault: Option<Fault>) {
        let mut faults = self.faults.lock().expect("fault board lock");
        match fault {
            // A fault that persists keeps the time it was first seen.
            Some(f) => {
                let entry = faults.entry(source).or_insert_with(|| f.clone());
                if entry.kind != f.kind {
                    *entry = f;
                }
            }
            None => {
                faults.remove(&source);
            }
        }
        let earliest = faults.values().min_by_key(|f| f.seen_at).cloned();
        self.publish.send_if_modified(|now| {
            let changed = *now != earliest;
            *now = earliest;
            changed
        });
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
        let board = Arc::new(Board {
            faults: Mutex::new(BTreeMap::new()),
            publish: tx,
        });
        let mut tasks = vec![
            tokio::spawn(watch_leases(client.clone(), board.clone())),
            tokio::spawn(watch_nodes(client, board.clone())),
        ];
        if let Some(name) = kind_cluster {
            tasks.push(tokio::spawn(watch_docker(name.to_string(), board)));
        }
        FaultWatch {
            current: rx,
            _tasks: Arc::new(Tasks(tasks)),
        }
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

/// Docker's event stream for the cluster's node containers. A stop, death, kill,
/// pause or removal is a fault until the container starts again; the stream ending
/// means the engine itself went away.
async fn watch_docker(cluster: String, board: Arc<Board>) {
    let name = cluster.clone();
    // Not a kind cluster of this machine (or no engine): nothing to watch here.
    let Ok(Some(_)) = tokio::task::spawn_blocking(move || local_node_containers(&name)).await else {
        return;
    };
    let spawned = tokio::process::Command::new("docker")
        .args([
            "events",
            "--filter",
            "type=container",
            "--filter",
            &format!("label=io.x-k8s.kind.cluster={cluster}"),
            "--format",
            "{{.Status}}\t{{.Actor.Attributes.name}}",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let Ok(mut child) = spawned else { return };
    let Some(stdout) = child.stdout.take() else { return };
    // The containers may have gone between listing them and subscribing.
    let name = cluster.clone();
    if let Ok(false) = tokio::task::spawn_blocking(move || crate::cluster::kind::is_running(&name)).await {
        board.set(
            Source::Docker,
            Some(fault(
                FaultKind::NodeContainer,
                format!("the node container of {cluster} is not running"),
            )),
        );
    }
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let (status, name) = line.split_once('\t').unwrap_or((line.as_str(), ""));
        match status {
            "die" | "stop" | "kill" | "pause" | "destroy" | "oom" => board.set(
                Source::Docker,
                Some(fault(
                    FaultKind::NodeContainer,
                    format!("node container {name}: Docker event `{status}`"),
                )),
            ),
            "start" | "unpause" | "restart" => board.set(Source::Docker, None),
            _ => {}
        }
    }
    let status = child.wait().await.ok();
    board.set(
        Source::Docker,
        Some(fault(
            FaultKind::Engine,
            format!(
                "the Docker engine's event stream ended ({}): the engine that runs the nodes of {cluster} stopped answering",
                status.map(|s| s.to_string()).unwrap_or_else(|| "no status".into())
            ),
        )),
    );
}

/// Asks the API server for its version; `Err` with the reason when it does not answer.
async fn probe_api(client: &Client) -> Result<(), String> {
    match tokio::time::timeout(API_PROBE_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no answer to GET /version within {} s",
            API_PROBE_TIMEOUT.as_secs()
        )),
    }
}

/// After a watch error: the API server is unreachable when `/version` fails too.
async fn api_error(client: &Client, board: &Board, error: &watcher::Error) {
    match probe_api(client).await {
        Ok(()) => board.set(Source::Api, None),
        Err(why) => board.set(
            Source::Api,
            Some(fault(
                FaultKind::ApiServer,
                format!("a watch broke ({error}) and GET /version failed: {why}"),
            )),
        ),
    }
}

/// The kubelets' leases in `kube-node-lease`. A kubelet renews its lease every quarter
/// of the lease's duration (10 s of 40 s by default); a lease not renewed for two renew
/// intervals means its kubelet is gone (or cut off), unless the API server itself is.
async fn watch_leases(client: Client, board: Arc<Board>) {
    let api: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    // Per lease: its last renewTime, and when the harness saw it change.
    let mut renewed: BTreeMap<String, (Option<String>, tokio::time::Instant, Duration)> = BTreeMap::new();
    loop {
        let overdue = renewed
            .iter()
            .map(|(name, (_, seen, d))| (*seen + *d / 2, name.clone(), *d))
            .min_by_key(|(at, _, _)| *at);
        let deadline = async {
            match &overdue {
                Some((at, _, _)) => tokio::time::sleep_until(*at).await,
                None => futures::future::pending().await,
            }
        };
        tokio::select! {
            event = stream.next() => match event {
                None => return,
                Some(Err(e)) => api_error(&client, &board, &e).await,
                Some(Ok(watcher::Event::Apply(l) | watcher::Event::InitApply(l))) => {
                    board.set(Source::Api, None);
                    let name = l.metadata.name.clone().unwrap_or_default();
                    let spec = l.spec.unwrap_or_default();
                    let renew = spec.renew_time.map(|t| t.0.to_string());
                    let duration = Duration::from_secs(spec.lease_duration_seconds.unwrap_or(40).max(4) as u64);
                    let changed = renewed.get(&name).is_none_or(|(r, _, _)| *r != renew);
                    if changed {
                        renewed.insert(name, (renew, tokio::time::Instant::now(), duration));
                        if renewed.values().all(|(_, seen, d)| seen.elapsed() < *d / 2) {
                            board.set(Source::Lease, None);
                        }
                    }
                }
                Some(Ok(watcher::Event::Delete(l))) => {
                    renewed.remove(&l.metadata.name.unwrap_or_default());
                }
                Some(Ok(_)) => {}
            },
            () = deadline => {
                let Some((_, name, d)) = overdue else { continue };
                match probe_api(&client).await {
                    Err(why) => board.set(Source::Api, Some(fault(FaultKind::ApiServer, format!("GET /version failed: {why}")))),
                    Ok(()) => {
                        let last = renewed.get(&name).and_then(|(r, _, _)| r.clone()).unwrap_or_else(|| "-".into());
                        board.set(Source::Lease, Some(fault(
                            FaultKind::Kubelet,
                            format!(
                                "node {name}: its kubelet has not renewed its lease for {} s (last renewTime {last}; it renews every {} s)",
                                (d / 2).as_secs(),
                                (d / 4).as_secs()
                            ),
                        )));
                    }
                }
                // Look again one renew interval later, not in a tight loop.
                if let Some(entry) = renewed.get_mut(&name) {
                    entry.1 += d / 4;
                }
            }
        }
    }
}

/// Every node's Ready condition: anything but True is a fault.
async fn watch_nodes(client: Client, board: Arc<Board>) {
    let api: Api<Node> = Api::all(client.clone());
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut not_ready: BTreeMap<String, String> = BTreeMap::new();
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
                        not_ready.insert(
                            name.clone(),
                            format!(
                                "node {name}: Ready={} ({}: {})",
                                c.status,
                                c.reason.as_deref().unwrap_or("-"),
                                c.message.as_deref().unwrap_or("-")
                            ),
                        );
                    }
                    _ => {
                        not_ready.remove(&name);
                    }
                }
                board.set(
                    Source::Node,
                    not_ready
                        .values()
                        .next()
                        .map(|d| fault(FaultKind::NodeNotReady, d.clone())),
                );
            }
            Ok(watcher::Event::Delete(n)) => {
                board.set(
                    Source::Node,
                    Some(fault(
                        FaultKind::NodeNotReady,
                        format!("node {} was deleted", n.metadata.name.unwrap_or_default()),
                    )),
                );
            }
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> (Board, watch::Receiver<Option<Fault>>) {
        let (tx, rx) = watch::channel(None);
        (
            Board {
                faults: Mutex::new(BTreeMap::new()),
                publish: tx,
            },
            rx,
        )
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
    }
}
