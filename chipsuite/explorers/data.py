"""The sourced data tables with their sources (notebook 06)."""

from __future__ import annotations

import re

import pandas as pd

from .. import charts
from .base import Control, Explorer

__all__ = ["DataExplorer", "TABLE_CSS"]

_WIDE = ("note", "sources", "title", "url", "other_urls", "label")
#: columns of free text written by the data's authors or quoted from sources (shown as written)
_FREE_TEXT = _WIDE + ("publisher", "counterparty", "plant", "name", "utility", "grid")
#: a cell that is an id (``bf16_dense``, ``nvidia_2026``): shown by its display name
_ID = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)+")
#: the data table's look: a scroll box, a sticky header, columns that keep a readable width
TABLE_CSS = (
    ".chipsuite-data-table{max-height:40em;overflow:auto;border:1px solid #ddd;max-width:100%}"
    ".chipsuite-data-table table{border-collapse:collapse;font-size:0.85em;width:max-content;max-width:none}"
    ".chipsuite-data-table th,.chipsuite-data-table td{padding:2px 8px;vertical-align:top;text-align:left;"
    "border-bottom:1px solid #e5e5e5;white-space:normal;overflow-wrap:anywhere;min-width:4em;max-width:14em;"
    "text-align:left !important;line-height:1.3 !important}"
    ".chipsuite-data-table th{position:sticky;top:0;background:#f3f3f3;z-index:1}"
    ".chipsuite-data-table .c-note{min-width:16em;max-width:30em}"
    ".chipsuite-data-table .c-sources{min-width:24em;max-width:32em}"
    ".chipsuite-data-table .c-title,.chipsuite-data-table .c-label{min-width:12em;max-width:24em}"
    ".chipsuite-data-table .c-url,.chipsuite-data-table .c-other_urls{min-width:12em;max-width:20em}"
)


