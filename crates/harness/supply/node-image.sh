#!/usr/bin/env bash
# A kind node image for one Kubernetes version, assembled the way kind's
# pkg/build/nodeimage does it, from images built here instead of pulled.
#
# usage: node-image.sh vX.Y.Z IMAGE_TAG LABEL BASE_IMAGE ROOTFS_IMAGE K8S_BIN_DIR \
#                      ETCD_DIR COREDNS_DIR K8S_MODULE_DIR WORK_DIR
#
# 1. build the images `kubeadm config images list` names (kube-apiserver,
#    kube-controller-manager, kube-scheduler, kube-proxy, etcd, CoreDNS, pause), tagged
#    exactly as kubeadm expects, plus the pause tag of the base image's containerd
#    config (kind uses that sandbox image in place of kubeadm's);
# 2. start the base image with a shell, copy kubelet/kubeadm/kubectl in, write
#    /kind/version and the default CNI manifest;
# 3. import the images into the node's containerd (pinned, as kind does);
# 4. commit with kind's entrypoint.
#
# Pod network: kindnetd's module is not served by the Go proxy here, so the node image
# carries a static ptp + host-local CNI config for kind's default pod subnet
# (10.244.0.0/16). That is enough for single-node clusters, which is what the harness
# creates; the default CNI manifest kind applies only records that config.
set -euo pipefail
version=$1 tag=$2 label=$3 base=$4 rootfs=$5 bin=$6 etcd=$7 coredns=$8 k8s_src=$9 work=${10}
log() { printf '[node-image %s] %s\n' "$version" "$*" >&2; }
rm -rf "$work"; mkdir -p "$work"
export DOCKER_BUILDKIT=0

mapfile -t required < <("$bin/kubeadm" config images list --kubernetes-version "$version" 2>/dev/null)
[ ${#required[@]} -gt 0 ] || { log "kubeadm listed no images"; exit 1; }
sandbox=$(docker run --rm --entrypoint cat "$base" /etc/containerd/config.toml | sed -n 's/^[[:space:]]*sandbox_image = "\(.*\)"/\1/p')
[ -n "$sandbox" ] || { log "no sandbox_image in the base image's containerd config"; exit 1; }

build_image() { # tag, context dir; Dockerfile already in the context
  docker build -q -t "$1" "$2" >/dev/null || { log "docker build of $1 failed"; exit 1; }
}
images=()
for image in "${required[@]}"; do
  name=${image##*/}; name=${name%%:*}; image_tag=${image##*:}
  ctx=$work/images/$name; mkdir -p "$ctx"
  case $name in
    kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy)
      cp "$bin/$name" "$ctx/"
      printf 'FROM %s\nCOPY %s /usr/local/bin/%s\nLABEL %s\n' "$rootfs" "$name" "$name" "$label" >"$ctx/Dockerfile"
      build_image "$image" "$ctx"
      ;;
    etcd)
      [ "$("$etcd/etcd" --version | sed -n 's/^etcd Version: //p')" = "${image_tag%-*}" ] \
        || { log "etcd binary in $etcd is not ${image_tag%-*}"; exit 1; }
      cp "$etcd/etcd" "$ctx/"
      printf 'FROM %s\nCOPY etcd /usr/local/bin/etcd\nLABEL %s\n' "$rootfs" "$label" >"$ctx/Dockerfile"
      build_image "$image" "$ctx"
      ;;
    coredns)
      cp "$coredns/coredns" "$ctx/"
      printf 'FROM scratch\nCOPY coredns /coredns\nLABEL %s\nENTRYPOINT ["/coredns"]\n' "$label" >"$ctx/Dockerfile"
      build_image "$image" "$ctx"
      ;;
    pause)
      gcc -Os -static -DVERSION="$image_tag" -o "$ctx/pause" "$k8s_src/build/pause/linux/pause.c"
      printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nLABEL %s\nENTRYPOINT ["/pause"]\n' "$label" >"$ctx/Dockerfile"
      build_image "$image" "$ctx"
      docker tag "$image" "$sandbox"
      images+=("$sandbox")
      ;;
    *) log "kubeadm asks for an image this build does not know: $image"; exit 1 ;;
  esac
  images+=("$image")
  log "image $image"
done

container=sidecar-conformance-build-$$-$RANDOM
cleanup() { docker rm -f -v "$container" >/dev/null 2>&1 || true; }
trap cleanup EXIT
docker run -d --privileged --security-opt seccomp=unconfined --entrypoint=sleep \
  --name "$container" --label io.sidecar-conformance.build=true "$base" infinity >/dev/null
in_node() { docker exec -i "$container" "$@"; }
for b in kubelet kubeadm kubectl; do
  docker cp "$bin/$b" "$container:/usr/bin/$b"
  in_node chown root:root "/usr/bin/$b"
done
printf '%s' "$version" | in_node cp /dev/stdin /kind/version
conflist='{
  "cniVersion": "1.0.0",
  "name": "sidecar-conformance",
  "plugins": [
    {"type": "ptp", "ipMasq": true, "mtu": 1500,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/16"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}'
in_node mkdir -p /etc/cni/net.d /kind/manifests
printf '%s\n' "$conflist" | in_node cp /dev/stdin /etc/cni/net.d/10-sidecar-conformance.conflist
{
  echo '# Written by sidecar-conformance: this node image has a static CNI config'
  echo '# (/etc/cni/net.d/10-sidecar-conformance.conflist) instead of kindnetd.'
  echo 'apiVersion: v1'
  echo 'kind: ConfigMap'
  echo 'metadata: {name: sidecar-conformance-cni, namespace: kube-system}'
  echo 'data:'
  echo '  10-sidecar-conformance.conflist: |'
  printf '%s\n' "$conflist" | sed 's/^/    /'
} | in_node cp /dev/stdin /kind/manifests/default-cni.yaml

log "importing ${#images[@]} images into the node's containerd"
in_node bash -c 'nohup containerd >/var/log/containerd-build.log 2>&1 &'
in_node bash -c 'for i in $(seq 1 100); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 0.1; done; echo "containerd did not start" >&2; cat /var/log/containerd-build.log >&2; exit 1'
docker save "${images[@]}" | in_node ctr --namespace=k8s.io images import \
  --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - >/dev/null
imported=$(in_node ctr --namespace=k8s.io images list -q)
for image in "${images[@]}"; do
  grep -qx "$image" <<<"$imported" || { log "$image missing after import"; exit 1; }
done
in_node pkill containerd
# Wait until containerd has exited (flushed its content store). PID 1 of the build
# container is `sleep`, which reaps nothing: an exited containerd stays as a zombie.
in_node bash -c 'for i in $(seq 1 300); do ps -C containerd -o stat= | grep -qv "^Z" || exit 0; sleep 0.1; done; echo "containerd did not stop" >&2; exit 1'
docker commit \
  --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
  --change "LABEL $label" \
  "$container" "$tag" >/dev/null
log "committed $tag"
rm -rf "$work"
