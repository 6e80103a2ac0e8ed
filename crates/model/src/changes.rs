//! What sidecar behaviour changed between Kubernetes minors beyond the gate: bugs, their
//! fixes and their backports, and designed changes. The second table beside the gate
//! table ([`crate::gate`]): with it, what a cluster must do depends on its exact
//! version, and an upgrade diff can name what changed and why.
//!
//! Each row was checked against kubernetes/kubernetes' CHANGELOG files and the PR and
//! issue threads it cites (research notes of 2026-12-05). Where a patch version rests
//! only on a cherry-pick's listing in a derived release-notes index, or on merge dates,
//! the row says so in `confidence`.

use crate::version::KubeVersion;

/// How sure the table is of a row's versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    /// Read in the CHANGELOG of each version named.
    High,
    /// Some versions inferred (merge dates, a derived release-notes index).
    Medium,
}

/// One change of sidecar behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Stable identifier.
    pub id: &'static str,
    /// What a cluster that has the bug (or lacks the change) does.
    pub affected_behaviour: &'static str,
    /// First version that shows it.
    pub since: KubeVersion,
    /// The first fixed patch of each minor that has the fix: the mainline release
    /// (`.0` of the newest minor listed) and each backport. Empty: never fixed.
    pub fixed: &'static [KubeVersion],
    /// Upstream references: issue and PRs (`kubernetes/kubernetes#N`), KEPs.
    pub refs: &'static [&'static str],
    /// The catalogue behaviour that observes it, when there is one.
    pub behaviour: Option<&'static str>,
    pub confidence: Confidence,
}

const fn v(minor: u32, patch: u32) -> KubeVersion {
    KubeVersion { minor, patch }
}

impl Change {
    /// Whether `version` has the behaviour this row describes (the bug, or the
    /// behaviour before the change).
    pub fn affects(&self, version: KubeVersion) -> bool {
        version >= self.since && !self.fixed_in(version)
    }

    /// Whether `version` has the fix: it is at or after the mainline fix's minor, or a
    /// backport to its minor is at or before its patch.
    pub fn fixed_in(&self, version: KubeVersion) -> bool {
        let Some(mainline) = self.fixed.iter().map(|f| f.minor).max() else {
            return false;
        };
        version.minor > mainline
            || self
                .fixed
                .iter()
                .any(|f| f.minor == version.minor && version.patch >= f.patch)
    }

