//! `check PATH...`: the user's own workloads (YAML files, directories of them, or
//! Markdown pages' yaml blocks) played on each cluster of the run, every pod recorded,
//! and the sidecar invariants judged on each workload
//! ([`sidecar_conformance_judges::workload`]).
//!
//! A check is played as a catalogue behaviour is: a [`Behaviour`] whose scenario is
//! data (apply each document, settle, optionally make each sidecar exit once, wait for
//! Jobs, fetch the objects, optionally delete the workloads), run by the same runner
//! with the same fault watch, so a lost cluster or an image that cannot be pulled is an
//! error of the run, never a verdict. Only its judging differs: one observation gives
//! one result per invariant and workload.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sidecar_conformance_judges::workload::{self, Invariant};

use crate::behaviour::{Behaviour, Judgement, Observation, Outcome, Scenario, Step, Subject};
use crate::gate::GateEffect;
use crate::manifest::Manifest;
use crate::progress::Progress;
use crate::report::{CheckResult, Verdict};
use crate::runner::Target;

/// The default of `--deadline`: how long the pods get to settle (finished, Ready, or
/// held up behind an init container) before the invariants are judged on what was
/// recorded; each wait after it (a sidecar back, pods gone) gets as long.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(180);

/// The behaviour id of a check's play (its observation file, its result on a refused
/// cluster).
pub const CHECK_ID: &str = "check";

/// Why the inputs of a check could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{0}: not a YAML file (.yaml, .yml), a Markdown page (.md) or a directory")]
    NotManifests(PathBuf),
    #[error("no Kubernetes object found in {0}")]
    Empty(String),
}

/// What a check plays: the documents, and what to do to the workloads.
#[derive(Debug, Clone)]
pub struct Workloads {
    /// The paths given, for the report.
    pub inputs: Vec<String>,
    /// One document each, labelled `path` or `path:first-last` (lines).
    pub documents: Vec<(String, String)>,
    pub deadline: Duration,
    /// Make each sidecar exit once after the pods settled.
    pub disrupt: bool,
    /// Delete the workloads at the end and judge their termination.
    pub terminate: bool,
    /// The page's sentence for each invariant, when a given Markdown page has one.
    pub citations: Vec<(Invariant, String)>,
}

impl Workloads {
    /// Reads the documents of `paths`: YAML files, Markdown pages (their yaml blocks)
    /// and directories of either (sorted, not recursive into hidden directories).
    pub fn load(paths: &[PathBuf]) -> Result<Workloads, CheckError> {
        let mut documents = Vec::new();
        let mut pages = Vec::new();
        for path in paths {
            for file in files(path)? {
                let text = std::fs::read_to_string(&file).map_err(|error| CheckError::Read {
                    path: file.clone(),
                    error,
                })?;
                let label = file.display().to_string();
                if file.extension().is_some_and(|e| e == "md") {
                    for block in crate::doc::yaml_blocks(&text) {
                        let (first, last) = crate::doc::block_lines(&text, block);
                        documents.extend(split_documents(
                            &format!("{label}:{first}-{last}"),
                            block,
                            first + 1,
                        ));
                    }
                    pages.push(text);
                } else {
                    documents.extend(split_documents(&label, &text, 1));
                }
            }
        }
        if documents.is_empty() {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            return Err(CheckError::Empty(names.join(", ")));
        }
        Ok(Workloads {
            inputs: paths.iter().map(|p| p.display().to_string()).collect(),
            documents,
            deadline: DEFAULT_DEADLINE,
            disrupt: false,
            terminate: false,
            citations: pages.iter().flat_map(|p| workload::citations(p)).collect(),
        })
    }

