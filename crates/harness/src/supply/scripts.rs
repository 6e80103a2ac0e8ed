//! The build scripts of `crates/harness/supply/`, compiled into the binary so that it works
//! from anywhere, and written out next to the cache before they run.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::SupplyError;

/// (file name, text) of every script.
const SCRIPTS: &[(&str, &str)] = &[
    ("lib.sh", include_str!("../../supply/lib.sh")),
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

#[cfg(test)]
mod tests {
    use std::process::Command;

    /// Runs `go_run` of lib.sh on a stand-in command.
    fn go_run(command: &str) -> (i32, String) {
        let dir = std::env::temp_dir().join(format!("sc-lib-test-{}", std::process::id()));
        let lib = super::install(&dir).unwrap().join("lib.sh");
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {}; go_run test sh -c '{command}'; echo after",
                lib.display()
            ))
            // No network: the listing of served versions comes back empty.
            .env("GOPROXY", "off")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn a_refused_module_is_named_and_exits_5() {
        let (code, err) = go_run(
            "echo \"go: k8s.io/endpointslice@v0.32.13: reading https://proxy.golang.org/k8s.io/endpointslice/@v/v0.32.13.zip: 403 Forbidden\" >&2; exit 1",
        );
        assert_eq!(code, 5, "{err}");
        assert!(
            err.contains("the Go module proxy refused k8s.io/endpointslice@v0.32.13"),
            "{err}"
        );
        assert!(err.contains("versions of k8s.io/endpointslice it lists"), "{err}");
    }

    #[test]
    fn other_failures_exit_1_with_their_output() {
        let (code, err) = go_run("echo compile error >&2; exit 2");
        assert_eq!(code, 1);
        assert!(err.contains("compile error") && !err.contains("refused"), "{err}");
    }

    #[test]
    fn success_goes_on_quietly() {
        let (code, err) = go_run("echo noise >&2; true");
        assert_eq!(code, 0);
        assert!(!err.contains("noise"), "{err}");
    }
}
