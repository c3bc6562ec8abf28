#!/usr/bin/env bash
# The main job: measure this host with every rig it can run, write result files under benchmarks/results/, and
# build the claims site from them. Rig arguments pass through (e.g. scripts/bench.sh --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

status=0
if [ $# -gt 0 ]; then
  # Arguments go to the rig runner; the site is built after it.
  node packages/rigs/bin/coppice-rigs.js run "$@" || status=$?
  npx turbo run build --filter=@coppice/site || status=$?
else
  # turbo's bench runs the rigs one at a time, then builds the site from their result files.
  npx turbo run bench --concurrency=1 || status=$?
  if [ "$status" -ne 0 ]; then
    echo "[bench] a rig failed (see above); building the site from the result files that exist"
    npx turbo run build --filter=@coppice/site || status=$?
  fi
fi

if [ -f apps/site/dist/index.html ]; then
  cat <<MSG

[bench] site built in apps/site/dist/
[bench] open it:  (cd apps/site && npx astro preview --host 127.0.0.1)  then  http://127.0.0.1:4321/
[bench] new result files:  git status benchmarks/results   (commit them to publish this host's figures)
MSG
fi
exit "$status"
