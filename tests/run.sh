#!/usr/bin/env bash
# Set up (once) and run the whole test suite: `bash tests/run.sh [pytest args]`.
# Creates .venv with Python 3.11+, installs the project with its test extras, then runs pytest.
# Tests that need a real service (PostgreSQL, SoftHSM2, Chromium, poppler) skip locally with a reason when it is
# missing, and fail on CI (CI=true), where .ci/run installs and starts everything first.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.edoc-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  touch "$stamp"
fi
if [ "${EDOC_LINT:-0}" = "1" ]; then  # CI also checks style and types first
  .venv/bin/ruff check .
  .venv/bin/mypy
fi
exec .venv/bin/python -m pytest "$@"
