"""One local Spark session for all Spark tests, and the data they share.

Starting Spark costs seconds (a JVM, then Python workers), so the whole run shares one session:
``local[2,2]`` — two cores, as ``local[2]``, and up to two attempts per task, so that the fault
test can see a failed task retried (``local[2]`` alone gives a task one attempt). The session
writes Spark's event log (what the Spark UI and history server show) to a temporary directory,
where the secrets test looks for values that must not be there.

Without PySpark or Java the Spark tests are skipped on a developer's machine; under CI (``CI``
set) they fail instead, so a broken CI set-up cannot pass by skipping them.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from spark_data import SPARK_KEY, THRESHOLD, EncodedFiles

from linkmatch.encode import encode_frame
from linkmatch.io import write_encoded
from linkmatch.match import match_files
from linkmatch.synth import generate

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the Spark tests (.ci/run installs both)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def event_log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session writes Spark's event log (the Spark UI's source)."""
    return tmp_path_factory.mktemp("spark-events")


@pytest.fixture(scope="session")
def spark(event_log_dir: Path) -> Iterator[SparkSession]:
    """The one local Spark session of the test run."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        _unavailable("PySpark is not installed (pip install -e '.[test]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _unavailable("no Java runtime (java) on this machine")
    saved = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers import this checkout's linkmatch
    try:
        session = (
            SparkSession.builder.master("local[2,2]")
            .appName("linkmatch-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")  # loopback only
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.eventLog.enabled", "true")
            .config("spark.eventLog.dir", event_log_dir.as_uri())
            .config("spark.eventLog.compress", "false")  # the secrets test reads it
            .getOrCreate()
        )
    finally:
        if saved is None:
            os.environ.pop("PYSPARK_PYTHON", None)
        else:
            os.environ["PYSPARK_PYTHON"] = saved
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def encoded_files(tmp_path_factory: pytest.TempPathFactory) -> EncodedFiles:
    """3,000 asylum-like records against 400 reference persons (the project's generator)."""
    data = generate(seed=5, n_left=3000, n_right=400)
    left, right = encode_frame(data.left, SPARK_KEY), encode_frame(data.right, SPARK_KEY)
    folder = tmp_path_factory.mktemp("spark-encoded")
    write_encoded(left.table, left.manifest, folder / "left.lmenc")
    write_encoded(right.table, right.manifest, folder / "right.lmenc")
    return EncodedFiles(data, left, right, folder / "left.lmenc", folder / "right.lmenc")


@pytest.fixture(scope="session")
def local_candidates(encoded_files: EncodedFiles) -> pd.DataFrame:
    """The local engine's candidates for the shared files: what Spark must reproduce."""
    return match_files(encoded_files.left_path, encoded_files.right_path, threshold=THRESHOLD,
                       workers=1).candidates
