"""Chart builders: every chart validates (to_dict), round-trips through JSON, and carries a title,
a source line and axis titles with units; frames are small and tidy."""

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import chipsuite
from chipsuite import charts


@pytest.fixture(scope="module")
def result():
    return chipsuite.run()


@pytest.fixture(scope="module")
def ensemble():
    return chipsuite.run(draws=20, seed=1)


def _all_charts(result, ensemble):
    events = charts.event_frame(["chips", "capex"])
    tornado = pd.DataFrame({"parameter": ["a", "a", "b", "b"], "bound": ["low", "high", "low", "high"],
                            "delta": [-1.0, 2.0, 0.5, -0.25]})
    grid = pd.DataFrame({"quarter": pd.to_datetime(["2026-01-01", "2026-04-01"] * 4),
                         "cadence_months": [6.0, 6.0, 12.0, 12.0] * 2, "slip_quarters": [0.0] * 4 + [0.5] * 4,
                         "mtia_share": np.linspace(0.0, 0.2, 8)})
    breakeven = pd.DataFrame({"mtia_efficiency": [0.5, 0.5, 1.0, 1.0], "nvidia_price_multiplier": [1.0, 1.2] * 2,
                              "cost_difference_usd_per_h100e_hour": [0.1, 0.05, -0.1, -0.2]})
    volume = pd.DataFrame({"deal_scale": [0.0] * 3 + [2.0] * 3,
                           "measure": ["mtia_share", "net_savings_usd_bn", "floor_units_thousand"] * 2,
                           "value": [0.2, 50.0, 0.0, 0.1, 20.0, 800.0]})
    values = pd.DataFrame({"item": ["h100", "b200"], "low": [25e3, 30e3], "base": [30e3, 35e3], "high": [40e3, 40e3],
                           "kind": ["estimate", "estimate"]})
    comparison = pd.DataFrame({"quarter": pd.to_datetime(["2026-01-01", "2026-04-01"] * 2),
                               "scenario": ["a", "a", "b", "b"], "value": [1.0, 2.0, 1.5, 2.5]})
    return {
        "fleet_by_generation": charts.fleet_by_generation_chart(charts.fleet_by_generation_frame(result), events=events),
        "mtia_share": charts.mtia_share_chart(charts.mtia_share_frame(result)),
        "cadence_lines": charts.cadence_comparison_chart(grid),
        "cadence_bound": charts.cadence_comparison_chart(grid, cadence=6.0, slip=0.0),
        "perf_per_watt": charts.perf_per_watt_chart(charts.perf_per_watt_frame(result)),
        "nre_savings": charts.nre_savings_chart(charts.nre_savings_frame(result)),
        "capex_annual": charts.capex_annual_chart(charts.capex_annual_frame(result)),
        "capex_quarterly": charts.capex_quarterly_chart(charts.capex_quarterly_frame(result), events=events),
        "capex_parts": charts.capex_parts_chart(charts.capex_parts_frame(result)),
        "dependence": charts.dependence_shares_chart(charts.dependence_shares_frame(result)),
        "suppliers": charts.supplier_chart(charts.supplier_frame(result), events=charts.event_frame(["deal"])),
        "supplier_shares": charts.supplier_chart(charts.supplier_frame(result), shares=True),
        "supplier_spend": charts.supplier_chart(charts.supplier_frame(result, basis="spend")),
        "hhi": charts.hhi_chart(charts.hhi_frame(result)),
        "breakeven": charts.breakeven_chart(breakeven, year=2028),
        "min_volume": charts.min_volume_chart(volume),
        "site_power": charts.site_power_chart(charts.site_power_frame(result)),
        "fleet_power": charts.fleet_power_chart(charts.fleet_power_frame(result)),
        "energy": charts.energy_annual_chart(charts.energy_annual_frame(result)),
        "fan": charts.fan_chart(charts.fan_frame(ensemble, "capex_usd", scale=1e9), "Capex",
                                "Capex [USD bn per quarter]"),
        "tornado": charts.tornado_chart(tornado, "What moves capex", "Change [USD bn]"),
        "comparison": charts.scenario_comparison_chart(comparison, "Capex", "Capex [USD bn per quarter]"),
        "kinds": charts.provenance_kinds_chart(charts.provenance_kinds_frame()),
        "value_range": charts.value_range_chart(values, "Unit prices", "Price [USD]"),
    }


