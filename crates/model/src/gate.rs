//! The `SidecarContainers` feature gate: what each Kubernetes minor does with it, and
//! therefore what a cluster must do when the harness asks for the gate on, off or at its
//! default.
//!
//! Source of the table: `pkg/features/kube_features.go` of `k8s.io/kubernetes`
//! (read from the v1.32.2, v1.34.0, v1.36.1 and v1.37.2 modules):
//!
//! ```text
//! SidecarContainers: {
//!     {Version: version.MustParse("1.28"), Default: false, PreRelease: featuregate.Alpha},
//!     {Version: version.MustParse("1.29"), Default: true, PreRelease: featuregate.Beta},
//!     {Version: version.MustParse("1.33"), Default: true, LockToDefault: true, PreRelease: featuregate.GA}, // GA in 1.33 remove in 1.36
//! },
//! ```
//!
//! v1.36.1 still lists the gate; v1.37.2 no longer does (kubelet 1.37.2 panics with
//! `unrecognized feature gate: SidecarContainers` when it is set at all).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::version::KubeVersion;

/// The feature gate's name, as components spell it in `--feature-gates`.
pub const GATE_NAME: &str = "SidecarContainers";

/// What the user asks of the gate for one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateSetting {
    /// Leave the gate out of the cluster configuration: the version's default applies.
    Default,
    /// `featureGates: {SidecarContainers: true}`.
    On,
    /// `featureGates: {SidecarContainers: false}`.
    Off,
}

impl GateSetting {
    /// The value written into the kind config, `None` when the gate is left out.
    pub fn explicit_value(self) -> Option<bool> {
        match self {
            GateSetting::Default => None,
            GateSetting::On => Some(true),
            GateSetting::Off => Some(false),
        }
    }
}

impl fmt::Display for GateSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GateSetting::Default => "default",
            GateSetting::On => "on",
            GateSetting::Off => "off",
        })
    }
}

impl FromStr for GateSetting {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "default" => Ok(GateSetting::Default),
            "on" | "true" => Ok(GateSetting::On),
            "off" | "false" => Ok(GateSetting::Off),
            other => Err(format!("gate setting {other:?}: expected default, on or off")),
        }
    }
}

/// The gate's life-cycle stage in one minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateStage {
    /// Alpha, off unless switched on (1.28).
    Alpha,
    /// Beta, on unless switched off (1.29 to 1.32).
    Beta,
    /// GA and locked to true: setting it to false is an error (1.33 to 1.36).
    GaLocked,
    /// Gone from the gate list: setting it at all is an error (1.37 on).
    Removed,
}

impl GateStage {
    /// The stage of `SidecarContainers` in `version`'s minor (see the module docs).
    pub fn of(version: KubeVersion) -> GateStage {
        match version.minor {
            ..=28 => GateStage::Alpha,
            29..=32 => GateStage::Beta,
            33..=36 => GateStage::GaLocked,
            _ => GateStage::Removed,
        }
    }

    fn default_enabled(self) -> bool {
        !matches!(self, GateStage::Alpha)
    }
}

/// What a cluster of some version does, given a gate setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum GateEffect {
    /// Sidecars work: init containers keep `restartPolicy: Always`.
    Enabled,
    /// The API server drops `restartPolicy` from init containers: a would-be sidecar is
    /// a regular init container that must exit before anything after it starts.
    Disabled,
    /// The components refuse the setting, so the cluster cannot come up.
    ClusterRefused { why: String },
}

/// The expected effect of `setting` on a cluster of `version`.
pub fn effect(version: KubeVersion, setting: GateSetting) -> GateEffect {
    let stage = GateStage::of(version);
    match (stage, setting) {
        (GateStage::Removed, GateSetting::On | GateSetting::Off) => GateEffect::ClusterRefused {
            why: format!(
                "{GATE_NAME} was removed from the gate list in 1.37; {version} rejects it as an unrecognized feature gate"
            ),
        },
        (GateStage::GaLocked, GateSetting::Off) => GateEffect::ClusterRefused {
            why: format!("{GATE_NAME} is GA and locked to true in {version}; it cannot be set to false"),
        },
        (_, GateSetting::On) => GateEffect::Enabled,
        (_, GateSetting::Off) => GateEffect::Disabled,
        (stage, GateSetting::Default) if stage.default_enabled() => GateEffect::Enabled,
        (_, GateSetting::Default) => GateEffect::Disabled,
    }
}

impl GateStage {
    /// The settings a matrix over every minor runs at this stage: each one that shows
    /// something of its own. Alpha: the default (off) and on; beta: on and off; GA and
    /// removed: the default, and off as an expected refusal.
    pub fn matrix_settings(self) -> &'static [GateSetting] {
        match self {
            GateStage::Alpha => &[GateSetting::Default, GateSetting::On],
            GateStage::Beta => &[GateSetting::On, GateSetting::Off],
            GateStage::GaLocked | GateStage::Removed => &[GateSetting::Default, GateSetting::Off],
        }
    }
}

