"""Energy: power, placement by site, electricity use, cost and emissions.

Thin, named entry points to the formulas of :data:`chipsuite.formulas.FORMULAS` (the single
source of each equation). Each accepts scalars, numpy arrays or xarray DataArrays.

>>> round(it_power_mw(units_installed=1000, tdp_w=700, utilisation=0.8, system_power_overhead=1.5), 12)
0.84
>>> round(energy_mwh(site_it_power_mw=100, pue=1.1), 6)
241065.0
>>> emissions_tco2(energy_mwh=1000, carbon_intensity_gco2_per_kwh=392)
392.0

Emissions of a run come from the energy stage (:mod:`chipsuite.model.energy`): the dated supply
contracts per site and quarter, grid electricity for the rest; :func:`emissions_tco2` is the unit
conversion it applies.
"""

from .formulas import FORMULAS
from .quarters import HOURS_PER_QUARTER

__all__ = ["it_power_mw", "provisioned_it_power_mw", "facility_power_mw", "energy_mwh", "electricity_cost_usd",
           "emissions_tco2"]


def provisioned_it_power_mw(units_installed, tdp_w, system_power_overhead, engine="numpy"):
    """Nameplate IT power of accelerators and their servers. [MW]"""
    return FORMULAS["provisioned_it_power_mw"].evaluate(
        dict(units_installed=units_installed, tdp_w=tdp_w, system_power_overhead=system_power_overhead), engine)


def it_power_mw(units_installed, tdp_w, utilisation, system_power_overhead, placed_fraction=1.0, engine="numpy"):
    """Average IT power of powered accelerators. [MW]

    ``units_installed`` [units] x ``placed_fraction`` [1] x ``tdp_w`` [W] x ``utilisation`` [1]
    x ``system_power_overhead`` [1] / 1e6.
    """
    return FORMULAS["it_power_mw"].evaluate(
        dict(units_installed=units_installed, placed_fraction=placed_fraction, tdp_w=tdp_w,
             utilisation=utilisation, system_power_overhead=system_power_overhead), engine)


def facility_power_mw(placed_it_power_mw, site_placement_share, pue, engine="numpy"):
    """Nameplate facility power at a site: placed IT power x the site's share x PUE. [MW]"""
    return FORMULAS["facility_power_mw"].evaluate(
        dict(placed_it_power_mw=placed_it_power_mw, site_placement_share=site_placement_share, pue=pue), engine)


def energy_mwh(site_it_power_mw, pue, hours_per_quarter=HOURS_PER_QUARTER, engine="numpy"):
    """Facility electricity in a quarter: average IT power [MW] x PUE [1] x hours [h]. [MWh]"""
    return FORMULAS["energy_mwh"].evaluate(
        dict(site_it_power_mw=site_it_power_mw, pue=pue, hours_per_quarter=hours_per_quarter), engine)


def electricity_cost_usd(energy_mwh, electricity_price_usd_per_mwh, engine="numpy"):
    """Electricity cost: energy [MWh] x price [USD/MWh]. [USD]"""
    return FORMULAS["electricity_cost_usd"].evaluate(
        dict(energy_mwh=energy_mwh, electricity_price_usd_per_mwh=electricity_price_usd_per_mwh), engine)


def emissions_tco2(energy_mwh, carbon_intensity_gco2_per_kwh):
    """CO2 from electricity: energy [MWh] x intensity [gCO2/kWh = kgCO2/MWh] / 1e3. [tCO2]"""
    return energy_mwh * carbon_intensity_gco2_per_kwh / 1e3
