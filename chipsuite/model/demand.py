"""Demand: new accelerator purchases in H100-equivalents per year, and their quarterly path.

Small pure functions on numpy arrays; years (or quarters) along the last axis.

>>> within_year_profile(np.array([15.0, 240.0]))
array([[  1.,   2.,   4.,   8.],
       [ 16.,  32.,  64., 128.]])
"""

import numpy as np

__all__ = ["within_year_growth_factor", "within_year_profile", "held_start", "annual_demand"]


# --------------------------------------------------------------------------- demand


def within_year_growth_factor(annual):
    """Quarter-on-quarter growth factor inside each year of an annual series. [1]

    The log growth of year ``y`` is limited by the two adjacent annual log growths ``a`` (into the
    year) and ``b`` (out of it) with the *monotonized central* (MC) slope limiter of van Leer (1977),
    a standard limiter of finite-volume schemes::

        sigma_y = sign(b) * min(2 |a|, 2 |b|, |a + b| / 2)   if a and b have the same sign, else 0   [1/year]
        r_y     = exp(sigma_y / 4)                                                                  [1/quarter]

    So a year between two equal growth rates takes that rate, and a year between a slow and a fast
    one takes their mean, but never more than twice the smaller: a year before a surge is back-loaded,
    one after it front-loaded. Where two adjacent MC slopes would make the quarters step backwards at
    the year end between them (Q1 of ``y + 1`` below Q4 of ``y`` in a rising stretch), both years take
    the steepest slope between the *minmod* slope ``sign(b) * min(|a|, |b|)`` (which never steps back)
    and MC that keeps that year end monotone (found by bisection; a year between two such year ends
    takes the smaller). Smaller slopes only help the neighbouring year ends, so monotone annual series
    always give
    monotone quarters. The first and last year use their one neighbour; a single year, a year next
    to a zero and a peak or trough year are flat (``r = 1``).
    ``annual`` : (..., Y), non-negative, years consecutive along the last axis [any per-year unit];
    returns (..., Y).

    >>> within_year_growth_factor(np.array([1.0, 16.0, 32.0, 32.0]))
    array([2.        , 1.41421356, 1.        , 1.        ])
    """
    with np.errstate(over="ignore"):  # inf only for absurd ratios (> 1e300 per year)
        return np.exp(_within_year_log_growth(annual))


def _log_quarter_sum(log_r):
    """``ln(1 + r + r**2 + r**3)`` from ``ln r``, without overflow. [1]"""
    powers = log_r[..., None] * np.arange(4.0)
    top = powers.max(axis=-1)
    return top + np.log(np.exp(powers - top[..., None]).sum(axis=-1))


def _within_year_log_growth(annual):
    """``sigma_y / 4`` of :func:`within_year_growth_factor` (logs avoid overflow). [1/quarter]"""
    a = np.asarray(annual, float)
    if a.shape[-1] < 2:
        return np.zeros(a.shape)
    positive = (a[..., 1:] > 0) & (a[..., :-1] > 0)
    log_a = np.log(np.where(a > 0, a, 1.0))
    log_growth = np.where(positive, np.diff(log_a, axis=-1), 0.0)
    before = np.concatenate([log_growth[..., :1], log_growth], axis=-1)  # into year y
    after = np.concatenate([log_growth, log_growth[..., -1:]], axis=-1)  # out of year y
    same = before * after > 0
    small = np.minimum(np.abs(before), np.abs(after))
    minmod = np.where(same, np.sign(after) * small, 0.0) / 4.0
    mc = np.where(same, np.sign(after) * np.minimum(2.0 * small, np.abs(before + after) / 2.0), 0.0) / 4.0
    # the steepest slope between minmod (lam = 0) and MC (lam = 1) that keeps every year end monotone:
    # per year end the largest common lam of its two years (bisection), per year the smaller of its two
    hi = np.ones(log_growth.shape)
    lo = np.where(_year_end_monotone(log_growth, minmod, mc, hi), 1.0, 0.0)  # minmod (0) always is
    for _ in range(_BISECTIONS):
        mid = np.where(lo == 1.0, 1.0, (lo + hi) / 2.0)
        good = _year_end_monotone(log_growth, minmod, mc, mid)
        lo, hi = np.where(good, mid, lo), np.where(good, hi, mid)
    ones = np.ones(lo.shape[:-1] + (1,))
    lam = np.minimum(np.concatenate([lo, ones], axis=-1), np.concatenate([ones, lo], axis=-1))
    return minmod + lam * (mc - minmod)


_BISECTIONS = 30  # lam to 2 ** -30 (1e-9): far below any quarter's resolution


def _year_end_monotone(log_growth, minmod, mc, lam):
    """Whether the year end between ``y`` and ``y + 1`` steps with the annual growth when both years
    take the slope ``minmod + lam * (mc - minmod)`` (``lam`` per year end). [bool]"""
    before = minmod[..., :-1] + lam * (mc[..., :-1] - minmod[..., :-1])
    after = minmod[..., 1:] + lam * (mc[..., 1:] - minmod[..., 1:])
    step = log_growth + _log_quarter_sum(before) - 3.0 * before - _log_quarter_sum(after)  # ln(Q1_(y+1) / Q4_y)
    return step * log_growth >= 0


