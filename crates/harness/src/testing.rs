//! What the project's own tests share beyond one test binary: a user without root.
//!
//! GitHub's runners and most users run the harness without root, in the `docker` group;
//! this machine's CI runs as root. Tests that must show the non-root path run their
//! commands as [`USER`], created here when missing.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::TestUserError;

/// The user without root the tests run the harness and the CI scripts as.
pub const USER: &str = "sc-user";

/// Makes sure [`USER`] exists and is in the `docker` group (as root), or says why it
/// cannot.
pub fn ensure_user() -> Result<(), TestUserError> {
    let exists = Command::new("id")
        .arg(USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(spawn("id".into()))?;
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
            .map_err(spawn("useradd".into()))?;
        if !out.status.success() {
            return Err(TestUserError::Useradd {
                user: USER,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
    }
    let groups = Command::new("id")
        .args(["-nG", USER])
        .output()
        .map_err(spawn(format!("id -nG {USER}")))?;
    let groups = String::from_utf8_lossy(&groups.stdout);
    if groups.split_whitespace().any(|g| g == "docker") {
        Ok(())
    } else {
        Err(TestUserError::NotInDockerGroup {
            user: USER,
            groups: groups.into_owned(),
        })
    }
}

/// Gives `path` (recursively) to [`USER`].
pub fn give_to_user(path: &Path) -> Result<(), TestUserError> {
    let status = Command::new("chown")
        .args(["-R", USER])
        .arg(path)
        .status()
        .map_err(spawn("chown".into()))?;
    if status.success() {
        Ok(())
    } else {
        Err(TestUserError::Chown {
            user: USER,
            path: path.to_path_buf(),
        })
    }
}

/// For `map_err`: a command that could not be started.
fn spawn(command: String) -> impl FnOnce(std::io::Error) -> TestUserError {
    move |error| TestUserError::Spawn { command, error }
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
