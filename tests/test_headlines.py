"""One number per question: the headline numbers the executed notebooks state against the model.

Each notebook states its headline numbers with ``chipsuite.display.headline``, which records them
in the output metadata; this test executes the notebooks (report mode, 50 draws), collects every
recorded number and compares it with ``chipsuite.headlines.expected``; a key stated in several
notebooks must have one value.
"""

from pathlib import Path

import pytest

from chipsuite import headlines, report

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
DRAWS = 50


@pytest.fixture(scope="module")
def stated():
    """notebook name -> list of (key, value) the executed notebook states."""
    out = {}
    for path in NOTEBOOKS:
        nb = report.execute_notebook(path, timeout_s=600, extra_env={"CHIPSUITE_DRAWS": str(DRAWS)})
        out[path.name] = [(k, v) for h in report.headlines(nb) for k, v in h["numbers"].items()]
    return out


@pytest.mark.slow
def test_every_notebook_states_a_lead_headline_with_numbers(stated):
    assert all(stated[name] for name in stated), {n: len(v) for n, v in stated.items()}


@pytest.mark.slow
def test_headline_numbers_match_the_model_and_each_other(stated):
    import chipsuite

    base = chipsuite.run()
    ensemble = chipsuite.run(draws=DRAWS, seed=0)
    by_key = {}
    for name, pairs in stated.items():
        for key, value in pairs:
            want = headlines.expected(key, base, ensemble)
            assert value == pytest.approx(want, rel=1e-6, abs=1e-9), f"{name}: {key} = {value}, model {want}"
            by_key.setdefault(key, set()).add(round(value, 9))
    assert {k: v for k, v in by_key.items() if len(v) > 1} == {}
    # the questions the issue names are answered in more than one notebook, with one number
    names = {key: [n for n, pairs in stated.items() if key in dict(pairs)] for key in by_key}
    assert len(names["mtia_share_h100e_2027q4_base"]) >= 3
    assert len(names["capex_2027_usd_bn_base"]) >= 2


def test_expected_knows_its_keys():
    with pytest.raises(KeyError, match="unknown headline key"):
        headlines.expected("mtia_share_in_2027")
    with pytest.raises(ValueError, match="ensemble"):
        headlines.expected("capex_2027_usd_bn_median")
