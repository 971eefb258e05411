"""Explorers: interactive views of the scenario model, with the model separate from the GUI.

Three layers, as in the ipywidgets tutorial:

1. :mod:`.grids` (no GUI): :func:`run_points` evaluates many scenarios in one vectorised model
   call (the points become the ``draw`` dim), and small ``*_frame`` functions build the tidy
   data of the grid charts (cadence grid, break-even map, minimum volume, tornado, ...);
2. :mod:`.base`: :class:`ScenarioState` (one Scenario, its cached model result, JSON
   save/load) and :class:`Explorer` (control values -> scenario -> chart data -> chart, and the
   ipywidgets controls linked to an :class:`~chipsuite.OfflineChart`, built on first use);
3. one module per question: :class:`CadenceExplorer`, :class:`CapexExplorer`,
   :class:`DependenceExplorer`, :class:`EnergyExplorer`, :class:`UncertaintyExplorer`,
   :class:`DataExplorer`.

Every explorer offers ``.set(**controls)`` (what a control does; usable in tests),
``.chart_data(view=None)`` (the DataFrame charted), ``.chart(view=None)``, ``.summary()``
(key numbers of the current state), ``.static_view()`` (a kernel-free Altair chart, with bound
parameters over a precomputed grid where that helps), ``.widget`` and ``.show()`` (the widget
UI, or the static view in report mode, see :func:`chipsuite.is_report_mode`), plus
``save_scenario(path)`` / ``load_scenario(path)``.

>>> from chipsuite.explorers import CadenceExplorer
>>> app = CadenceExplorer()                  # doctest: +SKIP
>>> app.set(cadence_months=12)               # what moving the slider does   # doctest: +SKIP
>>> app.show()                               # doctest: +SKIP
"""

from .base import Control, Explorer, ScenarioState, display_chart
from .cadence import CadenceExplorer
from .capex import CapexExplorer
from .data import DataExplorer
from .dependence import DependenceExplorer
from .energy import EnergyExplorer, PowerExplorer
from . import grids
from .grids import *  # noqa: F401,F403  (the model layer's public names, listed in grids.__all__)
from .uncertainty import UncertaintyExplorer

__all__ = [
    *grids.__all__,
    "ScenarioState",
    "Control",
    "Explorer",
    "display_chart",
    "CadenceExplorer",
    "CapexExplorer",
    "DependenceExplorer",
    "EnergyExplorer",
    "PowerExplorer",
    "UncertaintyExplorer",
    "DataExplorer",
]
