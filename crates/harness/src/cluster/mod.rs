//! Where clusters come from: a kind cluster built here ([`kind`]), or an existing
//! cluster given by a kubeconfig. Either way the rest of the harness gets a [`Cluster`]:
//! a name, a kubeconfig of its own (never `~/.kube/config`), the Kubernetes version and
//! the gate setting it was asked for.

pub mod kind;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde::Serialize;

use crate::cleanup::{Owned, Resource};
use crate::error::ClusterError;
use crate::gate::GateSetting;
use crate::version::KubeVersion;

/// How a cluster was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Created by this run; deleted at its end unless kept.
    KindCreated,
    /// A kept kind cluster of an earlier run, reused.
    KindReused,
    /// Given by the user through `--kubeconfig`; never modified beyond test namespaces.
    Kubeconfig,
}

/// A cluster the harness can talk to.
#[derive(Debug)]
pub struct Cluster {
    pub name: String,
    pub kubeconfig: PathBuf,
    pub version: KubeVersion,
    pub gate: GateSetting,
    pub origin: Origin,
    /// Deletes the cluster when the `Cluster` goes, for clusters this run created.
    guard: Option<Owned>,
}

impl Cluster {
    /// A client for the cluster, checked to answer.
    pub async fn client(&self) -> Result<Client, ClusterError> {
        client_for(&self.kubeconfig).await.map(|(c, _)| c)
    }

    /// Keeps the cluster after the run (`--keep`).
    pub fn keep(&mut self) {
        if let Some(g) = self.guard.take() {
            g.keep();
        }
    }

    /// Deletes the cluster now if this run owns it.
    pub fn delete(mut self) -> Result<(), ClusterError> {
        match self.guard.take() {
            Some(g) => g.delete().map_err(ClusterError::from),
            None => Ok(()),
        }
    }

    /// A cluster someone else owns and whose version is already known (e.g. from the
    /// keeper's list); nothing is checked until a client is asked for.
    pub fn known(name: &str, kubeconfig: &Path, version: KubeVersion, gate: GateSetting) -> Cluster {
        Cluster {
            name: name.to_string(),
            kubeconfig: kubeconfig.to_path_buf(),
            version,
            gate,
            origin: Origin::Kubeconfig,
            guard: None,
        }
    }

    /// An existing cluster from a kubeconfig; its version is read from the API server.
    pub async fn from_kubeconfig(path: &Path, gate: GateSetting) -> Result<Cluster, ClusterError> {
        let (_, server_version) = client_for(path).await?;
        let version = parse_server_version(&server_version).ok_or_else(|| ClusterError::ServerVersion {
            kubeconfig: path.to_path_buf(),
            server_version: server_version.clone(),
        })?;
        Ok(Cluster {
            name: format!("kubeconfig-{}", version.slug()),
            kubeconfig: path.to_path_buf(),
            version,
            gate,
            origin: Origin::Kubeconfig,
            guard: None,
        })
    }
}

/// `v1.32.2+k3s1` / `v1.32.2-gke.100` → 1.32.2.
pub fn parse_server_version(git_version: &str) -> Option<KubeVersion> {
    let core = git_version.split(['+', '-']).next()?;
    core.parse().ok()
}

/// A client from a kubeconfig file, and the server's `gitVersion`; fails with
/// [`ClusterError::Unreachable`] when the API server does not answer within 20 s.
pub async fn client_for(kubeconfig: &Path) -> Result<(Client, String), ClusterError> {
    let unreachable = |detail: String| ClusterError::Unreachable {
        kubeconfig: kubeconfig.to_path_buf(),
        detail,
    };
    let kc =
        Kubeconfig::read_from(kubeconfig).map_err(|e| unreachable(format!("reading the kubeconfig: {e}")))?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| unreachable(format!("loading the kubeconfig: {e}")))?;
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| unreachable(format!("building a client: {e}")))?;
    match tokio::time::timeout(Duration::from_secs(20), client.apiserver_version()).await {
        Ok(Ok(info)) => Ok((client, info.git_version)),
        Ok(Err(e)) => Err(unreachable(format!("{server} answered with an error: {e}"))),
        Err(_) => Err(unreachable(format!("{server} did not answer within 20 s"))),
    }
}

