#!/bin/sh
# Builds the Coppice Linux guest (kernel + busybox initramfs) from Debian packages into a cache OUTSIDE the repo
# and prints the directory holding vmlinuz and initrd.cpio. Idempotent: when the cache already holds this exact
# build (same kernel package version, same init, same busybox), it prints the directory and does nothing else.
# The kernel package is only downloaded and unpacked (apt-get download + dpkg-deb -x), never installed.
#
#   usage: build-guest.sh [CACHE_ROOT]     (default /var/cache/coppice/guest; env COPPICE_GUEST_CACHE also works)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel-lib.sh"
cache_root=${1:-${COPPICE_GUEST_CACHE:-/var/cache/coppice/guest}}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "build-guest: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
"$busybox" --list | grep -qx insmod || { echo "build-guest: $busybox lacks insmod; need busybox-static" >&2; exit 1; }
for tool in apt-get apt-cache dpkg-deb cpio sha256sum; do
  command -v "$tool" >/dev/null || { echo "build-guest: $tool missing" >&2; exit 1; }
done

# The kernel package behind the linux-image-amd64 metapackage.
kpkg=$(kernel_package)
[ -n "$kpkg" ] || { echo "build-guest: cannot resolve the kernel package behind linux-image-amd64" >&2; exit 1; }
kver=$(kernel_version "$kpkg")
modules="virtio_ring virtio virtio_mmio failover net_failover virtio_net"
key=$(printf '%s\n' "$kpkg" "$kver" "$modules" "$(sha256sum "$here/init" "$here/build-guest.sh" "$here/kernel-lib.sh" "$busybox")" | sha256sum | cut -c1-12)
out="$cache_root/$kpkg-$key"

if [ -f "$out/build.ok" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$cache_root"
work=$(mktemp -d "$cache_root/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
unpack_kernel "$kpkg" "$work" || { echo "build-guest: cannot unpack $kpkg" >&2; exit 1; }
release=${kpkg#linux-image-}

root="$work/root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/lib/modules" "$root/www"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
# shellcheck disable=SC2086 # the module list is split on purpose
copy_modules "$work/pkg" "$release" "$root/lib/modules" $modules || { echo "build-guest: cannot copy modules from $kpkg" >&2; exit 1; }
# Device nodes the init needs before devtmpfs is mounted (cpio as root keeps them).
(cd "$root" && find . | sort | cpio -o -H newc --quiet) > "$work/initrd.cpio"

stage="$work/out"
mkdir -p "$stage"
cp "$work/pkg/boot/vmlinuz-$release" "$stage/vmlinuz"
mv "$work/initrd.cpio" "$stage/initrd.cpio"
printf 'package=%s\nversion=%s\nmodules=%s\nkey=%s\n' "$kpkg" "$kver" "$modules" "$key" > "$stage/build.ok"
rm -rf "$out"
mv "$stage" "$out"
echo "$out"
