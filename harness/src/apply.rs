//! Applying manifests: multi-document YAML, server-side applied with strict field
//! validation (what `kubectl apply` does by default), any kind the cluster serves,
//! resolved through discovery, into the namespace of the test.
//!
//! A kind the cluster does not serve is still sent to the API server, at the path its
//! `apiVersion` implies, so that what the report records as a rejection is the API
//! server's own answer and not a guess of the client.

use http::Request;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use kube::{Client, ResourceExt};
use serde::{Deserialize, Serialize};

use crate::error::ApplyError;

/// The field manager the harness applies as.
pub const FIELD_MANAGER: &str = "sidecar-conformance";

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

/// Parses the documents of a manifest into objects, naming the file and document on error.
pub fn parse(path: &str, text: &str) -> Result<Vec<DynamicObject>, ApplyError> {
    let values: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(text).map_err(|e| ApplyError::Parse {
            file: path.to_string(),
            index: 0,
            detail: e.to_string(),
        })?;
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let obj: DynamicObject = serde_json::from_value(v).map_err(|e| ApplyError::Parse {
                file: path.to_string(),
                index: i + 1,
                detail: e.to_string(),
            })?;
            if obj.types.is_none() {
                return Err(ApplyError::Parse {
                    file: path.to_string(),
                    index: i + 1,
                    detail: "no apiVersion/kind".into(),
                });
            }
            if obj.metadata.name.is_none() {
                return Err(ApplyError::Parse {
                    file: path.to_string(),
                    index: i + 1,
                    detail: "no metadata.name".into(),
                });
            }
            Ok(obj)
        })
        .collect()
}

/// Applies manifests to one cluster.
#[derive(Clone)]
pub struct Applier {
    client: Client,
    discovery: std::sync::Arc<Discovery>,
}

impl std::fmt::Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Applier")
    }
}

impl Applier {
    /// Runs discovery once for the cluster.
    pub async fn new(client: Client) -> Result<Applier, ApplyError> {
        let discovery = Discovery::new(client.clone())
            .run()
            .await
            .map_err(|e| ApplyError::Other {
                file: "(discovery)".into(),
                detail: format!("API discovery failed: {e}"),
            })?;
        Ok(Applier {
            client,
            discovery: std::sync::Arc::new(discovery),
        })
    }

    /// Applies every document of `text` into `namespace`, in order; stops at the first
    /// object the API server refuses.
    pub async fn apply_text(
        &self,
        path: &str,
        text: &str,
        namespace: &str,
    ) -> Result<Vec<AppliedObject>, ApplyError> {
        self.apply_inner(path, text, namespace, false).await
    }

    /// As [`Applier::apply_text`], as a server-side dry run: the API server validates
    /// and admits each object (strict field validation) but stores nothing.
    pub async fn dry_run_text(
        &self,
        path: &str,
        text: &str,
        namespace: &str,
    ) -> Result<Vec<AppliedObject>, ApplyError> {
        self.apply_inner(path, text, namespace, true).await
    }

    async fn apply_inner(
        &self,
        path: &str,
        text: &str,
        namespace: &str,
        dry_run: bool,
    ) -> Result<Vec<AppliedObject>, ApplyError> {
        let objects = parse(path, text)?;
        let mut params = PatchParams::apply(FIELD_MANAGER).force().validation_strict();
        params.dry_run = dry_run;
        let mut applied = Vec::new();
        for mut obj in objects {
            let types = obj.types.clone().expect("checked by parse");
            let name = obj.name_any();
            let gvk = GroupVersionKind::try_from(&types).map_err(|e| ApplyError::Parse {
                file: path.to_string(),
                index: applied.len() + 1,
                detail: e.to_string(),
            })?;
            let Some((resource, caps)) = self.discovery.resolve_gvk(&gvk) else {
                let message = self
                    .raw_create(&types.api_version, &types.kind, namespace, &obj, dry_run)
                    .await;
                return Err(ApplyError::Rejected {
                    file: path.to_string(),
                    object: format!("{} {name} ({})", types.kind, types.api_version),
                    message: format!(
                        "no matches for kind \"{}\" in version \"{}\" (discovery); the API server answered a direct create with: {message}",
                        types.kind, types.api_version
                    ),
                });
            };
            let api: Api<DynamicObject> = match caps.scope {
                Scope::Cluster => Api::all_with(self.client.clone(), &resource),
                Scope::Namespaced => {
                    obj.metadata.namespace = Some(namespace.to_string());
                    Api::namespaced_with(self.client.clone(), namespace, &resource)
                }
            };
            let body = serde_json::to_value(&obj).map_err(|e| ApplyError::Other {
                file: path.to_string(),
                detail: e.to_string(),
            })?;
            match api.patch(&name, &params, &Patch::Apply(body)).await {
                Ok(_) => applied.push(AppliedObject {
                    api_version: types.api_version.clone(),
                    kind: types.kind.clone(),
                    name,
                    namespace: obj.metadata.namespace.clone(),
                }),
                // 4xx: invalid, forbidden, unknown. Server-side apply reports fields its
                // schema does not declare as a 500 "failed to create typed patch object".
                Err(kube::Error::Api(status))
                    if (400..500).contains(&status.code)
                        || status.message.contains("failed to create typed patch object") =>
                {
                    return Err(ApplyError::Rejected {
                        file: path.to_string(),
                        object: format!("{} {name}", types.kind),
                        message: format!("{} ({}, HTTP {})", status.message, status.reason, status.code),
                    });
                }
                Err(e) => {
                    return Err(ApplyError::Other {
                        file: path.to_string(),
                        detail: format!("applying {} {name}: {e}", types.kind),
                    });
                }
            }
        }
        Ok(applied)
    }

    /// POSTs an object of a kind discovery does not know to the path its apiVersion
    /// implies (`/api/v1/namespaces/NS/jobs` for `v1`/`Job`) and returns the answer.
    async fn raw_create(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        obj: &DynamicObject,
        dry_run: bool,
    ) -> String {
        let plural = format!("{}s", kind.to_lowercase());
        let prefix = if api_version.contains('/') {
            format!("/apis/{api_version}")
        } else {
            format!("/api/{api_version}")
        };
        let url = format!(
            "{prefix}/namespaces/{namespace}/{plural}{}",
            if dry_run { "?dryRun=All" } else { "" }
        );
        let body = serde_json::to_vec(obj).unwrap_or_default();
        let request = match Request::post(&url)
            .header("content-type", "application/json")
            .body(body)
        {
            Ok(r) => r,
            Err(e) => return format!("(could not build the request: {e})"),
        };
        match self.client.request_text(request).await {
            Ok(text) => format!("unexpectedly accepted at {url}: {text}"),
            Err(kube::Error::Api(status)) => {
                format!(
                    "HTTP {} {} at POST {url}: {}",
                    status.code, status.reason, status.message
                )
            }
            Err(e) => format!("POST {url} failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names_the_file_and_document() {
        let err = parse(
            "m.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: Pod\n",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("m.yaml") && msg.contains("document 2"), "{msg}");
        let err = parse("bad.yaml", "a: [\n").unwrap_err();
        assert!(err.to_string().contains("bad.yaml"));
    }

    #[test]
    fn parse_reads_every_document() {
        let objs = parse(
            "m.yaml",
            "---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\n",
        )
        .unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[1].types.as_ref().unwrap().kind, "Deployment");
    }
}
