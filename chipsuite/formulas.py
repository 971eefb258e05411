"""The formula registry: every element-wise equation of the model, by name, in evaluation order.

Each :class:`Formula` is one line of arithmetic over named, labelled arrays, compiled by
:func:`chipsuite.expr.compile_expression` (a whitelisted AST, never ``eval``). Two engines run the
same validated formulas: ``"numexpr"`` (multi-threaded, few temporaries) and ``"numpy"`` (the
plain reference path that walks the same tree). A formula may also

- sum its values over one dimension (``sum_over``), e.g. fleet totals over ``generation``, or
- spread a quarterly spend over a service life straight-line (``depreciation_life``: the name of
  an input holding the life in quarters): ``(C(t) - C(t - L)) / L`` with ``C`` the cumulative
  spend, linearly interpolated for fractional ``L``, or
- pay a delivered value over the order-to-cash profile (``paid_over``: the two payment shares), or
- give the cash that year-end payments move (``year_end``: the share and the first-quarter mask):
  ``s * q1(t + 1) * X(t + 1) - s * q1(t) * X(t)``.

>>> FORMULAS["energy_mwh"].expression
'site_it_power_mw * pue * hours_per_quarter'
>>> round(FORMULAS["energy_mwh"].evaluate({"site_it_power_mw": 100.0, "pue": 1.1, "hours_per_quarter": 2191.5}), 6)
241065.0

:func:`evaluate_formulas` evaluates the whole registry on a dict of inputs (no data loading), which
is the bulk of the element-wise work of :func:`chipsuite.run`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .expr import NUMEXPR_OPTIONS, compile_expression, evaluate_dataarrays, square_as_product

__all__ = ["FORMULAS", "Formula", "evaluate_formulas", "formula_table", "formula_inputs", "dependents"]


@dataclass(frozen=True)
class Formula:
    """A named equation: ``expression`` text, output ``units`` and ``long_name``."""

    name: str
    expression: str
    units: str
    long_name: str
    sum_over: str | None = None
    depreciation_life: str | None = None
    paid_over: tuple[str, str] | None = None
    year_end: tuple[str, str] | None = None
    inputs: frozenset = field(init=False)

    def __post_init__(self):
        # names are checked by the expression compiler; every identifier is an input
        compiled = compile_expression(self.expression, names=_identifiers(self.expression))
        names = set(compiled.names)
        if self.depreciation_life:
            names.add(self.depreciation_life)
        if self.paid_over:
            names.update(self.paid_over)
        if self.year_end:
            names.update(self.year_end)
        object.__setattr__(self, "inputs", frozenset(names))
        object.__setattr__(self, "_compiled", compiled)

    @property
    def text(self):
        """Canonical text of the expression (what numexpr receives)."""
        return self._compiled.text

    def evaluate(self, values, engine="numpy"):
        """Evaluate on scalars, numpy arrays or xarray DataArrays (labels kept).

        ``values`` maps input names to values; returns a float, ndarray or DataArray.
        """
        import xarray as xr

        if any(isinstance(values[n], xr.DataArray) for n in self._compiled.names):
            out = evaluate_dataarrays(self._compiled, {n: values[n] for n in self._compiled.names}, engine)
            out = out.transpose(*sorted(out.dims, key=_dim_rank))
            if self.sum_over is not None:
                out = out.sum(self.sum_over)
            if self.depreciation_life is not None:
                out = straight_line_depreciation(out, values[self.depreciation_life])
            if self.paid_over is not None:
                out = paid(out, *(values[n] for n in self.paid_over))
            if self.year_end is not None:
                out = year_end_timing(out, *(values[n] for n in self.year_end))
            return out
        if (self.sum_over is not None or self.depreciation_life is not None or self.paid_over is not None
                or self.year_end is not None):
            raise TypeError(f"formula {self.name!r} reduces over a dimension: pass xarray DataArrays")
        arrays = {n: np.asarray(values[n], dtype=float) for n in self._compiled.names}
        out = self._compiled.evaluate(arrays, engine=engine)
        return out.item() if np.ndim(out) == 0 else out


#: canonical order of result dims; others keep their order after these
DIM_ORDER = ("draw", "generation", "site", "workload", "quarter")


def _dim_rank(dim):
    return DIM_ORDER.index(dim) if dim in DIM_ORDER else len(DIM_ORDER)


def _identifiers(text):
    import ast

    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return set()
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - calls


def straight_line_depreciation(spend, life_quarters):
    """Straight-line depreciation of a quarterly ``spend`` [USD] over ``life_quarters``. [USD per quarter]

    ``spend`` is a DataArray with a ``quarter`` dim; ``life_quarters`` a number or a DataArray
    (e.g. one life per draw). Spend before the first quarter is not included.
    """
    import xarray as xr

    from .model.stockflow import lagged_level

    cumulative = spend.cumsum("quarter")
    life = life_quarters if isinstance(life_quarters, xr.DataArray) else xr.DataArray(float(life_quarters))
    lagged = xr.apply_ufunc(lagged_level, cumulative, life, input_core_dims=[["quarter"], []],
                            output_core_dims=[["quarter"]])
    out = (cumulative - lagged.transpose(*cumulative.dims)) / life
    return out.transpose(*spend.dims)


def paid(amount, share_before, share_after):
    """Cash paid per quarter for ``amount`` delivered per quarter. [USD per quarter]

    :func:`chipsuite.model.stockflow.payment_profile` on a DataArray with a ``quarter`` dim;
    ``share_before`` / ``share_after`` are numbers or DataArrays (e.g. one per draw).
    """
    import xarray as xr

    from .model.stockflow import payment_profile

    shares = [s if isinstance(s, xr.DataArray) else xr.DataArray(float(s)) for s in (share_before, share_after)]
    out = xr.apply_ufunc(payment_profile, amount, *shares, input_core_dims=[["quarter"], [], []],
                         output_core_dims=[["quarter"]])
    return out.transpose(*amount.dims)


def year_end_timing(amount, share, first_quarter):
    """Cash moved to the year end out of each year's first quarter. [USD per quarter]

    :func:`chipsuite.model.stockflow.year_end_timing` on a DataArray with a ``quarter`` dim;
    ``share`` a number or DataArray (e.g. one per draw), ``first_quarter`` a DataArray over ``quarter``.
    """
    import xarray as xr

    from .model.stockflow import year_end_timing as timing

    share = share if isinstance(share, xr.DataArray) else xr.DataArray(float(share))
    out = xr.apply_ufunc(timing, amount, share, first_quarter, input_core_dims=[["quarter"], [], ["quarter"]],
                         output_core_dims=[["quarter"]])
    return out.transpose(*amount.dims)


_F = Formula


def _share(part, total):
    """Text of ``part / total``, 0 where ``total`` is 0."""
    return f"where({total} > 0, ({part}) / where({total} > 0, {total}, 1), 0)"


_PAID = ("payment_share_before", "payment_share_after")
_FORMULA_LIST = [
    # --- power and placement (sites hold facility power; the owned fleet is fungible across sites)
    _F("provisioned_it_power_mw", "units_installed * (tdp_w * system_power_overhead / 1e6)", "MW",
       "IT power provisioned for installed accelerators (nameplate, incl. host, network and fans)"),
    _F("fleet_provisioned_it_power_mw", "provisioned_it_power_mw", "MW",
       "IT power needed by the installed fleet (nameplate)", sum_over="generation"),
    _F("site_it_capacity_mw", "site_capacity_mw / pue", "MW", "IT power a site can host"),
    _F("fleet_it_capacity_mw", "site_it_capacity_mw", "MW", "IT power all sites can host", sum_over="site"),
    _F("placed_it_power_mw", "minimum(fleet_provisioned_it_power_mw, fleet_it_capacity_mw)", "MW",
       "IT power placed at sites (nameplate)"),
    _F("unplaced_power_mw", "fleet_provisioned_it_power_mw - placed_it_power_mw", "MW",
       "IT power of installed accelerators that no site can host (nameplate)"),
    _F("placed_fraction", "where(fleet_provisioned_it_power_mw > 0, placed_it_power_mw / "
       "where(fleet_provisioned_it_power_mw > 0, fleet_provisioned_it_power_mw, 1), 1)", "1",
       "fraction of installed accelerators that are placed and powered"),
    _F("unplaced_units", "units_installed * (1 - placed_fraction)", "units",
       "installed accelerators without site power"),
    _F("site_placement_share", _share("site_it_capacity_mw", "fleet_it_capacity_mw"), "1",
       "share of placed IT power at each site (proportional to its IT capacity)"),
    _F("it_power_mw", "units_installed * placed_fraction * (tdp_w * utilisation * system_power_overhead / 1e6)",
       "MW", "average IT power of powered accelerators"),
    _F("fleet_it_power_mw", "it_power_mw", "MW", "average IT power of the fleet", sum_over="generation"),
    _F("site_it_power_mw", "fleet_it_power_mw * site_placement_share", "MW", "average IT power at a site"),
    _F("facility_power_mw", "placed_it_power_mw * site_placement_share * pue", "MW",
       "facility power provisioned at a site (nameplate IT x PUE)"),
    _F("rented_it_power_mw", "rented_units * (tdp_w * utilisation * system_power_overhead / 1e6)", "MW",
       "average IT power of rented accelerators (in the providers' data centres)"),
    # --- energy, electricity cost, emissions
    _F("energy_mwh", "site_it_power_mw * pue * hours_per_quarter", "MWh", "facility electricity use"),
    _F("electricity_cost_usd", "energy_mwh * electricity_price_usd_per_mwh", "USD", "electricity cost"),
    # (emissions: the energy stage, chipsuite.model.energy, from the dated supply contracts)
    # --- prices: bargaining applies once, to Nvidia's chip price (dataset prices are list-level)
    _F("nvidia_effective_price_factor",
       "1 - minimum(bargaining_elasticity * mtia_share_purchases_h100e, bargaining_cap)", "1",
       "Nvidia effective price relative to list, after in-house bargaining"),
    _F("chip_price_usd", "unit_price_usd * (1 - is_nvidia + is_nvidia * nvidia_price_multiplier"
       " * nvidia_effective_price_factor)", "USD", "price paid per accelerator chip"),
    _F("system_share_price_usd", "system_share_usd * component_price_index", "USD",
       "server, rack, scale-up and network capex per accelerator (its share of the system)"),
    # --- what is delivered (valued at delivery) and what is paid (order-to-cash)
    _F("accelerator_value_usd", "units_delivered * chip_price_usd", "USD", "value of accelerators delivered"),
    _F("system_value_usd", "units_delivered * system_share_price_usd", "USD",
       "value of the server, rack and network share of systems delivered"),
    _F("it_value_usd", "accelerator_value_usd + system_value_usd", "USD",
       "value of accelerator systems delivered, all generations", sum_over="generation"),
    _F("nvidia_accelerator_value_usd", "accelerator_value_usd * is_nvidia", "USD",
       "value of Nvidia chips delivered", sum_over="generation"),
    _F("accelerator_capex_usd", "accelerator_value_usd", "USD", "accelerator capex (cash paid)",
       paid_over=_PAID),
    _F("system_capex_usd", "system_value_usd", "USD", "server, rack and network capex (cash paid)",
       paid_over=_PAID),
    _F("fleet_accelerator_capex_usd", "accelerator_capex_usd", "USD", "accelerator capex, all generations",
       sum_over="generation"),
    _F("nvidia_accelerator_capex_usd", "accelerator_capex_usd * is_nvidia", "USD", "Nvidia accelerator capex",
       sum_over="generation"),
    _F("server_network_capex_usd", "system_capex_usd", "USD",
       "server, rack and network capex for accelerators", sum_over="generation"),
    _F("facility_capex_usd", "facility_capex_per_mw * facility_capacity_additions_mw", "USD",
       "data-centre construction capex (owned capacity)"),
    _F("non_ai_capex_usd", "non_ai_capex_2022 ** (1 - non_ai_year_weight) * non_ai_capex_2026 ** non_ai_year_weight"
       " * (1 - non_ai_pause_cut_2023 * rearchitecture_window) / quarters_per_year", "USD",
       "capex not tied to the accelerator fleet (cut in the 2023 construction pause)"),
    _F("it_capex_usd", "fleet_accelerator_capex_usd + server_network_capex_usd", "USD",
       "accelerator, server and network capex"),
    _F("year_end_timing_usd", "it_capex_usd + facility_capex_usd + non_ai_capex_usd", "USD",
       "cash paid at the year end instead of in the next first quarter (+ in Q4, - in Q1)",
       year_end=("year_end_payment_share", "first_quarter_of_year")),
    _F("ppe_capex_usd", "it_capex_usd + facility_capex_usd + non_ai_capex_usd + year_end_timing_usd", "USD",
       "purchases of property and equipment (accelerators, servers and network, facilities, non-AI; "
       "with year-end payments)"),
    _F("finance_lease_principal_usd", "ppe_capex_usd * finance_lease_principal_ratio", "USD",
       "principal payments on finance leases"),
    _F("capex_usd", "ppe_capex_usd + finance_lease_principal_usd", "USD",
       "headline capex: purchases of property and equipment plus finance-lease principal"),
    # --- depreciation and amortisation of the whole asset base
    _F("it_depreciation_usd", "it_capex_usd", "USD", "depreciation of accelerator, server and network capex",
       depreciation_life="useful_life_quarters"),
    _F("facility_depreciation_usd", "facility_capex_usd", "USD", "depreciation of facility capex",
       depreciation_life="facility_life_quarters"),
    _F("non_ai_depreciation_usd", "non_ai_capex_usd", "USD", "depreciation of non-AI capex",
       depreciation_life="non_ai_life_quarters"),
    _F("ai_depreciation_usd", "it_depreciation_usd + facility_depreciation_usd", "USD",
       "depreciation of AI capex (accelerator systems and facilities bought from 2022Q1)"),
    _F("depreciation_usd", "ai_depreciation_usd + non_ai_depreciation_usd + pre2022_depreciation_usd", "USD",
       "depreciation and amortisation of the whole asset base (incl. assets bought before 2022)"),
    # --- opex of compute: leases and rented (cloud) capacity
    _F("lease_cost_usd", "leased_capacity_mw * lease_cost_per_mw_year / quarters_per_year", "USD",
       "lease cost of leased and joint-venture data-centre capacity"),
    _F("cloud_cost_usd", "rented_spend_usd", "USD", "rented (cloud) compute cost", sum_over="generation"),
    # --- fleet totals and supplier dependence
    _F("units_installed_total", "units_installed", "units", "installed accelerators (owned)", sum_over="generation"),
    _F("nvidia_units_installed", "units_installed * is_nvidia", "units", "installed Nvidia GPUs (owned)",
       sum_over="generation"),
    _F("amd_units_installed", "units_installed * is_amd", "units", "installed AMD GPUs (owned)",
       sum_over="generation"),
    _F("mtia_units_installed", "units_installed * is_mtia", "units", "installed MTIA chips",
       sum_over="generation"),
    _F("h100e_total", "h100e", "H100e", "installed capability (owned)", sum_over="generation"),
    _F("nvidia_h100e", "h100e * is_nvidia", "H100e", "installed Nvidia capability (owned)", sum_over="generation"),
    _F("amd_h100e", "h100e * is_amd", "H100e", "installed AMD capability (owned)", sum_over="generation"),
    _F("mtia_h100e", "h100e * is_mtia", "H100e", "installed MTIA capability", sum_over="generation"),
    _F("rented_h100e_total", "rented_h100e", "H100e", "rented capability (cloud)", sum_over="generation"),
    _F("cloud_nvidia_h100e", "rented_h100e * is_nvidia", "H100e", "rented Nvidia capability (cloud)",
       sum_over="generation"),
    _F("cloud_tpu_h100e", "rented_h100e * is_google", "H100e", "rented Google TPU capability (cloud)",
       sum_over="generation"),
    _F("h100e_all", "h100e_total + rented_h100e_total", "H100e", "capability owned and rented"),
    _F("nvidia_it_power_mw", "it_power_mw * is_nvidia", "MW", "average IT power of Nvidia GPUs",
       sum_over="generation"),
    _F("nvidia_share_units", _share("nvidia_units_installed", "units_installed_total"), "1",
       "Nvidia share of installed accelerator units (owned)"),
    _F("nvidia_share_h100e", _share("nvidia_h100e", "h100e_total"), "1",
       "Nvidia share of installed capability (owned, H100e)"),
    _F("mtia_share_h100e", _share("mtia_h100e", "h100e_total"), "1",
       "MTIA share of installed capability (owned, H100e)"),
    _F("amd_share_h100e", _share("amd_h100e", "h100e_total"), "1",
       "AMD share of installed capability (owned, H100e)"),
    _F("nvidia_share_h100e_incl_rented", _share("nvidia_h100e + cloud_nvidia_h100e", "h100e_all"), "1",
       "Nvidia share of capability owned and rented (incl. Nvidia GPUs in rented clouds)"),
    _F("mtia_share_h100e_all", _share("mtia_h100e", "h100e_all"), "1",
       "MTIA share of capability owned and rented"),
    _F("rented_share_h100e", _share("rented_h100e_total", "h100e_all"), "1",
       "rented (cloud) share of capability owned and rented"),
    _F("nvidia_share_capex", _share("nvidia_accelerator_capex_usd", "fleet_accelerator_capex_usd"), "1",
       "Nvidia share of accelerator capex"),
    _F("compute_spend_usd", "it_capex_usd + cloud_cost_usd", "USD",
       "spend on compute: accelerator systems (capex) and rented capacity (opex)"),
    _F("nvidia_spend_usd", "(accelerator_capex_usd + system_capex_usd) * is_nvidia", "USD",
       "spend on Nvidia systems (capex)", sum_over="generation"),
    _F("amd_spend_usd", "(accelerator_capex_usd + system_capex_usd) * is_amd", "USD",
       "spend on AMD systems (capex)", sum_over="generation"),
    _F("mtia_spend_usd", "(accelerator_capex_usd + system_capex_usd) * is_mtia", "USD",
       "spend on MTIA systems (capex)", sum_over="generation"),
    _F("cloud_nvidia_spend_usd", "rented_spend_usd * is_nvidia", "USD", "spend on rented Nvidia capacity",
       sum_over="generation"),
    _F("cloud_tpu_spend_usd", "rented_spend_usd * is_google", "USD", "spend on rented Google TPU capacity",
       sum_over="generation"),
    _F("cloud_nvidia_units", "rented_units * is_nvidia", "units", "rented Nvidia GPUs (average in the quarter)",
       sum_over="generation"),
    _F("cloud_tpu_units", "rented_units * is_google", "units", "rented Google TPUs (average in the quarter)",
       sum_over="generation"),
    _F("nvidia_share_spend_incl_rented", _share("nvidia_spend_usd + cloud_nvidia_spend_usd", "compute_spend_usd"),
       "1", "Nvidia share of compute spend (systems capex and rented Nvidia capacity)"),
    _F("nvidia_share_power", _share("nvidia_it_power_mw", "fleet_it_power_mw"), "1",
       "Nvidia share of accelerator IT power (owned)"),
    _F("hhi", " + ".join(f"({_share(part, 'h100e_all')}) ** 2" for part in (
        "nvidia_h100e + cloud_nvidia_h100e", "amd_h100e", "mtia_h100e", "cloud_tpu_h100e")), "1",
       "supplier concentration of capability owned and rented (Herfindahl-Hirschman index over chip vendors,"
       " 0-1)"),
    # --- what in-house and second-source silicon buys: one cost basis (system cost per accelerator)
    _F("nvidia_list_chip_value_usd", "units_delivered * is_nvidia * unit_price_usd * nvidia_price_multiplier", "USD",
       "value of Nvidia chips delivered at list price (no bargaining discount)", sum_over="generation"),
    _F("nvidia_list_value_usd", "units_delivered * is_nvidia * system_share_price_usd", "USD",
       "value of the system share of Nvidia systems delivered", sum_over="generation"),
    _F("all_nvidia_capex_usd", "nvidia_list_chip_value_usd + nvidia_list_value_usd + replaced_nvidia_units"
       " * (nvidia_blend_unit_price_usd * nvidia_price_multiplier + (nvidia_blend_system_cost_usd"
       " - nvidia_blend_unit_price_usd) * component_price_index)", "USD",
       "value of an all-Nvidia fleet of equal capability: Nvidia's systems at list, plus Nvidia systems instead of"
       " MTIA and AMD (delivered)"),
    _F("savings_vs_all_nvidia_usd", "all_nvidia_capex_usd - it_value_usd - nre_usd", "USD",
       "savings against an all-Nvidia counterfactual of equal H100e (systems, incl. MTIA NRE)"),
    _F("nvidia_premium_share", "maximum(1 - (1 - nvidia_gross_margin) / (1 - competitive_gross_margin), 0)", "1",
       "share of Nvidia's chip price above a competitive hardware margin (the scarcity tax)"),
    _F("scarcity_tax_usd", "nvidia_accelerator_value_usd * nvidia_premium_share", "USD",
       "Nvidia pricing premium paid on chips delivered"),
    _F("scarcity_tax_avoided_usd", "(nvidia_list_chip_value_usd + replaced_nvidia_units * nvidia_blend_unit_price_usd"
       " * nvidia_price_multiplier) * nvidia_premium_share - scarcity_tax_usd", "USD",
       "Nvidia pricing premium an all-Nvidia fleet would pay and MTIA, AMD and bargaining avoid"),
    # --- cost of compute (TCO)
    _F("h100e_powered", "h100e_total * placed_fraction", "H100e", "installed capability with site power"),
    _F("capital_charge_usd", "it_depreciation_usd * it_annuity_factor + facility_depreciation_usd"
       " * facility_annuity_factor", "USD",
       "depreciation plus the cost of capital of AI assets (annuity over their lives)"),
]

# electricity cost summed over sites is needed by the cost of compute
_FORMULA_LIST.insert(
    [f.name for f in _FORMULA_LIST].index("h100e_powered"),
    _F("electricity_cost_total_usd", "electricity_cost_usd", "USD", "electricity cost, all sites", sum_over="site"),
)
_FORMULA_LIST += [
    _F("cost_per_h100e_hour_usd",
       "where(h100e_powered + rented_h100e_total >= 1, (capital_charge_usd + electricity_cost_total_usd"
       " + lease_cost_usd + cloud_cost_usd) / (where(h100e_powered + rented_h100e_total >= 1,"
       " h100e_powered + rented_h100e_total, 1) * hours_per_quarter), 0)", "USD/h",
       "total cost of ownership per H100e-hour: capital charge, electricity, leases and cloud"
       " (0 where the fleet holds less than one H100e: a cost per H100e is undefined there)"),
]

#: name -> Formula, in evaluation order
FORMULAS = {f.name: f for f in _FORMULA_LIST}


def formula_inputs():
    """Names that :func:`evaluate_formulas` needs from outside the registry (sorted)."""
    produced = set()
    needed = set()
    for f in FORMULAS.values():
        needed |= f.inputs - produced
        produced.add(f.name)
    return sorted(needed)


def formula_table():
    """The registry as a DataFrame (name, expression, units, long_name, reduction, inputs)."""
    import pandas as pd

    return pd.DataFrame([{
        "name": f.name, "expression": f.text, "units": f.units, "long_name": f.long_name,
        "reduction": (f"sum over {f.sum_over}" if f.sum_over else
                      f"straight-line over {f.depreciation_life}" if f.depreciation_life else
                      f"paid over {' / '.join(f.paid_over)}" if f.paid_over else
                      f"moved to the year end by {' / '.join(f.year_end)}" if f.year_end else ""),
        "inputs": " ".join(sorted(f.inputs)),
    } for f in FORMULAS.values()])


def evaluate_formulas(inputs, engine="numexpr", previous=None, changed=None, only=None):
    """Evaluate every formula of :data:`FORMULAS` in order.

    ``inputs`` maps each name of :func:`formula_inputs` to an ``xr.DataArray`` (or a plain number);
    returns ``{name: DataArray}`` for every formula, with ``units`` and ``long_name`` attrs. Nothing
    is loaded from disk. ``engine`` is ``"numexpr"`` or ``"numpy"``.

    ``only``: names of formulas wanted; then only they and the formulas they read are evaluated
    and returned (each equal to its value in a full evaluation).

    Incremental re-evaluation: ``previous`` is the result of an earlier call whose inputs differed
    from ``inputs`` only in the names ``changed`` (the caller vouches for that). Then only the
    formulas in :func:`dependents` ``(changed)`` are evaluated; every other formula's value is taken
    from ``previous`` (the same object). The result equals a full evaluation.
    """
    if engine not in ("numexpr", "numpy"):
        raise ValueError(f"engine must be 'numexpr' or 'numpy', not {engine!r}")
    missing = [n for n in formula_inputs() if n not in inputs]
    if missing:
        raise KeyError(f"evaluate_formulas: missing input(s) {missing}")
    if (previous is None) != (changed is None):
        raise ValueError("evaluate_formulas: pass both previous and changed, or neither")
    if previous is not None:
        absent = [n for n in FORMULAS if n not in previous]
        if absent:
            raise KeyError(f"evaluate_formulas: previous lacks formula(s) {absent}")
        todo = dependents(changed)
        values = {**inputs, **{n: previous[n] for n in FORMULAS if n not in todo}}
    else:
        todo = set(FORMULAS)
        values = dict(inputs)
    if only is not None:
        todo = _restricted(todo, only)
    formulas = [f for f in FORMULAS.values() if f.name in todo]
    if engine == "numexpr" and formulas:
        fast = _evaluate_numexpr_fast(values, formulas)
        if fast is not None:
            return {n: fast[n] if n in todo else previous[n] for n in FORMULAS if only is None or n in todo}
    out = {}
    for f in FORMULAS.values():
        if f.name not in todo and only is not None:
            continue
        if f.name not in todo:
            out[f.name] = previous[f.name]
            continue
        result = f.evaluate(values, engine=engine)
        result = result.rename(f.name)
        result.attrs = {"units": f.units, "long_name": f.long_name, "formula": f.text}
        values[f.name] = result
        out[f.name] = result
    return out


# --------------------------------------------------------------------------- numexpr fast path
#
# The per-formula path above aligns, transposes and wraps labelled arrays 48 times and lets xarray
# reduce with NaN-skipping copies. The fast path below does the labelled work once: it aligns every
# input (join="exact") and lays each one out as a C-contiguous float64 array over one common dim
# order with ``draw`` LAST (length-1 axes for the dims it lacks). With the draws innermost, every
# operand of a formula -- including those broadcast over generation, site or quarter -- is read
# with unit stride in numexpr's inner loop, and sums over generation or site add whole contiguous
# slabs. Each formula is evaluated once over the whole arrays straight into a preallocated output;
# the outputs are wrapped as DataArrays at the end and transposed (a view, no copy) to the canonical
# dim order (``draw`` first). Semantics are those of the per-formula path (sums skip NaN, as
# xarray's do); the results are identical.


def _restricted(todo, only):
    """The formulas of ``todo`` that ``only`` (formula names) need, directly or through others."""
    unknown = sorted(set(only) - set(FORMULAS))
    if unknown:
        raise KeyError(f"evaluate_formulas: only names unknown formula(s) {unknown}")
    needed = set(only)
    for f in reversed(list(FORMULAS.values())):
        if f.name in needed:
            needed |= set(f.inputs) & set(FORMULAS)
    return todo & needed


def dependents(names):
    """Formulas whose value depends, directly or through other formulas, on any of ``names``.

    ``names``: input (or formula) names. Returns the set of formula names, so a caller that changed
    only ``names`` can keep every other formula's previous value.

    >>> sorted(dependents({"hhi"}))
    []
    >>> "cost_per_h100e_hour_usd" in dependents({"utilisation"})
    True
    """
    changed = set(names)
    out = set()
    for f in FORMULAS.values():
        if f.inputs & changed:
            out.add(f.name)
            changed.add(f.name)
    return out


def _fast_dims(arrays):
    """Common dim order of the fast path: the canonical order (``draw`` first, as the model lays out
    its arrays, so that no input needs a transposing copy)."""
    dims = []
    for da in arrays:
        dims.extend(d for d in da.dims if d not in dims)
    return sorted(dims, key=lambda d: (_dim_rank(d), dims.index(d)))


def _raw_layout(inputs, names):
    """Align ``inputs[names]`` once; return (dims, sizes, raw arrays, scalars, coords, dims per input).

    Returns None when the fast path does not apply (dask-backed or non-numeric inputs); the
    per-formula path then evaluates (and raises its own, specific errors).
    """
    import xarray as xr

    arrays, scalars = {}, {}
    for name in names:
        value = inputs[name]
        if isinstance(value, xr.DataArray):
            numpy_backed = isinstance(value.variable.data, np.ndarray)  # no chunks (checked cheaply)
            if (not numpy_backed and value.chunks is not None) or value.dtype.kind not in "biuf":
                return None
            arrays[name] = value
        elif np.ndim(value) == 0 and isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            scalars[name] = float(value)
        else:
            return None
    if _same_indexes(arrays.values()):
        aligned = arrays  # what xr.align(join="exact") would return, without its per-call cost
    else:
        try:
            aligned = dict(zip(arrays, xr.align(*arrays.values(), join="exact", copy=False)))
        except ValueError:
            return None
    dims = _fast_dims(aligned.values())
    variables = {name: da.variable for name, da in aligned.items()}  # dims and shape read from these once
    sizes = {d: 1 for d in dims}
    for var in variables.values():
        for d, n in zip(var.dims, var.shape):
            sizes[d] = max(sizes[d], n)
    raw, coord_names, dimsets = {}, {}, {}
    for name, da in aligned.items():
        var = variables[name]
        var_dims = var.dims
        dimsets[name] = set(var_dims)
        own = [d for d in dims if d in dimsets[name]]
        values = var.values
        if list(var_dims) != own:
            values = np.transpose(values, [var_dims.index(d) for d in own])
        values = np.ascontiguousarray(values, dtype=np.float64)  # no copy if already laid out so
        raw[name] = values[tuple(slice(None) if d in dimsets[name] else np.newaxis for d in dims)]
        coord_names[name] = dict(da.coords.variables)
    for name in scalars:
        dimsets[name] = set()
    return dims, sizes, raw, scalars, coord_names, dimsets


def _same_indexes(arrays):
    """True if every dim of ``arrays`` has the same index (or none) in each of them and one size,
    so that ``xr.align(*arrays, join="exact")`` would return them unchanged (it is then skipped)."""
    first_index, first_size = {}, {}
    equal = set()  # (id, id) of index pairs found equal (the arrays share few index objects)
    for da in arrays:
        indexes = da.xindexes
        var = da.variable
        for dim, size in zip(var.dims, var.shape):
            index = indexes.get(dim)
            if dim not in first_size:
                first_size[dim], first_index[dim] = size, index
                continue
            if size != first_size[dim]:
                return False
            ref = first_index[dim]
            if index is ref:
                continue
            if index is None or ref is None:
                return False
            if (id(index), id(ref)) in equal:
                continue
            if not index.equals(ref):
                return False
            equal.add((id(index), id(ref)))
    return True


def _merged_coords(sources, dims, equal=None):
    """Coords of a result as the per-formula path builds them: first source wins, conflicting
    non-dim coords are dropped, only coords over the result's ``dims`` are kept.

    ``equal``: a set of ``(id, id)`` pairs of Variables already compared equal (shared across calls,
    filled here; the caller keeps the Variables alive)."""
    equal = set() if equal is None else equal
    merged, dropped = {}, set()
    for source in sources:
        for c, var in source.items():
            if c in dropped or not set(var.dims) <= dims:
                continue
            if c not in merged:
                merged[c] = var
            elif merged[c] is not var and c not in dims and (id(merged[c]), id(var)) not in equal:
                if not merged[c].equals(var):
                    del merged[c]
                    dropped.add(c)
                else:
                    equal.add((id(merged[c]), id(var)))
    return merged


def _sum_axis(values, axis, out):
    """Sum over ``axis`` (keepdims) into ``out``, skipping NaN like xarray's ``sum``."""
    np.sum(values, axis=axis, keepdims=True, out=out)
    if np.isnan(out).any():  # rare: only then pay for the NaN-skipping sum
        np.nansum(values, axis=axis, keepdims=True, out=out)


