"""Costs: accelerator, server and facility capex, depreciation, cost per H100e-hour.

Thin, named entry points to the formulas of :data:`chipsuite.formulas.FORMULAS`.

>>> accelerator_capex_usd(units_delivered=10, unit_price_usd=30000, is_nvidia=1,
...                       nvidia_price_multiplier=1.2, nvidia_effective_price_factor=0.9)
324000.0
>>> round(cost_per_h100e_hour_usd(depreciation_usd=1e6, electricity_cost_usd=2e5, h100e_powered=800), 4)
0.6845
"""

from .formulas import FORMULAS, straight_line_depreciation
from .quarters import HOURS_PER_QUARTER

__all__ = ["accelerator_capex_usd", "server_network_capex_usd", "facility_capex_usd", "straight_line_depreciation",
           "cost_per_h100e_hour_usd"]


def accelerator_capex_usd(units_delivered, unit_price_usd, is_nvidia, nvidia_price_multiplier=1.0,
                          nvidia_effective_price_factor=1.0, engine="numpy"):
    """Accelerator capex: units x list price, Nvidia prices x multiplier x bargaining factor. [USD]

    ``is_nvidia`` is 1 for Nvidia generations and 0 for MTIA (paid at list price).
    """
    return FORMULAS["accelerator_capex_usd"].evaluate(
        dict(units_delivered=units_delivered, unit_price_usd=unit_price_usd, is_nvidia=is_nvidia,
             is_mtia=1 - is_nvidia, nvidia_price_multiplier=nvidia_price_multiplier,
             nvidia_effective_price_factor=nvidia_effective_price_factor), engine)


def server_network_capex_usd(accelerator_capex_usd, server_network_capex_ratio, engine="numpy"):
    """Server, rack and network capex as a ratio of accelerator capex. [USD]"""
    return FORMULAS["server_network_capex_usd"].evaluate(
        dict(fleet_accelerator_capex_usd=accelerator_capex_usd,
             server_network_capex_ratio=server_network_capex_ratio), engine)


def facility_capex_usd(facility_capacity_additions_mw, facility_capex_per_mw, engine="numpy"):
    """Data-centre construction capex: capacity added [MW] x cost [USD/MW]. [USD]"""
    return FORMULAS["facility_capex_usd"].evaluate(
        dict(facility_capacity_additions_mw=facility_capacity_additions_mw,
             facility_capex_per_mw=facility_capex_per_mw), engine)


def cost_per_h100e_hour_usd(depreciation_usd, electricity_cost_usd, h100e_powered,
                            hours_per_quarter=HOURS_PER_QUARTER, engine="numpy"):
    """(Depreciation [USD] + electricity [USD]) per powered H100e-hour in a quarter. [USD/h]"""
    return FORMULAS["cost_per_h100e_hour_usd"].evaluate(
        dict(depreciation_usd=depreciation_usd, electricity_cost_total_usd=electricity_cost_usd,
             h100e_powered=h100e_powered, hours_per_quarter=hours_per_quarter), engine)
