//! What a person needs to see why a play failed or errored, beyond its observation:
//! the namespace's events, every container's current and previous log, the pod objects
//! as the API server has them now, and, for a kind node of this machine, the kubelet's
//! and containerd's journal for the play's time window. Written under
//! `<run dir>/diagnostics/<cluster>/<behaviour>/` and linked from every report format.
//!
//! Collecting never decides anything and never fails the run: a piece that cannot be
//! had (the cluster is gone) is written as the reason it could not be had.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{ListParams, LogParams};
use kube::{Api, Client};

use crate::error::RequestError;

/// Bound on each request: after a fault the API server may never answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Collects the diagnostics of a play in `namespace` of `cluster` that ran from `since`
/// to now, and returns their directory relative to the run directory `run_dir`.
pub async fn collect(
    client: &Client,
    cluster: &str,
    run_dir: &Path,
    behaviour: &str,
    namespace: &str,
    since: jiff::Timestamp,
) -> Option<String> {
    let dir = run_dir.join("diagnostics").join(cluster).join(behaviour);
    std::fs::create_dir_all(dir.join("logs")).ok()?;
    let client = client.clone();
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    write(
        &dir.join("events.txt"),
        match bounded(events.list(&ListParams::default())).await {
            Ok(list) => {
                let mut items = list.items;
                items.sort_by_key(|e| event_time(e).map(|t| t.to_string()));
                items.iter().map(event_line).collect::<Vec<_>>().join("\n") + "\n"
            }
            Err(e) => format!("events of {namespace} could not be read: {e}\n"),
        },
    );
    let pods: Api<Pod> = Api::namespaced(client, namespace);
    match bounded(pods.list(&ListParams::default())).await {
        Ok(list) => {
            write(
                &dir.join("pods.json"),
                serde_json::to_string_pretty(&list.items).unwrap_or_default(),
            );
            for pod in &list.items {
                let name = pod.metadata.name.clone().unwrap_or_default();
                let spec = pod.spec.clone().unwrap_or_default();
                let containers = spec
                    .init_containers
                    .iter()
                    .flatten()
                    .chain(spec.containers.iter())
                    .map(|c| c.name.clone());
                for c in containers {
                    for previous in [false, true] {
                        let params = LogParams {
                            container: Some(c.clone()),
                            previous,
                            ..Default::default()
                        };
                        let text = match bounded(pods.logs(&name, &params)).await {
                            Ok(t) => t,
                            Err(e) => format!("(not readable: {e})\n"),
                        };
                        let file = format!("{name}.{c}{}.log", if previous { ".previous" } else { "" });
                        write(&dir.join("logs").join(file), text);
                    }
                }
            }
        }
        Err(e) => write(
            &dir.join("pods.json"),
            format!("pods of {namespace} could not be read: {e}\n"),
        ),
    }
    node_journal(cluster, since, &dir).await;
    Some(dir.strip_prefix(run_dir).unwrap_or(&dir).display().to_string())
}

/// The kubelet's and containerd's journal of every kind node of `cluster` on this
/// machine, from a little before `since` to now; nothing for other clusters.
async fn node_journal(cluster: &str, since: jiff::Timestamp, dir: &Path) {
    let cluster = cluster.to_string();
    let dir: PathBuf = dir.to_path_buf();
    let _ = tokio::task::spawn_blocking(move || {
        let nodes = std::process::Command::new("docker")
            .args([
                "ps",
                "-a",
                "--filter",
                &format!("label=io.x-k8s.kind.cluster={cluster}"),
                "--format",
                "{{.Names}}",
            ])
            .output();
        let Ok(nodes) = nodes else { return };
        let from = format!("@{}", since.as_second() - 5);
        for node in String::from_utf8_lossy(&nodes.stdout)
            .lines()
            .filter(|l| !l.is_empty())
        {
            let out = std::process::Command::new("timeout")
                .args([
                    "20",
                    "docker",
                    "exec",
                    node,
                    "journalctl",
                    "--no-pager",
                    "-o",
                    "short-iso-precise",
                    "-u",
                    "kubelet",
                    "-u",
                    "containerd",
                    "--since",
                    &from,
                ])
                .output();
            let text = match out {
                Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
                Ok(o) => format!(
                    "journalctl in node {node} failed ({}): {}\n",
                    o.status,
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
                Err(e) => format!("docker exec {node} could not run: {e}\n"),
            };
            write(&dir.join(format!("{node}.kubelet-containerd.log")), text);
        }
    })
    .await;
}

async fn bounded<T>(f: impl Future<Output = Result<T, kube::Error>>) -> Result<T, RequestError> {
    match tokio::time::timeout(REQUEST_TIMEOUT, f).await {
        Ok(r) => r.map_err(RequestError::Kube),
        Err(_) => Err(RequestError::NoAnswer(REQUEST_TIMEOUT)),
    }
}

fn write(path: &Path, text: String) {
    let _ = std::fs::write(path, text);
}

fn event_time(e: &Event) -> Option<jiff::Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
}

/// One event as `kubectl get events` would show it.
fn event_line(e: &Event) -> String {
    format!(
        "{} {} {} {}/{}: {}{}",
        event_time(e).map(|t| t.to_string()).unwrap_or_else(|| "-".into()),
        e.type_.as_deref().unwrap_or("-"),
        e.reason.as_deref().unwrap_or("-"),
        e.involved_object.kind.as_deref().unwrap_or("-"),
        e.involved_object.name.as_deref().unwrap_or("-"),
        e.message.as_deref().unwrap_or("").trim(),
        match e.count {
            Some(n) if n > 1 => format!(" (x{n})"),
            _ => String::new(),
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_as_kubectl_shows_it() {
        let e: Event = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "myapp-1"},
            "type": "Warning", "reason": "BackOff", "count": 3,
            "lastTimestamp": "2026-12-04T10:00:00Z",
            "message": "Back-off restarting failed container"
        }))
        .unwrap();
        assert_eq!(
            event_line(&e),
            "2026-12-04T10:00:00Z Warning BackOff Pod/myapp-1: Back-off restarting failed container (x3)"
        );
    }
}