@pytest.fixture(scope="module")
def built(result, ensemble):
    return _all_charts(result, ensemble)


def _walk(node):
    """Every dict inside a spec."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _title_text(spec):
    title = spec.get("title")
    if isinstance(title, dict):
        return title.get("text"), title.get("subtitle")
    return title, None


def test_every_chart_validates_and_round_trips(built):
    for name, chart in built.items():
        assert isinstance(chart, alt.TopLevelMixin), name
        spec = chart.to_dict()  # validates against the Vega-Lite schema
        again = json.loads(json.dumps(spec))
        assert again == spec, name
        assert alt.Chart.from_dict(again) if "mark" in again else True


def test_every_chart_has_title_and_source_line(built):
    for name, chart in built.items():
        text, subtitle = _title_text(chart.to_dict())
        assert text, f"{name}: no title"
        assert subtitle and str(subtitle).startswith("Source: chipsuite"), f"{name}: no source line"
        assert "data/sources.csv" in str(subtitle), name


def test_quantitative_encodings_have_titles_with_units(built):
    for name, chart in built.items():
        found = 0
        for node in _walk(chart.to_dict()):
            enc = node.get("encoding") if isinstance(node.get("encoding"), dict) else None
            if not enc:
                continue
            for channel in ("x", "y", "color"):  # colour: the heatmap's quantity
                field = enc.get(channel)
                if isinstance(field, dict) and field.get("type") == "quantitative" and "field" in field:
                    title = field.get("title")
                    title = " ".join(title) if isinstance(title, list) else title
                    assert title and "[" in str(title) and "]" in str(title), f"{name}: {channel} title {title!r}"
                    found += 1
        assert found, f"{name}: no quantitative x/y/colour encoding"


def test_time_axes_are_temporal(built):
    for name, chart in built.items():
        for node in _walk(chart.to_dict()):
            field = node.get("x") if isinstance(node.get("x"), dict) else None
            if field and field.get("field") == "quarter":
                assert field["type"] == "temporal", name


def test_bound_params_in_grid_chart():
    grid = pd.DataFrame({"quarter": pd.to_datetime(["2026-01-01"] * 2), "cadence_months": [6.0, 12.0],
                         "slip_quarters": [0.0, 0.0], "mtia_share": [0.1, 0.05]})
    spec = charts.cadence_comparison_chart(grid, cadence=12.0, slip=0.0).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert params["cadence_months"]["value"] == 12.0
    assert params["cadence_months"]["bind"]["options"] == [6.0, 12.0]
    assert "bind" in params["slip_quarters"]


def test_frames_are_small_and_reduced(result, ensemble):
    # a fan frame has one row per quarter and three quantile columns, never one per draw
    fan = charts.fan_frame(ensemble, "capex_usd", scale=1e9)
    assert list(fan.columns) == ["quarter", "q05", "q50", "q95"]
    assert len(fan) == ensemble.sizes["quarter"]
    assert (fan["q05"] <= fan["q50"]).all() and (fan["q50"] <= fan["q95"]).all()
    frame = charts.fleet_by_generation_frame(result)
    assert list(frame.columns) == ["quarter", "generation", "h100e_million", "vendor", "sourcing"]
    assert len(frame) % result.sizes["quarter"] == 0
    assert frame["generation"].nunique() <= 2 * result.sizes["generation"]


def test_fleet_frame_keeps_exactly_the_generations_with_capability():
    """Owned rows for every generation with any installed capability in the draw, none for the others;
    rented rows likewise (the per-generation definition, by hand)."""
    r = chipsuite.run(chipsuite.Scenario.default().replace(amd_deal_scale=0.0), draws=2, seed=1)
    for draw in (0, 1):
        frame = charts.fleet_by_generation_frame(r, draw=draw)
        for sourcing, name in (("owned", "h100e"), ("rented", "rented_h100e")):
            da = r[name].isel(draw=draw)
            expected = {str(g) for g in da.generation.values if float(abs(da.sel(generation=g)).sum()) > 0}
            got = {g.replace(" (rented)", "") for g in frame[frame.sourcing == sourcing]["generation"]}
            assert got == expected, (draw, sourcing)
            assert len(expected) < r.sizes["generation"]  # the filter drops generations never owned / rented


def test_fleet_frame_sums_to_model_total_owned_and_rented(result):
    frame = charts.fleet_by_generation_frame(result)
    by = frame.groupby(["sourcing", "quarter"])["h100e_million"].sum()
    np.testing.assert_allclose(by["owned"].to_numpy(), result.h100e_total.isel(draw=0).values / 1e6, rtol=1e-12)
    np.testing.assert_allclose(by["rented"].to_numpy(), result.rented_h100e_total.isel(draw=0).values / 1e6,
                               rtol=1e-12, atol=1e-12)


def test_fleet_frame_has_every_vendor_family_and_rented_generations(result):
    frame = charts.fleet_by_generation_frame(result)
    assert {"MTIA", "Nvidia", "AMD"} <= set(frame.loc[frame["sourcing"] == "owned", "vendor"])
    rented = frame[frame["sourcing"] == "rented"]
    assert {"Nvidia", "Google TPU"} <= set(rented["vendor"])  # CoreWeave/Nebius GPUs and Google TPUs
    assert rented["generation"].str.endswith(" (rented)").all()
    assert "tpu7_ironwood (rented)" in set(rented["generation"])


def test_generation_colours_are_grouped_by_vendor_family(result):
    """At most eight distinguishable colours: generations in groups, one hue per family, families
    stacked together; the groups keep every H100e of the generations."""
    frame = charts.fleet_by_generation_frame(result)
    spec = charts.fleet_by_generation_chart(frame).to_dict()
    main = spec["vconcat"][0]["vconcat"][0]["layer"][0] if "vconcat" in spec else spec
    scale = main["encoding"]["color"]["scale"]
    assert len(scale["domain"]) <= 8 and len(set(scale["range"])) == len(scale["range"])
    families = [g.split()[0].rstrip(",") for g in scale["domain"]]
    runs = [f for i, f in enumerate(families) if i == 0 or families[i - 1] != f]
    assert len(runs) == len(set(runs))
    groups = charts.fleet_group_frame(frame)
    assert groups["h100e_million"].sum() == pytest.approx(frame["h100e_million"].sum())
    assert set(groups["group"]) <= set(scale["domain"])


def test_supplier_frame_shares_sum_to_one(result):
    for basis, column in (("h100e", "h100e_million"), ("spend", "spend_usd_bn")):
        frame = charts.supplier_frame(result, basis=basis)
        assert set(frame["supplier"]) == set(charts.SUPPLIER_LABELS.values())
        assert set(frame["sourcing"]) == {"owned", "rented"}
        np.testing.assert_allclose(frame.groupby("quarter")["share"].sum().to_numpy(), 1.0, rtol=1e-9)
        # amounts: the model's supplier variable, and shares = amount / total
        total = frame.groupby("quarter")[column].transform("sum")
        np.testing.assert_allclose(frame[column] / total, frame["share"], rtol=1e-9)
    frame = charts.supplier_frame(result)
    owned = frame[frame["sourcing"] == "owned"].groupby("quarter")["h100e_million"].sum().to_numpy()
    r = result.isel(draw=0)
    keep = pd.to_datetime(r.quarter.values) >= pd.Timestamp("2024-01-01")
    np.testing.assert_allclose(owned, r.h100e_total.values[keep] / 1e6, rtol=1e-9)
    with pytest.raises(ValueError, match="basis"):
        charts.supplier_frame(result, basis="units")


def test_nvidia_share_incl_rented_is_in_the_shares_frame(result):
    frame = charts.dependence_shares_frame(result)
    assert {"capability, owned (H100e)", "capability incl. rented (H100e)",
            "compute spend incl. rented"} <= set(frame["measure"])
    assert frame["share"].between(0, 1).all()


def test_capex_quarterly_frame_models_headline_and_ppe(result):
    frame = charts.capex_quarterly_frame(result)
    assert set(frame["series"]) == set(charts.CAPEX_QUARTERLY_SERIES)
    r = result.isel(draw=0)
    head = frame[frame["series"] == "modelled (headline)"]["capex_usd_bn"].to_numpy()
    ppe = frame[frame["series"] == "modelled (purchases of P&E)"]["capex_usd_bn"].to_numpy()
    n = len(head)
    np.testing.assert_allclose(head, r.capex_usd.values[:n] / 1e9, rtol=1e-12)
    np.testing.assert_allclose(head - ppe, r.finance_lease_principal_usd.values[:n] / 1e9, rtol=1e-9, atol=1e-12)
    reported = frame[frame["series"] == "reported (headline)"].set_index("quarter")["capex_usd_bn"]
    assert reported[pd.Timestamp("2025-10-01")] == pytest.approx(22.14)  # capex_quarterly.csv, Q4 2025


def test_perf_per_watt_has_amd(result):
    frame = charts.perf_per_watt_frame(result)
    assert {"MTIA", "Nvidia", "AMD", "fleet"} == set(frame["vendor"])
    assert (frame["h100e_per_mw"] > 0).all()


def test_capex_parts_sum_to_capex(result):
    """Accelerators + servers/network + facilities + non-AI + finance-lease principal = headline capex."""
    frame = charts.capex_parts_frame(result)
    assert "finance-lease principal" in set(frame["part"])
    by_year = frame.groupby("year")["capex_usd_bn"].sum()
    from chipsuite.model import annual

    capex = annual(result.capex_usd.isel(draw=0)) / 1e9
    for year, value in by_year.items():
        assert value == pytest.approx(float(capex.sel(year=int(year))), rel=1e-12)


def test_capex_annual_frame_holds_public_figures(result):
    frame = charts.capex_annual_frame(result)
    reported = frame[(frame["series"] == "reported") & (frame["year"] == "2025")]
    assert reported["value"].item() == pytest.approx(72.22)  # Meta 2025 headline capex (capex_annual.csv)
    guided = frame[(frame["series"] == "guidance (latest)") & (frame["year"] == "2026")]
    assert (guided["low"].item(), guided["high"].item()) == pytest.approx((125.0, 145.0))


def test_mtia_share_frame_is_a_share(result):
    frame = charts.mtia_share_frame(result)
    assert frame["share"].between(0, 1).all()
    frontier = frame[frame["workload"] == "frontier training"]
    assert (frontier["share"] == 0).all()  # frontier training is Nvidia-only (chip_workloads.csv)


def test_event_frame_filters():
    events = charts.event_frame(["capex"], start="2025-01-01")
    assert set(events["category"]) == {"capex"}
    assert (events["date"] >= pd.Timestamp("2025-01-01")).all()
    assert len(events) > 0
    chart = alt.Chart(pd.DataFrame({"quarter": [pd.Timestamp("2025-01-01")], "v": [1.0]})).mark_line().encode(
        x="quarter:T", y="v:Q")
    assert charts.with_events(chart, events.iloc[:0]) is chart


def test_provenance_kinds_frame_counts_rows():
    tables = chipsuite.load_tables()
    frame = charts.provenance_kinds_frame(tables)
    assert frame["rows"].sum() == sum(len(tables[t]) for t in charts.VALUE_TABLES)
    assert set(frame["kind"]) <= set(charts.KINDS)


# --------------------------------------------------------------------------- fan charts for the interactive path


def _fan_frame_reference(result, name, q=(0.05, 0.5, 0.95), scale=1.0):
    """fan_frame as first written: xarray sum over the extra dims, then uncertainty.quantiles."""
    from chipsuite.uncertainty import quantiles

    da = result[name]
    extra = [d for d in da.dims if d not in ("draw", "quarter")]
    if extra:
        da = da.sum(extra)
    qs = quantiles(da, q=q) / scale
    frame = pd.DataFrame({"quarter": pd.to_datetime(result.quarter.values)})
    for qq in q:
        frame[f"q{int(round(qq * 100)):02d}"] = qs.sel(quantile=qq).values
    return frame


def _tiny_result(values):
    """A result with ``energy_mwh`` [draw, site, quarter] from a nested list."""
    import xarray as xr

    values = np.asarray(values, dtype=np.float64)
    quarters = pd.date_range("2026-01-01", periods=values.shape[2], freq="QS")
    return xr.Dataset({"energy_mwh": (("draw", "site", "quarter"), values, {"units": "MWh"})},
                      coords={"quarter": quarters})


def test_fan_frame_golden_values():
    # site sums per draw in quarter 0: 1, 2, 3, 4, 5 (order shuffled); quarter 1: ten times that
    sums = np.array([3.0, 1.0, 5.0, 2.0, 4.0])
    values = np.zeros((5, 2, 2))  # [draw, site, quarter]
    values[:, 0, 0], values[:, 1, 0] = sums - 0.5, 0.5
    values[:, 0, 1], values[:, 1, 1] = 4 * sums, 6 * sums
    frame = charts.fan_frame(_tiny_result(values), "energy_mwh", scale=2.0, reduce="site")
    assert list(frame.columns) == ["quarter", "q05", "q50", "q95"]
    # linear interpolation over 5 sorted draws: q05 = 1 + 0.05 * 4 = 1.2, q95 = 1 + 0.95 * 4 = 4.8; / 2
    np.testing.assert_allclose(frame["q05"], [0.6, 6.0], rtol=1e-12)
    np.testing.assert_allclose(frame["q50"], [1.5, 15.0], rtol=1e-12)
    np.testing.assert_allclose(frame["q95"], [2.4, 24.0], rtol=1e-12)
    assert list(frame["quarter"]) == [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-04-01")]


def test_fan_frame_nan_rules():
    values = np.ones((4, 2, 2))
    values[0, 1, 0] = np.nan  # one site of one draw: the site sum skips it (as xarray's sum does)
    frame = charts.fan_frame(_tiny_result(values), "energy_mwh")
    # quarter 0 site sums over draws: 1, 2, 2, 2 -> q05 = 1 + 0.05 * 3 * (2 - 1), q95 = 2
    assert frame["q05"].iloc[0] == pytest.approx(1.15, rel=1e-12) and frame["q95"].iloc[0] == 2.0
    one_site = _tiny_result(values[:, :1, :]).isel(site=0)  # no dim to sum: a NaN draw makes quantiles NaN
    one_site["energy_mwh"][0, 0] = np.nan
    frame = charts.fan_frame(one_site, "energy_mwh")
    assert frame.iloc[0, 1:].isna().all() and not frame.iloc[1, 1:].isna().any()


def test_fan_frame_equals_xarray_path_bit_for_bit(ensemble):
    for name in ("energy_mwh", "capex_usd", "h100e_total", "mtia_share_h100e"):
        for q, scale in (((0.05, 0.5, 0.95), 1e6), ((0.1, 0.25, 0.9), 1.0)):
            pd.testing.assert_frame_equal(charts.fan_frame(ensemble, name, q=q, scale=scale),
                                          _fan_frame_reference(ensemble, name, q=q, scale=scale), check_exact=True)
    chunked = ensemble.chunk({"draw": 7})  # dask: summed lazily first, same numbers
    pd.testing.assert_frame_equal(charts.fan_frame(chunked, "energy_mwh", scale=1e6),
                                  _fan_frame_reference(ensemble, "energy_mwh", scale=1e6), check_exact=True)


def test_fan_frame_rejects_bad_input(ensemble):
    with pytest.raises(ValueError, match="q must be quantiles"):
        charts.fan_frame(ensemble, "energy_mwh", q=(0.5, 1.5))
    with pytest.raises(ValueError, match="needs 'draw' and 'quarter'"):
        charts.fan_frame(ensemble.isel(draw=0), "energy_mwh")


def _assert_same_spec(fast, full):
    """Same dict and the same JSON text (key order included) as Altair's to_dict()."""
    assert fast == full
    assert json.dumps(fast) == json.dumps(full)
    (name,) = fast["datasets"]
    assert fast["data"] == {"name": name}