def _depreciation_raw(spend, life, axis):
    """:func:`straight_line_depreciation` on raw arrays along ``axis`` (the quarter axis)."""
    from .model.stockflow import lagged_level

    cumulative = np.moveaxis(np.cumsum(spend, axis=axis), axis, -1)
    life_last = np.moveaxis(np.broadcast_to(life, spend.shape), axis, -1) if np.ndim(life) else float(life)
    lag = life_last[..., 0] if np.ndim(life) else life_last
    out = (cumulative - lagged_level(cumulative, lag)) / life_last
    return np.moveaxis(out, -1, axis)


def _paid_raw(amount, share_before, share_after, axis, shape):
    """:func:`paid` on raw arrays along ``axis`` (the quarter axis), broadcast to ``shape``."""
    from .model.stockflow import payment_profile

    amount = np.moveaxis(np.broadcast_to(amount, shape), axis, -1)
    shares = [np.moveaxis(np.broadcast_to(s, shape), axis, -1)[..., 0] if np.ndim(s) else float(s)
              for s in (share_before, share_after)]
    return np.moveaxis(payment_profile(amount, *shares), -1, axis)


def _year_end_raw(amount, share, first_quarter, axis, shape):
    """:func:`year_end_timing` on raw arrays along ``axis`` (the quarter axis), broadcast to ``shape``."""
    from .model.stockflow import year_end_timing as timing

    amount = np.moveaxis(np.broadcast_to(amount, shape), axis, -1)
    share = np.moveaxis(np.broadcast_to(share, shape), axis, -1)[..., 0] if np.ndim(share) else float(share)
    first = np.moveaxis(np.broadcast_to(first_quarter, shape), axis, -1)
    return np.moveaxis(timing(amount, share, first), -1, axis)


