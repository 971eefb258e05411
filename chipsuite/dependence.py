"""Supplier dependence: shares, concentration, bargaining, savings, the scarcity tax.

Thin, named entry points to the formulas of :data:`chipsuite.formulas.FORMULAS`.

>>> round(hhi(nvidia=0.6, amd=0.1, mtia=0.2, cloud_tpu=0.1), 12)
0.42
>>> nvidia_effective_price_factor(mtia_share_purchases=0.5, bargaining_elasticity=0.2, bargaining_cap=0.15)
0.9
>>> nvidia_premium_share(nvidia_gross_margin=0.75, competitive_gross_margin=0.5)
0.5
"""

from .formulas import FORMULAS

__all__ = ["share", "hhi", "nvidia_effective_price_factor", "savings_vs_all_nvidia_usd", "nvidia_premium_share"]


def share(part, total, engine="numpy"):
    """``part / total``, 0 where ``total`` is 0 (e.g. Nvidia units / all units). [1]"""
    return FORMULAS["nvidia_share_units"].evaluate(
        dict(nvidia_units_installed=part, units_installed_total=total), engine)


def hhi(nvidia, amd, mtia, cloud_tpu, cloud_nvidia=0.0, engine="numpy"):
    """Herfindahl-Hirschman index over chip vendors (0-1; 1 = a single supplier). [1]

    Arguments are capabilities (or shares) per supplier; Nvidia GPUs in rented clouds count as Nvidia.
    """
    total = nvidia + amd + mtia + cloud_tpu + cloud_nvidia
    return FORMULAS["hhi"].evaluate(dict(nvidia_h100e=nvidia, cloud_nvidia_h100e=cloud_nvidia, amd_h100e=amd,
                                         mtia_h100e=mtia, cloud_tpu_h100e=cloud_tpu, h100e_all=total), engine)


def nvidia_effective_price_factor(mtia_share_purchases, bargaining_elasticity, bargaining_cap, engine="numpy"):
    """Nvidia price relative to list: ``1 - min(elasticity x in-house share, cap)``. [1]"""
    return FORMULAS["nvidia_effective_price_factor"].evaluate(
        dict(mtia_share_purchases_h100e=mtia_share_purchases, bargaining_elasticity=bargaining_elasticity,
             bargaining_cap=bargaining_cap), engine)


def savings_vs_all_nvidia_usd(all_nvidia_capex_usd, it_value_usd, nre_usd, engine="numpy"):
    """Systems value of an all-Nvidia fleet of equal H100e minus the actual systems value and MTIA NRE. [USD]"""
    return FORMULAS["savings_vs_all_nvidia_usd"].evaluate(
        dict(all_nvidia_capex_usd=all_nvidia_capex_usd, it_value_usd=it_value_usd, nre_usd=nre_usd), engine)


def nvidia_premium_share(nvidia_gross_margin, competitive_gross_margin, engine="numpy"):
    """Share of Nvidia's price above what a supplier with a competitive margin would charge. [1]

    ``1 - (1 - nvidia_gross_margin) / (1 - competitive_gross_margin)``, never below 0.
    """
    return FORMULAS["nvidia_premium_share"].evaluate(
        dict(nvidia_gross_margin=nvidia_gross_margin, competitive_gross_margin=competitive_gross_margin), engine)