def _nan_frame(ensemble):
    frame = charts.fan_frame(ensemble, "capex_usd", scale=1e9)
    frame.loc[1, "q05"] = np.nan
    frame.loc[2, "q95"] = np.inf
    frame.loc[3, "q50"] = -np.inf
    return frame


def test_fan_spec_equals_fan_chart_to_dict(result, ensemble):
    frames = {
        "energy": charts.fan_frame(ensemble, "energy_mwh", scale=1e6, reduce="site"),
        "capex": charts.fan_frame(ensemble, "capex_usd", scale=1e9),
        "one draw": charts.fan_frame(result, "h100e_total", scale=1e6),
        "five quantiles": charts.fan_frame(ensemble, "capex_usd", q=(0.05, 0.25, 0.5, 0.75, 0.95)),
        "nan and inf": _nan_frame(ensemble),
        "three rows": charts.fan_frame(ensemble, "capex_usd").iloc[5:8],
    }
    for case in ("uncertainty ensemble", "custom case"):
        for name, frame in frames.items():
            fast = charts.fan_spec(frame, "Electricity", "Electricity [TWh per quarter]", case=case)
            full = charts.fan_chart(frame, "Electricity", "Electricity [TWh per quarter]", case=case).to_dict()
            _assert_same_spec(fast, full)
    rows = charts.fan_spec(frames["nan and inf"], "Capex", "Capex [USD bn]")["datasets"]
    (rows,) = rows.values()
    assert rows[1]["q05"] is None and rows[2]["q95"] is None and rows[3]["q50"] is None  # as Altair writes them


