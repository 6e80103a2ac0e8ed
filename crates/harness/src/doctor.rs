//! `doctor`: what this machine has and lacks for the harness, as a list of findings.

use std::path::Path;

use crate::cluster::kind::{self, HostFacts};
use crate::supply::{self, step};
use crate::version::{DEFAULT_VERSION, GATE_SWITCHABLE_VERSION};

/// One thing checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `false` when something the harness needs is missing.
    pub ok: bool,
    pub what: String,
    pub detail: String,
}

fn finding(ok: bool, what: &str, detail: impl Into<String>) -> Finding {
    Finding {
        ok,
        what: what.into(),
        detail: detail.into(),
    }
}

/// Checks the tools, the host facts that decide host-specific fixes, disk space, the
/// cached node images of the default versions, and leftovers of earlier runs.
pub fn examine(cache: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    let docker = supply::which("docker");
    out.push(finding(
        docker.is_some(),
        "docker client",
        docker
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "not on PATH".into()),
    ));
    let engine = supply::docker_answers();
    let version = supply::command_output(
        Path::new("docker"),
        &["version", "--format", "{{.Server.Version}}"],
    );
    out.push(finding(
        engine,
        "docker engine",
        match (engine, version) {
            (true, Some(v)) => v.trim().to_string(),
            _ => "does not answer (`run` and `supply` start one on Debian as root)".into(),
        },
    ));
    let go = supply::which("go").and_then(|g| supply::command_output(&g, &["version"]));
    out.push(finding(
        go.is_some(),
        "go",
        go.map(|v| v.trim().to_string())
            .unwrap_or_else(|| "not on PATH: kind and the images are built with it".into()),
    ));
    out.push(finding(
        true,
        "kind on PATH",
        supply::which("kind")
            .map(|k| k.display().to_string())
            .unwrap_or_else(|| "none (built into the cache when needed)".into()),
    ));
    let host = HostFacts::detect();
    out.push(finding(
        true,
        "cgroups",
        if host.cgroup_v1 {
            "v1 (kubelet >= 1.35 gets failCgroupV1: false)"
        } else {
            "v2"
        },
    ));
    out.push(finding(
        true,
        "CAP_SYS_RESOURCE",
        if host.lacks_sys_resource {
            "missing from the bounding set (runc wrapper + restrict_oom_score_adj)"
        } else {
            "present"
        },
    ));
    let free = supply::free_bytes(cache.parent().unwrap_or(cache)).unwrap_or(0) as f64 / (1u64 << 30) as f64;
    out.push(finding(
        free >= 15.0,
        "disk",
        format!("{free:.1} GiB free for {}", cache.display()),
    ));
    // Per version, the route its node image takes: kind's published ones and the two
    // built here by default.
    match supply::published::published_images() {
        Err(e) => out.push(finding(false, "published node images", e.to_string())),
        Ok(published) => {
            let mut versions: Vec<_> = published.iter().map(|p| p.version).collect();
            versions.extend([DEFAULT_VERSION, GATE_SWITCHABLE_VERSION]);
            let supply = supply::Supply::new(cache.to_path_buf(), crate::progress::Progress::new(true));
            for v in versions {
                let tag = format!("sidecar-conformance/node:{}", v.tag());
                let detail = if step::image_key(&tag).is_some() {
                    format!("{tag} built here before (cached)")
                } else {
                    match supply.as_ref().map(|s| s.plan(v, &published).route) {
                        Ok(supply::Route::Present { reference }) => format!("{reference} present"),
                        Ok(supply::Route::Pull { reference }) => format!("will pull {reference}"),
                        Ok(supply::Route::Build { reason }) if supply::is_root() => {
                            format!("will be built here: {reason}")
                        }
                        Ok(supply::Route::Build { reason }) => {
                            format!("needs a build, which needs root: {reason}")
                        }
                        Err(e) => e.to_string(),
                    }
                };
                out.push(finding(true, &format!("node image {v}"), detail));
            }
        }
    }
    for name in kind::leftovers(cache) {
        out.push(finding(
            false,
            "leftover cluster",
            format!("{name} (remove: sidecar-conformance clusters prune)"),
        ));
    }
    out
}
