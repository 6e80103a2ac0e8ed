//! The kind cluster provider: renders `kind-config.yaml`, creates and deletes clusters,
//! and finds clusters of earlier runs.
//!
//! Every cluster the harness creates has a name starting with [`NAME_PREFIX`], and a
//! record under the cache (`clusters/<name>.json`) naming the process that owns it and
//! whether the user asked to keep it. That is how leftovers are told apart from
//! clusters of a run still going, and how a kept cluster is reused. Clusters without
//! the prefix are never touched.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ClusterError;
use crate::gate::{GATE_NAME, GateSetting};
use crate::process::tail;
use crate::version::KubeVersion;

/// Prefix of every cluster name the harness owns.
pub const NAME_PREFIX: &str = "sc-";

/// The template shipped with the harness (the repository's `kind-config.yaml`).
pub const DEFAULT_TEMPLATE: &str = include_str!("../../../../kind-config.yaml");

/// Facts about the Docker host that decide host-specific fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    /// The engine runs containers on cgroup v1.
    pub cgroup_v1: bool,
    /// CAP_SYS_RESOURCE is missing from the capability bounding set, so nothing in a
    /// node may lower `oom_score_adj`.
    pub lacks_sys_resource: bool,
}

impl HostFacts {
    /// Reads the facts from `docker info` and `/proc/self/status`.
    pub fn detect() -> HostFacts {
        let cgroup = Command::new("docker")
            .args(["info", "--format", "{{.CgroupVersion}}"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let capbnd = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("CapBnd:"))
                    .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            })
            .unwrap_or(u64::MAX);
        HostFacts {
            cgroup_v1: cgroup == "1",
            lacks_sys_resource: capbnd & (1 << 24) == 0,
        }
    }
}

/// The local registry, as the nodes reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryMirror {
    /// `host:port` as resolved from inside a node (a container name on the kind network).
    pub endpoint: String,
    /// Directory on the host mounted as the node's `/etc/containerd/certs.d`.
    pub certs_dir: PathBuf,
}

impl RegistryMirror {
    /// Writes `certs_dir/docker.io/hosts.toml` pointing docker.io at the mirror.
    pub fn write_hosts_toml(&self) -> std::io::Result<()> {
        let dir = self.certs_dir.join("docker.io");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("hosts.toml"),
            format!(
                "# Written by sidecar-conformance: docker.io is served by the run's local registry.\n\
                 server = \"https://registry-1.docker.io\"\n\n\
                 [host.\"http://{}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
                self.endpoint
            ),
        )
    }
}

/// Everything that goes into one cluster's kind config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSpec {
    pub name: String,
    pub version: KubeVersion,
    pub gate: GateSetting,
    pub node_image: String,
    pub mirror: Option<RegistryMirror>,
    pub host: HostFacts,
}

