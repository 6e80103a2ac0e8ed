//! The one integration-test binary of the project (as cargo-nextest recommends: one
//! binary, many modules). See `.config/nextest.toml` for how the modules are run. The
//! command line's own tests are in `crates/harness/tests/cli.rs`, next to the binary.

mod e2e;
mod replay;
