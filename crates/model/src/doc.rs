//! The documentation page under test and the manifests taken from it.
//!
//! `manifests/page/` holds the page (`sidecar-containers.md`, a copy of
//! `shared/seed/sidecar-containers.md`) and its YAML blocks, byte for byte;
//! `manifests/corrected/` holds corrected copies where the page is wrong, each
//! correction commented; `manifests/fixtures/` holds the harness's own pods that make a
//! claim observable. All are compiled into the binary.

use crate::manifest::Manifest;

/// Where the page lives in the repository.
pub const PAGE_PATH: &str = "manifests/page/sidecar-containers.md";

/// The page, verbatim.
pub const PAGE: &str = include_str!("../../../manifests/page/sidecar-containers.md");

macro_rules! manifest {
    ($path:literal) => {
        Manifest {
            path: concat!("manifests/", $path),
            text: include_str!(concat!("../../../manifests/", $path)),
        }
    };
}

/// The page's Deployment example ("Here is an example of Deployment with two containers").
pub const DEPLOYMENT: Manifest = manifest!("page/deployment-sidecar.yaml");
/// The page's Job example exactly as written (not valid Kubernetes).
pub const JOB_AS_WRITTEN: Manifest = manifest!("page/job.yaml");
/// The page's Job example with its three mistakes corrected.
pub const JOB_CORRECTED: Manifest = manifest!("corrected/job.yaml");
/// A pod whose sidecar becomes `started` only after a startup probe passes.
pub const START_ORDERING: Manifest = manifest!("fixtures/start-ordering.yaml");
/// A pod whose sidecar and app container can each be made to exit on request.
pub const RESTART_INDEPENDENCE: Manifest = manifest!("fixtures/restart-independence.yaml");

/// A pod whose sidecar's readiness probe passes for a while, then fails.
pub const SIDECAR_READINESS: Manifest = manifest!("fixtures/sidecar-readiness.yaml");
/// A pod with regular init containers and sidecars mixed in one list.
pub const INIT_SEQUENCING: Manifest = manifest!("fixtures/init-sequencing.yaml");
/// A Job whose main container fails, with the page's log-shipper sidecar.
pub const JOB_FAILS: Manifest = manifest!("fixtures/job-fails.yaml");
/// A pod with restartPolicy Never whose sidecar keeps failing.
pub const SIDECAR_BACKOFF: Manifest = manifest!("fixtures/sidecar-backoff.yaml");
/// A pod whose sidecar and app meet over localhost and a shared volume.
pub const SHARED_NAMESPACES: Manifest = manifest!("fixtures/shared-namespaces.yaml");
/// A pod whose app uses most of the grace period, with two sidecars that record SIGTERM.
pub const TERMINATION_ORDER: Manifest = manifest!("fixtures/termination-order.yaml");
/// A pod whose later sidecar never starts, deleted: the earlier sidecar must get SIGTERM.
pub const TERMINATION_UNSTARTED: Manifest = manifest!("fixtures/termination-unstarted.yaml");
/// A pod whose sidecar exits on its own while the pod terminates.
pub const TERMINATION_SIDECAR_EXITS: Manifest = manifest!("fixtures/termination-sidecar-exits.yaml");
/// A `restartPolicy: Never` pod whose startup-probed sidecar crashes on its first run.
pub const SIDECAR_CRASH_STARTUP_PROBE: Manifest = manifest!("fixtures/sidecar-crash-startup-probe.yaml");
/// A pod with a regular init container, a sidecar and an app, for a node restart.
pub const NODE_RESTART: Manifest = manifest!("fixtures/node-restart.yaml");
/// A pod whose sidecar's image is changed while it runs.
pub const SIDECAR_IMAGE_CHANGE: Manifest = manifest!("fixtures/sidecar-image-change.yaml");
/// A pod whose sidecar's CPU is resized in place.
pub const SIDECAR_RESIZE: Manifest = manifest!("fixtures/sidecar-resize.yaml");
/// Three pods that differ in which container has limits equal to its requests.
pub const QOS: Manifest = manifest!("fixtures/qos.yaml");
/// Two pods at the boundary of extended resources, a sidecar after and before a large
/// regular init container.
pub const EFFECTIVE_REQUESTS: Manifest = manifest!("fixtures/effective-requests.yaml");

/// The page's fenced yaml blocks (backticks or tildes), in order, each exactly as between
/// its fences, as pulldown-cmark's CommonMark reader finds them.
pub fn yaml_blocks(page: &str) -> Vec<&str> {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
    let mut blocks = Vec::new();
    // The byte range of the open yaml block's text, while inside one.
    let mut body: Option<Option<std::ops::Range<usize>>> = None;
    for (event, range) in Parser::new(page).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) if info.trim() == "yaml" => {
                body = Some(None);
            }
            Event::Text(_) if body.is_some() => {
                let text = body.as_mut().expect("inside a block");
                *text = Some(match text.take() {
                    Some(r) => r.start..range.end,
                    None => range,
                });
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(Some(r)) = body.take() {
                    blocks.push(&page[r]);
                }
            }
            _ => {}
        }
    }
    blocks
}

/// Whether `quote` appears in the page, ignoring differences in line breaks and
/// indentation only.
pub fn page_contains(quote: &str) -> bool {
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    squash(PAGE).contains(&squash(quote))
}

/// The label under which the runner applies a YAML block of the page: its path and
/// lines, e.g. `manifests/page/sidecar-containers.md:167-194`.
pub fn block_label(page: &str, block: &str) -> String {
    let (first, last) = block_lines(page, block);
    format!("{PAGE_PATH}:{first}-{last}")
}

/// First and last line of a block (a slice of `page`), fences included.
pub fn block_lines(page: &str, block: &str) -> (usize, usize) {
    let offset = block.as_ptr() as usize - page.as_ptr() as usize;
    let first_content = page[..offset].lines().count() + 1;
    (first_content - 1, first_content + block.lines().count())
}

/// Lines of a block label written by [`block_label`].
pub fn label_lines(label: &str) -> Option<(usize, usize)> {
    let (_, range) = label.rsplit_once(':')?;
    let (a, b) = range.split_once('-')?;
    Some((
        a.parse().ok()?,
        b.trim_end_matches(|c: char| !c.is_ascii_digit()).parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_manifests_are_the_blocks_of_the_page_byte_for_byte() {
        let blocks = yaml_blocks(PAGE);
        assert_eq!(blocks.len(), 2, "the page has two yaml blocks");
        assert_eq!(blocks[0], DEPLOYMENT.text);
        assert_eq!(blocks[1], JOB_AS_WRITTEN.text);
    }

    #[test]
    fn quotes_are_matched_across_line_breaks() {
        assert!(page_contains(
            "the sidecar container in each Pod does not prevent the job from completing"
        ));
        assert!(!page_contains(
            "the sidecar container prevents the job from completing"
        ));
    }

    #[test]
    fn block_labels_carry_the_page_lines() {
        let blocks = yaml_blocks(PAGE);
        assert_eq!(block_label(PAGE, blocks[0]), format!("{}:13-53", PAGE_PATH));
        assert_eq!(block_label(PAGE, blocks[1]), format!("{}:167-194", PAGE_PATH));
        assert_eq!(label_lines(&block_label(PAGE, blocks[1])), Some((167, 194)));
        assert_eq!(
            label_lines("manifests/page/sidecar-containers.md:167-194 (apiVersion corrected only)"),
            Some((167, 194))
        );
    }
}
