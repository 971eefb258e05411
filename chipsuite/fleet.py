"""Fleet: MTIA cadence, procurement split, stock-flow.

Small pure functions on numpy arrays; a leading ``draw`` axis (and any other leading axes) is
carried through untouched, the ``quarter`` axis is always last. Quarters are counted by an index
``t = 0, 1, ...`` from the first model quarter (2022Q1); a quarter ``t`` covers ``[t, t + 1)``.

>>> mtia_release_quarter(np.arange(4), first_release=15.0, cadence=2.0, slip=0.0)
array([15., 17., 19., 21.])
>>> production_ramp(np.arange(15, 20), volume_start=16.0, ramp=2.0)
array([0. , 0.5, 1. , 1. , 1. ])
"""

import numexpr
import numpy as np

from .expr import NUMEXPR_OPTIONS

__all__ = [
    "mtia_release_quarter",
    "production_ramp",
    "newest_first_weights",
    "spend_profile",
    "within_year_growth_factor",
    "within_year_profile",
    "newest_generation_mask",
    "safe_divide",
    "capped_ratio",
    "split_purchases",
    "lagged_level",
    "stock_flow",
]


def safe_divide(numerator, denominator):
    """``numerator / denominator``, 0 where ``denominator`` is 0 (no warning). [same units]"""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, float), np.asarray(denominator, float))
    out = np.zeros(numerator.shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def capped_ratio(numerator, denominator):
    """``min(numerator / denominator, 1)`` for non-negative inputs; 1 where ``denominator`` is 0. [1]

    Divides only where the ratio is below 1, so tiny denominators never overflow.

    >>> capped_ratio(np.array([1.0, 3.0, 0.0]), np.array([2.0, 1.0, 0.0]))
    array([0.5, 1. , 1. ])
    """
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, float), np.asarray(denominator, float))
    out = np.ones(numerator.shape)
    np.divide(numerator, denominator, out=out, where=numerator < denominator)
    return out


# --------------------------------------------------------------------------- cadence


def mtia_release_quarter(order, first_release, cadence, slip):
    """Release quarter of the MTIA generation with roadmap position ``order`` (0 = MTIA 300).

    ``first_release + order * cadence + (order + 1) * slip``: the slip accumulates, so a later
    generation is later by every earlier slip. [quarter index]
    """
    order = np.asarray(order, float)
    return first_release + order * cadence + (order + 1.0) * slip


def production_ramp(quarter_index, volume_start, ramp):
    """Fraction of full supply reached in quarter ``quarter_index`` (linear ramp). [1]

    0 before ``volume_start``; ``1 / ramp`` in the quarter volume starts; 1 after ``ramp`` quarters.
    """
    return np.clip((np.asarray(quarter_index, float) - volume_start + 1.0) / ramp, 0.0, 1.0)


def newest_first_weights(ramps, eligible):
    """Share of a workload's in-house purchases going to each generation. [1]

    A generation takes over from older ones as it ramps: generation ``k`` gets
    ``r_k * prod_{j > k, eligible} (1 - r_j)``. The weights of a workload sum to its MTIA
    availability ``1 - prod_k (1 - r_k)`` (0 before any eligible generation is in volume).

    ramps : (..., K, Q), generations ordered oldest to newest
    eligible : (K, W) bool
    returns : (..., K, W, Q)
    """
    r = ramps[..., :, None, :] * np.asarray(eligible, float)[:, :, None]
    keep = 1.0 - r
    # product over strictly newer generations: reverse cumulative product, shifted by one
    newer = np.cumprod(keep[..., ::-1, :, :], axis=-3)[..., ::-1, :, :]
    newer = np.concatenate([newer[..., 1:, :, :], np.ones_like(newer[..., :1, :, :])], axis=-3)
    return r * newer


def spend_profile(quarter_index, end, duration):
    """Fraction of a spend spread evenly over ``[end - duration, end)`` falling in each quarter. [1]

    Sums to 1 over quarters that cover the whole interval.

    >>> spend_profile(np.arange(4), end=3.0, duration=2.0)
    array([0. , 0.5, 0.5, 0. ])
    """
    t = np.asarray(quarter_index, float)
    overlap = np.minimum(t + 1.0, end) - np.maximum(t, end - duration)
    return np.clip(overlap, 0.0, None) / duration