/// What was checked of a new cluster before any behaviour ran (part of the report model).
pub use sidecar_conformance_model::report::Health;

/// Waits (watching, at most `deadline`) until every node is Ready: pods can run.
pub async fn check_health(client: &Client, deadline: Duration) -> Result<Health, crate::error::WaitTimeout> {
    use k8s_openapi::api::core::v1::{Node, Pod};
    use kube::runtime::watcher;
    let started = Instant::now();
    let ready = |conds: Option<&Vec<k8s_openapi::api::core::v1::NodeCondition>>| {
        conds.is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    let nodes: kube::Api<Node> = kube::Api::all(client.clone());
    crate::observe::wait_for_set(
        nodes.clone(),
        watcher::Config::default(),
        "every node Ready",
        deadline,
        |ns: &[Node]| {
            !ns.is_empty()
                && ns
                    .iter()
                    .all(|n| ready(n.status.as_ref().and_then(|s| s.conditions.as_ref())))
        },
        |ns: &[Node]| {
            ns.iter()
                .map(|n| {
                    let ready = n
                        .status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
                        .map(|c| {
                            format!(
                                "Ready={} ({})",
                                c.status,
                                c.message.as_deref().unwrap_or(c.reason.as_deref().unwrap_or(""))
                            )
                        })
                        .unwrap_or_else(|| "no Ready condition".into());
                    format!("node {} {ready}", n.metadata.name.as_deref().unwrap_or("?"))
                })
                .collect::<Vec<_>>()
                .join(", ")
        },
    )
    .await?;
    // Not CoreDNS: no behaviour resolves a name, and waiting for it cost seconds of
    // every bring-up. Its pods are listed as they are.
    let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), "kube-system");
    let node_list = nodes
        .list(&Default::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let dns = pods
        .list(&kube::api::ListParams::default().labels("k8s-app=kube-dns"))
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    Ok(Health {
        nodes: node_list.iter().filter_map(|n| n.metadata.name.clone()).collect(),
        coredns_pods: dns.iter().filter_map(|p| p.metadata.name.clone()).collect(),
        ready_ms: started.elapsed().as_millis() as u64,
    })
}

/// Creates kind clusters for one run.
#[derive(Debug, Clone)]
pub struct KindProvider {
    pub kind: PathBuf,
    /// The harness cache (cluster records live there).
    pub cache: PathBuf,
    /// The run's directory: each cluster gets `clusters/<name>/` in it.
    pub run_dir: PathBuf,
    pub template: String,
}

/// A cluster that could not be created, with what was learnt about why.
#[derive(Debug)]
pub struct CreateFailure {
    pub error: ClusterError,
    /// Lines of the node's kubelet log that name a feature gate, captured before the
    /// node was deleted.
    pub gate_lines: Vec<String>,
    pub elapsed: Duration,
}

