//! What the project's own tests share beyond one test binary: a user without root.
//!
//! GitHub's runners and most users run the harness without root, in the `docker` group;
//! this machine's CI runs as root. Tests that must show the non-root path run their
//! commands as [`USER`], created here when missing.

use std::path::Path;
use std::process::{Command, Stdio};

/// The user without root the tests run the harness and the CI scripts as.
pub const USER: &str = "sc-user";

/// Makes sure [`USER`] exists and is in the `docker` group (as root), or says why it
/// cannot.
pub fn ensure_user() -> Result<(), String> {
    let exists = Command::new("id")
        .arg(USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("id: {e}"))?;
    if !exists.success() {
        let out = Command::new("useradd")
            .args([
                "--create-home",
                "--groups",
                "docker",
                "--shell",
                "/bin/bash",
                USER,
            ])
            .output()
            .map_err(|e| format!("useradd: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "useradd {USER}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    let groups = Command::new("id")
        .args(["-nG", USER])
        .output()
        .map_err(|e| format!("id -nG {USER}: {e}"))?;
    let groups = String::from_utf8_lossy(&groups.stdout);
    if groups.split_whitespace().any(|g| g == "docker") {
        Ok(())
    } else {
        Err(format!("{USER} is not in the docker group: {groups}"))
    }
}

/// Gives `path` (recursively) to [`USER`].
pub fn give_to_user(path: &Path) -> Result<(), String> {
    let status = Command::new("chown")
        .args(["-R", USER])
        .arg(path)
        .status()
        .map_err(|e| format!("chown: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("chown -R {USER} {}", path.display()))
    }
}

/// A command that runs `program` as [`USER`] when this process is root, else as this
/// (already unprivileged) user; `HOME` is set to `home`.
pub fn as_user(program: &Path, home: &Path) -> Command {
    if crate::supply::is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", USER, "--", "env"])
            .arg(format!("HOME={}", home.display()))
            .arg(program);
        c
    } else {
        let mut c = Command::new(program);
        c.env("HOME", home);
        c
    }
}
