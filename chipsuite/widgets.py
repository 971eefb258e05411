"""Explorer classes used by the notebooks (``from chipsuite import widgets``).

The code lives in the :mod:`chipsuite.explorers` package (model layer in
:mod:`chipsuite.explorers.grids`, wiring in :mod:`chipsuite.explorers.base`, one module per
question); this module re-exports its public names so notebooks can write
``widgets.CadenceExplorer()``.

>>> from chipsuite import widgets
>>> app = widgets.EnergyExplorer()            # doctest: +SKIP
>>> app.set(nuclear_contract_delay_quarters=4)  # doctest: +SKIP
>>> app.show()                                # doctest: +SKIP
"""

from .explorers import *  # noqa: F401,F403  (the public names, listed in __all__)
from .explorers import __all__  # noqa: F401
