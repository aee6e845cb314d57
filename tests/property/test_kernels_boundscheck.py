"""The compiled kernels' property tests, run again with Numba's bounds checking on.

Numba does not check array bounds by default: a kernel given a table narrower than it expects
reads past the array instead of failing. Run with ``NUMBA_BOUNDSCHECK=1`` (and a fresh cache
directory, so that no kernel compiled without checks is reused), every index the kernels use on
the properties' tables must be in bounds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.mark.slow
def test_kernel_properties_hold_with_bounds_checking(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(HERE / "test_compare_kernel_props.py"), str(HERE / "test_dice_props.py")],
        capture_output=True, text=True, env=env, timeout=900, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout
