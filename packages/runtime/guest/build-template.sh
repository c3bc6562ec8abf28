#!/bin/bash
# Builds a Coppice Debian template (`base` or `code-interpreter-v1`) from Debian packages only, into a cache OUTSIDE
# the repo, and prints the directory holding:
#   vmlinuz      Debian's kernel (the package linux-image-amd64 points at; downloaded and unpacked, not installed)
#   initrd.cpio  busybox initramfs: loads virtio/ext4 modules, mounts /dev/vda, switch_roots into the image
#   rootfs.ext4  the read-only root image every sandbox of the template shares (a sparse file with >= 1 GiB free;
#                each VM writes to its own qcow2 layer over it, so the free space costs nothing until written)
#   build.ok     the inputs the build came from
# Idempotent: the directory name carries a hash of every input (package lists, kernel package version, init
# scripts, clone helper, code interpreter, envd bundle, this script), so nothing is rebuilt until one changes. The
# mmdebstrap tarball is cached apart, keyed by the package lists only, so changing a script does not refetch Debian.
#
#   usage: build-template.sh NAME [CACHE_ROOT]   (default /var/cache/coppice/templates; env COPPICE_TEMPLATE_CACHE)
#   env COPPICE_ENVD_BUNDLE: the envd agent bundle to install (default packages/envd/dist/envd.mjs; skipped if absent)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel-lib.sh"
name=${1:-}
case "$name" in
  base) lists=("$here/templates/base.packages") ;;
  code-interpreter-v1) lists=("$here/templates/base.packages" "$here/templates/code-interpreter-v1.packages") ;;
  *) echo "build-template: unknown template '${name}' (known: base, code-interpreter-v1)" >&2; exit 2 ;;
esac
cache_root=${2:-${COPPICE_TEMPLATE_CACHE:-/var/cache/coppice/templates}}
suite=bookworm
busybox=/bin/busybox
envd_bundle=${COPPICE_ENVD_BUNDLE:-$here/../../envd/dist/envd.mjs}
[ -x "$busybox" ] && "$busybox" --list | grep -x insmod >/dev/null || { echo "build-template: $busybox missing or lacks insmod (apt-get install busybox-static)" >&2; exit 1; }
for tool in mmdebstrap apt-get apt-cache dpkg-deb cpio sha256sum mkfs.ext4 gcc tar; do
  command -v "$tool" >/dev/null || { echo "build-template: $tool missing (scripts/setup.sh installs it)" >&2; exit 1; }
done

