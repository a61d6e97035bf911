#!/usr/bin/env bash
# The README's test command (quick start, step 2): install with the test extra, lint, run every test.
# CI (.ci/run) runs this script; tests/test_packaging.py checks that the README shows this exact line.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 -e '.[test]' && .venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/python -m pytest