    /// The first fixed release, as a sentence: `1.31.0 (backported to 1.30.4, 1.29.8)`.
    pub fn fixed_text(&self) -> String {
        let mut fixed: Vec<KubeVersion> = self.fixed.to_vec();
        fixed.sort();
        match fixed.split_last() {
            None => "not fixed".into(),
            Some((main, [])) => main.to_string(),
            Some((main, backports)) => format!(
                "{main} (backported to {})",
                backports
                    .iter()
                    .rev()
                    .map(|b| b.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// `known upstream bug kubernetes/kubernetes#N, fixed in 1.X`, for results.
    pub fn citation(&self) -> String {
        format!(
            "known upstream bug {} ({}), fixed in {}",
            self.refs.join(", "),
            self.id,
            self.fixed_text()
        )
    }
}

/// Every row, oldest first.
pub const CHANGES: &[Change] = &[
    Change {
        id: "sidecar-ordered-termination",
        affected_behaviour: "on pod termination the sidecars get SIGTERM together with the app containers, not after them in reverse order",
        since: v(28, 0),
        fixed: &[v(29, 0)],
        refs: &["kubernetes/kubernetes#120620", "kubernetes/enhancements#4183"],
        behaviour: Some("termination-order"),
        confidence: Confidence::High,
    },
    Change {
        id: "sidecar-status-stuck-never-onfailure",
        affected_behaviour: "in a restartPolicy Never or OnFailure pod (a Job's) the API server refuses a sidecar's status going from terminated back to running, so a restarted sidecar's status stays on its first termination",
        since: v(28, 0),
        fixed: &[v(30, 0), v(29, 3), v(28, 8)],
        refs: &["kubernetes/kubernetes#122902", "kubernetes/kubernetes#123323"],
        behaviour: Some("sidecar-backoff"),
        confidence: Confidence::High,
    },
    Change {
        id: "sidecar-sigterm-uninitialized-pod",
        affected_behaviour: "with several sidecars, one never passing its startupProbe, deleting the pod sends the earlier sidecars no SIGTERM until the grace period ends",
        since: v(29, 0),
        fixed: &[v(31, 0), v(30, 4), v(29, 8)],
        refs: &["kubernetes/kubernetes#125880", "kubernetes/kubernetes#125935"],
        behaviour: Some("termination-unstarted-sidecar"),
        confidence: Confidence::High,
    },
    Change {
        id: "init-stuck-created-runtime-error",
        affected_behaviour: "after one transient runtime failure to start it, an init container stays Created and the pod stays Init:0/1",
        since: v(29, 0),
        fixed: &[v(32, 0), v(31, 1), v(30, 5), v(29, 9)],
        refs: &[
            "kubernetes/kubernetes#126440",
            "kubernetes/kubernetes#126543",
            "kubernetes/kubernetes#127162",
        ],
        behaviour: None,
        confidence: Confidence::High,
    },
    Change {
        id: "sidecar-image-change-ignored",
        affected_behaviour: "changing a running sidecar's image does not restart it: it keeps its first container and the old image",
        since: v(28, 0),
        fixed: &[v(32, 0)],
        refs: &["kubernetes/kubernetes#121333", "kubernetes/kubernetes#126525"],
        behaviour: Some("sidecar-image-change"),
        confidence: Confidence::Medium,
    },
    Change {
        id: "sidecar-pending-phase-after-reboot",
        affected_behaviour: "after a node restart a pod whose init containers are sidecars stays in phase Running (the app's exited container taken for a started one) and can start its app before its sidecars are started again",
        since: v(29, 0),
        fixed: &[v(33, 0)],
        refs: &["kubernetes/kubernetes#127793", "kubernetes/kubernetes#128516"],
        behaviour: Some("node-restart"),
        confidence: Confidence::High,
    },
    Change {
        id: "sidecar-in-place-resize-unavailable",
        affected_behaviour: "a running sidecar cannot be resized in place: no `resize` subresource by default (in-place pod resize was alpha) and no resize of sidecars at all",
        since: v(28, 0),
        fixed: &[v(33, 0)],
        refs: &["kubernetes/kubernetes#128367", "kubernetes/enhancements#1287"],
        behaviour: Some("sidecar-resize"),
        confidence: Confidence::Medium,
    },
    Change {
        id: "sidecar-startupprobe-never-policy",
        affected_behaviour: "in a restartPolicy Never pod whose sidecar's startupProbe fails once, the main container stays Initializing for ever",
        since: v(29, 0),
        fixed: &[v(35, 0), v(34, 2), v(33, 6)],
        refs: &["kubernetes/kubernetes#132826", "kubernetes/kubernetes#133072"],
        behaviour: Some("sidecar-crash-startup-probe"),
        confidence: Confidence::Medium,
    },
    Change {
        id: "sidecar-kubelet-restart-no-app-restart",
        affected_behaviour: "after a kubelet restart, crashed app containers of a pod with a startup-probed sidecar are never restarted",
        since: v(35, 0),
        fixed: &[v(36, 0), v(35, 4)],
        refs: &["kubernetes/kubernetes#137146", "kubernetes/kubernetes#137885"],
        behaviour: None,
        confidence: Confidence::High,
    },
];

/// The rows that affect `version`.
pub fn known_at(version: KubeVersion) -> Vec<&'static Change> {
    CHANGES.iter().filter(|c| c.affects(version)).collect()
}

/// The known bug that explains a failing `behaviour` on `version`, if the table has one.
pub fn explains(behaviour: &str, version: KubeVersion) -> Option<&'static Change> {
    CHANGES
        .iter()
        .find(|c| c.behaviour == Some(behaviour) && c.affects(version))
}

/// What changed between two versions: each row that affects exactly one of them, with
/// whether the later version has the fix (`true`) or the bug appeared (`false`).
pub fn between(before: KubeVersion, after: KubeVersion) -> Vec<(&'static Change, bool)> {
    CHANGES
        .iter()
        .filter_map(|c| match (c.affects(before), c.affects(after)) {
            (true, false) => Some((c, true)),
            (false, true) => Some((c, false)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ver(s: &str) -> KubeVersion {
        s.parse().unwrap()
    }

    #[test]
    fn a_backport_fixes_its_minor_from_its_patch_on_and_the_mainline_every_later_minor() {
        let c = CHANGES
            .iter()
            .find(|c| c.id == "sidecar-sigterm-uninitialized-pod")
            .unwrap();
        assert!(!c.affects(ver("1.28.9")), "before the bug");
        assert!(c.affects(ver("1.29.7")));
        assert!(!c.affects(ver("1.29.8")));
        assert!(c.affects(ver("1.30.3")));
        assert!(!c.affects(ver("1.30.4")));
        assert!(!c.affects(ver("1.31.0")));
        assert!(!c.affects(ver("1.37.2")));
        assert_eq!(c.fixed_text(), "1.31.0 (backported to 1.30.4, 1.29.8)");
        assert!(
            c.citation()
                .starts_with("known upstream bug kubernetes/kubernetes#125880")
        );
    }

    #[test]
    fn a_regression_of_one_minor_affects_it_only_until_its_backport() {
        let c = CHANGES
            .iter()
            .find(|c| c.id == "sidecar-kubelet-restart-no-app-restart")
            .unwrap();
        assert!(!c.affects(ver("1.34.9")));
        assert!(c.affects(ver("1.35.3")));
        assert!(!c.affects(ver("1.35.4")));
        assert!(!c.affects(ver("1.36.0")));
    }

    #[test]
    fn an_upgrade_names_what_it_fixes_and_what_it_brings() {
        let fixed: Vec<&str> = between(ver("1.32.2"), ver("1.37.2"))
            .into_iter()
            .filter(|(_, f)| *f)
            .map(|(c, _)| c.id)
            .collect();
        assert_eq!(
            fixed,
            [
                "sidecar-pending-phase-after-reboot",
                "sidecar-in-place-resize-unavailable",
                "sidecar-startupprobe-never-policy"
            ]
        );
        let brought: Vec<&str> = between(ver("1.34.9"), ver("1.35.0"))
            .into_iter()
            .filter(|(_, f)| !*f)
            .map(|(c, _)| c.id)
            .collect();
        assert_eq!(brought, ["sidecar-kubelet-restart-no-app-restart"]);
        assert!(between(ver("1.37.2"), ver("1.37.2")).is_empty());
    }

    #[test]
    fn rows_are_within_the_versions_the_harness_runs_and_cite_upstream() {
        for c in CHANGES {
            assert!(c.since.minor >= crate::version::OLDEST_MINOR, "{}", c.id);
            assert!(
                !c.refs.is_empty() && c.refs.iter().all(|r| r.contains('#')),
                "{}",
                c.id
            );
            let main = c.fixed.iter().map(|f| f.minor).max().unwrap();
            assert!(
                c.fixed.iter().any(|f| f.minor == main && f.patch == 0),
                "{}: mainline .0",
                c.id
            );
            assert!(c.fixed.iter().all(|f| *f > c.since), "{}", c.id);
        }
    }
}