def _node_shape(node, shapes):
    """Broadcast shape of an expression node, from the shapes of its names."""
    import ast

    if isinstance(node, ast.Name):
        return shapes[node.id]
    if isinstance(node, ast.Constant):
        return ()
    children = [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr) and not
                (isinstance(node, ast.Call) and c is node.func)]
    return np.broadcast_shapes(*(_node_shape(c, shapes) for c in children))


#: plans by (formula, operand shapes); bounded, since every new number of draws adds a set
_PLANS = {}
_MAX_PLANS = 2048


def _numexpr_plan(f, shapes):
    """How the fast path evaluates formula ``f`` on arrays of ``shapes`` (name -> shape).

    Returns ``(text, hoisted)``: every maximal sub-expression whose broadcast shape has fewer cells
    than the whole formula's is evaluated first, at its own shape, into a temporary (``hoisted``:
    list of ``(temp name, text)``), so numexpr does not repeat it for every element of the larger
    result (numexpr evaluates a whole expression at the full broadcast shape; xarray would evaluate
    it at its own shape too). ``x ** 2`` of a name becomes ``x * x`` (numpy squares exactly so).
    The order of operations is unchanged, so results are identical to the per-formula path.
    """
    import ast

    key = (f.name, tuple(sorted((n, shapes[n]) for n in f._compiled.names)))
    if key in _PLANS:
        return _PLANS[key]
    full = int(np.prod(_node_shape(f._compiled.tree.body, shapes)))
    hoisted = []

    def size(node):
        return int(np.prod(_node_shape(node, shapes)))

    def visit(node, limit):
        """``node`` for an enclosing evaluation of ``limit`` cells: hoisted if it has fewer."""
        if isinstance(node, (ast.Name, ast.Constant)):
            return node
        cells = size(node)
        if cells < limit:
            text = ast.unparse(transform(node, cells))  # its own smaller parts are hoisted first
            hoisted.append((f"hoisted{len(hoisted)}", text))
            return ast.Name(id=hoisted[-1][0], ctx=ast.Load())
        return transform(node, limit)

    def transform(node, limit):
        node = square_as_product(node)
        if isinstance(node, ast.BinOp):
            return ast.BinOp(left=visit(node.left, limit), op=node.op, right=visit(node.right, limit))
        if isinstance(node, ast.UnaryOp):
            return ast.UnaryOp(op=node.op, operand=visit(node.operand, limit))
        if isinstance(node, ast.Compare):
            return ast.Compare(left=visit(node.left, limit), ops=node.ops,
                               comparators=[visit(node.comparators[0], limit)])
        if isinstance(node, ast.Call):
            return ast.Call(func=node.func, args=[visit(a, limit) for a in node.args], keywords=[])
        return node

    plan = (ast.unparse(transform(f._compiled.tree.body, full)), hoisted)
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan


