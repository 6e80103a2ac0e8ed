//! Nothing of a run is reachable that need not be: the keeper's registry (the one the
//! e2e clusters pull from) publishes no port on the host, serves reads on the kind
//! network and refuses writes; the container it was filled through is gone; and every
//! port the run's containers publish on the host is bound to 127.0.0.1.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, ensure};
use sidecar_conformance::keeper::ClustersFile;
use sidecar_conformance::registry::{NAME_PREFIX, OWNER_LABEL};
use sidecar_conformance_suites::docker;

pub fn the_run_serves_on_the_kind_network_only_and_refuses_pushes() -> anyhow::Result<()> {
    let file = ClustersFile::from_env()?;
    let name = format!("{NAME_PREFIX}{}", file.run_id);
    if file.stand_ins.is_empty() {
        // Docker Hub answered: the nodes pull the workload images themselves and the
        // run has no registry at all.
        ensure!(
            !file.upstream_images.is_empty(),
            "the run names neither stand-ins nor upstream images"
        );
        let any = docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("name={name}"),
            "--format",
            "{{.Names}}",
        ])?;
        ensure!(
            any.trim().is_empty(),
            "a run without stand-ins has a registry: {any}"
        );
        return only_loopback();
    }

    let published = docker(&["inspect", "--format", "{{json .NetworkSettings.Ports}}", &name])?;
    let ports: serde_json::Value = serde_json::from_str(published.trim())?;
    let bound: Vec<String> = ports
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, b)| !b.is_null())
        .map(|(p, b)| format!("{p} -> {b}"))
        .collect();
    ensure!(bound.is_empty(), "{name} publishes ports on the host: {bound:?}");

    let ip = docker(&[
        "inspect",
        "--format",
        "{{(index .NetworkSettings.Networks \"kind\").IPAddress}}",
        &name,
    ])?;
    let addr = format!("{}:5000", ip.trim());
    let served = file.stand_ins.first().context("the run serves no stand-in")?;
    let (repo, tag) = served.served_as.rsplit_once(':').context("stand-in tag")?;
    let read = http(&addr, "GET", &format!("/v2/{repo}/manifests/{tag}"))?;
    ensure!(
        read.starts_with("HTTP/1.1 200"),
        "reading {repo}:{tag} from {addr}: {read}"
    );
    for (method, path) in [
        ("POST", format!("/v2/{repo}/blobs/uploads/")),
        ("PUT", format!("/v2/{repo}/manifests/{tag}")),
        ("DELETE", format!("/v2/{repo}/manifests/{tag}")),
    ] {
        let answer = http(&addr, method, &path)?;
        ensure!(
            !answer.starts_with("HTTP/1.1 2"),
            "{method} {path} on {addr} was accepted: {answer}"
        );
    }

    let loading = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("name={name}-loading"),
        "--format",
        "{{.Names}}",
    ])?;
    ensure!(
        loading.trim().is_empty(),
        "the loading registry is still there: {loading}"
    );

    only_loopback()
}

/// Every port the harness's containers publish on the host is bound to 127.0.0.1.
fn only_loopback() -> anyhow::Result<()> {
    // Every container of the harness on this host: registries (by owner label) and kind
    // nodes of its clusters (by name prefix).
    let registries = docker(&[
        "ps",
        "--filter",
        &format!("label={OWNER_LABEL}"),
        "--format",
        "{{.Names}}",
    ])?;
    let nodes = docker(&[
        "ps",
        "--filter",
        "label=io.x-k8s.kind.cluster",
        "--format",
        "{{.Names}}",
    ])?;
    let ours: Vec<&str> = registries
        .lines()
        .chain(nodes.lines().filter(|n| n.starts_with("sc-")))
        .collect();
    ensure!(
        ours.len() > 1,
        "the run's registry and nodes are not running: {ours:?}"
    );
    for c in ours {
        let ports = docker(&["inspect", "--format", "{{json .NetworkSettings.Ports}}", c])?;
        let ports: serde_json::Value = serde_json::from_str(ports.trim())?;
        for (port, bindings) in ports.as_object().into_iter().flatten() {
            for b in bindings.as_array().into_iter().flatten() {
                let host_ip = b["HostIp"].as_str().unwrap_or_default();
                ensure!(
                    host_ip == "127.0.0.1",
                    "{c} publishes {port} on {host_ip:?}, beyond loopback"
                );
            }
        }
    }
    Ok(())
}

/// One HTTP/1.1 request with an empty body; the status line and headers of the answer.
fn http(addr: &str, method: &str, path: &str) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    Ok(answer.split("\r\n\r\n").next().unwrap_or_default().to_string())
}