def newest_generation_mask(first_volume_index, n_quarters):
    """One-hot (G, Q): the generation with the latest volume start at or before each quarter.

    Ties go to the later generation in the given order. Quarters before any volume start fall
    back to the earliest generation. [bool]
    """
    first = np.asarray(first_volume_index, float)
    mask = np.zeros((first.size, n_quarters), dtype=bool)
    for t in range(n_quarters):
        ok = np.flatnonzero(first <= t)
        if ok.size == 0:
            ok = np.array([int(np.argmin(first))])
        best = ok[first[ok] == first[ok].max()][-1]
        mask[best, t] = True
    return mask


# --------------------------------------------------------------------------- demand


def within_year_growth_factor(annual):
    """Quarter-on-quarter growth factor inside each year of an annual series. [1]

    The log growth of year ``y`` is the smaller of the two adjacent annual log growths, or 0
    where they differ in sign (the *minmod* slope limiter of finite-volume schemes)::

        sigma_y = minmod(ln(A_y / A_(y-1)), ln(A_(y+1) / A_y))        [1/year]
        r_y     = exp(sigma_y / 4)                                      [1/quarter]

    The first and last year use their one neighbour; a single year, a year next to a zero
    and a peak or trough year are flat (``r = 1``). ``annual`` : (..., Y), non-negative,
    years consecutive along the last axis [any per-year unit]; returns (..., Y).

    >>> within_year_growth_factor(np.array([1.0, 16.0, 32.0, 32.0]))
    array([2.        , 1.18920712, 1.        , 1.        ])
    """
    with np.errstate(over="ignore"):  # inf only for absurd ratios (> 1e300 per year)
        return np.exp(_within_year_log_growth(annual))


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
    sigma = np.where(before * after > 0, np.sign(after) * np.minimum(np.abs(before), np.abs(after)), 0.0)
    return sigma / 4.0


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


# --------------------------------------------------------------------------- procurement


def split_purchases(demand_h100e, target_share, weights, mtia_factor, nvidia_factor, supply_cap_units,
                    nvidia_min_units, demand_share):
    """Split new purchases between MTIA generations and the newest Nvidia generation.

    Policy, per quarter: (1) each workload puts ``target_share x availability`` of its H100e demand
    on MTIA, spread over generations by ``weights``; (2) if the MTIA units exceed
    ``supply_cap_units`` all MTIA purchases are scaled down to the cap; (3) the rest goes to Nvidia;
    (4) if Nvidia units fall below ``nvidia_min_units``, Nvidia displaces MTIA purchases
    proportionally, and if that is not enough Meta buys the surplus Nvidia units anyway (extra
    capability, split over workloads by ``demand_share``).

    demand_h100e : (D, W, Q) [H100e per quarter]
    target_share : (D, W) [1]
    weights : (D, K, W, Q) [1] from :func:`newest_first_weights`
    mtia_factor : (D, K, W) [H100e per unit] (any positive value where not eligible)
    nvidia_factor : (D, W, Q) [H100e per unit] of the Nvidia generation bought in each quarter
    supply_cap_units, nvidia_min_units : (D, Q) [units per quarter]
    demand_share : (D, W) [1]

    Returns a dict of arrays: ``mtia_h100e`` (D, K, W, Q), ``mtia_units`` (D, K, Q),
    ``nvidia_h100e`` (D, W, Q), ``nvidia_units`` (D, Q).
    """
    mtia_h100e = demand_h100e[:, None] * target_share[:, None, :, None] * weights
    mtia_units = (mtia_h100e / mtia_factor[..., None]).sum(axis=2)
    total = mtia_units.sum(axis=1)
    scale = capped_ratio(supply_cap_units, total)
    mtia_h100e = mtia_h100e * scale[:, None, None, :]
    mtia_units = mtia_units * scale[:, None, :]

    mtia_w = mtia_h100e.sum(axis=1)
    nvidia_h100e = demand_h100e - mtia_w
    nvidia_units = (nvidia_h100e / nvidia_factor).sum(axis=1)

    extra = np.maximum(nvidia_min_units - nvidia_units, 0.0)
    replaceable = (mtia_w / nvidia_factor).sum(axis=1)
    phi = np.where(extra > 0, capped_ratio(extra, replaceable), 0.0)
    nvidia_h100e = nvidia_h100e + phi[:, None, :] * mtia_w
    nvidia_units = nvidia_units + phi * replaceable
    mtia_h100e = mtia_h100e * (1.0 - phi)[:, None, None, :]
    mtia_units = mtia_units * (1.0 - phi)[:, None, :]

    surplus = np.maximum(extra - phi * replaceable, 0.0)
    per_unit = (demand_share[:, :, None] * nvidia_factor)  # H100e per surplus unit, by workload
    nvidia_h100e = nvidia_h100e + surplus[:, None, :] * per_unit
    nvidia_units = nvidia_units + surplus
    return {"mtia_h100e": mtia_h100e, "mtia_units": mtia_units,
            "nvidia_h100e": nvidia_h100e, "nvidia_units": nvidia_units}


