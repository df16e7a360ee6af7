#!/usr/bin/env bash
# The test job: lint, type-check, layer contracts, then the whole test suite on every core.
#
#   scripts/test.sh [pytest args]      arguments go to pytest (scripts/test.sh tests/engine -x)
#   VENV=.venv313 PYTHON=python3.13    run on another interpreter (see scripts/bootstrap.sh)
#   CHECKS=0                           skip lint, types, layer contracts, the docs build and the UI checks
#
# The suite runs under pytest-xdist with one worker per core (-n auto); pass your own -n
# (-n 0 runs in this process) or -p no:xdist to choose otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
export VENV="${VENV:-.venv}"
BROWSER=1 scripts/bootstrap.sh   # the browser tests need Chromium; the main job installs none
if [ "${CHECKS:-1}" != 0 ]; then
  "$VENV/bin/ruff" check src tests benchmarks examples
  "$VENV/bin/ruff" format --check --quiet src tests benchmarks examples
  "$VENV/bin/mypy"
  "$VENV/bin/lint-imports"
  NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --strict --quiet   # the docs site: a broken link fails
  scripts/studio_ui.sh test
fi
workers=(-n auto)
for arg in "$@"; do
  case "$arg" in
    -n | -n* | --numprocesses | --numprocesses=* | no:xdist | -pno:xdist) workers=() ;;
  esac
done
exec "$VENV/bin/python" -m pytest "${workers[@]}" "$@"
