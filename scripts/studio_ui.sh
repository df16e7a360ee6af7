#!/usr/bin/env bash
# The Studio UI (studio-ui/, TypeScript + React + Vite). The built bundle is committed in
# src/flowai_harness/studio/static/, so installing or running the Studio never needs Node.
#
#   scripts/studio_ui.sh test    type check and component tests (Vitest)
#   scripts/studio_ui.sh build   rebuild the bundle (commit the result)
#
# `npm ci` runs first when node_modules is missing or package-lock.json changed since.
# Without npm: CI fails, a local run skips with a note.
set -euo pipefail
cd "$(dirname "$0")/../studio-ui"
if ! command -v npm >/dev/null 2>&1; then
  if [ "${CI:-}" = true ]; then
    echo "studio_ui: npm is needed for the Studio UI checks" >&2
    exit 1
  fi
  echo "studio_ui: npm not found, skipping the Studio UI checks" >&2
  exit 0
fi
stamp=node_modules/.flowai-lock-stamp
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
case "${1:-test}" in
  test) npm run --silent typecheck && npm test --silent ;;
  build) npm run --silent build ;;
  *) echo "usage: scripts/studio_ui.sh test|build" >&2; exit 2 ;;
esac
