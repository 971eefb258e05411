"""Capex: modelled against reported and guided, and the driver of 2027 (notebook 02)."""

from __future__ import annotations

import pandas as pd

from .. import charts
from .base import Control, Explorer
from .grids import nvidia_price_grid_frame, run_points, _dataset

__all__ = ["CapexExplorer", "DRIVERS_2027", "capex_drivers_frame"]

#: parameters whose assumption range is compared for 2027 capex: name -> label
DRIVERS_2027 = {
    "demand_growth_2027": "demand growth 2026-2027",
    "nvidia_price_multiplier": "Nvidia price",
    "facility_capex_per_mw": "facility capex per MW",
    "component_price_rise_2026": "component price rise 2026",
}


def capex_drivers_frame(scenario, year=2027, drivers=tuple(DRIVERS_2027)):
    """Headline capex in ``year`` with each driver at its low and high (``data/assumptions.csv``).

    One vectorised model call (:func:`~chipsuite.explorers.grids.run_points`), every other input as in
    ``scenario``. Columns ``parameter``, ``label``, ``unit``, ``low``, ``base``, ``high`` (the
    parameter's range; base = the scenario's value), ``capex_low_usd_bn``, ``capex_high_usd_bn``,
    ``swing_usd_bn`` [USD bn per year, high minus low]; sorted by swing, largest first.
    """
    from ..model import annual
    from ..scenario import read_assumptions

    ranges = read_assumptions()
    points = [{}] + [{name: ranges[name][bound]} for name in drivers for bound in ("low", "high")]
    result = run_points(scenario, points)
    capex = annual(result.capex_usd).sel(year=year).values / 1e9
    rows = []
    for i, name in enumerate(drivers):
        lo, hi = capex[1 + 2 * i], capex[2 + 2 * i]
        rows.append({"parameter": name, "label": DRIVERS_2027.get(name, name), "unit": ranges[name]["unit"],
                     "low": ranges[name]["low"], "base": float(getattr(scenario, name)), "high": ranges[name]["high"],
                     "capex_base_usd_bn": float(capex[0]), "capex_low_usd_bn": float(lo),
                     "capex_high_usd_bn": float(hi), "swing_usd_bn": float(hi - lo)})
    frame = pd.DataFrame(rows)
    return frame.reindex(frame["swing_usd_bn"].abs().sort_values(ascending=False).index).reset_index(drop=True)


