"""chipsuite.display: display names, units, number formats, tables, headlines."""

import pandas as pd
import pytest

from chipsuite import display


@pytest.mark.parametrize("key, shown", [("mtia_300", "MTIA 300"), ("h100", "H100"), ("cloud_tpu", "Google TPU (rented)"),
                                         ("gb300 (rented)", "GB300 (rented)"), ("rec_training",
                                                                                "ranking/recommendation training"),
                                         ("h100e_factor", "H100e factor per chip"), ("Capex in 2027", "Capex in 2027")])
def test_names(key, shown):
    assert display.name(key) == shown


def test_units_and_headers():
    assert display.unit("usd_bn") == "USD bn" and display.unit("1") == "" and display.unit(None) == ""
    assert display.header("capex_usd_bn") == "capex [USD bn]"
    assert display.header("net_savings_usd_bn") == "net savings [USD bn]"
    assert display.header("base", "units") == "base [units]"


@pytest.mark.parametrize("x, text", [(638000.0, "638,000"), (1311892.17, "1,311,892"), (2.0, "2"), (0.5, "0.5"),
                                     (80.53, "80.5"), (0.012345, "0.0123"), (-3.14159, "-3.14"), (0.0, "0"),
                                     (float("nan"), ""), (None, "")])
def test_number(x, text):
    assert display.number(x) == text


def test_float_noise_is_zero_next_to_its_column():
    assert display.number(1.776357e-15, scale=10) == "0"
    assert display.number(1e-6, scale=1e-5) == "0.000001"


def test_table_has_no_index_units_in_headers_and_formatted_numbers():
    frame = pd.DataFrame({"generation": ["mtia_300", "h100"], "unit": ["units", "units"],
                          "base": [638000.0, 1311892.17], "difference": [2.0, 1.776357e-15]})
    t = display.table(frame)
    html = t._repr_html_()
    assert "MTIA 300" in html and "mtia_300" not in html
    assert "base [units]" in html and "638,000" in html and "1,311,892" in html
    assert "e-15" not in html and ">0<" in html.replace(" ", "")
    assert "row_heading" not in html  # the index is hidden
    assert "at 0x" not in repr(t) and "638,000" in repr(t)


def test_percent():
    assert display.percent(0.1712) == "17 %" and display.percent(0.1342, 1) == "13.4 %"


def test_headline_records_numbers_in_metadata():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    try:
        with capture_output() as captured:
            display.headline("MTIA holds **17 %**", numbers={"mtia_share_h100e_2027q4_base": 0.17}, lead=True,
                             question="What share?")
    finally:
        InteractiveShell.clear_instance()
    (out,) = captured.outputs
    meta = out.metadata[display.HEADLINE_KEY]
    assert meta["numbers"] == {"mtia_share_h100e_2027q4_base": 0.17} and meta["lead"] and meta["question"]
    assert "text/markdown" in out.data


def test_ids_in_prose_and_table_text_get_display_names():
    assert display.prose_html("lever is amd_deal_scale; see site_capacity.csv & hyperion_gas_delay",
                              {"hyperion_gas_delay": "Hyperion gas a year late"}) == (
        "lever is AMD deal volume (x the deal table); see <code>site_capacity.csv</code> &amp; "
        "Hyperion gas a year late")
    assert display.names_in_text("facility power placed, el_paso") == "facility power placed, El Paso (TX)"
    assert display.spell_ids("no fp8_dense row, see https://a.org/x_y") == "no fp8 dense row, see https://a.org/x_y"
    t = display.table(pd.DataFrame({"figure": ["power, el_paso"], "table": ["fleet_energy_reported"],
                                    "note": ["the amd_2026 tranches"]}))
    assert t.text_frame().iloc[0].tolist() == ["power, El Paso (TX)", "fleet energy reported", "the AMD 2026 tranches"]
