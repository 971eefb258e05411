"""``python -m chipsuite.model``: the base case against every public figure it can be compared with.

Numbers are shown for a reader (``chipsuite.display.number``: thousands separators, three significant
digits, four for the model/public ratio); ``chipsuite.scoreboard()`` returns the unrounded table.
"""

import pandas as pd

from ..display import number
from .scoreboard import scoreboard

_COLUMNS = ["figure", "period", "unit", "public_low", "public", "public_high", "model", "ratio", "within",
            "source_ids", "note"]


def _readable(board):
    out = board[_COLUMNS].copy()
    for column in ("public_low", "public", "public_high", "model"):
        out[column] = [number(v) for v in out[column]]
    out["ratio"] = [number(v, sig=4) for v in out["ratio"]]
    return out


board = scoreboard()
with pd.option_context("display.width", 250, "display.max_colwidth", 70, "display.max_rows", 500):
    print(_readable(board).to_string(index=False))
print(f"\n{len(board)} public figures, {int(board['within'].sum())} within their band "
      "(bands: chipsuite.model.scoreboard.TOLERANCE; docs/model.md, section 12)")
