//! Each pod's containers drawn on one time axis, as inline SVG for the HTML report: a
//! bar per run of a container (from the runtime's start to its end, exit code at the
//! end), a tick where `started` turned true, a band while it was ready, a red mark at
//! each restart; dashed lines at the instants a verdict rests on, with their words
//! below (how long after its sidecars an app container started; the order in which
//! containers stopped).
//!
//! The drawing is a function of the recorded timeline alone: the same observation the
//! judges read. Bars run between the runtime's own start and finish times (whole
//! seconds); ticks and bands are when the recorder saw them (milliseconds, a little
//! after the fact), so a tick may sit right of the start of its bar.

use jiff::Timestamp;
use maud::{Markup, html};

use crate::timeline::{ContainerEventKind, ContainerRole, ContainerTimeline, PodTimeline};

/// Fill colours by role; the browser test finds the bars by them.
pub const SIDECAR_FILL: &str = "#0f9d8a";
pub const INIT_FILL: &str = "#d9961a";
pub const APP_FILL: &str = "#3b6fd8";

const LABEL_W: f64 = 170.0;
const PLOT_W: f64 = 640.0;
const ROW_H: f64 = 24.0;
const AXIS_H: f64 = 22.0;

/// One run of a container: from its start to its end (`None`: still running).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub exit_code: Option<i32>,
}

/// What is drawn of one container.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub name: String,
    pub role: ContainerRole,
    /// First seen (created, waiting).
    pub seen: Option<Timestamp>,
    pub runs: Vec<Run>,
    /// `started` turned true.
    pub started: Vec<Timestamp>,
    /// Ready from .. to (`None`: still ready).
    pub ready: Vec<(Timestamp, Option<Timestamp>)>,
    pub restarts: Vec<Timestamp>,
}

/// The lanes of a container's recorded events.
pub fn lane(c: &ContainerTimeline) -> Lane {
    let mut lane = Lane {
        name: c.name.clone(),
        role: c.role,
        seen: c.events.first().map(|e| e.observed_at),
        runs: vec![],
        started: vec![],
        ready: vec![],
        restarts: vec![],
    };
    let real = |t: &Option<Timestamp>| t.filter(|t| *t != Timestamp::UNIX_EPOCH);
    let mut open: Option<(Option<String>, Timestamp)> = None;
    for e in &c.events {
        match &e.kind {
            ContainerEventKind::Running { started_at }
                if open.as_ref().is_none_or(|(id, _)| *id != e.container_id) =>
            {
                open = Some((e.container_id.clone(), real(started_at).unwrap_or(e.observed_at)));
            }
            kind @ ContainerEventKind::Terminated {
                exit_code,
                started_at,
                finished_at,
                ..
            } => {
                if kind.is_start_failure() {
                    continue;
                }
                let start = match open.take() {
                    Some((id, t)) if id == e.container_id => Some(t),
                    _ => real(started_at),
                };
                if let Some(start) = start {
                    lane.runs.push(Run {
                        start,
                        end: Some(real(finished_at).unwrap_or(e.observed_at)),
                        exit_code: Some(*exit_code),
                    });
                }
            }
            ContainerEventKind::Started { started: true } => lane.started.push(e.observed_at),
            ContainerEventKind::Ready { ready: true } => lane.ready.push((e.observed_at, None)),
            ContainerEventKind::Ready { ready: false } => {
                if let Some(last) = lane.ready.last_mut().filter(|r| r.1.is_none()) {
                    last.1 = Some(e.observed_at);
                }
            }
            ContainerEventKind::Restarted { .. } => lane.restarts.push(e.observed_at),
            _ => {}
        }
    }
    if let Some((_, start)) = open {
        lane.runs.push(Run {
            start,
            end: None,
            exit_code: None,
        });
    }
    lane
}

/// An instant a verdict rests on, and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub at: Timestamp,
    pub text: String,
}

