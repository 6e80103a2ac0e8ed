#!/usr/bin/env bash
# The image of the local registry that serves workload images to the clusters:
# distribution (the code behind registry:2) built from its Go module, static, on
# scratch.
#
# usage: registry-image.sh IMAGE_TAG LABEL DISTRIBUTION_VERSION WORK_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"
tag=$1 label=$2 version=$3 work=$4
rm -rf "$work"; mkdir -p "$work"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOBIN=$work
go_run registry-image go install -trimpath -ldflags "-s -w" "github.com/distribution/distribution/v3/cmd/registry@$version"
cat >"$work/config.yml" <<'YAML'
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
YAML
cat >"$work/Dockerfile" <<DOCKERFILE
FROM scratch
COPY registry /bin/registry
COPY config.yml /etc/distribution/config.yml
LABEL $label
EXPOSE 5000
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/distribution/config.yml"]
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$work" >/dev/null
rm -rf "$work"
