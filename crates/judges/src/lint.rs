//! The page itself under review: what a reader of it would trip over.
//!
//! Static checks read the page: code fences that do not close where they seem to (so
//! prose and headings render as code), `kubectl` commands that name an object the
//! page's examples never create, and files the page applies without saying where they
//! come from. The server-side checks (each YAML block as a server-side dry run with
//! strict field validation) run on a cluster as the `page-lint` behaviour; [`judge`]
//! joins both, and [`render_markdown`] writes the list the README shows.

use serde::{Deserialize, Serialize};
use sidecar_conformance_model::doc;
use sidecar_conformance_model::judgement::{Judgement, Outcome};
use sidecar_conformance_model::observation::{Observation, Rejection};

use crate::evidence::{
    Findings, confirms_kind_not_served, confirms_undeclared_fields, misplaced_container_fields,
};

/// What kind of defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefectKind {
    /// The API server refuses a YAML block.
    InvalidManifest,
    /// A code fence is not closed where the page seems to close it.
    BrokenCodeFence,
    /// A command names an object the page's examples do not create.
    NoSuchObject,
    /// A command reads a file the page never says to create.
    UnnamedFile,
}

/// One defect of the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageDefect {
    /// First and last line of the page it concerns (1-based).
    pub lines: (usize, usize),
    pub kind: DefectKind,
    /// What the page says there.
    pub found: String,
    /// What is wrong (for manifests: the API server's answer).
    pub problem: String,
    pub suggestion: String,
}

impl PageDefect {
    /// `line 85` or `lines 74-152`.
    pub fn where_(&self) -> String {
        if self.lines.0 == self.lines.1 {
            format!("line {}", self.lines.0)
        } else {
            format!("lines {}-{}", self.lines.0, self.lines.1)
        }
    }
}

/// A fenced code block of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// Line of the opening fence.
    pub open: usize,
    /// Line of the closing fence, `None` when the page ends first.
    pub close: Option<usize>,
    /// The fence's character: a backtick or a tilde.
    pub marker: char,
    /// How many of `marker` open the block.
    pub backticks: usize,
    pub info: String,
    /// Lines inside that look like fences but cannot close this one (shorter, or with
    /// an info string).
    pub inner_fences: Vec<usize>,
}

impl Fence {
    /// What the fence is made of, for messages: "backticks" or "tildes".
    fn marker_name(&self) -> &'static str {
        if self.marker == '~' { "tildes" } else { "backticks" }
    }
}

/// A line that could be a fence of `marker`: at most three spaces of indent, then at
/// least three of `marker`. Returns the run's length and what follows it, trimmed.
fn fence_line(line: &str, marker: char) -> Option<(usize, &str)> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let run = trimmed.chars().take_while(|c| *c == marker).count();
    (run >= 3).then(|| (run, trimmed[run..].trim()))
}

/// The page's fenced code blocks (backticks or tildes), as pulldown-cmark's CommonMark
/// reader sees them: a block opened with N of a marker is closed only by a line of at
/// least N of the same marker and nothing else.
pub fn fences(page: &str) -> Vec<Fence> {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag};
    let line_of = |offset: usize| page[..offset].matches('\n').count() + 1;
    let lines: Vec<&str> = page.lines().collect();
    let mut out = Vec::new();
    for (event, range) in Parser::new(page).into_offset_iter() {
        let Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) = event else {
            continue;
        };
        let open = line_of(range.start);
        let opening = lines.get(open - 1).copied().unwrap_or("");
        let marker = if opening.trim_start().starts_with('~') {
            '~'
        } else {
            '`'
        };
        let Some((width, _)) = fence_line(opening, marker) else {
            continue;
        };
        // The block's range ends after its closing fence, when it has one.
        let last = line_of(range.end.saturating_sub(1).max(range.start));
        let close = (last > open)
            .then(|| lines.get(last - 1).copied().unwrap_or(""))
            .and_then(|l| fence_line(l, marker))
            .filter(|(run, rest)| *run >= width && rest.is_empty())
            .map(|_| last);
        let end = close.unwrap_or(last + 1);
        let inner_fences = (open + 1..end)
            .filter(|n| fence_line(lines.get(n - 1).copied().unwrap_or(""), marker).is_some())
            .collect();
        out.push(Fence {
            open,
            close,
            marker,
            backticks: width,
            info: info.trim().to_string(),
            inner_fences,
        });
    }
    out
}