    /// The play, as a catalogue behaviour. Its data lives as long as the process (a
    /// `check` plays one set of workloads), which is what the catalogue's `'static`
    /// scenarios ask for.
    pub fn behaviour(&self) -> &'static Behaviour {
        let manifests: Vec<Manifest> = self
            .documents
            .iter()
            .map(|(label, text)| Manifest {
                path: leak(label.clone()),
                text: leak(text.clone()),
            })
            .collect();
        let mut steps = vec![
            Step::ApplyEach(Vec::leak(manifests)),
            Step::Settle {
                settled: workload::settled,
                window: self.deadline,
                what: "pods settled (finished, Ready, or held up by an init container)",
            },
        ];
        if self.disrupt {
            steps.push(Step::DisruptSidecars {
                window: self.deadline,
            });
        }
        steps.extend([Step::WaitForJobs, Step::FetchObjects, Step::FetchNodes]);
        if self.terminate {
            steps.push(Step::DeleteWorkloads {
                window: self.deadline,
            });
        }
        Box::leak(Box::new(Behaviour {
            id: CHECK_ID,
            title: "Sidecar invariants on the given workloads",
            section: "check",
            claims: &[],
            subject: Subject::Runtime,
            scenario: Scenario {
                steps: Vec::leak(steps),
            },
            judge: overall,
            // The user's workloads: what they must take is theirs to know.
            inherent: std::time::Duration::ZERO,
        }))
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The whole observation in one judgement (for `judge` on a saved check observation).
fn overall(obs: &Observation) -> Judgement {
    let checked = workload::judge(obs);
    let violated = checked
        .verdicts
        .iter()
        .any(|v| v.judgement.outcome == Outcome::Violated);
    Judgement {
        outcome: if violated {
            Outcome::Violated
        } else {
            Outcome::Holds
        },
        evidence: checked
            .verdicts
            .iter()
            .map(|v| format!("{}: {}", v.id(), v.judgement.outcome))
            .chain(checked.notes)
            .collect(),
        page_findings: vec![],
    }
}

/// The files a path names: itself, or a directory's YAML and Markdown files, sorted.
fn files(path: &Path) -> Result<Vec<PathBuf>, CheckError> {
    let meta = std::fs::metadata(path).map_err(|error| CheckError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let wanted = |p: &Path| {
        p.extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "md")
    };
    if meta.is_file() {
        return if wanted(path) {
            Ok(vec![path.to_path_buf()])
        } else {
            Err(CheckError::NotManifests(path.to_path_buf()))
        };
    }
    let mut out = Vec::new();
    let entries = std::fs::read_dir(path).map_err(|error| CheckError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            out.extend(files(&p)?);
        } else if wanted(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Splits a YAML stream at its `---` lines into documents that hold something other
/// than comments, each labelled with its lines when the stream has several.
/// `first_line` is the line number of the text's first line in its file.
pub fn split_documents(label: &str, text: &str, first_line: usize) -> Vec<(String, String)> {
    let mut docs: Vec<(usize, usize, String)> = Vec::new();
    let mut current = String::new();
    let mut start = first_line;
    for (i, line) in text.lines().enumerate() {
        let n = first_line + i;
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push((start, n - 1, std::mem::take(&mut current)));
            start = n + 1;
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    docs.push((
        start,
        first_line + text.lines().count().saturating_sub(1),
        current,
    ));
    let docs: Vec<_> = docs
        .into_iter()
        .filter(|(_, _, d)| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .collect();
    let several = docs.len() > 1;
    docs.into_iter()
        .map(|(a, b, d)| {
            let label = if several && !label.contains(':') {
                format!("{label}:{a}-{b}")
            } else {
                label.to_string()
            };
            (label, d)
        })
        .collect()
}

/// What a check shows on one cluster: its results, and notes for what it could not judge.
pub struct ClusterCheck {
    pub results: Vec<CheckResult>,
    pub notes: Vec<String>,
}

/// Plays the workloads on `target` in a namespace of their own and judges every
/// invariant on every workload.
pub async fn check(
    target: &Target,
    workloads: &Workloads,
    behaviour: &'static Behaviour,
    progress: &Progress,
) -> ClusterCheck {
    let started = Instant::now();
    let namespace = format!("sc-check-{}", crate::runner::short_random());
    progress.say(format!(
        "{}: check: {} document(s) in namespace {namespace} (deadline {} s)",
        target.name,
        workloads.documents.len(),
        workloads.deadline.as_secs()
    ));
    let since = jiff::Timestamp::now();
    let played = crate::runner::observe(target, behaviour, &namespace, progress).await;
    let mut unjudged = behaviour.unjudged(&target.name, target.version, target.gate);
    let mut out = ClusterCheck {
        results: vec![],
        notes: vec![],
    };
    match played {
        Err(e) => {
            unjudged.error = Some(e.to_string());
            out.results.push(unjudged);
        }
        Ok((obs, Some(fault))) => {
            progress.warn(format!("{}: check stopped: {fault}", target.name));
            unjudged.observation = crate::runner::save_observation(target, behaviour, &obs, None).ok();
            unjudged.error = Some(fault.to_string());
            unjudged.evidence = vec![format!("the play was stopped and not judged: {fault}")];
            unjudged.fault = Some(fault);
            out.results.push(unjudged);
        }
        Ok((obs, None)) => {
            let saved = crate::runner::save_observation(target, behaviour, &obs, None).ok();
            let checked = workload::judge(&obs);
            let effect = target.gate_effect();
            let waits: Vec<String> = crate::runner::unsatisfied_waits(&obs).collect();
            for v in &checked.verdicts {
                let expected = expected(&effect, v, workloads);
                let mut r = behaviour.unjudged(&target.name, target.version, target.gate);
                r.behaviour = v.id();
                r.title = format!("{}: {}", v.workload, v.invariant.title());
                r.section = format!("check {}", workloads.inputs.join(" "));
                r.claims = vec![citation(workloads, v.invariant)];
                r.expected = expected;
                r.observed = Some(v.judgement.outcome);
                r.verdict = CheckResult::verdict_of(expected, v.judgement.outcome);
                r.evidence = waits
                    .iter()
                    .filter(|w| concerns(w, &v.judgement.evidence))
                    .cloned()
                    .chain(v.judgement.evidence.clone())
                    .collect();
                r.observation = saved.clone();
                r.duration_ms = started.elapsed().as_millis() as u64;
                out.results.push(r);
            }
            for (workload, why) in &checked.unpulled {
                let mut r = behaviour.unjudged(&target.name, target.version, target.gate);
                r.behaviour = format!("images-pulled@{workload}");
                r.title = format!("{workload}: its images could be pulled");
                r.section = format!("check {}", workloads.inputs.join(" "));
                r.error = Some(format!("not judged: an image could not be pulled: {why}"));
                r.evidence = vec![why.clone()];
                r.observation = saved.clone();
                out.results.push(r);
            }
            out.notes = checked
                .notes
                .iter()
                .map(|n| format!("{}: {n}", target.name))
                .collect();
            if checked.verdicts.is_empty() && checked.unpulled.is_empty() {
                unjudged.error = Some("nothing was judged: no object was applied and no pod was seen".into());
                unjudged.evidence = waits;
                out.results.push(unjudged);
            }
        }
    }
    if out.results.iter().any(|r| r.verdict != Verdict::Pass) {
        let dir = crate::diagnose::collect(
            &target.client,
            &target.name,
            &target.run_dir,
            CHECK_ID,
            &namespace,
            since,
        )
        .await;
        for r in out.results.iter_mut().filter(|r| r.verdict != Verdict::Pass) {
            r.diagnostics = dir.clone();
        }
    }
    crate::runner::delete_namespace(target, &namespace).await;
    let failed = out.results.iter().filter(|r| r.verdict != Verdict::Pass).count();
    progress.say(format!(
        "{}: check: {} result(s), {failed} not passed, {} note(s), in {:.1} s",
        target.name,
        out.results.len(),
        out.notes.len(),
        started.elapsed().as_secs_f64()
    ));
    out
}

/// Whether a wait that ran out belongs in a verdict's evidence: a wait for one pod
/// only where the verdict speaks of that pod; any other wait (the pods settling) always.
fn concerns(wait: &str, evidence: &[String]) -> bool {
    match wait
        .split("waiting for pod ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
    {
        Some(pod) => evidence.iter().any(|e| e.contains(&format!("pod {pod}:"))),
        None => true,
    }
}

/// What a verdict must show on a cluster where the gate has `effect`: from the gate
/// table and the documents, never from what the cluster did. With sidecars disabled,
/// an object that declares a sidecar with a probe is refused (the field is dropped, the
/// probe stays on a regular init container); any other is accepted.
fn expected(effect: &GateEffect, v: &workload::Verdict, workloads: &Workloads) -> Outcome {
    match effect {
        GateEffect::ClusterRefused { .. } => Outcome::ClusterRefused,
        GateEffect::Enabled => Outcome::Holds,
        GateEffect::Disabled if v.invariant == Invariant::Accepted => {
            let probed = workloads
                .documents
                .iter()
                .any(|(_, text)| workload::declares_probed_sidecar(text, &v.workload));
            if probed {
                Outcome::SidecarIgnored
            } else {
                Outcome::Holds
            }
        }
        GateEffect::Disabled => Outcome::SidecarIgnored,
    }
}

/// The sentence a result cites: the given page's, when it states the invariant, else
/// the rule as this project states it.
fn citation(workloads: &Workloads, invariant: Invariant) -> String {
    workloads
        .citations
        .iter()
        .find(|(i, _)| *i == invariant)
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| invariant.rule().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_split_into_its_documents_with_their_lines() {
        let text = "# a comment\napiVersion: v1\nkind: Pod\n---\n# only a comment\n---\napiVersion: v1\nkind: Service\n";
        let docs = split_documents("x.yaml", text, 1);
        assert_eq!(docs.len(), 2, "{docs:?}");
        assert_eq!(docs[0].0, "x.yaml:1-3");
        assert_eq!(docs[1].0, "x.yaml:7-8");
        assert!(docs[1].1.contains("kind: Service"));
        // One document keeps the file's name alone; a page block keeps its lines.
        assert_eq!(split_documents("y.yaml", "kind: Pod\n", 1)[0].0, "y.yaml");
        assert_eq!(split_documents("p.md:3-9", "kind: Pod\n", 4)[0].0, "p.md:3-9");
    }

    #[test]
    fn a_page_is_read_as_its_yaml_blocks_with_line_numbers_and_its_sentences() {
        let page = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../manifests/page/sidecar-containers.md");
        let w = Workloads::load(&[page]).unwrap();
        let labels: Vec<&str> = w.documents.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels.len(), 2, "{labels:?}");
        assert!(labels[0].ends_with("sidecar-containers.md:13-53"), "{labels:?}");
        assert!(labels[1].ends_with("sidecar-containers.md:167-194"), "{labels:?}");
        assert!(citation(&w, Invariant::JobCompletes).contains("does not prevent the job from completing"));
        assert_eq!(citation(&w, Invariant::Accepted), Invariant::Accepted.rule());
    }

    #[test]
    fn the_shipped_examples_are_three_workloads_with_sidecars() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/workloads");
        let w = Workloads::load(&[dir]).unwrap();
        assert_eq!(w.documents.len(), 3);
        for (label, text) in &w.documents {
            assert!(text.contains("restartPolicy: Always"), "{label}");
        }
        let b = w.behaviour();
        let steps: Vec<&str> = b.scenario.steps.iter().map(|s| s.name()).collect();
        assert_eq!(
            steps,
            [
                "apply-each",
                "settle",
                "wait-for-jobs",
                "fetch-objects",
                "fetch-nodes"
            ]
        );
    }
}
