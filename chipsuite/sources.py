"""How authoritative each source is, and which data rows cite what (``data/sources.csv``).

``sources.csv`` classifies every source by ``source_type`` (:data:`chipsuite.schema.SOURCE_TYPES`,
most authoritative first): primary documents (a regulatory filing, the company's own release or
blog post, a vendor datasheet or technical documentation, an official report) come before
secondary ones (press, analysts, blogs, aggregators and mirrors).

>>> from chipsuite.sources import sources_excerpt
>>> sources_excerpt(n=3)                                  # doctest: +SKIP

:func:`sources_by_authority` orders the sources primary first, then by type, then by how many
value rows cite them; :func:`sources_excerpt` is the short version shown in ``00_tour``.
:func:`superseded_citations` lists value rows that cite a secondary source without the primary
document that replaced it (a primary's ``other_urls`` keeps the secondary pages it replaced).
"""

from __future__ import annotations

import pandas as pd

from .display import SOURCE_TYPE_NAMES
from .schema import PRIMARY_SOURCE_TYPES, SOURCE_TYPES, TABLES

__all__ = ["SOURCE_TYPE_NAMES", "is_primary", "source_rank", "citations", "sources_by_authority",
           "sources_excerpt", "source_type_counts", "superseded_citations"]



def is_primary(source_type) -> bool:
    """``True`` for a primary source type (filing, company release, datasheet, official report)."""
    return source_type in PRIMARY_SOURCE_TYPES


def source_rank(source_type) -> int:
    """Authority rank of a source type: 0 (a filing) is the most authoritative.

    Raises ``ValueError`` for a type outside :data:`chipsuite.schema.SOURCE_TYPES`.
    """
    try:
        return SOURCE_TYPES.index(source_type)
    except ValueError:
        raise ValueError(f"unknown source_type {source_type!r}; one of {', '.join(SOURCE_TYPES)}") from None


def _value_tables(tables):
    """``name -> frame`` of every loaded table with a ``source_ids`` column (sources.csv excluded)."""
    return {name: frame for name, frame in tables.items()
            if name in TABLES and "source_ids" in TABLES[name].columns and name != "sources"}


def citations(tables=None) -> pd.DataFrame:
    """One row per (value row, source id) cited: ``table``, ``line`` (header = line 1), ``source_id``."""
    tables = _load(tables)
    rows = []
    for name, frame in _value_tables(tables).items():
        for i, cell in enumerate(frame["source_ids"].tolist()):
            for sid in filter(None, str(cell).split(";")):
                rows.append({"table": name, "line": i + 2, "source_id": sid})
    return pd.DataFrame(rows, columns=["table", "line", "source_id"])


def _load(tables):
    if tables is None:
        from .data import load_tables

        tables = load_tables()
    return tables


def sources_by_authority(tables=None) -> pd.DataFrame:
    """``sources.csv`` ordered primary first, then by type rank, then by value rows citing it (most first).

    Adds ``primary`` (bool), ``rank`` (:func:`source_rank`) and ``cited_rows`` (value rows citing
    the source); ties keep the file's order.
    """
    tables = _load(tables)
    sources = tables["sources"].copy()
    counts = citations(tables).groupby("source_id")["line"].size()
    sources["primary"] = sources["source_type"].map(is_primary)
    sources["rank"] = sources["source_type"].map(source_rank)
    sources["cited_rows"] = sources["source_id"].map(counts).fillna(0).astype(int)
    sources["_order"] = range(len(sources))
    ordered = sources.sort_values(["primary", "rank", "cited_rows", "_order"], ascending=[False, True, False, True],
                                  kind="stable")
    return ordered.drop(columns="_order").reset_index(drop=True)


def sources_excerpt(tables=None, n: int = 8) -> pd.DataFrame:
    """The ``n`` most authoritative sources that value rows cite (:func:`sources_by_authority`).

    Columns ``source_id``, ``publisher``, ``title``, ``date``, ``source_type`` and ``cited_rows``;
    uncited sources are left out. ``chipsuite.display.table`` shows ``source_type`` by its
    reader's name (:data:`SOURCE_TYPE_NAMES`).
    """
    ordered = sources_by_authority(tables)
    ordered = ordered[ordered["cited_rows"] > 0].head(n)
    return ordered[["source_id", "publisher", "title", "date", "source_type", "cited_rows"]].reset_index(drop=True)


def source_type_counts(tables=None) -> pd.DataFrame:
    """Sources per type: ``source_type``, ``primary``, ``sources`` [count], in authority order."""
    sources = _load(tables)["sources"]
    counts = sources["source_type"].value_counts()
    return pd.DataFrame([{"source_type": t, "primary": is_primary(t), "sources": int(counts.get(t, 0))}
                         for t in SOURCE_TYPES])


def _urls(row):
    urls = [row["url"]] + [u for u in str(row["other_urls"]).split(" ; ") if u]
    return [u.strip() for u in urls]


def superseded_citations(tables=None) -> pd.DataFrame:
    """Value rows citing a secondary source but not the primary document that replaced it.

    A primary source lists in ``other_urls`` the secondary pages it replaced; a secondary source
    whose ``url`` is among them reports that primary's content. A value row citing such a
    secondary without the primary is returned: ``table``, ``line``, ``source_id`` (the
    secondary), ``primary_ids`` (the primaries to cite, ``;``-separated). Empty when clean.
    """
    tables = _load(tables)
    sources = tables["sources"]
    replaced_by = {}  # url -> primary ids listing it
    for _, row in sources[sources["source_type"].map(is_primary)].iterrows():
        for url in _urls(row)[1:]:
            replaced_by.setdefault(url, []).append(row["source_id"])
    superseded = {}  # secondary id -> primary ids
    for _, row in sources[~sources["source_type"].map(is_primary)].iterrows():
        primaries = replaced_by.get(row["url"].strip())
        if primaries:
            superseded[row["source_id"]] = primaries
    cited = citations(tables)
    by_row = cited.groupby(["table", "line"])["source_id"].apply(set)
    out = []
    for (table, line), ids in by_row.items():
        for sid in sorted(ids & set(superseded), key=lambda s: int(s[1:])):
            missing = [p for p in superseded[sid] if p not in ids]
            if len(missing) == len(superseded[sid]):
                out.append({"table": table, "line": line, "source_id": sid, "primary_ids": ";".join(missing)})
    return pd.DataFrame(out, columns=["table", "line", "source_id", "primary_ids"])
