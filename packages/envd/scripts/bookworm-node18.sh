#!/bin/sh
# Runs Debian bookworm's nodejs 18, the guest's node, on a Debian host that has another node installed, without
# installing it: the packages are fetched once with apt-get download into a cache and unpacked there. Debian's node
# loads some builtins from /usr/share/nodejs, which is provided by a bind mount in a private mount namespace (an
# empty /usr/share/nodejs is created on the host if missing). Needs root. Use it as a node binary:
#   ENVD_TEST_NODE=packages/envd/scripts/bookworm-node18.sh npx vitest run test/e2b-sdk.linux.test.ts
set -eu
CACHE=${ENVD_NODE18_CACHE:-/var/cache/coppice-envd-node18}
ROOT=$CACHE/root
if [ ! -x "$ROOT/usr/bin/node" ]; then
  version=$(apt-cache madison nodejs | awk -F'|' '$2 ~ /^ *18\./ { gsub(/ /, "", $2); print $2; exit }')
  if [ -z "$version" ]; then
    echo "bookworm-node18: no nodejs 18 in the apt lists (run apt-get update; is this Debian bookworm?)" >&2
    exit 1
  fi
  mkdir -p "$CACHE/debs"
  (cd "$CACHE/debs" && apt-get download -q "nodejs=$version" "libnode108=$version" node-acorn node-cjs-module-lexer node-undici libc-ares2 libuv1 >/dev/null 2>&1)
  rm -rf "$ROOT.partial" && mkdir -p "$ROOT.partial"
  for deb in "$CACHE"/debs/*.deb; do dpkg-deb -x "$deb" "$ROOT.partial"; done
  rm -rf "$ROOT" && mv "$ROOT.partial" "$ROOT"
fi
exec unshare -m sh -c 'mkdir -p /usr/share/nodejs && mount --bind "$0/usr/share/nodejs" /usr/share/nodejs && LD_LIBRARY_PATH="$0/usr/lib/x86_64-linux-gnu" exec "$0/usr/bin/node" "$@"' "$ROOT" "$@"