impl KindProvider {
    /// Creates (or, with `reuse`, finds) the cluster of `spec`. A failed creation
    /// leaves nothing behind.
    pub fn create(
        &self,
        spec: &kind::ClusterSpec,
        keep: bool,
        reuse: bool,
    ) -> Result<Cluster, Box<CreateFailure>> {
        let started = Instant::now();
        let fail = |error: ClusterError, gate_lines: Vec<String>| {
            Box::new(CreateFailure {
                error,
                gate_lines,
                elapsed: started.elapsed(),
            })
        };
        if reuse && let Some(record) = kind::find_reusable(&self.cache, spec) {
            // The kept node still points at the registry of the run that created it,
            // which is gone: point its mounted hosts.toml at this run's registry
            // (containerd reads it at every pull).
            if let (Some(old), Some(new)) = (&record.spec.mirror, &spec.mirror) {
                let moved = kind::RegistryMirror {
                    endpoint: new.endpoint.clone(),
                    certs_dir: old.certs_dir.clone(),
                };
                moved.write_hosts_toml().map_err(|error| {
                    fail(
                        ClusterError::Io {
                            path: old.certs_dir.clone(),
                            error,
                        },
                        vec![],
                    )
                })?;
            }
            return Ok(Cluster {
                name: record.spec.name.clone(),
                kubeconfig: record.kubeconfig.clone(),
                version: spec.version,
                gate: spec.gate,
                origin: Origin::KindReused,
                guard: None,
            });
        }
        let dir = self.run_dir.join("clusters").join(&spec.name);
        std::fs::create_dir_all(&dir).map_err(|error| {
            fail(
                ClusterError::Io {
                    path: dir.clone(),
                    error,
                },
                vec![],
            )
        })?;
        if let Some(mirror) = &spec.mirror {
            mirror.write_hosts_toml().map_err(|error| {
                fail(
                    ClusterError::Io {
                        path: mirror.certs_dir.clone(),
                        error,
                    },
                    vec![],
                )
            })?;
        }
        let config = kind::render_config(&self.template, spec).map_err(|e| fail(e, vec![]))?;
        let config_path = dir.join("kind-config.yaml");
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(&config_path, config).map_err(|error| {
            fail(
                ClusterError::Io {
                    path: config_path.clone(),
                    error,
                },
                vec![],
            )
        })?;
        // Own the cluster before it exists: Ctrl-C during creation must delete it too.
        let guard = Owned::new(Resource::KindCluster {
            kind: self.kind.clone(),
            name: spec.name.clone(),
        });
        let record = kind::ClusterRecord {
            spec: spec.clone(),
            kubeconfig: kubeconfig.clone(),
            owner_pid: std::process::id(),
            keep,
        };
        let _ = kind::write_record(&self.cache, &record);
        if let Err(error) = kind::create(
            &self.kind,
            spec,
            &config_path,
            &kubeconfig,
            &dir.join("kind-create.log"),
        ) {
            let gate_lines = kubelet_gate_lines(&spec.name);
            // The retained node's logs (journal, containers, kubelet) for whoever reads
            // why it did not come up, before it goes.
            let _ = std::process::Command::new(&self.kind)
                .args(["export", "logs"])
                .arg(dir.join("kind-logs"))
                .args(["--name", &spec.name])
                .stdin(std::process::Stdio::null())
                .output();
            drop(guard);
            let _ = std::fs::remove_file(kind::record_path(&self.cache, &spec.name));
            return Err(fail(error, gate_lines));
        }
        let mut cluster = Cluster {
            name: spec.name.clone(),
            kubeconfig,
            version: spec.version,
            gate: spec.gate,
            origin: Origin::KindCreated,
            guard: Some(guard),
        };
        if keep {
            cluster.keep();
        }
        Ok(cluster)
    }
}

/// The kubelet's log lines about feature gates on a (failed) node, newest last.
fn kubelet_gate_lines(name: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "exec",
            &format!("{name}-control-plane"),
            "journalctl",
            "-u",
            "kubelet",
            "--no-pager",
            "-o",
            "cat",
        ])
        .output();
    let Ok(out) = out else { return vec![] };
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("feature gate") || l.contains("SidecarContainers"))
        .map(|l| l.chars().take(400).collect())
        .collect();
    lines.dedup();
    let n = lines.len();
    lines.into_iter().skip(n.saturating_sub(3)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_server_versions_of_distributions() {
        assert_eq!(parse_server_version("v1.32.2"), "1.32.2".parse().ok());
        assert_eq!(parse_server_version("v1.30.4+k3s1"), "1.30.4".parse().ok());
        assert_eq!(parse_server_version("v1.31.1-gke.1146000"), "1.31.1".parse().ok());
        assert_eq!(parse_server_version("garbage"), None);
    }
}
