#!/usr/bin/env bash
# The main job: run the quickstart agent app end to end (offline unless a provider key is set).
#
#   scripts/main.sh [quickstart args]     the quickstart: one request, plan approved and dispatched
#   scripts/main.sh --studio [--port N]   the Studio on the pricing example app (offline unless
#                                         ANTHROPIC_API_KEY is set); prints its URL, Ctrl-C stops
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=all scripts/bootstrap.sh   # the package and its extras: no test tools, no browser
if [ "${1:-}" != "--studio" ]; then
  exec .venv/bin/python -m examples.quickstart "$@"
fi
shift
port=4111
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="${2:?--port needs a number}"; shift 2 ;;
    --port=*) port="${1#--port=}"; shift ;;
    *) echo "scripts/main.sh --studio: unknown argument '$1' (only --port N)" >&2; exit 2 ;;
  esac
done
# The example's state (Studio database, commerce database) lives in .flowai-demo/, not the repo.
app_src="$PWD/examples/pricing_promotions/src"
mkdir -p .flowai-demo
cd .flowai-demo
export PYTHONPATH="$app_src${PYTHONPATH:+:$PYTHONPATH}"
../.venv/bin/python -m pricing_promotions.seed_eval_tests >/dev/null
exec ../.venv/bin/flowai-harness serve --app pricing_promotions.app:app --port "$port"