# --------------------------------------------------------------------------- stock-flow


def lagged_level(level, lag, before=0.0):
    """``level`` at ``t - lag`` along the last axis, linearly interpolated. [same units]

    ``lag`` (quarters, may be fractional or negative) has the leading shape of ``level`` or
    broadcasts to it. Before the first quarter the value is ``before`` (at ``t = -1``, linear in
    between); after the last quarter the last value is held.

    >>> lagged_level(np.array([1.0, 2.0, 3.0]), 1.0)
    array([0., 1., 2.])
    >>> lagged_level(np.array([1.0, 2.0, 3.0]), 0.5)
    array([0.5, 1.5, 2.5])
    >>> lagged_level(np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]), np.array([-1.0, 5.0]))
    array([[2., 3., 3.],
           [0., 0., 0.]])
    """
    level = np.asarray(level, float)
    n = level.shape[-1]
    lead = level.shape[:-1]
    lag = np.broadcast_to(np.asarray(lag, float).reshape(np.shape(lag) + (1,) * (len(lead) - np.ndim(lag))),
                          lead)
    # the lag is constant along the last axis: row r is the padded level shifted by the whole part
    # of 1 - lag, blended with its neighbour by the fractional part; each row's window is picked
    # as one contiguous block (no per-element gather)
    shift = 1.0 - lag
    whole = np.floor(shift)
    if not np.isfinite(whole).all():
        return _lagged_level_gather(level, lag, before)
    frac = (shift - whole).reshape(-1, 1)
    whole = whole.astype(np.intp).reshape(-1)
    rows = level.reshape(-1, n)
    left, right = max(0, -int(whole.min())), max(0, int(whole.max()))
    # extended[:, left + i] = before for i <= 0, level[:, i - 1] for 1 <= i <= n, level[:, n - 1] after
    extended = np.concatenate([np.full((rows.shape[0], left + 1), before, dtype=float), rows,
                               np.repeat(rows[:, -1:], right, axis=1)], axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(extended, n + 1, axis=1)  # (rows, positions, n + 1)
    picked = windows[np.arange(rows.shape[0]), left + whole]  # row r: extended[r, left + k_r + (0..n)]
    out = numexpr.evaluate("a * (1.0 - f) + b * f", local_dict={"a": picked[:, :-1], "b": picked[:, 1:], "f": frac},
                           global_dict={}, **NUMEXPR_OPTIONS)
    return out.reshape(level.shape)


#: above this many distinct whole-quarter lags, :func:`lagged_level` gathers element by element
_MAX_SHIFT_GROUPS = 64


def _lagged_level_gather(level, lag, before):
    """:func:`lagged_level` by a per-element gather (any lags, incl. non-finite ones)."""
    n = level.shape[-1]
    lead = level.shape[:-1]
    padded = np.concatenate([np.full(lead + (1,), before, dtype=float), level], axis=-1)
    pos = np.clip(np.arange(n, dtype=float) - lag[..., None] + 1.0, 0.0, float(n))
    i0 = np.floor(pos).astype(np.intp)
    frac = pos - i0
    i1 = np.minimum(i0 + 1, n)
    return (np.take_along_axis(padded, i0, axis=-1) * (1.0 - frac)
            + np.take_along_axis(padded, i1, axis=-1) * frac)


def stock_flow(delivered, initial, initial_quarters, life):
    """Installed stock and retirements from deliveries and a fixed service life.

    ``initial`` units installed at the start were bought evenly over the ``initial_quarters``
    quarters before it (an integer >= 1); every unit retires ``life`` quarters after delivery
    (fractional lives retire proportionally). Installed = initial + cumulative delivered -
    cumulative retired holds exactly.

    delivered : (..., Q) [units per quarter]; initial : (...) [units]; life : broadcastable to (...) [quarters]
    returns : installed (..., Q) [units], retired (..., Q) [units per quarter]
    """
    delivered = np.asarray(delivered, float)
    lead = delivered.shape[:-1]
    k = int(initial_quarters)
    pre = np.broadcast_to(np.asarray(initial, float)[..., None] / k, lead + (k,))
    flow = np.concatenate([pre, delivered], axis=-1)
    cumulative = np.cumsum(flow, axis=-1)
    retired_cumulative = lagged_level(cumulative, life)
    installed = (cumulative - retired_cumulative)[..., k:]
    retired = np.diff(retired_cumulative, axis=-1)[..., k - 1:]
    return installed, retired


# --------------------------------------------------------------------------- facilities


def owned_capacity_mw(capacity_mw, leasing_site, leased_share, base_quarter_index):
    """Facility capacity Meta builds itself (and pays facility capex for). [MW]

    At a leasing site, the share ``leased_share`` of the capacity added after quarter
    ``base_quarter_index`` (the level then counts as owned) is leased: built and financed by a
    developer or a joint venture and paid through lease costs rather than capex.

    capacity_mw : (..., S, Q) [MW]; leasing_site : (S,) bool; leased_share : [1], broadcastable to (..., S)
    returns : (..., S, Q) [MW]

    >>> owned_capacity_mw(np.array([[100.0, 100.0, 300.0], [50.0, 50.0, 90.0]]), np.array([True, False]), 0.5, 1)
    array([[100., 100., 200.],
           [ 50.,  50.,  90.]])
    """
    capacity_mw = np.asarray(capacity_mw, float)
    base = capacity_mw[..., int(base_quarter_index)][..., None]
    leased = np.maximum(capacity_mw - base, 0.0) * np.asarray(leased_share, float)[..., None]
    return capacity_mw - np.where(np.asarray(leasing_site, bool)[:, None], leased, 0.0)


def construction_spend_mw(capacity_mw, lead):
    """Capacity whose construction is paid in each quarter. [MW per quarter]

    Each addition to ``capacity_mw`` is paid evenly over the ``lead`` quarters before it comes
    online (a lead below one quarter pays it in the quarter ``lead`` before). The capacity of the
    first quarter exists already; additions after the last quarter are not known (held level),
    so spending tails off towards the end of the horizon.

    capacity_mw : (..., Q) [MW]; lead : [quarters], with the leading shape of ``capacity_mw``
    or broadcasting to it.

    >>> construction_spend_mw(np.array([0.0, 0.0, 0.0, 0.0, 40.0, 40.0]), 2.0)
    array([ 0.,  0., 20., 20.,  0.,  0.])
    """
    capacity_mw = np.asarray(capacity_mw, float)
    lead = np.asarray(lead, float)
    window = np.maximum(lead, 1.0)
    ahead = lagged_level(capacity_mw, -lead, before=np.nan)
    behind = lagged_level(capacity_mw, window - lead, before=np.nan)
    behind = np.where(np.isnan(behind), capacity_mw[..., :1], behind)
    return np.maximum(ahead - behind, 0.0) / window[..., None]

