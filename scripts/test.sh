#!/usr/bin/env bash
# Runs every test: type checks, unit and integration tests of every package (as root: real namespaces, nftables
# and QEMU), the site build and its browser checks. Prints one closing line "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

rm -f packages/*/test-results/vitest.json apps/*/test-results/vitest.json
status=0
# Formatting and lint of the whole tree (Biome: biome.json); a failure is reported and the tests still run.
npx biome ci --colors=off . || { echo "[test] biome: formatting or lint errors (npx biome check --write . fixes most)"; status=1; }
# --continue: one package's failure must not hide the results of the others.
npx turbo run typecheck test --concurrency=1 --continue --output-logs=full || status=$?
node scripts/sum-test-results.mjs || status=$?
exit "$status"
