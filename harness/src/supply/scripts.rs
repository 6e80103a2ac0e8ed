//! The build scripts of `harness/supply/`, compiled into the binary so that it works
//! from anywhere, and written out next to the cache before they run.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::SupplyError;

/// (file name, text) of every script.
const SCRIPTS: &[(&str, &str)] = &[
    ("engine.sh", include_str!("../../supply/engine.sh")),
    ("host-packages.sh", include_str!("../../supply/host-packages.sh")),
    ("rootfs.sh", include_str!("../../supply/rootfs.sh")),
    (
        "node-components.sh",
        include_str!("../../supply/node-components.sh"),
    ),
    ("base-image.sh", include_str!("../../supply/base-image.sh")),
    ("k8s-binaries.sh", include_str!("../../supply/k8s-binaries.sh")),
    ("etcd.sh", include_str!("../../supply/etcd.sh")),
    ("coredns.sh", include_str!("../../supply/coredns.sh")),
    ("node-image.sh", include_str!("../../supply/node-image.sh")),
    (
        "registry-image.sh",
        include_str!("../../supply/registry-image.sh"),
    ),
    (
        "alpine-standin.sh",
        include_str!("../../supply/alpine-standin.sh"),
    ),
];

/// The text of a script; panics on a name that is not in [`SCRIPTS`] (a programming error).
pub fn text(name: &str) -> &'static str {
    SCRIPTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap_or_else(|| panic!("no supply script named {name}"))
}

/// Writes all scripts into `dir` (idempotent) and returns it.
pub fn install(dir: &Path) -> Result<PathBuf, SupplyError> {
    fs::create_dir_all(dir).map_err(|e| SupplyError::io(dir, e))?;
    for (name, body) in SCRIPTS {
        let path = dir.join(name);
        if fs::read_to_string(&path).ok().as_deref() != Some(*body) {
            fs::write(&path, body).map_err(|e| SupplyError::io(&path, e))?;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
                .map_err(|e| SupplyError::io(&path, e))?;
        }
    }
    Ok(dir.to_path_buf())
}
