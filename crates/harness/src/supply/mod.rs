//! Image supply: everything a kind cluster needs on a machine that may reach no
//! container registry: a Docker engine, the kind binary, a node image per Kubernetes
//! version, the local registry's image and stand-ins for the workload images the page
//! uses.
//!
//! Every piece is a [`step::Step`]: a script of `crates/harness/supply/` whose output is
//! cached under [`Supply::cache`] and keyed by its inputs, so a second run rebuilds
//! nothing and says so, and an interrupted run resumes or restarts cleanly.
//! Where a registry answers and the pinned kind release publishes an image of the
//! requested version, that image is pulled by digest instead of built
//! ([`published`]).

pub mod published;
pub mod scripts;
pub mod step;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Serialize;

use crate::error::SupplyError;
use crate::progress::Progress;
use crate::version::{KIND_VERSION, KubeVersion};
pub use published::{Plan, Route};
use step::{LABEL_ARG, Output, Step, StepOutcome, StepRunner};

/// Versions of what goes into a node image, as kind v0.33.0's base image pins them
/// (`images/base/Dockerfile`), except crictl: v1.36.0 is not served by the Go proxy
/// here, v1.37.0 is.
pub const CONTAINERD_VERSION: &str = "v2.3.4";
pub const RUNC_VERSION: &str = "v1.4.3";
pub const CRICTL_VERSION: &str = "v1.37.0";
pub const CNI_PLUGINS_VERSION: &str = "v1.9.1";
/// The registry (distribution, the code of `registry:2`) the harness serves images from.
pub const DISTRIBUTION_VERSION: &str = "v3.1.2";

/// Packages the builds need on a Debian host.
const HOST_PACKAGES: &[&str] = &[
    "debootstrap",
    "libseccomp-dev",
    "pkg-config",
    "gcc",
    "libc6-dev",
    "jq",
];

/// Free space a build needs on the cache's file system (Go's caches alone grow to
/// ~12 GiB for the first version).
const DEFAULT_MIN_FREE_GIB: u64 = 15;

/// How a node image was obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "how", rename_all = "kebab-case")]
pub enum ImageOrigin {
    /// Pulled from a registry, pinned by digest.
    Pulled { reference: String },
    /// Built on this machine from sources; `key` is its content key.
    BuiltHere { key: String },
}

/// A node image ready for `kind create cluster --image`.
#[derive(Debug, Clone, Serialize)]
pub struct NodeImage {
    pub version: KubeVersion,
    pub image: String,
    pub origin: ImageOrigin,
}

/// An image served under another image's name, which every report names (part of the
/// report model).
pub use sidecar_conformance_model::report::StandIn;

/// The image the page's manifests name, as the clusters pull it without a stand-in.
pub const WORKLOAD_UPSTREAM: &str = "docker.io/library/alpine:latest";

/// Where the clusters get the workload images from.
#[derive(Debug, Clone)]
pub enum Workload {
    /// Docker Hub answers: the nodes pull the images as the manifests name them; no
    /// local registry, nothing built.
    Upstream(Vec<String>),
    /// Stand-ins, served by the run's local registry.
    StandIns(WorkloadImages),
}

/// The images the local registry needs.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadImages {
    pub registry_image: String,
    pub stand_ins: Vec<StandIn>,
}

/// The image supply over one cache directory.
#[derive(Debug, Clone)]
pub struct Supply {
    /// Root of the cache (`$XDG_CACHE_HOME/sidecar-conformance` by default).
    pub cache: PathBuf,
    runner: StepRunner,
    progress: Progress,
}

/// The cache directory: `$SIDECAR_CONFORMANCE_CACHE`, else `$XDG_CACHE_HOME/sidecar-conformance`,
/// else `~/.cache/sidecar-conformance`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SIDECAR_CONFORMANCE_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    base.join("sidecar-conformance")
}