def test_fan_spec_reuses_the_template_without_stale_rows(ensemble):
    charts._fan_template.cache_clear()
    first = charts.fan_frame(ensemble, "energy_mwh", scale=1e6)
    second = first.copy()
    second[["q05", "q50", "q95"]] *= 2.0
    second = second.iloc[:-3]  # fewer rows, too
    spec_a = charts.fan_spec(first, "Electricity", "Electricity [TWh per quarter]")
    spec_b = charts.fan_spec(second, "Electricity", "Electricity [TWh per quarter]")
    info = charts._fan_template.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    _assert_same_spec(spec_b, charts.fan_chart(second, "Electricity", "Electricity [TWh per quarter]").to_dict())
    (rows_b,) = spec_b["datasets"].values()
    assert len(rows_b) == len(second) and rows_b[0]["q50"] == 2.0 * first["q50"].iloc[0]
    assert spec_a["datasets"].keys() != spec_b["datasets"].keys()
    # another title, y title or case fills the same template's text slots; a share axis is another template
    for title, y_title, case in [("Capex", "Capex [USD bn per quarter]", "uncertainty ensemble"),
                                 ("Custom metric capex_usd / 1e9", "Custom metric [USD]", "1000 draws, seed 3"),
                                 ("MTIA share", "MTIA share [%]", "20 draws")]:
        _assert_same_spec(charts.fan_spec(second, title, y_title, case),
                          charts.fan_chart(second, title, y_title, case).to_dict())
    assert charts._fan_template.cache_info().misses == 2
    # texts that are not plain strings take Altair's path
    _assert_same_spec(charts.fan_spec(second, "Capex", "Capex [USD bn]", None),
                      charts.fan_chart(second, "Capex", "Capex [USD bn]", None).to_dict())


