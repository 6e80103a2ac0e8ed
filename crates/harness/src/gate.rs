//! The `SidecarContainers` gate table is data of the model
//! ([`sidecar_conformance_model::gate`], re-exported here); this adds what needs a live
//! API server: [`probe`], the dry-run question whether it keeps sidecars.

pub use sidecar_conformance_model::gate::*;

/// Asks the API server, through a dry-run create of a pod in `namespace` (nothing is
/// stored), whether it keeps an init container's `restartPolicy: Always`.
pub async fn probe(client: &kube::Client, namespace: &str) -> Result<GateProbe, kube::Error> {
    use k8s_openapi::api::core::v1::Pod;
    let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), namespace);
    let pod: Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"generateName": "sc-gate-probe-"},
        "spec": {
            "initContainers": [{"name": "sidecar", "image": "alpine:latest", "restartPolicy": "Always"}],
            "containers": [{"name": "app", "image": "alpine:latest"}]
        }
    }))
    .expect("a valid pod");
    let params = kube::api::PostParams {
        dry_run: true,
        ..Default::default()
    };
    let stored = pods.create(&params, &pod).await?;
    let kept = stored
        .spec
        .and_then(|s| s.init_containers)
        .and_then(|ics| ics.into_iter().next())
        .and_then(|c| c.restart_policy);
    let sidecars_enabled = kept.as_deref() == Some("Always");
    Ok(GateProbe {
        sidecars_enabled,
        detail: format!(
            "a dry-run pod in {namespace} came back with the init container's restartPolicy {}",
            kept.map(|p| format!("{p:?}")).unwrap_or_else(|| "dropped".into())
        ),
    })
}
