#!/usr/bin/env bash
# The test job: lint, type-check, layer contracts, then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/ruff check src tests benchmarks examples
.venv/bin/ruff format --check --quiet src tests benchmarks examples
.venv/bin/mypy
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
