//! Deleting what a run created: kind clusters and containers, on success, failure,
//! panic and Ctrl-C, unless the user asked to keep them.
//!
//! Each created resource is held by an [`Owned`] guard that deletes it when dropped
//! (which also happens while a panic unwinds). The guards also register the resource
//! in a process-wide list, so that the signal handler installed by
//! [`delete_all_on_signal`] can delete everything before the process exits on SIGINT or
//! SIGTERM: a signal does not unwind the stack, so guards alone would not run.
//!
//! Long-running tools the harness starts (`kind create cluster`) run in a process group
//! of their own, so that a Ctrl-C does not kill them half-way through their own
//! clean-up; they are registered with [`crate::process::ChildGuard`], and the signal
//! handler kills them before it deletes what they were creating.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cluster::kind;
use crate::error::DeleteError;

/// A resource the harness created that could not be deleted.
#[derive(Debug, thiserror::Error)]
#[error("could not delete {what}: {cause}")]
pub struct CleanupError {
    pub what: String,
    pub cause: DeleteError,
}

/// Something to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A kind cluster, deleted with the given kind binary.
    KindCluster { kind: PathBuf, name: String },
    /// A Docker container, removed with its volumes.
    Container { name: String },
    /// A named Docker volume (remove its containers first).
    Volume { name: String },
}

impl Resource {
    fn delete(&self) -> Result<(), CleanupError> {
        self.delete_inner().map_err(|cause| CleanupError {
            what: self.describe(),
            cause,
        })
    }

    fn delete_inner(&self) -> Result<(), DeleteError> {
        match self {
            Resource::KindCluster { kind, name } => {
                // kind may lose a race with a removal already under way: retry, then
                // remove the node containers by kind's label.
                let mut last = Ok(());
                for _ in 0..3 {
                    last = kind::delete(kind, name).map_err(|e| DeleteError::Kind(Box::new(e)));
                    if last.is_ok() {
                        break;
                    }
                }
                if kind::force_remove_nodes(name) {
                    Ok(())
                } else {
                    last
                }
            }
            Resource::Container { name } => {
                let out = Command::new("docker")
                    .args(["rm", "-f", "-v", name])
                    .stdout(Stdio::null())
                    .output()
                    .map_err(|error| DeleteError::Spawn {
                        command: format!("docker rm -f {name}"),
                        error,
                    })?;
                let stderr = String::from_utf8_lossy(&out.stderr);
                // Already gone (testcontainers removes its containers itself) is fine.
                if out.status.success() || stderr.contains("No such container") {
                    Ok(())
                } else {
                    Err(DeleteError::Docker {
                        command: format!("docker rm -f {name}"),
                        stderr: stderr.trim().to_string(),
                    })
                }
            }
            Resource::Volume { name } => {
                let out = Command::new("docker")
                    .args(["volume", "rm", "-f", name])
                    .stdout(Stdio::null())
                    .output()
                    .map_err(|error| DeleteError::Spawn {
                        command: format!("docker volume rm -f {name}"),
                        error,
                    })?;
                if out.status.success() {
                    Ok(())
                } else {
                    Err(DeleteError::Docker {
                        command: format!("docker volume rm -f {name}"),
                        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                    })
                }
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Resource::KindCluster { name, .. } => format!("kind cluster {name}"),
            Resource::Container { name } => format!("container {name}"),
            Resource::Volume { name } => format!("volume {name}"),
        }
    }
}

static LIVE: Mutex<Vec<Resource>> = Mutex::new(Vec::new());
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether SIGINT or SIGTERM arrived: the signal handler then owns the clean-up.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A resource that is deleted when this guard is dropped, unless [`Owned::keep`] was called.
#[derive(Debug)]
pub struct Owned {
    resource: Option<Resource>,
}

impl Owned {
    /// Takes ownership of `resource`: it will be deleted.
    pub fn new(resource: Resource) -> Owned {
        LIVE.lock().expect("cleanup list").push(resource.clone());
        Owned {
            resource: Some(resource),
        }
    }

    /// Leaves the resource in place when the guard goes.
    pub fn keep(mut self) -> Resource {
        let r = self.resource.take().expect("resource");
        LIVE.lock().expect("cleanup list").retain(|x| x != &r);
        r
    }

    /// Deletes the resource now.
    pub fn delete(mut self) -> Result<(), CleanupError> {
        self.delete_inner()
    }

    fn delete_inner(&mut self) -> Result<(), CleanupError> {
        let Some(r) = self.resource.take() else {
            return Ok(());
        };
        let result = r.delete();
        LIVE.lock().expect("cleanup list").retain(|x| x != &r);
        result
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        if interrupted() {
            // The signal handler deletes everything registered; deleting here as well
            // would race with it.
            return;
        }
        if let Err(e) = self.delete_inner() {
            eprintln!("warning: {e}");
        }
    }
}

/// Deletes every registered resource (newest first). Used on signals.
pub fn delete_all() -> Vec<String> {
    let resources: Vec<Resource> = std::mem::take(&mut *LIVE.lock().expect("cleanup list"));
    let mut deleted = Vec::new();
    for r in resources.iter().rev() {
        match r.delete() {
            Ok(()) => deleted.push(r.describe()),
            Err(e) => eprintln!("warning: {e}"),
        }
    }
    deleted
}

/// Spawns a task that, on SIGINT or SIGTERM, deletes every registered resource and
/// exits with 130 (SIGINT) or 143 (SIGTERM).
pub fn delete_all_on_signal() {
    tokio::spawn(async {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
        else {
            return;
        };
        let code = tokio::select! {
            _ = int.recv() => 130,
            _ = term.recv() => 143,
        };
        INTERRUPTED.store(true, Ordering::SeqCst);
        eprintln!("\ninterrupted: stopping what this run started and deleting what it created");
        crate::process::kill_children();
        let deleted = tokio::task::spawn_blocking(delete_all).await.unwrap_or_default();
        for d in deleted {
            eprintln!("  deleted {d}");
        }
        std::process::exit(code);
    });
}
