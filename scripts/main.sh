#!/usr/bin/env bash
# The main job: run the quickstart agent app end to end (offline unless a provider key is set).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/python -m examples.quickstart "$@"