def _weighted_sum(text, env, axis, out):
    """Sum over ``axis`` of a product of two arrays, ``a * b``, in one pass (``np.einsum``) into ``out``.

    Returns False (nothing written) if ``text`` is not such a product, or if the sum holds NaN (the
    caller then sums with NaN skipped, as xarray does). The numpy sum of the product adds the terms
    in the same order, so the result is the same.
    """
    import string

    parts = text.split(" * ")
    if len(parts) != 2 or not all(p.isidentifier() and isinstance(env.get(p), np.ndarray) for p in parts):
        return False
    a, b = env[parts[0]], env[parts[1]]
    if a.ndim != b.ndim or a.ndim > len(string.ascii_letters):
        return False
    letters = string.ascii_letters[:a.ndim]

    def subscripts(shape):
        return "".join(c for c, n in zip(letters, shape) if n != 1)

    shape = np.broadcast_shapes(a.shape, b.shape)
    kept = tuple(1 if i == axis else n for i, n in enumerate(shape))
    spec = f"{subscripts(a.shape)},{subscripts(b.shape)}->{subscripts(kept)}"
    total = np.einsum(spec, a.reshape([n for n in a.shape if n != 1]), b.reshape([n for n in b.shape if n != 1]))
    if np.isnan(total).any():
        return False
    np.copyto(out, total.reshape(out.shape))
    return True


