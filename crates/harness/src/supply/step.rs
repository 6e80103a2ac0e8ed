//! One cached, resumable build step: a shell script of `supply/` run with arguments,
//! whose output (a directory or a Docker image) is stamped with a key derived from
//! everything that went into it.
//!
//! - A step whose output carries the expected key is skipped ("cached").
//! - A directory output is only ever stamped after its script succeeded, so an
//!   interrupted build is never taken for a finished one. Before running, the step
//!   writes `.key.pending`; a rerun with the same key keeps what the interrupted run
//!   left (the scripts only leave finished pieces behind, e.g. each Kubernetes binary is
//!   renamed into place when built), a rerun with another key starts from scratch.
//! - An image output is labelled `io.sidecar-conformance.key=KEY` by its script; Docker
//!   tags an image only once it is complete.
//!
//! The script's output goes to a log file under the cache; lines it prints that start
//! with `[` are its progress messages and are echoed.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::error::SupplyError;
use crate::progress::{Progress, human};

/// The label every image built by the harness carries, holding its step key.
pub const KEY_LABEL: &str = "io.sidecar-conformance.key";

/// Where a step's result lives.
#[derive(Debug, Clone)]
pub enum Output {
    /// A directory, stamped with `.key` when complete.
    Dir(PathBuf),
    /// A Docker image tag, labelled with [`KEY_LABEL`].
    Image(String),
}

/// A build step: what to run and what it produces.
#[derive(Debug, Clone)]
pub struct Step {
    /// Human name, also the log file's name: `k8s-binaries v1.37.2`.
    pub name: String,
    /// The script's file name under `supply/`.
    pub script: &'static str,
    /// Arguments after the script. Use [`Step::key_arg`] where the script needs the key.
    pub args: Vec<String>,
    /// Extra inputs that change the result but are not arguments (versions of tools,
    /// keys of the steps this one builds on).
    pub inputs: Vec<String>,
    pub output: Output,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    Cached,
    Built(Duration),
}

/// How often a silent step says it is still running.
const HEARTBEAT: Duration = Duration::from_secs(60);

/// Placeholder in [`Step::args`] replaced by `LABEL_KEY=KEY` when the step runs.
pub const LABEL_ARG: &str = "{label}";

