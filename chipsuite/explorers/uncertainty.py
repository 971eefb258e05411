"""Uncertainty: fan charts, tornado and a custom-metric box (notebook 05)."""

from __future__ import annotations

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
        """As :meth:`Explorer.set`; a refused custom metric is kept as :attr:`metric_error`."""
        if "metric" in controls:
            from ..expr import FormulaError
            from ..metrics import custom_metric

            text = (controls["metric"] or "").strip()
            self.metric_error = ""
            if text:
                try:
                    custom_metric(text, self.result.isel(draw=slice(0, 2)))
                except (FormulaError, ValueError, KeyError, TypeError) as err:
                    self.metric_error = f"{type(err).__name__}: {err}"
            controls = {**controls, "metric": text}
        super().set(**controls)
        self._show_message(f"Custom metric not shown: {self.metric_error}" if self.metric_error else "",
                           error=bool(self.metric_error))
        return self

    def _metric_active(self):
        return bool(self.values.get("metric")) and not self.metric_error

    def chart_data(self, view=None):
        view = view or self.values["view"]
        if view == "fan chart":
            if self._metric_active():
                from ..metrics import custom_metric

                da = custom_metric(self.values["metric"], self.result)
                extra = [d for d in da.dims if d not in ("draw", "quarter")]
                if extra:
                    da = da.sum(extra)
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
        if self._metric_active():
            from ..metrics import custom_metric

            units = custom_metric(self.values["metric"], self.result.isel(draw=slice(0, 2))).attrs.get("units")
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
        from ..uncertainty import quantiles

        out = {}
        for key in ("capex_usd_bn", "mtia_share_h100e", "emissions_mtco2"):
            s = _output_series(self.result, key)
            year = s.sel(quarter=s.quarter.dt.year == 2027)
            agg = year.mean("quarter") if "share" in key else year.sum("quarter")
            q = quantiles(agg, q=(0.05, 0.5, 0.95)).values
            out[f"{key}_2027"] = tuple(float(x) for x in q)
        return out

    def static_view(self):
        return self.chart("fan chart")
