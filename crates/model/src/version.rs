//! Kubernetes versions: parsing, and which ones the pinned kind release can run.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kind release the harness pins. Its kubeadm templates go up to this minor.
pub const KIND_VERSION: &str = "v0.33.0";

/// Newest Kubernetes minor that [`KIND_VERSION`] knows how to bootstrap
/// (kubeadm `v1beta4` configs from 1.36 on; 1.37 is its default node image).
pub const NEWEST_MINOR: u32 = 37;

/// Oldest minor the harness accepts: `SidecarContainers` first appeared (alpha) in 1.28;
/// before it there is nothing for the harness to check.
pub const OLDEST_MINOR: u32 = 28;

/// The newest version built and run on this project's machines: the default of `run`.
pub const DEFAULT_VERSION: KubeVersion = KubeVersion { minor: 37, patch: 2 };

/// The version on which the gate can still be switched off, built and run here.
pub const GATE_SWITCHABLE_VERSION: KubeVersion = KubeVersion { minor: 32, patch: 2 };

/// A Kubernetes release `1.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KubeVersion {
    pub minor: u32,
    pub patch: u32,
}

/// Why a version string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VersionError {
    #[error("malformed Kubernetes version {0:?}: expected 1.MINOR.PATCH, e.g. 1.32.2")]
    Malformed(String),
    #[error("Kubernetes {0} is older than 1.{OLDEST_MINOR}: the SidecarContainers feature did not exist yet")]
    TooOld(KubeVersion),
    #[error("Kubernetes {0} is newer than kind {KIND_VERSION} can run (newest: 1.{NEWEST_MINOR}.x)")]
    TooNew(KubeVersion),
}

impl KubeVersion {
    /// Parses `1.32.2` or `v1.32.2` and checks that the pinned kind can run it.
    pub fn parse_supported(s: &str) -> Result<Self, VersionError> {
        let v: KubeVersion = s.parse()?;
        if v.minor < OLDEST_MINOR {
            return Err(VersionError::TooOld(v));
        }
        if v.minor > NEWEST_MINOR {
            return Err(VersionError::TooNew(v));
        }
        Ok(v)
    }

    /// `v1.32.2`, the form of Git tags, Go module versions and image tags.
    pub fn tag(&self) -> String {
        format!("v{self}")
    }

    /// `1-32-2`, for names that allow neither dots nor a leading `v` (cluster names).
    pub fn slug(&self) -> String {
        format!("1-{}-{}", self.minor, self.patch)
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1.{}.{}", self.minor, self.patch)
    }
}

impl FromStr for KubeVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || VersionError::Malformed(s.to_string());
        let trimmed = s.strip_prefix('v').unwrap_or(s);
        let mut parts = trimmed.split('.');
        let (Some(major), Some(minor), Some(patch), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let number = |p: &str| -> Result<u32, VersionError> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || (p.len() > 1 && p.starts_with('0')) {
                return Err(malformed());
            }
            p.parse().map_err(|_| malformed())
        };
        if number(major)? != 1 {
            return Err(malformed());
        }
        Ok(KubeVersion {
            minor: number(minor)?,
            patch: number(patch)?,
        })
    }
}

impl TryFrom<String> for KubeVersion {
    type Error = VersionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<KubeVersion> for String {
    fn from(v: KubeVersion) -> String {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_v() {
        assert_eq!("1.32.2".parse(), Ok(KubeVersion { minor: 32, patch: 2 }));
        assert_eq!("v1.37.2".parse(), Ok(KubeVersion { minor: 37, patch: 2 }));
        assert_eq!(KubeVersion { minor: 32, patch: 2 }.tag(), "v1.32.2");
        assert_eq!(KubeVersion { minor: 32, patch: 2 }.slug(), "1-32-2");
    }

    #[test]
    fn refuses_malformed_versions() {
        for bad in [
            "",
            "1.32",
            "1.32.2.1",
            "2.1.0",
            "1.x.2",
            "1.32.-1",
            "1.032.2",
            "latest",
            "1.32.2-rc.0",
        ] {
            assert!(
                matches!(bad.parse::<KubeVersion>(), Err(VersionError::Malformed(_))),
                "{bad:?} should be malformed"
            );
        }
    }

    #[test]
    fn refuses_versions_kind_cannot_run() {
        assert!(matches!(
            KubeVersion::parse_supported("1.38.0"),
            Err(VersionError::TooNew(_))
        ));
        assert!(matches!(
            KubeVersion::parse_supported("1.27.16"),
            Err(VersionError::TooOld(_))
        ));
        assert!(KubeVersion::parse_supported("1.28.0").is_ok());
    }
}
