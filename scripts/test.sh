#!/usr/bin/env bash
# Runs every test: type checks, unit and integration tests of every package (as root: real namespaces, nftables
# and QEMU), the site build and its browser checks. Prints one closing line "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

rm -f packages/*/test-results/vitest.json apps/*/test-results/vitest.json
status=0
npx turbo run typecheck test --concurrency=1 --output-logs=full || status=$?
node scripts/sum-test-results.mjs || status=$?
exit "$status"