#: shape plans of the fast path by (formulas, dims, input shapes and dims): what _shape_plan returns
_SHAPE_PLANS = {}
_MAX_SHAPE_PLANS = 32


def _shape_plan(formulas, dims, sizes, shapes, dimsets):
    """``(plan, shapes, dimsets, scratch_cells)`` of ``formulas`` on inputs of ``shapes`` and ``dimsets``
    (raw layout over ``dims``): per formula its sum axis, output shape and dims, and the scratch size;
    None when the fast path does not apply. Depends on the layout alone, so it is kept per layout
    (the formulas themselves held with it, so their ids stay theirs)."""
    key = (tuple(id(f) for f in formulas), tuple(dims),
           tuple((n, shapes[n], tuple(sorted(dimsets[n]))) for n in sorted(shapes)))
    hit = _SHAPE_PLANS.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], formulas)):
        return hit[1]
    value = _compute_shape_plan(formulas, dims, sizes, dict(shapes), {n: set(d) for n, d in dimsets.items()})
    if len(_SHAPE_PLANS) >= _MAX_SHAPE_PLANS:
        _SHAPE_PLANS.clear()
    _SHAPE_PLANS[key] = (list(formulas), value)
    return value


def _compute_shape_plan(formulas, dims, sizes, shapes, dimsets):
    """:func:`_shape_plan`, computed (``shapes`` and ``dimsets`` are filled in)."""
    plan = []
    scratch_cells = 0
    for f in formulas:
        shape = np.broadcast_shapes(*(shapes[n] for n in f._compiled.names)) if f._compiled.names \
            else (1,) * len(dims)
        names = (set(f._compiled.names) | ({f.depreciation_life} if f.depreciation_life else set())
                 | set(f.paid_over or ()) | set(f.year_end or ()))
        dimsets[f.name] = set().union(*(dimsets[n] for n in names))
        axis = None
        if f.sum_over is not None:
            if f.sum_over not in dimsets[f.name]:
                return None
            scratch_cells = max(scratch_cells, int(np.prod(shape)))
            dimsets[f.name].discard(f.sum_over)
            axis = dims.index(f.sum_over)
            shape = shape[:axis] + (1,) + shape[axis + 1:]
        if f.depreciation_life is not None:
            if "quarter" not in dimsets[f.name] or shape[dims.index("quarter")] != sizes["quarter"]:
                return None
            shape = np.broadcast_shapes(shape, shapes[f.depreciation_life])
            scratch_cells = max(scratch_cells, int(np.prod(shape)))  # the expression is evaluated there
        if f.paid_over is not None:
            if "quarter" not in dimsets[f.name] or shape[dims.index("quarter")] != sizes["quarter"]:
                return None
            if any(dims.index("quarter") < len(shapes[n]) and shapes[n][dims.index("quarter")] != 1
                   for n in f.paid_over):
                return None
            shape = np.broadcast_shapes(shape, *(shapes[n] for n in f.paid_over))
            scratch_cells = max(scratch_cells, int(np.prod(shape)))  # the expression is evaluated there
        if f.year_end is not None:
            q = dims.index("quarter")
            if "quarter" not in dimsets[f.name] or shape[q] != sizes["quarter"] or \
                    (q < len(shapes[f.year_end[0]]) and shapes[f.year_end[0]][q] != 1):
                return None
            scratch_cells = max(scratch_cells, int(np.prod(shape)))  # the expression is evaluated there
            shape = np.broadcast_shapes(shape, *(shapes[n] for n in f.year_end))
        shapes[f.name] = shape
        plan.append((f, axis))
    names = [f.name for f, _ in plan]
    return (plan, {n: shapes[n] for n in names}, {n: frozenset(dimsets[n]) for n in names}, scratch_cells)


