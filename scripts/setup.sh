#!/usr/bin/env bash
# Installs everything Coppice's rigs and tests need on a Debian 12 host, as root. Idempotent: each step is skipped
# when its result is already there. Used by scripts/bench.sh, scripts/test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "[setup] must run as root (it installs Debian packages and the rigs create namespaces, bridges and nftables tables)" >&2
  exit 1
fi

node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=19)?"yes":"no")' 2>/dev/null || echo no)
if [ "$node_ok" != yes ]; then
  echo "[setup] Node.js 20.19 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# Debian packages: hypervisor, guest image inputs, networking tools, load generators, a C compiler for the
# tcp-rr probe (Debian's sockperf has no IPv6) and the runtime's netlink helper (with libnftnl/libmnl headers), the browser for page tests, fincore (util-linux-extra) for the density rig,
# python3 for the tests that need a subreaper (prctl) or raw ND packets; mmdebstrap, e2fsprogs and qemu-utils for
# the Debian templates (root file system, its ext4 image, each VM's qcow2 layer).
packages=(git ca-certificates qemu-system-x86 qemu-utils busybox-static cpio mmdebstrap e2fsprogs iproute2 nftables conntrack sockperf iperf3 gcc libc6-dev libnftnl-dev libmnl-dev chromium procps util-linux-extra python3-minimal)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dependencies, from the lock file; reinstalled only when the lock file changed since the last install.
stamp=node_modules/.coppice-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

# The runtime's native helper for bulk nftables element changes (see packages/runtime/native/build.sh).
packages/runtime/native/build.sh

# The Linux guest (kernel + busybox initramfs), built from Debian packages and cached outside the repo.
if [ -x packages/runtime/guest/build-guest.sh ]; then
  packages/runtime/guest/build-guest.sh
fi
# The guest agent's bundle (installed into the templates, so built first; esbuild takes a second).
npm run build -w @coppice/envd --silent >/dev/null
# The Debian templates (root image shared read-only by their sandboxes), rebuilt only when their inputs change.
for template in base code-interpreter-v1; do
  packages/runtime/guest/build-template.sh "$template"
done
say "ready"
