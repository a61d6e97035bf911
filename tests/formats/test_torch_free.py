"""The container package and its tests need no torch: the format tests run in a fresh interpreter and
torch is not imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_format_tests_never_import_torch() -> None:
    code = (
        "import sys, pytest\n"
        "code = pytest.main(['-q', '-p', 'no:cacheprovider', 'tests/formats', '--deselect', "
        "'tests/formats/test_torch_free.py::test_the_format_tests_never_import_torch'])\n"
        "print('torch imported:', 'torch' in sys.modules)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stdout.strip().endswith("torch imported: False"), result.stdout[-2000:]
