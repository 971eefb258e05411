"""chipsuite: sourced, quantitative models of how a hyperscaler builds AI compute.

The public names are imported lazily so that ``import chipsuite`` stays fast and
a notebook pays only for what it uses.

>>> import chipsuite
>>> ds = chipsuite.load_dataset()          # doctest: +SKIP
>>> ds.tdp_w.sel(generation="h100", bound="base").item()  # doctest: +SKIP
700.0
"""

from importlib import import_module

__version__ = "0.1.0"

# public name -> module that defines it (one line each; keep sorted by module)
_EXPORTS = {
    "DataError": "chipsuite.schema",
    "load_dataset": "chipsuite.data",
    "load_tables": "chipsuite.data",
    "provenance": "chipsuite.data",
    "sources_excerpt": "chipsuite.sources",
    "FormulaError": "chipsuite.expr",
    "custom_metric": "chipsuite.metrics",
    "parse_quarter": "chipsuite.quarters",
    "quarter_label": "chipsuite.quarters",
    "quarter_range": "chipsuite.quarters",
    "FORMULAS": "chipsuite.formulas",
    "evaluate_formulas": "chipsuite.formulas",
    "run": "chipsuite.model",
    "ModelCache": "chipsuite.model",
    "uncertain_inputs": "chipsuite.model",
    "scoreboard": "chipsuite.model",
    "Scenario": "chipsuite.scenario",
    "ScenarioError": "chipsuite.scenario",
    "load_named": "chipsuite.scenario",
    "named_scenarios": "chipsuite.scenario",
    "is_report_mode": "chipsuite.modes",
    "sobol": "chipsuite.sensitivity",
    "quantiles": "chipsuite.uncertainty",
    "sweep": "chipsuite.uncertainty",
    "tornado": "chipsuite.uncertainty",
    "ensemble_quantiles": "chipsuite.ensemble",
    "CadenceExplorer": "chipsuite.widgets",
    "CapexExplorer": "chipsuite.widgets",
    "DataExplorer": "chipsuite.widgets",
    "DependenceExplorer": "chipsuite.widgets",
    "EnergyExplorer": "chipsuite.widgets",
    "ScenarioState": "chipsuite.widgets",
    "UncertaintyExplorer": "chipsuite.widgets",
    "OfflineChart": "chipsuite.vega",
    "enable_offline_rendering": "chipsuite.vega",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'chipsuite' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
