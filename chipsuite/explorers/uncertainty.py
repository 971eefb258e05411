"""Uncertainty: fan charts, tornado and a custom-metric box (notebook 05)."""

from __future__ import annotations

import numpy as np

from .. import charts
from .base import Control, Explorer
from .grids import OUTPUTS, tornado_frame, _output_series

__all__ = ["UncertaintyExplorer"]


class UncertaintyExplorer(Explorer):
    """Fan charts of key outputs, a tornado, and a custom-metric box (errors shown as a message)."""

    title = "Uncertainty explorer"
    VIEWS = ("fan chart", "tornado")
    CONTROLS = {
        "output": Control("select", "output", default="capex_usd_bn", options=tuple(OUTPUTS)),
        "metric": Control("text", "custom metric", default=""),
        "view": Control("select", "chart", default=VIEWS[0], options=VIEWS),
    }
    tornado_quarter = "2027Q4"

    def __init__(self, scenario=None, draws=200, seed=0, **controls):
        self.metric_error = ""
        super().__init__(scenario, draws=draws, seed=seed, **controls)

    def set(self, **controls):
        """As :meth:`Explorer.set`; a refused custom metric is kept as :attr:`metric_error`.

        The metric is checked on the result of the new parameters (formula, units, and dims: a fan
        chart needs ``quarter``); a refused metric is stored but not drawn, so it never blocks
        later controls.
        """
        if "metric" not in controls:
            super().set(**controls)
            return self
        text = str(controls["metric"] or "").strip()
        others = {k: v for k, v in controls.items() if k != "metric"}
        if others:
            super().set(**others)
        self.metric_error = self._metric_problem(text) if text else ""
        super().set(metric=text)
        self._show_message(f"Custom metric not shown: {self.metric_error}" if self.metric_error else "",
                           error=bool(self.metric_error))
        return self

    def _metric_problem(self, text):
        """``""`` if metric ``text`` can be drawn as a fan chart of the current result, else why not.

        The check is on the first two draws (the metric is evaluated per draw, so those draws of the
        whole result's metric equal the metric of those draws); the whole result's metric is kept
        for the chart (:meth:`_metric`), so a new metric is evaluated once."""
        result = self.result
        try:
            da = self._metric_array(text, result, check_draws=2)
        except Exception as err:  # noqa: BLE001 - any refusal is shown in the metric box, never raised
            return f"{type(err).__name__}: {err}"
        self._kept_metric = (result, text, da)
        return ""

    @staticmethod
    def _metric_array(text, result, check_draws=None):
        """The custom metric over ``result`` with dims ``draw``, ``quarter`` (others summed); refused
        (ValueError) without a finite value (in its first ``check_draws`` draws, if given)."""
        from ..metrics import custom_metric

        da = custom_metric(text, result)
        if "quarter" not in da.dims:
            raise ValueError(f"metric {text!r} has dims {tuple(da.dims)}; a fan chart needs 'quarter' "
                             "(use a variable that varies by quarter)")
        checked = da.isel(draw=slice(0, check_draws)) if check_draws and "draw" in da.dims else da
        if not np.isfinite(checked.values).any():
            raise ValueError(f"metric {text!r} has no finite value (it overflows or divides by zero everywhere)")
        if "draw" not in da.dims:
            da = da.expand_dims(draw=result.draw)
        extra = [d for d in da.dims if d not in ("draw", "quarter")]
        return da.sum(extra, keep_attrs=True) if extra else da

    def _metric(self):
        """The active custom metric over the full result, or ``None`` (a late failure becomes
        :attr:`metric_error`, and the chart falls back to the selected output)."""
        if not self.values.get("metric") or self.metric_error:
            return None
        text, result = self.values["metric"], self.result
        kept = getattr(self, "_kept_metric", None)  # (result, text, array): chart data and titles share it
        if kept is not None and kept[0] is result and kept[1] == text:
            return kept[2]
        try:
            da = self._metric_array(text, result)
        except Exception as err:  # noqa: BLE001 - shown in the metric box, never raised
            self.metric_error = f"{type(err).__name__}: {err}"
            return None
        self._kept_metric = (result, text, da)
        return da

    def chart_data(self, view=None):
        view = view or self.values["view"]
        if view == "fan chart":
            da = self._metric()
            if da is not None:
                return charts.fan_frame(da.to_dataset(name="custom").assign_coords(quarter=self.result.quarter),
                                        "custom")
            _, name, scale = OUTPUTS[self.values["output"]]
            return charts.fan_frame(self.result, name, scale=scale)
        if view == "tornado":
            return tornado_frame(self.scenario, self.values["output"], quarter=self.tornado_quarter)
        raise ValueError(f"unknown view {view!r}; views: {list(self.VIEWS)}")

    def _fan_arguments(self):
        """(title, y_title, case) of the fan chart of the current output or custom metric."""
        label = OUTPUTS[self.values["output"]][0]
        case = f"{self.state.draws} draws, seed {self.state.seed}"
        da = self._metric()
        if da is not None:
            units = da.attrs.get("units")
            return f"Custom metric {self.values['metric']}", f"Custom metric [{units}]", case
        return label.split(" [")[0], label, case

    def chart(self, view=None):
        view = view or self.values["view"]
        f = self.chart_data(view)
        label = OUTPUTS[self.values["output"]][0]
        if view == "fan chart":
            return charts.fan_chart(f, *self._fan_arguments())
        unit = label[label.index("[") + 1:label.index("]")]
        return charts.tornado_chart(f, f"What moves {label.split(' [')[0].lower()} in {self.tornado_quarter}",
                                    f"Change from base case [{unit}]")

    def chart_spec(self, view=None):
        """As :meth:`chart` ``.to_dict()``; the fan chart through :func:`chipsuite.charts.fan_spec`."""
        view = view or self.values["view"]
        if view == "fan chart":
            return charts.fan_spec(self.chart_data(view), *self._fan_arguments())
        return super().chart_spec(view)

    def summary(self):
        """2027 numbers of the ensemble: for each of capex, MTIA share and emissions the (5 %, median,
        95 %) over draws of the year (``<key>_2027``: sum of amounts, mean of shares) and the base case
        (``<key>_2027_base``, draw 0: every input at its base value); the MTIA share also in 2027Q4
        (``mtia_share_h100e_2027q4`` and ``..._base``), the quarter notebooks 00, 01 and 03 state."""
        from ..uncertainty import quantiles
        from .grids import _quarter_value

        out = {}
        for key in ("capex_usd_bn", "mtia_share_h100e", "emissions_mtco2"):
            s = _output_series(self.result, key)
            year = s.sel(quarter=s.quarter.dt.year == 2027)
            agg = year.mean("quarter") if "share" in key else year.sum("quarter")
            q = quantiles(agg, q=(0.05, 0.5, 0.95)).values
            out[f"{key}_2027"] = tuple(float(x) for x in q)
            out[f"{key}_2027_base"] = float(agg.isel(draw=0))
        share = _quarter_value(_output_series(self.result, "mtia_share_h100e"), "2027Q4")
        out["mtia_share_h100e_2027q4"] = tuple(float(x) for x in quantiles(share, q=(0.05, 0.5, 0.95)).values)
        out["mtia_share_h100e_2027q4_base"] = float(share.isel(draw=0))
        return out

    def option_label(self, control, value):
        """The *output* menu shows each output's label (``Capex [USD bn per quarter]``), not its key."""
        return OUTPUTS[value][0] if control == "output" else super().option_label(control, value)

    def static_view(self):
        return self.chart("fan chart")

    def report_views(self):
        """Every output the widget offers, as a fan chart and as a tornado, precomputed (the custom
        metric box needs a kernel)."""
        saved = dict(self.values)
        views = []
        try:
            for view in self.VIEWS:
                for output, (label, _, _) in OUTPUTS.items():
                    self.values.update(output=output, metric="")
                    views.append((f"{view}: {label}", self.chart(view), ""))
        finally:
            self.values = saved
        return views

    def report_default(self):
        return f"{self.values['view']}: {OUTPUTS[self.values['output']][0]}"

