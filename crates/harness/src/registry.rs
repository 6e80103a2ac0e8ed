//! The run's local registry, started with testcontainers, serving the stand-in images
//! under the names the page's manifests use, and reachable from every kind node as a
//! mirror of docker.io (see [`crate::cluster::kind::RegistryMirror`]).
//!
//! The nodes reach it by container name on Docker's `kind` network, which the harness
//! creates the way kind does when it is missing, so that the registry can join it before
//! the first cluster exists.

use std::process::{Command, Stdio};
use std::time::Duration;

use std::collections::HashMap;

use testcontainers::bollard::models::{HostConfig, PortBinding};
use testcontainers::core::{IntoContainerPort, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use crate::cleanup::{Owned, Resource};
use crate::error::RegistryError;
use crate::supply::{StandIn, WorkloadImages};

/// The Docker network kind puts its nodes on.
pub const KIND_NETWORK: &str = "kind";
/// Label carrying the PID of the process that owns a harness container.
pub const OWNER_LABEL: &str = "io.sidecar-conformance.owner-pid";
/// Prefix of the registry containers' names.
pub const NAME_PREFIX: &str = "sc-registry-";

/// A running local registry.
pub struct LocalRegistry {
    /// Container name, also its host name on the kind network.
    pub name: String,
    /// `name:5000`, as the nodes reach it.
    pub endpoint: String,
    /// The images it serves in place of upstream ones.
    pub stand_ins: Vec<StandIn>,
    // Dropped in this order: the container, then its storage.
    _container: ContainerAsync<GenericImage>,
    _guard: Owned,
    _storage: Owned,
}

impl std::fmt::Debug for LocalRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRegistry").field("name", &self.name).finish()
    }
}