/// The words with which a component refuses `setting` on `version`, as kubelet logs
/// them (`k8s.io/component-base/featuregate`): only a creation failure whose node log
/// has this line is the gate's doing; any other failure is a fault of the run.
pub fn refusal_words(version: KubeVersion, setting: GateSetting) -> Option<String> {
    match (GateStage::of(version), setting) {
        (GateStage::Removed, GateSetting::On | GateSetting::Off) => {
            Some(format!("unrecognized feature gate: {GATE_NAME}"))
        }
        (GateStage::GaLocked, GateSetting::Off) => Some(format!(
            "cannot set feature gate {GATE_NAME} to false, feature is locked to true"
        )),
        _ => None,
    }
}

/// What a server-side dry run shows of a cluster's API server: whether it keeps
/// `restartPolicy: Always` on an init container (sidecars enabled) or drops it. The
/// harness's `gate::probe` asks; this is its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateProbe {
    pub sidecars_enabled: bool,
    /// What the API server returned, in a sentence for reports.
    pub detail: String,
}

/// The gate setting that explains a probe on a cluster of `version`: the default where
/// the version's default agrees, else the explicit setting.
pub fn setting_for(version: KubeVersion, probe: &GateProbe) -> GateSetting {
    let default_enabled = effect(version, GateSetting::Default) == GateEffect::Enabled;
    match (probe.sidecars_enabled, default_enabled) {
        (true, true) | (false, false) => GateSetting::Default,
        (true, false) => GateSetting::On,
        (false, true) => GateSetting::Off,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matrix_runs_each_minor_at_the_settings_that_show_something_of_their_own() {
        let v = |minor| KubeVersion { minor, patch: 0 };
        let effects = |minor| -> Vec<GateEffect> {
            GateStage::of(v(minor))
                .matrix_settings()
                .iter()
                .map(|s| effect(v(minor), *s))
                .collect()
        };
        assert_eq!(effects(28), [GateEffect::Disabled, GateEffect::Enabled]);
        for minor in 29..=32 {
            assert_eq!(effects(minor), [GateEffect::Enabled, GateEffect::Disabled]);
        }
        for minor in 33..=37 {
            let e = effects(minor);
            assert_eq!(e[0], GateEffect::Enabled);
            assert!(
                matches!(e[1], GateEffect::ClusterRefused { .. }),
                "{minor}: {e:?}"
            );
        }
    }

    fn v(minor: u32) -> KubeVersion {
        KubeVersion { minor, patch: 0 }
    }

    #[test]
    fn follows_the_feature_gate_files() {
        assert_eq!(effect(v(28), GateSetting::Default), GateEffect::Disabled);
        assert_eq!(effect(v(28), GateSetting::On), GateEffect::Enabled);
        assert_eq!(effect(v(32), GateSetting::Default), GateEffect::Enabled);
        assert_eq!(effect(v(32), GateSetting::Off), GateEffect::Disabled);
        assert!(matches!(
            effect(v(33), GateSetting::Off),
            GateEffect::ClusterRefused { .. }
        ));
        assert_eq!(effect(v(36), GateSetting::On), GateEffect::Enabled);
        assert!(matches!(
            effect(v(37), GateSetting::On),
            GateEffect::ClusterRefused { .. }
        ));
        assert!(matches!(
            effect(v(37), GateSetting::Off),
            GateEffect::ClusterRefused { .. }
        ));
        assert_eq!(effect(v(37), GateSetting::Default), GateEffect::Enabled);
    }

    #[test]
    fn gate_settings_round_trip() {
        for s in [GateSetting::Default, GateSetting::On, GateSetting::Off] {
            assert_eq!(s.to_string().parse::<GateSetting>(), Ok(s));
        }
        assert!("maybe".parse::<GateSetting>().is_err());
    }

    #[test]
    fn a_probe_maps_to_the_setting_that_explains_it() {
        let v = |s: &str| s.parse::<KubeVersion>().unwrap();
        let probe = |on| GateProbe {
            sidecars_enabled: on,
            detail: String::new(),
        };
        assert_eq!(setting_for(v("1.32.2"), &probe(true)), GateSetting::Default);
        assert_eq!(setting_for(v("1.32.2"), &probe(false)), GateSetting::Off);
        assert_eq!(setting_for(v("1.28.0"), &probe(true)), GateSetting::On);
        assert_eq!(setting_for(v("1.28.0"), &probe(false)), GateSetting::Default);
        assert_eq!(setting_for(v("1.37.2"), &probe(true)), GateSetting::Default);
    }
}
