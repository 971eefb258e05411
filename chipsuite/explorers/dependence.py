"""Nvidia dependence: shares, concentration, savings, break-even, minimum volume (notebook 03)."""

from __future__ import annotations

from .. import charts
from .base import Control, Explorer
from .grids import breakeven_frame, min_volume_frame, _quarter_value

__all__ = ["DependenceExplorer"]


class DependenceExplorer(Explorer):
    """Nvidia dependence: shares, concentration, savings, break-even map, the deal's minimum volume."""

    title = "Nvidia dependence explorer"
    VIEWS = ("shares", "concentration (HHI)", "design cost vs savings", "break-even map", "minimum volume")
    CONTROLS = {
        "nvidia_price_multiplier": Control("slider", "Nvidia price [x list]", min=0.5, max=2.0, step=0.05,
                                           param="nvidia_price_multiplier"),
        "bargaining_elasticity": Control("slider", "bargaining elasticity [1]", min=0.0, max=1.0, step=0.05,
                                         param="bargaining_elasticity"),
        "min_units_thousand": Control("slider", "Nvidia minimum [k units/quarter]", min=0, max=300, step=25,
                                      param="nvidia_min_units_per_quarter", scale=1e3),
        "view": Control("select", "chart", default=VIEWS[0], options=VIEWS),
    }
    breakeven_year = 2028

    def _case(self):
        return (f"Nvidia price x{self.values['nvidia_price_multiplier']:.2f}, minimum "
                f"{self.values['min_units_thousand']:g}k units/quarter")

    def chart_data(self, view=None):
        view = view or self.values["view"]
        r = self.result
        if view == "shares":
            return charts.dependence_shares_frame(r)
        if view == "concentration (HHI)":
            return charts.hhi_frame(r)
        if view == "design cost vs savings":
            return charts.nre_savings_frame(r)
        if view == "break-even map":
            return breakeven_frame(self.scenario.replace(nvidia_price_multiplier=1.0), year=self.breakeven_year)
        if view == "minimum volume":
            return min_volume_frame(self.scenario)
        raise ValueError(f"unknown view {view!r}; views: {list(self.VIEWS)}")

    def chart(self, view=None):
        view = view or self.values["view"]
        f = self.chart_data(view)
        case = self._case()
        if view == "shares":
            return charts.dependence_shares_chart(f, case, events=charts.event_frame(["deal"], start="2025-01-01"))
        if view == "concentration (HHI)":
            return charts.hhi_chart(f, case)
        if view == "design cost vs savings":
            return charts.nre_savings_chart(f, case)
        if view == "break-even map":
            return charts.breakeven_chart(f, "scenario with Nvidia price varied", year=self.breakeven_year)
        return charts.min_volume_chart(f, case)

    def summary(self):
        r = self.result.isel(draw=0)
        years = r.quarter.dt.year
        nv = r.nvidia_accelerator_capex_usd.sel(quarter=(years >= 2026) & (years <= 2028)).sum().item()
        all_nv = r.all_nvidia_capex_usd.sel(quarter=(years >= 2026) & (years <= 2028)).sum().item()
        it = r.it_capex_usd.sel(quarter=(years >= 2026) & (years <= 2028)).sum().item()
        savings = r.savings_vs_all_nvidia_usd.sel(quarter=(years >= 2026) & (years <= 2028)).sum().item()
        return {
            "nvidia_accelerator_capex_2026_2028_usd_bn": nv / 1e9,
            "all_nvidia_it_capex_2026_2028_usd_bn": all_nv / 1e9,
            "it_capex_2026_2028_usd_bn": it / 1e9,
            "net_savings_2026_2028_usd_bn": savings / 1e9,
            "nvidia_share_h100e_2027q4": _quarter_value(r.nvidia_share_h100e, "2027Q4").item(),
            "hhi_2027q4": _quarter_value(r.hhi, "2027Q4").item(),
            "nvidia_price_factor_2027q4": _quarter_value(r.nvidia_effective_price_factor, "2027Q4").item(),
        }

    def static_view(self):
        f = min_volume_frame(self.scenario)
        return charts.min_volume_chart(f, "Nvidia minimum volume varied, other inputs base case")