def test_fan_spec_result_can_be_mutated_safely(ensemble):
    frame = charts.fan_frame(ensemble, "energy_mwh", scale=1e6)
    full = charts.fan_chart(frame, "Electricity", "Electricity [TWh per quarter]").to_dict()
    spec = charts.fan_spec(frame, "Electricity", "Electricity [TWh per quarter]")
    (rows,) = spec["datasets"].values()
    rows[0]["q05"] = -1.0
    rows.append({"quarter": "1999-01-01T00:00:00"})
    spec["layer"][0]["mark"]["color"] = "red"
    spec["layer"][0]["encoding"]["tooltip"].pop()
    spec["title"]["text"] = "changed"
    spec["data"]["name"] = "changed"
    spec["config"].clear()
    del spec["$schema"]
    _assert_same_spec(charts.fan_spec(frame, "Electricity", "Electricity [TWh per quarter]"), full)


def test_fan_spec_falls_back_to_altair_for_unusual_frames(ensemble):
    frame = charts.fan_frame(ensemble, "capex_usd", scale=1e9).iloc[:4].reset_index(drop=True)
    unusual = {
        "sub-second dates": frame.assign(quarter=frame["quarter"] + pd.Timedelta(milliseconds=250)),
        "timezone-aware dates": frame.assign(quarter=frame["quarter"].dt.tz_localize("UTC")),
        "nullable floats": frame.astype({"q50": "Float64"}),
        "mixed object column": frame.assign(note=np.array(["a", None, 3, "d"], dtype=object)),
    }
    for name, odd in unusual.items():
        assert charts._altair_records(odd) is None, name
        _assert_same_spec(charts.fan_spec(odd, "Capex", "Capex [USD bn]"),
                          charts.fan_chart(odd, "Capex", "Capex [USD bn]").to_dict())
    with alt.data_transformers.enable("default", max_rows=None):  # not the default options: Altair's path
        assert not charts._default_data_transformer(len(frame))
        _assert_same_spec(charts.fan_spec(frame, "Capex", "Capex [USD bn]"),
                          charts.fan_chart(frame, "Capex", "Capex [USD bn]").to_dict())


