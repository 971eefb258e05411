"""Costs: chip and system prices, capex paid, facility capex, depreciation, cost per H100e-hour.

Thin, named entry points to the formulas of :data:`chipsuite.formulas.FORMULAS`. One cost basis:
every generation (Nvidia, AMD, MTIA) has a system cost per accelerator (chip plus its share of
server, rack, scale-up and network); the chip part of Nvidia's price carries the price multiplier
and the bargaining factor, the rest of the system the component price index.

>>> round(chip_price_usd(unit_price_usd=30000, is_nvidia=1, nvidia_price_multiplier=1.2,
...                      nvidia_effective_price_factor=0.9), 6)
32400.0
>>> round(system_share_price_usd(system_cost_usd=60000, unit_price_usd=35000, component_price_index=1.1), 6)
27500.0
>>> float(payment_profile(np.array([0.0, 10.0, 0.0, 0.0]), 0.2, 0.3)[1])
5.0
>>> round(cost_per_h100e_hour_usd(capital_charge_usd=1e6, electricity_cost_usd=2e5, h100e_powered=800), 4)
0.6845
"""

import numpy as np  # noqa: F401  (doctests)

from .formulas import FORMULAS, paid, straight_line_depreciation
from .model.stockflow import payment_profile
from .quarters import HOURS_PER_QUARTER

__all__ = ["chip_price_usd", "system_share_price_usd", "facility_capex_usd", "straight_line_depreciation", "paid",
           "payment_profile", "cost_per_h100e_hour_usd"]


def chip_price_usd(unit_price_usd, is_nvidia, nvidia_price_multiplier=1.0, nvidia_effective_price_factor=1.0,
                   engine="numpy"):
    """Price paid per chip: Nvidia's list price x multiplier x bargaining factor; others as listed. [USD]

    ``is_nvidia`` is 1 for Nvidia generations and 0 for MTIA and AMD.
    """
    return FORMULAS["chip_price_usd"].evaluate(
        dict(unit_price_usd=unit_price_usd, is_nvidia=is_nvidia, nvidia_price_multiplier=nvidia_price_multiplier,
             nvidia_effective_price_factor=nvidia_effective_price_factor), engine)


def system_share_price_usd(system_cost_usd, unit_price_usd, component_price_index=1.0, engine="numpy"):
    """Server, rack and network capex per accelerator: (system cost - chip) x component price index. [USD]"""
    return FORMULAS["system_share_price_usd"].evaluate(
        dict(system_cost_usd=system_cost_usd, unit_price_usd=unit_price_usd,
             component_price_index=component_price_index), engine)


def facility_capex_usd(facility_capacity_additions_mw, facility_capex_per_mw, engine="numpy"):
    """Data-centre construction capex: capacity added [MW] x cost [USD/MW]. [USD]"""
    return FORMULAS["facility_capex_usd"].evaluate(
        dict(facility_capacity_additions_mw=facility_capacity_additions_mw,
             facility_capex_per_mw=facility_capex_per_mw), engine)


def cost_per_h100e_hour_usd(capital_charge_usd, electricity_cost_usd, h100e_powered, lease_cost_usd=0.0,
                            cloud_cost_usd=0.0, rented_h100e=0.0, hours_per_quarter=HOURS_PER_QUARTER, engine="numpy"):
    """Total cost of ownership per H100e-hour in a quarter. [USD/h]

    (capital charge + electricity + leases + cloud) [USD] / ((powered + rented H100e) x hours).
    """
    return FORMULAS["cost_per_h100e_hour_usd"].evaluate(
        dict(capital_charge_usd=capital_charge_usd, electricity_cost_total_usd=electricity_cost_usd,
             lease_cost_usd=lease_cost_usd, cloud_cost_usd=cloud_cost_usd, h100e_powered=h100e_powered,
             rented_h100e_total=rented_h100e, hours_per_quarter=hours_per_quarter), engine)
