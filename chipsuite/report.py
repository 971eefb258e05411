"""Offline HTML reports: ``python -m chipsuite report``.

The report builder executes each notebook with the environment variable
``CHIPSUITE_REPORT=1``; notebook code asks :func:`is_report_mode` to show a
kernel-free view (an Altair chart with bound parameters, or the default state)
instead of ipywidgets.
"""

from __future__ import annotations

import os

REPORT_ENV = "CHIPSUITE_REPORT"


def is_report_mode() -> bool:
    """True when running under the report builder (env ``CHIPSUITE_REPORT`` == ``"1"``)."""
    return os.environ.get(REPORT_ENV) == "1"
