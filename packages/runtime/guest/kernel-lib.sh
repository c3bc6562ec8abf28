# Sourced by build-guest.sh and build-template.sh: Debian's kernel package (downloaded and unpacked, never
# installed) and the modules an initramfs loads from it. POSIX sh; callers use `set -eu`.

# The kernel package behind the linux-image-amd64 metapackage, e.g. linux-image-6.1.0-57-amd64.
kernel_package() {
  apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1
}

# kernel_version PKG: the archive's version of PKG.
kernel_version() {
  apt-cache show "$1" | sed -n 's/^Version: //p' | head -n1
}

# unpack_kernel PKG DIR: downloads PKG into DIR and unpacks it into DIR/pkg.
unpack_kernel() {
  (cd "$2" && apt-get download "$1" >/dev/null 2>&1) || { echo "apt-get download $1 failed" >&2; return 1; }
  dpkg-deb -x "$2"/"$1"_*.deb "$2/pkg"
}

# copy_modules PKGDIR RELEASE DEST MODULES...: each module, decompressed, as DEST/NAME.ko.
copy_modules() {
  src="$1/lib/modules/$2"
  dest=$3
  shift 3
  for m in "$@"; do
    f=$(find "$src" -name "$m.ko*" | head -n1)
    [ -n "$f" ] || { echo "module $m not in $src" >&2; return 1; }
    case "$f" in
      *.ko) cp "$f" "$dest/$m.ko" ;;
      *.ko.xz) xz -dc "$f" > "$dest/$m.ko" ;;
      *.ko.zst) zstd -qdc "$f" > "$dest/$m.ko" ;;
      *) echo "unknown module format $f" >&2; return 1 ;;
    esac
  done
}
