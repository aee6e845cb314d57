"""Execution engines: who drives the engine-free matching core.

The matching itself lives in one place, :class:`linkmatch.match.Job`: per-batch functions over
the left (large) side — statistics, comparison patterns, scores — and merges in batch order.
An *engine* only decides where those batch functions run:

``local`` (default)
    :mod:`linkmatch.match`: batches of the left file in worker processes on this machine.
``spark``
    :mod:`linkmatch.engines.spark`: the same batches as Apache Spark tasks, for data that lives
    on a Hadoop/YARN or Kubernetes platform. Optional: ``pip install 'linkmatch[spark]'``.

Both run the same code on the same batches and merge with exact (integer) sums, so they return
the same candidates, pair for pair and score for score. This module imports no engine: PySpark
is loaded only when the Spark engine is asked for, so the local engine never pays for it.
"""

from __future__ import annotations

import importlib
from typing import Final, Literal

from linkmatch.errors import ConfigError, EngineError

__all__ = ["ENGINES", "SPARK_INSTALL_HINT", "Engine", "EngineError", "check_engine",
           "require_spark"]

Engine = Literal["local", "spark"]
ENGINES: Final[tuple[Engine, ...]] = ("local", "spark")
SPARK_INSTALL_HINT: Final = "pip install 'linkmatch[spark]'"


def check_engine(name: str) -> Engine:
    """``name`` as an :data:`Engine`, or a :class:`ConfigError` listing the choices."""
    if name not in ENGINES:
        raise ConfigError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    return name


def require_spark() -> None:
    """Import the Spark engine (and so PySpark) now, or say how to install it.

    Callers then ``from linkmatch.engines import spark``; this function exists so that a
    missing PySpark is one clear :class:`ConfigError` instead of an ``ImportError`` trace.

    Raises:
        ConfigError: PySpark is not installed; the message says how to install it.
    """
    try:
        importlib.import_module("linkmatch.engines.spark")
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in {"pyspark", "py4j"}:
            raise
        raise ConfigError(
            f"the Spark engine needs PySpark, which is not installed: {SPARK_INSTALL_HINT} "
            "(and a Java runtime, 17 or later)") from None