impl Supply {
    /// A supply over `cache`; writes the build scripts there.
    pub fn new(cache: PathBuf, progress: Progress) -> Result<Self, SupplyError> {
        let scripts_dir = scripts::install(&cache.join("scripts"))?;
        let runner = StepRunner {
            scripts_dir,
            logs_dir: cache.join("logs"),
            progress: progress.clone(),
            // The go command must not switch toolchains behind our back: a module's
            // `toolchain` line would make it download another Go.
            env: vec![(
                "GOTOOLCHAIN".into(),
                std::env::var("GOTOOLCHAIN").unwrap_or_else(|_| "local".into()),
            )],
        };
        Ok(Supply {
            cache,
            runner,
            progress,
        })
    }

    /// Refuses, before anything is installed or built, versions the Go module proxy does
    /// not list (a typo, or a release that does not exist).
    pub fn check_versions(&self, versions: &[KubeVersion]) -> Result<(), SupplyError> {
        let published = published::published_images()?;
        // Without an engine nothing is present or pulled yet: a version kind publishes
        // is then taken as published here and planned again once the engine answers.
        let engine_answers = docker_answers();
        let mut to_build = Vec::new();
        for v in versions {
            if step::image_key(&built_tag(*v)).is_some() {
                continue;
            }
            match self.plan(*v, &published).route {
                Route::Build { reason } if engine_answers || !published.iter().any(|p| p.version == *v) => {
                    to_build.push((*v, reason))
                }
                _ => {}
            }
        }
        let Some((first, reason)) = to_build.first() else {
            return Ok(());
        };
        // A user without root runs anything published (or built before), and is
        // stopped at once where a build would need root.
        if !is_root() {
            return Err(needs_root(*first, reason.clone(), &published));
        }
        // Before anything is installed: a build that cannot fit must not start.
        self.check_disk_space()?;
        let go = self.require_go()?;
        for (v, _) in &to_build {
            self.check_version_is_served(&go, *v)?;
        }
        Ok(())
    }

    /// The route `version`'s node image takes on this machine, and why.
    pub fn plan(&self, version: KubeVersion, published: &[published::Published]) -> Plan {
        let cgroup_v1 = crate::cluster::kind::HostFacts::detect().cgroup_v1;
        published::route(version, published, cgroup_v1, &published::DockerEngine)
    }

    /// Makes a Docker engine answer: installs and starts one on Debian as root, with the
    /// capability workaround where the host needs it; says what to do elsewhere.
    pub fn ensure_engine(&self) -> Result<(), SupplyError> {
        if docker_answers() {
            return Ok(());
        }
        if which("docker").is_none() && !is_debian_root() {
            return Err(SupplyError::Missing {
                what: "no docker command and no Docker engine".into(),
                hint: "install Docker (https://docs.docker.com/engine/install/) and start it".into(),
            });
        }
        self.progress.say("no Docker engine answers: setting one up");
        let log = self.runner.logs_dir.join("engine.log");
        std::fs::create_dir_all(&self.runner.logs_dir)
            .map_err(|e| SupplyError::io(&self.runner.logs_dir, e))?;
        let script = self.runner.scripts_dir.join("engine.sh");
        let status = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(log_file(&log)?)
            .stderr(Stdio::inherit())
            .status()
            .map_err(|e| SupplyError::io(&script, e))?;
        match status.code() {
            Some(0) => Ok(()),
            Some(3) => Err(SupplyError::Missing {
                what: "no Docker engine answers".into(),
                hint: "install Docker (https://docs.docker.com/engine/install/), start it, and run again"
                    .into(),
            }),
            _ => Err(SupplyError::StepFailed {
                step: "docker engine".into(),
                log: PathBuf::from("/var/log/dockerd.log"),
                tail: crate::process::tail(Path::new("/var/log/dockerd.log"), 20),
            }),
        }
    }