/// Renders the template for `spec`: the YAML kind gets.
pub fn render_config(template: &str, spec: &ClusterSpec) -> Result<String, ClusterError> {
    let mut config: Value =
        serde_saphyr::from_str(template).map_err(|e| ClusterError::ConfigYaml(Box::new(e)))?;
    let obj = config
        .as_object_mut()
        .ok_or(ClusterError::ConfigShape("kind-config.yaml is not a mapping"))?;

    let nodes = obj
        .entry("nodes")
        .or_insert_with(|| json!([{"role": "control-plane"}]));
    let Some(nodes) = nodes.as_array_mut() else {
        return Err(ClusterError::ConfigShape("kind-config.yaml: nodes is not a list"));
    };
    for node in nodes.iter_mut() {
        let node = node.as_object_mut().ok_or(ClusterError::ConfigShape(
            "kind-config.yaml: a node is not a mapping",
        ))?;
        node.insert("image".into(), json!(spec.node_image));
        if let Some(mirror) = &spec.mirror {
            let mounts = node.entry("extraMounts").or_insert_with(|| json!([]));
            if let Some(mounts) = mounts.as_array_mut() {
                mounts.push(json!({
                    "hostPath": mirror.certs_dir.display().to_string(),
                    "containerPath": "/etc/containerd/certs.d",
                    "readOnly": true,
                }));
            }
        }
    }

    if let Some(value) = spec.gate.explicit_value() {
        let gates = obj.entry("featureGates").or_insert_with(|| json!({}));
        if let Some(gates) = gates.as_object_mut() {
            gates.insert(GATE_NAME.into(), json!(value));
        }
    }

    let mut containerd_patches: Vec<String> = Vec::new();
    if spec.mirror.is_some() {
        containerd_patches.push(
            "[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n"
                .into(),
        );
    }
    if spec.host.lacks_sys_resource {
        containerd_patches
            .push("[plugins.\"io.containerd.grpc.v1.cri\"]\n  restrict_oom_score_adj = true\n".into());
    }
    if !containerd_patches.is_empty() {
        let patches = obj.entry("containerdConfigPatches").or_insert_with(|| json!([]));
        if let Some(patches) = patches.as_array_mut() {
            patches.extend(containerd_patches.into_iter().map(Value::String));
        }
    }

    // The behaviours play at once, and the page's `alpine:latest` is pulled for every
    // container start (`:latest` means `imagePullPolicy: Always`): more than the
    // kubelet's default pull rate (5 a second, bursts of 10), which then fails pulls
    // with "pull QPS exceeded", a throttle no sidecar behaviour is about. No limit.
    let mut kubelet = String::from(
        "kind: KubeletConfiguration\napiVersion: kubelet.config.k8s.io/v1beta1\nregistryPullQPS: 0\n",
    );
    // kubelet 1.35 and newer refuse to start on cgroup v1 unless told otherwise.
    if spec.host.cgroup_v1 && spec.version.minor >= 35 {
        kubelet.push_str("failCgroupV1: false\n");
    }
    let patches = obj.entry("kubeadmConfigPatches").or_insert_with(|| json!([]));
    if let Some(patches) = patches.as_array_mut() {
        patches.push(Value::String(kubelet));
    }

    serde_saphyr::to_string(&config).map_err(ClusterError::RenderConfig)
}

/// The name of a cluster: prefix, version, gate and a run-specific suffix, short enough
/// for kind (it becomes a container name and a host name).
pub fn cluster_name(version: KubeVersion, gate: GateSetting, suffix: &str) -> String {
    format!("{NAME_PREFIX}{}-{gate}-{suffix}", version.slug())
}

/// Runs `kind create cluster`. With `--retain`, a failed node stays for its logs to be
/// read; the caller deletes it. Without `--wait`: kind's wait polls, the harness's
/// health check watches the node and reacts at once (a refused gate still fails here:
/// kubeadm waits for the kubelet and the API server).
pub fn create(
    kind: &Path,
    spec: &ClusterSpec,
    config_path: &Path,
    kubeconfig: &Path,
    log_path: &Path,
) -> Result<(), ClusterError> {
    let started = Instant::now();
    let io = |error| ClusterError::Io {
        path: log_path.to_path_buf(),
        error,
    };
    let log = std::fs::File::create(log_path).map_err(io)?;
    let mut child = Command::new(kind)
        .args(["create", "cluster", "--name", &spec.name, "--retain"])
        .arg("--config")
        .arg(config_path)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(io)?)
        .stderr(log)
        // Out of the terminal's process group: on Ctrl-C the harness stops kind itself
        // and then deletes the cluster, instead of racing kind's own clean-up.
        .process_group(0)
        .spawn()
        .map_err(|error| ClusterError::Tool {
            doing: "running",
            program: kind.to_path_buf(),
            error,
        })?;
    let guard = crate::process::ChildGuard::new(child.id());
    let status = child.wait().map_err(|error| ClusterError::Tool {
        doing: "waiting for",
        program: kind.to_path_buf(),
        error,
    })?;
    drop(guard);
    if status.success() {
        return Ok(());
    }
    Err(ClusterError::CreateFailed {
        name: spec.name.clone(),
        log: log_path.to_path_buf(),
        tail: tail(log_path, 15),
        elapsed: started.elapsed(),
    })
}

