"""Global (variance-based) sensitivity: Sobol' indices of a model output over every uncertain input.

The tornado (:func:`chipsuite.tornado`) moves one input at a time with all others at base, so it
cannot see interactions (an input that matters only when another one is high). Sobol' indices
decompose the variance of an output over the joint uncertainty of all inputs:

- first-order ``S1`` of an input: share of the output variance explained by that input alone
  (``Var(E[Y | X_i]) / Var(Y)``);
- total-order ``ST``: share of the variance that involves the input at all, alone or through
  interactions (``E[Var(Y | X_~i)] / Var(Y)``); ``ST >= S1``, and ``ST - S1`` is the input's share in
  interactions. An input with ``ST ~ 0`` can be fixed at any value in its range without changing
  the output's distribution.

Estimators, sampling and confidence intervals are SALib's (``SALib.sample.sobol`` and
``SALib.analyze.sobol``: Saltelli et al. 2010 estimators, bootstrap confidence intervals): no
hand-written estimator here. SALib's Sobol' sequence gives uniforms in [0, 1) per input element;
each is mapped through its input's inverse CDF, the same marginal as :func:`chipsuite.run` samples
(PERT on ``(low, base, high)``, or triangular), see :func:`input_quantile`.

Independence
------------
SALib's Sobol' indices assume independent inputs, and so does this module: every input element
is sampled independently. This is exactly how :func:`chipsuite.run` samples its ensemble (rank
correlations are an option of :func:`chipsuite.ensemble.ensemble` only, not of ``run``), so the
indices decompose the variance of the ensemble behind the fan charts. With correlated inputs
(``ensemble(correlations=...)``) the indices below would NOT be the right decomposition (the
variance would then be shared between correlated inputs); no correlation option is offered here.
After sampling, gas and nuclear supply shares above 1 together, and payment shares before and
after delivery, are scaled down as in :func:`chipsuite.model.model_inputs`: that is part of the
model, not of the input distribution.

Groups
------
``by="input"`` (default): an array input (``tdp_w`` by generation, ``deal_position`` by tranche)
is ONE group of factors: its elements are sampled independently, and its indices are those of
the group jointly (SALib ``groups``). ``by="element"``: every element is its own factor. The cost
is ``n * (groups + 2)`` model evaluations (no second-order indices), evaluated ``chunk`` draws at a
time in vectorised model passes.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["sobol", "sobol_indices", "input_quantile", "saltelli_matrices", "saltelli_design", "sobol_chart",
           "REPORT_N"]

#: base samples of the Sobol' analysis when notebooks are rendered as a report (``make report``):
#: ``n * (groups + 2)`` evaluations, about 4,300 for the model's ~65 inputs
REPORT_N = 64


def input_quantile(u, low, base, high, method="pert", lamb=4.0):
    """Inverse CDF of an input's marginal: uniforms ``u`` in [0, 1] -> values [input units].

    ``method="pert"``: ``low + (high - low) * B^-1(u)`` with ``B ~ Beta(1 + lamb (base - low) / (high -
    low), 1 + lamb (high - base) / (high - low))``, the distribution :func:`chipsuite.sampling.sample_pert`
    draws from; ``"triangular"``: :func:`chipsuite.sampling.triangular_from_uniform`. ``low == high``
    gives ``base``.

    >>> float(input_quantile(0.5, 0.0, 0.5, 1.0))  # symmetric PERT: the median is the mode
    0.5
    >>> float(input_quantile(0.25, 0.0, 0.0, 0.0))
    0.0
    """
    from .sampling import triangular_from_uniform

    u = np.asarray(u, dtype=np.float64)
    low, base, high = (np.asarray(v, dtype=np.float64) for v in (low, base, high))
    if method == "triangular":
        return triangular_from_uniform(u, low, base, high)
    if method != "pert":
        raise ValueError(f"method must be 'pert' or 'triangular', got {method!r}")
    from scipy.special import betaincinv

    width = high - low
    degenerate = ~(width > 0)
    safe = np.where(degenerate, 1.0, width)
    alpha = np.where(degenerate, 1.0, 1.0 + lamb * (base - low) / safe)
    beta = np.where(degenerate, 1.0, 1.0 + lamb * (high - base) / safe)
    out = np.clip(low + betaincinv(alpha, beta, u) * np.where(degenerate, 0.0, width), low, high)
    return np.where(degenerate, base, out)


def _factors(spec, by):
    """Varying elements of ``spec``: [(input, element index or None, label, group, low, base, high)]."""
    from .sampling import _split_spec
    from .uncertainty import _element_label

    if by not in ("input", "element"):
        raise ValueError(f"by must be 'input' or 'element', got {by!r}")
    factors, triples = [], {}
    for name in sorted(spec):
        low, base, high = _split_spec(name, spec[name])
        triples[name] = (low, base, high)
        lo, ba, hi = (np.asarray(v.values, dtype=np.float64) for v in (low, base, high))
        varies = (hi > lo) & np.isfinite(lo) & np.isfinite(hi)
        for index in zip(*np.nonzero(varies)) if lo.ndim else ([()] if varies else []):
            index = tuple(int(i) for i in index)
            label = _element_label(name, base, index)
            factors.append((name, index, label, name if by == "input" else label,
                            float(lo[index]), float(ba[index]), float(hi[index])))
    if not factors:
        raise ValueError("sobol: no input has a range (low < high)")
    return factors, triples


def _mapped_columns(u, factors, method):
    """``u`` (M, K) uniforms -> (M, K) input values, one inverse CDF per column."""
    out = np.empty_like(u)
    for k, (_, _, _, _, lo, ba, hi) in enumerate(factors):
        out[:, k] = input_quantile(u[:, k], lo, ba, hi, method)
    return out


def saltelli_matrices(problem, n, seed, scramble=True):
    """The base matrices ``A``, ``B`` (n, D) of ``SALib.sample.sobol.sample`` (no second order).

    SALib draws ``scipy.stats.qmc.Sobol(d=2 D, scramble, seed).random(n)``; ``A`` is its first ``D``
    columns, ``B`` the last ``D`` (:func:`saltelli_design` builds SALib's rows from them).
    """
    from scipy.stats import qmc

    d = problem["num_vars"]
    base = qmc.Sobol(d=2 * d, scramble=scramble, seed=seed).random(n)
    return base[:, :d], base[:, d:]


def saltelli_design(a, b, groups):
    """Rows of ``SALib.sample.sobol.sample(problem, n, calc_second_order=False)`` from its ``A``, ``B``.

    For each base sample ``i``: ``A[i]``, then ``A[i]`` with the columns of group ``k`` taken from
    ``B[i]`` (one row per group, in order of first appearance, as SALib orders groups), then
    ``B[i]``: ``n * (groups + 2)`` rows. SALib builds the same rows element by element in Python
    (about 35 s for n = 1,024 and the model's 254 factors); this is its vectorised form, tested
    equal to SALib's output. Works on any values laid out like ``A`` and ``B`` (uniforms or the
    inputs they map to: the design only copies entries).
    """
    names = list(dict.fromkeys(groups))
    mask = np.array([[g == name for g in groups] for name in names])  # (G, D)
    n, d = a.shape
    out = np.empty((n, len(names) + 2, d))
    out[:, 0] = a
    out[:, 1:-1] = np.where(mask[None], b[:, None, :], a[:, None, :])
    out[:, -1] = b
    return out.reshape(n * (len(names) + 2), d)


def sobol_indices(spec, evaluate, n=1024, seed=0, *, by="input", method="pert", conf_level=0.95,
                  num_resamples=100, chunk=2048, workers=1):
    """Sobol' first- and total-order indices of a scalar function of uncertain inputs (SALib).

    Parameters
    ----------
    spec : mapping name -> (low, base, high)
        As for :func:`chipsuite.sampling.sample_inputs` (DataArrays or numbers); elements with
        ``low == high`` (or NaN) are not factors and stay at base.
    evaluate : callable
        ``evaluate({name: ndarray (m, *input shape)})`` -> ndarray (m,): the output for ``m``
        input draws at once (one draw per row; every name of ``spec`` is given).
    n : int
        Base samples (a power of 2, as the Sobol' sequence needs); ``n * (groups + 2)`` evaluations.
    seed : int
        Seed of the scrambled Sobol' sequence; the bootstrap of the confidence intervals uses
        ``seed + 1`` (SALib treats a seed of 0 as "no seed").
    by : {"input", "element"}
        Group an array input's elements (default) or treat each as a factor (module docstring).
    method : {"pert", "triangular"}
        Marginal distribution of every input (:func:`input_quantile`).
    conf_level : float
        Level of the bootstrap confidence intervals (``S1_conf`` is the half-width).
    num_resamples : int
        Bootstrap resamples.
    chunk : int
        Draws per call of ``evaluate`` (bounds memory).
    workers : int
        Processes evaluating chunks in parallel (spawned; ``evaluate`` must then be picklable, as
        the model evaluator of :func:`sobol` is). 1: in this process. Results do not depend on it.
        Spawned processes import the calling script: in a script, call this under
        ``if __name__ == "__main__":`` (notebooks need nothing).

    Returns
    -------
    xarray.Dataset with dim ``input`` (the groups, sorted by ``ST`` descending), variables ``S1``,
    ``S1_conf``, ``ST``, ``ST_conf`` [1] and ``elements`` (factors in the group); attrs ``n``,
    ``evaluations``, ``seed``, ``method``, ``conf_level``, ``output_mean``, ``output_std``,
    ``seconds`` and ``sampling`` (independent inputs).
    """
    import xarray as xr
    from SALib.analyze import sobol as sobol_analyze

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2 or n & (n - 1):
        raise ValueError(f"n must be a power of 2 >= 2 (base samples of the Sobol' sequence), got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be an int >= 1, got {chunk!r}")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    start = time.perf_counter()
    factors, triples = _factors(spec, by)
    problem = {"num_vars": len(factors), "names": [f[2] for f in factors], "bounds": [[0.0, 1.0]] * len(factors),
               "groups": [f[3] for f in factors]}
    # SALib's Sobol' design, built from its A and B matrices mapped through the inputs' inverse CDFs
    # (the design only copies entries, so this equals mapping SALib's sample; tested)
    a, b = saltelli_matrices(problem, int(n), int(seed))
    x = saltelli_design(_mapped_columns(a, factors, method), _mapped_columns(b, factors, method),
                        problem["groups"])
    columns = {}
    for k, (name, index, *_rest) in enumerate(factors):
        columns.setdefault(name, []).append((index, k))
    base = {name: np.asarray(t[1].values, dtype=np.float64) for name, t in triples.items()}
    rows = _Rows(evaluate, base, columns)
    pieces = [x[i:i + int(chunk)] for i in range(0, len(x), int(chunk))]
    if workers > 1 and len(pieces) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawned processes (no fork of a process running numexpr's threads); each imports chipsuite
        with ProcessPoolExecutor(int(workers), mp_context=multiprocessing.get_context("spawn")) as pool:
            parts = list(pool.map(rows, pieces))
    else:
        parts = [rows(piece) for piece in pieces]
    y = np.concatenate(parts)
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(f"sobol: the output is not finite in {int(bad.sum())} of {y.size} evaluations "
                         f"(first at evaluation {int(np.argmax(bad))})")
    groups = list(dict.fromkeys(problem["groups"]))
    if np.ptp(y) == 0:  # the output does not vary: every input explains none of (zero) variance
        s = {key: np.zeros(len(groups)) for key in ("S1", "S1_conf", "ST", "ST_conf")}
    else:
        s = sobol_analyze.analyze(problem, y, calc_second_order=False, num_resamples=int(num_resamples),
                                  conf_level=float(conf_level), seed=int(seed) + 1)
    counts = {g: problem["groups"].count(g) for g in groups}
    order = np.argsort(-np.asarray(s["ST"]), kind="stable")
    coords = {"input": ("input", [groups[i] for i in order], {"long_name": "uncertain input (group of factors)"})}
    variables = {}
    for key, long_name in (("S1", "first-order Sobol' index"), ("S1_conf", "half-width of the S1 confidence interval"),
                           ("ST", "total-order Sobol' index"), ("ST_conf", "half-width of the ST confidence interval")):
        variables[key] = ("input", np.asarray(s[key], dtype=np.float64)[order], {"units": "1", "long_name": long_name})
    variables["elements"] = ("input", np.array([counts[groups[i]] for i in order]),
                             {"units": "1", "long_name": "input elements (independent factors) in the group"})
    return xr.Dataset(variables, coords=coords, attrs={
        "n": int(n), "evaluations": int(len(y)), "seed": int(seed), "method": method, "by": by,
        "chunk": int(chunk), "workers": int(workers),
        "conf_level": float(conf_level), "num_resamples": int(num_resamples),
        "output_mean": float(y.mean()), "output_std": float(y.std()),
        "seconds": round(time.perf_counter() - start, 3),
        "sampling": "independent inputs (as chipsuite.run samples); SALib Sobol' sequence (scrambled), "
                    f"{method} inverse CDF; Saltelli 2010 estimators, bootstrap CI",
    })


class _Rows:
    """Model inputs of a block of design rows -> the output per row (picklable for worker processes)."""

    def __init__(self, evaluate, base, columns):
        self.evaluate, self.base, self.columns = evaluate, base, columns

    def __call__(self, rows):
        values = {}
        for name, b in self.base.items():
            arr = np.repeat(b[np.newaxis], len(rows), axis=0)
            for index, k in self.columns.get(name, ()):
                arr[(slice(None),) + index] = rows[:, k]
            values[name] = arr
        part = np.asarray(self.evaluate(values), dtype=np.float64).reshape(-1)
        if part.shape != (len(rows),):
            raise ValueError(f"sobol: evaluate returned {part.size} values for {len(rows)} draws")
        return part


#: per process: the model evaluator's dataset and input templates, by the evaluator's key
_EVALUATOR_STATE = {}


class _ModelOutput:
    """``evaluate`` for :func:`sobol_indices`: input arrays -> one model output per draw (1-D).

    Picklable (the scenario travels as JSON); the dataset and the input templates are built once
    per process.
    """

    def __init__(self, scenario, output, quarter, reduce, selection, engine):
        self.scenario_json = scenario.to_json()
        self.args = (output, quarter, reduce, tuple(sorted(selection.items())), engine)

    def _state(self):
        from .data import load_dataset

        ds = load_dataset()  # cached by the tables' content; its key is part of ours
        key = (self.scenario_json, self.args, ds.attrs.get("content_key"))
        if key not in _EVALUATOR_STATE:
            from .model.inputs import uncertain_inputs
            from .sampling import _split_spec
            from .scenario import Scenario

            scenario = Scenario.from_json(self.scenario_json)
            spec = uncertain_inputs(scenario, ds)
            template = {name: _split_spec(name, triple)[1] for name, triple in spec.items()}
            _EVALUATOR_STATE.clear()
            _EVALUATOR_STATE[key] = (scenario, ds, template)
        return _EVALUATOR_STATE[key]

    def __call__(self, arrays):
        import xarray as xr

        from .formulas import FORMULAS, evaluate_formulas
        from .model import core
        from .model.inputs import complete_inputs, site_capacity
        from .uncertainty import _select_output

        scenario, ds, template = self._state()
        output, quarter, reduce, selection, engine = self.args
        m = len(next(iter(arrays.values())))
        draw = xr.Coordinates({"draw": np.arange(m)})
        sampled = {name: _with_draw_axis(arrays[name], da, draw) for name, da in template.items()}
        values = complete_inputs(scenario, sampled, draw["draw"].values)
        if output in FORMULAS:  # the fleet stage, then only the formulas the output needs
            capacity = site_capacity(ds, values["site_capacity_position"])
            fleet = core.simulate_fleet(values, ds, capacity)
            inputs = core.formula_inputs_for(values, fleet, ds, capacity)
            results = evaluate_formulas(inputs, engine=engine, only={output})
            result = xr.Dataset({output: results[output]})
        else:
            result = core.evaluate_model(values, ds, engine=engine)
        return _select_output(result, output, quarter, reduce, dict(selection)).transpose("draw").values


def _with_draw_axis(array, template, draw):
    """``array`` (draw, *template dims) labelled like ``template`` plus the ``draw`` coordinate."""
    import xarray as xr

    variable = xr.Variable(("draw",) + template.dims, array)
    coords = {"draw": draw.variables["draw"].copy(deep=False)}
    coords.update({c: v.copy(deep=False) for c, v in template.coords.variables.items()})
    return xr.DataArray(variable, coords=coords, indexes={**draw.xindexes, **template.xindexes}, fastpath=True)


def _output_evaluator(scenario, ds, output, quarter, reduce, selection, engine, template=None):
    """The model evaluator of :func:`sobol` (``ds`` and ``template`` are rebuilt per process)."""
    return _ModelOutput(scenario, output, quarter, reduce, selection, engine)


def sobol(scenario=None, output: str = "capex_usd", quarter: str | None = "2027Q4", n: int = 1024, seed: int = 0, *,
          reduce: str = "sum", site=None, generation=None, workload=None, by: str = "input", method: str = "pert",
          conf_level: float = 0.95, num_resamples: int = 100, engine: str = "numexpr", chunk: int = 2048,
          workers: int = 1):
    """Sobol' indices of one model output in one quarter over every uncertain input.

    The inputs are those of :func:`chipsuite.model.uncertain_inputs` (dataset ranges and scenario
    parameters with a range; the tornado's inputs), sampled independently from the same marginals
    as :func:`chipsuite.run` (see the module docstring for what that means with correlations).

    Parameters
    ----------
    scenario : Scenario, optional
    output, quarter, reduce, site, generation, workload
        Which number per draw, as for :func:`chipsuite.tornado` (e.g. ``"capex_usd"`` in
        ``"2027Q4"``, summed over its other dims).
    n : int
        Base samples (power of 2); ``n * (inputs + 2)`` model evaluations (about 68,600 for
        ``n=1024`` and the model's ~65 inputs).
    seed, by, method, conf_level, num_resamples, chunk, workers
        See :func:`sobol_indices` (``workers=2`` evaluates in two spawned processes).

    Returns
    -------
    xarray.Dataset as :func:`sobol_indices`, plus ``input_units`` and attrs ``output``,
    ``quarter``, ``units`` (of the output), ``long_name``, ``scenario``.

    >>> s = sobol(output="capex_usd", quarter="2027Q4", n=64)  # doctest: +SKIP
    >>> s.ST.sel(input="demand_growth_2027").item()  # doctest: +SKIP
    """
    import xarray as xr

    from . import __version__
    from .data import load_dataset
    from .model import core
    from .model.inputs import base_inputs, uncertain_inputs
    from .uncertainty import _input_units, _select_output

    scenario = core._check_run_arguments(scenario, 1, engine)
    ds = load_dataset()
    spec = uncertain_inputs(scenario, ds)
    selection = {"site": site, "generation": generation, "workload": workload}
    base_run = core.evaluate_model(_with_draw_zero(base_inputs(scenario, ds)), ds, engine=engine)
    base_value = _select_output(base_run, output, quarter, reduce, selection)  # checks output, quarter, ...
    evaluate = _ModelOutput(scenario, output, quarter, reduce, selection, engine)
    out = sobol_indices(spec, evaluate, n, seed, by=by, method=method, conf_level=conf_level,
                        num_resamples=num_resamples, chunk=chunk, workers=workers)
    names = [str(v).split("[")[0] for v in out.input.values]
    units = [("USD" if name == "system_share_usd" else _input_units(name, ds)) for name in names]
    out["input_units"] = xr.DataArray(units, dims="input",
                                      attrs={"long_name": "units of the input"})
    attrs = base_run[output].attrs
    out.attrs.update({"output": output, "quarter": str(quarter), "reduce": reduce,
                      "units": attrs.get("units", ""), "long_name": attrs.get("long_name", output),
                      "base_value": float(base_value.values.reshape(-1)[0]),
                      "scenario": scenario.to_json(), "chipsuite_version": __version__,
                      "title": "chipsuite Sobol' sensitivity indices"})
    return out


def _with_draw_zero(values):
    """``values`` (DataArrays without ``draw``) with a ``draw`` dim of one element (draw 0)."""
    from .model.inputs import with_draw

    return with_draw(values, [0])


def sobol_chart(indices, top: int = 12, title: str | None = None):
    """Bar chart of first- and total-order Sobol' indices with their confidence intervals (Altair).

    ``indices``: the Dataset of :func:`sobol`; the ``top`` inputs by ``ST`` are shown.
    """
    import altair as alt
    import pandas as pd

    from . import display

    rows = []
    for i, name in enumerate(indices.input.values[:top]):
        for key, label in (("S1", "first order (alone)"), ("ST", "total (alone + interactions)")):
            value = float(indices[key].values[i])
            half = float(indices[f"{key}_conf"].values[i])
            rows.append({"input": display.name(str(name)), "index": label, "value": value,
                         "lower": value - half, "upper": value + half})
    frame = pd.DataFrame(rows)
    order = [display.name(str(v)) for v in indices.input.values[:top]]
    what = indices.attrs.get("long_name", indices.attrs.get("output", "output"))
    title = title or f"Share of the variance of {what} in {indices.attrs.get('quarter', '')} by input"
    y = alt.Y("input:N", sort=order, title=None)
    color = alt.Color("index:N", title="Sobol' index", sort=["first order (alone)", "total (alone + interactions)"])
    bars = alt.Chart(frame).mark_bar().encode(
        y=y, x=alt.X("value:Q", title="Share of output variance"), color=color,
        yOffset=alt.YOffset("index:N", sort=["first order (alone)", "total (alone + interactions)"]),
        tooltip=[alt.Tooltip("input:N", title="Input"), alt.Tooltip("index:N", title="Index"),
                 alt.Tooltip("value:Q", format=".3f", title="Value"),
                 alt.Tooltip("lower:Q", format=".3f", title="Lower"), alt.Tooltip("upper:Q", format=".3f", title="Upper")])
    rules = alt.Chart(frame).mark_rule(color="black").encode(
        y=y, x="lower:Q", x2="upper:Q",
        yOffset=alt.YOffset("index:N", sort=["first order (alone)", "total (alone + interactions)"]))
    subtitle = (f"Sobol' indices, n = {indices.attrs.get('n')} base samples ({indices.attrs.get('evaluations'):,} "
                f"model evaluations), independent inputs; bars: {indices.attrs.get('conf_level', 0.95):.0%} "
                "bootstrap interval")
    return (bars + rules).properties(title=alt.TitleParams(title, subtitle=subtitle), width=420)
