"""Run modes read from the environment (one small module, so any layer can ask without importing the
report builder).

>>> import os
>>> os.environ.pop(REPORT_ENV, None) is None or True
True
>>> is_report_mode()
False
"""

import os

__all__ = ["REPORT_ENV", "is_report_mode"]

#: environment variable the report builder sets to ``"1"`` in the kernels it starts
REPORT_ENV = "CHIPSUITE_REPORT"


def is_report_mode() -> bool:
    """True when running under the report builder (env ``CHIPSUITE_REPORT`` == ``"1"``)."""
    return os.environ.get(REPORT_ENV) == "1"
