"""Energy and sites: power against capacity, energy, cost, emissions, supply mix (notebook 04)."""

from __future__ import annotations

from .. import charts
from .base import Control, Explorer
from .grids import supply_mix_grid_frame

__all__ = ["EnergyExplorer"]


class EnergyExplorer(Explorer):
    """Energy and sites: power ramp against capacity, energy, cost, emissions; supply mix."""

    title = "Energy and sites explorer"
    VIEWS = ("site power vs capacity", "fleet power vs capacity", "energy, cost and emissions")
    CONTROLS = {
        "supply_share_gas": Control("slider", "share of dedicated gas [1]", min=0.0, max=1.0, step=0.05,
                                    param="supply_share_gas"),
        "supply_share_nuclear": Control("slider", "share of contracted nuclear [1]", min=0.0, max=1.0, step=0.05,
                                        param="supply_share_nuclear"),
        "utilisation": Control("slider", "utilisation [share of TDP]", min=0.3, max=1.0, step=0.05,
                               param="utilisation"),
        "view": Control("select", "chart", default=VIEWS[2], options=VIEWS),
    }

    def _case(self):
        return (f"gas {self.values['supply_share_gas']:.0%}, nuclear {self.values['supply_share_nuclear']:.0%}, "
                f"utilisation {self.values['utilisation']:.0%}")

    def chart_data(self, view=None):
        view = view or self.values["view"]
        if view == "site power vs capacity":
            return charts.site_power_frame(self.result)
        if view == "fleet power vs capacity":
            return charts.fleet_power_frame(self.result)
        if view == "energy, cost and emissions":
            return charts.energy_annual_frame(self.result)
        raise ValueError(f"unknown view {view!r}; views: {list(self.VIEWS)}")

    def chart(self, view=None):
        view = view or self.values["view"]
        f = self.chart_data(view)
        if view == "site power vs capacity":
            return charts.site_power_chart(f, self._case())
        if view == "fleet power vs capacity":
            return charts.fleet_power_chart(f, self._case(), events=charts.event_frame(
                ["site"], start="2025-01-01"))
        return charts.energy_annual_chart(f, self._case())

    def summary(self):
        from ..model import annual

        r = self.result.isel(draw=0)
        energy = annual(r.energy_mwh.sum("site")) / 1e6
        cost = annual(r.electricity_cost_usd.sum("site")) / 1e9
        emissions = annual(r.emissions_tco2.sum("site")) / 1e6
        cap = annual(r.site_capacity_mw, "last")
        unplaced = annual(r.unplaced_power_mw, "last")
        return {
            "energy_twh": {y: float(energy.sel(year=y)) for y in (2025, 2027, 2030)},
            "electricity_cost_usd_bn": {y: float(cost.sel(year=y)) for y in (2025, 2027, 2030)},
            "emissions_mtco2": {y: float(emissions.sel(year=y)) for y in (2025, 2027, 2030)},
            "capacity_end_2027_mw": {str(s): float(cap.sel(year=2027, site=s)) for s in r.site.values},
            "unplaced_it_power_end_2027_mw": float(unplaced.sel(year=2027)),
        }

    def static_view(self):
        gas = float(self.values["supply_share_gas"])
        nuclear = float(self.values["supply_share_nuclear"])
        f = supply_mix_grid_frame(self.scenario, sorted({0.0, 0.08, 0.25, 0.5, gas}),
                                  sorted({0.0, 0.05, 0.25, 0.5, nuclear}))
        return charts.emissions_mix_chart(f, gas_pct=float(round(gas * 100)), nuclear_pct=float(round(nuclear * 100)))
