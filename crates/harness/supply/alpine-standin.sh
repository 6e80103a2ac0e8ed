#!/usr/bin/env bash
# The stand-in for docker.io/library/alpine:latest, which cannot be pulled here:
# Debian's statically linked busybox on scratch, with every applet linked into /bin.
# It runs the page's commands (sh, tail -F, echo, sleep). Reports name it as the
# stand-in; it is pushed to the local registry as library/alpine:latest.
#
# usage: alpine-standin.sh IMAGE_TAG LABEL WORK_DIR
set -euo pipefail
tag=$1 label=$2 work=$3
rm -rf "$work"; mkdir -p "$work/deb"
(cd "$work/deb" && apt-get download -q busybox-static >/dev/null)
dpkg-deb -x "$work"/deb/busybox-static_*.deb "$work/deb/root"
cp "$work/deb/root/bin/busybox" "$work/busybox"
version=$(dpkg-deb -f "$work"/deb/busybox-static_*.deb Version)
cat >"$work/Dockerfile" <<DOCKERFILE
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /tmp /opt /etc /root && echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd"]
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL $label
LABEL io.sidecar-conformance.stands-in-for="docker.io/library/alpine:latest"
LABEL io.sidecar-conformance.content="Debian busybox-static $version"
CMD ["/bin/sh"]
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$work" >/dev/null
rm -rf "$work"
