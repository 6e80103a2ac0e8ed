//! The page's behaviours on real kind clusters, one module per cluster. Each test
//! passes when the cluster does what the gate table (`crates/model/src/gate.rs`) says it
//! must: with the gate on, the page's claim holds; with it off (1.32), the would-be
//! sidecar is a regular init container that holds its pod up; on 1.37, where the gate
//! is gone, a cluster asked to switch it off must fail to come up, in the kubelet's
//! words for that.
//!
//! The clusters come from the `kind-clusters` setup script (`.config/nextest.toml`). Run
//! outside nextest, these tests fail with a message saying so; they are never skipped.

use sidecar_conformance::gate::GateSetting;

// Faults injected into a cluster of its own while a behaviour plays.
mod faults;
use sidecar_conformance_suites::{check_on_cluster, probe_on_cluster};

macro_rules! cluster_tests {
    ($module:ident, $version:literal, $gate:expr) => {
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn deployment_ready() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "deployment-ready").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn job_completes() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "job-completes").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn start_ordering() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "start-ordering").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sidecar_readiness() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "sidecar-readiness").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn init_sequencing() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "init-sequencing").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn restart_independence() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "restart-independence").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sidecar_backoff() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "sidecar-backoff").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn job_fails() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "job-fails").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn shared_namespaces() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "shared-namespaces").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn termination_order() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "termination-order").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn qos_class() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "qos-class").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn gate_probe() -> anyhow::Result<()> {
                probe_on_cluster($version, $gate).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn effective_requests() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "effective-requests").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn page_lint() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "page-lint").await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn job_example_as_written() -> anyhow::Result<()> {
                check_on_cluster($version, $gate, "job-example-as-written").await
            }
        }
    };
}

// Newest version kind v0.33.0 runs; the gate is gone, sidecars always on.
cluster_tests!(k1_37_2_default, "1.37.2", GateSetting::Default);
// Asking 1.37 to switch the removed gate off must make cluster creation fail, with the
// kubelet's own words for it; one test, since no behaviour can run there.
mod k1_37_2_off {
    #[test]
    fn cluster_refused() -> anyhow::Result<()> {
        sidecar_conformance_suites::refused_on_cluster("1.37.2", super::GateSetting::Off)
    }
}
// 1.32: the gate is beta and can still be switched either way.
cluster_tests!(k1_32_2_on, "1.32.2", GateSetting::On);
cluster_tests!(k1_32_2_off, "1.32.2", GateSetting::Off);