    /// The kind binary: `kind` on PATH when it is [`KIND_VERSION`], else built into the cache.
    pub fn ensure_kind(&self) -> Result<PathBuf, SupplyError> {
        if let Some(path) = which("kind")
            && command_output(&path, &["version"])
                .is_some_and(|v| v.contains(&format!("kind {KIND_VERSION} ")))
        {
            return Ok(path);
        }
        let bin_dir = self.cache.join("tools").join(format!("kind-{KIND_VERSION}"));
        let kind = bin_dir.join("kind");
        if kind.is_file() {
            return Ok(kind);
        }
        let go = self.require_go()?;
        self.progress
            .say(format!("building kind {KIND_VERSION} (go install)"));
        let staging = bin_dir.with_extension("partial");
        let _ = std::fs::remove_dir_all(&staging);
        let out = Command::new(&go)
            .args(["install", &format!("sigs.k8s.io/kind@{KIND_VERSION}")])
            .env("GOBIN", &staging)
            .env("CGO_ENABLED", "0")
            .env("GOTOOLCHAIN", "local")
            .output()
            .map_err(|e| SupplyError::io(&go, e))?;
        if !out.status.success() {
            return Err(SupplyError::StepFailed {
                step: format!("go install sigs.k8s.io/kind@{KIND_VERSION}"),
                log: PathBuf::from("(stderr)"),
                tail: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        let _ = std::fs::remove_dir_all(&bin_dir);
        std::fs::rename(&staging, &bin_dir).map_err(|e| SupplyError::io(&bin_dir, e))?;
        Ok(kind)
    }

    /// A node image for `version`: pulled where a registry answers and a digest is
    /// pinned, built here otherwise.
    pub fn ensure_node_image(&self, version: KubeVersion) -> Result<NodeImage, SupplyError> {
        let published = published::published_images()?;
        let reason = match self.plan(version, &published).route {
            Route::Present { reference } => return Ok(pulled(version, reference)),
            Route::Pull { reference } => {
                self.progress.say(format!("pulling {reference}"));
                let started = std::time::Instant::now();
                let out = Command::new("docker")
                    .args(["pull", "-q", &reference])
                    .stdin(Stdio::null())
                    .output()
                    .map_err(|e| SupplyError::io(Path::new("docker"), e))?;
                if !out.status.success() {
                    return Err(SupplyError::PullFailed {
                        reference,
                        detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                    });
                }
                self.record_timing(&format!("pull {reference}"), started.elapsed());
                return Ok(pulled(version, reference));
            }
            Route::Build { reason } => reason,
        };
        let tag = built_tag(version);
        if step::image_key(&tag).is_none() {
            if !is_root() {
                return Err(needs_root(version, reason, &published));
            }
            self.progress
                .say(format!("node image for {version} built here: {reason}"));
        } else if !is_root() {
            // Built before, by root: the steps' keys name root's cache, so checking them
            // here would mean rebuilding, which needs root. Used as it is.
            self.progress
                .say(format!("node image for {version}: {tag}, built here before"));
            return Ok(NodeImage {
                version,
                origin: ImageOrigin::BuiltHere {
                    key: step::image_key(&tag).unwrap_or_default(),
                },
                image: tag,
            });
        }
        let go = self.require_go()?;
        self.check_version_is_served(&go, version)?;
        self.host_packages()?;
        let kind_src = self.go_module_dir(&go, &format!("sigs.k8s.io/kind@{KIND_VERSION}"))?;
        let (rootfs, rootfs_key) = self.rootfs()?;
        let components = self.cache.join("components").join(format!(
            "containerd-{CONTAINERD_VERSION}_runc-{RUNC_VERSION}_crictl-{CRICTL_VERSION}_cni-{CNI_PLUGINS_VERSION}"
        ));
        let components_step = Step {
            name: "node components".into(),
            script: "node-components.sh",
            args: vec![
                components.display().to_string(),
                CONTAINERD_VERSION.into(),
                RUNC_VERSION.into(),
                CRICTL_VERSION.into(),
                CNI_PLUGINS_VERSION.into(),
            ],
            inputs: vec![],
            output: Output::Dir(components.clone()),
        };
        self.run(&components_step)?;
        let base_tag = format!("sidecar-conformance/kind-base:{KIND_VERSION}");
        let base_step = Step {
            name: "kind base image".into(),
            script: "base-image.sh",
            args: vec![
                base_tag.clone(),
                LABEL_ARG.into(),
                rootfs.clone(),
                components.display().to_string(),
                kind_src.display().to_string(),
                self.work_dir("base-image"),
            ],
            inputs: vec![rootfs_key, components_step.key()],
            output: Output::Image(base_tag.clone()),
        };
        self.run(&base_step)?;

        let bin = self.cache.join("kubernetes").join(version.tag());
        let bin_step = Step {
            name: format!("kubernetes binaries {}", version.tag()),
            script: "k8s-binaries.sh",
            args: vec![
                version.tag(),
                bin.display().to_string(),
                self.work_dir(&format!("k8s-{}", version.tag())),
            ],
            inputs: vec![],
            output: Output::Dir(bin.clone()),
        };
        self.run(&bin_step)?;
        let images = kubeadm_images(&bin.join("kubeadm"), version)?;
        let etcd_version = images
            .iter()
            .find_map(|i| i.strip_prefix("registry.k8s.io/etcd:"))
            .map(|t| format!("v{}", t.split('-').next().unwrap_or(t)))
            .ok_or_else(|| missing_image(version, "etcd", &images))?;
        let coredns_version = images
            .iter()
            .find_map(|i| i.strip_prefix("registry.k8s.io/coredns/coredns:"))
            .map(str::to_string)
            .ok_or_else(|| missing_image(version, "coredns", &images))?;
        let etcd = self.cache.join("etcd").join(&etcd_version);
        let etcd_step = Step {
            name: format!("etcd {etcd_version}"),
            script: "etcd.sh",
            args: vec![
                etcd_version.clone(),
                etcd.display().to_string(),
                self.work_dir(&format!("etcd-{etcd_version}")),
            ],
            inputs: vec![],
            output: Output::Dir(etcd.clone()),
        };
        self.run(&etcd_step)?;
        let coredns = self.cache.join("coredns").join(&coredns_version);
        let coredns_step = Step {
            name: format!("coredns {coredns_version}"),
            script: "coredns.sh",
            args: vec![coredns_version.clone(), coredns.display().to_string()],
            inputs: vec![],
            output: Output::Dir(coredns.clone()),
        };
        self.run(&coredns_step)?;
        let k8s_src = self.go_module_dir(&go, &format!("k8s.io/kubernetes@{}", version.tag()))?;
        let node_step = Step {
            name: format!("node image {}", version.tag()),
            script: "node-image.sh",
            args: vec![
                version.tag(),
                tag.clone(),
                LABEL_ARG.into(),
                base_tag,
                rootfs,
                bin.display().to_string(),
                etcd.display().to_string(),
                coredns.display().to_string(),
                k8s_src.display().to_string(),
                self.work_dir(&format!("node-{}", version.tag())),
            ],
            inputs: vec![
                base_step.key(),
                bin_step.key(),
                etcd_step.key(),
                coredns_step.key(),
            ],
            output: Output::Image(tag.clone()),
        };
        self.run(&node_step)?;
        Ok(NodeImage {
            version,
            image: tag,
            origin: ImageOrigin::BuiltHere { key: node_step.key() },
        })
    }

    /// The workload images' source: Docker Hub itself where the engine reaches it
    /// directly (no registry mirror, through which the nodes could not follow), else
    /// stand-ins built here.
    pub fn workload(&self) -> Result<Workload, SupplyError> {
        let mirrors = command_output(
            Path::new("docker"),
            &["info", "--format", "{{json .RegistryConfig.Mirrors}}"],
        )
        .unwrap_or_default();
        match published::upstream_route(WORKLOAD_UPSTREAM, mirrors.trim(), &published::DockerEngine) {
            Ok(()) => {
                self.progress.say(format!(
                    "workload images: {WORKLOAD_UPSTREAM} from Docker Hub, which answers"
                ));
                Ok(Workload::Upstream(vec![WORKLOAD_UPSTREAM.to_string()]))
            }
            Err(why) => {
                self.progress.say(format!("workload images: stand-ins ({why})"));
                self.ensure_workload_images().map(Workload::StandIns)
            }
        }
    }

    /// The local registry's image and the stand-ins it serves.
    pub fn ensure_workload_images(&self) -> Result<WorkloadImages, SupplyError> {
        self.require_go()?;
        self.host_packages()?;
        let registry_image = format!("sidecar-conformance/registry:{DISTRIBUTION_VERSION}");
        self.run(&Step {
            name: "registry image".into(),
            script: "registry-image.sh",
            args: vec![
                registry_image.clone(),
                LABEL_ARG.into(),
                DISTRIBUTION_VERSION.into(),
                self.work_dir("registry-image"),
            ],
            inputs: vec![],
            output: Output::Image(registry_image.clone()),
        })?;
        let alpine = "sidecar-conformance/alpine-standin:busybox".to_string();
        self.run(&Step {
            name: "alpine stand-in image".into(),
            script: "alpine-standin.sh",
            args: vec![alpine.clone(), LABEL_ARG.into(), self.work_dir("alpine-standin")],
            inputs: vec![],
            output: Output::Image(alpine.clone()),
        })?;
        let content =
            image_label(&alpine, "io.sidecar-conformance.content").unwrap_or_else(|| "busybox".into());
        Ok(WorkloadImages {
            registry_image,
            stand_ins: vec![StandIn {
                upstream: WORKLOAD_UPSTREAM.into(),
                served_as: "library/alpine:latest".into(),
                local_image: alpine,
                content,
            }],
        })
    }

    fn run(&self, step: &Step) -> Result<StepOutcome, SupplyError> {
        if !step.is_cached() {
            // A user without root uses an image built before by root (whose key names
            // root's cache directory) rather than rebuild it.
            if let Output::Image(tag) = &step.output
                && !is_root()
                && step::image_key(tag).is_some()
            {
                self.progress
                    .say(format!("{}: {tag}, built here before", step.name));
                return Ok(StepOutcome::Cached);
            }
            self.check_disk_space()?;
        }
        let outcome = self.runner.run(step)?;
        if let StepOutcome::Built(took) = outcome {
            self.record_timing(&step.name, took);
        }
        Ok(outcome)
    }

    fn rootfs(&self) -> Result<(String, String), SupplyError> {
        let tag = "sidecar-conformance/debian:bookworm".to_string();
        let step = Step {
            name: "debian root file system".into(),
            script: "rootfs.sh",
            args: vec![tag.clone(), LABEL_ARG.into(), self.work_dir("rootfs")],
            inputs: vec![],
            output: Output::Image(tag.clone()),
        };
        self.run(&step)?;
        Ok((tag, step.key()))
    }

    fn host_packages(&self) -> Result<(), SupplyError> {
        let script = self.runner.scripts_dir.join("host-packages.sh");
        let out = Command::new("bash")
            .arg(&script)
            .args(HOST_PACKAGES)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| SupplyError::io(&script, e))?;
        if out.status.success() {
            return Ok(());
        }
        Err(SupplyError::Missing {
            what: format!(
                "host packages missing: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            hint: format!("on Debian: apt-get install {}", HOST_PACKAGES.join(" ")),
        })
    }

    fn require_go(&self) -> Result<PathBuf, SupplyError> {
        which("go").ok_or_else(|| SupplyError::Missing {
            what: "the go command is missing: images and kind are built from Go modules".into(),
            hint: "install Go 1.23 or newer (https://go.dev/dl/) and put it on PATH".into(),
        })
    }

    /// Every `k8s.io/kubernetes` version the Go module proxy lists (pre-releases left
    /// out), oldest first; `None` when it does not answer.
    pub fn served_versions(&self) -> Option<Vec<KubeVersion>> {
        let go = self.require_go().ok()?;
        let listed = command_output(&go, &["list", "-m", "-versions", "k8s.io/kubernetes"])?;
        let mut versions: Vec<KubeVersion> = listed
            .split_whitespace()
            .filter(|v| !v.contains('-'))
            .filter_map(|v| v.trim_start_matches('v').parse().ok())
            .collect();
        versions.sort();
        Some(versions)
    }

    /// Refuses a version the Go module proxy does not list before any build starts.
    fn check_version_is_served(&self, go: &Path, version: KubeVersion) -> Result<(), SupplyError> {
        let Some(listed) = command_output(go, &["list", "-m", "-versions", "k8s.io/kubernetes"]) else {
            // The proxy did not answer the listing: let the build say what fails.
            return Ok(());
        };
        let tag = version.tag();
        if listed.split_whitespace().any(|v| v == tag) {
            return Ok(());
        }
        let prefix = format!("v1.{}.", version.minor);
        let same_minor: Vec<&str> = listed
            .split_whitespace()
            .filter(|v| v.starts_with(&prefix))
            .collect();
        Err(SupplyError::UnknownVersion {
            version: version.to_string(),
            minor: version.minor,
            listed: if same_minor.is_empty() {
                "none".into()
            } else {
                same_minor.join(" ")
            },
        })
    }

    fn go_module_dir(&self, go: &Path, module: &str) -> Result<PathBuf, SupplyError> {
        let out = Command::new(go)
            .args(["mod", "download", "-json", module])
            .env("GOFLAGS", "-mod=mod")
            .current_dir(std::env::temp_dir())
            .output()
            .map_err(|e| SupplyError::io(go, e))?;
        let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        match parsed.get("Dir").and_then(|d| d.as_str()) {
            Some(dir) if out.status.success() => Ok(PathBuf::from(dir)),
            _ => Err(SupplyError::StepFailed {
                step: format!("go mod download {module}"),
                log: PathBuf::from("(stdout)"),
                tail: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            }),
        }
    }

    fn work_dir(&self, name: &str) -> String {
        self.cache.join("work").join(name).display().to_string()
    }

    fn check_disk_space(&self) -> Result<(), SupplyError> {
        let need = std::env::var("SIDECAR_CONFORMANCE_MIN_FREE_GIB")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_MIN_FREE_GIB);
        let _ = std::fs::create_dir_all(&self.cache);
        match free_bytes(&self.cache) {
            Some(free) if free < need * (1 << 30) => Err(SupplyError::NoDiskSpace {
                path: self.cache.clone(),
                free_gib: free as f64 / (1u64 << 30) as f64,
                need_gib: need,
            }),
            _ => Ok(()),
        }
    }

    fn record_timing(&self, step: &str, took: Duration) {
        use std::io::Write;
        let line = serde_json::json!({
            "step": step,
            "seconds": took.as_secs_f64().round(),
            "at": jiff::Timestamp::now().to_string(),
        });
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.cache.join("timings.jsonl"))
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// The tag of a node image built here.
fn built_tag(version: KubeVersion) -> String {
    format!("sidecar-conformance/node:{}", version.tag())
}

fn pulled(version: KubeVersion, reference: String) -> NodeImage {
    NodeImage {
        version,
        image: reference.clone(),
        origin: ImageOrigin::Pulled { reference },
    }
}

fn missing_image(version: KubeVersion, what: &str, images: &[String]) -> SupplyError {
    SupplyError::StepFailed {
        step: format!(
            "kubeadm config images list --kubernetes-version {}",
            version.tag()
        ),
        log: PathBuf::from("(stdout)"),
        tail: format!("no {what} image in: {}", images.join(", ")),
    }
}

/// The images `kubeadm config images list` names for `version`.
fn kubeadm_images(kubeadm: &Path, version: KubeVersion) -> Result<Vec<String>, SupplyError> {
    command_output(
        kubeadm,
        &["config", "images", "list", "--kubernetes-version", &version.tag()],
    )
    .map(|out| out.lines().map(str::to_string).collect())
    .ok_or_else(|| SupplyError::StepFailed {
        step: format!("{} config images list", kubeadm.display()),
        log: PathBuf::from("(stderr)"),
        tail: "kubeadm failed to list its images".into(),
    })
}

fn image_label(image: &str, label: &str) -> Option<String> {
    command_output(
        Path::new("docker"),
        &[
            "image",
            "inspect",
            "--format",
            &format!("{{{{ index .Config.Labels \"{label}\" }}}}"),
            image,
        ],
    )
    .map(|s| s.trim().to_string())
}

fn log_file(path: &Path) -> Result<std::fs::File, SupplyError> {
    std::fs::File::create(path).map_err(|e| SupplyError::io(path, e))
}

/// Whether `docker info` succeeds.
pub fn docker_answers() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Stdout of a command that succeeded, `None` otherwise.
pub fn command_output(program: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The first executable `name` on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    which::which(name).ok()
}

fn is_debian_root() -> bool {
    Path::new("/etc/debian_version").exists() && is_root()
}

fn needs_root(version: KubeVersion, reason: String, published: &[published::Published]) -> SupplyError {
    SupplyError::NeedsRoot {
        version: version.to_string(),
        reason,
        published: published
            .iter()
            .map(|p| p.version.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Bytes free for unprivileged use on the file system holding `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and st a valid out-pointer.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}
