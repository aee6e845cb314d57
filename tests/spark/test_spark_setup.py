"""CI must really run the Spark tests: PySpark and a Java runtime are installed there."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest


def test_ci_has_pyspark_and_java() -> None:
    if not os.environ.get("CI"):
        pytest.skip("checked under CI only (a developer may run without the Spark extra)")
    assert importlib.util.find_spec("pyspark") is not None, "pip install -e '.[test]'"
    assert shutil.which("java") is not None, ".ci/run installs a headless JRE if missing"
