//! The e2e tests: the page's behaviours on real kind clusters, generated as the
//! catalogue x `clusters.txt` (`sidecar_conformance_suites::e2e_cases`) and run with
//! libtest-mimic, one trial per (cluster, behaviour), named as nextest shows them:
//! `e2e::k1_37_2_default::deployment_ready`, `e2e::k1_37_2_default::gate_probe`,
//! `e2e::k1_37_2_off::cluster_refused`, `e2e::faults::…`.
//!
//! Each test passes when the cluster does what the gate table (`crates/model/src/gate.rs`)
//! says it must: with the gate on, the page's claim holds; with it off (1.32), the
//! would-be sidecar is a regular init container that holds its pod up; on 1.37, where
//! the gate is gone, a cluster asked to switch it off must fail to come up, in the
//! kubelet's words for that.
//!
//! The clusters come from the `kind-clusters` setup script (`.config/nextest.toml`,
//! profiles `e2e` and `ci`), which reads the same `clusters.txt`. Under `cargo test`,
//! where no setup script brings clusters up, every trial is listed as ignored and one
//! line says why and how to run them; under nextest (which the list phase shows by
//! `NEXTEST_RUN_ID`, nextest 0.9.138 and later) they run, and fail if their clusters
//! are missing: there they are never skipped.

use libtest_mimic::{Arguments, Failed, Trial};
use sidecar_conformance_suites::{
    E2eCase, check_examples_on_cluster, check_on_cluster, e2e_cases, probe_on_cluster, refused_on_cluster,
};

// Faults injected into a cluster of its own while a behaviour plays.
mod faults;
// The published node image through a registry mirror, as a user without root.
mod published;
// The run's registry: reachable where it must be, writable by nobody.
mod registry;
// The HTML report's timelines, rendered by a real Chromium.
mod drawing;
// `check` of the user's workloads: the examples on every cluster (generated with the
// catalogue's tests) and bad input (suites/src/lib.rs, `check_bad_input`).

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let cases = match e2e_cases() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::from(101);
        }
    };
    // `cargo test`: no setup script brings clusters up.
    let left_out = std::env::var_os("NEXTEST_RUN_ID").is_none()
        && std::env::var_os(sidecar_conformance::keeper::CLUSTERS_ENV).is_none();
    if left_out && !args.list {
        eprintln!(
            "note: the {} e2e tests need kind clusters, which `cargo test` does not bring up: \
             listed as ignored. Run them with `./conformance test` or, as root with Docker, \
             `cargo nextest run --profile e2e` (README, Tests).",
            cases.len()
        );
    }
    let trials = cases
        .into_iter()
        .map(|(name, case)| Trial::test(name, move || run(case)).with_ignored_flag(left_out))
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// Runs one case on a runtime of its own (nextest runs each test in a process of its own).
fn run(case: E2eCase) -> Result<(), Failed> {
    let threads = if case == E2eCase::Faults { 4 } else { 2 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("starting the async runtime: {e}")))?;
    let result = match case {
        E2eCase::Check {
            version,
            gate,
            behaviour,
        } => runtime.block_on(check_on_cluster(&version, gate, behaviour)),
        E2eCase::Probe { version, gate } => runtime.block_on(probe_on_cluster(&version, gate)),
        E2eCase::CheckExamples { version, gate } => {
            runtime.block_on(check_examples_on_cluster(&version, gate))
        }
        E2eCase::CheckBadInput => runtime.block_on(sidecar_conformance_suites::check_bad_input()),
        E2eCase::Refused { version, gate } => refused_on_cluster(&version, gate),
        E2eCase::Faults => runtime.block_on(faults::every_fault_of_the_cluster_is_an_error_naming_it()),
        E2eCase::Drawing => drawing::timelines_render_in_chromium_as_recorded(),
        E2eCase::Registry => registry::the_run_serves_on_the_kind_network_only_and_refuses_pushes(),
        E2eCase::Published => runtime
            .block_on(published::a_user_without_root_runs_the_published_path_through_a_registry_mirror()),
    };
    result.map_err(|e| Failed::from(format!("{e:?}")))
}
