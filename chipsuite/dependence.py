"""Nvidia dependence: shares, supplier concentration, bargaining, savings.

Thin, named entry points to the formulas of :data:`chipsuite.formulas.FORMULAS`.

>>> hhi(nvidia_share=0.7, mtia_share=0.3)
0.58
>>> nvidia_effective_price_factor(mtia_share_purchases=0.5, bargaining_elasticity=0.2, bargaining_cap=0.15)
0.9
"""

from .formulas import FORMULAS

__all__ = ["share", "hhi", "nvidia_effective_price_factor", "savings_vs_all_nvidia_usd"]


def share(part, total, engine="numpy"):
    """``part / total``, 0 where ``total`` is 0 (e.g. Nvidia units / all units). [1]"""
    return FORMULAS["nvidia_share_units"].evaluate(
        dict(nvidia_units_installed=part, units_installed_total=total), engine)


def hhi(nvidia_share, mtia_share, engine="numpy"):
    """Herfindahl-Hirschman index over the two suppliers (0-1; 1 = a single supplier). [1]"""
    return FORMULAS["hhi"].evaluate(dict(nvidia_share_h100e=nvidia_share, mtia_share_h100e=mtia_share), engine)


def nvidia_effective_price_factor(mtia_share_purchases, bargaining_elasticity, bargaining_cap, engine="numpy"):
    """Nvidia price relative to list: ``1 - min(elasticity x in-house share, cap)``. [1]"""
    return FORMULAS["nvidia_effective_price_factor"].evaluate(
        dict(mtia_share_purchases_h100e=mtia_share_purchases, bargaining_elasticity=bargaining_elasticity,
             bargaining_cap=bargaining_cap), engine)


def savings_vs_all_nvidia_usd(all_nvidia_capex_usd, it_capex_usd, nre_usd, engine="numpy"):
    """Capex of an all-Nvidia fleet of equal H100e minus actual IT capex and MTIA NRE. [USD]"""
    return FORMULAS["savings_vs_all_nvidia_usd"].evaluate(
        dict(all_nvidia_capex_usd=all_nvidia_capex_usd, it_capex_usd=it_capex_usd, nre_usd=nre_usd), engine)