def within_year_profile(annual):
    """Quarterly amounts of an annual series on a smooth geometric path. [per quarter]

    Year ``y`` grows by the factor ``r_y`` (:func:`within_year_growth_factor`) each quarter::

        q_(y,i) = A_y * r_y ** i / (1 + r_y + r_y**2 + r_y**3)          i = 0..3 (Q1..Q4)

    so each year's four quarters sum exactly to ``A_y``. Properties (for positive years):
    under constant annual growth ``G`` the path is exactly geometric, ``G ** (1/4)`` per quarter
    across year ends too; if the annual series is monotone, so are the quarters; the step from
    Q4 of year ``y`` to Q1 of ``y + 1`` lies between ``G_y ** (1/4)`` and ``G_y = A_(y+1) / A_y``
    (``annual / 4`` would step by ``G_y``).

    annual : (..., Y) [amount per year], non-negative, consecutive years
    returns : (..., Y, 4) [amount per quarter]

    >>> within_year_profile(np.array([15.0, 240.0]))
    array([[  1.,   2.,   4.,   8.],
           [ 16.,  32.,  64., 128.]])
    """
    a = np.asarray(annual, float)
    log_powers = _within_year_log_growth(a)[..., None] * np.arange(4.0)  # ln r_y ** i
    powers = np.exp(log_powers - log_powers.max(axis=-1, keepdims=True))  # scaled: no overflow
    return a[..., None] * powers / powers.sum(axis=-1, keepdims=True)




def held_start(quarterly, year, hold_quarters):
    """Quarterly amounts with the first ``hold_quarters`` of ``year`` held at the previous quarter's rate. [per quarter]

    For a year whose volume rests on supply that arrives during it (agreements signed in the
    year, new generations and sites from mid-year), the first quarters run at the rate the year
    before ended with, ``L`` (the previous Q4, at most a quarter of the year's total), and the
    year's other quarters take the rest in proportion to their profile, so the year's total is
    kept. Quarter ``i`` (0..3) is held by the weight ``w_i = clip(hold - i, 0, 1)`` (a fractional
    ``hold`` holds a part of a quarter)::

        q'_i = w_i * L + (1 - w_i) * k * q_i,   k = (A - L * sum(w)) / sum((1 - w_i) * q_i)

    quarterly : (..., Y, 4) [amount per quarter]; year : index along Y (>= 1);
    hold_quarters : [quarters], in [0, 3], broadcastable to the leading shape (e.g. per draw).

    >>> held_start(np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]), 1, 1.0)
    array([[1.        , 2.        , 3.        , 4.        ],
           [4.        , 6.28571429, 7.33333333, 8.38095238]])
    """
    q = np.array(quarterly, float)
    hold = np.asarray(hold_quarters, float)
    if np.any((hold < 0) | (hold > 3)):
        raise ValueError(f"hold_quarters must lie in [0, 3] quarters, got {hold!r}")
    this = q[..., year, :]
    total = this.sum(axis=-1)
    level = np.minimum(q[..., year - 1, 3], total / 4.0)
    w = np.clip(hold[..., None] - np.arange(4.0), 0.0, 1.0)
    free = ((1.0 - w) * this).sum(axis=-1)
    k = np.where(free > 0, (total - level * w.sum(axis=-1)) / np.where(free > 0, free, 1.0), 0.0)
    q[..., year, :] = w * level[..., None] + (1.0 - w) * k[..., None] * this
    return q


def annual_demand(anchors, growth_first, growth_last, years, first_growth_year, last_growth_year):
    """Purchases per calendar year: anchored years, then compound growth along a path. [H100e/year]

    ``anchors`` (..., A): the years ``years[:A]`` as given (calibrated to reported capex);
    each later year ``y`` grows by ``g_y``, linear from ``growth_first`` in ``first_growth_year`` to
    ``growth_last`` in ``last_growth_year`` (held after)::

        A_y = A_(y-1) * (1 + g_y),   g_y = g_first + (g_last - g_first) * clip((y - y_first) / (y_last - y_first), 0, 1)

    ``growth_*`` : [1/year], shape (...); returns (..., len(years)).

    >>> annual_demand(np.array([100.0, 200.0]), 0.5, 0.0, np.arange(2025, 2030), 2027, 2029)
    array([100., 200., 300., 375., 375.])
    """
    anchors = np.asarray(anchors, float)
    years = np.asarray(years)
    n_anchor = anchors.shape[-1]
    out = np.empty(anchors.shape[:-1] + (years.size,))
    out[..., :n_anchor] = anchors
    g_first = np.asarray(growth_first, float)
    g_last = np.asarray(growth_last, float)
    span = max(last_growth_year - first_growth_year, 1)
    for i in range(n_anchor, years.size):
        w = np.clip((years[i] - first_growth_year) / span, 0.0, 1.0)
        out[..., i] = out[..., i - 1] * (1.0 + g_first + (g_last - g_first) * w)
    return out

