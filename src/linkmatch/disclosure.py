"""What the candidates tell each holder about the other holder's people.

After ``reveal``, a holder reads each of its candidate rows beside its *own* record: the score
and the evidence columns then describe a person of the *other* list, most often one who is
not its own person. Exact evidence says much about that person: a 4-decimal Dice of the name
filters, with the holder's own name in hand, singles out the few names at exactly that
distance; an exact score encodes the whole pattern of comparison levels and the frequency of
the shared name; a date level "swapped" or "year off by one" gives the other person's date
of birth from the holder's own.

So candidates carry **coarse** evidence by default (:data:`COARSE`), and the holders may agree
on **exact** evidence in their schema (``Schema(candidate_evidence="exact")``, recorded in both
encoded files and in the candidates' manifest; files that differ are refused like any other
schema difference). Coarse evidence still lets an analyst see *whether* name, date, sex,
nationality, place and document agree, and how strongly, which is what the review needs:

* ``score``: rounded to 0.01;
* ``name_score``: rounded down to a multiple of 0.1;
* ``name_level``: ``strong`` (two or more name keys agree, spelt alike), ``similar`` (most
  keys agree spelt apart, or filters at Dice 0.8 or more), ``weak`` (Dice 0.5-0.8 or one key),
  ``different``, ``missing``;
* ``dob_level``: ``agree`` (exact), ``partial`` (swapped, other calendar, one digit off, year
  off with day and month agreeing, year only), ``different`` (year off by one or two, or
  different), ``missing``;
* ``address``: ``similar`` (Dice 0.6 or more), ``different``, ``missing``;
* sex, nationality, place of birth and document are agree / disagree / missing already.

The scoring itself always uses the exact evidence: coarsening applies to what is written.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from linkmatch.errors import ConfigError
from linkmatch.schema import CANDIDATE_EVIDENCE

__all__ = ["COARSE", "disclose"]

COARSE: Final[dict[str, dict[str, str]]] = {
    "name_level": {
        "missing": "missing", "keys_all": "strong", "keys_most": "strong",
        "keys_most_far": "similar", "fuzzy_90": "similar", "fuzzy_80": "similar",
        "fuzzy_70": "weak", "fuzzy_60": "weak", "fuzzy_50": "weak", "one_key": "weak",
        "different": "different",
    },
    "dob_level": {
        "missing": "missing", "exact": "agree", "swapped": "partial", "calendar": "partial",
        "year_off_same_day_month": "partial", "one_digit": "partial", "year_only": "partial",
        "year_off_one": "different", "year_off_two": "different", "different": "different",
    },
    "address": {
        "missing": "missing", "dice_90": "similar", "dice_75": "similar", "dice_60": "similar",
        "different": "different",
    },
}
"""Exact level → coarse level, per evidence column."""


def disclose(candidates: pd.DataFrame, evidence: str) -> pd.DataFrame:
    """The candidates as the holders may see them under the agreed ``evidence`` setting.

    Coarse candidates are sorted again by (coarse) score and ids, so that the order of rows
    with equal coarse scores does not reveal their exact scores.

    Raises:
        ConfigError: an unknown setting.
    """
    if evidence not in CANDIDATE_EVIDENCE:
        raise ConfigError(f"candidate evidence must be one of {', '.join(CANDIDATE_EVIDENCE)}")
    if evidence == "exact" or candidates.empty:
        return candidates
    out = candidates.copy()
    out["score"] = out["score"].astype(np.float64).round(2)
    out["name_score"] = np.floor(out["name_score"].astype(np.float64) * 10 + 1e-9) / 10
    for column, mapping in COARSE.items():
        if column in out.columns:
            out[column] = out[column].map(mapping).astype(object)
    return out.sort_values(["score", "left_id", "right_id"], ascending=[False, True, True],
                           kind="mergesort", ignore_index=True)
