"""linkmatch: privacy-preserving record linkage.

Each data holder **encodes** its records locally under a shared secret key; a linkage unit
**matches** the two encodings and gets match candidates with scores, never plain data; each holder
**reveals** only its own candidate records. ``link`` does all three in one process.

>>> import linkmatch
>>> key = linkmatch.Key.generate()
>>> # candidates = linkmatch.link(left_df, right_df, key=key)
"""

from linkmatch._version import __version__
from linkmatch.api import encode, link, match, reveal
from linkmatch.encode import Encoded, EncodeSummary, encode_file
from linkmatch.errors import (
    ConfigError,
    EncodingMismatchError,
    EngineError,
    InputDataError,
    KeyMaterialError,
    LinkmatchError,
)
from linkmatch.match import MatchResult, match_files
from linkmatch.pseudonymise.keys import Key, load_key
from linkmatch.schema import Schema

__all__ = [
    "ConfigError",
    "EncodeSummary",
    "Encoded",
    "EncodingMismatchError",
    "EngineError",
    "InputDataError",
    "Key",
    "KeyMaterialError",
    "LinkmatchError",
    "MatchResult",
    "Schema",
    "__version__",
    "encode",
    "encode_file",
    "link",
    "load_key",
    "match",
    "match_files",
    "reveal",
]
