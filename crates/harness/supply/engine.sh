#!/usr/bin/env bash
# Make a Docker engine answer on this machine.
#
# Called by the harness (`sidecar-conformance supply engine`) whenever `docker info`
# fails. It only ever acts on Debian as root: anywhere else it says what to install
# and stops. Idempotent: every step checks before it acts.
#
# The one host-specific fix: some VMs run without CAP_SYS_RESOURCE in their
# capability bounding set, so `docker run --privileged` (which kind needs for its
# nodes) fails with "unable to apply caps: operation not permitted". We then
# register a runc wrapper as Docker's default runtime that removes that one
# capability from every container spec before handing over to the real runc.
set -euo pipefail

log() { printf '[engine] %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then
  log "a Docker engine already answers"
  exit 0
fi

if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
  log "no Docker engine answers and this is not Debian as root: install Docker"
  log "(https://docs.docker.com/engine/install/) and start it, then run again."
  exit 3
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v jq >/dev/null 2>&1; then
  log "installing docker.io and jq from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io jq >/dev/null
fi

# Bit 24 of the bounding set is CAP_SYS_RESOURCE.
capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
if (( (16#$capbnd >> 24 & 1) == 0 )); then
  wrapper=/usr/local/libexec/sidecar-conformance/runc-without-sys-resource
  log "CAP_SYS_RESOURCE is missing from the bounding set ($capbnd): registering $wrapper"
  mkdir -p "$(dirname "$wrapper")"
  cat >"$wrapper" <<'WRAPPER'
#!/bin/bash
# Installed by sidecar-conformance: drop CAP_SYS_RESOURCE, which this host cannot grant,
# from the OCI spec of every container and exec, then run the real runc.
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --bundle|-b) spec="${args[$((i + 1))]}/config.json"; filter='.process.capabilities' ;;
    --bundle=*) spec="${args[$i]#--bundle=}/config.json"; filter='.process.capabilities' ;;
    --process|-p) spec="${args[$((i + 1))]}"; filter='.capabilities' ;;
    --process=*) spec="${args[$i]#--process=}"; filter='.capabilities' ;;
    *) continue ;;
  esac
  if [ -f "$spec" ]; then
    tmp=$(mktemp "$spec.XXXXXX")
    jq "if $filter then $filter |= with_entries(.value |= ((. // []) - [\"CAP_SYS_RESOURCE\"])) else . end" "$spec" >"$tmp" && mv "$tmp" "$spec"
  fi
done
exec /usr/bin/runc "$@"
WRAPPER
  chmod 0755 "$wrapper"
  mkdir -p /etc/docker
  current=/etc/docker/daemon.json
  [ -s "$current" ] || echo '{}' >"$current"
  jq --arg path "$wrapper" \
    '.runtimes["runc-without-sys-resource"] = {path: $path} | .["default-runtime"] = "runc-without-sys-resource"' \
    "$current" >"$current.new"
  mv "$current.new" "$current"
fi

# kind bind-mounts /lib/modules into its nodes.
mkdir -p /lib/modules

if ! pgrep -x dockerd >/dev/null; then
  log "starting dockerd (log: /var/log/dockerd.log)"
  nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
fi
# dockerd has no readiness notification we can wait on without systemd: poll its
# socket, with a deadline.
deadline=$((SECONDS + 60))
until docker info >/dev/null 2>&1; do
  if ((SECONDS > deadline)); then
    log "dockerd did not answer within 60 s; last lines of /var/log/dockerd.log:"
    tail -n 20 /var/log/dockerd.log >&2 || true
    exit 4
  fi
  sleep 0.5
done
log "Docker engine ready: $(docker version --format '{{.Server.Version}}')"
