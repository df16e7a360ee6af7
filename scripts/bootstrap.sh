#!/usr/bin/env bash
# Create the virtualenv and install the package with what the tests and the main job need.
# Re-installs only when pyproject.toml changed since the last install, or an extra asked for is
# not installed yet.
#
#   PYTHON   the interpreter to build the venv with (default python3.11, else python3)
#   VENV     the venv directory (default .venv), e.g. PYTHON=python3.13 VENV=.venv313
#   EXTRAS   the package extras to install (default "dev,all"; the main job asks for "all")
#   BROWSER  1 to also install Chromium for the browser tests (only scripts/test.sh does)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"

# A pyenv shim is on PATH for every installed version but only runs the selected ones, so
# "found on PATH" is not enough: the candidate must start. Otherwise take the newest matching
# version pyenv has installed.
runs() { "$1" -c 'import sys' >/dev/null 2>&1; }
find_python() {
  local want="$1" root candidate
  if runs "$want"; then
    command -v "$want"
    return 0
  fi
  root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
  for candidate in $(ls -d "$root/versions/${want#python}".*/bin/python 2>/dev/null | sort -rV); do
    if runs "$candidate"; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  if [ -n "${PYTHON:-}" ]; then
    PY="$(find_python "$PYTHON")" || { echo "bootstrap: no working $PYTHON (PATH or pyenv)" >&2; exit 1; }
  else
    PY="$(find_python python3.11)" || PY=python3
  fi
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
# The stamp holds the pyproject.toml hash and the extras installed with it ("<hash> dev,all");
# a stamp with the hash alone is from when every install included dev and all.
stamp="$VENV/.flowai-install-stamp"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
have="" have_extras=""
if [ -f "$stamp" ]; then
  read -r have have_extras < "$stamp" || true
  [ -n "$have" ] && [ -z "$have_extras" ] && have_extras="dev,all"
fi
extras="${EXTRAS:-dev,all}"
missing=0
for extra in ${extras//,/ }; do
  case ",$have_extras," in *",$extra,"*) ;; *) missing=1 ;; esac
done
if [ "$have" != "$want" ] || [ "$missing" = 1 ]; then
  # Keep what was installed before: the main job after the tests must not drop dev.
  extras="$(echo "$have_extras,$extras" | tr ',' '\n' | sed '/^$/d' | sort -u | paste -sd, -)"
  "$VENV/bin/python" -m pip install -q -e ".[$extras]"
  echo "$want $extras" > "$stamp"
fi
# Browser tests drive Debian's Chromium (never a downloaded browser build); only the test job
# asks for it, the main job installs no browser.
if [ "${BROWSER:-0}" = 1 ] && [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 \
  && [ "$(id -u)" = 0 ]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
    || echo "bootstrap: could not install chromium; browser tests will not run" >&2
fi
