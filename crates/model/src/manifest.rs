//! Manifests as data: a file of YAML documents compiled into the binary, and the
//! objects the API server accepted from it. Applying them is the harness's
//! (`apply::Applier`); the catalogue names them and judges read what was applied.

use serde::{Deserialize, Serialize};

/// A manifest file: its path in the repository (for messages) and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Manifest {
    pub path: &'static str,
    pub text: &'static str,
}

/// An object the API server accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedObject {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

impl std::fmt::Display for AppliedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}
