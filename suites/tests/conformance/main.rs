//! The replay tests: judges on observations recorded from real runs (no cluster). The
//! e2e tests are the other integration-test binary, `e2e` (suites/tests/e2e); see
//! `.config/nextest.toml` for how they are run. The command line's own tests are in
//! `crates/harness/tests/cli.rs`, next to the binary.

mod nextest_profiles;
mod replay;
mod workload;
