"""Capex: modelled against reported and guided (notebook 02)."""

from __future__ import annotations

from .. import charts
from .base import Control, Explorer
from .grids import nvidia_price_grid_frame, _dataset

__all__ = ["CapexExplorer"]


class CapexExplorer(Explorer):
    """Capex: modelled against reported and guided; parts; Nvidia price and cost ratios."""

    title = "Capex explorer"
    VIEWS = ("annual: reported, guided, modelled", "quarterly", "by part")
    CONTROLS = {
        "nvidia_price_multiplier": Control("slider", "Nvidia price [x list]", min=0.5, max=2.0, step=0.05,
                                           param="nvidia_price_multiplier"),
        "server_network_capex_ratio": Control("slider", "servers+network per USD of chips", min=0.0, max=1.5,
                                              step=0.05, param="server_network_capex_ratio"),
        "facility_capex_usd_m_per_mw": Control("slider", "facility capex [USD m per MW]", min=4, max=25, step=1,
                                               param="facility_capex_per_mw", scale=1e6),
        "view": Control("select", "chart", default=VIEWS[0], options=VIEWS),
    }

    def _case(self):
        return (f"Nvidia price x{self.values['nvidia_price_multiplier']:.2f}, servers+network "
                f"{self.values['server_network_capex_ratio']:.2f}, facilities "
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

    def summary(self):
        from ..model import annual

        r = self.result.isel(draw=0)
        ds = _dataset()
        capex = annual(r.capex_usd)
        acc = annual(r.fleet_accelerator_capex_usd)
        installed = annual(r.units_installed_total, "last")
        reported = ds.capex_annual_usd.sel(series="reported", bound="base")
        guided = ds.capex_annual_usd.sel(series="guidance_latest", year=2026)
        consensus = ds.capex_annual_usd.sel(series="consensus_latest", year=2025, bound="base")
        return {
            "capex_usd_bn": {int(y): float(capex.sel(year=y)) / 1e9 for y in (2024, 2025, 2026, 2027)},
            "reported_usd_bn": {int(y): float(reported.sel(year=y)) / 1e9 for y in (2024, 2025)},
            "guided_2026_usd_bn": tuple(float(guided.sel(bound=b)) / 1e9 for b in ("low", "base", "high")),
            "consensus_2025_usd_bn": float(consensus) / 1e9,
            "accelerator_capex_usd_bn": {int(y): float(acc.sel(year=y)) / 1e9 for y in (2024, 2025, 2026)},
            "accelerators_installed_end_2025_million": float(installed.sel(year=2025)) / 1e6,
            "accelerator_capex_2024_2025_usd_bn": float(acc.sel(year=[2024, 2025]).sum()) / 1e9,
        }

    def static_view(self):
        f = nvidia_price_grid_frame(self.scenario)
        return charts.capex_annual_chart(f, "Nvidia price varied (slider under the chart), other inputs as set",
                                         initial_price_pct=100.0)
