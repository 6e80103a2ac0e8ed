#!/usr/bin/env bash
# The image of the local registry that serves workload images to the clusters:
# distribution (the code behind registry:2) built from its Go module, static, on
# scratch.
#
# usage: registry-image.sh IMAGE_TAG LABEL DISTRIBUTION_VERSION WORK_DIR
set -euo pipefail
tag=$1 label=$2 version=$3 work=$4
rm -rf "$work"; mkdir -p "$work"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOBIN=$work
if ! go install -trimpath -ldflags "-s -w" "github.com/distribution/distribution/v3/cmd/registry@$version" 2>"$work/build.log"; then
  cat "$work/build.log" >&2
  if grep -qE '403|not available' "$work/build.log"; then
    echo "[registry-image] the Go module proxy refused distribution $version; it lists: $(go list -m -versions github.com/distribution/distribution/v3)" >&2
    exit 5
  fi
  exit 1
fi
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