/// The registry's setting that refuses every write (distribution's
/// `storage.maintenance.readonly`).
const READ_ONLY: (&str, &str) = ("REGISTRY_STORAGE_MAINTENANCE_READONLY", r#"{"enabled": true}"#);
const STORAGE: &str = "/var/lib/registry";

impl LocalRegistry {
    /// Fills a registry with the stand-ins and serves them to the kind nodes, in two
    /// containers over one volume, so that nothing is reachable that need not be:
    /// - loading: its port published on 127.0.0.1 only (the engine pushes over
    ///   loopback, which it trusts without TLS); removed once the pushes are done;
    /// - serving: read-only, on the kind network only, no port published on the host.
    ///
    /// Anyone else on the machine's network, or in a container on the kind network,
    /// can then pull what the run serves but push nothing.
    pub async fn start(images: &WorkloadImages, run_id: &str) -> Result<LocalRegistry, RegistryError> {
        ensure_kind_network()?;
        let name = format!("{NAME_PREFIX}{run_id}");
        let volume = format!("{name}-storage");
        let (repo, tag) = images
            .registry_image
            .rsplit_once(':')
            .unwrap_or((&images.registry_image, "latest"));
        // Registered before they exist: Ctrl-C while they start must remove them too.
        let storage = Owned::new(Resource::Volume { name: volume.clone() });
        docker(&[
            "volume",
            "create",
            "--label",
            &format!("{OWNER_LABEL}={}", std::process::id()),
            &volume,
        ])?;
        // Both containers: the registry image over the run's volume, owned by this process.
        let request = |container: &str| {
            GenericImage::new(repo, tag)
                .with_exposed_port(5000.tcp())
                .with_wait_for(WaitFor::message_on_either_std("listening on"))
                .with_container_name(container)
                .with_mount(Mount::volume_mount(&volume, STORAGE))
                .with_label(OWNER_LABEL, std::process::id().to_string())
                .with_startup_timeout(Duration::from_secs(60))
        };
        let failed = |error| RegistryError::Start {
            image: images.registry_image.clone(),
            error: Box::new(error),
        };

        let loader_name = format!("{name}-loading");
        let loader_guard = Owned::new(Resource::Container {
            name: loader_name.clone(),
        });
        let loader = request(&loader_name)
            .with_host_config_modifier(publish_on_loopback)
            .start()
            .await
            .map_err(failed)?;
        let port = loader
            .get_host_port_ipv4(5000.tcp())
            .await
            .map_err(|error| RegistryError::Port {
                image: images.registry_image.clone(),
                error: Box::new(error),
            })?;
        for s in &images.stand_ins {
            push(&s.local_image, &format!("127.0.0.1:{port}/{}", s.served_as))?;
        }
        drop(loader);
        loader_guard.delete().map_err(RegistryError::Cleanup)?;

        let guard = Owned::new(Resource::Container { name: name.clone() });
        let container = request(&name)
            .with_network(KIND_NETWORK)
            .with_env_var(READ_ONLY.0, READ_ONLY.1)
            .with_host_config_modifier(publish_nothing)
            .start()
            .await
            .map_err(failed)?;
        Ok(LocalRegistry {
            endpoint: format!("{name}:5000"),
            name,
            stand_ins: images.stand_ins.clone(),
            _container: container,
            _guard: guard,
            _storage: storage,
        })
    }
}

/// Publishes the registry's port on 127.0.0.1 only (testcontainers binds every
/// address, IPv4 and IPv6).
pub fn publish_on_loopback(host: &mut HostConfig) {
    host.publish_all_ports = Some(false);
    host.port_bindings = Some(HashMap::from([(
        "5000/tcp".to_string(),
        Some(vec![PortBinding {
            host_ip: Some("127.0.0.1".into()),
            host_port: Some(String::new()),
        }]),
    )]));
}

/// Publishes no port at all: the container is reached on its Docker network.
fn publish_nothing(host: &mut HostConfig) {
    host.publish_all_ports = Some(false);
    host.port_bindings = Some(HashMap::new());
}

fn docker(args: &[&str]) -> Result<String, RegistryError> {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| RegistryError::Spawn {
            command: args.join(" "),
            error,
        })?;
    if !out.status.success() {
        return Err(RegistryError::Docker {
            command: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Pushes a local image to `target` (a reference on the registry's host port).
fn push(local: &str, target: &str) -> Result<(), RegistryError> {
    docker(&["tag", local, target])?;
    let pushed = docker(&["push", "-q", target]).map(drop);
    let _ = docker(&["rmi", target]);
    pushed
}

/// Creates the `kind` network as kind v0.33.0 would (bridge, masquerading, MTU 1500),
/// unless it exists. kind adopts an existing network of that name.
pub fn ensure_kind_network() -> Result<(), RegistryError> {
    if docker(&["network", "inspect", KIND_NETWORK]).is_ok() {
        return Ok(());
    }
    match docker(&[
        "network",
        "create",
        "-d=bridge",
        "-o",
        "com.docker.network.bridge.enable_ip_masquerade=true",
        "-o",
        "com.docker.network.driver.mtu=1500",
        KIND_NETWORK,
    ]) {
        // Another run may have created it in the meantime.
        Err(RegistryError::Docker { stderr, .. }) if stderr.contains("already exists") => Ok(()),
        other => other.map(drop),
    }
}

/// Registry containers of harness runs whose process is gone.
pub fn leftover_registries() -> Vec<String> {
    orphans(&["ps", "-a"], "{{.Names}}")
}

/// Registry volumes of harness runs whose process is gone (remove their containers
/// first).
pub fn leftover_volumes() -> Vec<String> {
    orphans(&["volume", "ls"], "{{.Name}}")
}

/// Names of the containers or volumes (`list`) labelled with [`OWNER_LABEL`] whose
/// owner process is gone.
fn orphans(list: &[&str], name: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(list)
        .args(["--filter", &format!("label={OWNER_LABEL}"), "--format"])
        .arg(format!("{name} {{{{.Label \"{OWNER_LABEL}\"}}}}"))
        .output();
    let Ok(out) = out else { return vec![] };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, pid)| {
            name.starts_with(NAME_PREFIX)
                && pid
                    .parse::<u32>()
                    .map_or(true, |p| !crate::cluster::kind::process_alive(p))
        })
        .map(|(name, _)| name.to_string())
        .collect()
}