def _evaluate_numexpr_fast(inputs, formulas):
    """Evaluate ``formulas`` (Formula objects, in order) with numexpr on raw, draw-last arrays.

    ``inputs`` holds every name the formulas read that they do not produce themselves. Returns
    ``{name: DataArray}`` like :func:`evaluate_formulas`, or None when the fast path does not apply.
    """
    import numexpr
    import xarray as xr

    produced, needed = set(), []
    for f in formulas:
        for n in sorted(f.inputs - produced):
            if n not in needed:
                needed.append(n)
        produced.add(f.name)
    layout = _raw_layout(inputs, needed)
    if layout is None:
        return None
    dims, sizes, raw, scalars, coord_names, dimsets = layout
    shapes = {n: a.shape for n, a in raw.items()}
    shapes.update({n: (1,) * len(dims) for n in scalars})
    shape_plan = _shape_plan(formulas, dims, sizes, shapes, dimsets)
    if shape_plan is None:
        return None
    plan, formula_shapes, formula_dimsets, scratch_cells = shape_plan
    shapes.update(formula_shapes)
    dimsets.update({name: set(d) for name, d in formula_dimsets.items()})
    equal_coords = set()  # coord Variable pairs found equal by _merged_coords (all alive in coord_names)
    for f, _ in plan:
        coord_names[f.name] = _merged_coords([coord_names.get(n, {}) for n in sorted(f._compiled.names)]
                                             + [coord_names.get(f.depreciation_life, {})]
                                             + [coord_names.get(n, {}) for n in (f.paid_over or ())]
                                             + [coord_names.get(n, {}) for n in (f.year_end or ())],
                                             dimsets[f.name], equal_coords)

    outputs = {f.name: np.empty(shapes[f.name]) for f, _ in plan}
    scratch = np.empty(scratch_cells)  # one buffer for the terms of every sum, reused

    def value(name):
        a = outputs.get(name)
        if a is None:
            a = raw.get(name)
        return scalars[name] if a is None else a

    for f, axis in plan:
        out = outputs[f.name]
        env = {n: value(n) for n in f._compiled.names}
        if f.text in env:  # a bare name: no arithmetic
            values = env[f.text]
        else:
            text, hoisted = _numexpr_plan(f, {n: np.shape(v) for n, v in env.items()})
            for name, sub in hoisted:
                env[name] = numexpr.evaluate(sub, local_dict=env, global_dict={}, **NUMEXPR_OPTIONS)
            if axis is None and f.depreciation_life is None and f.paid_over is None and f.year_end is None:
                numexpr.evaluate(text, local_dict=env, global_dict={}, out=out, **NUMEXPR_OPTIONS)
                continue
            if axis is not None and _weighted_sum(text, env, axis, out):
                continue
            shape = np.broadcast_shapes(*(np.shape(v) for v in env.values()))
            values = scratch[:int(np.prod(shape))].reshape(shape)
            numexpr.evaluate(text, local_dict=env, global_dict={}, out=values, **NUMEXPR_OPTIONS)
        if axis is not None:
            _sum_axis(values, axis, out)
        elif f.depreciation_life is not None:
            np.copyto(out, _depreciation_raw(values, value(f.depreciation_life), dims.index("quarter")))
        elif f.paid_over is not None:
            np.copyto(out, _paid_raw(values, *(value(n) for n in f.paid_over), dims.index("quarter"), out.shape))
        elif f.year_end is not None:
            np.copyto(out, _year_end_raw(values, *(value(n) for n in f.year_end), dims.index("quarter"), out.shape))
        else:
            np.copyto(out, values)

    index_of = {}  # dim coord name -> its index, from the inputs (a result reuses them)
    for name in raw:
        for c, index in inputs[name].xindexes.items():
            index_of.setdefault(c, index)
    result, templates = {}, {}
    copies = {}  # id of an input's coord Variable -> one shallow copy, shared by the results

    def copied(coords):
        out = {}
        for c, v in coords.items():
            if id(v) not in copies:
                copies[id(v)] = (v, v.copy(deep=False))  # the source kept alive with its copy
            out[c] = copies[id(v)][1]
        return out

    for f, axis in plan:
        own = tuple(d for d in dims if d in dimsets[f.name])
        keep = coord_names[f.name]
        values = outputs[f.name].reshape([sizes[d] for d in own])
        attrs = {"units": f.units, "long_name": f.long_name, "formula": f.text}
        indexes = {c: index_of[c] for c in keep if c in own and c in index_of}
        if all(c in indexes or c not in own for c in keep):
            result[f.name] = _labelled(values, own, copied(keep), indexes, f.name, attrs, copy=False)
            continue
        key = (own, tuple((c, id(v)) for c, v in keep.items()))
        if key not in templates:  # a dim coord without an index in the inputs: let xarray build it
            templates[key] = xr.DataArray(values, dims=own, coords=keep)
        template = templates[key]
        result[f.name] = _labelled(values, own, copied(template.coords.variables), dict(template.xindexes), f.name,
                                   attrs, copy=False)
    return result


def _labelled(values, dims, coords, indexes, name, attrs, copy=True):
    """``values`` (laid out over ``dims``) as a DataArray with ``coords`` (Variables; their ``indexes``),
    ``name`` and ``attrs``, transposed (a view) to the canonical dim order (``draw`` first).

    Equal to ``xr.DataArray(values, dims=dims, coords=coords, name=name, attrs=attrs).transpose(...)``
    (tested), built from the Variable directly: no per-call alignment or index copies. The coords are
    shallow copies of ``coords`` (``copy=False``: ``coords`` are such copies already, made once by the
    caller and shared by its results, as xarray's arithmetic shares coords).
    """
    import xarray as xr

    order = sorted(dims, key=_dim_rank)
    perm = [dims.index(d) for d in order]
    variable = xr.Variable(tuple(order), np.transpose(values, perm) if perm != sorted(perm) else values, attrs)
    coords = {c: v.copy(deep=False) for c, v in coords.items()} if copy else dict(coords)
    return xr.DataArray(variable, coords=coords, name=name, indexes=indexes, fastpath=True)