def test_altair_records_golden_and_equal_to_altair():
    quarters = pd.to_datetime(["2026-01-01T00:00:00", None, "2026-07-01T06:30:15"], format="ISO8601")
    frame = pd.DataFrame({"quarter": quarters,
                          "q05": [0.5, np.nan, -np.inf], "count": np.array([1, 2, 3], dtype=np.int32),
                          "flag": [True, False, True]})
    expected = [{"quarter": "2026-01-01T00:00:00", "q05": 0.5, "count": 1, "flag": True},
                {"quarter": "", "q05": None, "count": 2, "flag": False},
                {"quarter": "2026-07-01T06:30:15", "q05": None, "count": 3, "flag": True}]
    assert charts._altair_records(frame) == expected
    assert alt.utils.data.to_values(frame)["values"] == expected
    assert json.dumps(charts._altair_records(frame)) == json.dumps(expected)


def test_dataset_name_is_altairs():
    frame = pd.DataFrame({"quarter": pd.to_datetime(["2026-01-01", "2026-04-01"]), "q05": [1.0, np.nan],
                          "q50": [2.0, 3.0], "q95": [4.0, 5.0]})
    spec = alt.Chart(frame).mark_point().encode(x="quarter:T", y="q50:Q").to_dict()
    assert list(spec["datasets"]) == [charts._dataset_name(charts._altair_records(frame))]



