"""The public surface is small and deliberate: changing it must be a conscious act."""

from __future__ import annotations

import linkmatch


def test_public_names() -> None:
    assert sorted(linkmatch.__all__) == sorted([
        "ConfigError", "EncodeSummary", "Encoded", "EncodingMismatchError", "EngineError",
        "InputDataError",
        "Key", "KeyMaterialError", "LinkmatchError", "MatchResult", "Schema", "__version__",
        "encode", "encode_file", "link", "load_key", "match", "match_files", "reveal",
    ])
    for name in linkmatch.__all__:
        assert hasattr(linkmatch, name), name


def test_error_tree() -> None:
    for cls in (linkmatch.ConfigError, linkmatch.KeyMaterialError, linkmatch.InputDataError,
                linkmatch.EncodingMismatchError, linkmatch.EngineError):
        assert issubclass(cls, linkmatch.LinkmatchError)
    err = linkmatch.InputDataError("bad date", file="a.csv", row=3, column="date_of_birth")
    assert str(err) == "file a.csv, row 3, column 'date_of_birth': bad date"
