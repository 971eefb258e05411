"""The scenario model: ``run(scenario) -> xarray.Dataset``, one module per stage.

The stages, in the order the chain (:mod:`.core`) calls them:

=================  ====================================================================
:mod:`.inputs`     dataset values and scenario parameters, base or sampled over draws
:mod:`.demand`     purchases in H100e per year and quarter, by workload class
:mod:`.supply`     MTIA cadence, deal schedules, Nvidia's generation mix, the split
:mod:`.stockflow`  installed units and H100e from deliveries and a service life
:mod:`.sites`      capacity paths; owned, leased and joint-venture capacity
(formulas)         power, energy, capex paid, depreciation, opex, dependence, TCO
:mod:`.scoreboard` the result against every public figure in ``data/``
=================  ====================================================================

Data flows one way: the stage modules (demand, supply, stockflow, sites) are small numpy
functions that import no other stage except the shared array helpers of :mod:`.stockflow`;
:mod:`.inputs` and :mod:`.core` compose them, :mod:`.api` and :mod:`.scoreboard` sit on top, and
nothing in the package imports :mod:`chipsuite.ensemble` or :mod:`chipsuite.uncertainty` at module
level except :mod:`.api` (for chunked runs). No module imports one that imports it
(``python3 ../shared/tools/import_cycles.py chipsuite``).
"""

from .api import run
from .core import OUTPUT_ATTRS, SUPPLIERS, ModelCache, annual, evaluate_model, formula_inputs_for, simulate_fleet
from .inputs import base_inputs, fleet_generations, model_inputs, uncertain_inputs
from .scoreboard import reconciliation, scoreboard

__all__ = ["run", "ModelCache", "uncertain_inputs", "base_inputs", "model_inputs", "evaluate_model", "simulate_fleet",
           "formula_inputs_for", "fleet_generations", "annual", "reconciliation", "scoreboard", "OUTPUT_ATTRS",
           "SUPPLIERS"]
