"""Nvidia dependence: shares owned and rented, every supplier, concentration, savings, break-even,
the deal's committed minimum (notebook 03)."""

from __future__ import annotations

from .. import charts
from .base import Control, Explorer
from .grids import breakeven_frame, min_volume_frame, _quarter_value

__all__ = ["DependenceExplorer"]


class DependenceExplorer(Explorer):
    """Nvidia dependence: shares (owned and incl. rented), suppliers, HHI, savings, break-even, the floor."""

    title = "Nvidia dependence explorer"
    VIEWS = ("shares", "suppliers (owned and rented)", "supplier shares of spend", "concentration (HHI)",
             "design cost vs savings", "break-even map", "Nvidia deal minimum (floor)")
    CONTROLS = {
        "nvidia_price_multiplier": Control("slider", "Nvidia price [x list]", min=0.5, max=2.0, step=0.05,
                                           param="nvidia_price_multiplier"),
        "bargaining_elasticity": Control("slider", "bargaining elasticity [price cut per unit of MTIA share]",
                                         min=0.0, max=1.0, step=0.05,
                                         param="bargaining_elasticity"),
        "nvidia_deal_scale": Control("slider", "Nvidia deal minimum [x committed]", min=0, max=5, step=0.5,
                                     param="nvidia_deal_scale"),
        "amd_deal_scale": Control("slider", "AMD deal [x schedule]", min=0, max=3, step=0.25,
                                  param="amd_deal_scale"),
        "rental_scale": Control("slider", "rented cloud capacity [x contracts]", min=0, max=3, step=0.25,
                                param="rental_scale"),
        "view": Control("select", "chart", default=VIEWS[0], options=VIEWS),
    }
    breakeven_year = 2028
    savings_years = (2026, 2030)

    def _case(self):
        v = self.values
        return (f"Nvidia price x{v['nvidia_price_multiplier']:.2f}, deal minimum x{v['nvidia_deal_scale']:g}, "
                f"AMD x{v['amd_deal_scale']:g}, rentals x{v['rental_scale']:g}")

    def chart_data(self, view=None):
        view = view or self.values["view"]
        r = self.result
        if view == "shares":
            return charts.dependence_shares_frame(r)
        if view == "suppliers (owned and rented)":
            return charts.supplier_frame(r)
        if view == "supplier shares of spend":
            return charts.supplier_frame(r, basis="spend")
        if view == "concentration (HHI)":
            return charts.hhi_frame(r)
        if view == "design cost vs savings":
            return charts.nre_savings_frame(r)
        if view == "break-even map":
            return breakeven_frame(self.scenario.replace(nvidia_price_multiplier=1.0), year=self.breakeven_year)
        if view == "Nvidia deal minimum (floor)":
            return min_volume_frame(self.scenario, savings_years=self.savings_years)
        raise ValueError(f"unknown view {view!r}; views: {list(self.VIEWS)}")

    def chart(self, view=None):
        view = view or self.values["view"]
        f = self.chart_data(view)
        case = self._case()
        if view == "shares":
            return charts.dependence_shares_chart(f, case, events=charts.event_frame(["deal"], start="2025-01-01"))
        if view == "suppliers (owned and rented)":
            return charts.supplier_chart(f, case, events=charts.event_frame(["deal"], start="2025-06-01"))
        if view == "supplier shares of spend":
            return charts.supplier_chart(f, case, shares=True)
        if view == "concentration (HHI)":
            return charts.hhi_chart(f, case)
        if view == "design cost vs savings":
            return charts.nre_savings_chart(f, case)
        if view == "break-even map":
            return charts.breakeven_chart(f, "scenario with Nvidia price varied", year=self.breakeven_year)
        return charts.min_volume_chart(f, case, savings_years=self.savings_years)

    def summary(self):
        r = self.result.isel(draw=0)
        years = r.quarter.dt.year

        def total(da, first, last):
            return float(da.sel(quarter=(years >= first) & (years <= last)).sum()) / 1e9

        y0, y1 = self.savings_years
        at = lambda name: _quarter_value(r[name], "2027Q4").item()  # noqa: E731
        suppliers = {str(s): float(v) for s, v in zip(r.supplier.values,
                                                       _quarter_value(r.supplier_share_h100e, "2027Q4").values)}
        return {
            "nvidia_share_h100e_2027q4": at("nvidia_share_h100e"),
            "nvidia_share_h100e_incl_rented_2027q4": at("nvidia_share_h100e_incl_rented"),
            "nvidia_share_spend_incl_rented_2027q4": at("nvidia_share_spend_incl_rented"),
            "mtia_share_h100e_2027q4": at("mtia_share_h100e"),
            "amd_share_h100e_2027q4": at("amd_share_h100e"),
            "rented_share_h100e_2027q4": at("rented_share_h100e"),
            "supplier_share_h100e_2027q4": suppliers,
            "hhi_2027q4": at("hhi"),
            "nvidia_price_factor_2027q4": at("nvidia_effective_price_factor"),
            "nvidia_accelerator_capex_2026_2028_usd_bn": total(r.nvidia_accelerator_capex_usd, 2026, 2028),
            f"it_capex_{y0}_{y1}_usd_bn": total(r.it_capex_usd, y0, y1),
            f"all_nvidia_capex_{y0}_{y1}_usd_bn": total(r.all_nvidia_capex_usd, y0, y1),
            f"cloud_cost_{y0}_{y1}_usd_bn": total(r.cloud_cost_usd, y0, y1),
            f"net_savings_{y0}_{y1}_usd_bn": total(r.savings_vs_all_nvidia_usd, y0, y1),
            f"scarcity_tax_paid_{y0}_{y1}_usd_bn": total(r.scarcity_tax_usd, y0, y1),
            f"scarcity_tax_avoided_{y0}_{y1}_usd_bn": total(r.scarcity_tax_avoided_usd, y0, y1),
            "nvidia_premium_share": float(r.nvidia_premium_share),
            "nvidia_floor_units_thousand": float(r.nvidia_floor_units.sum()) / 1e3,
            "nvidia_min_units_thousand": float(r.nvidia_min_units.sum()) / 1e3,
        }