/// Line `n` (1-based) of the page.
fn line(page: &str, n: usize) -> &str {
    page.lines().nth(n - 1).unwrap_or("")
}

/// Fences that swallow what follows them.
fn fence_defects(page: &str) -> Vec<PageDefect> {
    let mut out = Vec::new();
    for f in fences(page) {
        let Some(close) = f.close else {
            out.push(PageDefect {
                lines: (f.open, page.lines().count()),
                kind: DefectKind::BrokenCodeFence,
                found: line(page, f.open).to_string(),
                problem: format!(
                    "the code block opened at line {} with {} {} is never closed: the rest of the page renders as code",
                    f.open,
                    f.backticks,
                    f.marker_name()
                ),
                suggestion: format!("close it with {}", f.marker.to_string().repeat(f.backticks)),
            });
            continue;
        };
        if f.inner_fences.is_empty() {
            continue;
        }
        let headings: Vec<String> = (f.open + 1..close)
            .filter(|n| line(page, *n).starts_with('#'))
            .map(|n| format!("line {n} {:?}", line(page, n)))
            .collect();
        out.push(PageDefect {
            lines: (f.open, close),
            kind: DefectKind::BrokenCodeFence,
            found: line(page, f.open).to_string(),
            problem: format!(
                "the code block opened at line {} with {} {} is closed only at line {close}; the fences at lines {} cannot close it, so lines {}-{} render as one code block{}",
                f.open,
                f.backticks,
                f.marker_name(),
                f.inner_fences.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "),
                f.open + 1,
                close - 1,
                if headings.is_empty() {
                    String::new()
                } else {
                    format!(", headings and prose included ({})", headings.join(", "))
                }
            ),
            suggestion: format!(
                "open and close every block with three {}: line {} as \"{}{}\", each inner opening fence likewise, and drop the {}-{} fence at line {close}",
                f.marker_name(),
                f.open,
                f.marker.to_string().repeat(3),
                f.info,
                f.backticks,
                f.marker_name().trim_end_matches('s')
            ),
        });
    }
    out
}

/// An object a YAML block of the page creates.
struct PageObject {
    kind: String,
    name: String,
    /// Labels of its pod template, for a selector that finds its pods.
    pod_labels: Vec<(String, String)>,
}

/// Objects the page's YAML blocks create.
fn page_objects(page: &str) -> Vec<PageObject> {
    let mut out = Vec::new();
    for block in doc::yaml_blocks(page) {
        let Ok(docs) = serde_saphyr::from_multiple::<serde_json::Value>(block) else {
            continue;
        };
        for d in docs {
            let labels = d["spec"]["template"]["metadata"]["labels"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            if let (Some(kind), Some(name)) = (d["kind"].as_str(), d["metadata"]["name"].as_str()) {
                out.push(PageObject {
                    kind: kind.to_string(),
                    name: name.to_string(),
                    pod_labels: labels,
                });
            }
        }
    }
    out
}

/// The kind a `kubectl` resource type names.
fn kind_of(resource: &str) -> Option<&'static str> {
    Some(match resource.to_lowercase().as_str() {
        "pod" | "pods" | "po" => "Pod",
        "deploy" | "deployment" | "deployments" => "Deployment",
        "job" | "jobs" => "Job",
        "rs" | "replicaset" | "replicasets" => "ReplicaSet",
        _ => return None,
    })
}

