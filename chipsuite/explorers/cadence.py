"""MTIA cadence and slips (notebook 01)."""

from __future__ import annotations

import numpy as np

from .. import charts
from .base import Control, Explorer
from .grids import cadence_grid_frame, _quarter_value

__all__ = ["CadenceExplorer"]


class CadenceExplorer(Explorer):
    """MTIA cadence and slips: MTIA share, fleet by generation (owned and rented), performance per watt,
    NRE vs savings (on the system-cost basis)."""

    title = "MTIA cadence explorer"
    VIEWS = ("MTIA share by workload", "fleet by generation", "cadence comparison", "performance per watt",
             "design cost vs savings")
    CONTROLS = {
        "cadence_months": Control("slider", "MTIA cadence [months]", min=3, max=18, step=3,
                                  param="mtia_cadence", scale=1 / 3),
        "slip_quarters": Control("slider", "slip per generation [quarters]", min=0, max=2, step=0.25,
                                 param="mtia_slip_per_generation"),
        "view": Control("select", "chart", default=VIEWS[0], options=VIEWS),
    }

    REPORT_DEFAULT = "cadence comparison"

    def _case(self):
        return (f"cadence {self.values['cadence_months']:g} months, slip "
                f"{self.values['slip_quarters']:g} quarters/generation")

    def chart_data(self, view=None):
        view = view or self.values["view"]
        r = self.result
        if view == "MTIA share by workload":
            return charts.mtia_share_frame(r)
        if view == "fleet by generation":
            return charts.fleet_by_generation_frame(r)
        if view == "cadence comparison":
            slips = sorted({0.0, 0.5, 1.0, float(self.values["slip_quarters"])})
            cadences = sorted({6.0, 12.0, 18.0, float(self.values["cadence_months"])})
            f = cadence_grid_frame(self.scenario, cadences, slips)
            return f[f["slip_quarters"] == float(self.values["slip_quarters"])].reset_index(drop=True)
        if view == "performance per watt":
            return charts.perf_per_watt_frame(r)
        if view == "design cost vs savings":
            return charts.nre_savings_frame(r)
        raise ValueError(f"unknown view {view!r}; views: {list(self.VIEWS)}")

    def chart(self, view=None):
        view = view or self.values["view"]
        f = self.chart_data(view)
        case = self._case()
        if view == "MTIA share by workload":
            return charts.mtia_share_chart(f, case, events=charts.event_frame(["chips"], start="2025-06-01"))
        if view == "fleet by generation":
            return charts.fleet_by_generation_chart(f, case, events=charts.event_frame(["chips"]))
        if view == "cadence comparison":
            return charts.cadence_comparison_chart(f, f"slip {self.values['slip_quarters']:g} quarters/generation")
        if view == "performance per watt":
            return charts.perf_per_watt_chart(f, case)
        return charts.nre_savings_chart(f, case)

    def summary(self):
        r = self.result.isel(draw=0)
        share = _quarter_value(r.mtia_share_h100e, "2027Q4").item()
        purchases = _quarter_value(r.mtia_share_purchases_h100e, "2027Q4").item()
        starts = r.mtia_volume_start_index.values
        labels = list(r.quarter_label.values)
        start_labels = {str(g): (labels[int(np.floor(s))] if 0 <= s < len(labels) else f"after {labels[-1][:4]}")
                        for g, s in zip(r.mtia_generation.values, starts)}
        return {"mtia_share_h100e_2027q4": share, "mtia_share_purchases_2027q4": purchases,
                "volume_start": start_labels,
                "nre_usd_bn_total": float(r.nre_usd.sum()) / 1e9,
                "net_savings_usd_bn_2026_2030": float(r.savings_vs_all_nvidia_usd.sel(
                    quarter=(r.quarter.dt.year >= 2026) & (r.quarter.dt.year <= 2030)).sum()) / 1e9}

    def report_chart(self, view):
        """As :meth:`chart`; the cadence comparison over the precomputed cadence x slip grid, with
        both as menus under the chart."""
        return self.static_view() if view == "cadence comparison" else self.chart(view)

    def static_view(self):
        f = cadence_grid_frame(self.scenario)
        cad = float(self.values["cadence_months"])
        slip = float(self.values["slip_quarters"])
        if cad not in set(f["cadence_months"]) or slip not in set(f["slip_quarters"]):
            f = cadence_grid_frame(self.scenario, sorted({6.0, 12.0, 18.0, cad}), sorted({0.0, 0.25, 0.5, 1.0, slip}))
        return charts.cadence_comparison_chart(f, "cadence grid: choose cadence and slip under the chart",
                                               cadence=cad, slip=slip)