impl Step {
    /// The content key: script text, arguments and inputs.
    pub fn key(&self) -> String {
        let mut h = Sha256::new();
        h.update(super::scripts::text(self.script).as_bytes());
        // Every script sources the shared functions.
        h.update(super::scripts::text("lib.sh").as_bytes());
        for a in self.args.iter().chain(&self.inputs) {
            h.update([0u8]);
            h.update(a.as_bytes());
        }
        let digest = h.finalize();
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// Whether the step's output exists with its current key.
    pub fn is_cached(&self) -> bool {
        self.is_done(&self.key())
    }

    fn is_done(&self, key: &str) -> bool {
        match &self.output {
            Output::Dir(dir) => fs::read_to_string(dir.join(".key")).is_ok_and(|k| k.trim() == key),
            Output::Image(tag) => image_key(tag).as_deref() == Some(key),
        }
    }
}

/// The key label of a local image, `None` when the image does not exist.
pub fn image_key(tag: &str) -> Option<String> {
    let out = Command::new("docker")
        .args(["image", "inspect", "--format"])
        .arg(format!("{{{{ index .Config.Labels \"{KEY_LABEL}\" }}}}"))
        .arg(tag)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs steps against one cache directory.
#[derive(Debug, Clone)]
pub struct StepRunner {
    pub scripts_dir: PathBuf,
    pub logs_dir: PathBuf,
    pub progress: Progress,
    /// Extra environment for every script (e.g. `GOTOOLCHAIN`).
    pub env: Vec<(String, String)>,
}

impl StepRunner {
    /// Runs `step` unless its output is already there with the same key.
    pub fn run(&self, step: &Step) -> Result<StepOutcome, SupplyError> {
        let key = step.key();
        if step.is_done(&key) {
            self.progress.say(format!("{}: cached ({key})", step.name));
            return Ok(StepOutcome::Cached);
        }
        if let Output::Dir(dir) = &step.output {
            let pending = dir.join(".key.pending");
            let resumable = fs::read_to_string(&pending).is_ok_and(|k| k.trim() == key);
            if dir.exists() && !resumable {
                fs::remove_dir_all(dir).map_err(|e| SupplyError::io(dir, e))?;
            }
            fs::create_dir_all(dir).map_err(|e| SupplyError::io(dir, e))?;
            fs::write(&pending, &key).map_err(|e| SupplyError::io(&pending, e))?;
            if resumable {
                self.progress
                    .say(format!("{}: resuming an interrupted build", step.name));
            }
        }
        fs::create_dir_all(&self.logs_dir).map_err(|e| SupplyError::io(&self.logs_dir, e))?;
        let log_path = self
            .logs_dir
            .join(format!("{}.log", step.name.replace([' ', '/'], "-")));
        self.progress
            .say(format!("{}: building (log: {})", step.name, log_path.display()));
        let started = Instant::now();
        let label = format!("{KEY_LABEL}={key}");
        let args: Vec<String> = step
            .args
            .iter()
            .map(|a| if a == LABEL_ARG { label.clone() } else { a.clone() })
            .collect();
        let status = self.run_logged(step, &args, &log_path)?;
        if !status {
            return Err(SupplyError::StepFailed {
                step: step.name.clone(),
                log: log_path.clone(),
                tail: crate::process::tail(&log_path, 25),
            });
        }
        match &step.output {
            Output::Dir(dir) => {
                let stamp = dir.join(".key");
                fs::write(&stamp, &key).map_err(|e| SupplyError::io(&stamp, e))?;
                let _ = fs::remove_file(dir.join(".key.pending"));
            }
            Output::Image(tag) => {
                if image_key(tag).as_deref() != Some(key.as_str()) {
                    return Err(SupplyError::StepFailed {
                        step: step.name.clone(),
                        log: log_path.clone(),
                        tail: format!("the script succeeded but image {tag} does not carry {label}"),
                    });
                }
            }
        }
        let took = started.elapsed();
        self.progress
            .say(format!("{}: built in {}", step.name, human(took)));
        Ok(StepOutcome::Built(took))
    }

    /// Runs the script with stdout and stderr into the log, echoing progress lines.
    fn run_logged(&self, step: &Step, args: &[String], log_path: &Path) -> Result<bool, SupplyError> {
        let script = self.scripts_dir.join(step.script);
        let mut log = fs::File::create(log_path).map_err(|e| SupplyError::io(log_path, e))?;
        let _ = writeln!(log, "# {} {}", script.display(), args.join(" "));
        let (reader, writer) = std::io::pipe().map_err(|e| SupplyError::io(log_path, e))?;
        let mut child = Command::new("bash")
            .arg(&script)
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(writer.try_clone().map_err(|e| SupplyError::io(log_path, e))?)
            .stderr(writer)
            // Its own process group, killed as a whole on Ctrl-C (go build and all), so
            // that no orphan goes on writing into the cache.
            .process_group(0)
            .spawn()
            .map_err(|e| SupplyError::io(&script, e))?;
        let _child_guard = crate::process::ChildGuard::new(child.id());
        // A heartbeat for steps that print nothing for minutes (a Go build of kubelet).
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let heartbeat = {
            let progress = self.progress.clone();
            let name = step.name.clone();
            let started = Instant::now();
            std::thread::spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(HEARTBEAT) {
                    progress.say(format!("{name}: still running ({})", human(started.elapsed())));
                }
            })
        };
        // The pipe's write ends now belong to the child only: reading ends at its exit.
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(log, "{line}");
            if line.starts_with('[') {
                self.progress.say(format!("  {line}"));
            }
        }
        let status = child.wait().map_err(|e| SupplyError::io(&script, e))?;
        let _ = stop.send(());
        let _ = heartbeat.join();
        let _ = writeln!(log, "# exit: {status}");
        Ok(status.success())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(args: &[&str]) -> Step {
        Step {
            name: "t".into(),
            script: "etcd.sh",
            args: args.iter().map(|s| s.to_string()).collect(),
            inputs: vec![],
            output: Output::Dir(PathBuf::from("/nonexistent")),
        }
    }

    #[test]
    fn key_depends_on_arguments_not_on_their_grouping() {
        assert_eq!(step(&["a", "b"]).key(), step(&["a", "b"]).key());
        assert_ne!(step(&["a", "b"]).key(), step(&["ab"]).key());
        assert_ne!(step(&["a"]).key(), step(&["b"]).key());
        assert_eq!(step(&["a"]).key().len(), 16);
    }
}
