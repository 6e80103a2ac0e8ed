//! "init-sequencing": regular init containers and sidecars mixed in one list keep the
//! list's order: each entry starts once the one before it has finished (regular) or is
//! `started` (sidecar), and the sidecars keep running with the app.

use jiff::Timestamp;
use sidecar_conformance_model::recorder::Recorder;
use sidecar_conformance_model::timeline::{ContainerEventKind, ContainerRole, ContainerTimeline};

use super::ordering::DELAY_ANNOTATION;
use super::{Judgement, Observation};
use crate::evidence::{Findings, fmt_time, missing, ran_or_held_up, sidecar_ignored};

const POD: &str = "init-sequencing";
const APP: &str = "app";
/// The init containers in spec order, with the role each must have in the stored pod.
const SEQUENCE: [(&str, ContainerRole); 5] = [
    ("init-1", ContainerRole::Init),
    ("sidecar-a", ContainerRole::Sidecar),
    ("init-2", ContainerRole::Init),
    ("sidecar-b", ContainerRole::Sidecar),
    ("init-3", ContainerRole::Init),
];
/// Files each regular init container must have found (what the entries before it leave).
const MUST_FIND: [(&str, &[&str]); 2] = [
    ("init-2", &["init-1-done", "sidecar-a-started"]),
    ("init-3", &["init-1-done", "sidecar-a-started", "init-2-done"]),
];

/// Settled once the app container ran, or when the pod is held up by an init container.
pub fn settled(rec: &Recorder) -> bool {
    ran_or_held_up(rec, POD, APP)
}

/// A regular init container's one run: exit code, start, end, termination message.
struct Run {
    code: i32,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    message: String,
}

fn run_of(c: &ContainerTimeline) -> Option<Run> {
    c.terminations().first().and_then(|e| match &e.kind {
        ContainerEventKind::Terminated {
            exit_code,
            message,
            started_at,
            finished_at,
            ..
        } => Some(Run {
            code: *exit_code,
            start: *started_at,
            end: *finished_at,
            message: message.clone().unwrap_or_default(),
        }),
        _ => None,
    })
}

/// Judges the init-sequencing fixture.
pub fn judge(obs: &Observation) -> Judgement {
    if let Some(ignored) = sidecar_ignored(obs) {
        return ignored;
    }
    let mut f = Findings::default();
    let Some(pod) = obs.timeline.pods.get(POD) else {
        return missing(format!("pod {POD} was never seen"));
    };
    let delay: i64 = obs
        .pod(POD)
        .and_then(|p| p.metadata.annotations.as_ref())
        .and_then(|a| a.get(DELAY_ANNOTATION))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut containers = Vec::new();
    for (name, role) in SEQUENCE {
        let Some(c) = pod.container(name) else {
            f.fail(format!("pod {POD}: init container {name} missing"));
            return f.judgement();
        };
        let word = |r: ContainerRole| match r {
            ContainerRole::Sidecar => "a sidecar",
            ContainerRole::Init => "a regular init container",
            ContainerRole::App => "an app container",
        };
        f.check(
            c.role == role,
            format!("{name} is {} in the stored pod", word(role)),
        );
        containers.push(c);
    }
    let Some(app) = pod.container(APP) else {
        f.fail(format!("pod {POD}: container {APP} missing"));
        return f.judgement();
    };

    // Regular init containers run once, to completion, and found what came before.
    for c in containers.iter().filter(|c| c.role == ContainerRole::Init) {
        match run_of(c) {
            Some(run) => {
                f.check(
                    run.code == 0 && c.terminations().len() == 1 && c.max_restarts() == 0,
                    format!(
                        "{} ran once to completion: exit {}, {} run(s), {} restart(s)",
                        c.name,
                        run.code,
                        c.terminations().len(),
                        c.max_restarts()
                    ),
                );
                if let Some((_, files)) = MUST_FIND.iter().find(|(n, _)| *n == c.name) {
                    let found: Vec<&str> = run.message.split_whitespace().collect();
                    f.check(
                        files.iter().all(|x| found.contains(x)),
                        format!(
                            "{} found {} (termination message {:?})",
                            c.name,
                            files.join(", "),
                            run.message.trim_end()
                        ),
                    );
                }
            }
            None => f.fail(format!("{} never ran to completion", c.name)),
        }
    }

    // Each entry starts after the one before it: a regular one once it finished, a
    // sidecar once it is `started` (runtime clock, whole seconds; and the watch's order).
    for pair in containers.windows(2) {
        let (prev, next) = (pair[0], pair[1]);
        let next_start = match next.role {
            ContainerRole::Init => run_of(next).and_then(|r| r.start),
            _ => next.first_started_at(),
        };
        let Some(next_start) = next_start else {
            f.fail(format!("{} never started", next.name));
            continue;
        };
        match prev.role {
            ContainerRole::Init => {
                let prev_end = run_of(prev).and_then(|r| r.end);
                f.check(
                    prev_end.is_some_and(|e| next_start >= e),
                    format!(
                        "{} started at {next_start}, not before {} finished ({})",
                        next.name,
                        prev.name,
                        fmt_time(prev_end)
                    ),
                );
            }
            _ => {
                let prev_start = prev.first_started_at();
                let min_gap = if prev.name == "sidecar-a" { delay } else { 0 };
                let gap = prev_start.map(|s| next_start.duration_since(s).as_secs());
                f.check(
                    gap.is_some_and(|g| g >= min_gap),
                    format!(
                        "{} started at {next_start}, {} s after {} started at {} (its started status cannot come before {min_gap} s)",
                        next.name,
                        gap.map(|g| g.to_string()).unwrap_or_else(|| "-".into()),
                        prev.name,
                        fmt_time(prev_start)
                    ),
                );
                let flag = prev.first_started_flag();
                let seen = next.first_seen_running();
                f.check(
                    matches!((flag, seen), (Some(a), Some(b)) if a <= b),
                    format!(
                        "the watch saw {} started=true at {}, {} running at {}",
                        prev.name,
                        fmt_time(flag),
                        next.name,
                        fmt_time(seen)
                    ),
                );
            }
        }
    }

    // The app comes last, and the sidecars keep running alongside it.
    let last_end = containers.last().and_then(|c| run_of(c)).and_then(|r| r.end);
    let app_start = app.first_started_at();
    f.check(
        matches!((app_start, last_end), (Some(a), Some(e)) if a >= e),
        format!(
            "{APP} started at {}, not before init-3 finished ({})",
            fmt_time(app_start),
            fmt_time(last_end)
        ),
    );
    for c in containers
        .iter()
        .filter(|c| c.role == ContainerRole::Sidecar)
        .chain([&app])
    {
        let (kept, said) = c.kept_first_container();
        f.check(kept, said);
    }
    f.judgement()
}
