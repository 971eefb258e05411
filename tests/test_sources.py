"""Source types, the authority order of sources and citations of superseded secondary sources."""

from urllib.parse import urlparse

import pandas as pd
import pytest

from chipsuite import display
from chipsuite.data import load_tables
from chipsuite.schema import PRIMARY_SOURCE_TYPES, SECONDARY_SOURCE_TYPES, SOURCE_TYPES
from chipsuite.sources import (
    citations, is_primary, source_rank, source_type_counts, sources_by_authority, sources_excerpt,
    superseded_citations,
)


@pytest.fixture(scope="module")
def real():
    return load_tables()


def _sources(rows):
    return pd.DataFrame(rows, columns=["source_id", "publisher", "title", "date", "url", "other_urls", "source_type"])


def _tables(sources, cited):
    """A minimal tables dict: ``sources`` and one value table whose rows cite ``cited`` (``;``-joined ids)."""
    return {"sources": _sources(sources),
            "events": pd.DataFrame({"event_id": [f"e{i}" for i in range(len(cited))], "source_ids": cited})}


SYNTHETIC = [
    ("S1", "Blog", "t", "n.d.", "https://blog.example/a", "", "blog"),
    ("S2", "Press", "t", "n.d.", "https://press.example/q4", "", "press"),
    ("S3", "Meta", "Q4 release", "n.d.", "https://investor.example/q4", "https://press.example/q4", "company_release"),
    ("S4", "SEC", "10-K", "n.d.", "https://sec.example/10k", "", "filing"),
    ("S5", "Wiki", "t", "n.d.", "https://wiki.example/x", "", "aggregator"),
    ("S6", "Vendor", "datasheet", "n.d.", "https://vendor.example/ds", "", "datasheet"),
]


def test_source_types_split_into_primary_and_secondary():
    assert set(PRIMARY_SOURCE_TYPES) | set(SECONDARY_SOURCE_TYPES) == set(SOURCE_TYPES)
    assert not set(PRIMARY_SOURCE_TYPES) & set(SECONDARY_SOURCE_TYPES)
    assert [source_rank(t) for t in SOURCE_TYPES] == list(range(len(SOURCE_TYPES)))
    assert all(is_primary(t) for t in PRIMARY_SOURCE_TYPES) and not any(map(is_primary, SECONDARY_SOURCE_TYPES))
    with pytest.raises(ValueError, match="unknown source_type 'rumour'"):
        source_rank("rumour")


def test_authority_order_primary_first_then_type_then_citations():
    tables = _tables(SYNTHETIC, ["S1;S2", "S1", "S5", "S6", "S6", "S4", "S2"])
    order = sources_by_authority(tables)["source_id"].tolist()
    # filing, (company release S3 uncited: 0 rows), datasheet; then press, blog, aggregator
    assert order == ["S4", "S3", "S6", "S2", "S1", "S5"]
    excerpt = sources_excerpt(tables, n=4)
    assert excerpt["source_id"].tolist() == ["S4", "S6", "S2", "S1"]  # uncited S3 left out
    assert excerpt["cited_rows"].tolist() == [1, 2, 2, 2]


def test_excerpt_of_the_real_tables_leads_with_primary_sources(real):
    excerpt = sources_excerpt(real, n=8)
    assert len(excerpt) == 8
    assert excerpt["source_type"].map(is_primary).all(), excerpt
    ranks = excerpt["source_type"].map(source_rank).tolist()
    assert ranks == sorted(ranks)
    assert (excerpt["cited_rows"] > 0).all()
    ordered = sources_by_authority(real)
    primary = ordered["primary"].tolist()
    assert primary == sorted(primary, reverse=True)  # no secondary source before a primary one
    shown = display.table(excerpt).text_frame()
    assert "type of source" in shown.columns
    assert not shown["type of source"].str.contains("_").any()  # reader's names, not raw ids


def test_every_cited_source_id_resolves(real):
    known = set(real["sources"]["source_id"])
    cited = citations(real)
    assert len(cited) > 500
    assert set(cited["source_id"]) <= known, sorted(set(cited["source_id"]) - known)


def test_every_source_has_a_known_type(real):
    assert real["sources"]["source_type"].isin(SOURCE_TYPES).all()
    counts = source_type_counts(real)
    assert counts["sources"].sum() == len(real["sources"])
    assert counts.loc[counts["primary"], "sources"].sum() > 0


def test_superseded_citations_flag_a_secondary_cited_without_its_primary():
    tables = _tables(SYNTHETIC, ["S2", "S2;S3", "S1", "S3"])
    flagged = superseded_citations(tables)
    assert flagged.to_dict("records") == [{"table": "events", "line": 2, "source_id": "S2", "primary_ids": "S3"}]


def test_no_value_row_cites_only_a_secondary_that_a_primary_replaced(real):
    flagged = superseded_citations(real)
    assert flagged.empty, flagged.to_string()


#: hosts of issuers and official bodies: a source whose url is on one of them is a primary document
PRIMARY_HOSTS = ("sec.gov", "investor.atmeta.com", "about.fb.com", "ai.meta.com", "engineering.fb.com",
                 "sustainability.atmeta.com", "nvidia.com", "nvidianews.nvidia.com", "amd.com", "ir.amd.com",
                 "eia.gov", "docs.cloud.google.com", "awsdocs-neuron.readthedocs-hosted.com")
#: hosts that only mirror or summarise other documents
MIRROR_HOSTS = ("menafn.com", "secwatch.observer", "reportify.ai", "up2info.com", "stocktitan.net", "modeledge.ai",
                "advfn.com", "scribd.com", "wallst.com", "openfilings.com", "cloudfront.net")


def _host(url):
    host = urlparse(url).hostname or ""
    return host[4:] if host.startswith("www.") else host


def test_source_type_agrees_with_the_url_host(real):
    for row in real["sources"].itertuples():
        host = _host(row.url)
        if any(host == h or host.endswith("." + h) for h in PRIMARY_HOSTS):
            assert is_primary(row.source_type), (row.source_id, row.url, row.source_type)
        if any(host == h or host.endswith("." + h) for h in MIRROR_HOSTS) and is_primary(row.source_type):
            # a verbatim copy of a release or filing counts as primary only when the publisher says so
            assert " via " in row.publisher, (row.source_id, row.publisher, row.url)


def test_data_explorer_names_each_source_with_its_type(real):
    from chipsuite.explorers.data import DataExplorer

    primary = sources_by_authority(real).iloc[0]
    html = DataExplorer()._sources_html(f"{primary.source_id};S1")
    assert f"{primary.source_id} ({display.SOURCE_TYPE_NAMES[primary.source_type]}):" in html
    assert "S1 (press):" in html
