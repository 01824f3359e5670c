#!/usr/bin/env bash
# Create the Python reference environment (numpy + torch) used to generate
# reference values and to run the comparison benchmarks.
#
# Usage: bash benches/reference/setup.sh
# Env:   PYTHON  interpreter used to create the venv (default: python3)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
REQS="$HERE/requirements.txt"
PYTHON="${PYTHON:-python3}"

echo "==> reference env: $VENV"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "==> creating venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
else
    echo "==> venv already exists, reusing it"
fi

echo "==> upgrading pip"
"$VENV/bin/python" -m pip install --quiet --upgrade pip

# Only PyPI is assumed reachable, so torch comes from PyPI. On Linux this
# wheel pulls in the CUDA runtime packages (large download); the CPU code
# paths are what the benchmarks use.
echo "==> installing pinned packages from $REQS (torch is large, this can take several minutes)"
"$VENV/bin/python" -m pip install --progress-bar off -r "$REQS"

echo "==> installed versions:"
"$VENV/bin/python" - <<'PY'
import numpy, torch
print(f"    numpy {numpy.__version__}")
print(f"    torch {torch.__version__} (threads available: {torch.get_num_threads()})")
PY

echo "==> done. Use $VENV/bin/python to run the reference scripts."
