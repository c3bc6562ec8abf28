#!/usr/bin/env bash
# Builds the runtime's native helpers into native/bin (not in git). Run by scripts/setup.sh; safe to re-run: a
# helper is rebuilt only when its source is newer. Needs cc and the libnftnl/libmnl headers (Debian: gcc,
# libnftnl-dev, libmnl-dev). Without the binary cubenet still works, sending every change as nft text.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p bin
if [ ! -x bin/nft-set-elements ] || [ nft-set-elements.c -nt bin/nft-set-elements ]; then
  cc -O2 -Wall -Wextra -Werror -o bin/nft-set-elements.tmp nft-set-elements.c -lnftnl -lmnl
  mv bin/nft-set-elements.tmp bin/nft-set-elements
fi
