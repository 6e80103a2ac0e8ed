//! Applying manifests: multi-document YAML, server-side applied with strict field
//! validation (what `kubectl apply` does by default), any kind the cluster serves,
//! resolved through discovery, into the namespace of the test.
//!
//! A kind the cluster does not serve is still sent to the API server, at the path its
//! `apiVersion` implies, so that what the report records as a rejection is the API
//! server's own answer and not a guess of the client; an object it accepts there is
//! applied like any other.

use http::Request;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope};
use kube::{Client, ResourceExt};
pub use sidecar_conformance_model::manifest::{AppliedObject, Manifest};

use crate::error::ApplyError;

/// The field manager the harness applies as.
pub const FIELD_MANAGER: &str = "sidecar-conformance";

/// Label put on every namespace the harness creates.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "sidecar-conformance");

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
                // Discovery is the client's view; the API server's answer at the path the
                // apiVersion implies decides. A create it accepts is applied, whatever
                // discovery said (a kind served since discovery ran, say): recording it as
                // a rejection would report a defect the server just contradicted.
                let no_match = format!(
                    "no matches for kind \"{}\" in version \"{}\" (discovery)",
                    types.kind, types.api_version
                );
                match self
                    .raw_create(&types.api_version, &types.kind, namespace, &obj, dry_run)
                    .await
                {
                    DirectCreate::Accepted => {
                        applied.push(AppliedObject {
                            api_version: types.api_version.clone(),
                            kind: types.kind.clone(),
                            name,
                            namespace: Some(namespace.to_string()),
                        });
                        continue;
                    }
                    DirectCreate::Refused(answer) => {
                        return Err(ApplyError::Rejected {
                            file: path.to_string(),
                            object: format!("{} {name} ({})", types.kind, types.api_version),
                            message: format!(
                                "{no_match}; the API server answered a direct create with: {answer}"
                            ),
                        });
                    }
                    // No answer of the API server at all: nothing to record as its verdict.
                    DirectCreate::Failed(why) => {
                        return Err(ApplyError::Other {
                            file: path.to_string(),
                            detail: format!(
                                "{} {name}: {no_match}, and the direct create got no answer: {why}",
                                types.kind
                            ),
                        });
                    }
                }
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
    ) -> DirectCreate {
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
            Err(e) => return DirectCreate::Failed(format!("could not build the request: {e}")),
        };
        DirectCreate::of(self.client.request_text(request).await, &url)
    }
}

/// The API server's answer to a direct create.
#[derive(Debug, PartialEq, Eq)]
enum DirectCreate {
    /// Created (or, in a dry run, admitted).
    Accepted,
    /// Refused, with the status: `HTTP <code> <reason> at POST <url>: <message>`.
    Refused(String),
    /// No answer from the API server (transport, TLS, ...).
    Failed(String),
}

impl DirectCreate {
    fn of(result: Result<String, kube::Error>, url: &str) -> DirectCreate {
        match result {
            Ok(_) => DirectCreate::Accepted,
            Err(kube::Error::Api(status)) => DirectCreate::Refused(format!(
                "HTTP {} {} at POST {url}: {}",
                status.code, status.reason, status.message
            )),
            Err(e) => DirectCreate::Failed(format!("POST {url} failed: {e}")),
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
    fn a_direct_create_is_a_rejection_only_when_the_api_server_refuses_it() {
        let url = "/api/v1/namespaces/ns/jobs";
        assert_eq!(
            DirectCreate::of(Ok("{\"kind\":\"Job\"}".into()), url),
            DirectCreate::Accepted
        );
        let not_found =
            kube::core::Status::failure("the server could not find the requested resource", "NotFound")
                .with_code(404)
                .boxed();
        assert_eq!(
            DirectCreate::of(Err(kube::Error::Api(not_found)), url),
            DirectCreate::Refused(
                "HTTP 404 NotFound at POST /api/v1/namespaces/ns/jobs: the server could not find the requested resource"
                    .into()
            )
        );
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

    #[test]
    fn every_manifest_parses() {
        for m in crate::behaviour::manifests() {
            let objs = parse(m.path, m.text).unwrap_or_else(|e| panic!("{e}"));
            assert!(!objs.is_empty(), "{} has no objects", m.path);
        }
    }
}