/// `kubectl` commands in the page's code blocks that name objects or files.
fn command_defects(page: &str) -> Vec<PageDefect> {
    let objects = page_objects(page);
    let mut out: Vec<PageDefect> = Vec::new();
    for f in fences(page) {
        let end = f.close.unwrap_or(page.lines().count() + 1);
        for n in f.open + 1..end {
            let text = line(page, n).trim();
            let words: Vec<&str> = text.split_whitespace().collect();
            if words.first() != Some(&"kubectl") || words.len() < 3 {
                continue;
            }
            let verb = words[1];
            if verb == "apply" || verb == "create" {
                if let Some(i) = words.iter().position(|w| *w == "-f")
                    && let Some(file) = words.get(i + 1)
                {
                    let told = page
                        .lines()
                        .any(|l| l.contains(file) && !l.trim_start().starts_with("kubectl"));
                    if !told {
                        match out
                            .iter_mut()
                            .find(|d| d.kind == DefectKind::UnnamedFile && d.found == text)
                        {
                            Some(d) => d.lines.1 = n,
                            None => out.push(PageDefect {
                                lines: (n, n),
                                kind: DefectKind::UnnamedFile,
                                found: text.to_string(),
                                problem: format!(
                                    "the page applies {file} but never says which block to save under that name"
                                ),
                                suggestion: format!("say \"save the Deployment above as {file}\" before the command"),
                            }),
                        }
                    }
                }
                continue;
            }
            if !matches!(verb, "describe" | "get" | "delete" | "logs" | "edit") {
                continue;
            }
            let (resource, name) = match words[2].split_once('/') {
                Some((r, name)) => (r, Some(name)),
                None => (words[2], words.get(3).copied().filter(|w| !w.starts_with('-'))),
            };
            let (Some(kind), Some(name)) = (kind_of(resource), name) else {
                continue;
            };
            if objects.iter().any(|o| o.kind == kind && o.name == name) {
                continue;
            }
            // Pods of a Deployment or Job carry generated names.
            let owner = objects
                .iter()
                .find(|o| o.name == name && matches!(o.kind.as_str(), "Deployment" | "Job"));
            let example = page
                .lines()
                .enumerate()
                .find(|(_, l)| l.trim_start().starts_with(&format!("{name}-")))
                .map(|(i, l)| (i + 1, l.split_whitespace().next().unwrap_or("").to_string()));
            let (problem, suggestion) = match (kind, owner) {
                (
                    "Pod",
                    Some(PageObject {
                        kind: owner_kind,
                        pod_labels: labels,
                        ..
                    }),
                ) => (
                    format!(
                        "no pod is named {name}: the {owner_kind} {name} names its pods {name}-<generated suffix>{}",
                        example
                            .as_ref()
                            .map(|(l, e)| format!(" (e.g. {e}, line {l})"))
                            .unwrap_or_default()
                    ),
                    match labels.first() {
                        Some((k, v)) => format!("kubectl {verb} pods -l {k}={v}"),
                        None => format!("kubectl {verb} {}/{name}", owner_kind.to_lowercase()),
                    },
                ),
                _ => (
                    format!("the page's examples create no {kind} named {name}"),
                    format!(
                        "name one of: {}",
                        objects
                            .iter()
                            .map(|o| format!("{} {}", o.kind, o.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            };
            out.push(PageDefect {
                lines: (n, n),
                kind: DefectKind::NoSuchObject,
                found: text.to_string(),
                problem,
                suggestion,
            });
        }
    }
    out
}

/// Every defect the page shows without a cluster, in page order.
pub fn static_defects(page: &str) -> Vec<PageDefect> {
    let mut out = fence_defects(page);
    out.extend(command_defects(page));
    out.sort_by_key(|d| d.lines);
    out
}

/// The server's verdicts on the page's YAML blocks, as defects.
pub fn server_defects(obs: &Observation) -> Vec<PageDefect> {
    obs.rejections.iter().filter_map(server_defect).collect()
}

/// A refusal of one of the page's YAML blocks, as a defect.
fn server_defect(r: &Rejection) -> Option<PageDefect> {
    let lines = doc::label_lines(&r.file)?;
    let retried = r.file.contains(RETRIED);
    let suggestion = if r.message.contains("no matches for kind") {
        "apiVersion: batch/v1 (Jobs are in the batch API group); see manifests/corrected/job.yaml".to_string()
    } else if r.message.contains("field not declared in schema") {
        "move `command` and `volumeMounts` into the container they belong to (under `containers:`); see manifests/corrected/job.yaml".to_string()
    } else {
        "see the server's message".to_string()
    };
    Some(PageDefect {
        lines,
        kind: DefectKind::InvalidManifest,
        found: r.object.clone(),
        problem: format!(
            "server-side dry run (strict){}: {}",
            if retried {
                ", with only apiVersion corrected"
            } else {
                ""
            },
            r.message
        ),
        suggestion,
    })
}

/// How the runner labels a block dry-run again with only its apiVersion corrected.
const RETRIED: &str = "(apiVersion corrected only)";

/// Where Kubernetes serves the kinds the page's blocks create. A block naming one of
/// them under another apiVersion must be refused for it.
const SERVED: [(&str, &str); 3] = [("Pod", "v1"), ("Deployment", "apps/v1"), ("Job", "batch/v1")];

/// A refusal a block calls for: the defect, in words, and the check that an answer of
/// the API server is a refusal for it (`Ok` with what confirms it).
type Expected<'e> = Option<(&'e str, &'e dyn Fn(&str) -> Result<String, String>)>;

/// Checks the API server's answer to one attempt at a block (`label` as the runner
/// names it): what the block calls for is an acceptance when `expected` is `None`, a
/// refusal the given check confirms otherwise. Returns the refusal when it is confirmed
/// (a defect of the page).
fn check_answer<'a>(
    obs: &'a Observation,
    f: &mut Findings,
    attempt: &str,
    label: &str,
    object: (&str, &str, &str),
    expected: Expected,
) -> Option<&'a Rejection> {
    let (api_version, kind, name) = object;
    let refusal = obs.rejections.iter().find(|r| r.file == label);
    let accepted = obs
        .applied
        .iter()
        .any(|o| o.api_version == api_version && o.kind == kind && o.name == name);
    match (expected, refusal) {
        (None, None) if accepted => {
            f.check(
                true,
                format!("{attempt}: server-side dry run (strict) accepted {kind}/{name}"),
            );
            None
        }
        (None, Some(r)) => {
            f.fail(format!(
                "{attempt}: the API server refused {kind}/{name}, a block it has no reason to refuse: {}",
                r.message
            ));
            None
        }
        (Some((defect, _)), None) if accepted => {
            f.fail(format!(
                "{attempt}: server-side dry run (strict) accepted {kind}/{name} ({api_version}), which Kubernetes refuses: {defect}"
            ));
            None
        }
        (Some((defect, confirms)), Some(r)) => match confirms(&r.message) {
            Ok(why) => {
                f.check(
                    true,
                    format!("{attempt}: refused {kind}/{name} ({defect}): {why}"),
                );
                Some(r)
            }
            Err(why) => {
                f.fail(format!(
                    "{attempt}: refused {kind}/{name}, but not for the page's defect ({defect}): {why}"
                ));
                None
            }
        },
        (_, None) => {
            f.fail(format!(
                "{attempt}: the observation holds no answer of the API server to {kind}/{name} ({api_version})"
            ));
            None
        }
    }
}

/// Judges the page lint. The defects the page shows by itself are facts of its text;
/// those of its YAML blocks are the API server's to confirm. `Rejected` (the page's
/// defects confirmed) when every block got the answer it calls for: a valid block
/// accepted by the dry run; a block naming a kind under an apiVersion that does not
/// serve it refused for exactly that, and, with only its apiVersion corrected, refused
/// by strict validation for the container fields it puts on the Pod spec (or accepted
/// when it has none). A missing answer, or one for another reason (403, 409, 429, a
/// 5xx), is `Violated`, saying what was unexpected: it proves nothing about the page.
/// `Holds` when every answer is as expected and the page has no defect. The defects go
/// into the page findings, each with where it is, what is wrong and a suggestion.
pub fn judge(obs: &Observation) -> Judgement {
    let mut f = Findings::default();
    let mut confirmed: Vec<&Rejection> = Vec::new();
    for block in doc::yaml_blocks(doc::PAGE) {
        let label = doc::block_label(doc::PAGE, block);
        let (first, last) = doc::block_lines(doc::PAGE, block);
        let at = format!("lines {first}-{last}");
        let Ok(docs) = serde_saphyr::from_multiple::<serde_json::Value>(block) else {
            f.fail(format!(
                "{at}: the block is not YAML the API server could be asked about"
            ));
            continue;
        };
        for d in &docs {
            let (api_version, kind, name) = (
                d["apiVersion"].as_str().unwrap_or_default(),
                d["kind"].as_str().unwrap_or_default(),
                d["metadata"]["name"].as_str().unwrap_or_default(),
            );
            let served_in = SERVED.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v);
            let misplaced = misplaced_container_fields(d);
            let fields_defect = format!("{} not declared in the Pod spec's schema", misplaced.join(", "));
            let fields_refused = |m: &str| {
                confirms_undeclared_fields(m, &misplaced)
                    .map(|named| format!("strict field validation names {}: {m}", named.join(", ")))
            };
            let fields_expected: Expected =
                (!misplaced.is_empty()).then_some((fields_defect.as_str(), &fields_refused));
            match served_in {
                Some(served) if served != api_version => {
                    let kind_defect = format!("no {kind} in {api_version}");
                    let kind_refused = |m: &str| confirms_kind_not_served(m, kind, api_version);
                    if let Some(r) = check_answer(
                        obs,
                        &mut f,
                        &format!("{at}, as written"),
                        &label,
                        (api_version, kind, name),
                        Some((&kind_defect, &kind_refused)),
                    ) {
                        confirmed.push(r);
                    }
                    // The runner tries the block once more with only apiVersion corrected.
                    if let Some(r) = check_answer(
                        obs,
                        &mut f,
                        &format!("{at}, with only apiVersion corrected to {served}"),
                        &format!("{label} {RETRIED}"),
                        (served, kind, name),
                        fields_expected,
                    ) {
                        confirmed.push(r);
                    }
                }
                _ => {
                    if let Some(r) = check_answer(
                        obs,
                        &mut f,
                        &at,
                        &label,
                        (api_version, kind, name),
                        fields_expected,
                    ) {
                        confirmed.push(r);
                    }
                }
            }
        }
    }
    // The page's defects: what its text shows, and what the API server confirmed.
    let mut defects = static_defects(doc::PAGE);
    let from_page = defects.len();
    defects.extend(confirmed.into_iter().filter_map(server_defect));
    defects.sort_by_key(|d| d.lines);
    f.note(format!(
        "the page's defects, in the page findings: {from_page} read from its text, {} confirmed by the API server",
        defects.len() - from_page
    ));
    let answers_as_expected = f.holds();
    let mut judgement = f.judgement();
    judgement.outcome = match (answers_as_expected, defects.is_empty()) {
        (false, _) => Outcome::Violated,
        (true, true) => Outcome::Holds,
        (true, false) => Outcome::Rejected,
    };
    // A finding is about the page, the same on every cluster: the API server's own words
    // (with the play's namespace in them) stay in the evidence.
    judgement.page_findings = defects
        .iter()
        .map(|d| match d.kind {
            DefectKind::InvalidManifest => format!(
                "{}: the API server refuses {} -- suggestion: {}",
                d.where_(),
                d.found,
                d.suggestion
            ),
            _ => format!("{}: {} -- suggestion: {}", d.where_(), d.problem, d.suggestion),
        })
        .collect();
    judgement
}

/// The page's defects as a Markdown table (what the README shows).
pub fn render_markdown(defects: &[PageDefect]) -> String {
    // Table cells: no pipes or line breaks; `<...>` would be read as HTML.
    let cell = |s: &str| {
        s.replace('|', "\\|")
            .replace('\n', " ")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut out =
        String::from("| where | defect | the page has | problem | suggestion |\n|---|---|---|---|---|\n");
    for d in defects {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            d.where_(),
            serde_json::to_value(d.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            code_span(&d.found.replace('|', "\\|")),
            cell(&d.problem),
            cell(&d.suggestion)
        ));
    }
    out
}

/// A Markdown code span around text that may itself hold backticks: the delimiter is
/// one backtick longer than the longest run inside.
fn code_span(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest == 0 {
        format!("{fence}{text}{fence}")
    } else {
        format!("{fence} {text} {fence}")
    }
}

/// Every defect: the static ones and, when an observation of `page-lint` is given, the
/// server's.
pub fn all_defects(obs: Option<&Observation>) -> Vec<PageDefect> {
    let mut defects = static_defects(doc::PAGE);
    if let Some(o) = obs {
        defects.extend(server_defects(o));
    }
    defects.sort_by_key(|d| d.lines);
    defects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_follow_commonmark() {
        let page = "a\n```bash\nx\n```\n`````bash\ny\n```\n# h\n````sh\n```\n`````\n```yaml\nz\n";
        let f = fences(page);
        assert_eq!(f.len(), 3);
        assert_eq!((f[0].open, f[0].close), (2, Some(4)));
        assert_eq!((f[1].open, f[1].close, f[1].backticks), (5, Some(11), 5));
        assert_eq!(f[1].inner_fences, vec![7, 9, 10]);
        assert_eq!((f[2].open, f[2].close), (12, None));
        let d = fence_defects(page);
        assert_eq!(d.len(), 2);
        assert!(d[0].problem.contains("line 8 \"# h\""), "{}", d[0].problem);
        assert!(d[1].problem.contains("never closed"));
    }

    #[test]
    fn tilde_fences_count_too() {
        let page = "~~~~yaml\na: 1\n~~~\n```\n~~~~\nok\n";
        let f = fences(page);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!((f[0].open, f[0].close, f[0].marker), (1, Some(5), '~'));
        assert_eq!(f[0].inner_fences, vec![3]);
        let d = fence_defects(page);
        assert!(
            d[0].problem.contains("with 4 tildes is closed only at line 5"),
            "{}",
            d[0].problem
        );
    }

    #[test]
    fn the_pages_static_defects_are_found_with_their_lines() {
        let d = static_defects(doc::PAGE);
        let at = |kind: DefectKind| d.iter().filter(|x| x.kind == kind).collect::<Vec<_>>();
        let fences = at(DefectKind::BrokenCodeFence);
        assert_eq!(fences.len(), 1, "{d:#?}");
        assert_eq!(fences[0].lines, (74, 152));
        assert!(
            fences[0].problem.contains("### Describe the Deployments"),
            "{}",
            fences[0].problem
        );
        let pods = at(DefectKind::NoSuchObject);
        assert_eq!(pods.len(), 1, "{d:#?}");
        assert_eq!(pods[0].lines, (85, 85));
        assert_eq!(pods[0].found, "kubectl describe pod/myapp");
        assert!(
            pods[0].problem.contains("myapp-5ffc9bd7f5-6qh4j"),
            "{}",
            pods[0].problem
        );
        assert_eq!(pods[0].suggestion, "kubectl describe pods -l app=myapp");
        let files = at(DefectKind::UnnamedFile);
        assert_eq!(files.len(), 1, "{d:#?}");
        assert_eq!(files[0].lines, (58, 64));
        // `kubectl describe deploy/myapp` names the Deployment the page creates: fine.
        assert!(!d.iter().any(|x| x.found.contains("deploy/myapp")));
    }

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(code_span("kubectl get pods"), "`kubectl get pods`");
        assert_eq!(code_span("`````bash"), "`````` `````bash ``````");
    }

    #[test]
    fn a_page_without_defects_has_none() {
        let page = "```yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n```\n\nSave it as web.yaml.\n\n```bash\nkubectl apply -f web.yaml\nkubectl describe deploy/web\n```\n";
        assert_eq!(static_defects(page), vec![]);
    }
}
