//! Child processes the harness starts (build scripts, `kind create cluster`): the
//! process groups the signal handler kills ([`ChildGuard`]), and the last lines of
//! their logs for error messages ([`tail`]).
//!
//! It depends on nothing else of the harness, so that what starts processes
//! ([`crate::supply`], [`crate::cluster::kind`]) and what cleans up after them
//! ([`crate::cleanup`]) do not depend on each other through it.

use std::path::Path;
use std::sync::Mutex;

static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A child process, leader of its own process group (`process_group(0)`), that the
/// signal handler kills with its group before cleaning up.
#[derive(Debug)]
pub struct ChildGuard(u32);

impl ChildGuard {
    /// Registers `pid` until the guard is dropped.
    pub fn new(pid: u32) -> ChildGuard {
        CHILDREN.lock().expect("children list").push(pid);
        ChildGuard(pid)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        CHILDREN.lock().expect("children list").retain(|p| *p != self.0);
    }
}

/// Kills the registered children with their process groups (each leads its own).
pub fn kill_children() {
    for pid in CHILDREN.lock().expect("children list").iter() {
        // SAFETY: kill has no memory-safety preconditions; a stale pid gets ESRCH.
        unsafe {
            libc::kill(-(*pid as libc::pid_t), libc::SIGKILL);
        }
    }
}

/// The last `n` lines of a file, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
