# Recipes for people who have `just` (cargo install just). Each wraps ./conformance,
# which works without it.

# Check the page's behaviours on a kind cluster (default: Kubernetes 1.37.2).
run *ARGS:
    ./conformance run {{ARGS}}

# The whole test suite: unit, replay, CLI and e2e tests on kind clusters.
test *ARGS:
    ./conformance test {{ARGS}}

# Tests that need no cluster.
unit *ARGS:
    ./conformance unit {{ARGS}}

# cargo fmt --check and clippy with warnings as errors.
lint:
    ./conformance lint

# Build (or find cached) node images for these versions, e.g. `just supply 1.32.2`.
supply *VERSIONS:
    ./conformance supply {{VERSIONS}}

# What is present on this machine and what is missing.
doctor:
    ./conformance doctor

# Delete leftover clusters and registries of earlier runs (`just prune --all`: kept ones too).
prune *ARGS:
    ./conformance prune {{ARGS}}

# The version x gate matrix the e2e tests use (clusters.txt), as one `run` with a report.
matrix:
    ./conformance run $(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' -e 's/^/--cluster /' clusters.txt)

# Paste the page lint of the recorded 1.37.2 run into the README (between its markers).
readme-lint:
    cargo run --quiet --package sidecar-conformance -- lint-page --observation suites/fixtures/observations/1.37.2-default/page-lint.json > target/page-lint.md || test $? -eq 1
    python3 -c "import re,sys; r=open('README.md').read(); t=open('target/page-lint.md').read(); open('README.md','w').write(re.sub(r'(<!-- page-lint:start -->\n).*?(<!-- page-lint:end -->)', lambda m: m.group(1)+t+m.group(2), r, flags=re.S))"
