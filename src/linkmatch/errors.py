"""The exceptions linkmatch raises.

Every message names *where* a problem is (file, row, column, field) and *what* is wrong, never the
personal value or key material involved: exception texts end up in logs, tickets and terminals that
are not cleared for personal data.

Exception tree::

    LinkmatchError
    ├── ConfigError          bad parameter, schema or threshold
    ├── KeyMaterialError     missing, weak, unreadable or badly protected key
    ├── InputDataError       a problem with an input file (file, row, column)
    └── EncodingMismatchError two encodings that cannot be compared (key, schema, format version)
        └── EncodedFileError  an encoded file not shaped as encode writes it (file, column)
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EncodedFileError",
    "EncodingMismatchError",
    "InputDataError",
    "KeyMaterialError",
    "LinkmatchError",
]


class LinkmatchError(Exception):
    """Base class of every error linkmatch raises on purpose."""


class ConfigError(LinkmatchError, ValueError):
    """A parameter, schema or option is invalid."""


class KeyMaterialError(LinkmatchError):
    """The linkage key cannot be used (missing, too short, unreadable, world-readable)."""


class EncodingMismatchError(LinkmatchError):
    """Two encoded files cannot be matched (different key, schema or format)."""


class EncodedFileError(EncodingMismatchError):
    """An encoded file (or its manifest) is not what ``encode`` writes: a column of another
    type or width, nulls, a malformed pseudonym or manifest field, an unsigned or badly signed
    file where signatures are required. Crafted or damaged; refused before any comparison.

    Args:
        message: what is wrong; never a value.
        file: the file's path (or a label for an in-memory table).
        column: the column or manifest field concerned, if any.
    """

    def __init__(self, message: str, *, file: str | None = None,
                 column: str | None = None) -> None:
        self.file = file
        self.column = column
        where = ", ".join(part for part in (f"file {file}" if file else "",
                                            f"column {column!r}" if column else "") if part)
        super().__init__(f"{where}: {message}" if where else message)


class EngineError(LinkmatchError):
    """The engine could not finish the job (a task failed on every attempt it was given).

    The message names the phase, never a value; the engine's own logs (Spark's driver and
    executor logs) hold the details and are for a machine cleared for the data.
    """


class InputDataError(LinkmatchError):
    """An input file cannot be used.

    Args:
        message: what is wrong and how to fix it; never a personal value.
        file: the file's path (or a label for an in-memory table).
        row: 1-based data row (header excluded), if the problem is in one row.
        column: the column concerned, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        where = ", ".join(
            part
            for part in (
                f"file {file}" if file else "",
                f"row {row}" if row is not None else "",
                f"column {column!r}" if column else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