/// Runs `kind delete cluster`. Refuses names without the harness's prefix.
pub fn delete(kind: &Path, name: &str) -> Result<(), ClusterError> {
    if !name.starts_with(NAME_PREFIX) {
        return Err(ClusterError::NotOurs {
            name: name.to_string(),
        });
    }
    let out = Command::new(kind)
        .args(["delete", "cluster", "--name", name])
        // kind would otherwise edit $KUBECONFIG or ~/.kube/config to remove the context.
        .arg("--kubeconfig")
        .arg("/dev/null")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| ClusterError::Tool {
            doing: "running",
            program: kind.to_path_buf(),
            error,
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ClusterError::DeleteFailed {
            name: name.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Removes the node containers of cluster `name` directly; `true` when none is left.
///
/// On cgroup v1 hosts a node killed while its runc was setting up an inner container
/// can keep tasks in a FROZEN freezer cgroup: they never die, and Docker fails with
/// "did not receive an exit event". Thawing the node's freezer cgroups lets it go.
pub fn force_remove_nodes(name: &str) -> bool {
    let ids = Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--no-trunc",
            "--filter",
            &format!("label=io.x-k8s.kind.cluster={name}"),
        ])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for id in &ids {
        thaw(&Path::new("/sys/fs/cgroup/freezer/docker").join(id));
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    ids.iter().all(|id| {
        !Command::new("docker")
            .args(["inspect", id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Writes THAWED into every FROZEN freezer.state below `dir` (cgroup v1 only).
fn thaw(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let state = dir.join("freezer.state");
    if std::fs::read_to_string(&state).is_ok_and(|s| s.trim() == "FROZEN") {
        let _ = std::fs::write(&state, "THAWED");
    }
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            thaw(&e.path());
        }
    }
}

/// Names of the kind clusters on this Docker host that the harness owns (by prefix),
/// running or stopped.
pub fn owned_clusters() -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            "label=io.x-k8s.kind.cluster",
            "--format",
            "{{.Label \"io.x-k8s.kind.cluster\"}}",
        ])
        .output();
    let Ok(out) = out else { return Vec::new() };
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|n| n.starts_with(NAME_PREFIX))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Whether the node container of `name` is running.
pub fn is_running(name: &str) -> bool {
    Command::new("docker")
        .args([
            "inspect",
            "--format",
            "{{.State.Running}}",
            &format!("{name}-control-plane"),
        ])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true")
}

/// What the harness remembers about a cluster it created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterRecord {
    pub spec: ClusterSpec,
    pub kubeconfig: PathBuf,
    /// The process that owns the cluster and deletes it when it ends.
    pub owner_pid: u32,
    /// The user asked to keep it: not a leftover, and reusable with `--reuse`.
    pub keep: bool,
}

/// Where records live: `<cache>/clusters/<name>.json`.
pub fn record_path(cache: &Path, name: &str) -> PathBuf {
    cache.join("clusters").join(format!("{name}.json"))
}

/// Reads a cluster's record, if any.
pub fn read_record(cache: &Path, name: &str) -> Option<ClusterRecord> {
    let text = std::fs::read_to_string(record_path(cache, name)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes a cluster's record.
pub fn write_record(cache: &Path, record: &ClusterRecord) -> std::io::Result<()> {
    let path = record_path(cache, &record.spec.name);
    std::fs::create_dir_all(path.parent().unwrap_or(cache))?;
    std::fs::write(path, serde_json::to_vec_pretty(record)?)
}

/// Whether process `pid` is alive.
pub fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Clusters of the harness left behind by runs that ended without cleaning up (killed,
/// machine stopped): owned by prefix, with a record in this cache whose owner is gone
/// and which was not kept. A cluster this cache has no record of belongs to runs with
/// another cache (another user's, or another `SIDECAR_CONFORMANCE_CACHE`), which may be
/// running now: it is never removed here (`clusters prune --all` removes it on request).
/// (Seen: a run as another user removed a cluster in the middle of a play.)
pub fn leftovers(cache: &Path) -> Vec<String> {
    owned_clusters()
        .into_iter()
        .filter(|name| match read_record(cache, name) {
            None => false,
            Some(r) => !r.keep && !process_alive(r.owner_pid),
        })
        .collect()
}

/// A kept cluster whose spec equals `spec` apart from its name, running, for `--reuse`.
pub fn find_reusable(cache: &Path, spec: &ClusterSpec) -> Option<ClusterRecord> {
    owned_clusters()
        .into_iter()
        .filter_map(|name| read_record(cache, &name))
        .find(|r| {
            let mut theirs = r.spec.clone();
            theirs.name = spec.name.clone();
            theirs.mirror = spec.mirror.clone();
            r.keep && theirs == *spec && is_running(&r.spec.name) && r.kubeconfig.is_file()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(version: &str, gate: GateSetting, host: HostFacts) -> ClusterSpec {
        ClusterSpec {
            name: "sc-test".into(),
            version: version.parse().unwrap(),
            gate,
            node_image: "sidecar-conformance/node:vX".into(),
            mirror: Some(RegistryMirror {
                endpoint: "sc-registry:5000".into(),
                certs_dir: "/tmp/certs.d".into(),
            }),
            host,
        }
    }

    fn render(s: &ClusterSpec) -> Value {
        serde_saphyr::from_str(&render_config(DEFAULT_TEMPLATE, s).unwrap()).unwrap()
    }

    const V1_HOST: HostFacts = HostFacts {
        cgroup_v1: true,
        lacks_sys_resource: true,
    };
    const V2_HOST: HostFacts = HostFacts {
        cgroup_v1: false,
        lacks_sys_resource: false,
    };

    #[test]
    fn gate_is_only_written_when_asked() {
        let off = render(&spec("1.32.2", GateSetting::Off, V2_HOST));
        assert_eq!(off["featureGates"]["SidecarContainers"], json!(false));
        let on = render(&spec("1.32.2", GateSetting::On, V2_HOST));
        assert_eq!(on["featureGates"]["SidecarContainers"], json!(true));
        let default = render(&spec("1.32.2", GateSetting::Default, V2_HOST));
        assert!(default.get("featureGates").is_none());
    }

    #[test]
    fn host_fixes_follow_the_host() {
        let fixed = render(&spec("1.37.2", GateSetting::Default, V1_HOST));
        let patches = fixed["containerdConfigPatches"].as_array().unwrap();
        assert!(
            patches
                .iter()
                .any(|p| { p.as_str().unwrap().contains("restrict_oom_score_adj = true") })
        );
        assert!(
            fixed["kubeadmConfigPatches"][0]
                .as_str()
                .unwrap()
                .contains("failCgroupV1: false")
        );

        let plain = render(&spec("1.37.2", GateSetting::Default, V2_HOST));
        let patches = plain["containerdConfigPatches"].as_array().unwrap();
        assert_eq!(patches.len(), 1, "only the mirror patch: {patches:?}");
        let kubelet = |c: &Value| c["kubeadmConfigPatches"][0].as_str().unwrap().to_string();
        assert!(!kubelet(&plain).contains("failCgroupV1"));

        // kubelet 1.32 defaults failCgroupV1 to false: no patch needed.
        let old = render(&spec("1.32.2", GateSetting::Default, V1_HOST));
        assert!(!kubelet(&old).contains("failCgroupV1"));
    }

    #[test]
    fn kubelets_never_throttle_pulls() {
        for (v, host) in [("1.32.2", V1_HOST), ("1.37.2", V2_HOST), ("1.37.2", V1_HOST)] {
            let c = render(&spec(v, GateSetting::Default, host));
            let patches = c["kubeadmConfigPatches"].as_array().unwrap();
            assert_eq!(patches.len(), 1, "one KubeletConfiguration patch: {patches:?}");
            assert!(patches[0].as_str().unwrap().contains("registryPullQPS: 0"));
        }
    }

    #[test]
    fn nodes_get_the_image_and_the_mirror() {
        let c = render(&spec("1.32.2", GateSetting::Default, V2_HOST));
        assert_eq!(c["kind"], json!("Cluster"));
        assert_eq!(c["nodes"][0]["image"], json!("sidecar-conformance/node:vX"));
        assert_eq!(
            c["nodes"][0]["extraMounts"][0]["containerPath"],
            json!("/etc/containerd/certs.d")
        );
    }

    #[test]
    fn names_carry_prefix_version_and_gate() {
        let name = cluster_name("1.32.2".parse().unwrap(), GateSetting::Off, "a1b2");
        assert_eq!(name, "sc-1-32-2-off-a1b2");
    }

    #[test]
    fn never_deletes_foreign_clusters() {
        let err = delete(Path::new("/bin/false"), "kind").unwrap_err();
        assert!(err.to_string().contains("not a cluster of the harness"));
    }
}
