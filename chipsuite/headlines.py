"""The headline numbers the notebooks state, recomputed from the model (one number per question).

A notebook states a headline with :func:`chipsuite.display.headline`, which records the numbers
in the output's metadata under keys of :data:`CHECKS`. The tests collect them from the executed
notebooks and compare each with :func:`expected` (and the same key across notebooks), so the
prose can never drift from the model, and "MTIA's share in 2027" is one number: the base case
in 2027Q4, while an ensemble median says so in its key.

Key conventions: ``_2027q4`` a quarter's value, ``_2027`` a year's sum (amounts) or mean
(shares), ``_base`` the base case (every input at its base value, draw 0), ``_median`` /
``_p05`` / ``_p95`` quantiles over ``draws`` draws (seed 0).
"""

from __future__ import annotations

__all__ = ["CHECKS", "expected", "QUANTILES"]

QUANTILES = {"p05": 0.05, "median": 0.5, "p95": 0.95}


def _quarter(result, name, quarter="2027Q4"):
    from .explorers.grids import _quarter_value

    return float(_quarter_value(result[name].isel(draw=0), quarter))


def _annual_capex(result, year):
    from .model import annual

    return float(annual(result.capex_usd.isel(draw=0)).sel(year=year)) / 1e9


def _scoreboard_within(result):
    from .model import scoreboard

    return float(scoreboard(result)["within"].sum())


def _hyperion_delay_2028_2030(result):
    from .explorers.energy import power_delay_effect

    return power_delay_effect(None, "hyperion", 4)["extra_h100e_years_2028_2030"] / 1e6


def _value_rows(result):
    from . import charts

    return float(charts.provenance_kinds_frame()["rows"].sum())


#: headline key -> function of the base-case result (``chipsuite.run()``) giving its value
CHECKS = {
    "mtia_share_h100e_2027q4_base": lambda r: _quarter(r, "mtia_share_h100e"),
    "mtia_share_purchases_2027q4_base": lambda r: _quarter(r, "mtia_share_purchases_h100e"),
    "nvidia_share_h100e_2027q4_base": lambda r: _quarter(r, "nvidia_share_h100e"),
    "nvidia_share_h100e_incl_rented_2027q4_base": lambda r: _quarter(r, "nvidia_share_h100e_incl_rented"),
    "capex_2026_usd_bn_base": lambda r: _annual_capex(r, 2026),
    "capex_2027_usd_bn_base": lambda r: _annual_capex(r, 2027),
    "scoreboard_within": _scoreboard_within,
    "hyperion_delay_rented_2028_2030_m_h100e_years_base": _hyperion_delay_2028_2030,
    "value_table_rows": _value_rows,
}

#: ensemble keys: key prefix -> (output of chipsuite.explorers.grids.OUTPUTS, reduction over the period)
ENSEMBLE = {
    "capex_2027_usd_bn": ("capex_usd_bn", "2027"),
    "mtia_share_h100e_2027q4": ("mtia_share_h100e", "2027Q4"),
}


def expected(key, result=None, ensemble=None):
    """The model's value of headline ``key``: base-case keys from ``result`` (default
    ``chipsuite.run()``), quantile keys (``<prefix>_median`` etc.) from ``ensemble`` (a result
    with many draws, e.g. ``chipsuite.run(draws=n, seed=0)``). ``KeyError`` for an unknown key."""
    if key in CHECKS:
        if result is None:
            from .model import run

            result = run()
        return CHECKS[key](result)
    prefix, _, q = key.rpartition("_")
    if prefix in ENSEMBLE and q in QUANTILES:
        if ensemble is None:
            raise ValueError(f"{key}: an ensemble result is needed")
        from .explorers.grids import _output_series

        output, period = ENSEMBLE[prefix]
        s = _output_series(ensemble, output)
        if "Q" in period:
            from .explorers.grids import _quarter_value

            values = _quarter_value(s, period)
        else:
            pick = s.sel(quarter=s.quarter.dt.year == int(period))
            values = pick.mean("quarter") if "share" in output else pick.sum("quarter")
        return float(values.quantile(QUANTILES[q], dim="draw"))
    raise KeyError(f"unknown headline key {key!r}; known: {sorted(CHECKS)} and "
                   f"{sorted(p + '_' + q for p in ENSEMBLE for q in QUANTILES)}")