/// The instants worth marking in a pod: each app container's first start against its
/// sidecars' (`started`, else their start), and the order in which the containers that
/// are not init containers last stopped.
pub fn marks(lanes: &[Lane], origin: Timestamp) -> Vec<Mark> {
    let secs = |t: Timestamp| (t - origin).total(jiff::Unit::Second).unwrap_or(0.0);
    let mut out = Vec::new();
    // Runtime start times on both sides: the same clock and the same (whole-second)
    // precision.
    let sidecars_started = lanes
        .iter()
        .filter(|l| l.role == ContainerRole::Sidecar)
        .filter_map(|l| l.runs.first().map(|r| r.start))
        .max();
    for app in lanes.iter().filter(|l| l.role == ContainerRole::App) {
        if let (Some(s), Some(run)) = (sidecars_started, app.runs.first()) {
            let after = (run.start - s).total(jiff::Unit::Second).unwrap_or(0.0);
            let when = if after > 0.0 {
                format!("{after:.0} s after its last sidecar")
            } else if after == 0.0 {
                "in the same second as its last sidecar".to_string()
            } else {
                format!("{:.0} s BEFORE its last sidecar", -after)
            };
            out.push(Mark {
                at: run.start,
                text: format!(
                    "{} started {when} (+{:.0} s, runtime times)",
                    app.name,
                    secs(run.start)
                ),
            });
        }
    }
    let mut ends: Vec<(Timestamp, &str, i32)> = lanes
        .iter()
        .filter(|l| l.role != ContainerRole::Init)
        .filter_map(|l| {
            let last = l.runs.last()?;
            Some((last.end?, l.name.as_str(), last.exit_code?))
        })
        .collect();
    if ends.len() > 1 {
        ends.sort();
        out.push(Mark {
            at: ends[0].0,
            text: format!(
                "stopped in this order: {}",
                ends.iter()
                    .map(|(t, name, code)| format!("{name} (exit {code}, +{:.1} s)", secs(*t)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    out
}

/// One pod as an SVG figure with its marks' words below.
pub fn pod_figure(name: &str, pod: &PodTimeline) -> Markup {
    let lanes: Vec<Lane> = pod.containers.iter().map(lane).collect();
    let instants = lanes.iter().flat_map(|l| {
        l.seen
            .into_iter()
            .chain(l.runs.iter().flat_map(|r| std::iter::once(r.start).chain(r.end)))
            .chain(l.started.iter().copied())
            .chain(l.restarts.iter().copied())
    });
    let pod_instants = pod.events.iter().map(|e| e.observed_at);
    let all: Vec<Timestamp> = instants.chain(pod_instants).collect();
    let (Some(&t0), Some(&t1)) = (all.iter().min(), all.iter().max()) else {
        return html! {};
    };
    let span = (t1 - t0).total(jiff::Unit::Second).unwrap_or(0.0).max(1.0);
    let x = |t: Timestamp| LABEL_W + PLOT_W * ((t - t0).total(jiff::Unit::Second).unwrap_or(0.0) / span);
    let marks = marks(&lanes, t0);
    let height = AXIS_H + ROW_H * lanes.len() as f64 + 6.0;
    let width = LABEL_W + PLOT_W + 60.0;
    let step = tick_step(span);
    let ticks: Vec<f64> = (0..)
        .map(|i| i as f64 * step)
        .take_while(|s| *s <= span)
        .collect();
    html! {
        figure.timeline data-pod=(name) {
            figcaption { "Pod " code { (name) } ", " (format!("{span:.1}")) " s from the first event seen" }
            svg xmlns="http://www.w3.org/2000/svg" width=(width) height=(height) viewBox={ "0 0 " (width) " " (height) } role="img" {
                title { "Containers of pod " (name) " on one time axis" }
                @for s in &ticks {
                    @let tx = LABEL_W + PLOT_W * s / span;
                    line x1=(tx) x2=(tx) y1=(AXIS_H - 4.0) y2=(height) stroke="#e4e4e4" {}
                    text x=(tx) y=(AXIS_H - 8.0) font-size="10" text-anchor="middle" fill="#666" { (format!("{s:.0} s")) }
                }
                @for (i, l) in lanes.iter().enumerate() {
                    @let y = AXIS_H + ROW_H * i as f64;
                    text x="4" y=(y + 15.0) font-size="12" fill="#222" { (l.name) " (" (role_word(l.role)) ")" }
                    @if let (Some(seen), Some(first)) = (l.seen, l.runs.first()) {
                        line x1=(x(seen)) x2=(x(first.start)) y1=(y + 11.0) y2=(y + 11.0) stroke="#bbb" stroke-dasharray="2,2" {}
                    }
                    @for r in &l.runs {
                        @let end = r.end.unwrap_or(t1);
                        rect.bar data-container=(l.name) data-role=(role_word(l.role))
                            x=(x(r.start)) y=(y + 5.0) width=((x(end) - x(r.start)).max(3.0)) height="12" fill=(fill(l.role)) {
                            title { (l.name) ": ran from +" (secs(r.start, t0)) " s"
                                @if let Some(e) = r.end { " to +" (secs(e, t0)) " s" }
                                @if let Some(c) = r.exit_code { ", exit " (c) } }
                        }
                        @if let Some(c) = r.exit_code {
                            text x=(x(end) + 3.0) y=(y + 15.0) font-size="10" fill="#444" { "exit " (c) }
                        }
                    }
                    @for (from, to) in &l.ready {
                        rect x=(x(*from)) y=(y + 17.0) width=((x(to.unwrap_or(t1)) - x(*from)).max(1.0)) height="3" fill="#2a2" {
                            title { (l.name) " ready" }
                        }
                    }
                    @for s in &l.started {
                        line x1=(x(*s)) x2=(x(*s)) y1=(y + 2.0) y2=(y + 20.0) stroke="#111" stroke-width="1.5" {
                            title { (l.name) " started=true at +" (secs(*s, t0)) " s" }
                        }
                    }
                    @for r in &l.restarts {
                        path d={ "M" (x(*r)) " " (y + 1.0) " l-4 -5 h8 z" } fill="#d22" {
                            title { (l.name) " restarted at +" (secs(*r, t0)) " s" }
                        }
                    }
                }
                @for m in &marks {
                    line x1=(x(m.at)) x2=(x(m.at)) y1=(AXIS_H - 2.0) y2=(height) stroke="#707" stroke-dasharray="4,3" {
                        title { (m.text) }
                    }
                }
            }
            @if !marks.is_empty() {
                ul.marks { @for m in &marks { li { (m.text) } } }
            }
        }
    }
}

fn secs(t: Timestamp, origin: Timestamp) -> String {
    format!("{:.1}", (t - origin).total(jiff::Unit::Second).unwrap_or(0.0))
}

/// A round tick spacing giving about eight ticks.
fn tick_step(span: f64) -> f64 {
    [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0]
        .into_iter()
        .find(|s| span / s <= 10.0)
        .unwrap_or(600.0)
}

fn fill(role: ContainerRole) -> &'static str {
    match role {
        ContainerRole::Sidecar => SIDECAR_FILL,
        ContainerRole::Init => INIT_FILL,
        ContainerRole::App => APP_FILL,
    }
}

fn role_word(role: ContainerRole) -> &'static str {
    match role {
        ContainerRole::Sidecar => "sidecar",
        ContainerRole::Init => "init",
        ContainerRole::App => "app",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::Observation;

    fn recorded(behaviour: &str) -> Observation {
        let path = format!(
            "{}/../../suites/fixtures/observations/1.37.2-default/{behaviour}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn a_job_pod_draws_its_sidecar_before_and_after_its_app() {
        let obs = recorded("job-completes");
        let (_, pod) = obs.timeline.pods.iter().next().unwrap();
        let lanes: Vec<Lane> = pod.containers.iter().map(lane).collect();
        let (sidecar, app) = (&lanes[0], &lanes[1]);
        assert_eq!(
            (sidecar.role, app.role),
            (ContainerRole::Sidecar, ContainerRole::App)
        );
        assert!(sidecar.runs[0].start <= app.runs[0].start, "{lanes:?}");
        assert_eq!(app.runs[0].exit_code, Some(0));
        assert!(
            sidecar.runs.last().unwrap().end >= app.runs.last().unwrap().end,
            "{lanes:?}"
        );
        let origin = lanes.iter().filter_map(|l| l.seen).min().unwrap();
        let marks = marks(&lanes, origin);
        assert!(
            marks
                .iter()
                .any(|m| m.text.starts_with("myjob started 1 s after its last sidecar")),
            "{marks:?}"
        );
        assert!(
            marks
                .iter()
                .any(|m| m.text.starts_with("stopped in this order: myjob")),
            "{marks:?}"
        );
    }

    #[test]
    fn an_app_started_before_its_sidecar_is_said_to_have_done_so() {
        // The recording broken on purpose: the app's run moved before the sidecar's.
        let mut obs = recorded("start-ordering");
        let pod = obs.timeline.pods.values_mut().next().unwrap();
        let early = jiff::Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_secs(1_000_000_000);
        for e in &mut pod
            .containers
            .iter_mut()
            .find(|c| c.role == ContainerRole::App)
            .unwrap()
            .events
        {
            if let ContainerEventKind::Running { started_at } = &mut e.kind {
                *started_at = Some(early);
            }
        }
        let lanes: Vec<Lane> = pod.containers.iter().map(lane).collect();
        let marks = marks(&lanes, early);
        assert!(marks.iter().any(|m| m.text.contains("BEFORE")), "{marks:?}");
    }

    #[test]
    fn restarts_and_every_run_are_drawn() {
        let obs = recorded("restart-independence");
        let pod = obs.timeline.pods.values().next().unwrap();
        let sidecar = lane(
            pod.containers
                .iter()
                .find(|c| c.role == ContainerRole::Sidecar)
                .unwrap(),
        );
        assert!(!sidecar.restarts.is_empty(), "{sidecar:?}");
        assert!(sidecar.runs.len() >= 2, "{sidecar:?}");
        let svg = pod_figure("restart-independence", pod).into_string();
        assert!(svg.contains("restarted at +"), "{svg}");
        assert_eq!(svg.matches(r#"data-role="sidecar""#).count(), sidecar.runs.len());
    }
}
