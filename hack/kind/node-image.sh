#!/usr/bin/env bash
# Builds a kind node image offline, without any registry: a Debian bookworm root file system from
# Debian's packages (debootstrap; containerd 1.6, runc, iptables, the CNI plugins, systemd),
# kind's own base-image files (from the sigs.k8s.io/kind module), the kubelet/kubeadm/kubectl/crictl
# binaries the project builds, and the control-plane images (built by hack/kind/ with
# go-containerregistry) imported into the node's containerd at boot.
#   hack/kind/node-image.sh ROOTFS KIND_MODULE_DIR K8S_BIN_DIR KUBEADM CRICTL IMAGES_TAR TAG
# Needs DOCKER_HOST pointing at the engine that gets the image (docker import).
set -euo pipefail
R=$1 KIND=$2 BIN=$3 KUBEADM=$4 CRICTL=$5 IMAGES=$6 TAG=$7
F=$KIND/images/base/files
log() { printf '[kind-node-image] %s\n' "$*" >&2; }

if [[ ! -x $R/usr/bin/containerd ]]; then
  log "debootstrap bookworm into $R (Debian's packages, a few minutes)"
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,containerd,runc,iptables,nftables,conntrack,socat,ethtool,iproute2,containernetworking-plugins,ca-certificates,procps,kmod,mount,util-linux,libseccomp2,pigz,jq,curl \
    bookworm "$R" http://deb.debian.org/debian >&2
fi
S=$R.node; rm -rf "$S"; cp -a "$R" "$S"
# kind's base image (images/base/Dockerfile), with Debian's containerd 1.6 instead of its 2.x
install -m 0755 "$F"/usr/local/bin/* "$S/usr/local/bin/"
mkdir -p "$S/kind/bin" "$S/kind/manifests" "$S/kind/images" "$S/etc/containerd" "$S/opt/cni/bin" "$S/etc/kubernetes/manifests"
install -m 0644 "$F/kind/README.txt" "$S/kind/"
install -m 0755 "$F"/kind/bin/* "$S/kind/bin/"
install -m 0644 "$F/etc/crictl.yaml" "$S/etc/"
install -m 0644 "$F/etc/default/kubelet" "$S/etc/default/"
install -m 0644 "$F"/etc/sysctl.d/* "$S/etc/sysctl.d/"
install -m 0644 "$F"/etc/systemd/system/{containerd.service,kubelet.service,kubelet.slice,undo-mount-hacks.service} "$S/etc/systemd/system/"
mkdir -p "$S/etc/systemd/system/kubelet.service.d"
install -m 0644 "$F"/etc/systemd/system/kubelet.service.d/* "$S/etc/systemd/system/kubelet.service.d/"
# containerd 1.6: no fuse-overlayfs proxy plugin; the pause image kubeadm v1.37 names; and
# restrict_oom_score_adj, as the node has no CAP_SYS_RESOURCE (runc-caps.sh) to lower a score
# below its own: without it runc fails on the -998 of critical pods ("can't get final child's PID
# from pipe: EOF")
sed -e '/^\[proxy_plugins/,/^$/d' -e 's#registry.k8s.io/pause:3.10"#registry.k8s.io/pause:3.10.2"#' \
  -e 's#restrict_oom_score_adj = false#restrict_oom_score_adj = true#' \
  "$F/etc/containerd/config.toml" > "$S/etc/containerd/config.toml"
ln -sf /usr/bin/containerd "$S/usr/local/bin/containerd"
ln -sf /usr/bin/ctr "$S/usr/local/bin/ctr"
ln -sf /usr/bin/containerd-shim-runc-v2 "$S/usr/local/bin/containerd-shim-runc-v2"
chroot "$S" ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
  | jq 'del(.process.rlimits)' > "$S/etc/containerd/cri-base.json"
for p in host-local loopback ptp portmap bridge; do ln -sf /usr/lib/cni/$p "$S/opt/cni/bin/$p"; done
install -m 0755 "$BIN/kubelet" "$BIN/kubectl" "$KUBEADM" "$S/usr/bin/"
install -m 0755 "$CRICTL" "$S/usr/local/bin/crictl"
chroot "$S" /bin/sh -ec '
  find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete
  rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
    /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
    /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
  echo "ReadKMsg=no" >> /etc/systemd/journald.conf
  ln -sf /usr/lib/systemd/systemd /sbin/init
  systemctl enable kubelet.service containerd.service undo-mount-hacks.service
  systemctl mask systemd-binfmt.service
  # kernel-wide settings a privileged node would write to the host kernel (not per namespace)
  rm -f /usr/lib/sysctl.d/50-pid-max.conf /usr/lib/sysctl.d/99-protect-links.conf
'
kver=$("$BIN/kubelet" --version | awk '{print $2}')
echo "$kver" > "$S/kind/version"
# the images kubeadm and the cluster need, imported into containerd when it first starts
cp "$IMAGES" "$S/kind/images/images.tar"
cat > "$S/etc/systemd/system/kind-preload.service" <<'UNIT'
[Unit]
Description=Import /kind/images into containerd (no registry)
After=containerd.service
Requires=containerd.service
Before=kubelet.service
ConditionPathExists=!/var/lib/kind-preloaded
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -ec 'for t in /kind/images/*.tar; do ctr -n k8s.io images import "$t"; done; touch /var/lib/kind-preloaded'
[Install]
WantedBy=multi-user.target
UNIT
chroot "$S" systemctl enable kind-preload.service
for m in "$(dirname "$0")"/manifests/*.yaml; do [[ -e $m ]] && install -m 0644 "$m" "$S/kind/manifests/"; done
for u in "$(dirname "$0")"/units/*; do [[ -e $u ]] && install -m 0644 "$u" "$S/etc/systemd/system/" && chroot "$S" systemctl enable "$(basename "$u")"; done
for b in "$(dirname "$0")"/node-bin/*; do [[ -e $b ]] && install -m 0755 "$b" "$S/kind/bin/"; done
log "importing $S as $TAG"
tar -C "$S" -c . | docker import - "$TAG-rootfs" >&2
# docker import takes no STOPSIGNAL: a one-line build on top (legacy builder, FROM a local image)
printf 'FROM %s\nENV container=docker\nSTOPSIGNAL SIGRTMIN+3\nENTRYPOINT ["/kind/bin/ksk-entrypoint", "/usr/local/bin/entrypoint", "/sbin/init"]\n' "$TAG-rootfs" \
  | DOCKER_BUILDKIT=0 docker build -q -t "$TAG" - >&2
docker rmi "$TAG-rootfs" >/dev/null
rm -rf "$S"
