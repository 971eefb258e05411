"""The sourced data tables with their sources (notebook 06)."""

from __future__ import annotations

import pandas as pd

from .. import charts
from ..modes import is_report_mode
from .base import Control, Explorer, display_chart

__all__ = ["DataExplorer"]


class DataExplorer(Explorer):
    """Browse the sourced data tables with their sources: pick a table, filter rows, see sources."""

    title = "Data explorer"
    TABLES = ("sources",) + charts.VALUE_TABLES
    CONTROLS = {
        "table": Control("select", "table", default="chip_specs", options=TABLES),
        "filter": Control("text", "rows containing", default=""),
    }
    max_rows = 60

    def chart_data(self, view=None):
        """The filtered rows of the selected table, with their sources joined (publisher, title, url)."""
        from ..data import load_tables

        tables = load_tables()
        table = tables[self.values["table"]].copy()
        text = (self.values.get("filter") or "").strip().lower()
        if text:
            hay = table.astype(str).apply(lambda col: col.str.lower()).agg(" ".join, axis=1)
            table = table[hay.str.contains(text, regex=False)]
        if "source_ids" in table.columns:
            sources = tables["sources"].set_index("source_id")

            def describe(ids):
                parts = [i.strip() for i in str(ids or "").split(";") if i.strip()]
                return " | ".join(f"{i}: {sources.loc[i, 'publisher']}, {sources.loc[i, 'title']} ({sources.loc[i, 'url']})"
                                  for i in parts if i in sources.index)

            table["sources"] = table["source_ids"].map(describe)
        return table.reset_index(drop=True)

    def chart(self, view=None):
        f = self.chart_data()
        if {"low", "base", "high"} <= set(f.columns) and len(f) and "unit" in f.columns and f["unit"].nunique() == 1:
            keys = [c for c in f.columns if c in ("deal_id", "tranche", "contract_id", "region", "generation", "site",
                                                    "parameter", "workload", "quarter", "period", "year", "measure",
                                                    "date_given", "date", "quantity")]
            item = f[keys].astype(str).agg(" / ".join, axis=1)
            frame = pd.DataFrame({"item": item, "low": f["low"].astype(float), "base": f["base"].astype(float),
                                  "high": f["high"].astype(float), "kind": f["kind"].astype(str)}).head(self.max_rows)
            unit = str(f["unit"].iloc[0])
            return charts.value_range_chart(frame, f"{self.values['table']}: base values and low-high ranges",
                                            f"Value [{unit}]")
        return charts.provenance_kinds_chart(charts.provenance_kinds_frame())

    def table_html(self):
        """The filtered rows as an HTML table (escaped), at most :attr:`max_rows` rows."""
        f = self.chart_data()
        note = f"<p>{len(f)} rows" + (f", first {self.max_rows} shown" if len(f) > self.max_rows else "") + "</p>"
        return note + f.head(self.max_rows).to_html(index=False, escape=True, na_rep="")

    def _build(self):
        import ipywidgets as w

        box = super()._build()
        self._table = w.HTML(self.table_html(), layout=w.Layout(max_height="420px", overflow="auto"))
        return w.VBox([*box.children[:-1], self._table])  # no scenario files for data

    def _refresh(self):
        super()._refresh()
        if getattr(self, "_table", None) is not None:
            self._table.value = self.table_html()

    def static_view(self):
        return charts.provenance_kinds_chart(charts.provenance_kinds_frame())

    def show(self):
        """The widget UI; in report mode the kinds chart and the default table, kernel-free."""
        from IPython.display import HTML, display

        if is_report_mode():
            display_chart(self.static_view())
            display(HTML(self.table_html()))
        else:
            self.display_live()
