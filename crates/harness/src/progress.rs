//! Progress lines on stderr, each stamped with the time since the run began.
//!
//! Long steps (image builds, cluster creation, observation windows) print what they
//! start and how long they took, so that a user watching a 15-minute cold build sees
//! where it is and a CI log shows where the time went.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Prints progress lines; cheap to clone and share between tasks.
#[derive(Debug, Clone)]
pub struct Progress {
    start: Instant,
    quiet: bool,
    /// A file every line is also written to.
    log: Option<Arc<Mutex<std::fs::File>>>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new(false)
    }
}

impl Progress {
    /// A reporter whose clock starts now; `quiet` suppresses everything but warnings.
    pub fn new(quiet: bool) -> Self {
        Progress {
            start: Instant::now(),
            quiet,
            log: None,
        }
    }

    /// The same reporter, also appending every line to `path`.
    pub fn with_log(mut self, path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        self.log = Some(Arc::new(Mutex::new(file)));
        Ok(self)
    }

    /// One progress line.
    pub fn say(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            self.line(msg.as_ref());
        }
    }

    /// A line that is printed even when quiet.
    pub fn warn(&self, msg: impl AsRef<str>) {
        self.line(&format!("warning: {}", msg.as_ref()));
    }

    fn line(&self, msg: &str) {
        let t = self.start.elapsed().as_secs_f64();
        let line = format!("[{t:7.1}s] {msg}\n");
        // One write call per line so that lines of concurrent tasks do not interleave.
        // Errors are ignored: a reader that went away (EPIPE) must not stop the work.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
        if let Some(log) = &self.log
            && let Ok(mut f) = log.lock()
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// `12.3 s` or `4 min 05 s`: durations as people read them in progress lines.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else {
        let whole = d.as_secs();
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations() {
        assert_eq!(human(Duration::from_millis(12_340)), "12.3 s");
        assert_eq!(human(Duration::from_secs(245)), "4 min 05 s");
    }
}