class CapexExplorer(Explorer):
    """Capex: modelled against reported and guided; parts; the 2027 driver (demand growth), Nvidia
    price and facility cost."""

    title = "Capex explorer"
    VIEWS = ("annual: reported, guided, modelled", "quarterly", "by part")
    CONTROLS = {
        "demand_growth_2027_pct": Control("slider", "demand growth 2026-2027 [% per year]", min=-20, max=200,
                                          step=10, param="demand_growth_2027", scale=0.01),
        "nvidia_price_multiplier": Control("slider", "Nvidia price [x list]", min=0.5, max=2.0, step=0.05,
                                           param="nvidia_price_multiplier"),
        "facility_capex_usd_m_per_mw": Control("slider", "facility capex [USD m per MW]", min=4, max=25, step=1,
                                               param="facility_capex_per_mw", scale=1e6),
        "view": Control("select", "chart", default=VIEWS[0], options=VIEWS),
    }

    def _case(self):
        return (f"demand growth 2027 {self.values['demand_growth_2027_pct']:g} %/yr, Nvidia price "
                f"x{self.values['nvidia_price_multiplier']:.2f}, facilities "
                f"{self.values['facility_capex_usd_m_per_mw']:g} USD m/MW")

    def chart_data(self, view=None):
        view = view or self.values["view"]
        if view == "annual: reported, guided, modelled":
            return charts.capex_annual_frame(self.result)
        if view == "quarterly":
            return charts.capex_quarterly_frame(self.result)
        if view == "by part":
            return charts.capex_parts_frame(self.result)
        raise ValueError(f"unknown view {view!r}; views: {list(self.VIEWS)}")

    def chart(self, view=None):
        view = view or self.values["view"]
        f = self.chart_data(view)
        if view == "annual: reported, guided, modelled":
            return charts.capex_annual_chart(f, self._case())
        if view == "quarterly":
            return charts.capex_quarterly_chart(f, self._case(), events=charts.event_frame(
                ["capex"], start="2023-06-01"))
        return charts.capex_parts_chart(f, self._case())

    def quarterly_fit(self):
        """Modelled against reported quarters: ``quarter`` (label), ``measure``, ``reported``,
        ``modelled`` [USD bn per quarter], ``ratio`` [1] (modelled / reported)."""
        f = charts.capex_quarterly_frame(self.result)
        wide = f.pivot_table(index=["quarter", "measure"], columns="source", values="capex_usd_bn").dropna()
        wide = wide.reset_index()
        wide["ratio"] = wide["modelled"] / wide["reported"]
        wide["quarter"] = [f"{q.year}Q{(q.month - 1) // 3 + 1}" for q in wide["quarter"]]
        return wide[["quarter", "measure", "reported", "modelled", "ratio"]]

    def drivers_2027(self):
        """:func:`capex_drivers_frame` for the current scenario (what moves 2027 capex)."""
        return capex_drivers_frame(self.scenario)

    def summary(self):
        from ..model import annual

        r = self.result.isel(draw=0)
        ds = _dataset()
        capex = annual(r.capex_usd)
        ppe = annual(r.ppe_capex_usd)
        acc = annual(r.fleet_accelerator_capex_usd)
        installed = annual(r.units_installed_total, "last")
        demand = r.demand_annual_h100e
        reported = ds.capex_annual_usd.sel(series="reported", bound="base")
        guided = ds.capex_annual_usd.sel(series="guidance_latest", year=2026)
        consensus = ds.capex_annual_usd.sel(series="consensus_latest", year=2025, bound="base")
        drivers = self.drivers_2027()
        top = drivers.iloc[0]
        growth = drivers.set_index("parameter").loc["demand_growth_2027"]
        return {
            "capex_usd_bn": {int(y): float(capex.sel(year=y)) / 1e9 for y in range(2024, 2029)},
            "ppe_capex_usd_bn": {int(y): float(ppe.sel(year=y)) / 1e9 for y in range(2024, 2029)},
            "reported_usd_bn": {int(y): float(reported.sel(year=y)) / 1e9 for y in (2024, 2025)},
            "guided_2026_usd_bn": tuple(float(guided.sel(bound=b)) / 1e9 for b in ("low", "base", "high")),
            "consensus_2025_usd_bn": float(consensus) / 1e9,
            "accelerator_capex_usd_bn": {int(y): float(acc.sel(year=y)) / 1e9 for y in (2024, 2025, 2026)},
            "accelerators_installed_end_2025_million": float(installed.sel(year=2025)) / 1e6,
            "accelerator_capex_2024_2025_usd_bn": float(acc.sel(year=[2024, 2025]).sum()) / 1e9,
            "demand_million_h100e": {int(y): float(demand.sel(year=y)) / 1e6 for y in (2026, 2027, 2028)},
            "demand_growth_2027": float(self.scenario.demand_growth_2027),
            "driver_2027": str(top["parameter"]),
            "driver_2027_label": str(top["label"]),
            "driver_2027_capex_usd_bn": (float(top["capex_low_usd_bn"]), float(top["capex_high_usd_bn"])),
            "demand_growth_2027_range": (float(growth["low"]), float(growth["high"])),
            "capex_2027_at_growth_range_usd_bn": (float(growth["capex_low_usd_bn"]),
                                                  float(growth["capex_high_usd_bn"])),
        }

    def report_chart(self, view):
        """As :meth:`chart`; the annual view over the precomputed Nvidia price grid (a slider under it)."""
        return self.static_view() if view == "annual: reported, guided, modelled" else self.chart(view)

    def static_view(self):
        f = nvidia_price_grid_frame(self.scenario)
        return charts.capex_annual_chart(f, "Nvidia price varied (slider under the chart), other inputs as set",
                                         initial_price_pct=100.0)
