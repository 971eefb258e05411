"""``python -m chipsuite.model``: the base case against every public figure it can be compared with."""

import pandas as pd

from .scoreboard import scoreboard

with pd.option_context("display.width", 200, "display.max_colwidth", 60, "display.max_rows", 500):
    print(scoreboard().to_string(index=False))
