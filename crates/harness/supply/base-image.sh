#!/usr/bin/env bash
# kind's base image (systemd, containerd, runc, crictl, CNI plugins, kind's entrypoint
# and unit files), following kind's own images/base/Dockerfile of the pinned release,
# on the Debian root file system built by rootfs.sh.
#
# usage: base-image.sh IMAGE_TAG LABEL ROOTFS_IMAGE COMPONENTS_DIR KIND_MODULE_DIR WORK_DIR
#
# Differences from upstream, each forced by this environment:
# - the packages come from debootstrap (rootfs.sh), not apt inside a build;
# - no fuse-overlayfs, nfs-common, open-iscsi (rootless and storage e2e only);
# - no squash stage: Docker's legacy builder is all Debian's docker.io offers.
set -euo pipefail
tag=$1 label=$2 rootfs=$3 components=$4 kind_src=$5 work=$6
files=$kind_src/images/base/files
rm -rf "$work"; mkdir -p "$work/overlay"
o=$work/overlay

# Lay the files out as the upstream Dockerfile's COPY --chmod lines would.
mkdir -p "$o/usr/local/bin" "$o/usr/local/sbin" "$o/kind/bin" "$o/LICENSES" "$o/etc" "$o/opt/cni/bin" "$o/etc/kubernetes/manifests"
install -m 0755 "$files"/usr/local/bin/* "$o/usr/local/bin/"
cp -r "$files/kind/." "$o/kind/"
cp -r "$files/etc/." "$o/etc/"
cp "$files"/LICENSES/* "$o/LICENSES/"
find "$o/kind" "$o/etc" "$o/LICENSES" -type f -exec chmod 0644 {} +
find "$o/kind" "$o/etc" -type d -exec chmod 0755 {} +
chmod 0755 "$o"/kind/bin/*
install -m 0755 "$components"/bin/{containerd,ctr,containerd-shim-runc-v2,crictl} "$o/usr/local/bin/"
install -m 0755 "$components/bin/runc" "$o/usr/local/sbin/runc"
install -m 0755 "$components"/cni/* "$o/opt/cni/bin/"

cat >"$work/Dockerfile" <<DOCKERFILE
FROM $rootfs
COPY overlay/ /
RUN find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete \\
    && rm -f /lib/systemd/system/multi-user.target.wants/* \\
    && rm -f /etc/systemd/system/*.wants/* \\
    && rm -f /lib/systemd/system/local-fs.target.wants/* \\
    && rm -f /lib/systemd/system/sockets.target.wants/*udev* \\
    && rm -f /lib/systemd/system/sockets.target.wants/*initctl* \\
    && rm -f /lib/systemd/system/basic.target.wants/* \\
    && echo "ReadKMsg=no" >> /etc/systemd/journald.conf \\
    && ln -sf /usr/lib/systemd/systemd /sbin/init \\
    && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \\
    && systemctl mask systemd-binfmt.service \\
    && ctr oci spec \\
        | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \\
        | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json \\
    && containerd --version && runc --version && crictl --version
ENV container=docker
STOPSIGNAL SIGRTMIN+3
LABEL $label
ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$work" >/dev/null
rm -rf "$work"