packages=$(cat "${lists[@]}" | sed -e 's/#.*//' -e 's/[[:space:]]//g' | grep -v '^$' | sort -u | paste -sd, -)
# Only what the lists name and its dependencies (mmdebstrap's default too; said here so the image does not depend
# on it), and no docs, man pages or translations: nothing in a sandbox reads them. code-interpreter-v1 is still
# large: bookworm's python3-matplotlib needs python3-fonttools, which depends on sympy and, through scipy and
# pythran, on g++ and the boost headers.
mm_opts=(--aptopt='APT::Install-Recommends "false"' --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*')
# /etc/hostname is the kernel's name itself (a link to /proc/sys/kernel/hostname), so a clone's /init sets one value
# and writes no file; libnss-myhostname resolves that name, so /etc/hosts need not follow it.
hooks=(--customize-hook='chroot "$1" useradd --create-home --uid 1000 --shell /bin/bash user'
  --customize-hook='echo "user ALL=(ALL) NOPASSWD:ALL" > "$1/etc/sudoers.d/user" && chmod 440 "$1/etc/sudoers.d/user"'
  --customize-hook='ln -sfn /proc/sys/kernel/hostname "$1/etc/hostname" && printf "127.0.0.1 localhost\n::1 localhost\n" > "$1/etc/hosts"')
rootfs_key=$(printf '%s\n' "$suite" "$packages" "${mm_opts[@]}" "${hooks[@]}" | sha256sum | cut -c1-12)
rootfs_tar="$cache_root/.rootfs/$name-$rootfs_key.tar"

kpkg=$(kernel_package)
[ -n "$kpkg" ] || { echo "build-template: cannot resolve the kernel package behind linux-image-amd64" >&2; exit 1; }
kver=$(kernel_version "$kpkg")
modules="virtio_ring virtio virtio_mmio virtio_blk crc16 mbcache jbd2 crc32c_generic ext4 failover net_failover virtio_net virtio-rng"

inputs=("$here/build-template.sh" "$here/kernel-lib.sh" "$here/template/initramfs-init" "$here/template/coppice-init" "$here/clone-helper/coppice-clone-helper.c" "$busybox")
[ "$name" = code-interpreter-v1 ] && inputs+=("$here/code-interpreter/server.py" "$here/code-interpreter/preload.py")
envd_hash=none
[ -f "$envd_bundle" ] && envd_hash=$(sha256sum < "$envd_bundle" | cut -d' ' -f1)
key=$(printf '%s\n' "$rootfs_key" "$kpkg" "$kver" "$modules" "envd=$envd_hash" "$(cd / && sha256sum "${inputs[@]}")" | sha256sum | cut -c1-12)
out="$cache_root/$name-$key"

if [ -f "$out/build.ok" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$cache_root/.rootfs"
work=$(mktemp -d "$cache_root/.build-$name-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

if [ ! -f "$rootfs_tar" ]; then
  echo "build-template: mmdebstrap $suite for $name ($packages)" >&2
  mmdebstrap --quiet --variant=apt --include="$packages" "${mm_opts[@]}" "${hooks[@]}" \
    "$suite" "$work/rootfs.tar" >&2
  rm -f "$cache_root/.rootfs/$name-"*.tar
  mv "$work/rootfs.tar" "$rootfs_tar"
fi

root="$work/root"
mkdir "$root"
tar -C "$root" --numeric-owner -xpf "$rootfs_tar"
install -D -m 755 "$here/template/coppice-init" "$root/usr/local/sbin/coppice-init"
mkdir -p "$root/usr/local/bin"
gcc -static -O2 -Wall -Wextra -Werror -o "$root/usr/local/bin/coppice-clone-helper" "$here/clone-helper/coppice-clone-helper.c"
if [ "$name" = code-interpreter-v1 ]; then
  install -D -m 644 "$here/code-interpreter/server.py" "$root/opt/coppice/code-interpreter/server.py"
  install -D -m 644 -o 1000 -g 1000 "$here/code-interpreter/preload.py" \
    "$root/home/user/.ipython/profile_default/startup/00-coppice-preload.py"
  chown -R 1000:1000 "$root/home/user/.ipython"
  # matplotlib builds its font list on first use: minutes under TCG, a second here. Built as `user`, into its cache.
  chroot "$root" setpriv --reuid=1000 --regid=1000 --init-groups env -i HOME=/home/user MPLBACKEND=Agg \
    python3 -c 'import matplotlib.font_manager' >&2
  [ -n "$(ls "$root/home/user/.cache/matplotlib" 2>/dev/null)" ] || { echo "build-template: matplotlib font cache not built" >&2; exit 1; }
fi
[ -f "$envd_bundle" ] && install -D -m 644 "$envd_bundle" "$root/opt/coppice/envd/envd.mjs"

# The kernel and the initramfs that mounts the image.
mkdir "$work/kernel"
unpack_kernel "$kpkg" "$work/kernel" || { echo "build-template: cannot unpack $kpkg" >&2; exit 1; }
release=${kpkg#linux-image-}
initrd="$work/initrd"
mkdir -p "$initrd/bin" "$initrd/proc" "$initrd/sys" "$initrd/dev" "$initrd/lib/modules" "$initrd/newroot"
cp "$busybox" "$initrd/bin/busybox"
ln -s busybox "$initrd/bin/sh"
sed "s/@MODULES@/$modules/" "$here/template/initramfs-init" > "$initrd/init"
chmod 755 "$initrd/init"
# shellcheck disable=SC2086 # the module list is split on purpose
copy_modules "$work/kernel/pkg" "$release" "$initrd/lib/modules" $modules || { echo "build-template: cannot copy modules from $kpkg" >&2; exit 1; }

stage="$work/out"
mkdir "$stage"
(cd "$initrd" && find . | sort | cpio -o -H newc --quiet) > "$stage/initrd.cpio"
cp "$work/kernel/pkg/boot/vmlinuz-$release" "$stage/vmlinuz"
# Image size: the files plus 1.5 GiB, no blocks reserved for root, so a sandbox has well over 1 GiB to write to.
used_kib=$(du -sk --apparent-size "$root" | cut -f1)
size_mib=$(( used_kib / 1024 * 12 / 10 + 1536 ))
mkfs.ext4 -q -F -L coppice-root -m 0 -d "$root" "$stage/rootfs.ext4" "${size_mib}M" >&2
chmod 444 "$stage/rootfs.ext4"
printf 'template=%s\npackages=%s\nkernel=%s %s\nmodules=%s\nenvd=%s\nimage_mib=%s\nkey=%s\n' \
  "$name" "$packages" "$kpkg" "$kver" "$modules" "$envd_hash" "$size_mib" "$key" > "$stage/build.ok"
rm -rf "$out"
mv "$stage" "$out"
echo "$out"