@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40 * 365 * 86400),
                          *[st.floats(allow_nan=True, allow_infinity=True, width=64)] * 3),
                min_size=0, max_size=12))
def test_fan_spec_equals_to_dict_for_any_rows(rows):
    frame = pd.DataFrame({"quarter": pd.to_datetime([r[0] for r in rows], unit="s"),
                          "q05": np.array([r[1] for r in rows], dtype=np.float64),
                          "q50": np.array([r[2] for r in rows], dtype=np.float64),
                          "q95": np.array([r[3] for r in rows], dtype=np.float64)})
    _assert_same_spec(charts.fan_spec(frame, "Random", "Random [1]"),
                      charts.fan_chart(frame, "Random", "Random [1]").to_dict())


@settings(max_examples=30, deadline=None)
@given(st.text(max_size=20), st.text(max_size=20), st.text(max_size=20), st.booleans())
def test_fan_spec_equals_to_dict_for_any_texts(title, y_title, case, share):
    y_title = y_title + (" [%]" if share else "")
    frame = pd.DataFrame({"quarter": pd.to_datetime(["2026-01-01", "2026-04-01"]), "q05": [1.0, np.nan],
                          "q50": [2.0, 3.0], "q95": [4.0, 5.0]})
    _assert_same_spec(charts.fan_spec(frame, title, y_title, case), charts.fan_chart(frame, title, y_title, case).to_dict())


@pytest.mark.parametrize("dtype", ["str", "string", pd.StringDtype("python"), pd.StringDtype("pyarrow"), object])
def test_altair_records_of_string_columns_with_missing_values_equal_altair(dtype):
    frame = pd.DataFrame({"label": pd.Series(["a", None, "b c", np.nan, "ü"], dtype=dtype),
                          "value": [1.0, 2.0, np.nan, 4.0, 5.0]})
    records = charts._altair_records(frame)
    if dtype is object:  # object columns holding None / NaN are not all strings: Altair's own path
        assert records is None
        return
    assert records == alt.utils.data.to_values(frame)["values"]
    assert [r["label"] for r in records] == ["a", None, "b c", None, "ü"]
