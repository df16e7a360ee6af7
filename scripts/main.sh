#!/usr/bin/env bash
# The main job: run the quickstart agent app end to end (offline unless a provider key is set).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=all scripts/bootstrap.sh   # the package and its extras: no test tools, no browser
exec .venv/bin/python -m examples.quickstart "$@"