class DataExplorer(Explorer):
    """Browse the sourced data tables with their sources: pick a table, filter rows, see sources."""

    title = "Data explorer"
    TABLES = ("sources",) + charts.VALUE_TABLES
    CONTROLS = {
        "table": Control("select", "table", default="chip_specs", options=TABLES),
        "filter": Control("text", "rows containing", default=""),
    }
    max_rows = 60
    REPORT_SCENARIOS = False  # the tables do not depend on the scenario

    def chart_data(self, view=None):
        """The filtered rows of the selected table, with their sources joined (publisher, title, url)."""
        from ..data import load_tables

        tables = load_tables()
        table = tables[self.values["table"]].copy()
        text = (self.values.get("filter") or "").strip().lower()
        if text:
            # every cell as text, a missing one as "" (pandas >= 3 keeps NaN through astype(str))
            hay = table.apply(lambda col: col.map(lambda v: "" if pd.isna(v) else str(v).lower())).agg(" ".join, axis=1)
            table = table[hay.str.contains(text, regex=False)]
        if "source_ids" in table.columns:
            s = tables["sources"]
            known = {i: f"{i}: {p}, {t} ({u})" for i, p, t, u in zip(s["source_id"], s["publisher"], s["title"], s["url"])}

            def describe(ids):
                parts = [i.strip() for i in str(ids or "").split(";") if i.strip()]
                return " | ".join(known[i] for i in parts if i in known)

            table["sources"] = table["source_ids"].map(describe)
        return table.reset_index(drop=True)

    def chart(self, view=None):
        """The low-base-high chart of the selected rows when they share one unit, else the kinds of
        values per table."""
        chart = self.table_chart(self.chart_data())
        return chart if chart is not None else charts.provenance_kinds_chart(charts.provenance_kinds_frame())

    #: columns shown first (ids), then values, kind and sources; notes and the rest after them
    KEY_COLUMNS = ("source_id", "deal_id", "tranche", "contract_id", "event_id", "region", "generation", "site",
                   "parameter", "workload", "quarter", "period", "year", "date", "measure", "quantity", "name")
    VALUE_COLUMNS = ("unit", "low", "base", "high", "value")

    def table_columns(self, frame):
        """Column order for reading: ids, values (unit, low, base, high), kind, sources, the rest, note."""
        cols = list(frame.columns)
        first = [c for c in self.KEY_COLUMNS if c in cols] + [c for c in self.VALUE_COLUMNS if c in cols]
        tail = [c for c in ("kind", "sources") if c in cols]
        rest = [c for c in cols if c not in first + tail + ["source_ids", "note"]]
        return first + tail + rest + (["note"] if "note" in cols else [])

    def table_html(self, frame=None, max_rows=None):
        """The filtered rows as an HTML table (escaped; display names, formatted numbers, sources with
        links), at most ``max_rows`` rows (default :attr:`max_rows`), in a scroll box whose columns
        keep a readable width (the note column cannot squeeze the others)."""
        import html as _html

        from .. import display

        f = self.chart_data() if frame is None else frame
        limit = self.max_rows if max_rows is None else max_rows
        shown = f.head(limit) if limit else f
        cols = self.table_columns(shown)
        note = (f'<p class="chipsuite-table-note"><code>data/{_html.escape(str(self.values["table"]))}.csv</code>: '
                f'{len(f):,} rows'
                + (f", first {len(shown):,} shown" if len(shown) < len(f) else "")
                + " (scroll inside the box for more rows and columns)</p>")
        head = "".join(f'<th class="c-{_html.escape(c)}">{_html.escape(display.header(c))}</th>' for c in cols)
        scale = {c: float(shown[c].abs().max()) for c in cols if c in shown and _is_number(shown[c])}
        rows = []
        for _, row in shown.iterrows():
            cells = []
            for c in cols:
                v = row[c]
                if c == "sources":
                    text = self._sources_html(row.get("source_ids"))
                elif c in ("generation", "site", "supplier", "workload") and isinstance(v, str):
                    text = _html.escape(display.name(v))
                elif c == "unit":
                    text = _html.escape(display.unit(v))
                elif c == "source_type" and isinstance(v, str):
                    text = _html.escape(display.SOURCE_TYPE_NAMES.get(v, v))
                elif c in scale:
                    text = _html.escape(display.number(v, sig=4, scale=scale[c]))
                elif c == "note" and isinstance(v, str):
                    text = _html.escape(display.spell_ids(v))  # as the id columns show them
                elif c not in _FREE_TEXT and isinstance(v, str) and _ID.fullmatch(v):
                    text = _html.escape(display.name(v))  # an id (parameter, measure, deal, ...): its display name
                else:
                    text = "" if v is None or (isinstance(v, float) and v != v) else _html.escape(str(v))
                cells.append(f'<td class="c-{c}">{text}</td>' if c in _WIDE else f"<td>{text}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        return (f"<style>{TABLE_CSS}</style>" + note + '<div class="chipsuite-data-table">'
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")

    def _sources_html(self, ids):
        import html as _html

        from .. import display
        from ..data import load_tables

        sources = load_tables()["sources"].set_index("source_id")
        parts = []
        for i in [x.strip() for x in str(ids or "").split(";") if x.strip()]:
            if i in sources.index:
                src = sources.loc[i]
                kind = display.SOURCE_TYPE_NAMES.get(str(src.get("source_type", "")), "")
                parts.append(f'{_html.escape(i)}{f" ({_html.escape(kind)})" if kind else ""}: '
                             f'{_html.escape(str(src["publisher"]))}, '
                             f'<a href="{_html.escape(str(src["url"]))}">{_html.escape(str(src["title"]))}</a>')
            else:
                parts.append(_html.escape(i))
        return "<br>".join(parts)

    def table_chart(self, frame):
        """The low-base-high chart of a table in one unit, or ``None`` (several units, or no ranges)."""
        f = frame
        if not ({"low", "base", "high"} <= set(f.columns) and len(f) and "unit" in f.columns
                and f["unit"].nunique() == 1):
            return None
        from .. import display

        keys = [c for c in f.columns if c in ("deal_id", "tranche", "contract_id", "region", "generation", "site",
                                                "parameter", "workload", "quarter", "period", "year", "measure",
                                                "date_given", "date", "quantity")]
        item = f[keys].astype(str).apply(lambda col: col.map(display.name)).agg(" / ".join, axis=1)
        rows = pd.DataFrame({"item": item, "low": f["low"].astype(float), "base": f["base"].astype(float),
                             "high": f["high"].astype(float), "kind": f["kind"].astype(str)}).head(self.max_rows)
        unit = display.unit(f["unit"].iloc[0])
        return charts.value_range_chart(rows, f"{display.name(self.values['table'])}: base values and low-high ranges",
                                        f"Value [{unit}]" if unit else "Value")

    def report_views(self):
        """One view per table: its low-base-high chart where it has one, and its rows with sources."""
        from ..data import load_tables

        tables = load_tables()
        views = []
        saved = dict(self.values)
        try:
            for name in self.TABLES:
                self.values.update(table=name, filter="")
                frame = self.chart_data()
                views.append((self.table_label(name, len(tables[name])), self.table_chart(frame),
                              self.table_html(frame, max_rows=0)))
        finally:
            self.values = saved
        return views

    def report_default(self):
        name = self.values["table"]
        return self.table_label(name, len(self.chart_data()))

    @staticmethod
    def table_label(name, n_rows):
        """Menu label of table ``name``: ``"chip specs (104 rows)"`` (the file is ``data/<name>.csv``)."""
        from .. import display

        return f"{display.name(name)} ({n_rows:,} rows)"

    def option_label(self, control, value):
        """The *table* menu shows display names (``chip specs``), other menus their values."""
        from .. import display

        return display.name(value) if control == "table" else super().option_label(control, value)

    def _build(self):
        import ipywidgets as w

        box = super()._build()
        self._table = w.HTML(self.table_html(), layout=w.Layout(width="100%"))
        out = w.VBox([*box.children[:-1], self._table])  # no scenario files for data
        out.add_class(box._dom_classes[0])
        return out

    def _refresh(self):
        super()._refresh()
        if getattr(self, "_table", None) is not None:
            self._table.value = self.table_html()

    def static_view(self):
        return self.chart()


def _is_number(series):
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
